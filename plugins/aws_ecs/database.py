"""The services phase of aws-ecs: RDS for PostgreSQL, private, encrypted, backed up.

Creates, when the app has a ``[database]``:

- one private subnet per pinned AZ (the database's blocks of :mod:`.address_plan`, clear
  of the public and NAT subnets), each associated with a route table of its own
  that has no route out of the VPC;
- a DB subnet group over them (RDS requires 2+ AZs);
- a security group for the database admitting 5432 only from the tasks' security group
  (``network.security_groups["compute"]``), and an egress rule on the tasks' group to it;
- the ``aws.rds.Instance``: ``publicly_accessible=False``, ``storage_encrypted=True``,
  ``manage_master_user_password=True`` (RDS keeps the master password in a Secrets
  Manager secret of its own; deployer never sees it), and from
  ``[targets.aws-ecs.database]`` (:mod:`.database_settings`) its instance class, Multi-AZ,
  backup retention (7 days by default), deletion protection (on by default) and whether
  deleting it takes a final snapshot (by default it does).

The :class:`~deployer.services.ServicesResult` carries plain env (``PGHOST``,
``PGPORT``, ``PGDATABASE``, ``PGUSER``, and ``DATABASE_URL`` *without* the password:
libpq and psycopg take it from ``PGPASSWORD``) and, in ``extra["secrets"]``,
``PGPASSWORD`` as an ECS secret reference to the ``password`` key of RDS's secret.
Compute grants the execution role ``secretsmanager:GetSecretValue`` on that secret only.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from pulumi_aws.vpc.security_group_egress_rule import SecurityGroupEgressRule
from pulumi_aws.vpc.security_group_ingress_rule import SecurityGroupIngressRule

from deployer.errors import ConfigError
from deployer.models import NetworkResult, PhaseContext
from deployer.plugins.aws_ecs import address_plan
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.containers import DATABASE_SECRET
from deployer.plugins.aws_ecs.naming import db_name, rds_identifier
from deployer.plugins.aws_ecs.network import pinned_zones, subnets
from deployer.services import ServicesResult

PORT = 5432
USER = "app"


def create(ctx: PhaseContext, network: NetworkResult) -> ServicesResult | None:
    spec = ctx.app.database
    if spec is None:
        return None
    app = ctx.app.name
    subnet_ids, blocks = _database_subnets(ctx, network)
    group = aws.rds.SubnetGroup(
        f"{app}-db-subnets",
        subnet_ids=subnet_ids,
        description=f"{app}: private subnets in {len(subnet_ids)} AZs",
    )
    task_sg = network.security_groups["compute"]
    db_sg = aws.ec2.SecurityGroup(
        f"{app}-db-sg", vpc_id=network.id, description=f"{app} database: {PORT} from the tasks only"
    )
    SecurityGroupIngressRule(
        f"{app}-db-in-tasks",
        security_group_id=db_sg.id,
        ip_protocol="tcp",
        from_port=PORT,
        to_port=PORT,
        referenced_security_group_id=task_sg,
        description="Postgres from the tasks",
    )
    SecurityGroupEgressRule(
        f"{app}-task-out-db",
        security_group_id=task_sg,
        ip_protocol="tcp",
        from_port=PORT,
        to_port=PORT,
        referenced_security_group_id=db_sg.id,
        description="to the database",
    )
    name = db_name(app)
    cfg = aws_settings.of(ctx).database
    instance = aws.rds.Instance(
        rds_identifier(f"{app}-db"),  # Pulumi's autoname adds "-<7 hex>": a valid identifier
        engine="postgres",
        engine_version=spec.version,
        instance_class=cfg.instance_class,
        multi_az=cfg.multi_az,
        allocated_storage=spec.storage_gb,
        storage_type="gp3",
        storage_encrypted=True,
        db_name=name,
        username=USER,
        manage_master_user_password=True,
        db_subnet_group_name=group.name,
        vpc_security_group_ids=[db_sg.id],
        publicly_accessible=False,
        port=PORT,
        backup_retention_period=cfg.backup_retention_days,
        deletion_protection=cfg.deletion_protection,
        skip_final_snapshot=not cfg.final_snapshot,
        final_snapshot_identifier=f"{rds_identifier(f'{app}-{ctx.stack}')}-final" if cfg.final_snapshot else None,
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=True,
        apply_immediately=False,
    )
    secret_arn = instance.master_user_secrets.apply(lambda found: found[0]["secret_arn"] if found else "")
    env = {
        "PGHOST": instance.address,
        "PGPORT": str(PORT),
        "PGDATABASE": name,
        "PGUSER": USER,
        "DATABASE_URL": pulumi.Output.concat("postgresql://", USER, "@", instance.address, f":{PORT}/{name}"),
    }
    return ServicesResult(
        env=env,
        services=("database",),
        extra={
            "secrets": {DATABASE_SECRET: pulumi.Output.concat(secret_arn, ":password::")},
            "secret_arns": (secret_arn,),
            "instance": instance.identifier,
            "security_group": db_sg.id,
            "subnet_blocks": blocks,
        },
    )


def _database_subnets(
    ctx: PhaseContext, network: NetworkResult
) -> tuple[list[pulumi.Input[str]], list[pulumi.Output[str]]]:
    """The DB subnet group's subnets, and their blocks when created here from the
    settings' ``vpc_cidr`` and ``az_count``: the network phase's
    ``extra["database_subnets"]`` when it names them (a VPC that is not deployer's: its
    private subnets, 2+ AZs; no blocks), else isolated subnets carved here from the
    network's ``extra["vpc_cidr"]`` (deployer's own VPC).

    :raises ConfigError: the network gives neither, so there is nowhere to put the
        database; nothing is created.
    """
    given = network.extra.get("database_subnets")
    if given:
        return list(given), []
    vpc_cidr = network.extra.get("vpc_cidr")
    if vpc_cidr is None:
        raise ConfigError(
            "database",
            "needs private subnets in 2+ availability zones, and the network phase in use (a VPC deployer did "
            'not create) names none: its NetworkResult must carry their ids in extra["database_subnets"] '
            "(docs/targets/aws-ecs.md, bring your own VPC)",
        )
    app = ctx.app.name
    cfg = aws_settings.of(ctx)
    zones = tuple(network.extra.get("availability_zones") or pinned_zones(cfg.az_count))
    blocks = address_plan.plan(vpc_cidr, len(zones), nat=cfg.nat, database=True).database
    table = aws.ec2.RouteTable(f"{app}-db-rt", vpc_id=network.id, tags={"Name": f"{app}-db (no route out)"})
    made = subnets(app, "db", network.id, zones, blocks, [table] * len(zones))
    # the blocks AWS gave them, for the next up's check; only when carved as the settings
    # say, which is what address_plan.check_database_stays compares with
    carved_as_set = vpc_cidr == cfg.vpc_cidr and len(zones) == cfg.az_count
    return [subnet.id for subnet in made], [subnet.cidr_block for subnet in made] if carved_as_set else []
