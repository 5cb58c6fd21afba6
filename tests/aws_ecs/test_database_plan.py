"""aws-ecs offline plan of an app with a database and a worker: RDS for PostgreSQL in
private subnets over 2+ AZs, reachable only from the tasks, encrypted, backed up 7 days,
deletion-protected, its password managed by RDS in Secrets Manager and readable by the
execution role only; each worker an ECS service without a load balancer."""

from __future__ import annotations

import json

import pytest

from deployer.services import DatabaseSpec, WorkerSpec
from tests.aws_ecs.conftest import SECRET_VALUE, Graph, make_ctx, offline_plan

RDS = "aws:rds/instance:Instance"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"


def app_container(graph: Graph) -> dict:
    (container,) = json.loads(graph.one(TASK, "web-task")["inputs"]["containerDefinitions"])
    return container


@pytest.fixture(scope="module")
def db_graph() -> Graph:
    ctx = make_ctx(
        {"az_count": 3},
        database=DatabaseSpec(version="16", storage_gb=40),
        workers=(WorkerSpec("mailer", ("python", "-m", "myapp.worker"), replicas=2, cpu=512, memory=1024),),
    )
    return Graph(offline_plan(ctx))


def test_rds_is_private_encrypted_backed_up_and_protected(db_graph):
    db = db_graph.one(RDS)["inputs"]
    assert (db["engine"], db["engineVersion"], db["allocatedStorage"]) == ("postgres", "16", 40)
    assert db["storageEncrypted"] is True
    assert db["backupRetentionPeriod"] == 7
    assert db["deletionProtection"] is True
    assert db.get("publiclyAccessible", False) is False
    assert db["manageMasterUserPassword"] is True
    assert "password" not in db
    assert db["skipFinalSnapshot"] is False


def test_db_subnet_group_spans_private_subnets_in_distinct_azs(db_graph):
    group = db_graph.one("aws:rds/subnetGroup:SubnetGroup")
    assert db_graph.one(RDS)["inputs"]["dbSubnetGroupName"] == group["outputs"]["name"]
    subnets = [r for r in db_graph.all("aws:ec2/subnet:Subnet") if r["id"] in group["inputs"]["subnetIds"]]
    assert len(subnets) == 3 and len({s["inputs"]["availabilityZone"] for s in subnets}) == 3
    assert all(s["inputs"]["mapPublicIpOnLaunch"] is False for s in subnets)
    # their route table has no route at all (nothing out of the VPC), and no other subnet shares their blocks
    table = db_graph.one("aws:ec2/routeTable:RouteTable", "web-db-rt")
    assert not [r for r in db_graph.all("aws:ec2/route:Route") if r["inputs"]["routeTableId"] == table["id"]]
    for s in subnets:
        (assoc,) = [
            a
            for a in db_graph.all("aws:ec2/routeTableAssociation:RouteTableAssociation")
            if a["inputs"]["subnetId"] == s["id"]
        ]
        assert assoc["inputs"]["routeTableId"] == table["id"]
    blocks = [s["inputs"]["cidrBlock"] for s in db_graph.all("aws:ec2/subnet:Subnet")]
    assert len(blocks) == len(set(blocks))


def test_only_the_tasks_security_group_reaches_5432(db_graph):
    db = db_graph.one(RDS)["inputs"]
    (db_sg,) = db["vpcSecurityGroupIds"]
    task_sg = db_graph.one("aws:ec2/securityGroup:SecurityGroup", "web-task-sg")["id"]
    rules = [r["inputs"] for r in db_graph.all("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    into_db = [r for r in rules if r["securityGroupId"] == db_sg]
    assert into_db == [
        {
            "securityGroupId": db_sg,
            "ipProtocol": "tcp",
            "fromPort": 5432,
            "toPort": 5432,
            "referencedSecurityGroupId": task_sg,
            "description": "Postgres from the tasks",
        }
    ]
    egress = [r["inputs"] for r in db_graph.all("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")]
    assert [
        r["referencedSecurityGroupId"] for r in egress if r["securityGroupId"] == task_sg and r["fromPort"] == 5432
    ] == [db_sg]


def test_the_password_is_an_ecs_secret_readable_by_the_execution_role_only(db_graph):
    secret_arn = db_graph.one(RDS)["outputs"]["masterUserSecrets"][0]["secretArn"]
    container = app_container(db_graph)
    assert {"name": "PGPASSWORD", "valueFrom": f"{secret_arn}:password::"} in container["secrets"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    address = db_graph.one(RDS)["outputs"]["address"]
    assert env["PGHOST"] == address and env["PGPORT"] == "5432" and env["PGUSER"] == "app"
    assert env["DATABASE_URL"] == f"postgresql://app@{address}:5432/web"  # no password: libpq reads PGPASSWORD
    policy = json.loads(db_graph.one("aws:iam/rolePolicy:RolePolicy", "web-read-secrets")["inputs"]["policy"])
    (statement,) = policy["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue" and secret_arn in statement["Resource"]
    execution = db_graph.one("aws:iam/role:Role", "web-execution-role")
    task_role = db_graph.one("aws:iam/role:Role", "web-task-role")
    holders = [r for r in db_graph.resources if secret_arn in json.dumps(r["inputs"])]
    assert task_role not in holders
    granted = [r for r in holders if r["type"].startswith("aws:iam/")]
    assert [r["inputs"]["role"] for r in granted] == [execution["id"]]
    assert SECRET_VALUE not in db_graph.text()


def test_each_worker_is_a_service_without_a_load_balancer(db_graph):
    worker = db_graph.one(SERVICE, "web-worker-mailer")["inputs"]
    app = db_graph.one(SERVICE, "web-service")["inputs"]
    assert "loadBalancers" not in worker and app["loadBalancers"]
    assert worker["desiredCount"] == 2 and worker["launchType"] == "FARGATE"
    assert worker["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert worker["networkConfiguration"] == app["networkConfiguration"]
    task = db_graph.one(TASK, "web-worker-mailer-task")["inputs"]
    assert (task["cpu"], task["memory"]) == ("512", "1024")
    (container,) = json.loads(task["containerDefinitions"])
    assert container["command"] == ["python", "-m", "myapp.worker"]
    assert container["portMappings"] == [] and "healthCheck" not in container
    # hardened like the app's container, and every volume it mounts is the task's
    app_def = app_container(db_graph)
    for key in ("readonlyRootFilesystem", "linuxParameters", "user"):
        assert container.get(key) == app_def.get(key)
    mounted = {m["sourceVolume"] for m in container.get("mountPoints", [])}
    assert mounted <= {v["name"] for v in task.get("volumes", [])}
    assert container["image"] == app_container(db_graph)["image"]
    assert {s["name"] for s in container["secrets"]} == {"API_TOKEN", "PGPASSWORD"}


def test_the_plan_spec_is_still_the_apps(db_graph):
    spec = db_graph.plan.spec
    assert spec.command == ("gunicorn", "app:create_app()") and spec.port == 8000
    assert "PGPASSWORD" not in spec.env_names and "DATABASE_URL" not in spec.env_names


def test_without_a_database_no_rds_is_planned(graph):
    assert not graph.all(RDS) and not graph.all("aws:rds/subnetGroup:SubnetGroup")
