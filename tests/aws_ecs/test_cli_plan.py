"""`deployer plan --target aws-ecs --offline` through the real CLI: a pulumi-preview-like
tree, and with --json one document whose references can be followed by mock id."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from deployer.cli import app
from deployer.testing import write_project


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("CLI_PLAN_SECRET", "do-not-print-me")
    return write_project(tmp_path, app={"name": "cliplan", "secrets": ["CLI_PLAN_SECRET"], "replicas": 2},
                         targets={"aws-ecs": {"region": "eu-west-1"}})


def run(*args):
    return CliRunner().invoke(app, ["plan", "--target", "aws-ecs", "--offline", *args])


def test_text_plan_is_a_resource_tree(config):
    result = run("--config", str(config))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Plan for aws-ecs/dev: ") and "to create" in lines[0]
    assert lines[1].split() == ["Type", "Name", "Plan"]
    rows = [line for line in lines if "─ " in line]
    assert rows[-1].lstrip().startswith("+  └─ ")
    assert any("aws:ecs/service:Service" in row and "cliplan-service" in row for row in rows)
    assert "do-not-print-me" not in result.stdout + result.stderr


def _strings(value):
    """Every string inside an input, JSON documents (policies, container definitions) included."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, (dict, list)):
            yield from _strings(decoded)
        else:
            yield value


def test_json_plan_lists_every_resource_with_followable_references(config):
    result = run("--config", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"resources", "outputs", "changes", "spec"} <= set(document)
    resources = document["resources"]
    for resource in resources:
        assert set(resource) >= {"type", "name", "urn", "id", "inputs", "depends_on", "outputs"}
    by_urn = {r["urn"]: r for r in resources}
    assert all(dep in by_urn for r in resources for dep in r["depends_on"])

    # a value that is another resource's mock id or computed attribute (ARN, DNS name,
    # URL) names that resource, and the dependency is recorded
    owner = {}
    for r in resources:
        own = set(_strings(r["inputs"])) | {r["name"]}  # echoed inputs and bare names are not references
        for value in [r["id"], *(v for v in r["outputs"].values() if isinstance(v, str))]:
            if value not in own:
                owner[value] = r["urn"]
    followed = 0
    for r in resources:
        for value in _strings(r["inputs"]):
            if value in owner and owner[value] != r["urn"]:
                assert owner[value] in r["depends_on"], (r["name"], value)
                followed += 1
    assert followed >= 20

    by_type = {r["type"]: r for r in resources}
    cluster, service = by_type["aws:ecs/cluster:Cluster"], by_type["aws:ecs/service:Service"]
    assert owner[service["inputs"]["cluster"]] == cluster["urn"]
    assert "do-not-print-me" not in result.stdout
    assert "[secret]" in result.stdout
