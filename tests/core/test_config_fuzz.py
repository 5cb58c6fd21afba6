"""Property: any TOML document gives a valid Project or the project's ConfigError, never
any other exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployer.config import load_project, parse_project
from deployer.errors import ConfigError
from deployer.models import Project

scalars = st.one_of(
    st.none().map(lambda _: ""),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["demo", "/healthz", ".", "app", "Dockerfile", "256", "x" * 30]),
)
KEYS = [
    "app",
    "name",
    "port",
    "build",
    "context",
    "dockerfile",
    "args",
    "env",
    "secrets",
    "health",
    "path",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "cpu",
    "memory",
    "replicas",
    "min",
    "max",
    "command",
    "targets",
    "local",
    "aws-ecs",
]
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=20,
)
# Documents shaped like real configs, so the fuzzer reaches the deep validators too.
near_valid = st.fixed_dictionaries(
    {
        "app": st.fixed_dictionaries(
            {"name": st.sampled_from(["demo", "a", "Bad", "ok-name"]), "build": st.just({"context": "app"})},
            optional=dict.fromkeys(
                ["port", "cpu", "memory", "replicas", "env", "secrets", "health", "command", "args"], values
            ),
        )
    },
    optional={"targets": values},
)
documents = st.one_of(st.dictionaries(keys, values, max_size=6), near_valid)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents)
def test_any_document_gives_a_project_or_a_config_error(tmp_path: Path, document):
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    try:
        project = parse_project(document, root=tmp_path)
    except ConfigError as exc:
        assert exc.exit_code == 2 and exc.key
        return
    assert isinstance(project, Project)
    assert 1 <= project.app.port <= 65535
    assert project.app.cpu >= 1 and project.app.memory >= 1  # which sizes run: each target's check_app


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_file_text_gives_a_project_or_a_config_error(tmp_path: Path, text):
    config = tmp_path / "deployer.toml"
    config.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_project(config)
    except ConfigError as exc:
        assert exc.file == str(config)
