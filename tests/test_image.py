"""The core's image build against the real Docker engine (no registry needed).

Images of throwaway apps are named ``deployer/test-*`` and removed at the end; the
website's own image (``deployer/website:<hash>``) is kept as the build cache that
``deployer build`` uses too. Containers carry the ``dev.deployer.test`` label.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from attrs import evolve

from deployer import api, docker_labels
from deployer import image as image_module
from deployer.config import load_project
from deployer.docker_engine import DockerEngine
from deployer.errors import BuildError, ConfigError, EnvironmentProblem
from deployer.image import build_image, content_hash, project_id, prune_images, resolve_image
from deployer.models import AppSpec, BuildSpec
from deployer.testing.project import write_config
from tests.conftest import TEST_LABEL

WEBSITE = Path(__file__).resolve().parents[1] / "website"


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def throwaway_app(docker_client):
    """``throwaway_app(context) -> AppSpec`` with a unique name; its images and containers
    are removed afterwards."""
    names = []

    def make(context: Path, **build) -> AppSpec:
        names.append(f"test-{uuid.uuid4().hex[:10]}")
        return AppSpec(names[-1], BuildSpec(context, **build))

    yield make
    for name in names:
        for container in docker_client.containers.list(all=True, filters={"label": TEST_LABEL}):
            if container.labels.get(docker_labels.APP) == name:
                container.remove(force=True)
        for found in docker_client.api.images(filters={"label": f"{docker_labels.APP}={name}"}):
            docker_client.api.remove_image(found["Id"], force=True)


@pytest.fixture
def website_copy(tmp_path):
    """A copy of website/ to edit (without caches or tests)."""
    copy = tmp_path / "website"
    shutil.copytree(WEBSITE, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return copy


def run_labelled(client, image_id: str, **kwargs):
    return client.containers.run(image_id, detach=True, labels={TEST_LABEL: "1"}, **kwargs)


def wait_for_health(container, *, timeout: float = 60) -> str:
    """Poll until Docker reports healthy or unhealthy; return the last status."""
    deadline = time.monotonic() + timeout
    status = "starting"
    while time.monotonic() < deadline and status == "starting":
        time.sleep(0.2)
        container.reload()
        status = container.attrs["State"].get("Health", {}).get("Status", "none")
    return status


# --- content hash -------------------------------------------------------------------------


def test_hash_is_stable():
    build = BuildSpec(WEBSITE)
    assert len({content_hash(build) for _ in range(5)}) == 1


def test_one_character_in_a_template_gives_a_new_hash(website_copy):
    before = content_hash(BuildSpec(website_copy))
    template = website_copy / "personal_site" / "templates" / "about.html"
    template.write_text(template.read_text().replace("About", "About!", 1))

    assert content_hash(BuildSpec(website_copy)) != before


def test_dockerignored_files_do_not_change_the_hash(website_copy):
    before = content_hash(BuildSpec(website_copy))
    (website_copy / "tests" / "test_new.py").write_text("assert True\n")
    (website_copy / "personal_site" / "__pycache__").mkdir()
    (website_copy / "personal_site" / "__pycache__" / "views.cpython-312.pyc").write_bytes(b"\0")
    (website_copy / "NOTES.md").write_text("scratch\n")

    assert content_hash(BuildSpec(website_copy)) == before


def test_modes_dockerfile_and_build_args_change_the_hash(website_copy):
    base = content_hash(BuildSpec(website_copy))
    (website_copy / "healthcheck.py").chmod(0o755)
    with_mode = content_hash(BuildSpec(website_copy))
    with_args = content_hash(BuildSpec(website_copy, args={"BASE_IMAGE": "python:3.12-slim"}))
    (website_copy / "Dockerfile").write_text((website_copy / "Dockerfile").read_text() + "\n# edit\n")

    assert len({base, with_mode, with_args, content_hash(BuildSpec(website_copy))}) == 4


def test_names_that_are_not_utf8_are_hashed_as_the_file_system_has_them(website_copy):
    """Docker sends such a file (or link) with its name as is; the hash covers it."""
    before = content_hash(BuildSpec(website_copy))
    name = os.fsdecode(b"bad\xff\xfename.txt")
    (website_copy / name).write_text("x\n")
    (website_copy / os.fsdecode(b"link\xfe")).symlink_to(name)
    with_names = content_hash(BuildSpec(website_copy))
    (website_copy / name).rename(website_copy / os.fsdecode(b"bad\xfe\xffname.txt"))

    assert len({before, with_names, content_hash(BuildSpec(website_copy))}) == 3


def test_build_args_order_does_not_matter(website_copy):
    one = BuildSpec(website_copy, args={"A": "1", "B": "2"})
    other = BuildSpec(website_copy, args={"B": "2", "A": "1"})

    assert content_hash(one) == content_hash(other)


def test_missing_context_or_dockerfile_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="app.build.context"):
        content_hash(BuildSpec(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="app.build.dockerfile"):
        content_hash(BuildSpec(tmp_path))


def test_resolve_image_without_docker_gives_the_tag_only(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")

    resolved = resolve_image(AppSpec("website", BuildSpec(WEBSITE)))

    assert resolved.content_hash == content_hash(BuildSpec(WEBSITE)) and resolved.id == ""


def test_build_without_docker_says_how_to_start_it(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")

    with pytest.raises(EnvironmentProblem, match=r"not reachable at tcp://127.0.0.1:9: start it") as caught:
        build_image(AppSpec("website", BuildSpec(WEBSITE)), report=lambda line: None)
    assert caught.value.exit_code == 2


def test_app_names_that_cannot_name_an_image_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="app.name"):
        image_module.repository(AppSpec("My App", BuildSpec(tmp_path)))


# --- building -----------------------------------------------------------------------------


@pytest.mark.docker
def test_website_image_is_labelled_and_tagged_by_content(docker_client, website_image):
    attrs = docker_client.api.inspect_image(website_image.id)

    assert website_image.tag == f"deployer/website:{content_hash(BuildSpec(WEBSITE))}"
    assert website_image.tag in attrs["RepoTags"]
    assert attrs["Config"]["Labels"][docker_labels.APP] == "website"


@pytest.mark.docker
def test_container_runs_as_non_root_and_becomes_healthy(docker_client, website_image):
    # Same HEALTHCHECK test as the image, probed every 0.5 s instead of 10 s.
    container = run_labelled(
        docker_client, website_image.id, ports={"8000/tcp": ("127.0.0.1", None)}, healthcheck={"interval": 500_000_000}
    )
    try:
        health = wait_for_health(container)
        uid = container.exec_run(["id", "-u"]).output.decode().strip()
        process_uids = {row[0] for row in container.top(ps_args="-o uid,pid,comm")["Processes"]}
        config_user = container.attrs["Config"]["User"]
        container.stop(timeout=30)
        container.reload()
    finally:
        container.remove(force=True)

    assert health == "healthy"
    assert container.attrs["Config"]["Healthcheck"]["Test"] == ["CMD", "python", "/srv/website/healthcheck.py"]
    assert config_user == "10001:10001"
    assert uid == "10001"
    assert process_uids == {"10001"}  # gunicorn master and workers
    assert container.attrs["State"]["ExitCode"] == 0  # SIGTERM handled: graceful shutdown


@pytest.mark.docker
def test_unchanged_app_never_reaches_dockers_builder(docker_engine, website_image):
    fresh = DockerEngine(docker_engine.host)  # its docker SDK client is made on first use
    lines: list[str] = []
    again = build_image(AppSpec("website", BuildSpec(WEBSITE)), report=lines.append, client=fresh)

    assert again == evolve(website_image, built=False), "found, not built (the fixture may have built it)"
    assert lines == [f"image {website_image.tag} is up to date ({website_image.id[:19]})"]
    assert "sdk" not in vars(fresh), "a no-op build must not even load the docker SDK"


@pytest.mark.docker
def test_resolve_image_never_builds(docker_engine, website_image, website_copy):
    fresh = DockerEngine(docker_engine.host)

    assert resolve_image(AppSpec("website", BuildSpec(WEBSITE)), client=fresh) == evolve(website_image, built=False)
    edited = website_copy / "personal_site" / "templates" / "home.html"
    edited.write_text(edited.read_text() + " ")
    unbuilt = resolve_image(AppSpec("website", BuildSpec(website_copy)), client=fresh)

    assert unbuilt.id == "" and unbuilt.content_hash != website_image.content_hash
    assert "sdk" not in vars(fresh), "resolving reads the engine without the docker SDK"


@pytest.mark.docker
def test_template_change_builds_a_new_tag_reusing_dependency_layers(
    docker_engine, docker_client, website_image, website_copy, throwaway_app
):
    app = throwaway_app(website_copy)
    first = build_image(app, report=lambda line: None, client=docker_engine)
    template = website_copy / "personal_site" / "templates" / "contact.html"
    template.write_text(template.read_text().replace("Contact", "Kontact", 1))
    lines: list[str] = []
    second = build_image(app, report=lines.append, client=docker_engine)

    assert second.tag != first.tag and second.id != first.id
    assert docker_client.api.inspect_image(second.tag)["Id"] == second.id
    assert any("Using cache" in line for line in lines)  # requirements layer reused


@pytest.mark.docker
def test_failing_run_step_is_named_in_the_build_error(tmp_path, throwaway_app):
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim\nRUN echo preparing\nRUN echo about to fail && false\nRUN echo never\n"
    )
    lines: list[str] = []

    with pytest.raises(BuildError) as caught:
        build_image(throwaway_app(tmp_path), report=lines.append)

    message = str(caught.value)
    assert "Step 3/5 : RUN echo about to fail && false" in message
    assert "returned a non-zero code: 1" in message
    assert "about to fail" in message.split("last output lines:")[1]
    assert caught.value.exit_code == 1
    assert any(line.startswith("Step 1/5") for line in lines)  # output was streamed


@pytest.mark.docker
def test_a_dockerfile_docker_cannot_parse_is_named_with_no_empty_output_section(tmp_path, throwaway_app):
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nRUNN echo typo\n")

    with pytest.raises(BuildError) as caught:
        build_image(throwaway_app(tmp_path), report=lambda line: None)

    message = str(caught.value)
    assert f"from {tmp_path / 'Dockerfile'} failed before the first step" in message, message
    assert "unknown instruction: RUNN" in message
    assert "last output lines" not in message, message


@pytest.mark.docker
def test_old_images_are_pruned_except_in_use_ones(tmp_path, docker_engine, docker_client, throwaway_app):
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY version.txt /version.txt\n")
    app = throwaway_app(tmp_path)
    built = []
    for version in range(5):
        (tmp_path / "version.txt").write_text(f"{version}\n")
        built.append(build_image(app, report=lambda line: None, client=docker_engine, project="p1"))
        prune_images(
            app.name, project="p1", keep=image_module.KEEP_IMAGES, protect={built[-1].id}, client=docker_engine
        )
        if version == 0:  # a container (even a stopped one) keeps the oldest image alive
            docker_client.containers.create(built[0].id, labels={TEST_LABEL: "1", docker_labels.APP: app.name})
        time.sleep(1.1)  # Docker's Created time has 1 s resolution in image lists

    remaining = {
        tag
        for found in docker_client.api.images(filters={"label": f"{docker_labels.APP}={app.name}"})
        for tag in found["RepoTags"] or ()
    }

    assert remaining == {built[0].tag, built[2].tag, built[3].tag, built[4].tag}


@pytest.mark.docker
def test_prune_keeps_only_what_it_is_told(tmp_path, docker_engine, docker_client, throwaway_app):
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY version.txt /version.txt\n")
    app = throwaway_app(tmp_path)
    for version in range(2):
        (tmp_path / "version.txt").write_text(f"{version}\n")
        build_image(app, report=lambda line: None, client=docker_engine, project="p1")
        time.sleep(1.1)

    assert prune_images(app.name, project="p2", keep=0, client=docker_engine) == [], "another project's"
    lines = prune_images(app.name, project="p1", keep=1, client=docker_engine)

    assert len(lines) == 1 and lines[0].startswith("removed old image deployer/test-")
    assert len(docker_client.api.images(filters={"label": f"{docker_labels.APP}={app.name}"})) == 1


# --- images belong to a project -------------------------------------------------------------


def _scratch_project(folder: Path, app_name: str, version: str) -> Path:
    """A project folder whose app is a FROM scratch image holding ``version``."""
    (folder / "app").mkdir(parents=True, exist_ok=True)
    (folder / "app" / "Dockerfile").write_text("FROM scratch\nCOPY version.txt /version.txt\n")
    (folder / "app" / "version.txt").write_text(f"{version}\n")
    return write_config(folder, app={"name": app_name, "port": 8000, "build": {"context": "app"}})


def _tags(docker_client, app_name: str) -> set[str]:
    found = docker_client.api.images(filters={"label": f"{docker_labels.APP}={app_name}"})
    return {tag for image in found for tag in image["RepoTags"] or ()}


@pytest.mark.docker
def test_building_one_project_never_prunes_another_projects_images(tmp_path, docker_client, throwaway_app):
    name = throwaway_app(tmp_path).name  # a unique app name, cleaned up afterwards
    first, second = tmp_path / "first", tmp_path / "second"
    theirs = api.build(load_project(_scratch_project(second, name, "theirs")))
    mine = []
    for version in range(image_module.KEEP_IMAGES + 2):  # more builds than the project keeps
        mine.append(api.build(load_project(_scratch_project(first, name, str(version)))))
        time.sleep(1.1)  # Docker's Created time has 1 s resolution in image lists

    inspected = docker_client.api.inspect_image(theirs.tag)["Config"]["Labels"]
    assert (
        inspected[docker_labels.PROJECT] == project_id(second / "deployer.toml") != project_id(first / "deployer.toml")
    )
    assert _tags(docker_client, name) == {theirs.tag, *(image.tag for image in mine[-image_module.KEEP_IMAGES :])}


@pytest.mark.docker
@pytest.mark.parametrize("as_json", [False, True])
def test_down_images_removes_this_projects_images_only(tmp_path, docker_client, throwaway_app, as_json):
    name = throwaway_app(tmp_path).name
    first, second = tmp_path / "first", tmp_path / "second"
    theirs = api.build(load_project(_scratch_project(second, name, "theirs")))
    used = api.build(load_project(_scratch_project(first, name, "used")))
    time.sleep(1.1)
    unused = api.build(load_project(_scratch_project(first, name, "unused")))
    docker_client.containers.create(used.id, command=["none"], labels={TEST_LABEL: "1", docker_labels.APP: name})

    result = subprocess.run(
        [sys.executable, "-m", "deployer", "down", "--images", "--stack", "imgs", *(["--json"] if as_json else [])],
        cwd=first,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    said = "\n".join(json.loads(result.stdout)["images"]) if as_json else result.stderr + result.stdout
    assert f"removed image {unused.tag}" in said
    assert f"kept image {used.tag}: a container uses it" in said
    assert _tags(docker_client, name) == {theirs.tag, used.tag}


# --- non-root by default -------------------------------------------------------------------


@pytest.mark.docker
def test_an_image_running_as_root_is_refused_before_anything_is_created(tmp_path, docker_client):
    from deployer import api
    from deployer.errors import UsageError
    from deployer.testing import write_project

    def root_project(folder, **app):
        config = write_project(folder, app={"name": "test-rootapp", **app}, targets={"local": {"host_port": 1}})
        dockerfile = folder / "app" / "Dockerfile"
        dockerfile.write_text(
            "\n".join(line for line in dockerfile.read_text().splitlines() if not line.startswith("USER")) + "\n"
        )
        return config

    config = root_project(tmp_path / "refused")
    try:
        session = api.open_session(config=config, stack="rootcheck")
        with pytest.raises(UsageError, match=r"Dockerfile: the image runs as root .*USER 10001.*allow_root") as caught:
            api.up(session)
        assert caught.value.exit_code == 2
        assert docker_client.containers.list(all=True, filters={"label": f"{docker_labels.APP}=test-rootapp"}) == []
        labelled = docker_client.api.images(filters={"label": f"{docker_labels.APP}=test-rootapp"})
        tags = [t for i in labelled for t in i.get("RepoTags") or () if t != "<none>:<none>"]
        assert tags == [], "the refused image is removed (its untagged steps stay as the build cache)"
        api.build(session.project)  # built again, from its cached steps: plan refuses it too
        with pytest.raises(UsageError, match="runs as root"):
            api.plan(session)

        allowed = api.open_session(config=root_project(tmp_path / "allowed", allow_root=True)).project
        image = api.build(allowed)
        assert image.runs_as_root
        image_module.require_deployable(allowed, image)  # no error
    finally:
        for found in docker_client.api.images(filters={"label": f"{docker_labels.APP}=test-rootapp"}):
            docker_client.api.remove_image(found["Id"], force=True)


def test_runs_as_root_reads_the_user_field():
    from deployer.models import Image

    for root in ("", "0:0", "root", "0000", "00:00", "+0", "-0", "root:root"):
        assert Image("r", "h", "sha256:x", user=root).runs_as_root, root
    assert not Image("r", "h", "sha256:x", user="10001:10001").runs_as_root
    assert not Image("r", "h", "sha256:x", user="1000:0").runs_as_root  # the root group is not root
    assert not Image("r", "h", "sha256:x", user="web").runs_as_root  # a name: its uid decides, when known
    assert Image("r", "h", "sha256:x", user="web", uid=0).runs_as_root
    assert not Image("r", "h", "sha256:x", user="1_0").runs_as_root  # a name to the runtime, not 10


@pytest.mark.docker
def test_a_user_name_is_read_through_a_linked_passwd_and_a_number_as_the_runtime_reads_it(tmp_path, docker_engine):
    """From the review: /etc/passwd as a symbolic link read as empty, and USER 1_0 read as
    user 10 where the runtime looks the name up; both ran as root past the check."""
    from deployer.image_user import user_id

    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim\n"
        "RUN mkdir -p /usr/lib/pw && cp /etc/passwd /usr/lib/pw/passwd && rm /etc/passwd"
        " && ln -s ../usr/lib/pw/passwd /etc/passwd"
        " && echo 'app:x:0:0::/:/bin/sh' >> /usr/lib/pw/passwd && echo '1_0:x:0:0::/:/bin/sh' >> /usr/lib/pw/passwd\n"
    )
    built, _ = docker_engine.sdk.images.build(
        path=str(tmp_path), rm=True, labels={docker_labels.APP: "test-linkeduser"}
    )
    try:
        for name in ("app", "1_0"):
            assert user_id(docker_engine, built.id, name) == 0, name
    finally:
        docker_engine.api.remove_image(built.id, force=True)


@pytest.mark.docker
def test_a_named_user_is_looked_up_in_the_images_passwd_once(tmp_path, docker_engine, monkeypatch):
    """``USER toor`` whose /etc/passwd entry has user ID 0 runs as root, as Docker reads
    it; ``USER web`` with ID 10001 does not. The answer is kept by image ID, so the
    engine is asked once."""
    from deployer import image_user
    from deployer.errors import UsageError
    from deployer.testing import write_project

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = tmp_path / "project"
    config = write_project(project, app={"name": "test-nameduser"})
    dockerfile = project / "app" / "Dockerfile"
    original = dockerfile.read_text()
    try:
        for line, root in (("useradd -o -u 0 -M toor", True), ("useradd -u 10002 -M web", False)):
            name = line.split()[-1]
            dockerfile.write_text(original.replace("USER 10001", f"RUN {line}\nUSER {name}"))
            built = _session(config).project
            app = built.app
            image = image_module.build_image(app, report=lambda _: None, client=docker_engine)
            assert (image.user, image.runs_as_root) == (name, root)
            if root:
                with pytest.raises(UsageError, match=r"USER toor, user ID 0 in the image's /etc/passwd"):
                    image_module.require_deployable(built, image)
        monkeypatch.setattr(image_user, "_look_up", lambda *a: pytest.fail("asked the engine again"))
        assert image_module.build_image(app, report=lambda _: None, client=docker_engine).uid == 10002
    finally:
        for found in docker_engine.api.images(filters={"label": f"{docker_labels.APP}=test-nameduser"}):
            docker_engine.api.remove_image(found["Id"], force=True)


def _session(config):
    from deployer import api

    return api.open_session(config=config, stack="nameduser")


def test_two_builds_of_one_tag_at_once_build_it_once(tmp_path, monkeypatch):
    """Two stacks (or two projects with one app name) building the same content at once:
    the second waits for the first and takes its image, instead of tagging its own over
    it, which made a stack deployed from the first plan a changed image (a race seen in
    the parallel suite)."""
    import threading

    from deployer.models import AppSpec, BuildSpec, Image

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\n")
    built: list[str] = []

    def existing(client, image, path):
        return Image(image.repository, image.content_hash, "sha256:" + "a" * 64, user="1") if built else None

    def build(client, app, image, report, project):
        time.sleep(0.3)
        built.append(image.tag)

    monkeypatch.setattr(image_module, "_existing", existing)
    monkeypatch.setattr(image_module, "_build", build)
    app = AppSpec("web", BuildSpec(context))
    builders = [
        threading.Thread(target=image_module.build_image, args=(app,), kwargs={"report": print, "client": object()})
        for _ in range(2)
    ]
    for thread in builders:
        thread.start()
    for thread in builders:
        thread.join(timeout=10)
    assert len(built) == 1, built
