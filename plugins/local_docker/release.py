"""The local compute phase for apps with a release command or workers: the release
command first (once per deploy that starts new replicas or workers, with the new image,
after the database is ready and before the new version gets traffic), then the replicas
(:mod:`.compute`, unchanged), then the workers (:mod:`.workers`).

A failed release command stops the deploy before any new replica starts, so the load
balancer keeps routing to the previous version.
"""

from __future__ import annotations

import shlex

from attrs import evolve

from deployer.models import Change, ComputeResult, IngressResult, NetworkResult, PhaseContext, RegistryResult
from deployer.plugins.local_docker import compute, engine, oneoff, workers


def apply(ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, ingress: IngressResult) -> ComputeResult:
    app = ctx.app
    if not app.release_command and not app.workers:
        return compute.apply(ctx, network, registry, ingress)
    network_name = network.extra.get("name", engine.prefix(ctx))
    planned = compute.apply(evolve(ctx, mode="plan"), network, registry, ingress)
    planned_workers = workers.apply(evolve(ctx, mode="plan"), registry.image_ref, registry.image_id, network_name)
    new_version = any(c.action == "create" for c in (*planned.changes, *planned_workers))
    release: tuple[Change, ...] = ()
    if app.release_command and new_version:
        release = (Change("create", "one-off", f"{engine.prefix(ctx)}-release", shlex.join(app.release_command)),)
    if ctx.mode == "plan":
        result = planned
        worker_changes = planned_workers
    else:
        if release:
            oneoff.release(ctx, registry.image_ref, network_name)
        result = compute.apply(ctx, network, registry, ingress)
        worker_changes = workers.apply(ctx, registry.image_ref, registry.image_id, network_name)
    return evolve(result, changes=(*release, *result.changes, *worker_changes))
