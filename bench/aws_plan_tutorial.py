"""The tutorial's ECS program, rewritten with pulumi-aws v7 / pulumi-docker v4+ names.

A baseline for ``bench/aws_plan_bench.py`` only: the same 19 resources as the tutorial
(plus the stack), with its defects kept on purpose (one subnet, tasks open to the
internet, ECS full access on the task role, a tag that never changes, no logs). Never
deploy it.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}
        ],
    }
)


def program() -> dict:
    """Declare the tutorial's resources; return its one export."""
    cluster = aws.ecs.Cluster("app-cluster")
    vpc = aws.ec2.Vpc("app-vpc", cidr_block="172.31.0.0/16", enable_dns_hostnames=True)
    subnet = aws.ec2.Subnet("app-vpc-subnet", vpc_id=vpc.id, cidr_block="172.31.32.0/20")
    gateway = aws.ec2.InternetGateway("app-gateway", vpc_id=vpc.id)
    table = aws.ec2.RouteTable(
        "app-routetable", vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}]
    )
    aws.ec2.MainRouteTableAssociation("app-routetable-association", vpc_id=vpc.id, route_table_id=table.id)
    group = aws.ec2.SecurityGroup(
        "security-group",
        vpc_id=vpc.id,
        description="HTTP from anywhere",
        ingress=[{"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"]}],
        egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
    )
    exec_role = aws.iam.Role("app-exec-role", assume_role_policy=_TRUST)
    aws.iam.RolePolicyAttachment(
        "app-exec-policy",
        role=exec_role.name,
        policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    )
    task_role = aws.iam.Role("app-task-role", assume_role_policy=_TRUST)
    aws.iam.RolePolicyAttachment(
        "app-access-policy", role=task_role.name, policy_arn="arn:aws:iam::aws:policy/AmazonECS_FullAccess"
    )
    repo = aws.ecr.Repository("app-ecr-repo", image_tag_mutability="MUTABLE")
    aws.ecr.LifecyclePolicy(
        "app-lifecycle-policy",
        repository=repo.name,
        policy=json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 10,
                        "description": "Remove untagged images",
                        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
                        "action": {"type": "expire"},
                    }
                ]
            }
        ),
    )
    target_group = aws.lb.TargetGroup("flask-targetgroup", port=80, protocol="HTTP", target_type="ip", vpc_id=vpc.id)
    balancer = aws.lb.LoadBalancer("flask-balancer", security_groups=[group.id], subnets=[subnet.id])
    listener = aws.lb.Listener(
        "flask-listener",
        load_balancer_arn=balancer.arn,
        port=80,
        default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
    )
    token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id)
    image = docker.Image(
        "flask-dockerimage",
        build=docker.DockerBuildArgs(context="./website", platform="linux/amd64"),
        image_name=pulumi.Output.concat(repo.repository_url, ":latest"),
        registry=docker.RegistryArgs(
            server=repo.repository_url, username=token.user_name, password=pulumi.Output.secret(token.password)
        ),
    )
    definition = aws.ecs.TaskDefinition(
        "flask-task-definition",
        family="fargate-task-definition",
        cpu="256",
        memory="512",
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        execution_role_arn=exec_role.arn,
        task_role_arn=task_role.arn,
        container_definitions=image.image_name.apply(
            lambda name: json.dumps(
                [
                    {
                        "name": "flask-container",
                        "image": name,
                        "memory": 512,
                        "essential": True,
                        "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
                    }
                ]
            )
        ),
    )
    aws.ecs.Service(
        "flask-service",
        cluster=cluster.arn,
        desired_count=1,
        launch_type="FARGATE",
        task_definition=definition.arn,
        network_configuration={"assign_public_ip": True, "subnets": [subnet.id], "security_groups": [group.id]},
        load_balancers=[
            {"target_group_arn": target_group.arn, "container_name": "flask-container", "container_port": 80}
        ],
        opts=pulumi.ResourceOptions(depends_on=[listener]),
    )
    return {"app-url": balancer.dns_name}
