"""The test kit for deployer targets and plugins.

- :class:`TargetContract`: subclass it to run the contract suite against a target.
- :class:`HookRecorder`: a plugin that records phase hook calls.
- :func:`write_project`: an isolated project folder with the kit's sample app.
- pytest fixtures (``deployer_plugin_manager``, ``deployer_project``, ``hook_recorder``)
  come from :mod:`deployer.testing.plugin`, loaded automatically by pytest.
"""

from deployer.testing.contract import TargetContract
from deployer.testing.project import write_project
from deployer.testing.recorder import HookCall, HookRecorder

__all__ = ["HookCall", "HookRecorder", "TargetContract", "write_project"]
