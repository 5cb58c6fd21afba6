"""The HAProxy config, text only (no Docker): what is rendered for a set of replicas is
what is read back, from the config file or from HAProxy's stats CSV."""

from __future__ import annotations

from deployer.plugins.local_docker.haproxy_config import (
    BOOTSTRAP,
    Routes,
    Upstream,
    config_id,
    render,
    routes_from_config,
    routes_from_stats,
)

UPSTREAM = Upstream(container="lb", app_port=8000, health_path="/healthz", health_interval=2, fall=3, health_timeout=5)


def test_a_rendered_config_reads_back_as_its_routes():
    text = render(UPSTREAM, ("app-2", "app-1"))

    assert routes_from_config(text) == Routes(config_id(UPSTREAM), ("app-1", "app-2"))
    assert "server app-1 app-1:8000\n" in text
    assert routes_from_config(render(UPSTREAM, ())) == Routes(config_id(UPSTREAM), ())
    assert routes_from_config(BOOTSTRAP) == Routes("", ())


def test_the_config_id_changes_with_how_replicas_are_checked_not_with_members():
    other = Upstream(container="lb", app_port=8000, health_path="/ready", health_interval=2, fall=3, health_timeout=5)

    assert config_id(other) != config_id(UPSTREAM)
    assert f"backend app-{config_id(UPSTREAM)}\n" in render(UPSTREAM, ("a",))
    assert config_id(UPSTREAM) in render(UPSTREAM, ("a", "b"))


def test_routes_from_the_stats_csv_are_the_backend_servers():
    backend = f"app-{config_id(UPSTREAM)}"
    csv = (
        "# pxname,svname,qcur,qmax,scur\n"
        "web,FRONTEND,,,0\n"
        "stats,FRONTEND,,,1\n"
        "stats,BACKEND,0,0,0\n"
        f"{backend},app-2,0,0,0\n"
        f"{backend},app-1,0,0,0\n"
        f"{backend},BACKEND,0,0,0\n"
    )

    assert routes_from_stats(csv) == Routes(config_id(UPSTREAM), ("app-1", "app-2"))


def test_a_health_path_is_quoted_for_haproxy():
    text = render(Upstream("lb", 8000, '/he"al$th', 2, 3, 5), ())

    assert 'uri "/he\\"al\\$th" ver HTTP/1.1' in text
