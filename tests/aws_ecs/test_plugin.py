"""The manifest: registration, lazy imports, and phases a third party can replace."""

from __future__ import annotations

import subprocess
import sys

import pytest
from attrs import evolve

from deployer.errors import TargetUnavailable
from deployer.hookspecs import hookimpl
from deployer.models import NetworkResult, TargetConfig
from deployer.plugin_manager import get_plugin_manager
from deployer.plugins.aws_ecs import plugin
from tests.aws_ecs.conftest import make_ctx

BUILTIN = {"aws-ecs": "deployer.plugins.aws_ecs.plugin"}


def test_registers_the_aws_ecs_target():
    pm = get_plugin_manager(builtins=BUILTIN, entry_points_=[], environ={})
    info = pm.target("aws-ecs")
    assert set(info.phases) == {"network", "registry", "ingress", "compute"}
    assert info.install_hint == 'pip install "deployer[aws]"' and info.available
    assert info.parse_settings({"az_count": 3}, "targets.aws-ecs").az_count == 3


def test_loading_the_plugin_imports_no_heavy_library():
    code = (
        "import sys, deployer.plugins.aws_ecs.plugin as p; p.available(); "
        "heavy = {'pulumi', 'pulumi_aws', 'pulumi_docker', 'boto3', 'docker'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_plan_loads_the_log_group_and_rule_modules_not_their_packages():
    """The log group and the security group rules are imported from their own modules: an
    offline plan (HTTP, NAT per AZ) runs neither pulumi_aws.cloudwatch's nor
    pulumi_aws.vpc's ``__init__``, which import every module of the package."""
    code = (
        "import sys, warnings; warnings.simplefilter('ignore')\n"
        "from tests.aws_ecs.conftest import make_ctx, offline_plan\n"
        "plan = offline_plan(make_ctx({'nat': True, 'nat_per_az': True}))\n"
        "types = {r['type'] for r in plan.resources}\n"
        "assert 'aws:cloudwatch/logGroup:LogGroup' in types, types\n"
        "assert 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule' in types, types\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['pulumi_aws', 'cloudwatch'], ['pulumi_aws', 'vpc'])))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(
        [
            "pulumi_aws.cloudwatch",
            "pulumi_aws.cloudwatch.log_group",
            "pulumi_aws.vpc",
            "pulumi_aws.vpc.security_group_egress_rule",
            "pulumi_aws.vpc.security_group_ingress_rule",
        ]
    )


def test_phases_decline_other_targets():
    other = evolve(make_ctx(), target=TargetConfig("local"))
    assert plugin.deployer_network(other) is None
    assert plugin.deployer_compute(other, None, None, None) is None


def test_missing_aws_extra_gives_the_install_command(monkeypatch):
    monkeypatch.setattr(plugin.importlib.util, "find_spec", lambda name: None if name == "pulumi_aws" else object())
    assert plugin.available() is False
    with pytest.raises(TargetUnavailable, match=r'pip install "deployer\[aws\]"') as error:
        plugin.make_driver()
    assert error.value.exit_code == 2


class BringYourOwnVpc:
    """A third-party plugin replacing only the network phase (tryfirst)."""

    @hookimpl(tryfirst=True)
    def deployer_network(self, ctx):
        if ctx.target.name != "aws-ecs":
            return None
        return NetworkResult(
            id="vpc-0existing",
            subnets=("subnet-a", "subnet-b"),
            security_groups={"ingress": "sg-alb", "compute": "sg-task"},
        )


def test_a_third_party_plugin_can_replace_the_network_phase():
    from deployer.lifecycle import phase_runner
    from deployer.plugins.aws_ecs import offline

    pm = get_plugin_manager(builtins=BUILTIN, entry_points_=[], environ={}, extra=[("byo-vpc", BringYourOwnVpc())])
    plan = offline.plan(make_ctx(), phase_runner(pm))
    types = {r["type"] for r in plan.resources}
    assert "aws:ec2/vpc:Vpc" not in types and "aws:ecs/service:Service" in types
    service = next(r for r in plan.resources if r["type"] == "aws:ecs/service:Service")
    assert service["inputs"]["networkConfiguration"]["subnets"] == ["subnet-a", "subnet-b"]
