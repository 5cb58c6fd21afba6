"""The aws-ecs target: ECS Fargate behind an ALB, applied by Pulumi (see docs/targets/aws-ecs.md).

Nothing heavy is imported here: :mod:`.plugin` is the manifest, the phase modules import
pulumi_aws only when a phase runs.
"""
