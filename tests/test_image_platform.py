"""The core's Image carries the platform ``docker inspect`` reports (Architecture, Os),
so a target can run the image on the CPU it was built for."""

from __future__ import annotations

from deployer import image_probe
from deployer.image import resolve_image
from deployer.models import AppSpec, BuildSpec


class _Inspecting:
    """A Docker engine stand-in answering ``image(ref)`` with one inspect document."""

    def __init__(self, found):
        self.found = found

    def image(self, ref):
        return self.found


def test_existing_image_carries_its_architecture_and_os(tmp_path, monkeypatch):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    found = {
        "Id": "sha256:" + "1" * 64,
        "Config": {"User": "10001", "Volumes": {"/tmp": {}, "/data": {}}},
        "Architecture": "arm64",
        "Os": "linux",
    }
    kept = tmp_path / "cache" / "deployer" / "image-probes" / image_probe.answer_key(found, None)
    kept.parent.mkdir(parents=True)
    kept.write_text("wget")  # its health-check tool, asked of the engine before
    image = resolve_image(AppSpec("web", BuildSpec(tmp_path)), client=_Inspecting(found))
    assert (image.id, image.architecture, image.os) == (found["Id"], "arm64", "linux")
    assert image.volumes == ("/data", "/tmp") and image.probe == "wget"


def test_an_image_not_built_yet_has_no_platform(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    image = resolve_image(AppSpec("web", BuildSpec(tmp_path)), client=_Inspecting(None))
    assert (image.id, image.architecture, image.os, image.volumes) == ("", "", "", ())
