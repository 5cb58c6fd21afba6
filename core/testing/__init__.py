"""The test kit for deployer targets and plugins.

- :class:`TargetContract`: subclass it to run the contract suite against a target
  (implement its REQUIRED hooks ``leftovers`` and ``remove_one_replica``).
- :class:`HookRecorder`: a plugin that records phase hook calls.
- :func:`write_project`: an isolated project folder with the kit's sample app.
- :func:`free_port`: a loopback port for a target's ``host_port``, away from the ports
  Docker picks itself.
- pytest fixtures (``deployer_plugin_manager``, ``deployer_project``, ``hook_recorder``)
  come from :mod:`deployer.testing.plugin`, loaded automatically by pytest.
- :mod:`deployer.testing.local`: the local target's contract on this machine's Docker
  engine, for plugins that replace or wrap one of its phases.
- :mod:`deployer.testing.aws_ecs`: the aws-ecs target's contract on an emulated AWS.
- :class:`deployer.testing.engine_proxy.EngineProxy`: a Docker engine that stalls or
  drops connections on demand, for fault tests.

Its dependencies come with the testing extra: ``pip install "deployer[testing]"``
(``deployer[aws,testing]`` for :mod:`deployer.testing.aws_ecs`).
"""

from importlib.util import find_spec

if find_spec("pytest") is None:
    raise ImportError('deployer.testing needs the testing extra (missing: pytest): pip install "deployer[testing]"')

from deployer.testing.contract import TargetContract
from deployer.testing.ports import free_port
from deployer.testing.project import write_project
from deployer.testing.recorder import HookCall, HookRecorder

__all__ = ["HookCall", "HookRecorder", "TargetContract", "free_port", "write_project"]
