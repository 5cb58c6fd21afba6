"""The ``deployer`` command: a thin shell over :mod:`deployer.api`.

Commands parse options and delegate; domain errors become exit codes only here:
0 success, 1 deployment failed (also: ``status`` degraded, a ``verify`` check failed),
2 usage or config error, 130 interrupted, 141 the reader of its output left. Nothing
heavy (pulumi, docker) is imported until a command needs it.

No ``from __future__ import annotations`` here: Typer reads every command's signature
on each start, and string annotations would make it evaluate each one again
(``typing.get_type_hints``, about 5 ms of CPU per run); evaluated once at import they cost
nothing more.
"""

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from deployer import __version__
from deployer.errors import EXIT_INTERRUPTED, INTERRUPTED

DEBUG_ENV = "DEPLOYER_DEBUG"


def _refuse_repeats(command: TyperCommand | TyperGroup, ctx: typer.Context, args: list[str]) -> None:
    """Refuse an option that takes one value given more than once (``--stack a --stack b``
    would otherwise silently mean ``b``)."""
    if ctx.resilient_parsing:
        return
    _, _, order = command.make_parser(ctx).parse_args(args=list(args))  # each use, in order
    seen: set[str] = set()
    for param in order:
        single = isinstance(param, TyperOption) and not (param.multiple or param.count or param.is_flag)
        if single and param.name in seen:
            raise typer.BadParameter("given more than once; give it once", ctx=ctx, param=param)
        seen.add(param.name or "")


# typer.Context is the Context typer's commands receive; their signature names the base
# class of typer's bundled click, which typer does not export.
class _Command(TyperCommand):
    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        _refuse_repeats(self, ctx, args)
        return super().parse_args(ctx, args)


class _Group(TyperGroup):
    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        _refuse_repeats(self, ctx, args)
        return super().parse_args(ctx, args)


class _Typer(typer.Typer):
    """Every command is a :class:`_Command`, so no command can forget the check above."""

    def command(  # type: ignore[override]
        self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[Callable[..., None]], Callable[..., None]]:
        return super().command(*args, cls=cls or _Command, **kwargs)


app = _Typer(
    name="deployer",
    cls=_Group,
    help="Deploy a containerized web app: locally on Docker or to AWS ECS Fargate, from one config.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TargetOpt = Annotated[str, typer.Option("--target", "-t", help="Target to use (see `deployer targets`).")]
StackOpt = Annotated[str, typer.Option("--stack", "-s", help="Stack name: one app can have several.")]


def _config_path(value: str | None) -> Path | None:
    """``--config``: a path, never an empty one (which would name the current folder)."""
    if value is not None and not value.strip():
        raise typer.BadParameter("is empty: name a config file, or leave --config out to search for one")
    return Path(value) if value is not None else None


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", parser=_config_path, help="Config file (default: nearest deployer.toml)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else.")]
CommandArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="COMMAND", help="The command and its arguments, after `--` (`-- ls -l /srv`).", show_default=False
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"deployer {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar=DEBUG_ENV, help=f"Show the full traceback of an unexpected error (or {DEBUG_ENV}=1)."
        ),
    ] = False,
) -> None:
    """Deploy a containerized web app: locally on Docker or to AWS ECS Fargate, from one config."""
    _invocation.update(command=ctx.invoked_subcommand or "", debug=debug)


_invocation: dict[str, Any] = {"command": "", "debug": False}
"""This run's subcommand and --debug, set by the callback before any command runs."""


def _printed_by(name: str) -> Callable[[Any], None]:
    """The :mod:`deployer.render` printer ``name``, imported when a result is printed for
    a human: ``--json`` output loads neither it nor rich (about 4 MiB and 25 ms)."""

    def show(result: Any) -> None:
        from deployer import render

        getattr(render, name)(result)

    return show


def _run(
    as_json: bool,
    action: Callable[[Any], Any],
    render: Callable[[Any], None],
    *,
    failed: Callable[[Any], bool] = lambda result: False,
    **session_args: Any,
) -> None:
    """Open a session, run ``action``, print its result; map errors to exit codes (1 when
    ``failed(result)``, after the result is printed). An exception deployer did not raise
    on purpose is one line naming whose code raised it (:func:`_crash`), never a traceback
    unless asked for."""
    from deployer import api
    from deployer.errors import DeployerError

    session = None
    try:
        session = api.open_session(reporter=ConsoleReporter(), **session_args) if session_args else None
        result = action(session)
        try:
            if as_json:
                typer.echo(json.dumps(_plain(result), indent=2, sort_keys=True, default=str))
            else:
                render(result)
            sys.stdout.flush()  # a reader that left is found here, not at the exit
        except BrokenPipeError:
            raise
        except OSError as exc:  # a full disk, a closed descriptor: the command itself ran
            _output_lost(exc)
    except DeployerError as exc:
        _fail(str(exc), exc.exit_code, as_json)
    except KeyboardInterrupt:
        _fail(INTERRUPTED, EXIT_INTERRUPTED, as_json)
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise
    except BrokenPipeError:
        _reader_gone()
    except Exception as exc:
        _crash(exc, session, as_json)
    if failed(result):
        raise typer.Exit(1)


EXIT_READER_GONE = 141
"""128 + SIGPIPE: the exit code of a Unix tool whose reader left (``deployer logs | head``)."""


def _reader_gone() -> NoReturn:
    """Stop writing to a standard output nobody reads (:func:`_drop_stdout`) and exit
    :data:`EXIT_READER_GONE`, as a tool that SIGPIPE ends does: not 1, which says the
    deployment failed."""
    _drop_stdout()
    raise typer.Exit(EXIT_READER_GONE)


def _output_lost(error: OSError) -> NoReturn:
    """Standard output cannot be written (``> /dev/full``, a closed descriptor): say so on
    standard error, drop what is still buffered, exit 1. The command ran; its output is lost."""
    _drop_stdout()
    typer.secho(
        f"error: the command ran, but its output could not be written: {error.strerror or error}", err=True, fg="red"
    )
    raise typer.Exit(1)


def _drop_stdout() -> None:
    """Point standard output at /dev/null: what is still buffered goes there, so the
    exit's flush raises no second error."""
    with contextlib.suppress(OSError, ValueError):  # ValueError: no file descriptor (a test's capture)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _crash(exc: Exception, session: Any, as_json: bool) -> None:
    """Report an unexpected exception: ``error: <command> failed [in plugin 'x']:
    <Type>: <message>``, exit 1; the traceback too with ``--debug`` or DEPLOYER_DEBUG=1."""
    import traceback

    from deployer.crash import summary

    command = " ".join(filter(None, ("deployer", _invocation["command"])))
    plugins = session.pm.list_name_plugin() if session is not None else ()
    message = summary(command, exc, plugins)
    if _invocation["debug"]:
        typer.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
    else:
        message += " (run with --debug for the traceback)"
    _fail(message, 1, as_json)


def _fail(message: str, code: int, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"error": message, "exit_code": code}))
    typer.secho(f"error: {message}", err=True, fg="red")
    raise typer.Exit(code)


def _plain(value: Any) -> Any:
    """attrs values, mappings and tuples as JSON-ready data."""
    import attrs

    if attrs.has(type(value)):
        return {k: _plain(v) for k, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value  # anything else (paths, datetimes) is str()-ed by json.dumps(default=str)


def _out(text: str) -> None:
    typer.echo(text)


class ConsoleReporter:
    """Prints to stderr: with rich's colours on a terminal, plain lines otherwise (logs,
    CI, pipes). Best effort: a line that cannot be written (``2>/dev/full``, a reader
    that left) is dropped, never the reason a deployment stops halfway."""

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream or sys.stderr

    @functools.cached_property
    def _console(self) -> Any:
        """rich's console on a terminal (rich is loaded only then), else None."""
        if not self._stream.isatty():
            return None
        from rich.console import Console

        return Console(file=self._stream, highlight=False)

    def line(self, text: str) -> None:
        text = text.rstrip()
        if not text:
            return
        with contextlib.suppress(OSError):
            if self._console is None:
                print(f"  {text}", file=self._stream, flush=True)
            else:
                from rich.markup import escape

                self._console.print(f"  [dim]{escape(text)}[/dim]")

    def phase(self, name: str, seconds: float) -> None:
        with contextlib.suppress(OSError):
            if self._console is None:
                print(f"✓ {name:<10} {seconds:6.2f}s", file=self._stream, flush=True)
            else:
                self._console.print(f"[green]✓[/green] {name:<10} [dim]{seconds:6.2f}s[/dim]")


# --- commands ---------------------------------------------------------------------------


@app.command()
def up(
    target: TargetOpt = "local",
    stack: StackOpt = "dev",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", "-w", help="Then rebuild and roll out on every change in the build context, until Ctrl-C."
        ),
    ] = False,
) -> None:
    """Build the image once and deploy it; returns when the app is healthy."""
    from deployer import api

    if watch:
        from deployer.watch import watch as watch_changes

        if as_json:  # before the config is read: the options alone are wrong
            _fail("--watch: cannot be combined with --json (it prints progress until Ctrl-C)", 2, as_json)
        _run(False, watch_changes, lambda _: None, target=target, stack=stack, config=config)
        return
    _run(
        as_json,
        api.up,
        lambda d: _out(f"deployed {d.target}/{d.stack}: {d.endpoint}"),
        target=target,
        stack=stack,
        config=config,
    )


@app.command()
def plan(
    target: TargetOpt = "local",
    stack: StackOpt = "dev",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    offline: Annotated[bool, typer.Option(help="Plan without the cloud: run the program under mocks.")] = False,
) -> None:
    """Show what `up` would create, replace or remove, touching nothing."""
    from deployer import api

    _run(
        as_json,
        lambda s: api.plan(s, offline=offline),
        _printed_by("print_plan"),
        target=target,
        stack=stack,
        config=config,
    )


@app.command()
def down(
    target: TargetOpt = "local",
    stack: StackOpt = "dev",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    images: Annotated[
        bool, typer.Option("--images", help="Also remove this project's images of the app that no container uses.")
    ] = False,
    destroy_data: Annotated[
        bool,
        typer.Option(
            "--destroy-data",
            "--volumes",
            help="Also delete the database and its data (local: its volume; aws-ecs: the RDS instance, "
            "deletion protection off, after a final snapshot). --volumes is the same option.",
        ),
    ] = False,
) -> None:
    """Remove everything `up` created for this app and stack (idempotent); the database's
    data stays unless --destroy-data (alias --volumes)."""
    from deployer import api

    def action(session: Any) -> dict[str, Any]:
        removed_images = api.down(session, images=images, destroy_data=destroy_data)
        result = {"target": session.target, "stack": session.stack, "down": True}
        return {**result, "images": removed_images} if images else result

    _run(
        as_json,
        action,
        lambda r: _out(f"{r['target']}/{r['stack']} is down"),
        target=target,
        stack=stack,
        config=config,
    )


@app.command()
def status(
    target: TargetOpt = "local", stack: StackOpt = "dev", config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Show the deployed stack: URL, healthy/desired replicas, image; exit 1 when degraded
    (fewer healthy replicas than desired), saying what to run."""
    from deployer import api

    def degraded(status: Any) -> bool:
        return bool(status.degraded)

    _run(as_json, api.status, _printed_by("print_status"), failed=degraded, target=target, stack=stack, config=config)


@app.command()
def logs(
    target: TargetOpt = "local",
    stack: StackOpt = "dev",
    config: ConfigOpt = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    since: Annotated[str | None, typer.Option(help="Only lines newer than this (e.g. 10m, 1h).")] = None,
) -> None:
    """Print the replicas' logs, merged, each line prefixed with its replica."""
    from deployer import api

    def action(session: Any) -> None:
        try:
            for entry in api.logs(session, follow=follow, since=since):
                _out(f"{entry.source} | {entry.text}")
        except KeyboardInterrupt:  # how a user stops --follow: not an error
            pass

    _run(False, action, lambda _: None, target=target, stack=stack, config=config)


@app.command("run")
def run_command(
    command: CommandArg = None, target: TargetOpt = "local", stack: StackOpt = "dev", config: ConfigOpt = None
) -> None:
    """Run a command once in a new container of the deployed app (its image, env, secrets,
    network and database): `deployer run -- python -m myapp.report`. Exits with its code."""
    from deployer import api

    code = 0

    def action(session: Any) -> None:
        nonlocal code
        code = api.run_once(session, command or [])

    _run(False, action, lambda _: None, target=target, stack=stack, config=config)
    raise typer.Exit(code)


@app.command("exec")
def exec_command(
    command: CommandArg = None,
    target: TargetOpt = "local",
    stack: StackOpt = "dev",
    config: ConfigOpt = None,
    replica: Annotated[int | None, typer.Option(help="Which replica (1-based, as `status` lists them).")] = None,
) -> None:
    """Run a command in a running replica (default: a shell): `deployer exec -- ls /srv`.

    Interactive, with a terminal, when standard input is one; piped input (a pipe or a file)
    is sent to the command. Exits with the command's code.
    """
    import sys

    from deployer import api

    code = 0

    def action(session: Any) -> None:
        nonlocal code
        code = api.exec_in_replica(session, command or [], replica=replica, tty=sys.stdin.isatty())

    _run(False, action, lambda _: None, target=target, stack=stack, config=config)
    raise typer.Exit(code)


@app.command()
def releases(
    target: TargetOpt = "local", stack: StackOpt = "dev", config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """List the stack's releases (number, image, config hash, time, who, status), read from the target."""
    from deployer import api

    _run(as_json, api.releases, _printed_by("print_releases"), target=target, stack=stack, config=config)


@app.command()
def rollback(
    release: Annotated[
        int | None, typer.Argument(help="Release number (see `deployer releases`); default: the previous one.")
    ] = None,
    target: TargetOpt = "local",
    stack: StackOpt = "dev",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy an earlier release's image again, without building, with the same zero-downtime rollout as `up`."""
    from deployer import api

    _run(
        as_json,
        lambda s: api.rollback(s, release),
        lambda d: _out(f"rolled back {d.target}/{d.stack}: {d.endpoint}"),
        target=target,
        stack=stack,
        config=config,
    )


@app.command()
def build(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Build the app image (skipped when nothing changed) and print its tag."""
    from deployer import api
    from deployer.config import load_project

    def action(_: Any) -> dict[str, Any]:
        image = api.build(load_project(config), ConsoleReporter())
        return {"tag": image.tag, **_plain(image)}

    _run(as_json, action, lambda image: _out(image["tag"]))


@app.command()
def verify(
    ctx: typer.Context,
    target: TargetOpt = "local",
    stack: StackOpt = "dev",
    config: ConfigOpt = None,
    url: Annotated[
        str | None, typer.Option(help="Check this base URL (http or https) instead of a deployed target.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the app's HTTP checks against a deployed target or any URL; exit 1 when one fails.

    The checks are the config's \\[\\[checks]]; without any, the health path must answer 2xx and / below 500.
    """
    from deployer import api
    from deployer.errors import UsageError

    def failed(report: Any) -> bool:
        return not report.passed

    if url is None:
        _run(as_json, api.verify, _printed_by("print_verify"), failed=failed, target=target, stack=stack, config=config)
        return

    def action(_: Any) -> Any:
        ignored = [f"--{name}" for name in ("target", "stack") if _given(ctx, name)]
        if ignored:
            raise UsageError(f"--url: cannot be combined with {' and '.join(ignored)}, which would be ignored")
        return api.verify_url(url, api.find_project(config))

    _run(as_json, action, _printed_by("print_verify"), failed=failed)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` was given (on the command line or by its variable)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


@app.command()
def targets(as_json: JsonOpt = False) -> None:
    """List the targets, their phases, and whether they are available."""
    from deployer.plugin_manager import get_plugin_manager

    def action(_: Any) -> dict[str, Any]:
        pm = get_plugin_manager()
        return {
            "targets": [
                {
                    "name": t.name,
                    "plugin": t.plugin,
                    "description": t.description,
                    "phases": dict(t.phases),
                    "runs": sorted(t.runs),
                    "available": t.available,
                    "install_hint": t.install_hint,
                }
                for t in pm.targets.values()
            ],
            "load_failures": [str(f) for f in pm.load_failures],
        }

    _run(as_json, action, _printed_by("print_targets"))


def main() -> None:
    """Console-script entry point. With ``--json``, a mistake in the command line itself
    (an unknown option, a value given twice or of the wrong type), which the parser finds
    before any command runs, is one JSON document on standard output too. A standard
    stream the caller closed (``>&-``) reads and writes nothing rather than failing."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode))  # noqa: SIM115 - the process's stream until it exits
    if "--json" not in sys.argv[1:]:
        app(prog_name="deployer")
        return
    try:
        code = app(prog_name="deployer", standalone_mode=False)
    except typer.Abort:  # Ctrl-C outside a command's own handling
        _json_exit(INTERRUPTED, EXIT_INTERRUPTED)
    except typer.TyperException as error:  # the parser's usage errors (click's, as Typer ships it)
        _json_exit(error.format_message(), getattr(error, "exit_code", 2))
    raise SystemExit(code or 0)


def _json_exit(message: str, code: int) -> NoReturn:
    """Print ``message`` as the error document and on standard error; exit ``code``."""
    typer.echo(json.dumps({"error": message, "exit_code": code}))
    typer.secho(f"error: {message}", err=True, fg="red")
    raise SystemExit(code)
