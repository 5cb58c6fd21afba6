"""A stand-in for AWS's Session Manager plugin, for tests of ``deployer exec`` on aws-ecs.

:func:`fake_session_manager_plugin` writes an executable ``session-manager-plugin`` into a
folder (put the folder first on PATH): it records the arguments it was started with, as
JSON, in ``session-manager-plugin.json`` beside itself, and exits with ``exit_code``. The
real plugin opens the session's WebSocket (``streamUrl``); the emulator has none to open.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from deployer.plugins.aws_ecs.exec_session import PLUGIN

RECORD = f"{PLUGIN}.json"


def fake_session_manager_plugin(folder: Path, exit_code: int = 0) -> Path:
    """Write the fake plugin into ``folder``; return its path."""
    path = folder / PLUGIN
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib, sys\n"
        f"pathlib.Path(__file__).with_name({RECORD!r}).write_text(json.dumps(sys.argv[1:]))\n"
        f"sys.exit({int(exit_code)})\n"
    )
    path.chmod(0o755)
    return path


def recorded_arguments(folder: Path) -> list[Any]:
    """The arguments the fake plugin in ``folder`` was last started with."""
    return list(json.loads((folder / RECORD).read_text()))
