"""The offline plan's Pulumi mocks, answering from the emulator what AWS answers from the
account.

:class:`EmulatorMocks` is :class:`deployer.plugins.aws_ecs.offline.PlanMocks` with two
answers taken from moto instead of made up:

- **the hosted zone** (``aws.route53.getZone``): the ID of the public zone the test
  created in moto's Route 53, as a user's zone exists before they deploy; a missing zone
  fails as the provider's lookup does ("no matching Route 53 Hosted Zone found").
- **a secret version's ID** when the value is the one already stored: AWS's
  ``PutSecretValue`` makes a new version only for a new value, and Pulumi updates a
  ``SecretVersion`` only when its ``secretString`` changed. The stored version's mock ID is
  kept then, so an unchanged secret changes nothing downstream (the task definition's
  ``valueFrom``), and a changed one gets a new ID, which the emulator turns into the
  new version moto creates.
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from deployer.errors import DeployFailed
from deployer.plugins.aws_ecs import offline

SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
GET_ZONE = "aws:route53/getZone:getZone"


class EmulatorMocks(offline.PlanMocks):
    """``zone_id(name)``: the emulator's public hosted zone ID for ``name`` (None: none);
    ``kept_version(name, value)``: the stored mock version ID of the ``SecretVersion``
    named ``name`` when the emulator holds ``value`` as that version, else None."""

    def __init__(
        self,
        region: str,
        *,
        zone_id: Callable[[str], str | None],
        kept_version: Callable[[str, object], str | None],
    ):
        super().__init__(region)
        self._zone_id = zone_id
        self._kept_version = kept_version

    def _outputs(self, args: MockResourceArgs) -> dict:
        outputs = super()._outputs(args)
        if args.typ == SECRET_VERSION:
            value = offline.plain(args.inputs.get("secretString"), reveal=True)
            kept = self._kept_version(args.name, value)
            if kept is not None:
                outputs["versionId"] = kept
        return outputs

    def _answer(self, args: MockCallArgs) -> dict:
        if args.token != GET_ZONE:
            return super()._answer(args)
        name = str(args.args.get("name", "")).rstrip(".")
        zone = self._zone_id(name)
        if zone is None:
            raise DeployFailed(f"no matching Route 53 Hosted Zone found: no public hosted zone named {name}")
        return {"id": zone, "zoneId": zone, "name": name, "privateZone": False, "nameServers": []}
