"""Loopback ports for tests: a target's ``host_port`` in a contract run (``target_settings``), a
server a test starts."""

import random
import socket

PORTS = range(20000, 32768)
"""Test ports lie below the kernel's ephemeral range (``ip_local_port_range``, 32768 up by
default), where Docker picks the host ports it publishes without a number (the load
balancers' stats ports): a port the OS picked as free could be Docker's a moment later."""
_given: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on right now, never the same twice in one process.
    Drawn at random from :data:`PORTS`, so that runs side by side (pytest-xdist workers, a
    nested pytest, another checkout's tests) seldom draw the same one before using it.

    :raises OSError: no free port found in 1000 draws.
    """
    for _ in range(1000):
        port = random.choice(PORTS)
        if port in _given:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise OSError(f"no free loopback port in {PORTS.start}-{PORTS.stop - 1}")
