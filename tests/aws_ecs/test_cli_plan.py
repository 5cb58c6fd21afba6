"""`deployer plan --target aws-ecs --offline` through the real CLI: a pulumi-preview-like
tree, and with --json one document whose references can be followed by mock id."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer.cli import app
from deployer.testing import write_project


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("CLI_PLAN_SECRET", "do-not-print-me")
    return write_project(
        tmp_path,
        app={"name": "cliplan", "secrets": ["CLI_PLAN_SECRET"], "replicas": 2},
        targets={"aws-ecs": {"region": "eu-west-1"}},
    )


def run(*args):
    return CliRunner().invoke(app, ["plan", "--target", "aws-ecs", "--offline", *args])


def test_text_plan_is_a_resource_tree(config):
    result = run("--config", str(config))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Plan for aws-ecs/dev: ") and "to create" in lines[0]
    assert lines[1].split() == ["Type", "Name", "Plan"]
    assert lines[2].split() == ["+", "pulumi:pulumi:Stack", "deployer-cliplan-dev", "create"]
    rows = [line for line in lines if "─ " in line]
    assert len(rows) == len(lines) - 3 - sum("output" in line for line in lines)
    assert all(row.startswith(" +  ├─ ") for row in rows[:-1])
    assert rows[-1].startswith(" +  └─ ")
    assert any("aws:ecs/service:Service" in row and "cliplan-service" in row for row in rows)
    assert lines[0].endswith(f": {len(rows) + 1} to create")  # the stack counts, as in pulumi preview
    assert "do-not-print-me" not in result.stdout + result.stderr


def test_json_plan_is_one_document_listing_every_resource(config):
    result = run("--config", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"resources", "outputs", "changes", "spec", "root"} <= set(document)
    assert document["root"] == {
        "action": "create",
        "kind": "pulumi:pulumi:Stack",
        "name": "deployer-cliplan-dev",
        "detail": "",
        "fields": [],
    }
    assert len(document["changes"]) == len(document["resources"])  # the root is not repeated
    resources = document["resources"]
    for resource in resources:
        assert set(resource) >= {"type", "name", "urn", "id", "inputs", "depends_on", "outputs"}
    by_urn = {r["urn"]: r for r in resources}
    assert all(dep in by_urn for r in resources for dep in r["depends_on"])

    by_type = {r["type"]: r for r in resources}
    cluster, service = by_type["aws:ecs/cluster:Cluster"], by_type["aws:ecs/service:Service"]
    assert service["inputs"]["cluster"] == cluster["outputs"]["arn"]  # followable (all: test_offline_plan)
    assert cluster["urn"] in service["depends_on"]
    assert "do-not-print-me" not in result.stdout
    assert "[secret]" in result.stdout


DOC = Path(__file__).parents[2] / "docs" / "targets" / "aws-ecs.md"


def test_the_doc_gives_the_json_plans_layout(config):
    """docs/targets/aws-ecs.md, "Offline plan", names the document's keys, a row's (``root``
    and ``changes``) and a resource's, in that order, as they are."""
    text = DOC.read_text().split("\n## Offline plan\n", 1)[1].split("\n## ", 1)[0]
    stated = [set(re.findall(r'"(\w+)"', keys)) for keys in re.findall(r"`\{(\"[^}]*)\}`", text)]
    document = json.loads(run("--config", str(config), "--json").stdout)
    actual = [set(document), set(document["root"]), set(document["resources"][0])]
    assert stated[:3] == actual
    assert all(set(row) == actual[1] for row in document["changes"])
    assert [(c["kind"], c["name"]) for c in document["changes"]] == [
        (r["type"], r["name"]) for r in document["resources"]
    ]
