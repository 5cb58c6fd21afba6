"""The base image ``python:3.12-slim`` behaves like the official one for a user's
Dockerfile: ``python`` and ``pip`` on PATH, and ``pip install`` as root works without
PEP 668 overrides. Here it is usually the offline stand-in (scripts/base-image.sh);
where the official image can be pulled, the same test holds for it."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile

import pytest

pytestmark = pytest.mark.docker

BASE = "python:3.12-slim"


def _wheel() -> tuple[str, bytes]:
    """A minimal pure-Python wheel (``hello_pep668``), so the install needs no network."""
    name, version = "hello_pep668", "1.0"
    files = {
        f"{name}.py": b"GREETING = 'hello'\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{name}-{version}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def record_line(path: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{path},sha256={digest},{len(data)}"

    record = f"{name}-{version}.dist-info/RECORD"
    files[record] = ("\n".join(record_line(p, d) for p, d in files.items()) + f"\n{record},,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return f"{name}-{version}-py3-none-any.whl", buffer.getvalue()


def test_pip_install_works_in_a_users_dockerfile_without_pep668_overrides(docker_client, tmp_path):
    wheel, data = _wheel()
    (tmp_path / wheel).write_bytes(data)
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BASE}\n"
        f"COPY {wheel} /tmp/\n"
        f"RUN pip install --no-index /tmp/{wheel}\n"
        "RUN python -c 'import hello_pep668; print(hello_pep668.GREETING)'\n"
    )
    image, _ = docker_client.images.build(path=str(tmp_path), rm=True, forcerm=True, pull=False)
    try:
        found = docker_client.containers.run(image.id, ["sh", "-c", "command -v python; command -v pip"], remove=True)
        assert [path.rsplit("/", 1)[-1] for path in found.decode().split()] == ["python", "pip"]
    finally:
        docker_client.images.remove(image.id, force=True)
