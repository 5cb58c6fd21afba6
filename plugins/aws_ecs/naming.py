"""AWS names that always fit: the load balancer's and the target group's, and RDS's
identifiers and database name.

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

Every other name stays autonamed and fits with the longest app name (24 characters) and
stack name (16): IAM roles (64), ECS cluster and service (255), secrets (512), the log
group (a prefix, 512). ``tests/aws_ecs/test_names.py`` checks each against AWS's limit.

RDS identifiers (the DB instance's, the final snapshot's) "can't end with a hyphen or
contain two consecutive hyphens"
(https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html,
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html), which
an app name (``ar--pay``) or a stack (``prod-``) may: :func:`rds_identifier` mends only
those, since a new instance identifier replaces the database.
"""

from __future__ import annotations

import hashlib
import re

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


def rds_identifier(text: str) -> str:
    """``text`` as an RDS identifier: unchanged when it has no two hyphens in a row and
    does not end with one; else with each run of hyphens made one, the trailing one
    dropped, and ``-<6 hex>`` of ``text`` appended (so that no two texts meet)."""
    if "--" not in text and not text.endswith("-"):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:_HASH]
    return f"{re.sub('-+', '-', text).rstrip('-')}-{digest}"


# fmt: off
RESERVED_WORDS = frozenset({
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "binary", "both", "case", "cast", "check", "collate", "collation", "column", "concurrently",
    "constraint", "create", "cross", "current_catalog", "current_date", "current_role", "current_schema",
    "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
    "else", "end", "except", "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group",
    "having", "ilike", "in", "initially", "inner", "intersect", "into", "is", "isnull", "join", "lateral",
    "leading", "left", "like", "limit", "localtime", "localtimestamp", "natural", "not", "notnull", "null",
    "offset", "on", "only", "or", "order", "outer", "overlaps", "placing", "primary", "references",
    "returning", "right", "select", "session_user", "similar", "some", "symmetric", "table", "tablesample",
    "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "verbose", "when",
    "where", "window", "with"
})
# fmt: on
"""The words PostgreSQL reserves in every version deployer runs (13 to 18): its key words
"reserved" and "reserved (can be function or type)"
(https://www.postgresql.org/docs/current/sql-keywords-appendix.html; the parser's
``RESERVED_KEYWORD`` and ``TYPE_FUNC_NAME_KEYWORD``). RDS refuses one as a database name:
"Can't be a word reserved by the specified database engine"
(https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html).
``system_user``, reserved from 16 on only, is not among them: a database of that name made
by 13 to 15 keeps working after an upgrade, and renaming it would replace it."""


def db_name(app: str) -> str:
    """The database's name: the app name with underscores for hyphens (RDS allows letters,
    digits and underscores, from a letter), and ``_db`` after a :data:`RESERVED_WORDS`
    one (``array_db``). Every other name stays as it always was: a new name replaces the
    database."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", app)
    return f"{name}_db" if name in RESERVED_WORDS else name


def secret_label(app: str, name: str) -> str:
    """The Pulumi name of the secret ``name`` (and so, with the 7 characters Pulumi's
    autoname adds, its Secrets Manager name): ``<app>-secret-<slug>``."""
    return f"{app}-secret-{secret_slug(name)}"


def secret_slug(name: str, limit: int = 64) -> str:
    """``name`` as part of a secret's autoname: lower case, dashes; long names cut, with a
    hash so two never meet (a secret name is at most 512 characters:
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html)."""
    slug = name.lower().replace("_", "-")
    if len(slug) <= limit:
        return slug
    return f"{slug[: limit - 9]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
