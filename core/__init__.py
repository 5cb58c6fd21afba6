"""deployer: deploy a containerized web app to any target through four pluggable phases.

``from deployer import hookimpl`` marks plugin hook implementations.
"""

from deployer.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
