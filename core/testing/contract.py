"""The contract every deployer target must pass, built-in or third-party.

Subclass :class:`TargetContract` in a test module; pytest collects its checks::

    from deployer.testing import TargetContract

    class TestMyTarget(TargetContract):
        target = "my-target"
        plugins = [("my-target", my_plugin)]   # leave empty if installed by entry point

        def leftovers(self, ctx):            # REQUIRED: what still exists for ctx's app and stack
            return [name for name in my_platform.list(labels=...)]

        def remove_one_replica(self, ctx):   # REQUIRED: remove one replica behind the target's back
            my_platform.kill(one_replica_of(ctx))

Everything runs through deployer's real library API and CLI (image build included), in
an isolated project folder with the kit's sample app, on a stack of its own that is
removed at the end. The checks run in the order written; each makes sure of the state it
needs, so any one can also run alone. Each check's docstring says what a target must do
to pass it; docs/plugin-authoring.md lists them all.

A target whose endpoint cannot answer real HTTP in tests (an emulator without running
workloads) sets ``serves_http = False`` and says why in ``no_http_reason``: the checks
that send requests are then reported as skipped with that reason, never as passed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import ipaddress
import json
import logging
import secrets as random_secrets
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import attrs
import pytest
from typer.testing import CliRunner

from deployer import api, plugin_manager
from deployer.checks import checks_for
from deployer.cli import app
from deployer.errors import ConfigError, DeployFailed, EnvironmentProblem, UsageError
from deployer.image import resolve_image
from deployer.models import PHASES, Check, Deployment, ExpressedSpec, PhaseContext
from deployer.plugin_manager import get_plugin_manager
from deployer.services import DATABASE_ENV
from deployer.targets import APP_PARTS
from deployer.testing.load import LoadLoop
from deployer.testing.project import write_config, write_project
from deployer.testing.recorder import HookRecorder
from deployer.verify import Report, http_get, run_checks, wait_until_passing

SECRET_NAME = "CONTRACT_SECRET"
USER_FOLDERS = ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "TMPDIR")
"""Set to folders inside the run's project folder for the whole run, so that a target's
state and temporary files are the run's (and are searched for secret values)."""
USER_CACHE = "XDG_CACHE_HOME"
"""Set to one folder per test session, which its runs share as one user's runs share
theirs (an image is asked for its user and health-check tool once, not once per contract
class); searched for secret values with the run's folder."""
IDENTITY_PROBE = (
    "import json, os; "
    "status = dict(line.split(':', 1) for line in open('/proc/self/status') if ':' in line); "
    "limits = [p for p in ('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes') "
    "if os.path.exists(p)]; "
    "memory = open(limits[0]).read().strip() if limits else 'unknown'; "
    "root = [line.split() for line in open('/proc/self/mounts') if line.split()[1] == '/'][-1]; "
    "print(json.dumps({'uid': os.getuid(), 'cap_eff': status['CapEff'].strip(), 'memory_limit': memory, "
    "'root_read_only': 'ro' in root[3].split(',')}))"
)
"""Run in a replica by ``exec``: its process's user, effective capabilities, memory limit
(cgroup v2 ``memory.max`` or v1 ``memory.limit_in_bytes``) and whether its root
filesystem (the topmost ``/`` in ``/proc/self/mounts``) is mounted read-only, as JSON."""
REQUIRED_HOOKS = {
    "leftovers": "leftovers(self, ctx) -> list[str]: the names of what your platform still holds "
    "for ctx.app.name and ctx.stack (containers, networks, cloud resources, state files)",
    "remove_one_replica": "remove_one_replica(self, ctx) -> None: remove one running replica of "
    "ctx.app.name and ctx.stack directly on your platform, behind the target's back",
}


@attrs.define
class ContractRun:
    """One contract run's project, plugin manager and stack, with shortcuts to the API."""

    config: Path
    cache: Path
    """The session's ``$XDG_CACHE_HOME`` (:data:`USER_CACHE`)."""
    stack: str
    target: str
    pm: Any
    recorder: HookRecorder
    secret: str
    offline: bool
    app: Mapping[str, Any]
    settings: Mapping[str, Any]
    deployment: Deployment | None = None
    unserved: Deployment | None = None
    """A deployment whose endpoint did not answer the app's checks (not waited for again)."""

    def session(self, config: Path | None = None) -> api.Session:
        return api.open_session(target=self.target, stack=self.stack, config=config or self.config, pm=self.pm)

    def up(self) -> Deployment:
        self.deployment = api.up(self.session())
        return self.deployment

    def ensure_up(self) -> Deployment:
        return self.deployment or self.up()

    def plan(self):
        return api.plan(self.session(), offline=self.offline)

    def status(self):
        return api.status(self.session())

    def down(self) -> None:
        api.down(self.session())
        self.deployment = None

    def context(self) -> PhaseContext:
        return self.session().context("status")

    def release(self, **env: str) -> None:
        """Rewrite the run's config with the app's env updated by ``env`` (same image,
        another release); ``release()`` restores the original."""
        self.configure(env=env)

    def configure(
        self, *, env: Mapping[str, str] = {}, app: Mapping[str, Any] = {}, tables: Mapping[str, Any] = {}
    ) -> None:
        """Rewrite the run's config: the app's env updated by ``env``, more ``[app]`` keys
        from ``app``, the other top-level ``tables`` (``database``, ``workers``)."""
        keys = {**self.app, **app, "env": {**self.app.get("env", {}), **env}}
        write_config(
            self.config.parent,
            app={"build": {"context": "app"}, **keys},
            targets={self.target: self.settings},
            tables=tables,
        )

    def runs(self) -> frozenset[str]:
        """What the target declares it runs beyond the web service (``TargetInfo.runs``)."""
        runs: frozenset[str] = self.pm.targets[self.target].runs
        return runs

    def checks(self) -> tuple[Check, ...]:
        """The sample app's checks (:func:`deployer.checks.checks_for` its project)."""
        return checks_for(self.session().project)

    def cli(self, *args: str) -> Any:
        """Run the real CLI (``--target``, ``--stack``, ``--config`` added)."""
        command = [*args, "--target", self.target, "--stack", self.stack, "--config", str(self.config)]
        return CliRunner().invoke(app, command)


SAMPLE_PARTS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "workers": ("workers.ticker", {}, {"workers": {"ticker": {"command": ["python3", "/srv/app.py", "worker"]}}}),
    "release_command": ("app.release_command", {"release_command": ["python3", "/srv/app.py", "release"]}, {}),
    "database": ("database", {}, {"database": {"engine": "postgres"}}),
}
"""Each app part (:data:`~deployer.targets.APP_PARTS`) as the sample app uses it: the key
an error names, its ``[app]`` keys, its top-level tables."""


def _sample_parts(names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The ``app`` and ``tables`` arguments of :meth:`ContractRun.configure` for ``names``."""
    chosen = [SAMPLE_PARTS[name] for name in names]
    return {
        "app": {k: v for _, keys, _ in chosen for k, v in keys.items()},
        "tables": {k: v for _, _, tables in chosen for k, v in tables.items()},
    }


def encoded_forms(value: bytes) -> list[bytes]:
    """``value`` as is, in hex (either case) and in base64 (standard and URL-safe) at each
    of the three offsets it may start at within an encoded text: only the characters that
    depend on ``value`` alone, so that a search finds it whatever came before or after."""
    forms = [value, value.hex().encode(), value.hex().upper().encode()]
    for shift in range(3):
        start, end = (shift * 8 + 5) // 6, (len(value) + shift) // 3 * 4
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.append(encode(b"\0" * shift + value)[start:end])
    return forms


def _lines(report: Report) -> str:
    return "\n  ".join(report.lines())


def _outward_addresses() -> list[str]:
    """This machine's IPv4 and IPv6 addresses on the routes to other hosts (empty when it
    has only loopback)."""
    found = []
    # documentation prefixes (TEST-NET-1, 2001:db8::/32): nothing is sent, the route is only looked up
    for family, destination in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((destination, 9))
            except OSError:
                continue
            address: str = probe.getsockname()[0]
        parsed = ipaddress.ip_address(address)
        if not (parsed.is_loopback or parsed.is_link_local):
            found.append(address)
    return found


class TargetContract:
    """The contract suite. Set ``target``; implement the two REQUIRED hooks
    (:meth:`leftovers`, :meth:`remove_one_replica`); override the others when needed."""

    target: ClassVar[str]
    plugins: ClassVar[Sequence[tuple[str, object]]] = ()
    """``(name, plugin)`` pairs to register besides the installed ones."""
    offline: ClassVar[bool] = False
    """Plan with ``offline=True`` (for targets whose plan needs a cloud otherwise)."""
    serves_http: ClassVar[bool] = True
    """False when the deployed endpoint cannot answer real HTTP in tests (an emulator
    without running workloads). The checks that send requests (endpoint, secrets in the
    app, rollout, broken release, logs) are then skipped with :attr:`no_http_reason`,
    which must say why."""
    no_http_reason: ClassVar[str] = ""
    serve_timeout: ClassVar[float] = 90
    """Seconds the endpoint may take to answer the app's checks after ``up``, and a
    worker to print its first line."""
    settle_timeout: ClassVar[float] = 30
    """Seconds the platform may take to show what already happened: the app's lines in
    ``logs``, a replica removed behind the target's back in ``status``."""
    log_moment_gap: ClassVar[float] = 1.5
    """Seconds the logs check leaves between a request line, the ``--since`` moment and
    the next request line: more than the precision of the target's log timestamps and
    ``since`` filter (Docker's ``since`` takes whole seconds) plus any skew between the
    test's clock and the clock that stamps the lines (a VM's, a remote engine's). A
    smaller gap only makes the check stricter."""
    broken_env: ClassVar[Mapping[str, str]] = {"HEALTHY": "false"}
    """Env that makes the sample app's health path fail (a broken release)."""

    app: ClassVar[Mapping[str, Any]] = {
        "name": "contract",
        "port": 8000,
        "env": {"GREETING": "hello", "APP_VERSION": "1"},
        "secrets": [SECRET_NAME],
        "health": {"path": "/healthz", "interval": 5, "timeout": 3, "retries": 2, "start_period": 2},
        "cpu": 256,
        "memory": 512,
        "replicas": 2,
        "command": ["python3", "/srv/app.py"],
    }

    # --- hooks for target authors -----------------------------------------------------

    def target_settings(self) -> Mapping[str, Any]:
        """The ``[targets.<target>]`` table for a stack of the run (e.g. a free port). Called once
        for the run's stack and once more for the other stack a ``down`` check deploys beside it."""
        return {}

    def make_plugin_manager(self, recorder: HookRecorder) -> Any:
        """The plugin manager for the run: installed plugins, ``plugins``, the recorder."""
        return get_plugin_manager(extra=[*self.plugins, ("contract-recorder", recorder)])

    def environment(self) -> contextlib.AbstractContextManager[Any]:
        """The context the whole run happens in: entered before anything else (project,
        plugin manager), left after the final ``down``. E.g. an emulator and its
        credentials. None by default."""
        return contextlib.nullcontext()

    def leftovers(self, ctx: PhaseContext) -> list[str]:
        """REQUIRED. What the target still holds for ``ctx``'s app and stack (objects,
        resources, state files), read from the platform itself, not from the driver. The
        contract requires none after ``down``, after a ``plan`` alone, and after a bad config."""
        raise NotImplementedError(REQUIRED_HOOKS["leftovers"])

    def remove_one_replica(self, ctx: PhaseContext) -> None:
        """REQUIRED. Remove one running replica of ``ctx``'s app and stack directly on the
        platform (``docker rm -f`` one container, stop one task, deregister one target),
        behind the target's back: ``status`` must then report fewer healthy than desired."""
        raise NotImplementedError(REQUIRED_HOOKS["remove_one_replica"])

    def run_in_replica(self, run: ContractRun, command: Sequence[str], replica: int = 1) -> int:
        """Run ``command`` in replica number ``replica`` (1-based, in the order ``status``
        lists them) of the run's stack, its output on this process's standard output;
        return its exit code. By default ``deployer exec --replica N`` (the driver's
        ``exec``); skips the calling check when the target has none, or when it raises
        ``UsageError`` or ``EnvironmentProblem`` (turned off, a tool missing). Override it
        when your platform runs commands in a replica some other way in tests."""
        session = run.session()
        if getattr(session.driver(), "exec", None) is None:
            pytest.skip(f"target {self.target!r} has no exec (override run_in_replica to reach a replica another way)")
        try:
            return api.exec_in_replica(session, command, replica=replica)
        except (UsageError, EnvironmentProblem) as error:
            pytest.skip(f"exec is not available in this run (or override run_in_replica): {error}")

    # --- the run ----------------------------------------------------------------------

    @classmethod
    def missing_hooks(cls) -> list[str]:
        """The REQUIRED hooks this class does not implement."""
        return [name for name in REQUIRED_HOOKS if getattr(cls, name) is getattr(TargetContract, name)]

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractRun]:
        missing = cls.missing_hooks()
        if missing:
            pytest.fail(
                f"{cls.__name__} must implement the contract's required hooks:\n"
                + "\n".join(f"  def {REQUIRED_HOOKS[name]}" for name in missing),
                pytrace=False,
            )
        if not cls.serves_http and not cls.no_http_reason:
            pytest.fail(f"{cls.__name__} sets serves_http = False: say why in no_http_reason", pytrace=False)
        contract = cls()
        with contract.environment(), pytest.MonkeyPatch.context() as patch:
            folder = tmp_path_factory.mktemp(f"contract-{contract.target}")
            for name in USER_FOLDERS:  # what the target keeps for the user lands in the run's folder
                (folder / "user" / name.lower()).mkdir(parents=True)
                patch.setenv(name, str(folder / "user" / name.lower()))
            cache = tmp_path_factory.getbasetemp() / "contract-user-cache"
            cache.mkdir(exist_ok=True)
            patch.setenv(USER_CACHE, str(cache))
            patch.setattr(tempfile, "tempdir", str(folder / "user" / "tmpdir"))
            settings = dict(contract.target_settings())
            config = write_project(folder, app=contract.app, targets={contract.target: settings})
            recorder = HookRecorder()
            pm = contract.make_plugin_manager(recorder)
            secret = "s3cr3t-" + random_secrets.token_hex(12)
            patch.setenv(SECRET_NAME, secret)
            patch.setattr(plugin_manager, "get_plugin_manager", lambda **_: pm)  # the CLI sees the same plugins
            run = ContractRun(
                config=config,
                cache=cache,
                stack="c" + random_secrets.token_hex(4),
                target=contract.target,
                pm=pm,
                recorder=recorder,
                secret=secret,
                offline=contract.offline,
                app=contract.app,
                settings=settings,
            )
            try:
                yield run
            finally:
                run.release()
                if run.deployment is not None or run.status().deployed:
                    run.down()

    # --- helpers for the checks -------------------------------------------------------

    def require_http(self) -> None:
        """Skip the calling check, with the target's reason, when it serves no HTTP."""
        if not self.serves_http:
            pytest.skip(f"target {self.target!r} serves no HTTP in tests: {self.no_http_reason}")

    def serving(self, run: ContractRun) -> str:
        """The endpoint of the deployed stack once it answers the app's checks; skips the
        calling check when it never does (test_up_serves_the_apps_checks fails for that)."""
        self.require_http()
        deployment = run.ensure_up()
        needs = "needs an endpoint that answers the app's checks (test_up_serves_the_apps_checks)"
        if run.unserved is deployment:
            pytest.skip(f"{needs}: {deployment.endpoint} did not")
        report = wait_until_passing(deployment.endpoint, run.checks(), self.serve_timeout)
        if not report.passed:
            run.unserved = deployment
            pytest.skip(f"{needs}: {_lines(report)}")
        return deployment.endpoint

    def whoami(self, endpoint: str, requests: int = 20) -> list[dict[str, Any]]:
        """The sample app's ``/whoami`` answers (instance id, secret's SHA-256) to
        ``requests`` requests: with round-robin or random balancing, every replica answers."""
        get = http_get(endpoint)
        answers = []
        for _ in range(requests):
            response = get("/whoami")
            assert response.status == 200, f"/whoami answered {response.status}"
            answers.append(json.loads(response.body))
        return answers

    def served_version(self, endpoint: str) -> str:
        """The body of ``/`` (the sample app answers ``sample app version <APP_VERSION>``)."""
        response = http_get(endpoint)("/")
        assert response.status == 200, f"/ answered {response.status}"
        return response.body.decode(errors="replace").strip()

    # --- the contract, in order -------------------------------------------------------

    def test_bad_config_fails_before_any_side_effect(self, run: ContractRun, tmp_path: Path) -> None:
        """An unknown key in ``[targets.<name>]`` must raise ``ConfigError`` (exit 2) naming
        the key path, before any phase runs and before anything is created: your
        ``parse_settings`` must reject keys it does not know (``Section.done()``)."""
        bad = write_project(
            tmp_path, app=self.app, targets={self.target: {**run.settings, "not_a_key_of_any_target": 1}}
        )
        run.recorder.clear()
        try:
            api.up(run.session(bad))
        except ConfigError as error:
            caught = error
        else:
            run.down()  # clean up what the bad config deployed before failing
            pytest.fail(f"up accepted an unknown key in [targets.{self.target}]: parse_settings must reject it")
        assert f"targets.{self.target}.not_a_key_of_any_target" in str(caught)
        assert caught.exit_code == 2
        assert run.recorder.calls == [], "no phase may run when the config is bad"
        assert not run.status().deployed
        assert self.leftovers(run.context()) == []

    def test_plan_has_no_side_effects(self, run: ContractRun) -> None:
        """``plan`` on an empty stack must run the four phases in ``plan`` mode, list only
        ``create`` changes, create nothing (``leftovers`` stays empty, ``status`` says not
        deployed) and give the same changes when run twice."""
        if run.deployment is not None:
            run.down()
        run.recorder.clear()
        first = run.plan()
        assert run.recorder.phases("plan") == list(PHASES)
        assert first.changes and all(c.action == "create" for c in first.changes), first.changes
        assert not run.status().deployed
        assert self.leftovers(run.context()) == [], "plan created something"
        assert run.plan().changes == first.changes

    def test_phases_run_in_order_and_return_documented_types(self, run: ContractRun) -> None:
        """Every ``up`` (a re-run too) must go through the phase runner it is given, so
        that network, registry, ingress and compute run as hooks, in that order, for this
        target, each returning its documented result type: a driver that deploys without
        calling ``phases(ctx)`` cannot have a phase replaced or wrapped by another plugin."""
        run.ensure_up()
        run.recorder.clear()
        run.up()
        calls = [c for c in run.recorder.calls if c.mode == "up"]
        seen = [(c.phase, c.result_type) for c in calls]
        assert seen == [
            ("network", "NetworkResult"),
            ("registry", "RegistryResult"),
            ("ingress", "IngressResult"),
            ("compute", "ComputeResult"),
        ], f"up did not run the four phase hooks in order: {seen}"
        assert {c.target for c in calls} == {self.target}

    def test_up_returns_an_endpoint_and_outputs(self, run: ContractRun) -> None:
        """``up`` must return a ``Deployment`` with an http(s) endpoint and JSON-able
        outputs; ``status`` must then say deployed, at that endpoint, with at least the
        desired number of healthy replicas (``up`` returns only once the app is healthy)."""
        deployment = run.ensure_up()
        assert (deployment.target, deployment.stack) == (self.target, run.stack)
        assert deployment.endpoint.startswith(("http://", "https://")), deployment.endpoint
        json.dumps(dict(deployment.outputs))  # plain values only
        status = run.status()
        assert status.deployed, "status says nothing is deployed after up"
        assert status.endpoint == deployment.endpoint, (
            f"status reports endpoint {status.endpoint!r}, up returned {deployment.endpoint!r}"
        )
        assert status.healthy >= status.desired >= 1

    def test_a_loopback_endpoint_answers_on_loopback_only(self, run: ContractRun) -> None:
        """An endpoint on loopback (``127.0.0.1``, ``localhost``, ``::1``) must not be
        reachable through this machine's other addresses (its outward IPv4 and IPv6 ones):
        its port is published on loopback, not on every interface. Skipped for an endpoint
        elsewhere (a cloud load balancer) and on a machine with no address besides loopback."""
        endpoint = urlsplit(run.ensure_up().endpoint)
        if endpoint.hostname not in ("127.0.0.1", "localhost", "::1"):
            pytest.skip(f"the endpoint {endpoint.geturl()} is not on loopback")
        addresses = _outward_addresses()
        if not addresses:
            pytest.skip("this machine has no address besides loopback to try the endpoint's port on")
        port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        for address in addresses:
            with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=2):
                pytest.fail(f"the endpoint's port {port} answers on {address}, not only on loopback")

    def test_up_serves_the_apps_checks(self, run: ContractRun) -> None:
        """After ``up`` the endpoint must answer the app's checks (its health path 2xx,
        ``/`` below 500) and serve the deployed version, within ``serve_timeout``."""
        self.require_http()
        deployment = run.ensure_up()
        endpoint = deployment.endpoint
        report = wait_until_passing(endpoint, run.checks(), self.serve_timeout)
        if not report.passed:
            run.unserved = deployment
        assert report.passed, f"the endpoint does not answer the app's checks:\n  {_lines(report)}"
        assert self.served_version(endpoint).endswith("version 1")

    def test_second_up_changes_nothing(self, run: ContractRun) -> None:
        """A second ``up`` of the same spec must change nothing: ``plan`` says every change
        is ``unchanged``, the endpoint, image and expressed spec stay the same and, with
        HTTP, the same replicas keep serving (the sample app's ``/whoami`` instance ids:
        a target that replaces its replicas on every ``up`` fails)."""
        first = run.ensure_up()
        before = run.status()
        assert {c.action for c in run.plan().changes} == {"unchanged"}
        served = self.serves_http and run.unserved is not first
        instances = {answer["instance"] for answer in self.whoami(first.endpoint)} if served else set()
        second = run.up()
        assert second.endpoint == first.endpoint
        after = run.status()
        assert (after.spec, after.image, after.endpoint) == (before.spec, before.image, before.endpoint)
        if served:
            replaced = {answer["instance"] for answer in self.whoami(second.endpoint)} - instances
            assert not replaced, f"a second up with no change replaced replicas: new instances {sorted(replaced)}"

    def test_app_spec_is_expressed_faithfully(self, run: ContractRun) -> None:
        """``status().spec`` and ``plan().spec`` (read back from what the target created
        or would create) must equal ``ExpressedSpec.from_app`` of the app and the
        core-built image ID: port, env and secret names, health path, cpu, memory,
        replicas, command."""
        run.ensure_up()
        app = run.session().project.app
        expected = ExpressedSpec.from_app(app, resolve_image(app).id)
        assert expected.image_id.startswith("sha256:")
        assert run.status().spec == expected, "status().spec is not the app's spec"
        assert run.plan().spec == expected, "plan().spec is not the app's spec"

    def test_secret_values_never_appear(self, run: ContractRun, caplog: pytest.LogCaptureFixture) -> None:
        """A secret's value must never appear in any output: ``plan`` (of nothing to do,
        and of a new release: every change it lists), ``up`` (one that changes nothing and
        one that rolls out a new release), ``status`` (text and ``--json``) and the logs
        captured meanwhile; nor in any file of the run's project folder, where the run
        points ``$XDG_STATE_HOME``, ``$XDG_CONFIG_HOME``, ``$XDG_DATA_HOME`` and
        ``$TMPDIR``, or of the session's ``$XDG_CACHE_HOME`` (state kept in plain text).
        Each is searched for the value as is, in hex and in base64 (standard and URL-safe,
        at any offset). Only its name is expressed."""
        caplog.set_level(logging.DEBUG)
        run.ensure_up()
        outputs = []
        commands = (["plan", "--json"], ["up", "--json"], ["status", "--json"], ["status"])
        pending = (["plan"], ["plan", "--json"], ["up"])  # a new release: new replicas start with the secret
        try:
            for given in (*commands, *pending):
                if given is pending[0]:
                    run.release(APP_VERSION="3")
                command = [*given, "--offline"] if self.offline and given[0] == "plan" else given
                result = run.cli(*command)
                assert result.exit_code == 0, (command, result.stdout, result.stderr)
                outputs += [result.stdout, result.stderr]
                if "--json" in command:
                    json.loads(result.stdout)  # exactly one JSON document on stdout
        finally:
            run.release()
            run.deployment = None  # the next check deploys version 1 again
        outputs.append(caplog.text)
        forms = encoded_forms(run.secret.encode())

        def holds_secret(data: bytes) -> bool:
            return any(form in data for form in forms)

        for text in outputs:
            assert not holds_secret(text.encode()), "a secret's value was printed"
        roots = {"": run.config.parent, f"${USER_CACHE}/": run.cache}
        stored = sorted(
            shown + str(path.relative_to(root))
            for shown, root in roots.items()
            for path in root.rglob("*")
            if path.is_file() and not path.is_symlink() and holds_secret(path.read_bytes())
        )
        assert not stored, f"a secret's value is stored, as is or encoded, in {stored}"
        assert SECRET_NAME in run.status().spec.env_names

    def test_secrets_reach_the_app(self, run: ContractRun) -> None:
        """Every replica must get each secret in its environment, as given: the sample
        app's ``/whoami`` answers the SHA-256 of ``CONTRACT_SECRET`` (never the value)."""
        endpoint = self.serving(run)
        expected = hashlib.sha256(run.secret.encode()).hexdigest()
        seen = {answer["secret_sha256"] for answer in self.whoami(endpoint)}
        assert seen == {expected}, f"replicas did not get the secret (SHA-256 seen: {sorted(map(str, seen))})"

    def test_replicas_run_unprivileged_on_a_read_only_root_within_their_memory_limit(
        self, run: ContractRun, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Where the target has ``exec``: every replica's process (each of the desired
        count, probed one by one) must run as a user other than root (the sample image
        says ``USER 10001``; a target must not override it to root) with no effective
        capability (``CapEff`` zero in ``/proc/self/status``), on a root filesystem
        mounted read-only (``/proc/self/mounts``), under the app's ``memory`` as its memory
        limit (its cgroup's, when the replica can read it). Run through
        :meth:`run_in_replica`, which skips it for a target without ``exec``."""
        run.ensure_up()
        monkeypatch.setattr("sys.stdin", io.StringIO())  # no input for the command
        memory = run.session().project.app.memory
        for number in range(1, run.status().desired + 1):
            capfd.readouterr()
            code = self.run_in_replica(run, ["python3", "-c", IDENTITY_PROBE], number)
            out = capfd.readouterr().out
            assert isinstance(code, int), (
                f"run_in_replica must return the exit code, its output on stdout; got {code!r}"
            )
            assert code == 0, f"the identity probe exited with {code} in replica {number}: {out}"
            identity = json.loads(out.strip().splitlines()[-1])
            assert identity["uid"] != 0, f"a replica runs as root (replica {number})"
            assert int(identity["cap_eff"], 16) == 0, (
                f"a replica's process holds capabilities (replica {number}): CapEff {identity['cap_eff']}"
            )
            assert identity["root_read_only"], (
                f"a replica's root filesystem is writable (replica {number}): mount it read-only"
            )
            limit = identity["memory_limit"]
            if limit != "unknown":  # no cgroup file to read: a sandbox or VM runtime may hide it
                assert limit == str(memory * 1024 * 1024), (
                    f"a replica's memory limit is {limit}, not {memory} MiB (replica {number})"
                )

    def test_a_new_version_rolls_out_without_dropping_requests(self, run: ContractRun) -> None:
        """``plan`` of a new release (``APP_VERSION=2``) must show a change and change
        nothing itself (the old version still serves, ``status`` reads the same); its
        ``up`` under a bounded loopback load loop must fail no request (no refused
        connection, no error status) and serve the new version when it returns."""
        endpoint = self.serving(run)
        before = (run.status().spec, self.served_version(endpoint))
        run.release(APP_VERSION="2")
        try:
            pending = {c.action for c in run.plan().changes}
            assert pending - {"unchanged"}, f"plan of a new release shows no change: {pending}"
            after = (run.status().spec, self.served_version(endpoint))
            assert after == before, f"plan of a new release changed what serves: {after[1]!r}, was {before[1]!r}"
            with LoadLoop(endpoint) as load:
                run.up()
            assert load.sent > 0 and not load.failures, f"requests failed during the rollout: {dict(load.failures)}"
            assert self.served_version(endpoint).endswith("version 2")
        finally:
            run.release()
            run.deployment = None  # the next check deploys version 1 again

    def test_a_new_image_rolls_out_and_rollback_restores_the_previous_one(self, run: ContractRun) -> None:
        """An ``up`` whose image changed (the sample app built with ``BUILD=2``) must run
        the new image: ``status().spec.image_id`` is its ID and, with HTTP, every replica's
        ``/whoami`` says build 2. Where the driver rolls back (``rollback_image``), a plain
        ``rollback`` must then run the previous image again: its ID in the spec and, with
        HTTP, build 1 everywhere. Without ``rollback_image`` the check stops there, skipped."""
        run.ensure_up()
        old = run.status().spec.image_id
        served = self.serves_http and run.unserved is not run.deployment
        run.configure(app={"build": {"context": "app", "args": {"BUILD": "2"}}})
        try:
            endpoint = run.up().endpoint
            assert run.status().spec.image_id != old, "up did not run the new image"
            if served:
                builds = {answer["build"] for answer in self.whoami(endpoint)}
                assert builds == {"2"}, f"up did not run the new image everywhere: builds {sorted(builds)} answered"
            if getattr(run.session().driver(), "rollback_image", None) is None:
                pytest.skip(f"target {self.target!r} has no rollback_image: rollback not checked")
            api.rollback(run.session())
            assert run.status().spec.image_id == old, "rollback did not run the previous image"
            if served:
                builds = {answer["build"] for answer in self.whoami(endpoint)}
                assert builds == {"1"}, f"rollback did not run the previous image everywhere: builds {sorted(builds)}"
        finally:
            run.release()
            run.deployment = None  # the next check deploys the first image again

    def test_a_broken_release_is_refused_and_the_old_one_keeps_serving(self, run: ContractRun) -> None:
        """``up`` of a release whose health check fails (the sample app with
        ``HEALTHY=false``) must raise ``DeployFailed`` (exit 1) and leave the previous
        release serving: no failed request under load, only the old version answered."""
        endpoint = self.serving(run)
        old = self.served_version(endpoint)
        run.release(**self.broken_env, APP_VERSION="broken")
        try:
            with LoadLoop(endpoint) as load, pytest.raises(DeployFailed) as caught:
                api.up(run.session())
            assert caught.value.exit_code == 1
            assert load.sent > 0 and not load.failures, (
                f"requests failed during the broken release: {dict(load.failures)}"
            )
            assert set(load.bodies) == {old}, f"something else than {old!r} answered: {dict(load.bodies)}"
            report = run_checks(endpoint, run.checks())
            assert report.passed, f"the old release stopped answering its checks:\n  {_lines(report)}"
        finally:
            run.release()
            run.deployment = None  # the next check deploys the good release (unchanged if it kept serving)

    def test_logs_return_the_apps_lines_and_since_filters_them(self, run: ContractRun) -> None:
        """``logs`` must return the app's own output lines (the sample app prints one line
        per request, path included), each with a timestamp; ``logs --since <time>`` must
        return only lines at or after that time."""
        endpoint = self.serving(run)
        before, after = (f"/contract-log-{random_secrets.token_hex(4)}" for _ in range(2))
        run_checks(endpoint, [Check(before)])
        time.sleep(self.log_moment_gap)
        moment = datetime.now().astimezone()
        time.sleep(self.log_moment_gap)
        run_checks(endpoint, [Check(after)])

        def texts(since: str | None) -> str:
            deadline = time.monotonic() + self.settle_timeout
            while True:  # some platforms ship lines with a delay
                lines = list(api.logs(run.session(), since=since))
                text = "\n".join(line.text for line in lines)
                if after in text or time.monotonic() > deadline:
                    return text
                time.sleep(1)

        everything = texts(None)
        assert before in everything and after in everything, f"logs lack the app's request lines:\n{everything[-2000:]}"
        recent = texts(moment.isoformat())
        assert after in recent and before not in recent, (
            f"--since {moment.isoformat()} did not filter:\n{recent[-2000:]}"
        )

    def test_status_reports_a_replica_removed_behind_its_back(self, run: ContractRun) -> None:
        """When one replica disappears without the target's knowledge
        (:meth:`remove_one_replica`), ``status`` must read the platform and report fewer
        healthy replicas than desired, still deployed."""
        run.ensure_up()
        status = run.status()
        assert status.healthy >= status.desired >= 2, status
        self.remove_one_replica(run.context())
        try:
            deadline = time.monotonic() + self.settle_timeout
            while (status := run.status()).healthy >= status.desired and time.monotonic() < deadline:
                time.sleep(1)
            assert status.deployed, status
            assert status.healthy < status.desired, (
                f"status hides the removed replica: {status.healthy}/{status.desired} healthy"
            )
        finally:
            run.down()  # a clean slate: healing is not part of this check

    def test_workers_release_command_and_database_run_where_declared(self, run: ContractRun) -> None:
        """What ``TargetInfo.runs`` leaves out of ``workers``, ``release_command`` and
        ``database`` must be refused (``ConfigError``, exit 2, naming each key) before any
        phase runs or anything is created. What it declares must really run, with the
        sample app's worker (``app.py worker``), release command (``app.py release``) and
        a Postgres ``[database]``: ``up`` succeeds; a failing release command makes ``up``
        raise ``DeployFailed`` (exit 1) showing its output, the previous release still
        serving; where the target serves HTTP, the web and the worker get the six
        database variables and reach the database, and the worker's line is in ``logs``.
        With a database, a plain ``down`` must keep its data: it refuses (``UsageError``,
        exit 2) or leaves something (``leftovers`` not empty). Then
        ``down(destroy_data=True)`` (the database's data too) leaves nothing."""
        declared = run.runs()
        refused = [name for name in APP_PARTS if name not in declared]
        try:
            if refused:
                before = self.leftovers(run.context())
                run.configure(**_sample_parts(refused))
                run.recorder.clear()
                with pytest.raises(ConfigError) as caught:
                    api.up(run.session())
                assert caught.value.exit_code == 2
                named = [e.key for e in getattr(caught.value, "errors", (caught.value,))]
                assert named == [SAMPLE_PARTS[n][0] for n in refused], f"expected {refused} refused, got {named}"
                assert run.recorder.calls == [], "no phase may run when the app asks for what the target lacks"
                assert self.leftovers(run.context()) == before, "a refused app created something"
            if not declared:
                return
            config = _sample_parts(declared)
            run.configure(**config)
            deployment = run.up()
            if self.serves_http:
                endpoint = self.serving(run)
                self._check_parts(run, endpoint, declared)
            if "release_command" in declared:
                old = self.served_version(deployment.endpoint) if self.serves_http else None
                run.configure(**config, env={"RELEASE_FAILS": "1", "APP_VERSION": "3"})
                with pytest.raises(DeployFailed) as failed:
                    api.up(run.session())
                assert failed.value.exit_code == 1
                assert "sample release command failed on purpose (version 3)" in str(failed.value), (
                    f"up did not show the failing release command's output: {failed.value}"
                )
                if old is not None:
                    assert self.served_version(deployment.endpoint) == old, "the failed release replaced the old one"
            if "database" in declared:
                with contextlib.suppress(UsageError):  # refusing keeps the data too
                    api.down(run.session())
                    assert self.leftovers(run.context()), "a plain down removed the database's data"
            api.down(run.session(), destroy_data="database" in declared)
            run.deployment = None
            left = self.leftovers(run.context())
            assert left == [], f"down left: {left}"
        finally:
            run.release()
            if run.status().deployed:
                api.down(run.session(), destroy_data="database" in declared)
            run.deployment = None

    def _check_parts(self, run: ContractRun, endpoint: str, declared: frozenset[str]) -> None:
        database = "database" in declared
        if database:
            answer = json.loads(http_get(endpoint)("/services").body)
            assert answer == {"env": list(DATABASE_ENV), "database_reachable": True}, (
                f"the web did not get a reachable database: {answer}"
            )
        if "workers" in declared:
            deadline = time.monotonic() + self.serve_timeout
            while not (lines := [x.text for x in api.logs(run.session()) if "sample worker started" in x.text]):
                assert time.monotonic() < deadline, "logs lack the worker's line"
                time.sleep(1)
            if database:
                assert '"database_reachable": true' in lines[-1], f"the worker did not reach the database: {lines}"

    def test_down_leaves_the_apps_other_stacks_alone(self, run: ContractRun, tmp_path: Path) -> None:
        """``down`` of one stack must leave every other stack of the same app deployed,
        with its objects (here one deployed from another folder, with its own
        ``target_settings``): ``leftovers`` must select by stack, and so must ``down``."""
        run.ensure_up()
        settings = dict(self.target_settings())
        other = attrs.evolve(
            run,
            config=write_project(tmp_path, app=self.app, targets={self.target: settings}),
            stack=f"{run.stack}-b",
            settings=settings,
            deployment=None,
            unserved=None,
        )
        other.up()
        try:
            run.down()
            assert other.status().deployed, f"down of stack {run.stack} took stack {other.stack} down"
            assert self.leftovers(other.context()), f"down of stack {run.stack} removed stack {other.stack}'s objects"
        finally:
            other.down()

    def test_down_removes_everything(self, run: ContractRun) -> None:
        """After ``down``, ``status`` must say not deployed and nothing of the deployment
        may be left on the platform (``leftovers`` is empty)."""
        run.ensure_up()
        run.down()
        assert not run.status().deployed
        left = self.leftovers(run.context())
        assert left == [], f"down left: {left}"

    def test_down_is_idempotent(self, run: ContractRun) -> None:
        """``down`` of a stack that is already gone must succeed and change nothing."""
        if run.deployment is not None or run.status().deployed:
            run.down()
        run.down()
        assert not run.status().deployed
