"""deployer.dockerignore against the docker SDK's own build-context walk, the oracle: the
content hash must cover exactly the files the SDK sends to Docker's builder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deployer.dockerignore import context_paths, read_patterns

NAMES = st.sampled_from(["a", "b", "A", "b.py", "ab.py", "x.pyc", ".git", "node_modules", "Dockerfile", "c d"])
TREES = st.sets(st.lists(NAMES, min_size=1, max_size=4).map("/".join), min_size=1, max_size=12)
SEGMENTS = st.one_of(
    NAMES,
    st.sampled_from(["*", "?", "**", "*.py", "[ab]", "[!a]*", "[^a]", "[]a]", "[a-c]b*", "[", "a?", ".", "..", ""]),
)
PATTERNS = st.lists(
    st.tuples(st.sampled_from(["", "!", "/", "!/", " "]), st.lists(SEGMENTS, min_size=1, max_size=4)).map(
        lambda p: p[0] + "/".join(p[1])
    ),
    max_size=6,
)


def _make(root: Path, files: set[str]) -> None:
    for relative in sorted(files):
        path = root / relative
        if any(parent.is_file() for parent in path.parents):
            continue  # a file already holds one of its folders' names
        if path.is_dir():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative)


@settings(max_examples=500, deadline=None)
@given(files=TREES, patterns=PATTERNS, dockerfile=st.sampled_from(["Dockerfile", "a/Dockerfile"]))
@example(files={"a/b", "b", "Dockerfile"}, patterns=["a/../b"], dockerfile="Dockerfile")
@example(files={"ab.py", "a/b.py", "Dockerfile"}, patterns=["**/b.py"], dockerfile="Dockerfile")
@example(files={"a/b", "Dockerfile"}, patterns=["a?b", "a*b"], dockerfile="Dockerfile")
@example(files={"a/b/ab.py", "a/x.pyc", "Dockerfile"}, patterns=["a", "!a/**/*.py"], dockerfile="Dockerfile")
def test_the_same_paths_as_the_docker_sdk(files, patterns, dockerfile):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _make(root, files)
        assert context_paths(root, patterns, dockerfile=dockerfile) == exclude_paths(
            folder, list(patterns), dockerfile=dockerfile
        )


def test_exceptions_reach_into_excluded_folders_and_symlinks_are_not_followed(tmp_path):
    (tmp_path / "docs" / "api").mkdir(parents=True)
    (tmp_path / "docs" / "api" / "index.md").write_text("kept")
    (tmp_path / "docs" / "notes.md").write_text("excluded")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "link").symlink_to(tmp_path / "docs")
    (tmp_path / ".dockerignore").write_text("# comment\n\ndocs\n!docs/api/index.md\nDOCKERFILE\n")

    patterns = read_patterns(tmp_path)
    kept = context_paths(tmp_path, patterns)

    assert patterns == ["docs", "!docs/api/index.md", "DOCKERFILE"]
    assert kept == {"docs/api/index.md", "Dockerfile", ".dockerignore", "link"}
    assert kept == exclude_paths(str(tmp_path), patterns)


def test_a_symlink_that_loops_is_listed_or_excluded_like_any_link(tmp_path):
    """A link to itself (``ln -s loop loop``) cannot be stat'd through (ELOOP): the walk
    never follows a link, so it is a path like any other, listed unless excluded, as
    Docker sends it."""
    from deployer.image import content_hash
    from deployer.models import BuildSpec

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "loop.toml").symlink_to("loop.toml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to("loop")
    assert (
        context_paths(tmp_path, [])
        == exclude_paths(str(tmp_path), [])
        == {"Dockerfile", "loop.toml", "sub", "sub/loop"}
    )
    (tmp_path / ".dockerignore").write_text("*.toml\n")
    patterns = read_patterns(tmp_path)
    assert context_paths(tmp_path, patterns) == exclude_paths(str(tmp_path), patterns)
    assert "loop.toml" not in context_paths(tmp_path, patterns)
    assert content_hash(BuildSpec(tmp_path)).isalnum()  # hashed, where it raised ELOOP


def test_a_dockerignore_docker_could_not_read_is_a_config_error(tmp_path):
    """From the hostile-input run: a .dockerignore that is a folder, or not UTF-8, was
    IsADirectoryError or UnicodeDecodeError (exit 1, and it ended `up --watch`)."""
    from deployer.errors import ConfigError

    (tmp_path / ".dockerignore").mkdir()
    with pytest.raises(ConfigError, match=r"app.build.context: .*\.dockerignore is not a file"):
        read_patterns(tmp_path)
    (tmp_path / ".dockerignore").rmdir()
    (tmp_path / ".dockerignore").write_bytes(b"*.log\n\xff\n")
    with pytest.raises(ConfigError, match=r"is not UTF-8 text \(byte 0xff at offset 6\)"):
        read_patterns(tmp_path)


def test_a_context_file_that_cannot_be_read_is_a_config_error(tmp_path, monkeypatch):
    """context = "/" met /proc's unreadable files: a PermissionError (exit 1). Root reads
    every mode, so the refusal is simulated where the hash reads a file."""
    import hashlib

    from deployer import image
    from deployer.errors import ConfigError
    from deployer.models import BuildSpec

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "secret.bin").write_text("x")

    readable = hashlib.file_digest

    def refused(handle, name):
        if handle.name.endswith("secret.bin"):
            raise PermissionError(13, "Permission denied", handle.name)
        return readable(handle, name)

    monkeypatch.setattr(hashlib, "file_digest", refused)
    with pytest.raises(ConfigError, match=r"cannot read .*secret.bin: Permission denied \(exclude it in .dockerignore"):
        image.content_hash(BuildSpec(tmp_path))
