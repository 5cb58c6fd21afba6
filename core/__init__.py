"""deployer: deploy a containerized web app to any target through four pluggable phases.

``from deployer import hookimpl`` marks plugin hook implementations. It is loaded on
first use, so commands that load no plugin (``deployer build``) do not import pluggy.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "hookimpl":
        from deployer.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'deployer' has no attribute {name!r}")
