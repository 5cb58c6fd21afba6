"""Loopback ports for tests: a target's ``host_port`` in a contract run (``target_settings``), a
server a test starts."""

import itertools
import os
import socket

FIRST_PORT = 20000
"""Test ports lie below the kernel's ephemeral range (``ip_local_port_range``, 32768 up by
default), where Docker picks the host ports it publishes without a number (the load
balancers' stats ports): a port the OS picked as free could be Docker's a moment later."""
PORTS_PER_WORKER = 1500
_taken = itertools.count()


def free_port() -> int:
    """A loopback port nothing listens on right now, from this pytest-xdist worker's own
    block (``gw<n>``; 20000-21499 without xdist), never the same twice in one process.

    :raises OSError: every port of the block is taken.
    """
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    first = FIRST_PORT + worker * PORTS_PER_WORKER
    for _ in range(PORTS_PER_WORKER):
        port = first + next(_taken) % PORTS_PER_WORKER
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free loopback port in {first}-{first + PORTS_PER_WORKER - 1}")
