"""Every AWS rule of the aws-ecs plan, checked on the mock-recorded resource graph.

One test per rule; each docstring cites the AWS or Pulumi documentation the rule comes
from. The graph comes from ``plan --offline``: the real program under Pulumi mocks, so
these tests prove what the program asks AWS for, not what AWS would accept.
"""

from __future__ import annotations

import ipaddress
import json

import pytest

from deployer.errors import ConfigError
from tests.aws_ecs.conftest import IMAGE, SECRET_VALUE

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT = "aws:ec2/natGateway:NatGateway"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ALB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
REPO = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
TAG = "docker:index/tag:Tag"
PUSH = "docker:index/registryImage:RegistryImage"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"


def _rules(graph, kind, group_name):
    group = graph.one(SG, group_name)
    return [r for r in graph.all(kind) if r["inputs"]["securityGroupId"] == group["id"]]


# --- network ------------------------------------------------------------------------------


def test_alb_spans_subnets_in_two_distinct_pinned_azs(graph):
    """An ALB needs subnets in at least two Availability Zones.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
    (Subnets: "[Application Load Balancers] You must specify subnets from at least two
    Availability Zones"); zones pinned by name from aws.getAvailabilityZones:
    https://www.pulumi.com/registry/packages/aws/api-docs/getavailabilityzones/"""
    alb = graph.one(ALB)
    assert alb["inputs"]["loadBalancerType"] == "application"
    subnets = [s for s in graph.all(SUBNET) if s["id"] in alb["inputs"]["subnets"]]
    zones = [s["inputs"]["availabilityZone"] for s in subnets]
    assert len(subnets) >= 2 and len(set(zones)) == len(zones)
    assert all(zone.startswith("us-east-1") and zone[-1].isalpha() for zone in zones)


def test_each_subnet_has_an_explicit_route_table_association(plans):
    """Subnets not explicitly associated use the VPC's main route table; associate each one
    with the table that routes 0.0.0.0/0 to the internet gateway.
    https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html#subnet-route-tables"""
    for graph in plans.values():
        associated = {a["inputs"]["subnetId"] for a in graph.all(ASSOCIATION)}
        assert associated == {s["id"] for s in graph.all(SUBNET)}
    graph = plans["default"]
    gateway = graph.one("aws:ec2/internetGateway:InternetGateway")["id"]
    routes = {
        r["inputs"].get("destinationCidrBlock") or r["inputs"]["destinationIpv6CidrBlock"]: r["inputs"]["gatewayId"]
        for r in graph.all(ROUTE)
    }
    assert routes == {"0.0.0.0/0": gateway, "::/0": gateway}  # IPv6 too: the load balancer is dualstack


def test_alb_security_group_opens_only_http_without_a_certificate(graph):
    """The load balancer's security group must allow inbound traffic on its listener ports.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-update-security-groups.html"""
    rules = _rules(graph, INGRESS, "web-alb-sg")
    assert sorted(
        (r["inputs"]["fromPort"], r["inputs"]["toPort"], r["inputs"].get("cidrIpv4") or r["inputs"]["cidrIpv6"])
        for r in rules
    ) == [(80, 80, "0.0.0.0/0"), (80, 80, "::/0")]


def test_alb_security_group_opens_443_with_a_certificate(plans):
    """With an HTTPS listener the ALB security group also allows 443.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-update-security-groups.html"""
    rules = _rules(plans["tls"], INGRESS, "web-alb-sg")
    assert sorted(r["inputs"]["fromPort"] for r in rules) == [80, 80, 443, 443]  # IPv4 and IPv6 each


def test_tasks_accept_only_the_alb_security_group_on_the_app_port(graph):
    """Tasks are reachable only from the load balancer: the task security group references
    the ALB security group, never a CIDR.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/security-network.html and
    https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html#security-group-referencing"""
    alb_sg = graph.one(SG, "web-alb-sg")
    rules = _rules(graph, INGRESS, "web-task-sg")
    assert rules and all(
        r["inputs"]["referencedSecurityGroupId"] == alb_sg["id"]
        and "cidrIpv4" not in r["inputs"]
        and r["inputs"]["fromPort"] == r["inputs"]["toPort"] == 8000
        for r in rules
    )


def test_egress_is_explicit_and_narrow(graph):
    """pulumi-aws removes AWS's default allow-all egress, so egress must be declared; use
    standalone rule resources, never inline rules on the group.
    https://www.pulumi.com/registry/packages/aws/api-docs/ec2/securitygroup/ and
    https://www.pulumi.com/registry/packages/aws/api-docs/vpc/securitygroupegressrule/"""
    for group in graph.all(SG):
        assert "ingress" not in group["inputs"] and "egress" not in group["inputs"]
    alb_out = _rules(graph, EGRESS, "web-alb-sg")
    assert [r["inputs"]["referencedSecurityGroupId"] for r in alb_out] == [graph.one(SG, "web-task-sg")["id"]]
    task_out = _rules(graph, EGRESS, "web-task-sg")
    assert [(r["inputs"]["ipProtocol"], r["inputs"]["fromPort"]) for r in task_out] == [("tcp", 443)]


def test_nat_option_puts_tasks_in_private_subnets_behind_a_nat_gateway(plans):
    """Fargate tasks need a route to ECR: a public IP in a public subnet, or a private subnet
    whose default route goes to a NAT gateway.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html"""
    graph = plans["nat"]
    service = graph.one(SERVICE)["inputs"]["networkConfiguration"]
    private = [s for s in graph.all(SUBNET) if s["name"].startswith("web-private")]
    assert service["assignPublicIp"] is False
    assert sorted(service["subnets"]) == sorted(s["id"] for s in private) and len(private) == 3
    nat = graph.one(NAT)
    assert _nat_of_each_private_subnet(graph) == {s["name"]: nat["name"] for s in private}


def test_nat_per_az_routes_each_private_subnet_through_a_gateway_in_its_own_zone(plans):
    """A NAT gateway serves one AZ: "create a NAT gateway in each Availability Zone and
    configure your routing to ensure that resources use the NAT gateway in the same
    Availability Zone", so an AZ outage cuts off only that AZ.
    https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html"""
    graph = plans["nat_per_az"]
    subnets = {s["id"]: s for s in graph.all(SUBNET)}
    zone_of_nat = {
        nat["name"]: subnets[nat["inputs"]["subnetId"]]["inputs"]["availabilityZone"] for nat in graph.all(NAT)
    }
    assert all(subnets[nat["inputs"]["subnetId"]]["name"].startswith("web-public") for nat in graph.all(NAT))
    routed = _nat_of_each_private_subnet(graph)
    assert len(routed) == 3 and len(set(routed.values())) == 3
    for subnet_name, nat_name in routed.items():
        (subnet,) = [s for s in subnets.values() if s["name"] == subnet_name]
        assert zone_of_nat[nat_name] == subnet["inputs"]["availabilityZone"]


def _nat_of_each_private_subnet(graph) -> dict[str, str]:
    """Private subnet name -> the NAT gateway its table's default route goes through."""
    nat_by_id = {nat["id"]: nat["name"] for nat in graph.all(NAT)}
    nat_of_table = {
        r["inputs"]["routeTableId"]: nat_by_id[r["inputs"]["natGatewayId"]]
        for r in graph.all(ROUTE)
        if "natGatewayId" in r["inputs"]
    }
    subnet_names = {s["id"]: s["name"] for s in graph.all(SUBNET)}
    return {
        subnet_names[a["inputs"]["subnetId"]]: nat_of_table[a["inputs"]["routeTableId"]]
        for a in graph.all(ASSOCIATION)
        if a["inputs"]["routeTableId"] in nat_of_table
    }


# --- registry -----------------------------------------------------------------------------


def test_ecr_scans_on_push_with_immutable_tags(graph):
    """Scan on push; immutable tags so a tag can never point at another image.
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-basic.html and
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html"""
    repo = graph.one(REPO)["inputs"]
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["imageTagMutability"] == "IMMUTABLE"


def test_ecr_lifecycle_keeps_the_last_n_images(graph):
    """A lifecycle policy expiring images beyond the newest N (imageCountMoreThan).
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html"""
    policy = graph.one(LIFECYCLE)
    assert policy["inputs"]["repository"] == "web-repo"
    (rule,) = json.loads(policy["inputs"]["policy"])["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}
    assert rule["action"] == {"type": "expire"}


def test_pushes_the_core_built_image_with_a_unique_tag(graph):
    """The image pushed is the core's image ID under a unique tag (content hash + image ID), with
    ECR credentials on the docker provider; pulumi-docker Tag + RegistryImage.
    https://www.pulumi.com/registry/packages/docker/api-docs/tag/ and
    https://www.pulumi.com/registry/packages/docker/api-docs/registryimage/"""
    tag, push = graph.one(TAG), graph.one(PUSH)
    repo_url = graph.plan.outputs["repository_url"]
    assert tag["inputs"]["sourceImage"] == IMAGE.id
    assert tag["inputs"]["targetImage"] == f"{repo_url}:{IMAGE.content_hash}-{'ab' * 6}"
    assert push["inputs"]["name"] == tag["inputs"]["targetImage"]
    provider = graph.one("pulumi:providers:docker")
    assert provider["urn"] in push["depends_on"] and provider["urn"] in tag["depends_on"]


def test_the_same_content_rebuilt_gets_another_tag():
    """ECR tags are immutable and Docker builds are not reproducible: the same content
    rebuilt on another machine (another image ID and digest) must not be pushed under the
    tag of the first build, which ECR would reject.
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html"""
    from deployer.models import Image
    from deployer.plugins.aws_ecs.releases import image_tag

    rebuilt = Image(IMAGE.repository, IMAGE.content_hash, "sha256:" + "cd" * 32)
    assert image_tag(rebuilt) != image_tag(IMAGE)
    assert image_tag(IMAGE).startswith(IMAGE.content_hash)
    assert image_tag(Image(IMAGE.repository, IMAGE.content_hash, "")) == IMAGE.content_hash


def test_task_definition_references_the_image_by_digest(graph):
    """Reference images by digest: a new image always changes the task definition.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_image"""
    image = graph.container()["image"]
    assert image == graph.plan.outputs["image_ref"]
    assert image.startswith(graph.plan.outputs["repository_url"] + "@sha256:")


# --- ingress ------------------------------------------------------------------------------


def test_target_group_uses_ip_targets(graph):
    """Services with the awsvpc network mode (Fargate) must use target type ip.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html"""
    assert graph.one(TG)["inputs"]["targetType"] == "ip"


def test_target_group_health_checks_the_app_path(graph):
    """The ALB health check probes the app's own health path on the traffic port.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html"""
    check = graph.one(TG)["inputs"]["healthCheck"]
    assert check["path"] == "/healthz" and check["port"] == "traffic-port"
    assert check["matcher"] == "200-299" and check["timeout"] < check["interval"]


def test_target_group_deregistration_delay_is_short(graph):
    """The default deregistration delay is 300 s; a short one makes rollouts fast.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay"""
    assert graph.one(TG)["inputs"]["deregistrationDelay"] <= 60


def test_http_listener_forwards_without_a_certificate(graph):
    """An HTTP listener on 80 forwarding to the target group.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html"""
    listener = graph.one(LISTENER)["inputs"]
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    assert listener["defaultActions"] == [{"type": "forward", "targetGroupArn": graph.plan.outputs["target_group_arn"]}]


def test_certificate_gives_https_listener_and_redirect(plans):
    """With a certificate: an HTTPS listener with a TLS 1.2+ policy and 80 -> 443 redirect.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/create-https-listener.html and
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html#redirect-actions"""
    graph = plans["tls"]
    https = graph.one(LISTENER, "web-https")["inputs"]
    http = graph.one(LISTENER, "web-http")["inputs"]
    assert (https["port"], https["protocol"]) == (443, "HTTPS") and https["certificateArn"]
    assert https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert http["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ]
    assert graph.plan.outputs["endpoint"].startswith("https://")


# --- compute ------------------------------------------------------------------------------


def test_execution_role_has_the_managed_execution_policy(graph):
    """The task execution role uses AmazonECSTaskExecutionRolePolicy, trusted by ecs-tasks.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html"""
    role = graph.one(ROLE, "web-execution-role")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    (attachment,) = graph.all(ATTACHMENT)
    assert attachment["inputs"] == {
        "role": "web-execution-role",
        "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    }
    assert graph.one(TASK)["inputs"]["executionRoleArn"].endswith(":role/web-execution-role")


def test_task_role_has_no_policy(graph):
    """The task role carries the app's own permissions: none unless the user adds them
    (least privilege). https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html"""
    task_role = graph.one(ROLE, "web-task-role")
    for grant in graph.all(ATTACHMENT) + graph.all(ROLE_POLICY):
        assert grant["inputs"]["role"] not in (task_role["id"], task_role["name"])
    assert graph.one(TASK)["inputs"]["taskRoleArn"].endswith(":role/web-task-role")


def test_secrets_come_from_secrets_manager_readable_only_by_the_execution_role(graph):
    """Secrets go through Secrets Manager (valueFrom) and the execution role may read only
    those secrets. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"""
    secret = graph.one(SECRET)
    assert graph.one(SECRET_VERSION)["inputs"]["secretString"] == "[secret]"
    (entry,) = graph.container()["secrets"]
    assert entry["name"] == "API_TOKEN"
    assert entry["valueFrom"].startswith(f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret['name']}-")
    assert entry["valueFrom"].startswith(secret["outputs"]["arn"] + ":::")  # pinned to the version
    assert graph.depends(graph.one(TASK), secret)
    policy = graph.one(ROLE_POLICY)
    assert policy["inputs"]["role"] == graph.one(ROLE, "web-execution-role")["id"]
    (statement,) = json.loads(policy["inputs"]["policy"])["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert statement["Resource"] == [secret["outputs"]["arn"]]
    assert SECRET_VALUE not in graph.text()


def test_logs_go_to_a_log_group_with_retention(graph):
    """awslogs log driver into a CloudWatch log group that has a retention period.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html and
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html"""
    group = graph.one(LOG_GROUP)
    assert group["inputs"]["retentionInDays"] == 30
    logging = graph.container()["logConfiguration"]
    assert logging["logDriver"] == "awslogs"
    assert logging["options"]["awslogs-group"] == group["outputs"]["name"]
    assert logging["options"]["awslogs-region"] == "us-east-1"


def test_task_definition_is_fargate_awsvpc_with_a_valid_size(graph):
    """FARGATE requires awsvpc and a valid cpu/memory pair, given as strings.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size"""
    task = graph.one(TASK)["inputs"]
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    assert (task["cpu"], task["memory"]) == ("256", "512")


def test_invalid_fargate_size_is_rejected_with_the_key():
    """Only the documented cpu/memory combinations exist on Fargate.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size"""
    from deployer.plugins.aws_ecs.limits import check_task_size  # what compute re-checks

    check_task_size(4096, 30720)
    with pytest.raises(ConfigError, match="app.memory"):
        check_task_size(256, 4096)
    with pytest.raises(ConfigError, match="app.cpu"):
        check_task_size(300, 512)


def test_container_expresses_the_app_spec(graph):
    """Port mapping, environment, command and a container health check on the app path.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definitions"""
    container = graph.container()
    assert container["portMappings"] == [{"containerPort": 8000, "protocol": "tcp"}]
    assert container["environment"] == [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8000"}]
    assert container["command"] == ["gunicorn", "app:create_app()"]
    from deployer.healthcheck import probe_command  # the same check as every target's

    check = container["healthCheck"]
    assert check["command"] == ["CMD-SHELL", probe_command(8000, "/healthz", check["timeout"])]


def test_service_runs_on_fargate_with_a_public_ip(graph):
    """Without NAT, tasks in public subnets need a public IP to pull from ECR.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html"""
    service = graph.one(SERVICE)["inputs"]
    assert service["launchType"] == "FARGATE"
    assert service["networkConfiguration"]["assignPublicIp"] is True
    assert service["networkConfiguration"]["securityGroups"] == [graph.one(SG, "web-task-sg")["id"]]
    assert service["desiredCount"] == 2


def test_service_has_circuit_breaker_with_rollback(graph):
    """The deployment circuit breaker fails a deployment that cannot reach steady state and
    rolls back. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html"""
    assert graph.one(SERVICE)["inputs"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_service_waits_for_steady_state(graph):
    """pulumi-aws does not wait for the service unless waitForSteadyState is set.
    https://www.pulumi.com/registry/packages/aws/api-docs/ecs/service/#wait_for_steady_state_python"""
    assert graph.one(SERVICE)["inputs"]["waitForSteadyState"] is True


def test_service_is_attached_to_the_target_group_after_the_listener(plans):
    """A target group must be associated with a load balancer (through a listener) before a
    service can use it; the service depends on every listener.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LoadBalancer.html and
    https://www.pulumi.com/registry/packages/aws/api-docs/ecs/service/"""
    for graph in plans.values():
        service = graph.one(SERVICE)
        (attachment,) = service["inputs"]["loadBalancers"]
        assert attachment == {
            "targetGroupArn": graph.plan.outputs["target_group_arn"],
            "containerName": "web",
            "containerPort": 8000,
        }
        assert all(graph.depends(service, listener) for listener in graph.all(LISTENER))


def test_service_has_a_health_check_grace_period(graph):
    """A grace period stops ALB health checks from killing tasks that are still starting.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_definition_parameters.html#sd-healthcheckgraceperiodseconds"""
    assert graph.one(SERVICE)["inputs"]["healthCheckGracePeriodSeconds"] == 60


def test_autoscaling_on_cpu_only_when_a_range_is_asked(plans):
    """Target tracking on ECSServiceAverageCPUUtilization between replicas.min and max.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html"""
    assert not plans["default"].all(SCALING_TARGET)
    graph = plans["tls"]
    target = graph.one(SCALING_TARGET)["inputs"]
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 4)
    assert target["resourceId"] == "service/web-cluster/web-service"
    assert target["scalableDimension"] == "ecs:service:DesiredCount"
    policy = graph.one(SCALING_POLICY)["inputs"]
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert policy["policyType"] == "TargetTrackingScaling"
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert tracking["targetValue"] == 60


def test_public_subnets_get_ipv6_blocks_of_the_vpc_and_tasks_stay_ipv4(plans):
    """The VPC asks for an Amazon-provided IPv6 /56; each public subnet (the load
    balancer's) gets its own /64 of it, assigning no IPv6 address on launch; private
    subnets (the tasks', with NAT) have no IPv6 block: nothing but the load balancer
    uses IPv6. https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-ip-address-type.html"""
    graph = plans["nat"]
    vpc = graph.one("aws:ec2/vpc:Vpc")
    assert vpc["inputs"]["assignGeneratedIpv6CidrBlock"] is True
    block = ipaddress.IPv6Network(vpc["outputs"]["ipv6CidrBlock"])
    assert block.prefixlen == 56
    public = [s for s in graph.all(SUBNET) if "-public-" in s["name"]]
    private = [s for s in graph.all(SUBNET) if "-private-" in s["name"]]
    cut = [ipaddress.IPv6Network(s["inputs"]["ipv6CidrBlock"]) for s in public]
    assert len(set(cut)) == len(public) == 3 and all(c.prefixlen == 64 and c.subnet_of(block) for c in cut)
    assert not any(s["inputs"].get("assignIpv6AddressOnCreation") for s in graph.all(SUBNET))
    assert private and all("ipv6CidrBlock" not in s["inputs"] for s in private)
    balancer = graph.one("aws:lb/loadBalancer:LoadBalancer")
    assert balancer["inputs"]["ipAddressType"] == "dualstack"
    assert sorted(balancer["inputs"]["subnets"]) == sorted(s["id"] for s in public)
