"""The AWS rules the emulated driver enforces before it calls moto
(:mod:`deployer.testing.aws_ecs.aws_rules`): each rule refuses a resource built to break
it, naming the resource, the value and the rule with its AWS documentation page, and
accepts what AWS accepts."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import warnings

import pytest

from deployer.errors import DeployFailed
from deployer.testing.aws_ecs import aws_rules
from deployer.testing.aws_ecs.aws_rules import Context, check, physical_name
from deployer.testing.aws_ecs.moto_appliers import APPLIERS

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:web-secret-api-token-1a2b3c4-AbCdEf"
ZONES = {"subnet-a": "us-east-1a", "subnet-b": "us-east-1b", "subnet-a2": "us-east-1a", "subnet-c": "us-east-1c"}
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/"
ISSUED, PENDING, UNPUBLISHED = (CERT + n for n in ("issued", "pending", "unpublished"))
VALIDATION = {"Name": "_abc.www.example.com.", "Type": "CNAME", "Value": "_def.acm-validations.aws."}
CERTIFICATES = {
    ISSUED: {"Status": "ISSUED"},
    PENDING: {
        "Status": "PENDING_VALIDATION",
        "DomainValidationOptions": [{"DomainName": "www.example.com", "ResourceRecord": VALIDATION}],
    },
    UNPUBLISHED: {
        "Status": "PENDING_VALIDATION",
        "DomainValidationOptions": [
            {"DomainName": "api.example.com", "ResourceRecord": {**VALIDATION, "Name": "_abc.api.example.com."}}
        ],
    },
}
BALANCER = "web-alb-1.us-east-1.elb.amazonaws.com"
CONTEXT = Context(
    subnet_zone=ZONES.get,
    zone_name={"Z1": "example.com."}.get,
    balancer_zone={BALANCER: "Z35SXDOTRQ7X7K"}.get,
    certificate=CERTIFICATES.get,
    published=lambda name, kind, value: (name, kind, value) == tuple(VALIDATION.values()),
    subnet_ipv6={"subnet-a": "2600:1f18:1:100::/64", "subnet-b": "2600:1f18:1:101::/64"}.get,
    vpc_ipv6={"vpc-6": "2600:1f18:1:100::/56"}.get,
)
DUALSTACK = {"subnets": ["subnet-a", "subnet-b"], "ipAddressType": "dualstack"}
SUBNET = "aws:ec2/subnet:Subnet"
RECORD = "aws:route53/record:Record"
ALIAS = {"zoneId": "Z1", "name": "www.example.com", "type": "A"}
CNAME = {"zoneId": "Z1", "name": "_abc.www.example.com.", "type": "CNAME", "ttl": 60, "records": ["_def"]}
TO_BALANCER = {"name": BALANCER, "zoneId": "Z35SXDOTRQ7X7K", "evaluateTargetHealth": True}
CERT_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


def _containers(**secret) -> str:
    return json.dumps([{"name": "web", "image": "repo@sha256:00", "secrets": [{"name": "TOKEN", **secret}]}])


def _sized(value_bytes: int) -> str:
    """Container definitions holding one env value of ``value_bytes`` bytes."""
    return json.dumps(
        [{"name": "web", "image": "repo@sha256:00", "environment": [{"name": "BIG", "value": "x" * value_bytes}]}]
    )


def _policy(characters: int) -> str:
    """A role policy of ``characters`` characters without its whitespace."""
    head = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "'
    room = characters - len("".join((head + '"}]}').split()))
    return head + "x" * room + '"}]}'


def _task(**overrides):
    return {
        "family": "web-dev",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": _containers(valueFrom=SECRET_ARN),
        **overrides,
    }


GOOD_HEALTH = {"interval": 30, "timeout": 5, "healthyThreshold": 2, "unhealthyThreshold": 3, "path": "/healthz"}

# (type, physical name, inputs, what the error must mention)
BROKEN = [
    ("aws:lb/loadBalancer:LoadBalancer", "a" * 24 + "-alb-1a2b3c4", {"subnets": ["subnet-a", "subnet-b"]}, "32"),
    ("aws:lb/loadBalancer:LoadBalancer", "web_alb", {"subnets": ["subnet-a", "subnet-b"]}, "alphanumeric"),
    ("aws:lb/loadBalancer:LoadBalancer", "web-alb-", {"subnets": ["subnet-a", "subnet-b"]}, "hyphen"),
    ("aws:lb/loadBalancer:LoadBalancer", "internal-web", {"subnets": ["subnet-a", "subnet-b"]}, "internal-"),
    ("aws:lb/loadBalancer:LoadBalancer", "web-alb", {"subnets": ["subnet-a", "subnet-a2"]}, "two"),
    ("aws:lb/loadBalancer:LoadBalancer", "web-alb", {"subnets": ["subnet-a"]}, "two"),
    ("aws:lb/loadBalancer:LoadBalancer", "web-alb", {**DUALSTACK, "subnets": ["subnet-a", "subnet-c"]}, "IPv6 CIDR"),
    ("aws:lb/loadBalancer:LoadBalancer", "web-alb", {**DUALSTACK, "internal": True}, "internal"),
    (SUBNET, "web-public-0", {"vpcId": "vpc-6", "ipv6CidrBlock": "2600:1f18:1:100::/60"}, "/64"),
    (SUBNET, "web-public-0", {"vpcId": "vpc-6", "ipv6CidrBlock": "2600:1f18:2:100::/64"}, "not inside"),
    (SUBNET, "web-public-0", {"vpcId": "vpc-4", "ipv6CidrBlock": "2600:1f18:1:100::/64"}, "needs a VPC"),
    ("aws:lb/targetGroup:TargetGroup", "t" * 33, {"healthCheck": GOOD_HEALTH}, "32"),
    ("aws:lb/targetGroup:TargetGroup", "web-tg", {"healthCheck": {**GOOD_HEALTH, "interval": 4}}, "interval"),
    ("aws:lb/targetGroup:TargetGroup", "web-tg", {"healthCheck": {**GOOD_HEALTH, "interval": 301}}, "interval"),
    ("aws:lb/targetGroup:TargetGroup", "web-tg", {"healthCheck": {**GOOD_HEALTH, "timeout": 1}}, "timeout"),
    (
        "aws:lb/targetGroup:TargetGroup",
        "web-tg",
        {"healthCheck": {**GOOD_HEALTH, "interval": 200, "timeout": 121}},
        "timeout",
    ),
    ("aws:lb/targetGroup:TargetGroup", "web-tg", {"healthCheck": {**GOOD_HEALTH, "timeout": 30}}, "shorter"),
    ("aws:lb/targetGroup:TargetGroup", "web-tg", {"healthCheck": {**GOOD_HEALTH, "healthyThreshold": 1}}, "between 2"),
    ("aws:lb/targetGroup:TargetGroup", "web-tg", {"healthCheck": {**GOOD_HEALTH, "unhealthyThreshold": 11}}, "10"),
    ("aws:lb/targetGroup:TargetGroup", "web-tg", {"healthCheck": {**GOOD_HEALTH, "path": "/" * 1025}}, "1024"),
    ("aws:lb/listener:Listener", "web-https", {"protocol": "HTTPS", "port": 443}, "certificate"),
    (
        "aws:lb/listener:Listener",
        "web-https",
        {"protocol": "HTTPS", "certificateArn": CERT + "x"},
        "CertificateNotFound",
    ),
    ("aws:lb/listener:Listener", "web-https", {"protocol": "HTTPS", "certificateArn": PENDING}, "PENDING_VALIDATION"),
    (CERT_VALIDATION, "web-certificate-issued", {"certificateArn": UNPUBLISHED}, "never issued"),
    (CERT_VALIDATION, "web-certificate-issued", {"certificateArn": CERT + "x"}, "no ACM certificate"),
    (
        CERT_VALIDATION,
        "web-certificate-issued",
        {"certificateArn": PENDING, "validationRecordFqdns": ["_other.www.example.com"]},
        "leave out",
    ),
    (RECORD, "web-domain", {**ALIAS, "name": "www.example.org", "aliases": [TO_BALANCER]}, "not in the hosted zone"),
    (RECORD, "web-domain", {**ALIAS, "zoneId": "Z404", "aliases": [TO_BALANCER]}, "NoSuchHostedZone"),
    (RECORD, "web-domain", {**ALIAS, "name": "a" * 64 + ".example.com", "aliases": [TO_BALANCER]}, "63"),
    (RECORD, "web-domain", {**ALIAS, "name": ("a" * 60 + ".") * 4 + "example.com", "aliases": [TO_BALANCER]}, "255"),
    (RECORD, "web-domain", {**ALIAS, "aliases": [{**TO_BALANCER, "zoneId": "Z1"}]}, "canonical hosted zone"),
    (RECORD, "web-domain", {**ALIAS, "aliases": [{**TO_BALANCER, "name": "x.elb.amazonaws.com"}]}, "no load balancer"),
    (RECORD, "web-domain", {**ALIAS, "ttl": 60, "aliases": [TO_BALANCER]}, "omitted"),
    (RECORD, "web-certificate-validation", {**CNAME, "ttl": None}, "required"),
    ("aws:iam/role:Role", "r" * 58 + "-1a2b3c4", {}, "64"),
    ("aws:iam/role:Role", "web role", {}, "_+=,.@-"),
    ("aws:iam/rolePolicy:RolePolicy", "p" * 129, {}, "128"),
    ("aws:ecr/repository:Repository", "Web-Repo", {}, "lowercase"),
    ("aws:ecr/repository:Repository", "w", {}, "2 to 256"),
    ("aws:ecr/repository:Repository", "web___repo", {}, "lowercase"),  # at most two underscores in a row
    ("aws:ecr/repository:Repository", "web-.repo", {}, "lowercase"),  # one separator between letters/digits
    ("aws:ecr/repository:Repository", "web-repo-", {}, "lowercase"),
    ("aws:cloudwatch/logGroup:LogGroup", "/deployer/web app/dev", {}, "letters, digits"),
    ("aws:cloudwatch/logGroup:LogGroup", "l" * 513, {}, "512"),
    ("aws:cloudwatch/logGroup:LogGroup", "aws/web", {}, "aws/"),
    ("aws:secretsmanager/secret:Secret", "web secret", {}, "/_+=.@-"),
    ("aws:secretsmanager/secret:Secret", "s" * 513, {}, "512"),
    ("aws:ec2/securityGroup:SecurityGroup", "sg-web", {}, "sg-"),
    ("aws:ec2/securityGroup:SecurityGroup", "g" * 256, {}, "255"),
    ("aws:ecs/cluster:Cluster", "web.cluster", {}, "underscores"),
    ("aws:ecs/service:Service", "s" * 256, {}, "255"),
    ("aws:ecs/taskDefinition:TaskDefinition", "web-task", _task(family="web.dev"), "family"),
    ("aws:ecs/taskDefinition:TaskDefinition", "web-task", _task(cpu="256", memory="4096"), "Fargate task size"),
    ("aws:ecs/taskDefinition:TaskDefinition", "web-task", _task(cpu="300", memory="512"), "Fargate task size"),
    (
        "aws:ecs/taskDefinition:TaskDefinition",
        "web-task",
        _task(containerDefinitions=_containers(valueFrom=SECRET_ARN + ":password")),
        "json-key:version-stage:version-id",
    ),
    (
        "aws:ecs/taskDefinition:TaskDefinition",
        "web-task",
        _task(containerDefinitions=_containers(valueFrom="arn:aws:secretsmanager:us-east-1:12345:secret:x")),
        "valueFrom",
    ),
    ("aws:ecs/taskDefinition:TaskDefinition", "web-task", _task(containerDefinitions=_sized(65536)), "65,536 bytes"),
    (SECRET_VERSION, "web-secret-api-token-value", {"secretString": ""}, "1 to 65,536 bytes"),
    (SECRET_VERSION, "web-secret-api-token-value", {"secretString": "é" * 32769}, "1 to 65,536 bytes"),
    ("aws:iam/rolePolicy:RolePolicy", "web-read-secrets", {"policy": _policy(10241)}, "10,240"),
]


@pytest.mark.parametrize(("type_token", "name", "inputs", "mentions"), BROKEN)
def test_a_resource_built_to_break_a_rule_is_refused(type_token, name, inputs, mentions):
    with pytest.raises(DeployFailed) as error:
        check(type_token, "logical-name", name, inputs, CONTEXT)
    message = str(error.value)
    assert type_token in message and "logical-name" in message  # the resource
    assert mentions in message
    assert re.search(r"\(https://(docs\.aws\.amazon\.com|repost\.aws|www\.pulumi\.com)/[^ )]+\)", message)  # source


GOOD = [
    ("aws:lb/loadBalancer:LoadBalancer", "web-alb-1a2b3c4", {"subnets": ["subnet-a", "subnet-b"]}),
    (
        "aws:lb/loadBalancer:LoadBalancer",
        "n" * 32,
        {"subnets": ["subnet-a", "subnet-b"], "loadBalancerType": "application"},
    ),
    ("aws:lb/loadBalancer:LoadBalancer", "web-alb", DUALSTACK),
    (SUBNET, "web-public-1", {"vpcId": "vpc-6", "ipv6CidrBlock": "2600:1f18:1:1ff::/64"}),
    (SUBNET, "web-private-0", {"vpcId": "vpc-4", "cidrBlock": "10.0.0.0/20"}),
    ("aws:lb/targetGroup:TargetGroup", "web-tg-1a2b3c4", {"healthCheck": GOOD_HEALTH}),
    ("aws:lb/targetGroup:TargetGroup", "web-tg", {"healthCheck": {**GOOD_HEALTH, "interval": 300, "timeout": 120}}),
    ("aws:lb/listener:Listener", "web-https", {"protocol": "HTTPS", "certificateArn": ISSUED}),
    (CERT_VALIDATION, "web-certificate-issued", {"certificateArn": PENDING}),
    (
        CERT_VALIDATION,
        "web-certificate-issued",
        {"certificateArn": PENDING, "validationRecordFqdns": ["_abc.www.example.com"]},
    ),
    (RECORD, "web-domain", {**ALIAS, "aliases": [TO_BALANCER]}),
    (RECORD, "web-domain", {**ALIAS, "type": "AAAA", "aliases": [{**TO_BALANCER, "name": "dualstack." + BALANCER}]}),
    (RECORD, "web-apex", {**ALIAS, "name": "example.com.", "aliases": [TO_BALANCER]}),
    (RECORD, "web-certificate-validation", CNAME),
    ("aws:lb/listener:Listener", "web-http", {"protocol": "HTTP"}),
    ("aws:iam/role:Role", "r" * 56 + "-1a2b3c4", {}),
    ("aws:ecr/repository:Repository", "team/web-repo_1.a-1a2b3c4", {}),
    # ECR's current rule (botocore's service model): "__" and runs of "-" separate too
    ("aws:ecr/repository:Repository", "team__a/web--repo", {}),
    ("aws:ecr/repository:Repository", "ar---shop-repo-1a2b3c4", {}),
    ("aws:cloudwatch/logGroup:LogGroup", "/deployer/web/dev", {}),
    ("aws:secretsmanager/secret:Secret", "web-secret-api-token-1a2b3c4", {}),
    ("aws:ec2/securityGroup:SecurityGroup", "web-alb-sg-1a2b3c4", {}),
    ("aws:ecs/cluster:Cluster", "web_cluster-1a2b3c4", {}),
    ("aws:ecs/taskDefinition:TaskDefinition", "web-task", _task()),
    ("aws:ecs/taskDefinition:TaskDefinition", "web-task", _task(cpu="4096", memory="30720")),
    (
        "aws:ecs/taskDefinition:TaskDefinition",
        "web-task",
        _task(containerDefinitions=_containers(valueFrom=SECRET_ARN + ":password::")),
    ),
    (
        "aws:ecs/taskDefinition:TaskDefinition",
        "web-task",
        _task(containerDefinitions=_containers(valueFrom=SECRET_ARN + "::AWSCURRENT:")),
    ),
    ("aws:ec2/vpc:Vpc", "web-vpc", {"cidrBlock": "10.0.0.0/16"}),
    (SECRET_VERSION, "web-secret-api-token-value", {"secretString": "x" * 65536}),
    ("aws:ecs/taskDefinition:TaskDefinition", "web-task", _task(containerDefinitions=_sized(65000))),
    ("aws:iam/rolePolicy:RolePolicy", "web-read-secrets", {"policy": _policy(10240)}),
]


@pytest.mark.parametrize(("type_token", "name", "inputs"), GOOD)
def test_what_aws_accepts_passes(type_token, name, inputs):
    check(type_token, "logical-name", name, inputs, CONTEXT)


SERVICE = "aws:ecs/service:Service"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/web-dev:1"


@pytest.mark.parametrize(
    ("platform", "image", "refused"),
    [
        ({"cpuArchitecture": "X86_64"}, "arm64", True),
        ({"cpuArchitecture": "ARM64"}, "amd64", True),
        (None, "arm64", True),  # no runtime platform: x86_64
        ({"cpuArchitecture": "ARM64"}, "arm64", False),
        (None, "amd64", False),
        ({"cpuArchitecture": "ARM64"}, None, False),  # unknown architecture: not checked
    ],
)
def test_the_images_architecture_must_match_the_tasks_runtime_platform(platform, image, refused):
    task = {"family": "web-dev", **({"runtimePlatform": platform} if platform else {})}
    context = Context(image_architecture=image, task_definitions={TASK_ARN: task})
    inputs = {"taskDefinition": TASK_ARN}
    if refused:
        with pytest.raises(DeployFailed, match=r"exec format error.*repost\.aws") as error:
            check(SERVICE, "web-service", "web-service-1a2b3c4", inputs, context)
        assert image in str(error.value)
    else:
        check(SERVICE, "web-service", "web-service-1a2b3c4", inputs, context)


def test_autonaming_appends_seven_random_hex_characters_to_the_logical_name():
    names = {physical_name("aws:lb/loadBalancer:LoadBalancer", "web-alb", {}) for _ in range(20)}
    assert all(re.fullmatch(r"web-alb-[0-9a-f]{7}", name) for name in names)
    assert len(names) > 1  # random
    assert physical_name("aws:lb/loadBalancer:LoadBalancer", "web-alb", {"name": "given"}) == "given"
    assert physical_name("aws:ec2/vpc:Vpc", "web-vpc", {}) == "web-vpc"  # no name of its own


def test_the_autonamed_types_are_those_whose_name_pulumi_aws_makes_optional():
    """The table matches the SDK: every AWS type the emulator applies with an optional
    ``name`` argument is autonamed, and no other."""
    optional = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for token in APPLIERS:
            package, module, cls = re.fullmatch(r"(\w+):(\w+)/\w+:(\w+)", token).groups()
            if package != "aws":
                continue
            # through the package's own (lazy) attributes: importing a submodule directly
            # would leave the package without its other classes for later tests
            args = getattr(importlib.import_module(f"pulumi_aws.{module}"), f"{cls}Args")
            parameter = inspect.signature(args.__init__).parameters.get("name")
            if parameter is not None and parameter.default is not inspect.Parameter.empty:
                optional.add(token)
    assert optional == aws_rules.AUTONAMED
