"""The direct probe of a starting replica: the status decides, the body never does."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from deployer.plugins.local_docker import probe


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", b"ok\r\n", probe.HEALTHY),
        (b"HTTP/1.1 503 Unavailable\r\nContent-Length: 4\r\n\r\n", b"no\r\n", probe.NO_ANSWER),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"", probe.HEALTHY),  # a stream, left alone
    ],
)
def test_a_body_that_comes_late_or_never_ends_does_not_change_the_answer(head, body, expected):
    """Headers at once, the body 0.8 s later (longer than a probe's 0.5 s): the status
    line decides, as before the probe read bodies."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(head)
            time.sleep(0.8)
            connection.sendall(body)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        assert probe.answer("127.0.0.1", port, "/healthz") == expected
    finally:
        thread.join(timeout=5)
        server.close()
