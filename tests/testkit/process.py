"""`ProcessKit`: what a reliability test needs. plato runs the way CI runs it, as its own process
(`plato ...`), against real git (bare repositories in tmp_path); nothing mocks git or plato.

Every plato process the kit starts gets its own TMPDIR (`kit.plato_tmp`), so the private clones plato makes
(`plato-checkout-<pid>-*`) are visible to the test and never mix with another test's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit.asserts import assert_refused, one_error_line
from testkit.build import dump, env_rule, resource_rule, score
from testkit.git import PLATO, REPO, TIMEOUT, Bare, Run, free_port, git, hermetic_env, init_bare, snapshot


@dataclass
class ProcessKit:
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
            path.write_text(dump(doc), encoding="utf-8")
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
            text = "---\n".join(dump(d) for d in docs)
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


def processes_naming(text: str) -> list[str]:
    """The command lines of the running processes that name `text` (Linux: read from /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            line = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            if text in line:
                found.append(line)
    return found
