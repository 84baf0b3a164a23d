"""Helpers for the deploy-stage tests: real git, real bare remotes, a real `git daemon`, plato as a subprocess.

Nothing here mocks git. A remote is a bare repository in tmp_path (`git init --bare -b main`); the `git_daemon`
fixture serves a folder of them over git:// on 127.0.0.1, and plato runs as its own process (the command line
a CI job runs), with PLATO_RETRY_BACKOFF=0.05 so that retries take milliseconds. The git helpers themselves live
in tests/testkit/git.py, shared with the reliability tests.

Test modules reach the helpers through fixtures (`run_plato`, `make_bare`, `remote`, `git_daemon`, ...): a
`from conftest import ...` would be ambiguous, since tests/conftest.py is a module named `conftest` too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from testkit.git import PLATO, SHOP, TIMEOUT, Bare, Daemon, Run, free_port, git, hermetic_env, init_bare, start_daemon

IMAGE = "ghcr.io/acme/shop:1.0"


@pytest.fixture
def make_bare(tmp_path: Path) -> Callable[..., Bare]:
    """make_bare(name="remote.git", parent=tmp_path): a new empty bare repository with branch main."""

    def make(name: str = "remote.git", parent: Path | None = None) -> Bare:
        return init_bare((parent or tmp_path) / name)

    return make


@pytest.fixture
def remote(make_bare: Callable[..., Bare]) -> Bare:
    """An empty bare remote at tmp_path/remote.git."""
    return make_bare("remote.git")


def shop_args(
    command: str,
    repo: str | Path,
    *,
    app: str = "shop",
    env: str = "development",
    image: str = IMAGE,
    workloads: Sequence[str | Path] = (SHOP,),
    context: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The arguments of `plato preview|publish` for examples/shop (or other workloads)."""
    args = [command, *(str(w) for w in workloads), "-c", f"env={env}", "-c", f"app={app}", "--image", image]
    for k, v in (context or {}).items():
        args += ["-c", f"{k}={v}"]
    return [*args, "--repo", str(repo), *extra]


@pytest.fixture(name="shop_args")
def _shop_args() -> Callable[..., list[str]]:
    return shop_args


@pytest.fixture
def run_plato(tmp_path: Path) -> Callable[..., Run]:
    """run_plato(args, env=None, cwd=tmp_path, timeout=120): plato as a subprocess, output captured."""

    def run(
        args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = TIMEOUT
    ) -> Run:
        proc = subprocess.run(
            [*PLATO, *args],
            cwd=cwd or tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=hermetic_env(env),
            check=False,
        )
        return Run(list(args), proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def start_plato(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """start_plato(args, env=None): plato started in the background (stdout/stderr piped); killed at teardown
    if still running."""
    procs: list[subprocess.Popen[str]] = []

    def start(args: Sequence[str], *, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [*PLATO, *args],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=hermetic_env(env),
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (it was free a moment ago)."""
    return free_port()


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """`git daemon` serving tmp_path/served (read and write) on 127.0.0.1 and a free port; killed at teardown."""
    daemon = start_daemon(tmp_path / "served", tmp_path / "git-daemon.log")
    if daemon is None:
        pytest.fail(f"git daemon did not start: {(tmp_path / 'git-daemon.log').read_text(errors='replace')}")
    yield daemon
    daemon.stop()


def checkout_dirs(tmp: Path) -> list[str]:
    """Leftover private clones of plato in a temp folder."""
    return sorted(p.name for p in tmp.glob("plato-checkout-*"))


@pytest.fixture(name="checkout_dirs")
def _checkout_dirs() -> Callable[[Path], list[str]]:
    return checkout_dirs


def write_hook(repo: Bare, name: str, script: str) -> Path:
    hook = repo.path / "hooks" / name
    hook.write_text(script, encoding="utf-8")
    hook.chmod(0o755)
    return hook


@pytest.fixture(name="write_hook")
def _write_hook() -> Callable[[Bare, str, str], Path]:
    """write_hook(repo, "pre-receive", "#!/bin/sh ..."): an executable server-side hook in a bare repository."""
    return write_hook


@pytest.fixture(name="git")
def _git() -> Callable[..., str]:
    """git(*args, cwd=None, check=True): plain git with a test identity and no user config."""
    return git
