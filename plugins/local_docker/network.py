"""Phase 1, network: one user-defined bridge network per app and stack.

Replicas and the load balancer join it; Docker's embedded DNS on it lets the load
balancer find replicas by container name, whatever IP a restart gives them. Replicas
publish no port: only the load balancer is reachable from the host.
"""

from __future__ import annotations

from deployer.models import Change, NetworkResult, PhaseContext
from deployer.plugins.local_docker import engine


def apply(ctx: PhaseContext) -> NetworkResult:
    """Create the network unless it exists (``plan``: only say whether it would be)."""
    docker = engine.client()
    name = engine.network_name(ctx)
    found = docker.networks({"name": [name], **engine.selector(ctx, engine.ROLE_NETWORK)})
    found = [n for n in found if n["Name"] == name]
    if found:
        change = Change("unchanged", "network", name)
        network_id = found[0]["Id"]
    elif ctx.mode == "plan":
        change = Change("create", "network", name, "bridge")
        network_id = name
    else:
        ctx.report(f"creating network {name}")
        network_id = docker.api.create_network(
            name, driver="bridge", check_duplicate=True, labels=engine.labels(ctx, engine.ROLE_NETWORK)
        )["Id"]
        change = Change("create", "network", name, "bridge")
    return NetworkResult(id=network_id, extra={"name": name}, changes=(change,))
