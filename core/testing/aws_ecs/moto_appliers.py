"""Apply recorded Pulumi resources to an AWS emulator (moto) through boto3.

One :class:`Applier` per resource type token: ``create(aws, inputs)`` makes the object
with the inputs the program gave Pulumi (wire names, references already resolved to
emulator ids, secrets revealed) and returns its real outputs under the same keys the
Pulumi mocks answered with (``id``, ``arn``, ``name``, ``dnsName``, ``sha256Digest`` ...);
``delete(aws, real)`` removes it and tolerates an object that is already gone.

What the emulator does on behalf of the services, because moto does not:

- **ECS service scheduler.** moto's ``CreateService`` starts no task and reports
  ``runningCount`` from the ``MOTO_ECS_SERVICE_RUNNING`` variable. The emulator does what
  ECS does: it runs ``desiredCount`` FARGATE tasks of the service's task definition
  (``RunTask``, group ``service:<name>``; moto gives each an ENI with a private IP),
  registers each task's IP and container port in the service's target groups
  (``RegisterTargets``), then creates the service with ``MOTO_ECS_SERVICE_RUNNING`` set
  to the number of those tasks moto reports RUNNING (never a number of its own). moto
  marks the deployment COMPLETED only when that number reaches the desired count.
- **Target health.** moto runs no health check: it reports every registered IP target
  ``healthy``. A healthy target here proves a task was placed and registered, not that
  the app answers its health path, unless the emulator serves (:mod:`.emulated_serving`):
  then the task's container runs and is registered only once it answers the target
  group's health check.
- **Container memory.** moto's ``RunTask`` needs a container-level memory figure, which
  Fargate does not: a container without one is registered with ``memoryReservation``
  equal to its share of the task memory (it changes no value deployer reads back).
- **Image push.** ``docker.RegistryImage`` becomes an ECR ``PutImage`` of a manifest whose
  config digest is the core-built image ID; moto computes the image digest, which the task
  definition then references (``repo@sha256:...``). Nothing touches the Docker engine.
- **ACM's DNS validation.** moto marks a requested certificate ISSUED after
  ``MOTO_ACM_VALIDATION_WAIT`` seconds of wall time whatever DNS holds; the emulator issues
  it when its ``CertificateValidation`` is applied, which :mod:`.aws_rules` allows only
  once every validation record is published in a public hosted zone (moto's Route 53).
- **AWS provider defaults.** Security groups lose AWS's default allow-all egress (the
  Pulumi provider removes it); every taggable object gets the ``deployer-app`` and
  ``deployer-stack`` tags the real driver sets as ``aws:defaultTags``.

``NOT_APPLIED`` types (the docker provider and the local ``docker tag``) act on the
local engine, not on AWS: they are recorded in the state but not applied.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
from attrs import frozen
from moto.acm.models import acm_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, iam_backends

from deployer.errors import DeployFailed
from deployer.testing.aws_ecs import emulated_serving, moto_rds

NOT_APPLIED = frozenset({"pulumi:providers:docker", "docker:index/tag:Tag"})
"""Types that act on the local Docker engine only; recorded, never applied to AWS."""

MOTO_RUNNING = "MOTO_ECS_SERVICE_RUNNING"
"""moto's knob for a new service's running task count (see the module docstring)."""

SCHEDULER = "deployer-emulated-ecs"
"""``startedBy`` of the tasks the emulated ECS scheduler runs for a service."""

_GONE = (
    "NotFound",
    "NoSuchEntity",
    "DoesNotExist",
    "ResourceNotFound",
    "InvalidGroup",
    "InvalidVpcID",
    "InvalidSubnetID",
    "InvalidRouteTableID",
    "InvalidAssociationID",
    "InvalidInternetGatewayID",
    "InvalidRoute",
    "InvalidPermission",
    "ClusterNotFound",
    "ServiceNotFound",
    "RepositoryNotFound",
    "LifecyclePolicyNotFound",
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "ListenerNotFound",
    "ObjectNotFound",
    "InvalidAllocationID",
    "NatGatewayNotFound",
    "NoSuchHostedZone",
)


@functools.cache
def session(region: str) -> boto3.Session:
    """The process's one boto3 session for ``region``, shared by the kit and the tests:
    botocore parses each service's model (ec2's is 550 kB of gzipped JSON) once per
    session, and a session per call made creating clients about a third of an emulated
    test's time. It and its clients (:class:`Aws`) live as long as the process: it
    resolves credentials once, at its first client (under ``mock_aws``, moto's fakes;
    first used outside it, the environment's), and nothing may change it (an event
    handler registered on it would reach every later test)."""
    return boto3.Session(region_name=region)


_CLIENTS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
"""Each session's clients by service: a client builds a method per operation (ec2 has
over 700), and the emulator asks for one at every step."""


class Aws:
    """boto3 clients of one session (which must take weak references, as boto3's does),
    created on its first use and kept while the session lives, plus the default tags."""

    def __init__(self, session: Any, tags: Mapping[str, str]):
        self.session, self.tags = session, dict(tags)

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        clients = _CLIENTS.setdefault(self.session, {})
        if service not in clients:
            clients[service] = self.session.client(service.replace("_", "-"))
        return clients[service]

    def tag_list(
        self, extra: Mapping[str, str] | None = None, *, key: str = "Key", value: str = "Value"
    ) -> list[dict[str, str]]:
        return [{key: k, value: v} for k, v in {**(extra or {}), **self.tags}.items()]

    def ec2_tags(self, kind: str, extra: Mapping[str, str] | None = None) -> list[dict]:
        return [{"ResourceType": kind, "Tags": self.tag_list(extra)}]


@frozen
class Applier:
    """How one resource type is created in and deleted from the emulator: ``create(aws,
    inputs, name)`` (``name`` is the object's AWS name: the ``name`` input, else Pulumi's
    autoname, see :func:`.aws_rules.physical_name`); ``refresh(aws, real)``, when given,
    reads back the live values of what ``create`` recorded in ``real``, so the driver sees
    drift the way ``pulumi refresh`` does."""

    create: Callable[[Aws, dict, str], dict]
    delete: Callable[[Aws, dict], None]
    refresh: Callable[[Aws, dict], dict] | None = None
    update: Callable[[Aws, dict, dict], dict] | None = None
    """``update(aws, real, inputs)``, when given, applies a change of only ``in_place``
    inputs to the live object and returns its new ``real``: the emulator then updates it
    instead of replacing it, as the provider does (an RDS instance keeps its data)."""
    in_place: frozenset[str] = frozenset()


def applier(type_token: str) -> Applier | None:
    """The applier for ``type_token``; None for :data:`NOT_APPLIED` types. Any other
    unknown type is a :class:`DeployFailed`: the emulator would silently lie otherwise."""
    if type_token in NOT_APPLIED:
        return None
    found = APPLIERS.get(type_token)
    if found is None:
        raise DeployFailed(
            f"the emulated aws-ecs driver cannot apply {type_token}; it knows {', '.join(sorted(APPLIERS))}"
        )
    return found


def gone(exc: Exception) -> bool:
    """True when a boto3 error says the object does not exist (deletes are idempotent)."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return any(marker in code for marker in _GONE)


def _quietly(call: Callable[..., Any], **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except Exception as exc:  # botocore ClientError; moto may raise its own not-found types
        if not gone(exc) and not any(text in str(exc).lower() for text in ("not found", "does not exist")):
            raise


# --- EC2 ---------------------------------------------------------------------------------


def _vpc(aws: Aws, i: dict, name: str) -> dict:
    """The VPC; with ``assignGeneratedIpv6CidrBlock`` also an Amazon-provided IPv6 /56,
    whose real block replaces the mock one (and the /64s cut from it) downstream."""
    found = aws.ec2.create_vpc(
        CidrBlock=i["cidrBlock"],
        AmazonProvidedIpv6CidrBlock=bool(i.get("assignGeneratedIpv6CidrBlock")),
        TagSpecifications=aws.ec2_tags("vpc", i.get("tags")),
    )["Vpc"]
    vpc = found["VpcId"]
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        if attribute in i:
            aws.ec2.modify_vpc_attribute(VpcId=vpc, **{attribute[0].upper() + attribute[1:]: {"Value": i[attribute]}})
    blocks = [b["Ipv6CidrBlock"] for b in found.get("Ipv6CidrBlockAssociationSet", [])]
    return {"id": vpc, **({"ipv6CidrBlock": blocks[0]} if blocks else {})}


def _subnet(aws: Aws, i: dict, name: str) -> dict:
    dualstack = {"Ipv6CidrBlock": i["ipv6CidrBlock"]} if i.get("ipv6CidrBlock") else {}
    subnet = aws.ec2.create_subnet(
        VpcId=i["vpcId"],
        CidrBlock=i["cidrBlock"],
        AvailabilityZone=i["availabilityZone"],
        TagSpecifications=aws.ec2_tags("subnet", i.get("tags")),
        **dualstack,
    )
    return {"id": subnet["Subnet"]["SubnetId"]}


def _gateway(aws: Aws, i: dict, name: str) -> dict:
    gateway = aws.ec2.create_internet_gateway(TagSpecifications=aws.ec2_tags("internet-gateway", i.get("tags")))
    gateway_id = gateway["InternetGateway"]["InternetGatewayId"]
    aws.ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=i["vpcId"])
    return {"id": gateway_id, "vpcId": i["vpcId"]}


def _delete_gateway(aws: Aws, real: dict) -> None:
    _quietly(aws.ec2.detach_internet_gateway, InternetGatewayId=real["id"], VpcId=real["vpcId"])
    _quietly(aws.ec2.delete_internet_gateway, InternetGatewayId=real["id"])


def _route_table(aws: Aws, i: dict, name: str) -> dict:
    table = aws.ec2.create_route_table(VpcId=i["vpcId"], TagSpecifications=aws.ec2_tags("route-table", i.get("tags")))
    return {"id": table["RouteTable"]["RouteTableId"]}


def _route(aws: Aws, i: dict, name: str) -> dict:
    target = {"GatewayId": i["gatewayId"]} if "gatewayId" in i else {"NatGatewayId": i["natGatewayId"]}
    destination = (
        {"DestinationIpv6CidrBlock": i["destinationIpv6CidrBlock"]}
        if i.get("destinationIpv6CidrBlock")
        else {"DestinationCidrBlock": i["destinationCidrBlock"]}
    )
    aws.ec2.create_route(RouteTableId=i["routeTableId"], **destination, **target)
    return {
        "id": f"r-{i['routeTableId']}-{next(iter(destination.values()))}",
        "routeTableId": i["routeTableId"],
        "destination": destination,
    }


def _association(aws: Aws, i: dict, name: str) -> dict:
    found = aws.ec2.associate_route_table(RouteTableId=i["routeTableId"], SubnetId=i["subnetId"])
    return {"id": found["AssociationId"]}


def _eip(aws: Aws, i: dict, name: str) -> dict:
    address = aws.ec2.allocate_address(
        Domain=i.get("domain", "vpc"), TagSpecifications=aws.ec2_tags("elastic-ip", i.get("tags"))
    )
    return {"id": address["AllocationId"]}


def _nat(aws: Aws, i: dict, name: str) -> dict:
    nat = aws.ec2.create_nat_gateway(
        SubnetId=i["subnetId"],
        AllocationId=i["allocationId"],
        TagSpecifications=aws.ec2_tags("natgateway", i.get("tags")),
    )
    return {"id": nat["NatGateway"]["NatGatewayId"]}


def _security_group(aws: Aws, i: dict, name: str) -> dict:
    group = aws.ec2.create_security_group(
        GroupName=name,
        Description=i.get("description", "Managed by Pulumi"),
        VpcId=i["vpcId"],
        TagSpecifications=aws.ec2_tags("security-group", i.get("tags")),
    )["GroupId"]
    aws.ec2.revoke_security_group_egress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )  # as the provider does
    return {"id": group}


def _permission(i: dict) -> dict:
    permission: dict[str, Any] = {
        "IpProtocol": i["ipProtocol"],
        "FromPort": i.get("fromPort"),
        "ToPort": i.get("toPort"),
    }
    described = {"Description": i["description"]} if i.get("description") else {}
    if "cidrIpv4" in i:
        permission["IpRanges"] = [{"CidrIp": i["cidrIpv4"], **described}]
    elif "cidrIpv6" in i:
        permission["Ipv6Ranges"] = [{"CidrIpv6": i["cidrIpv6"], **described}]
    else:
        permission["UserIdGroupPairs"] = [{"GroupId": i["referencedSecurityGroupId"], **described}]
    return {k: v for k, v in permission.items() if v is not None}


def _rule(direction: str) -> Applier:
    def create(aws: Aws, i: dict, name: str) -> dict:
        authorize = getattr(aws.ec2, f"authorize_security_group_{direction}")
        found = authorize(GroupId=i["securityGroupId"], IpPermissions=[_permission(i)])
        rule = found["SecurityGroupRules"][0]["SecurityGroupRuleId"]
        return {"id": rule, "securityGroupId": i["securityGroupId"], "permission": _permission(i)}

    def delete(aws: Aws, real: dict) -> None:
        revoke = getattr(aws.ec2, f"revoke_security_group_{direction}")
        _quietly(revoke, GroupId=real["securityGroupId"], IpPermissions=[real["permission"]])

    return Applier(create, delete)


# --- ECR and the image push ---------------------------------------------------------------


def _repository(aws: Aws, i: dict, name: str) -> dict:
    repo = aws.ecr.create_repository(
        repositoryName=name,
        imageTagMutability=i.get("imageTagMutability", "MUTABLE"),
        imageScanningConfiguration=i.get("imageScanningConfiguration", {}),
        tags=aws.tag_list(i.get("tags")),
    )["repository"]
    return {
        "id": name,
        "name": name,
        "arn": repo["repositoryArn"],
        "repositoryUrl": repo["repositoryUri"],
        "registryId": repo["registryId"],
    }


def _lifecycle(aws: Aws, i: dict, name: str) -> dict:
    aws.ecr.put_lifecycle_policy(repositoryName=i["repository"], lifecyclePolicyText=i["policy"])
    return {"id": i["repository"], "repository": i["repository"]}


def _push(aws: Aws, i: dict, name: str) -> dict:
    """``docker push`` of the core-built image, as ECR sees it: a manifest naming the
    image ID as its config and only layer; moto derives the image digest from the layer
    digests, so another image gets another digest."""
    repository, _, tag = i["name"].split("/", 1)[1].partition(":")
    image_id = i.get("triggers", {}).get("image_id", "")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": image_id, "size": 0},
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": image_id, "size": 0}
            ],
        }
    )
    image = aws.ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)["image"]
    digest = image["imageId"]["imageDigest"]
    return {
        "id": f"{i['name']}@{digest}",
        "sha256Digest": digest,
        "repository": repository,
        "digest": digest,
        "keepRemotely": bool(i.get("keepRemotely")),
    }


def _delete_push(aws: Aws, real: dict) -> None:
    if not real["keepRemotely"]:  # like the provider: keep_remotely leaves the image in ECR
        _quietly(
            aws.ecr.batch_delete_image, repositoryName=real["repository"], imageIds=[{"imageDigest": real["digest"]}]
        )


# --- IAM and Secrets Manager ---------------------------------------------------------------


def _role(aws: Aws, i: dict, name: str) -> dict:
    role = aws.iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=i["assumeRolePolicy"],
        Description=i.get("description", ""),
        Tags=aws.tag_list(i.get("tags")),
    )["Role"]
    return {"id": name, "name": name, "arn": role["Arn"]}


def _attachment(aws: Aws, i: dict, name: str) -> dict:
    _give_moto_aws_managed_policy(i["policyArn"])
    aws.iam.attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
    return {"id": f"{i['role']}-{i['policyArn']}", "role": i["role"], "policyArn": i["policyArn"]}


def _give_moto_aws_managed_policy(arn: str) -> None:
    """Add to moto's IAM the AWS managed policy ``arn`` (``arn:<partition>:iam::aws:policy
    <path><name>``) when AWS has one of that path and name; moto refuses to attach any
    other, as IAM does. moto can load all of them instead
    (``MOTO_IAM_LOAD_MANAGED_POLICIES``), but parses its 1,300 policies for every
    partition at every reset: more than a second per test."""
    head, _, path_and_name = arn.partition(":iam::aws:policy")
    found = _aws_managed_policies().get(path_and_name)
    if found is None or not head.startswith("arn:"):
        return
    try:
        backend = iam_backends[DEFAULT_ACCOUNT_ID][head.removeprefix("arn:")]  # by partition
    except KeyError:  # a partition moto does not know: it refuses the ARN
        return
    if arn not in backend.managed_policies:
        policy_name, data = found
        backend.managed_policies[arn] = AWSManagedPolicy.from_data(
            policy_name, DEFAULT_ACCOUNT_ID, backend.region_name, data
        )


@functools.cache
def _aws_managed_policies() -> dict[str, tuple[str, dict[str, Any]]]:
    """AWS's managed policies as moto ships them: ``(name, data)`` by path and name."""
    return {f"{data['Path']}{name}": (name, data) for name, data in json.loads(aws_managed_policies_data).items()}


def _role_policy(aws: Aws, i: dict, name: str) -> dict:
    aws.iam.put_role_policy(RoleName=i["role"], PolicyName=name, PolicyDocument=i["policy"])
    return {"id": f"{i['role']}:{name}", "role": i["role"], "name": name}


def _secret(aws: Aws, i: dict, name: str) -> dict:
    secret = aws.secretsmanager.create_secret(
        Name=name, Description=i.get("description", ""), Tags=aws.tag_list(i.get("tags"))
    )
    return {"id": secret["ARN"], "arn": secret["ARN"], "name": name}


def _secret_version(aws: Aws, i: dict, name: str) -> dict:
    with quiet_botocore():  # its DEBUG log prints request parameters, the value included
        version = aws.secretsmanager.put_secret_value(SecretId=i["secretId"], SecretString=i["secretString"])
    # versionId: what the task definition pins each secret to (``valueFrom``), so a one-off task reads it back
    return {
        "id": f"{i['secretId']}|{version['VersionId']}",
        "versionId": version["VersionId"],
        "secretId": i["secretId"],
    }


@contextmanager
def quiet_botocore() -> Iterator[None]:
    logger = logging.getLogger("botocore")
    before = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(before)


# --- CloudWatch Logs ---------------------------------------------------------------------


def _log_group(aws: Aws, i: dict, name: str) -> dict:
    group = i.get("name") or i.get("namePrefix", "") + name  # a prefix: completed by the provider
    aws.logs.create_log_group(logGroupName=group, tags={**i.get("tags", {}), **aws.tags})
    if i.get("retentionInDays"):
        aws.logs.put_retention_policy(logGroupName=group, retentionInDays=i["retentionInDays"])
    return {"id": group, "name": group}


# --- ELBv2 -------------------------------------------------------------------------------


def _balancer(aws: Aws, i: dict, name: str) -> dict:
    (balancer,) = aws.elbv2.create_load_balancer(
        Name=i.get("name", name),
        Subnets=i["subnets"],
        SecurityGroups=i.get("securityGroups", []),
        Scheme="internal" if i.get("internal") else "internet-facing",
        Type=i.get("loadBalancerType", "application"),
        IpAddressType=i.get("ipAddressType", "ipv4"),
        Tags=aws.tag_list(i.get("tags")),
    )["LoadBalancers"]
    arn = balancer["LoadBalancerArn"]
    if "dropInvalidHeaderFields" in i:
        aws.elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=arn,
            Attributes=[
                {
                    "Key": "routing.http.drop_invalid_header_fields.enabled",
                    "Value": str(i["dropInvalidHeaderFields"]).lower(),
                }
            ],
        )
    return {
        "id": arn,
        "arn": arn,
        "arnSuffix": arn.split(":loadbalancer/", 1)[1],
        "dnsName": balancer["DNSName"],
        "zoneId": balancer["CanonicalHostedZoneId"],
    }


_HEALTH_KEYS = {
    "enabled": "HealthCheckEnabled",
    "protocol": "HealthCheckProtocol",
    "port": "HealthCheckPort",
    "path": "HealthCheckPath",
    "interval": "HealthCheckIntervalSeconds",
    "timeout": "HealthCheckTimeoutSeconds",
    "healthyThreshold": "HealthyThresholdCount",
    "unhealthyThreshold": "UnhealthyThresholdCount",
}


def _target_group(aws: Aws, i: dict, name: str) -> dict:
    check = i.get("healthCheck", {})
    options = {_HEALTH_KEYS[k]: v for k, v in check.items() if k in _HEALTH_KEYS}
    if "matcher" in check:
        options["Matcher"] = {"HttpCode": check["matcher"]}
    (group,) = aws.elbv2.create_target_group(
        Name=i.get("name", name),
        Protocol=i.get("protocol", "HTTP"),
        Port=i["port"],
        VpcId=i["vpcId"],
        TargetType=i.get("targetType", "instance"),
        Tags=aws.tag_list(i.get("tags")),
        **options,
    )["TargetGroups"]
    arn = group["TargetGroupArn"]
    if "deregistrationDelay" in i:
        aws.elbv2.modify_target_group_attributes(
            TargetGroupArn=arn,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(i["deregistrationDelay"])}],
        )
    return {"id": arn, "arn": arn, "arnSuffix": arn.split(":", 5)[5]}


def _action(action: dict) -> dict:
    """A listener action from Pulumi's wire shape to the ELBv2 API's."""
    result: dict[str, Any] = {"Type": action["type"]}
    if "targetGroupArn" in action:
        result["TargetGroupArn"] = action["targetGroupArn"]
    if "redirect" in action:
        redirect = action["redirect"]
        result["RedirectConfig"] = {k[0].upper() + k[1:]: v for k, v in redirect.items()}
    return result


def _listener(aws: Aws, i: dict, name: str) -> dict:
    options: dict[str, Any] = {}
    if i.get("certificateArn"):
        options["Certificates"] = [{"CertificateArn": i["certificateArn"]}]
    if i.get("sslPolicy"):
        options["SslPolicy"] = i["sslPolicy"]
    (listener,) = aws.elbv2.create_listener(
        LoadBalancerArn=i["loadBalancerArn"],
        Protocol=i["protocol"],
        Port=i["port"],
        DefaultActions=[_action(a) for a in i["defaultActions"]],
        Tags=aws.tag_list(i.get("tags")),
        **options,
    )["Listeners"]
    return {"id": listener["ListenerArn"], "arn": listener["ListenerArn"]}


# --- ACM and Route 53 ------------------------------------------------------------------------


def _certificate(aws: Aws, i: dict, name: str) -> dict:
    """Request the certificate; its real DNS validation record (one domain: one record)
    replaces the mock one in the inputs of the record and validation that use it."""
    options = {"SubjectAlternativeNames": i["subjectAlternativeNames"]} if i.get("subjectAlternativeNames") else {}
    arn = aws.acm.request_certificate(
        DomainName=i["domainName"],
        ValidationMethod=i.get("validationMethod", "DNS"),
        Tags=aws.tag_list(i.get("tags")),
        **options,
    )["CertificateArn"]
    found = aws.acm.describe_certificate(CertificateArn=arn)["Certificate"]
    record = found["DomainValidationOptions"][0]["ResourceRecord"]
    return {"id": arn, "arn": arn, "resourceRecordName": record["Name"], "resourceRecordValue": record["Value"]}


def _certificate_validation(aws: Aws, i: dict, name: str) -> dict:
    """What ACM does once the validation records resolve: it issues the certificate.
    moto would only flip it to ISSUED after ``MOTO_ACM_VALIDATION_WAIT`` seconds of wall
    time whatever DNS holds, so the emulator issues it here, after
    :func:`.aws_rules.check` found every validation record published."""
    arn = i["certificateArn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    acm_backends[account][region].get_certificate(arn).status = "ISSUED"
    return {"id": arn, "certificateArn": arn}


def _record_set(i: dict) -> dict:
    """A Route 53 record set from Pulumi's wire shape: an alias, or a TTL and values."""
    record_set: dict[str, Any] = {"Name": i["name"], "Type": i["type"]}
    if i.get("aliases"):
        (alias,) = i["aliases"]
        record_set["AliasTarget"] = {
            "HostedZoneId": alias["zoneId"],
            "DNSName": alias["name"],
            "EvaluateTargetHealth": bool(alias.get("evaluateTargetHealth")),
        }
    else:
        record_set["TTL"] = int(i["ttl"])
        record_set["ResourceRecords"] = [{"Value": value} for value in i.get("records", [])]
    return record_set


def _record(aws: Aws, i: dict, name: str) -> dict:
    record_set = _record_set(i)
    action = "UPSERT" if i.get("allowOverwrite") else "CREATE"
    aws.route53.change_resource_record_sets(
        HostedZoneId=i["zoneId"], ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record_set}]}
    )
    fqdn = i["name"].rstrip(".").lower()
    return {"id": f"{i['zoneId']}_{fqdn}_{i['type']}", "fqdn": fqdn, "hostedZone": i["zoneId"], "recordSet": record_set}


def _delete_record(aws: Aws, real: dict) -> None:
    _quietly(
        aws.route53.change_resource_record_sets,
        HostedZoneId=real["hostedZone"],
        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": real["recordSet"]}]},
    )


# --- ECS ---------------------------------------------------------------------------------


def _cluster(aws: Aws, i: dict, name: str) -> dict:
    cluster = aws.ecs.create_cluster(
        clusterName=i.get("name", name),
        tags=aws.tag_list(i.get("tags"), key="key", value="value"),
        settings=i.get("settings", []),
    )
    return {
        "id": cluster["cluster"]["clusterArn"],
        "arn": cluster["cluster"]["clusterArn"],
        "name": cluster["cluster"]["clusterName"],
    }


def _task_definition(aws: Aws, i: dict, name: str) -> dict:
    options = {
        key: i[key]
        for key in (
            "cpu",
            "memory",
            "networkMode",
            "requiresCompatibilities",
            "executionRoleArn",
            "taskRoleArn",
            "runtimePlatform",
            "volumes",
        )
        if key in i
    }
    containers = json.loads(i["containerDefinitions"])
    for container in containers:  # moto's RunTask needs a container-level memory figure
        if "memory" not in container and "memoryReservation" not in container:
            container["memoryReservation"] = int(i["memory"]) // len(containers)
    task = aws.ecs.register_task_definition(
        family=i["family"],
        containerDefinitions=containers,
        tags=aws.tag_list(i.get("tags"), key="key", value="value"),
        **options,
    )["taskDefinition"]
    return {"id": task["family"], "arn": task["taskDefinitionArn"]}


def _awsvpc(configuration: dict) -> dict:
    return {
        "awsvpcConfiguration": {
            "subnets": configuration["subnets"],
            "securityGroups": configuration.get("securityGroups", []),
            "assignPublicIp": "ENABLED" if configuration.get("assignPublicIp") else "DISABLED",
        }
    }


@contextmanager
def _moto_running(count: int) -> Iterator[None]:
    """Tell moto how many tasks a service being created runs (restored afterwards)."""
    before = os.environ.get(MOTO_RUNNING)
    os.environ[MOTO_RUNNING] = str(count)
    try:
        yield
    finally:
        if before is None:
            del os.environ[MOTO_RUNNING]
        else:
            os.environ[MOTO_RUNNING] = before


def _service(aws: Aws, i: dict, name: str) -> dict:
    """Create the service the way ECS runs it: start its tasks, register them in its
    target groups, then create the service reporting the tasks moto runs. While the
    emulator serves (:mod:`.emulated_serving`) the tasks' containers run and only those
    that pass the target group's health check are registered; when they fail, the
    service goes back to the previous revision (the circuit breaker)."""
    cluster, network = i["cluster"], _awsvpc(i["networkConfiguration"])
    desired = int(i.get("desiredCount", 1))
    balancers = i.get("loadBalancers", [])
    running = _run_tasks(aws, cluster, i["taskDefinition"], desired, name, network, i.get("launchType", "FARGATE"))
    task_definition, failed = i["taskDefinition"], ""
    scheduler = emulated_serving.active()
    if scheduler is not None:
        rollout = scheduler.start(aws, cluster, name, i["taskDefinition"], running, balancers)
        if rollout.failed:
            failed = rollout.failed
            running = []
            if rollout.previous is not None:
                task_definition = rollout.previous
                running = _run_tasks(
                    aws, cluster, rollout.previous, desired, name, network, i.get("launchType", "FARGATE")
                )
                group = balancers[0]["targetGroupArn"] if balancers else None
                kept = scheduler.adopt(aws, name, running, group)
                running = [t for t in running if t["taskArn"] in {k.arn for k in kept}]
    ips = [_task_ip(task) for task in running]
    targets = []
    for balancer in balancers:
        registered = [{"Id": ip, "Port": balancer["containerPort"]} for ip in ips]
        if registered:
            aws.elbv2.register_targets(TargetGroupArn=balancer["targetGroupArn"], Targets=registered)
        targets.append({"TargetGroupArn": balancer["targetGroupArn"], "Targets": registered})
    options = {key: i[key] for key in ("platformVersion", "propagateTags", "healthCheckGracePeriodSeconds") if key in i}
    if "deploymentCircuitBreaker" in i:
        options["deploymentConfiguration"] = {
            "deploymentCircuitBreaker": i["deploymentCircuitBreaker"],
            **{
                key: i[f"deployment{key[0].upper()}{key[1:]}"]
                for key in ("minimumHealthyPercent", "maximumPercent")
                if f"deployment{key[0].upper()}{key[1:]}" in i
            },
        }
    with _moto_running(len(running)):
        service = aws.ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=task_definition,
            desiredCount=desired,
            launchType=i.get("launchType", "FARGATE"),
            networkConfiguration=network,
            loadBalancers=balancers,
            tags=aws.tag_list(i.get("tags"), key="key", value="value"),
            **options,
        )["service"]
    if failed:
        _record_failed_deployment(aws, cluster, name, i["taskDefinition"], failed)
    return {
        "id": service["serviceArn"],
        "arn": service["serviceArn"],
        "name": name,
        "cluster": cluster,
        "taskDefinition": i["taskDefinition"],
        "tasks": [task["taskArn"] for task in running],
        "targets": targets,
    }


def _run_tasks(
    aws: Aws, cluster: str, task_definition: str, count: int, service: str, network: dict, launch_type: str
) -> list[dict]:
    """``RunTask`` of ``count`` tasks for ``service`` as its scheduler; the ones moto reports RUNNING."""
    if not count:
        return []
    tasks = aws.ecs.run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        count=count,
        launchType=launch_type,
        group=f"service:{service}",
        startedBy=SCHEDULER,
        networkConfiguration=network,
    )["tasks"]
    arns = [task["taskArn"] for task in tasks]
    return [t for t in aws.ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if t["lastStatus"] == "RUNNING"]


def _task_ip(task: dict) -> str:
    """The task's ``privateIPv4Address`` (the ENI moto gives it)."""
    return next(
        detail["value"]
        for attachment in task.get("attachments", [])
        for detail in attachment["details"]
        if detail["name"] == "privateIPv4Address"
    )


def _record_failed_deployment(aws: Aws, cluster: str, service: str, task_definition: str, reason: str) -> None:
    """What the deployment circuit breaker leaves in ``describe_services``: the deployment
    of ``task_definition`` FAILED with ``reason`` beside the PRIMARY one (moto keeps one
    deployment and has no API to fail it)."""
    region = aws.ecs.meta.region_name
    found = ecs_backends[DEFAULT_ACCOUNT_ID][region].services[f"{cluster.rsplit('/', 1)[-1]}:{service}"]
    primary = found.deployments[0]
    failed = {
        **primary,
        "id": f"{primary['id']}-failed",
        "status": "ACTIVE",
        "taskDefinition": task_definition,
        "rolloutState": "FAILED",
        "rolloutStateReason": reason,
        "runningCount": 0,
        "failedTasks": primary["desiredCount"],
    }
    if primary["taskDefinition"] == task_definition:  # no previous revision: nothing to go back to
        found.deployments = [{**failed, "status": "PRIMARY"}]
    else:
        found.deployments = [primary, failed]


def _refresh_service(aws: Aws, real: dict) -> dict:
    """The task definition the service runs now: after a circuit-breaker rollback ECS puts
    the service back on the previous revision, behind the state's back."""
    found = aws.ecs.describe_services(cluster=real["cluster"], services=[real["name"]])["services"]
    return {"taskDefinition": found[0]["taskDefinition"]} if found else {}


def _delete_service(aws: Aws, real: dict) -> None:
    """What ECS does when a service is deleted: drain it, stop its tasks, deregister them.
    While the emulator serves, its containers are retired: they keep serving until the
    service's replacement is healthy (:meth:`.emulated_serving.Serving.start`)."""
    cluster = real["cluster"]
    scheduler = emulated_serving.active()
    if scheduler is not None:
        scheduler.retire(aws, real["name"])
    _quietly(aws.ecs.update_service, cluster=cluster, service=real["name"], desiredCount=0)
    _quietly(aws.ecs.delete_service, cluster=cluster, service=real["name"], force=True)
    for task in real["tasks"]:
        _quietly(aws.ecs.stop_task, cluster=cluster, task=task, reason="service deleted")
    for group in real["targets"]:
        for target in group["Targets"]:  # one by one: a target already gone fails the whole call
            _quietly(aws.elbv2.deregister_targets, TargetGroupArn=group["TargetGroupArn"], Targets=[target])


# --- Application Auto Scaling -------------------------------------------------------------


def _scaling_target(aws: Aws, i: dict, name: str) -> dict:
    aws.application_autoscaling.register_scalable_target(
        ServiceNamespace=i["serviceNamespace"],
        ResourceId=i["resourceId"],
        ScalableDimension=i["scalableDimension"],
        MinCapacity=i["minCapacity"],
        MaxCapacity=i["maxCapacity"],
    )
    return {"id": i["resourceId"], **{k: i[k] for k in ("serviceNamespace", "resourceId", "scalableDimension")}}


def _scaling_policy(aws: Aws, i: dict, name: str) -> dict:
    tracking = i["targetTrackingScalingPolicyConfiguration"]
    metric = tracking["predefinedMetricSpecification"]["predefinedMetricType"]
    aws.application_autoscaling.put_scaling_policy(
        PolicyName=name,
        ServiceNamespace=i["serviceNamespace"],
        ResourceId=i["resourceId"],
        ScalableDimension=i["scalableDimension"],
        PolicyType=i["policyType"],
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": tracking["targetValue"],
            "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
            "ScaleInCooldown": tracking.get("scaleInCooldown", 0),
            "ScaleOutCooldown": tracking.get("scaleOutCooldown", 0),
        },
    )
    return {"id": name, "name": name, **{k: i[k] for k in ("serviceNamespace", "resourceId", "scalableDimension")}}


# --- what is left ------------------------------------------------------------------------


def remaining(aws: Aws) -> list[str]:
    """ARNs of the live objects tagged with ``aws.tags`` (the app and stack): what a
    ``down`` must leave none of. ECS keeps deleted clusters, services and deregistered
    task definitions visible as INACTIVE; those do not count."""
    filters = [{"Key": k, "Values": [v]} for k, v in aws.tags.items()]
    found = []
    for page in aws.resourcegroupstaggingapi.get_paginator("get_resources").paginate(TagFilters=filters):
        found += [item["ResourceARN"] for item in page["ResourceTagMappingList"]]
    return [arn for arn in found if _active(aws, arn)]


def _active(aws: Aws, arn: str) -> bool:
    kind = arn.split(":", 5)[5].split("/", 1)[0] if arn.startswith("arn:aws:ecs:") else ""
    if kind == "cluster":
        clusters = aws.ecs.describe_clusters(clusters=[arn])["clusters"]
        return any(c["status"] != "INACTIVE" for c in clusters)
    if kind == "service":
        cluster = arn.split("/")[-2]
        services = aws.ecs.describe_services(cluster=cluster, services=[arn])["services"]
        return any(s["status"] != "INACTIVE" for s in services)
    if kind == "task-definition":
        task = aws.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        return task["status"] != "INACTIVE"
    return True


# --- the table ---------------------------------------------------------------------------


def _by_id(call: str, key: str, field: str = "id") -> Callable[[Aws, dict], None]:
    """A delete calling ``<service>.<operation>(key=real[field])``."""
    service, operation = call.split(".")

    def delete(aws: Aws, real: dict) -> None:
        _quietly(getattr(getattr(aws, service), operation), **{key: real[field]})

    return delete


APPLIERS: Mapping[str, Applier] = {
    "aws:ec2/vpc:Vpc": Applier(_vpc, _by_id("ec2.delete_vpc", "VpcId")),
    "aws:ec2/subnet:Subnet": Applier(_subnet, _by_id("ec2.delete_subnet", "SubnetId")),
    "aws:ec2/internetGateway:InternetGateway": Applier(_gateway, _delete_gateway),
    "aws:ec2/routeTable:RouteTable": Applier(_route_table, _by_id("ec2.delete_route_table", "RouteTableId")),
    "aws:ec2/route:Route": Applier(
        _route,
        lambda aws, real: _quietly(aws.ec2.delete_route, RouteTableId=real["routeTableId"], **real["destination"]),
    ),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": Applier(
        _association, _by_id("ec2.disassociate_route_table", "AssociationId")
    ),
    "aws:ec2/eip:Eip": Applier(_eip, _by_id("ec2.release_address", "AllocationId")),
    "aws:ec2/natGateway:NatGateway": Applier(_nat, _by_id("ec2.delete_nat_gateway", "NatGatewayId")),
    "aws:ec2/securityGroup:SecurityGroup": Applier(_security_group, _by_id("ec2.delete_security_group", "GroupId")),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _rule("ingress"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _rule("egress"),
    "aws:ecr/repository:Repository": Applier(
        _repository, lambda aws, real: _quietly(aws.ecr.delete_repository, repositoryName=real["name"], force=True)
    ),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": Applier(
        _lifecycle, _by_id("ecr.delete_lifecycle_policy", "repositoryName", "repository")
    ),
    "docker:index/registryImage:RegistryImage": Applier(_push, _delete_push),
    "aws:iam/role:Role": Applier(_role, _by_id("iam.delete_role", "RoleName", "name")),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Applier(
        _attachment,
        lambda aws, real: _quietly(aws.iam.detach_role_policy, RoleName=real["role"], PolicyArn=real["policyArn"]),
    ),
    "aws:iam/rolePolicy:RolePolicy": Applier(
        _role_policy,
        lambda aws, real: _quietly(aws.iam.delete_role_policy, RoleName=real["role"], PolicyName=real["name"]),
    ),
    "aws:secretsmanager/secret:Secret": Applier(
        _secret,
        lambda aws, real: _quietly(
            aws.secretsmanager.delete_secret, SecretId=real["arn"], ForceDeleteWithoutRecovery=True
        ),
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": Applier(
        _secret_version, lambda aws, real: None
    ),  # deleting the secret deletes its versions
    "aws:cloudwatch/logGroup:LogGroup": Applier(_log_group, _by_id("logs.delete_log_group", "logGroupName")),
    "aws:lb/loadBalancer:LoadBalancer": Applier(_balancer, _by_id("elbv2.delete_load_balancer", "LoadBalancerArn")),
    "aws:lb/targetGroup:TargetGroup": Applier(_target_group, _by_id("elbv2.delete_target_group", "TargetGroupArn")),
    "aws:lb/listener:Listener": Applier(_listener, _by_id("elbv2.delete_listener", "ListenerArn")),
    "aws:acm/certificate:Certificate": Applier(_certificate, _by_id("acm.delete_certificate", "CertificateArn", "arn")),
    "aws:acm/certificateValidation:CertificateValidation": Applier(
        _certificate_validation, lambda aws, real: None
    ),  # as the provider: deleting the validation leaves the certificate alone
    "aws:route53/record:Record": Applier(_record, _delete_record),
    "aws:ecs/cluster:Cluster": Applier(_cluster, _by_id("ecs.delete_cluster", "cluster")),
    "aws:ecs/taskDefinition:TaskDefinition": Applier(
        _task_definition, _by_id("ecs.deregister_task_definition", "taskDefinition", "arn")
    ),
    "aws:ecs/service:Service": Applier(_service, _delete_service, _refresh_service),
    "aws:rds/subnetGroup:SubnetGroup": Applier(moto_rds.create_subnet_group, moto_rds.delete_subnet_group),
    "aws:rds/instance:Instance": Applier(
        moto_rds.create_instance,
        moto_rds.delete_instance,
        update=moto_rds.update_instance,
        in_place=moto_rds.MODIFIABLE,
    ),
    "aws:appautoscaling/target:Target": Applier(
        _scaling_target,
        lambda aws, real: _quietly(
            aws.application_autoscaling.deregister_scalable_target,
            ServiceNamespace=real["serviceNamespace"],
            ResourceId=real["resourceId"],
            ScalableDimension=real["scalableDimension"],
        ),
    ),
    "aws:appautoscaling/policy:Policy": Applier(
        _scaling_policy,
        lambda aws, real: _quietly(
            aws.application_autoscaling.delete_scaling_policy,
            PolicyName=real["name"],
            ServiceNamespace=real["serviceNamespace"],
            ResourceId=real["resourceId"],
            ScalableDimension=real["scalableDimension"],
        ),
    ),
}
"""Every resource type the aws-ecs program creates, applied to the emulator."""
