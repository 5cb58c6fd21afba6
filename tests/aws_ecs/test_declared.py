"""Resources declared by type token (:mod:`deployer.plugins.aws_ecs.declared`) register
exactly what pulumi-docker's and pulumi-aws's generated classes register, and spare the
offline plan those packages' imports."""

from __future__ import annotations

import subprocess
import sys

import pulumi_aws
import pulumi_docker
import pytest
from google.protobuf.json_format import MessageToDict

from deployer.plugins.aws_ecs import declared, offline
from tests.aws_ecs.conftest import _CONFIGS, make_ctx, offline_plan

SDK_CLASSES = {
    "DockerProvider": pulumi_docker.Provider,
    "DockerTag": pulumi_docker.Tag,
    "DockerRegistryImage": pulumi_docker.RegistryImage,
    "LogGroup": pulumi_aws.cloudwatch.LogGroup,
    "SecurityGroupIngressRule": pulumi_aws.vpc.SecurityGroupIngressRule,
    "SecurityGroupEgressRule": pulumi_aws.vpc.SecurityGroupEgressRule,
}
DECLARED_TYPES = {"pulumi:providers:docker", "docker:index/tag:Tag",
                  "docker:index/registryImage:RegistryImage", "aws:cloudwatch/logGroup:LogGroup",
                  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"}
WHERE = {"sourcePosition", "stackTrace"}
"""Where a resource was declared (display only): the docker provider's points into the SDK."""


def _registrations(monkeypatch, ctx):
    """The plan of ``ctx`` and every RegisterResource request it sent, by (type, name),
    as dicts with dependency lists sorted and ``WHERE`` left out."""
    sent = []
    register = offline._RecordingMonitor.RegisterResource

    def capture(self, request):
        sent.append(request)
        return register(self, request)

    with monkeypatch.context() as patch:
        patch.setattr(offline._RecordingMonitor, "RegisterResource", capture)
        plan = offline_plan(ctx)
    requests = {}
    for request in sent:
        fields = MessageToDict(request)
        for where in WHERE:
            fields.pop(where, None)
        fields["dependencies"] = sorted(fields.get("dependencies", []))
        for deps in fields.get("propertyDependencies", {}).values():
            deps["urns"] = sorted(deps.get("urns", []))
        requests[(request.type, request.name)] = fields
    return plan, requests


@pytest.mark.parametrize("config", sorted(_CONFIGS))
def test_declared_resources_register_what_the_sdk_classes_register(monkeypatch, config):
    settings, app = _CONFIGS[config]
    ctx = make_ctx(settings, **app)
    plan, requests = _registrations(monkeypatch, ctx)
    for name, sdk_class in SDK_CLASSES.items():
        monkeypatch.setattr(declared, name, sdk_class)
    sdk_plan, sdk_requests = _registrations(monkeypatch, ctx)

    assert {typ for typ, _ in requests} >= DECLARED_TYPES
    assert requests == sdk_requests  # every field: type, inputs, version, provider, deps ...
    assert plan == sdk_plan
    versions = {r["type"]: r.get("version") for r in requests.values()}
    assert versions["docker:index/tag:Tag"] == pulumi_docker._utilities.get_version()
    assert versions["aws:cloudwatch/logGroup:LogGroup"] == pulumi_aws._utilities.get_version()


def test_the_offline_plan_loads_neither_pulumi_docker_nor_the_cloudwatch_and_vpc_packages():
    # pulumi_aws puts every subpackage in sys.modules as a lazy module: a loaded package
    # shows by its modules
    code = ("import sys, warnings; warnings.simplefilter('ignore', DeprecationWarning)\n"
            "from tests.aws_ecs.conftest import make_ctx, offline_plan\n"
            "offline_plan(make_ctx())\n"
            "print(sorted({'pulumi_docker', 'pulumi_aws.cloudwatch.log_group',\n"
            "              'pulumi_aws.vpc.security_group_ingress_rule', 'boto3'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
