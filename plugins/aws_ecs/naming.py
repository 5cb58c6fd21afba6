"""AWS names that always fit: the load balancer's and the target group's.

Pulumi autonames a resource ``<logical name>-<7 random characters>``. Elastic Load
Balancing allows 32 characters for both names ("a maximum of 32 characters, must contain
only alphanumeric characters or hyphens, must not begin or end with a hyphen, and must
not begin with "internal-"":
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html,
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html),
so an app name of 21 or more characters made ``<app>-tg-xxxxxxx`` too long. These two get
explicit names instead: the app name cut to fit, the kind, and a short hash of
app/stack (and of whatever else forces a replacement, so that Pulumi's create-before-
delete replacement never asks for a name still in use).

Secrets are named from a prefix of the app and stack (:func:`secret_name_prefix`), which the
execution role is granted. Every other name stays autonamed and fits with the longest app
name (24 characters) and stack name (16): IAM roles (64), ECS cluster and service (255),
the log group (a prefix, 512). ``tests/aws_ecs/test_names.py`` checks each against AWS's limit.
"""

from __future__ import annotations

import hashlib

ELB_NAME_MAX = 32
"""ELBv2 load balancer and target group names: at most 32 characters."""
_HASH = 6


def elb_name(app: str, stack: str, kind: str, *, salt: str = "") -> str:
    """``<app, cut>-<kind>-<6 hex>``, at most 32 characters, unique per app, stack and
    ``salt`` (the inputs whose change replaces the resource); a leading ``internal-``
    becomes ``int-``."""
    digest = hashlib.sha256(f"{app}/{stack}/{kind}/{salt}".encode()).hexdigest()[:_HASH]
    room = ELB_NAME_MAX - len(kind) - _HASH - 2
    head = app[:room].rstrip("-")
    if f"{head}-".startswith("internal-"):  # ELB refuses load balancer names beginning with "internal-"
        head = "int" + head.removeprefix("internal")  # the hash still tells the apps apart
    name = f"{head}-{kind}-{digest}"
    assert len(name) <= ELB_NAME_MAX and not name.startswith("internal-"), name
    return name


def secrets_prefix(app: str, stack: str) -> str:
    """Where the app's secrets of ``stack`` are named, ``deployer/<app>/<stack>/``: no
    other app's or stack's secret is named under it, since app and stack names hold no
    ``/``."""
    return f"deployer/{app}/{stack}/"


def secret_name_prefix(app: str, stack: str, name: str) -> str:
    """The ``name_prefix`` of the secret ``name``: :func:`secrets_prefix`, its
    :func:`secret_slug` and ``-``; the provider adds a unique suffix (26 characters), so a
    re-create after lost state never meets the secret left behind. At most 116 + 26
    characters, far from Secrets Manager's 512."""
    return f"{secrets_prefix(app, stack)}{secret_slug(name)}-"


def secret_slug(name: str, limit: int = 64) -> str:
    """``name`` as part of a secret's names: lower case, dashes; long names cut, with a
    hash so two never meet (a secret name is at most 512 characters:
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html)."""
    slug = name.lower().replace("_", "-")
    if len(slug) <= limit:
        return slug
    return f"{slug[: limit - 9]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
