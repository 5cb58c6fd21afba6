"""Images the container health check cannot run in (``deployer.image_probe``): one with no
``/bin/sh`` (FROM scratch), one with a shell but none of python3, curl and wget. Each is
refused, exit 2, before anything is created, by ``up`` and by ``plan``; the answer is
asked of the image once and kept by image ID."""

from __future__ import annotations

import pytest

from deployer import api, docker_labels, image_probe
from deployer.errors import UsageError
from deployer.testing import write_project

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


@pytest.mark.parametrize("lacking", sorted(LACKING))
def test_an_image_the_health_check_cannot_run_in_is_refused_before_anything_is_created(
    tmp_path, docker_client, monkeypatch, lacking
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
        kept = tmp_path / "cache" / "deployer" / "image-probes" / image.id.removeprefix("sha256:")
        assert kept.read_text() == answer, "asked once, kept by image ID"
        with pytest.raises(UsageError, match=said):
            api.plan(session)
        lookups = {"label": f"{docker_labels.ROLE}=probe-lookup"}
        assert [c for c in docker_client.api.containers(all=True, filters=lookups) if c["ImageID"] == image.id] == []
    finally:  # what a failing run may have made too
        for container in docker_client.api.containers(all=True, filters=labelled):
            docker_client.api.remove_container(container["Id"], force=True, v=True)
        for network in docker_client.api.networks(filters=labelled):
            docker_client.api.remove_network(network["Id"])
        for volume in docker_client.api.volumes(filters=labelled).get("Volumes") or ():
            docker_client.api.remove_volume(volume["Name"])
        for found in docker_client.api.images(filters=labelled):
            docker_client.api.remove_image(found["Id"], force=True)


def test_the_tool_found_is_the_one_the_health_check_probes_with(
    docker_engine, busybox_only_image, tmp_path, monkeypatch
):
    """python3 first; an image FROM scratch with only a static BusyBox probes with its wget."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert image_probe.probe_tool(docker_engine, docker_engine.image("python:3.12-slim")["Id"]) == "python3"
    assert image_probe.probe_tool(docker_engine, busybox_only_image.id) == "wget"
