"""Helpers for the reliability tests: hostile input, the template sandbox, ownership, faults, secrets, soak.

Everything here runs plato the way CI does: as its own process (`plato ...`), against real git (bare
repositories in tmp_path, `git daemon` on 127.0.0.1 with a free port). Nothing mocks git or plato.

Test modules reach the helpers through the `kit` fixture (one object with the few things every test needs) and
the `serve` fixture (a `git daemon`): a `from conftest import ...` would be ambiguous, since every conftest.py
of this suite is a module named `conftest`.

Every plato process a test starts gets its own TMPDIR (`kit.plato_tmp`), so the private clones plato makes
(`plato-checkout-<pid>-*`) are visible to the test and never mix with another test's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitrepos import (
    PLATO,
    REPO,
    TIMEOUT,
    Bare,
    Daemon,
    Run,
    free_port,
    git,
    hermetic_env,
    init_bare,
    snapshot,
    start_daemon,
    stop,
)

SHOP = REPO / "examples" / "shop"
API = "plato.dev/v1"
SCORE = "score.dev/v1b1"


def env_rule(name: str = "development", env: str | list[str] = "development", **spec: Any) -> dict[str, Any]:
    """An Environment rule with the fields the schema requires; keyword arguments go into its spec."""
    return {
        "apiVersion": API,
        "kind": "Environment",
        "name": name,
        "match": {"env": env},
        "spec": {"env_type": "development", "namespace": "{{ app }}-{{ env }}", "cd": {"tool": "argocd"}, **spec},
    }


def resource_rule(name: str, type_: str, spec: Mapping[str, Any], **match: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Resource", "name": name, "match": {"type": type_, **match}, "spec": dict(spec)}


def score(
    name: str = "web",
    *,
    variables: Mapping[str, str] | None = None,
    resources: Mapping[str, Any] | None = None,
    files: Mapping[str, Any] | None = None,
    image: str = ".",
    container: str = "main",
) -> dict[str, Any]:
    """A Score workload with one container."""
    spec: dict[str, Any] = {"image": image}
    if variables:
        spec["variables"] = dict(variables)
    if files:
        spec["files"] = dict(files)
    doc: dict[str, Any] = {"apiVersion": SCORE, "metadata": {"name": name}, "containers": {container: spec}}
    if resources:
        doc["resources"] = dict(resources)
    return doc


def _dump(doc: Mapping[str, Any] | str) -> str:
    return doc if isinstance(doc, str) else yaml.safe_dump(dict(doc), sort_keys=False, width=1000)


def one_error_line(run: Run) -> str:
    """The first `error:` line of a failed run. A run reports every problem it finds, sorted by place (a spec
    with two mistakes gets two lines), each in the one-message form."""
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert errors, f"expected an error line\n{run.explain()}"
    return errors[0]


def assert_refused(
    run: Run,
    code: int = 2,
    *,
    names: Sequence[str] = (),
    line: int | None = None,
    says: Sequence[str] = (),
    never: Sequence[str] = (),
) -> str:
    """A run refused with `code`: one clear error line naming `names` (file:line when `line` is given), saying
    `says`, no traceback, no internal error, and none of `never` anywhere in its output. Returns the line."""
    assert run.returncode == code, run.explain()
    assert "Traceback" not in run.output, run.explain()
    assert "internal error" not in run.output, run.explain()
    err = one_error_line(run)
    for name in names:
        assert name in err, f"the error does not name {name!r}: {err}\n{run.explain()}"
    if line is not None:
        assert names, "give the file a line belongs to"
        assert f"{names[0]}:{line}" in err, f"the error does not point at {names[0]}:{line}: {err}\n{run.explain()}"
    low = run.stderr.lower()
    for text in says:
        assert text.lower() in low, f"the message does not say {text!r}\n{run.explain()}"
    for text in never:
        assert text not in run.output, f"the output contains {text!r}\n{run.explain()}"
    return err


@dataclass
class Kit:
    """What a reliability test needs: plato as a process, bare repositories, workloads and rule folders."""

    tmp: Path
    plato_tmp: Path  # TMPDIR of every plato process the kit starts
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    # The module's helpers, reachable from test modules through the fixture.
    git = staticmethod(git)
    snapshot = staticmethod(snapshot)
    assert_refused = staticmethod(assert_refused)
    one_error_line = staticmethod(one_error_line)
    score = staticmethod(score)
    env_rule = staticmethod(env_rule)
    resource_rule = staticmethod(resource_rule)
    hermetic_env = staticmethod(hermetic_env)
    free_port = staticmethod(free_port)

    # -- plato ----------------------------------------------------------------------------------------------

    def environ(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        return hermetic_env({"TMPDIR": str(self.plato_tmp), **(env or {})})

    def run(
        self,
        args: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = TIMEOUT,
    ) -> Run:
        argv = [str(a) for a in args]
        proc = subprocess.run(
            [*PLATO, *argv],
            cwd=cwd or self.tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.environ(env),
            check=False,
        )
        return Run(argv, proc.returncode, proc.stdout, proc.stderr)

    def cli(self, args: Sequence[str | Path], *, env: Mapping[str, str] | None = None) -> Run:
        """plato in this process (click's test runner, from kit.tmp): the same exit codes and messages without
        the start-up cost of a process, for the many small cases. Never for anything that might hang."""
        import traceback

        from click.testing import CliRunner

        from generator.cli import main

        argv = [str(a) for a in args]
        # The variables hermetic_env drops (CI's GITHUB_*, PLATO_CONTEXT_*, ...) are unset for the run (None).
        clean = hermetic_env()
        environ: dict[str, str | None] = {k: None for k in os.environ if k not in clean}
        environ.update(TMPDIR=str(self.plato_tmp), **(env or {}))
        with contextlib.chdir(self.tmp):
            result = CliRunner(env=environ).invoke(main, argv, catch_exceptions=True)
        stderr = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            exc = result.exception
            stderr += "Traceback (escaped the command line):\n" + "".join(
                traceback.format_exception(type(exc), exc, exc.__traceback__)
            )
        return Run(argv, result.exit_code, result.stdout, stderr)

    def start(self, args: Sequence[str | Path], *, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """plato in the background, in its own session (so a test can signal its whole process group);
        killed with its group at teardown if still running."""
        proc = subprocess.Popen(
            [*PLATO, *(str(a) for a in args)],
            cwd=self.tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environ(env),
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def leftovers(self) -> list[str]:
        """Private clones of plato left in its TMPDIR."""
        return sorted(p.name for p in self.plato_tmp.glob("plato-checkout-*"))

    # -- repositories and inputs ----------------------------------------------------------------------------

    def bare(self, name: str = "remote.git", parent: Path | None = None) -> Bare:
        return init_bare((parent or self.tmp) / name)

    def write(self, rel: str, doc: Mapping[str, Any] | str | bytes) -> Path:
        path = self.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(doc, bytes):
            path.write_bytes(doc)
        else:
            path.write_text(_dump(doc), encoding="utf-8")
        return path

    def workload(self, rel: str = "app/score.yaml", doc: Mapping[str, Any] | str | None = None) -> Path:
        """A Score file (default: one container, no resources) inside a workspace (a folder with .git)."""
        path = self.write(rel, doc if doc is not None else score())
        (path.parent / ".git").mkdir(exist_ok=True)
        return path

    def rules(self, *docs: Mapping[str, Any] | str, name: str = "rules", bundled: bool = False) -> Path:
        """A rules folder: the given documents in 50-test.yaml (plus a copy of the bundled rules if asked)."""
        folder = self.tmp / name
        if folder.exists():
            shutil.rmtree(folder)
        if bundled:
            shutil.copytree(REPO / "rules", folder)
        else:
            folder.mkdir(parents=True)
        if docs:
            text = "---\n".join(_dump(d) for d in docs)
            (folder / "50-test.yaml").write_text(text, encoding="utf-8")
        return folder

    def args(
        self,
        command: str,
        workloads: Sequence[Path] | Path,
        *,
        env: str = "development",
        app: str = "web",
        image: str = "ghcr.io/acme/web:1.0",
        rules: Path | None = None,
        repo: Path | str | Bare | None = None,
        out: Path | None = None,
        context: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
    ) -> list[str]:
        ws = [workloads] if isinstance(workloads, Path) else list(workloads)
        argv = [command, *(str(w) for w in ws), "-c", f"env={env}", "-c", f"app={app}", "--image", image]
        for k, v in (context or {}).items():
            argv += ["-c", f"{k}={v}"]
        if rules is not None:
            argv += ["--rules", str(rules)]
        if repo is not None:
            argv += ["--repo", str(repo)]
        if out is not None:
            argv += ["-o", str(out)]
        return [*argv, *extra]


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    plato_tmp = tmp_path / "plato-tmp"
    plato_tmp.mkdir()
    k = Kit(tmp=tmp_path, plato_tmp=plato_tmp)
    yield k
    for proc in k.procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.communicate(timeout=10)


# -- git daemon -------------------------------------------------------------------------------------------------


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    """serve(receive_pack=True, max_connections=None): `git daemon` on 127.0.0.1 and a free port, serving
    tmp_path/served-N; with receive_pack=False it serves fetches only (pushes are refused). Killed at teardown."""
    daemons: list[Daemon] = []

    def start(receive_pack: bool = True, max_connections: int | None = None) -> Daemon:
        n = len(daemons)
        log = tmp_path / f"git-daemon-{n}.log"
        daemon = start_daemon(tmp_path / f"served-{n}", log, receive_pack, max_connections)
        if daemon is None:
            pytest.fail(f"git daemon did not start: {log.read_text(errors='replace')}")
        daemons.append(daemon)
        return daemon

    yield start
    for d in daemons:
        stop(d.proc)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    return free_port()
