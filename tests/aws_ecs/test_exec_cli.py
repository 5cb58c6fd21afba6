"""`deployer exec --target aws-ecs` through the real CLI, where no Pulumi CLI and no AWS
credentials exist: what the user must change for ECS Exec is said first, exit 2, no
traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys

from deployer.testing import write_project
from deployer.testing.aws_ecs.session_manager import fake_session_manager_plugin

from . import test_driver

bare_env = test_driver.bare_env  # that module's fixture


def deployer_exec(project, **settings):
    """``deployer exec --target aws-ecs -- ls`` in ``project`` (the sample app, ``settings``
    under [targets.aws-ecs])."""
    config = write_project(project, app={"name": "web"}, targets={"aws-ecs": {"region": "eu-west-1", **settings}})
    return subprocess.run(
        [sys.executable, "-m", "deployer", "exec", "--target", "aws-ecs", "--config", str(config), "--", "ls"],
        capture_output=True,
        text=True,
        cwd=project,
        env=dict(os.environ),
    )


def test_without_the_exec_key_it_says_to_set_it_and_run_up(bare_env):
    _, project = bare_env
    run = deployer_exec(project)
    assert run.returncode == 2, run.stderr
    assert "targets.aws-ecs.exec" in run.stderr and "set exec = true under [targets.aws-ecs]" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert sorted(p.name for p in project.iterdir()) == ["app", "deployer.toml"]  # nothing written


def test_without_the_plugin_it_says_how_to_install_it(bare_env):
    _, project = bare_env
    run = deployer_exec(project, exec=True)
    assert run.returncode == 2, run.stderr
    assert "Session Manager plugin (session-manager-plugin)" in run.stderr
    assert "session-manager-working-with-install-plugin.html" in run.stderr


def test_with_both_the_pulumi_cli_is_checked_next(bare_env):
    bin_dir, project = bare_env
    fake_session_manager_plugin(bin_dir)
    run = deployer_exec(project, exec=True)
    assert run.returncode == 2, run.stderr
    assert "Pulumi CLI" in run.stdout + run.stderr
