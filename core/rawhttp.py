"""One HTTP/1.0 GET over a Unix or TCP socket, with nothing but the standard library.

For the local servers deployer questions on every run (the Docker engine's socket,
HAProxy's stats listener), where ``urllib``/``http.client`` and ``requests`` would cost
more to import (30 to 100 ms) than the whole exchange. HTTP/1.0 keeps the reply simple:
the server sends the body unchunked and closes the connection when it is done.
"""

from __future__ import annotations

import socket

from attrs import frozen

Address = str | tuple[str, int]
"""A Unix socket path, or a ``(host, port)`` pair for TCP (IPv4 or IPv6 address)."""


@frozen
class Reply:
    """A server's answer: the status code and the whole body."""

    status: int
    body: bytes


class BadReply(OSError):
    """The server's answer is not HTTP."""


def get(address: Address, target: str, *, timeout: float) -> Reply:
    """``GET target`` (path and query, already encoded) from the server at ``address``.

    :raises OSError: the server cannot be reached, is too slow (``TimeoutError``), or
        does not answer HTTP (:class:`BadReply`).
    """
    if isinstance(address, str):
        family = socket.AF_UNIX
    else:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(address)
        conn.sendall(f"GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    head, separator, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split(b" ", 2)
    if not separator or len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") or not status_line[1].isdigit():
        raise BadReply(f"not an HTTP reply from {address}: {head[:80]!r}")
    return Reply(int(status_line[1]), body)
