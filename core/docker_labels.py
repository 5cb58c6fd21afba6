"""Every Docker label deployer puts on what it creates: the one place a ``dev.deployer.*``
name is written.

Docker is the state of a target that runs on the engine, as with docker compose: what
exists is found by listing objects by label, and what they were made from is read back
from their labels. Each constant below is a label name; its docstring says what the value
means and which objects carry it. Label values never hold a secret.
"""

from __future__ import annotations

# --- images deployer builds (deployer.image) ---------------------------------------------

APP = "dev.deployer.app"
"""The app's name (``app.name``). On every image deployer builds for an app, and on every
container, network and volume a target creates for it."""

PROJECT = "dev.deployer.project"
"""On every image deployer builds for an app: the project that built it, as a hash of its
config file's absolute path (:func:`deployer.image.project_id`). Pruning old images and
``deployer down --images`` touch only images of the same project and app, so two projects
with the same app name never remove each other's images."""

# --- what a target creates on the engine ---------------------------------------------------

STACK = "dev.deployer.stack"
"""The stack (``--stack``). On every container, network and volume a target creates."""

TARGET = "dev.deployer.target"
"""The name of the target that created the object. On every container, network and volume
a target creates, so two targets on one engine never see each other's objects."""

ROLE = "dev.deployer.role"
"""What the object is for (a value the target chooses, e.g. ``replica`` or
``load-balancer``). On every container, network and volume a target creates, and on the
load balancer image it builds."""

SPEC_HASH = "dev.deployer.spec-hash"
"""On replica containers: a hash of :data:`SPEC_FIELDS`, everything a replica is created
from. A replica whose label differs from the wanted hash is replaced."""

SPEC_FIELDS = "dev.deployer.spec-fields"
"""On replica containers: what the replica is created from, field by field, as compact
JSON: short SHA-256 hashes of the public fields (image ID, port, command, env names, cpu,
memory, health check, target settings), each env value's hash by name, and each secret's
HMAC-SHA256 under a random key that never leaves the machine (never an unkeyed hash of a
secret: one could be confirmed by guessing). A plan compares it with the wanted spec to
name the fields a replacement changes."""

ENV_NAMES = "dev.deployer.env-names"
"""On replica containers: the names (never the values) of the spec's env and secrets,
comma-separated, so ``status`` can tell the spec's variables from the image's."""

HEALTH_PATH = "dev.deployer.health-path"
"""On replica containers: the spec's health check path."""

COMMAND_SET = "dev.deployer.command-set"
"""On replica containers: ``true`` when the spec's ``command`` replaced the image's CMD,
else ``false``."""

LB_HASH = "dev.deployer.lb-hash"
"""On the load balancer container: a hash of what it was created from (its image, bind
address, ports, restart policy, network). A different hash replaces the container."""

# --- releases (the local target's release history, one small volume per release) ----------

RELEASE = "dev.deployer.release"
"""On release volumes (role ``release``): the release number, 1 for a stack's first."""

RELEASE_IMAGE = "dev.deployer.release.image"
"""On release volumes: the image tag the release ran (``deployer/<app>:<content hash>``)."""

RELEASE_IMAGE_ID = "dev.deployer.release.image-id"
"""On release volumes: the image ID the release ran (``sha256:...``)."""

RELEASE_CONFIG_HASH = "dev.deployer.release.config-hash"
"""On release volumes: a hash of the spec replicas are made from, without the image
(:func:`deployer.releases.config_hash`); secrets enter as a hash of their values."""

RELEASE_CREATED = "dev.deployer.release.created"
"""On release volumes: when the release was recorded, ISO 8601 in UTC."""

RELEASE_BY = "dev.deployer.release.by"
"""On release volumes: ``user@host`` of whoever ran the command, when known."""

RELEASE_STATUS = "dev.deployer.release.status"
"""On release volumes: ``deployed`` or ``failed`` (the rollout failed; the previous
release kept serving)."""

RELEASE_NOTE = "dev.deployer.release.note"
"""On release volumes: how the release came about: empty for ``up``, ``rollback to N``
for ``rollback``."""

WORKER = "dev.deployer.worker"
"""On worker containers (role ``worker``): the worker's name, from ``[workers.<name>]``."""
