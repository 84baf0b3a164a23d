"""Helpers for the deploy-stage tests: real git, real bare remotes, a real `git daemon`, plato as a subprocess.

Nothing here mocks git. A remote is a bare repository in tmp_path (`git init --bare -b main`); the `git_daemon`
fixture serves a folder of them over git:// on 127.0.0.1, and plato runs as its own process (the command line
a CI job runs), with PLATO_RETRY_BACKOFF=0.05 so that retries take milliseconds.

Test modules reach the helpers through fixtures (`run_plato`, `make_bare`, `remote`, `git_daemon`, ...): a
`from conftest import ...` would be ambiguous, since tests/conftest.py is a module named `conftest` too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "shop"
IMAGE = "ghcr.io/acme/shop:1.0"
TIMEOUT = 120  # seconds, for every plato subprocess

REAL_GIT = shutil.which("git") or "git"


def _plato_command() -> list[str]:
    script = Path(sys.executable).parent / "plato"
    return [str(script)] if script.exists() else [sys.executable, "-m", "generator"]


PLATO = _plato_command()


def hermetic_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every git and plato process a test starts: no user or system git config, no CI
    variables leaking in from the machine that runs the tests."""
    env = dict(os.environ)
    for key in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "PLATO_DEBUG", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(key, None)
    env.update(
        {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "PLATO_RETRY_BACKOFF": "0.05",
            "LC_ALL": "C",
            "NO_COLOR": "1",
        }
    )
    env.update(extra or {})
    return env


# The identity of commits a test makes itself (plato sets its own).
TEST_AUTHOR = {
    "GIT_AUTHOR_NAME": "tester",
    "GIT_AUTHOR_EMAIL": "tester@example.com",
    "GIT_COMMITTER_NAME": "tester",
    "GIT_COMMITTER_EMAIL": "tester@example.com",
}


def git(*args: str, cwd: Path | None = None, check: bool = True, env: Mapping[str, str] | None = None) -> str:
    proc = subprocess.run(
        [REAL_GIT, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=hermetic_env({**TEST_AUTHOR, **(env or {})}),
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


@dataclass
class Run:
    """A finished plato process."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def explain(self) -> str:
        return (
            f"plato {' '.join(self.args)}\nexit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


class Bare:
    """A bare repository, inspected with plain git (never through plato)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def git(self, *args: str, check: bool = True) -> str:
        return git("--git-dir", str(self.path), *args, check=check)

    def has(self, ref: str = "main") -> bool:
        return bool(self.git("rev-parse", "--verify", "-q", f"refs/heads/{ref}", check=False).strip())

    def files(self, ref: str = "main") -> list[str]:
        return self.git("ls-tree", "-r", "--name-only", ref).splitlines()

    def count(self, ref: str = "main") -> int:
        if not self.has(ref):
            return 0
        return int(self.git("rev-list", "--count", ref).strip())

    def show(self, path: str, ref: str = "main") -> str:
        return self.git("show", f"{ref}:{path}")

    def tip(self, ref: str = "main") -> str:
        return self.git("rev-parse", f"refs/heads/{ref}").strip()

    def message(self, ref: str = "main") -> str:
        return self.git("log", "-1", "--format=%B", ref)

    def authors(self, ref: str = "main") -> list[str]:
        return self.git("log", "--format=%an <%ae>|%cn <%ce>", ref).splitlines()

    def refs(self) -> str:
        return self.git("for-each-ref", "--format=%(objectname) %(refname)")

    def snapshot(self) -> dict[str, str]:
        """Every file of the repository with a digest of its bytes: equal snapshots, byte-identical repository."""
        out = {}
        for f in sorted(self.path.rglob("*")):
            if f.is_file():
                out[f.relative_to(self.path).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
        return out

    def commit(self, files: Mapping[str, str], message: str = "seed", *, workdir: Path) -> str:
        """Commit `files` (path -> text) on top of main with a normal clone, commit and push; returns the sha."""
        if workdir.exists():
            shutil.rmtree(workdir)
        git("clone", "-q", str(self.path), str(workdir))
        for rel, text in files.items():
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        git("add", "-A", cwd=workdir)
        git("commit", "-q", "-m", message, cwd=workdir)
        git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=workdir)
        return git("rev-parse", "HEAD", cwd=workdir).strip()


def init_bare(path: Path) -> Bare:
    path.parent.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "--bare", "-b", "main", str(path))
    return Bare(path)


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (it was free a moment ago)."""
    return free_port()


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@dataclass
class Daemon:
    base: Path
    port: int
    proc: subprocess.Popen[bytes]

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """`git daemon` serving tmp_path/served (read and write) on 127.0.0.1 and a free port; killed at teardown."""
    base = tmp_path / "served"
    base.mkdir()
    log = (tmp_path / "git-daemon.log").open("wb")
    daemon: Daemon | None = None
    try:
        for _ in range(5):  # the free port may be taken between choosing and binding it
            port = free_port()
            proc = subprocess.Popen(
                [
                    REAL_GIT,
                    "daemon",
                    "--export-all",
                    "--enable=receive-pack",
                    "--reuseaddr",
                    "--listen=127.0.0.1",
                    f"--port={port}",
                    f"--base-path={base}",
                    str(base),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=hermetic_env(),
                start_new_session=True,  # `git daemon` runs git-daemon as a child: stop the whole group
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and proc.poll() is None and not _accepts(port):
                time.sleep(0.05)
            if proc.poll() is None and _accepts(port):
                daemon = Daemon(base, port, proc)
                break
            _stop(proc)
        if daemon is None:
            pytest.fail(f"git daemon did not start: {(tmp_path / 'git-daemon.log').read_text(errors='replace')}")
        yield daemon
    finally:
        if daemon is not None:
            _stop(daemon.proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill a process started in its own session, with everything in its process group (its children)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


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
