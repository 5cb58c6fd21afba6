"""deployer.docker_engine against the real Docker engine: the cheap reads (http.client over
the engine's Unix socket) answer what the docker SDK answers, chunked replies included, over
the socket and over TCP (through the SDK); replies are bounded in size; an engine that
stops answering or closes the connection (through :class:`EngineProxy`) is a one-line
EnvironmentProblem, in bounded time."""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from deployer import docker_engine as docker_engine_module
from deployer.docker_engine import DockerEngine, EngineError, EngineNotAnswering, UnixHTTPConnection, connect
from deployer.errors import EnvironmentProblem
from deployer.testing.engine_proxy import EngineProxy
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
    with _tcp_forwarder(docker_engine.host.removeprefix("unix://")) as forwarder:
        port = forwarder.server_address[1]
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
        engine = connect()
        assert b"".join(forwarder.sent).count(b"GET /version") == 1, "the first contact negotiates the version"

        _same_reads(engine, docker_client, website_image.tag)

        assert engine.host == f"tcp://127.0.0.1:{port}" and "sdk" in vars(engine)


def test_an_engine_error_names_the_request_and_the_engines_reason(docker_engine):
    with pytest.raises(EngineError, match=r"GET /containers/json failed \(400\): [Ii]nvalid filter 'bogus'") as caught:
        docker_engine.containers({"bogus": ["x"]})
    assert caught.value.exit_code == 1


def test_a_chunked_reply_is_read_whole(docker_engine, docker_client, website_image):
    """The engine sends a JSON reply over 2 KiB without Content-Length, chunked (Go's
    net/http): an image inspect is one."""
    connection = UnixHTTPConnection(docker_engine.host.removeprefix("unix://"), timeout=10)
    try:
        connection.request("GET", f"/images/{website_image.tag}/json")
        reply = connection.getresponse()
        assert reply.status == 200 and reply.chunked and reply.length is None
        body = reply.read()
    finally:
        connection.close()

    assert json.loads(body) == docker_client.api.inspect_image(website_image.tag)
    assert DockerEngine(docker_engine.host).image(website_image.tag) == json.loads(body)


def test_a_reply_over_the_size_limit_is_refused(docker_engine, website_image, monkeypatch):
    monkeypatch.setattr(docker_engine_module, "MAX_READ_BYTES", 100)
    fresh = DockerEngine(docker_engine.host)

    with pytest.raises(EngineError, match=r"GET /networks answered more than 100 bytes"):
        fresh.networks({"name": ["bridge"]})  # a short reply: its Content-Length says so
    with pytest.raises(EngineError, match=r"GET /images/.*/json answered more than 100 bytes"):
        fresh.image(website_image.tag)  # chunked: read up to the limit, then refused
    assert fresh.volumes({"label": [f"{TEST_LABEL}=none"]}) == []  # under the limit


def test_a_socket_that_does_not_answer_http_is_reported_unreachable(tmp_path):
    path = str(tmp_path / "not-docker.sock")
    with socketserver.UnixStreamServer(path, _NotHttp) as server:
        threading.Thread(target=server.handle_request, daemon=True).start()
        with pytest.raises(
            EnvironmentProblem,
            match=r"unix://.*not-docker.sock does not answer as a Docker engine \(BadStatusLine: .*SSH-2.0",
        ):
            DockerEngine(f"unix://{path}").containers()


@pytest.fixture
def proxy(docker_engine, tmp_path) -> Iterator[EngineProxy]:
    with EngineProxy(tmp_path / "engine.sock", docker_engine.host.removeprefix("unix://")) as relaying:
        yield relaying


def test_an_engine_that_stops_answering_fails_a_read_and_an_sdk_call_within_the_request_timeout(proxy, monkeypatch):
    monkeypatch.setattr(docker_engine_module, "REQUEST_TIMEOUT", 1)
    engine = DockerEngine(proxy.host)
    engine.containers()
    engine.api.version()  # the SDK connected while the engine answered
    proxy.stall()

    for call in (engine.containers, engine.api.containers):
        started = time.monotonic()
        with pytest.raises(EngineNotAnswering) as caught, engine.faults():
            call()
        assert time.monotonic() - started < 5
        assert str(caught.value).startswith(
            f"the Docker engine at {proxy.host} stopped answering (no reply within 1 s)"
        )
        assert "run the same command again" in str(caught.value) and caught.value.exit_code == 2
    assert not engine.can_clean_up_after(KeyboardInterrupt()), "a ping gets no answer either"


def test_a_silent_stream_is_read_while_the_engine_answers_and_ended_when_it_does_not(proxy, monkeypatch):
    monkeypatch.setattr(docker_engine_module, "REQUEST_TIMEOUT", 1)
    engine = DockerEngine(proxy.host)

    def quiet() -> Iterator[str]:
        time.sleep(2.5)  # silent for more than two request timeouts: a quiet build step
        yield "done"

    def failing() -> Iterator[str]:
        raise ValueError("the stream's own error")
        yield "never"

    def endless() -> Iterator[str]:
        time.sleep(3600)
        yield "never"

    assert list(engine.watched(quiet)) == ["done"]
    with pytest.raises(ValueError, match="the stream's own error"):
        list(engine.watched(failing))
    proxy.stall()
    started = time.monotonic()
    with pytest.raises(EngineNotAnswering, match="stopped answering"):
        list(engine.watched(endless))
    assert time.monotonic() - started < 1 + docker_engine_module.PING_TIMEOUT + 2


def test_an_engine_that_closes_the_connection_is_reported_so(proxy):
    engine = DockerEngine(proxy.host)
    engine.api.version()
    proxy.drop()

    for call in (engine.containers, engine.api.containers):
        with pytest.raises(EngineNotAnswering, match="closed the connection") as caught, engine.faults():
            call()
        assert "run the same command again" in str(caught.value) and caught.value.exit_code == 2
    for first_contact in (DockerEngine(proxy.host).check, lambda: DockerEngine(proxy.host).api):
        with pytest.raises(EngineNotAnswering, match="closed the connection"):
            first_contact()
    proxy.resume()
    assert engine.containers() is not None and engine.can_clean_up_after(KeyboardInterrupt())


def test_a_silent_engine_at_first_contact_is_said_not_to_answer_within_the_ping_timeout(proxy):
    proxy.stall()
    started = time.monotonic()
    with pytest.raises(EnvironmentProblem) as caught:
        DockerEngine(proxy.host).check()
    assert time.monotonic() - started < docker_engine_module.PING_TIMEOUT + 1
    assert "accepts connections but does not answer (no reply to GET /_ping within 3 s)" in str(caught.value)
    assert "systemctl start" not in str(caught.value)


def test_a_ping_answered_with_an_error_is_an_environment_problem_with_the_engines_message(tmp_path):
    path = str(tmp_path / "failing.sock")
    with socketserver.UnixStreamServer(path, _Failing) as server:
        threading.Thread(target=server.handle_request, daemon=True).start()
        with pytest.raises(EnvironmentProblem) as caught:
            DockerEngine(f"unix://{path}").check()
    assert "GET /_ping failed (500): the storage driver is broken" in str(caught.value)
    assert caught.value.exit_code == 2


class _Failing(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.rfile.readline()
        body = b'{"message": "the storage driver is broken"}'
        self.wfile.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n")
        self.wfile.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


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
            _pump(self.request, upstream, self.server.sent)
            back.join(timeout=10)


def _pump(source: socket.socket, sink: socket.socket, record: list[bytes] | None = None) -> None:
    try:
        while data := source.recv(65536):
            if record is not None:
                record.append(data)
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class _ForwardServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    target = ""
    sent: list[bytes]
    """What clients sent the engine, as read."""


@contextmanager
def _tcp_forwarder(unix_path: str) -> Iterator[_ForwardServer]:
    """A loopback TCP server relaying to the Docker engine's Unix socket, while in the
    block (its ``server_address[1]`` the port, ``sent`` what clients sent)."""
    assert os.path.exists(unix_path)
    server = _ForwardServer(("127.0.0.1", 0), _Forward)
    server.target, server.sent = unix_path, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_silent_remote_engine_at_first_contact_is_said_not_to_answer_within_the_ping_timeout():
    """A ``tcp://`` engine that accepts connections and never answers: the same bound and
    words as over a Unix socket, not the 30 s a request may take mid-command."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (the backlog), answers nothing
        started = time.monotonic()
        with pytest.raises(EnvironmentProblem) as caught:
            DockerEngine(f"tcp://127.0.0.1:{silent.getsockname()[1]}").check()
    assert time.monotonic() - started < docker_engine_module.PING_TIMEOUT + 1
    assert "accepts connections but does not answer (no reply to GET /version within 3 s)" in str(caught.value)


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("tcp://[::1", "(Invalid IPv6 URL)"),
        ("tcp://127.0.0.1:99999", "(Port out of range 0-65535)"),
        ("tcp://somehost", "(Invalid bind address format: port is required: tcp://somehost)"),
        ("foo", "(Invalid bind address format: port is required: foo)"),
    ],
)
def test_a_docker_host_that_is_no_engine_address_says_so(host, problem):
    """Before: a ValueError from the SDK, reported as a crash (exit 1)."""
    with pytest.raises(EnvironmentProblem) as caught:
        DockerEngine(host).check()
    assert str(caught.value).startswith(f"DOCKER_HOST={host!r} is not an engine address {problem}")
    assert caught.value.exit_code == 2


def test_a_docker_host_whose_name_does_not_resolve_is_not_called_hung():
    with pytest.raises(EnvironmentProblem, match=r"not reachable at tcp://nohost\.invalid:2375 \(its host name does"):
        DockerEngine("tcp://nohost.invalid:2375").check()


def test_docker_host_forms_the_sdk_accepts_are_not_refused_as_addresses():
    """From the review: 127.0.0.1:2375 (no scheme) and tcp://:2375 (no host) work with
    the docker CLI and SDK; they must reach the engine check, not an address error."""
    for host in ("127.0.0.1:1", "tcp://:1"):  # nothing listens on port 1
        with pytest.raises(EnvironmentProblem) as caught:
            DockerEngine(host).check()
        assert "is not an engine address" not in str(caught.value), caught.value
