"""Real git for the tests that touch a deployment repository: bare remotes in tmp_path, `git daemon` on 127.0.0.1,
plato as its own process, and a hermetic environment for all of them. Shared by every suite (the conftest.py
files turn these into fixtures).

Nothing here mocks git. Changes are made with the git command line (clone, commit, push: what a person or another
CI job does); what plato wrote is read back with GitPython's object model (commits, trees, blobs), independently of
the code under test, which drives the command line itself.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git as gitpython

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "shop"
REAL_GIT = shutil.which("git") or "git"
TIMEOUT = 120  # seconds, for every plato subprocess that is expected to finish


def _plato_command() -> list[str]:
    script = Path(sys.executable).parent / "plato"
    return [str(script)] if script.exists() else [sys.executable, "-m", "generator"]


PLATO = _plato_command()

# The identity of commits a test makes itself (plato sets its own).
TEST_AUTHOR = {
    "GIT_AUTHOR_NAME": "tester",
    "GIT_AUTHOR_EMAIL": "tester@example.com",
    "GIT_COMMITTER_NAME": "tester",
    "GIT_COMMITTER_EMAIL": "tester@example.com",
}


def hermetic_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every git and plato process a test starts: no user or system git config, no CI
    variables of the machine running the tests, fast retries."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("GITHUB_", "PLATO_CONTEXT_", "GIT_")) or key in ("PLATO_DEBUG", "CI"):
            env.pop(key)
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


def git(
    *args: str,
    cwd: Path | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> str:
    """Plain git with a test identity and no user config."""
    proc = subprocess.run(
        [REAL_GIT, *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        env=hermetic_env({**TEST_AUTHOR, **(env or {})}),
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def snapshot(path: Path) -> dict[str, str] | None:
    """Every file, folder and symlink under `path` with a digest of its bytes: equal snapshots, byte-identical
    repository (refs, objects, config). None when the path does not exist."""
    if not path.exists():
        return None
    out = {}
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        if p.is_symlink():
            out[rel] = "symlink -> " + os.readlink(p)
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


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
    """A bare repository: read with GitPython, changed with the git command line (never through plato)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def git(self, *args: str, check: bool = True) -> str:
        return git("--git-dir", str(self.path), *args, check=check)

    @contextlib.contextmanager
    def _repo(self) -> Any:
        with gitpython.Repo(self.path) as repo:
            yield repo

    def has(self, ref: str = "main") -> bool:
        with self._repo() as repo:
            return f"refs/heads/{ref}" in {r.path for r in repo.references}

    def tip(self, ref: str = "main") -> str | None:
        if not self.has(ref):
            return None
        with self._repo() as repo:
            return str(repo.commit(f"refs/heads/{ref}").hexsha)

    def files(self, ref: str = "main") -> list[str]:
        """Every file of the branch's tree, sorted as git lists them."""
        if not self.has(ref):
            return []
        with self._repo() as repo:
            return sorted(str(b.path) for b in repo.commit(f"refs/heads/{ref}").tree.traverse() if b.type == "blob")

    def blobs(self, ref: str = "main") -> dict[str, tuple[str, str]]:
        """Every entry of the branch's tree that is not a folder: path -> (mode in octal, object id)."""
        with self._repo() as repo:
            return {
                str(b.path): (f"{b.mode:06o}", str(b.hexsha))
                for b in repo.commit(f"refs/heads/{ref}").tree.traverse()
                if b.type != "tree"
            }

    def show(self, path: str, ref: str = "main") -> str:
        with self._repo() as repo:
            blob = repo.commit(ref).tree / path
            return str(blob.data_stream.read().decode("utf-8"))

    def count(self, ref: str = "main") -> int:
        if not self.has(ref):
            return 0
        with self._repo() as repo:
            return sum(1 for _ in repo.iter_commits(f"refs/heads/{ref}"))

    def subjects(self, ref: str = "main") -> list[str]:
        if not self.has(ref):
            return []
        with self._repo() as repo:
            return [str(c.summary) for c in repo.iter_commits(f"refs/heads/{ref}")]

    def message(self, ref: str = "main") -> str:
        with self._repo() as repo:
            return str(repo.commit(ref).message)

    def authors(self, ref: str = "main") -> list[str]:
        with self._repo() as repo:
            return [
                f"{c.author.name} <{c.author.email}>|{c.committer.name} <{c.committer.email}>"
                for c in repo.iter_commits(ref)
            ]

    def refs(self) -> str:
        return self.git("for-each-ref", "--format=%(objectname) %(refname)")

    def fsck(self) -> str:
        """`git fsck --strict --full` output; raises when git reports a problem."""
        proc = subprocess.run(
            [REAL_GIT, "--git-dir", str(self.path), "fsck", "--strict", "--full", "--no-progress"],
            capture_output=True,
            text=True,
            timeout=60,
            env=hermetic_env(),
            check=False,
        )
        assert proc.returncode == 0, f"git fsck failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        bad = [
            line
            for line in (proc.stdout + proc.stderr).splitlines()
            if line.strip() and not line.startswith(("dangling", "Checking", "notice"))
        ]
        assert not bad, "git fsck reported:\n" + "\n".join(bad)
        return proc.stdout + proc.stderr

    def snapshot(self) -> dict[str, str] | None:
        return snapshot(self.path)

    def commit(
        self,
        files: Mapping[str, str] | None = None,
        message: str = "seed",
        *,
        symlinks: Mapping[str, str] | None = None,
        gitlinks: Sequence[str] = (),
        workdir: Path,
    ) -> str:
        """Commit files (path -> text), symlinks (path -> target) and submodule entries (gitlinks, each pointing at
        a commit of its own) on main with a normal clone and push."""
        if workdir.exists():
            shutil.rmtree(workdir)
        git("clone", "-q", str(self.path), str(workdir))
        for rel, text in (files or {}).items():
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for rel, to in (symlinks or {}).items():
            link = workdir / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(to, link)
        git("add", "-A", cwd=workdir)
        for rel in gitlinks:  # as `git submodule add` leaves it in the tree (without .gitmodules)
            sub = git("commit-tree", "-m", "submodule", git("mktree", cwd=workdir, input="").strip(), cwd=workdir)
            git("update-index", "--add", "--cacheinfo", f"160000,{sub.strip()},{rel}", cwd=workdir)
        git("commit", "-q", "-m", message, cwd=workdir)
        git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=workdir)
        return git("rev-parse", "HEAD", cwd=workdir).strip()


def init_bare(path: Path) -> Bare:
    path.parent.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "--bare", "-b", "main", str(path))
    return Bare(path)


# -- git daemon -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@dataclass
class Daemon:
    base: Path
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        stop(self.proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    """Kill a process started in its own session, with its process group (git daemon forks its children)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def start_daemon(
    base: Path, log_path: Path, receive_pack: bool = True, max_connections: int | None = None
) -> Daemon | None:
    """`git daemon` serving `base` on 127.0.0.1 and a free port (None if it would not start: see the log).
    With receive_pack=False it serves fetches only, so pushes are refused."""
    base.mkdir(parents=True, exist_ok=True)
    for _ in range(5):  # the free port may be taken between choosing and binding it
        port = free_port()
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [
                    REAL_GIT,
                    "daemon",
                    "--export-all",
                    *(["--enable=receive-pack"] if receive_pack else []),
                    *([f"--max-connections={max_connections}"] if max_connections else []),
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
            return Daemon(base, port, proc, log_path)
        stop(proc)
    return None
