"""deployer.docker_engine and deployer.rawhttp against the real Docker engine: the cheap
reads answer what the docker SDK answers, over the socket and over TCP (through the SDK)."""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from deployer import rawhttp
from deployer.docker_engine import DockerEngine, EngineError, connect
from tests.conftest import TEST_LABEL

pytestmark = pytest.mark.docker


def _summary(rows: list[dict]) -> list[tuple]:
    """The parts of container summaries that do not change from one second to the next."""
    return sorted(
        (
            r["Id"],
            r["Image"],
            r["ImageID"],
            json.dumps(r["Labels"], sort_keys=True),
            json.dumps(r["Ports"], sort_keys=True),
        )
        for r in rows
    )


def _same_reads(engine: DockerEngine, sdk, tag: str) -> None:
    labelled = {"label": [f"{TEST_LABEL}=1"]}
    rows = engine.containers(labelled)
    assert rows and _summary(rows) == _summary(sdk.api.containers(all=True, filters=labelled))
    assert engine.container(rows[0]["Id"])["Config"] == sdk.api.inspect_container(rows[0]["Id"])["Config"]
    assert engine.image(tag) == sdk.api.inspect_image(tag)
    assert [n["Id"] for n in engine.networks({"name": ["bridge"]})] == [
        n["Id"] for n in sdk.api.networks(filters={"name": ["bridge"]})
    ]
    assert engine.volumes({"label": [f"{TEST_LABEL}=none"]}) == []
    assert engine.images({"reference": [tag]})[0]["Id"] == sdk.api.inspect_image(tag)["Id"]
    assert engine.image("deployer/no-such-image:0") is None
    assert engine.container("no-such-container") is None


def test_reads_over_the_socket_match_the_docker_sdk_and_never_load_it(
    docker_engine, docker_client, website_image, website_url
):
    fresh = DockerEngine(docker_engine.host)

    _same_reads(fresh, docker_client, website_image.tag)

    assert "sdk" not in vars(fresh)


def test_an_engine_over_tcp_is_read_through_the_sdk(
    docker_engine, docker_client, website_image, website_url, monkeypatch
):
    with _tcp_forwarder(docker_engine.host.removeprefix("unix://")) as port:
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
        engine = connect()

        _same_reads(engine, docker_client, website_image.tag)

        assert engine.host == f"tcp://127.0.0.1:{port}" and "sdk" in vars(engine)


def test_an_engine_error_names_the_request_and_the_engines_reason(docker_engine):
    with pytest.raises(EngineError, match=r"GET /containers/json failed \(400\): [Ii]nvalid filter 'bogus'") as caught:
        docker_engine.containers({"bogus": ["x"]})
    assert caught.value.exit_code == 1


def test_rawhttp_gets_over_tcp_and_rejects_what_is_not_http(website_url):
    parts = urlsplit(website_url)
    reply = rawhttp.get((parts.hostname, parts.port), "/healthz", timeout=5)
    assert reply.status == 200 and json.loads(reply.body)["status"] == "ok"

    with socketserver.TCPServer(("127.0.0.1", 0), _NotHttp) as server:
        threading.Thread(target=server.handle_request, daemon=True).start()
        with pytest.raises(rawhttp.BadReply, match="not an HTTP reply"):
            rawhttp.get(server.server_address, "/", timeout=5)


class _NotHttp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(1024)
        self.request.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")


class _Forward(socketserver.BaseRequestHandler):
    """Relays one TCP connection to the Unix socket ``server.target``."""

    def handle(self) -> None:
        with socket.socket(socket.AF_UNIX) as upstream:
            upstream.connect(self.server.target)
            back = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
            back.start()
            _pump(self.request, upstream)
            back.join(timeout=10)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class _ForwardServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    target = ""


@contextmanager
def _tcp_forwarder(unix_path: str) -> Iterator[int]:
    """A loopback TCP port relaying to the Docker engine's Unix socket, while in the block."""
    assert os.path.exists(unix_path)
    server = _ForwardServer(("127.0.0.1", 0), _Forward)
    server.target = unix_path
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
