"""The emulated driver refuses to run unless moto's in-process mock is active, so it can
never create anything in a real AWS account. A module of its own: test_emulated.py
keeps one moto active for its whole module."""

from __future__ import annotations

import pytest

from deployer.errors import EnvironmentProblem
from deployer.lifecycle import phase_runner
from deployer.plugin_manager import get_plugin_manager
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver

from .conftest import make_ctx


def test_refuses_to_run_outside_moto(aws_env, tmp_path):
    pm = get_plugin_manager(builtins={"aws-ecs": "deployer.plugins.aws_ecs.plugin"}, entry_points_=[], environ={})
    with pytest.raises(EnvironmentProblem, match="mock_aws"):
        EmulatedDriver().up(make_ctx(mode="up", project_dir=tmp_path), phase_runner(pm))
