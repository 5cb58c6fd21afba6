"""The host-port check before ``up`` changes anything, on a stand-in engine: which of the
stack's own load balancers may hold the port."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from deployer.errors import ConfigError
from deployer.models import AppSpec, BuildSpec, PhaseContext, TargetConfig
from deployer.plugins.local_docker.host_port import check_port


class Engine:
    """The two reads the check makes: the stack's load balancers (summaries, as ``docker
    ps -a`` lists them) and one's inspect."""

    def __init__(self, row: dict[str, Any], published: int) -> None:
        self.row, self.published = row, published

    def containers(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return [self.row] if "label" in filters else []  # not the one publishing the port

    def container(self, ref: str) -> dict[str, Any]:
        return {
            "HostConfig": {"PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(self.published)}]}}
        }


def context(port: int) -> PhaseContext:
    app = AppSpec(name="demo", build=BuildSpec(context=Path("app")))
    return PhaseContext(app=app, target=TargetConfig("local", {"host_port": port}), stack="dev", project_dir=Path("."))


@pytest.fixture
def taken() -> Any:
    """A loopback port some other program listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


RESTARTING = {"Id": "lb", "Names": ["/deployer-demo.dev-lb"], "State": "restarting", "Ports": []}


def test_a_restarting_load_balancer_of_the_stack_that_binds_the_port_holds_it(taken):
    """Docker lists a restarting container with no ports, yet holds its port for it:
    ``up`` replaces that load balancer, so the port counts as the stack's."""
    check_port(Engine(RESTARTING, published=taken), context(taken))  # no error


def test_a_restarting_load_balancer_on_another_port_does_not_excuse_a_taken_one(taken):
    """From the review: any restarting load balancer of the stack excused the port, so
    after ``host_port`` changed, a port another program holds passed the check and
    ``up`` failed later, half done."""
    with pytest.raises(ConfigError, match=rf"targets\.local\.host_port: port {taken} on 127.0.0.1 is already in use"):
        check_port(Engine(RESTARTING, published=taken + 1), context(taken))
