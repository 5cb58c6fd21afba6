"""The code base stays lint-clean (ruff, configured in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], capture_output=True,
                            text=True, cwd=Path(__file__).parents[1], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
