"""`deployer exec`: a command in a running replica, its output and exit code, a chosen
replica, a terminal when standard input is one, piped input sent on, and clear errors
otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

DEPLOYER = str(Path(sys.executable).parent / "deployer")


def _exec(stack, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    where = ["--target", "local", "--stack", stack.stack, "--config", str(stack.config)]
    return subprocess.run(
        [DEPLOYER, "exec", *where, *args], capture_output=True, text=True, timeout=60, check=False, **kwargs
    )


def test_exec_runs_in_the_chosen_replica_and_returns_its_exit_code(stack):
    stack.replicas = 2
    stack.up()
    replicas = sorted(row["Names"][0].lstrip("/") for row in stack.containers("replica"))

    first = _exec(stack, "--", "sh", "-c", "echo on $(hostname); echo oops >&2; exit 3", stdin=subprocess.DEVNULL)
    assert first.returncode == 3, first.stderr
    assert first.stdout.strip() == f"on {replicas[0]}" and "oops" in first.stderr

    second = _exec(stack, "--replica", "2", "--", "hostname", stdin=subprocess.DEVNULL)
    assert (second.returncode, second.stdout.strip()) == (0, replicas[1])

    missing = _exec(stack, "--replica", "3", "--", "true", stdin=subprocess.DEVNULL)
    assert missing.returncode == 2 and "--replica: 3 is not running; 2 replica(s) run" in missing.stderr


def test_exec_gets_a_terminal_when_standard_input_is_one(stack):
    stack.up()
    controller, terminal = pty.openpty()
    try:
        result = _exec(stack, "--", "sh", "-c", "test -t 0 && echo has-a-tty", stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 0, result.stderr
    assert "has-a-tty" in result.stdout
    piped = _exec(stack, "--", "sh", "-c", "test -t 0 && echo has-a-tty || echo no-tty", stdin=subprocess.DEVNULL)
    assert piped.stdout.strip() == "no-tty"


def test_exec_sends_piped_input_and_a_file_to_the_command(stack, tmp_path):
    stack.up()
    piped = _exec(stack, "--", "sh", "-c", "wc -l; exit 4", input="one\ntwo\nthree\n")
    assert (piped.returncode, piped.stdout.strip()) == (4, "3"), piped.stderr
    lines = tmp_path / "lines.txt"
    lines.write_text("a\nb\n")
    with lines.open() as file:
        from_file = _exec(stack, "--", "wc", "-l", stdin=file)
    assert (from_file.returncode, from_file.stdout.strip()) == (0, "2"), from_file.stderr


def test_exec_before_up_says_what_to_run(stack):
    result = _exec(stack, "--", "true", stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert "no replica of app 'ldtest' runs on stack" in result.stderr and "deployer up" in result.stderr
    assert "Traceback" not in result.stderr


def test_exec_whose_reader_leaves_exits_141_not_an_engine_fault(stack):
    """``deployer exec -- cmd | head``: the reader leaving is this side's end (exit 141,
    as documented), not the Docker engine closing the connection."""
    stack.up()
    where = ["--target", "local", "--stack", stack.stack, "--config", str(stack.config)]
    command = [DEPLOYER, "exec", *where, "--", "sh", "-c", "for i in $(seq 100000); do echo line $i; done"]
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        assert run.stdout is not None and run.stdout.readline() == b"line 1\n"
        run.stdout.close()  # the reader leaves, as head does
        _, err = run.communicate(timeout=60)
    assert run.returncode == 141, err
    assert b"closed the connection" not in err and b"Traceback" not in err, err
