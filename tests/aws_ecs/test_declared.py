"""Resources declared by type token (:mod:`deployer.plugins.aws_ecs.declared`) register
exactly what pulumi-docker's and pulumi-aws's generated classes register, and spare the
offline plan those packages' imports."""

from __future__ import annotations

import inspect
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
    **{
        name: getattr(pulumi_aws.ec2, name)
        for name in (
            "Vpc",
            "Subnet",
            "InternetGateway",
            "RouteTable",
            "Route",
            "RouteTableAssociation",
            "Eip",
            "NatGateway",
            "SecurityGroup",
        )
    },
    "SecurityGroupIngressRule": pulumi_aws.vpc.SecurityGroupIngressRule,
    "SecurityGroupEgressRule": pulumi_aws.vpc.SecurityGroupEgressRule,
}
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
    declared_types = {getattr(declared, name).TOKEN for name in SDK_CLASSES if name != "DockerProvider"} | {
        "pulumi:providers:docker"
    }
    if not settings.get("nat"):
        declared_types -= {declared.Eip.TOKEN, declared.NatGateway.TOKEN}
    plan, requests = _registrations(monkeypatch, ctx)
    for name, sdk_class in SDK_CLASSES.items():
        monkeypatch.setattr(declared, name, sdk_class)
    sdk_plan, sdk_requests = _registrations(monkeypatch, ctx)

    assert {typ for typ, _ in requests} >= declared_types
    assert requests == sdk_requests  # every field: type, inputs, version, provider, deps ...
    assert plan == sdk_plan
    versions = {r["type"]: r.get("version") for r in requests.values()}
    assert versions["docker:index/tag:Tag"] == pulumi_docker._utilities.get_version()
    assert versions["aws:cloudwatch/logGroup:LogGroup"] == pulumi_aws._utilities.get_version()


@pytest.mark.parametrize("name", sorted(set(SDK_CLASSES) - {"DockerProvider"}))
def test_declared_classes_have_the_outputs_of_the_sdk_classes(name):
    sdk_class = SDK_CLASSES[name]
    properties = {key for key, value in vars(sdk_class).items() if isinstance(value, property)}
    inputs = set(inspect.signature(sdk_class._internal_init).parameters) - {"__self__", "resource_name", "opts"}
    assert set(getattr(declared, name).OUTPUTS) == properties - inputs


def test_declared_resources_read_back_under_python_and_wire_names():
    def body():
        tag = declared.DockerTag("tag", source_image="sha256:1", target_image="repo:1")
        assert tag.source_image_id is tag.sourceImageId  # a computed output
        with pytest.raises(AttributeError, match="no_such_output"):
            tag.no_such_output  # noqa: B018
        return {"python": tag.target_image, "wire": tag.targetImage}

    _, outputs = offline.record(body, project="p", stack="s", region="us-east-1")
    assert outputs == {"python": "repo:1", "wire": "repo:1"}


def test_the_offline_plan_loads_neither_pulumi_docker_nor_the_ec2_cloudwatch_and_vpc_packages():
    # pulumi_aws puts every subpackage in sys.modules as a lazy module: a loaded package
    # shows by its modules
    code = (
        "import sys, warnings; warnings.simplefilter('ignore', DeprecationWarning)\n"
        "from tests.aws_ecs.conftest import make_ctx, offline_plan\n"
        "offline_plan(make_ctx())\n"
        "print(sorted({'pulumi_docker', 'pulumi_aws.cloudwatch.log_group',\n"
        "              'pulumi_aws.ec2.vpc', 'pulumi_aws.ec2.security_group',\n"
        "              'pulumi_aws.vpc.security_group_ingress_rule', 'boto3'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
