"""The execution role's policy for the app's secrets: its document, and IAM's limit on it.

The role may call ``secretsmanager:GetSecretValue`` on exactly the stack's secrets (and
the database's), one ARN each. IAM keeps a role's inline policies to 10,240 characters
without whitespace ("Role policy size cannot exceed 10,240 characters":
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), which about
60 to 100 secrets pass; :func:`check` refuses that before anything is created, measuring
the document with each ARN as long as AWS makes it (:func:`.task_size.longest_secret_arns`,
which the task definitions' size check uses too). (Granting a name pattern instead would
rename every secret, and a rename replaces them under running services.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from deployer.errors import ConfigError
from deployer.models import PhaseContext
from deployer.plugins.aws_ecs.task_size import longest_secret_arns

ROLE_POLICY_MAX = 10240
"""Characters, whitespace aside: IAM's limit on a role's inline policies."""


def document(arns: Sequence[str]) -> str:
    """The policy letting the execution role read the secrets ``arns``."""
    statement = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": list(arns)}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def longest(ctx: PhaseContext) -> int:
    """The characters (whitespace aside) of the policy for ``ctx``'s secrets, each ARN as
    long as AWS makes it: never fewer than the policy the program registers."""
    return len("".join(document(list(longest_secret_arns(ctx).values())).split()))


def check(ctx: PhaseContext) -> None:
    """Refuse secrets whose policy would pass :data:`ROLE_POLICY_MAX`.

    :raises ConfigError: naming ``app.secrets``, the size and what to do (exit 2).
    """
    size = longest(ctx)
    if size > ROLE_POLICY_MAX:
        raise ConfigError(
            "app.secrets",
            f"{len(ctx.app.secrets)} secrets make the execution role's policy up to {size:,} characters, over the "
            f"{ROLE_POLICY_MAX:,} IAM allows (https://docs.aws.amazon.com/IAM/latest/UserGuide/"
            "reference_iam-quotas.html): fewer secrets (one may hold several values, as JSON the app splits), "
            "or shorter names",
        )
