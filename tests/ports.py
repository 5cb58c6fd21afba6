"""Loopback ports for tests."""

import socket


def free_port() -> int:
    """A loopback port nothing listens on right now (the OS picked it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
