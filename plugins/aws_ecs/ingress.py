"""Phase 3, ingress: an Application Load Balancer and the target group tasks join.

Creates: an internet-facing ALB over the network's public subnets (one per AZ) with the
``ingress`` security group, dualstack (IPv4 and IPv6) when the network says its subnets,
routes and security group take IPv6 (``network.extra["dualstack"]``, as the built-in
network does), else IPv4 only; an ``ip`` target group (Fargate tasks use awsvpc, so they
register by IP) health-checking the app's path with a short deregistration delay; an HTTP
listener that forwards, or, with ``certificate_arn``, an HTTPS listener that forwards and
an HTTP listener that redirects 80 -> 443 (301).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from deployer.healthcheck import HEALTHY_STATUSES
from deployer.models import IngressResult, NetworkResult, PhaseContext, RegistryResult
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.limits import ALB_HEALTH_CHECK, clamp
from deployer.plugins.aws_ecs.naming import elb_name

MATCHER = f"{HEALTHY_STATUSES.start}-{HEALTHY_STATUSES.stop - 1}"
"""The statuses every target calls healthy (:data:`deployer.healthcheck.HEALTHY_STATUSES`)
in the ELBv2 matcher syntax: ``200-299``. The ALB does not follow redirects either."""
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""The ELB security policy AWS recommends: TLS 1.3 and 1.2 only."""


def create(ctx: PhaseContext, network: NetworkResult, registry: RegistryResult) -> IngressResult:
    """Create the load balancer; ``attach`` is the target group ARN, ``extra["listeners"]``
    the listener resources compute must wait for."""
    cfg = aws_settings.of(ctx)
    app = ctx.app.name
    dualstack = bool(network.extra.get("dualstack"))
    balancer = aws.lb.LoadBalancer(
        f"{app}-alb",
        name=elb_name(app, ctx.stack, "alb"),
        load_balancer_type="application",
        ip_address_type="dualstack" if dualstack else "ipv4",
        internal=False,
        subnets=list(network.subnets),
        security_groups=[network.security_groups["ingress"]],
        drop_invalid_header_fields=True,
    )
    group = aws.lb.TargetGroup(
        f"{app}-tg",
        # the port is in the name: changing it replaces the group (create before delete)
        name=elb_name(app, ctx.stack, "tg", salt=f"HTTP:{ctx.app.port}:ip"),
        target_type="ip",
        protocol="HTTP",
        port=ctx.app.port,
        vpc_id=network.id,
        deregistration_delay=cfg.deregistration_delay,
        health_check=health_check(ctx),
    )
    forward = [{"type": "forward", "target_group_arn": group.arn}]
    zone_id = None
    if cfg.domain:
        zone_id = aws.route53.get_zone_output(name=cfg.zone_name, private_zone=False).zone_id
    if cfg.https:
        certificate = cfg.certificate_arn or _certificate(app, cfg.domain, zone_id)
        secure = aws.lb.Listener(
            f"{app}-https",
            load_balancer_arn=balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=certificate,
            default_actions=forward,
        )
        redirect = aws.lb.Listener(
            f"{app}-http",
            load_balancer_arn=balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}
            ],
        )
        listeners: tuple[aws.lb.Listener, ...] = (secure, redirect)
    else:
        listeners = (
            aws.lb.Listener(
                f"{app}-http", load_balancer_arn=balancer.arn, port=80, protocol="HTTP", default_actions=forward
            ),
        )
    scheme = "https" if cfg.https else "http"
    endpoint: pulumi.Input[str] = pulumi.Output.concat(f"{scheme}://", balancer.dns_name)
    if cfg.domain:
        _alias(app, cfg.domain, zone_id, balancer, ipv6=dualstack)
        endpoint = f"https://{cfg.domain}"
    return IngressResult(
        endpoint=endpoint,
        attach=group.arn,
        extra={"listeners": listeners, "load_balancer_arn": balancer.arn, "target_group_arn": group.arn},
    )


def _certificate(app: str, domain: str | None, zone_id) -> pulumi.Output[str]:
    """An ACM certificate for ``domain``, validated through DNS: the CNAME record ACM asks
    for, created in the hosted zone, and a ``CertificateValidation`` that waits until ACM
    issues it (https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html).
    Returns the validated certificate's ARN, so the listener waits for the issue too."""
    certificate = aws.acm.Certificate(
        f"{app}-certificate",
        domain_name=domain,
        validation_method="DNS",
    )
    option = certificate.domain_validation_options[0]  # one domain, no alternative names: one record
    record = aws.route53.Record(
        f"{app}-certificate-validation",
        zone_id=zone_id,
        name=option.resource_record_name,
        type=option.resource_record_type,
        records=[option.resource_record_value],
        ttl=60,
        allow_overwrite=True,  # ACM gives the same record to every certificate of the name
    )
    validation = aws.acm.CertificateValidation(
        f"{app}-certificate-issued", certificate_arn=certificate.arn, validation_record_fqdns=[record.fqdn]
    )
    return validation.certificate_arn


def _alias(app: str, domain: str, zone_id, balancer: aws.lb.LoadBalancer, *, ipv6: bool) -> None:
    """Alias records from ``domain`` to the load balancer: A, and AAAA with ``ipv6`` (a
    dualstack load balancer); an AAAA alias to an IPv4-only load balancer would answer
    nothing (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-elb-load-balancer.html)."""
    target = [{"name": balancer.dns_name, "zone_id": balancer.zone_id, "evaluate_target_health": True}]
    aws.route53.Record(f"{app}-domain", zone_id=zone_id, name=domain, type="A", aliases=target)
    if ipv6:
        aws.route53.Record(f"{app}-domain-ipv6", zone_id=zone_id, name=domain, type="AAAA", aliases=target)


def health_check(ctx: PhaseContext) -> dict:
    """The app's health check in ALB terms, clamped to what ELB accepts
    (:data:`.limits.ALB_HEALTH_CHECK`; the timeout also shorter than the interval)."""
    health = ctx.app.health
    interval = clamp(health.interval, ALB_HEALTH_CHECK["interval"])
    timeout = min(clamp(health.timeout, ALB_HEALTH_CHECK["timeout"]), interval - 1)
    return {
        "enabled": True,
        "protocol": "HTTP",
        "port": "traffic-port",
        "path": health.path,
        "matcher": MATCHER,
        "interval": interval,
        "timeout": timeout,
        "healthy_threshold": 2,
        "unhealthy_threshold": clamp(health.retries, ALB_HEALTH_CHECK["threshold"]),
    }
