"""Images the container health check cannot run in (``deployer.image_probe``): one with no
``/bin/sh`` (FROM scratch), one with a shell but none of python3, curl and wget. Each is
refused, exit 2, before anything is created, by ``up`` and by ``plan``; the answer is
asked of the image once and kept by image ID. The tools are looked for on the ``PATH``
the replicas get: ``[app.env] PATH`` when the app sets one."""

from __future__ import annotations

import re
import time

import pytest

from deployer import api, docker_labels, image_probe
from deployer.errors import UsageError
from deployer.testing import free_port, write_project

pytestmark = pytest.mark.docker

LACKING = {
    "no-shell": ('FROM scratch\nCOPY app.py /app.py\nUSER 10001\nCMD ["/app"]\n', image_probe.NO_SHELL),
    "no-tool": (
        "FROM python:3.12-slim\n"
        "RUN rm -f /usr/bin/python3* /usr/local/bin/python3* /usr/bin/curl /usr/bin/wget\n"
        'USER 10001\nCMD ["/bin/sh", "-c", "sleep 600"]\n',
        image_probe.NO_TOOL,
    ),
}


def _remove_made(docker_client, name: str) -> None:
    """Remove what a run of app ``name`` made (a failing run too): containers, networks,
    volumes and images labelled with it."""
    labelled = {"label": f"{docker_labels.APP}={name}"}
    for container in docker_client.api.containers(all=True, filters=labelled):
        docker_client.api.remove_container(container["Id"], force=True, v=True)
    for network in docker_client.api.networks(filters=labelled):
        docker_client.api.remove_network(network["Id"])
    for volume in docker_client.api.volumes(filters=labelled).get("Volumes") or ():
        docker_client.api.remove_volume(volume["Name"])
    for found in docker_client.api.images(filters=labelled):
        docker_client.api.remove_image(found["Id"], force=True)


@pytest.mark.parametrize("lacking", sorted(LACKING))
def test_an_image_the_health_check_cannot_run_in_is_refused_before_anything_is_created(
    tmp_path, docker_engine, docker_client, monkeypatch, lacking
):
    dockerfile, answer = LACKING[lacking]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = f"test-probe-{lacking}"
    config = write_project(tmp_path / "project", app={"name": name}, targets={"local": {"host_port": 1}})
    (tmp_path / "project" / "app" / "Dockerfile").write_text(dockerfile)
    said = "has no /bin/sh" if lacking == "no-shell" else "has none of python3, curl and wget on its PATH"
    labelled = {"label": f"{docker_labels.APP}={name}"}
    try:
        session = api.open_session(config=config, stack="probecheck")
        with pytest.raises(UsageError, match=said) as caught:
            api.up(session)
        assert caught.value.exit_code == 2
        assert "GET /healthz" in str(caught.value) and "Dockerfile" in str(caught.value)
        assert docker_client.api.containers(all=True, filters=labelled) == []
        assert docker_client.api.networks(filters=labelled) == []

        image = api.build(session.project)  # built again, from its cached steps: plan refuses it too
        assert image.probe == answer
        kept = (
            tmp_path
            / "cache"
            / "deployer"
            / "image-probes"
            / image_probe.answer_key(docker_engine.image(image.id), None)
        )
        assert kept.read_text() == answer, "asked once, kept by the image's layers, user and PATH"
        with pytest.raises(UsageError, match=said):
            api.plan(session)
        lookups = {"label": f"{docker_labels.ROLE}=probe-lookup"}
        assert [c for c in docker_client.api.containers(all=True, filters=lookups) if c["ImageID"] == image.id] == []
    finally:
        _remove_made(docker_client, name)


def test_a_user_name_the_images_passwd_lacks_is_refused_before_anything_is_created(
    tmp_path, docker_client, monkeypatch
):
    """From a trial: ``USER ghost`` with no such user made the runtime refuse every
    replica after the network, the load balancer and its volumes were created (exit 1,
    then DEGRADED). The name is looked up in the image's /etc/passwd already."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = "test-probe-ghost-user"
    config = write_project(tmp_path / "project", app={"name": name}, targets={"local": {"host_port": free_port()}})
    dockerfile = tmp_path / "project" / "app" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER 10001", "USER ghost"))
    labelled = {"label": f"{docker_labels.APP}={name}"}
    said = r"USER ghost is not in the image's /etc/passwd, so no container of it can start"
    try:
        session = api.open_session(config=config, stack="probecheck")
        with pytest.raises(UsageError, match=said) as caught:
            api.up(session)
        assert caught.value.exit_code == 2 and str(dockerfile) in str(caught.value)
        assert docker_client.api.containers(all=True, filters=labelled) == []
        assert docker_client.api.networks(filters=labelled) == []
        assert docker_client.api.volumes(filters=labelled).get("Volumes") in (None, [])
        api.build(session.project)
        with pytest.raises(UsageError, match=said):
            api.plan(session)
    finally:
        _remove_made(docker_client, name)


def test_a_path_in_the_apps_env_that_hides_every_tool_is_refused(tmp_path, docker_client, monkeypatch):
    """The image has python3 on its own PATH, the app's env replaces that PATH with one
    without it: the health check, run with the replica's env, would find nothing."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = "test-probe-env-path"
    # the app itself starts python3 by its full path (the official image and the offline
    # stand-in keep it in different folders; test and exec are shell built-ins)
    start = "for p in /usr/local/bin/python3 /usr/bin/python3; do [ -x $p ] && exec $p /srv/app.py; done"
    app = {"name": name, "env": {"PATH": "/nowhere"}, "command": ["/bin/sh", "-c", start]}
    config = write_project(tmp_path / "project", app=app, targets={"local": {"host_port": free_port()}})
    try:
        said = rf"^{re.escape(str(config))}: \[app.env\] PATH = '/nowhere' leads to none of python3, curl and wget"
        with pytest.raises(UsageError, match=said) as caught:
            api.up(api.open_session(config=config, stack="probecheck"))
        assert caught.value.exit_code == 2 and "Add the folder of one to it" in str(caught.value)
        assert docker_client.api.containers(all=True, filters={"label": f"{docker_labels.APP}={name}"}) == []
    finally:
        _remove_made(docker_client, name)


def test_a_tool_only_the_apps_env_path_reaches_deploys_and_its_health_check_passes(
    tmp_path, docker_engine, docker_client, monkeypatch
):
    """The image's own PATH (``ENV PATH=/nonexistent``) has none of the three; the app's env adds
    python3's folder: not refused, and Docker's health check, run with the replica's env,
    passes."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = "test-probe-env-path-adds"
    app = {"name": name, "replicas": 1, "env": {"PATH": "/usr/local/bin:/usr/bin:/bin"}}
    config = write_project(tmp_path / "project", app=app, targets={"local": {"host_port": free_port()}})
    dockerfile = tmp_path / "project" / "app" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER 10001", "ENV PATH=/nonexistent\nUSER 10001"))
    session = api.open_session(config=config, stack="probecheck")
    try:
        image = docker_engine.image(api.build(session.project).id)
        assert image_probe.probe_tool(docker_engine, image) == image_probe.NO_TOOL, "not on the image's own PATH"
        api.up(session)
        replicas = docker_client.api.containers(
            filters={"label": [f"{docker_labels.APP}={name}", f"{docker_labels.ROLE}=replica"]}
        )
        assert len(replicas) == 1
        replica, deadline = replicas[0]["Id"], time.monotonic() + 30
        while (status := docker_client.api.inspect_container(replica)["State"]["Health"]["Status"]) != "healthy":
            assert time.monotonic() < deadline and status == "starting", status
            time.sleep(0.5)
        api.down(session)
    finally:
        _remove_made(docker_client, name)


def test_the_tool_found_is_the_one_the_health_check_probes_with(
    docker_engine, busybox_only_image, tmp_path, monkeypatch
):
    """python3 first; an image FROM scratch with only a static BusyBox probes with its wget."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert image_probe.probe_tool(docker_engine, docker_engine.image("python:3.12-slim")) == "python3"
    assert image_probe.probe_tool(docker_engine, docker_engine.image(busybox_only_image.id)) == "wget"


def test_one_answer_serves_every_image_with_the_same_layers_user_and_path(tmp_path, docker_engine, monkeypatch):
    """Two apps built from one folder are two images (each labelled with its app's name),
    with the same file system: the image is asked once. Another PATH (the app's env) or
    another USER is another question."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    asked: list[str] = []
    look_up = image_probe._look_up

    def counted(client, image_id, path):
        asked.append(image_id)
        return look_up(client, image_id, path)

    monkeypatch.setattr(image_probe, "_look_up", counted)
    apps = {"a": {}, "b": {}, "a-path": {"env": {"PATH": "/usr/bin:/bin"}}, "d-user": {}}
    images = []
    for folder, app in apps.items():
        name = "test-probe-shared-" + folder.split("-")[0]
        config = write_project(tmp_path / folder, app={"name": name, **app})
        if folder == "d-user":
            dockerfile = tmp_path / folder / "app" / "Dockerfile"
            dockerfile.write_text(dockerfile.read_text().replace("USER 10001", "USER 10002"))
        images.append(api.build(api.open_session(config=config, stack="probecheck").project))
    try:
        assert len({image.id for image in images}) == 3, "a's, b's and d's (a-path is a's image)"
        assert {image.probe for image in images} == {"python3"}
        assert len(asked) == 3, "b's image shares a's answer; a's with another PATH and d's USER are asked"
    finally:
        for image_id in {image.id for image in images}:
            docker_engine.api.remove_image(image_id, force=True)
