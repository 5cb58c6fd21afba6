"""``[targets.bluegreen]``: the target's settings, and what it refuses to run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen
from deployer.config_section import SECONDS, Section, target_settings

NAME = "bluegreen"


@frozen
class Settings:
    host_port: int = 8190
    bind: str = "127.0.0.1"
    health_interval: int = 2
    health_timeout: int = 120
    drain_seconds: int = 2
    proxy_image: str = "python:3.12-slim"


def parse_settings(raw: Mapping[str, Any] | None, path: str = f"targets.{NAME}") -> Settings:
    s = Section(raw if raw is not None else {}, path)
    d = Settings()
    settings = Settings(
        host_port=s.integer("host_port", d.host_port, minimum=1, maximum=65535),
        bind=s.text("bind", d.bind, pattern=r"[0-9.]+|[0-9a-fA-F:]+", hint="an IP address"),
        health_interval=s.integer("health_interval", d.health_interval, minimum=1, maximum=300, unit=SECONDS),
        health_timeout=s.integer("health_timeout", d.health_timeout, minimum=5, maximum=3600, unit=SECONDS),
        drain_seconds=s.integer("drain_seconds", d.drain_seconds, minimum=0, maximum=300, unit=SECONDS),
        proxy_image=s.text("proxy_image", d.proxy_image),
    )
    s.done()
    return settings


def of(ctx) -> Settings:
    return target_settings(ctx, Settings, parse_settings)
