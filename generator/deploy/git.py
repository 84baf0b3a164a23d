"""Git, wrapped in one place: the git command line, driven with subprocess. Every message that leaves this module
has credentials masked.

Why not GitPython here: importing it costs 50-100 ms (it runs `git version` at import) of a CI step whose whole
budget is 0.6 s, and its index API rewrites the index in Python, ten times slower than git on a large repository.
What plato needs is a handful of porcelain calls plus two plumbing streams (`cat-file --batch` to read blobs,
`fast-import` to write a fleet's commits without a work tree), which the command line does best. GitPython serves
the tests, which inspect the repositories plato wrote (tests/gitrepos.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from generator.errors import RepoError, UserError, mask_secrets, register_secret

# Push rejections that mean "someone else pushed first": fetch, rewrite, retry (never rebase).
RACE_MARKERS = (
    "non-fast-forward",
    "fetch first",
    "cannot lock ref",
    "incorrect old value provided",
    "failed to update ref",
    "stale info",
    "[rejected]",
    "reference already exists",
)
AUTH_MARKERS = (
    "authentication failed",
    "permission denied",
    "could not read username",
    "error: 403",  # HTTP status, not any "403" (a port number may contain it)
    "error: 401",
    "access denied",
    "invalid username or password",
    "terminal prompts disabled",
)
UNREACHABLE_MARKERS = (
    "failed to connect",
    "couldn't connect",
    "could not connect",
    "could not resolve host",
    "connection refused",
    "unable to access",
    "could not read from remote",
    "does not appear to be a git repository",
    "no such file or directory",
    "timed out",
    "unable to connect",
    "network is unreachable",
    "repository not found",
)

AUTHOR = ("plato", "plato@users.noreply.github.com")


class PushRejected(Exception):
    """A push lost a race; the caller retries from the new remote tip."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",  # never wait for a password in CI
            "GIT_ASKPASS": "true",
            "GIT_AUTHOR_NAME": AUTHOR[0],
            "GIT_AUTHOR_EMAIL": AUTHOR[1],
            "GIT_COMMITTER_NAME": AUTHOR[0],
            "GIT_COMMITTER_EMAIL": AUTHOR[1],
            "LC_ALL": "C",
        }
    )
    return env


def is_url(repo: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", repo)) or bool(re.match(r"^[\w.-]+@[\w.-]+:", repo))


def remote_url(repo: str) -> str:
    """A URL git can fetch shallowly: local paths become file:// URLs. Credentials in it are registered, so that
    no message prints them, whichever way git quotes the URL."""
    if is_url(repo):
        m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/@]+)@", repo)
        if m:
            register_secret(m.group(1))
            if ":" in m.group(1):
                register_secret(m.group(1).split(":", 1)[1])
        return repo
    return Path(repo).resolve().as_uri()


class Git:
    """git in one work tree (or a bare repository)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def popen(self, *args: str, stdin: int | None = None) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                ["git", *args],
                cwd=self.workdir,
                env=_env(),
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError:
            raise RepoError("git is not installed", hint="install git (plato drives the git command line)") from None

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> tuple[int, str, str]:
        """Run git; (status, stdout, stderr) as git wrote them. A failure raises a RepoError unless check=False.
        An interrupt (Ctrl-C, or SIGTERM from a cancelled CI job) stops the git child and waits for it, so that
        nothing keeps writing after plato has said it stopped."""
        status, out_b, err = self.run_bytes(*args, check=check, input=input)
        return status, out_b.decode("utf-8", "replace"), err

    def run_bytes(self, *args: str, check: bool = True, input: bytes | None = None) -> tuple[int, bytes, str]:
        proc = self.popen(*args, stdin=subprocess.PIPE if input is not None else None)
        try:
            out_b, err_b = proc.communicate(input)
        except BaseException:
            proc.terminate()
            proc.wait()
            raise
        err = err_b.decode("utf-8", "replace")
        if proc.returncode != 0 and check:
            raise repo_error(args, f"{err}\n{out_b.decode('utf-8', 'replace')}")
        return proc.returncode, out_b, err

    def out(self, *args: str) -> str:
        return self.run(*args)[1].strip()


def blob_id(data: bytes) -> str:
    """The object id git gives a file with these bytes (SHA-1 repositories): comparing ids tells a changed file
    without reading the old one."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def ls_tree(git: Git, rev: str, paths: Iterable[str] = ()) -> dict[str, tuple[str, str]]:
    """Every file of a commit (or under `paths`): path -> (mode, object id). Symlinks have mode 120000."""
    out: dict[str, tuple[str, str]] = {}
    spec = ["--", *paths] if paths else []
    for entry in git.run_bytes("ls-tree", "-r", "-z", "--full-tree", rev, *spec)[1].split(b"\0"):
        if entry:
            meta, _, path = entry.partition(b"\t")
            mode, _kind, oid = meta.decode().split(" ")
            out[path.decode("utf-8", "surrogateescape")] = (mode, oid)
    return out


class BlobReader:
    """A long-running `git cat-file --batch`: many blobs read through one process."""

    def __init__(self, git: Git) -> None:
        self.proc = git.popen("cat-file", "--batch", stdin=subprocess.PIPE)

    def read(self, oid: str) -> bytes:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(oid.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise RepoError(f"git cat-file: object {oid} is missing from the checkout", hint="run again")
        data = stdout.read(int(header[2]))
        stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def repo_error(args: tuple[str, ...] | list[str], stderr: str) -> RepoError:
    text = mask_secrets(stderr.strip())
    low = text.lower()
    what = " ".join(mask_secrets(a) for a in args[:2])
    read_only = ("not exported", "access denied", "repository not found", "permission to")
    if args and args[0] == "push" and any(m in low for m in read_only):
        # plato pushes only after a fetch that worked: the repository is there, but takes no push from this run.
        return RepoError(
            f"git {what}: the deployment repository can be read but refused the push: {_last(text)}",
            hint="this run has read access only: give the token write access (contents: write), or point --repo "
            "at a remote that accepts pushes; nothing was published",
        )
    if "not exported" in low or "repository not found" in low or "does not appear to be a git repository" in low:
        return RepoError(
            f"git {what}: the deployment repository was not found (or this token may not see it): {_last(text)}",
            hint="check --repo; nothing was published",
        )
    if any(m in low for m in AUTH_MARKERS):
        return RepoError(
            f"git {what}: authentication was refused by the deployment repository: {_last(text)}",
            hint="check the token: it needs write access to the deployment repository (contents: write)",
        )
    if any(m in low for m in UNREACHABLE_MARKERS):
        return RepoError(
            f"git {what}: the deployment repository is unreachable: {_last(text)}",
            hint="check --repo and the network; nothing was published",
        )
    return RepoError(f"git {what} failed: {_last(text)}", hint="nothing was published; run again, or with --debug")


def _last(text: str) -> str:
    """The line that says what went wrong (and the one after it, which often carries the reason)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    marks = [i for i, line in enumerate(lines) if line.lower().startswith(("fatal", "error", "remote:", "!"))]
    if not marks:
        return (lines or ["(no message)"])[-1][:300]
    i = marks[-1]
    nxt = lines[i + 1] if i + 1 < len(lines) and not lines[i + 1].lower().startswith("hint") else ""
    return (lines[i] + (f" ({nxt})" if nxt else ""))[:400]


def push_outcome(stdout: str, stderr: str) -> tuple[bool, str]:
    """(lost a race?, why) from `git push --porcelain`: the per-ref status lines are on stdout.

    A race is a rejection because the remote moved (`[rejected] (fetch first)`, `(non-fast-forward)`,
    `(stale info)`) or a ref lock lost to a concurrent push (`[remote rejected] (cannot lock ref ...)`). A hook
    that declines is a policy, not a race: it is reported with the hook's own words.
    """
    reasons = [line.split("\t")[-1] for line in stdout.splitlines() if line.startswith("!")]
    remote = [line.strip() for line in stderr.splitlines() if line.strip().lower().startswith("remote:")]
    for reason in reasons:
        low = reason.lower()
        if "hook declined" in low:
            said = "; ".join(r.removeprefix("remote:").strip() for r in remote if r.removeprefix("remote:").strip())
            return False, f"the deployment repository refused the push {reason}" + (f": {said}" if said else "")
        if any(m in low for m in RACE_MARKERS):
            return True, reason
    if not reasons and is_race(stderr):
        return True, _last(stderr)
    return False, "; ".join(reasons) or _last(stderr)


def is_race(stderr: str) -> bool:
    low = stderr.lower()
    return any(m in low for m in RACE_MARKERS)


def ensure_local_repo(repo: str, branch: str) -> None:
    """`--repo PATH` that does not exist yet: create a bare repository there (the README's first run)."""
    if is_url(repo):
        return
    path = Path(repo)
    if path.exists():
        if not (path / "HEAD").exists() and not (path / ".git").exists():
            raise UserError(f"--repo {repo} exists but is not a git repository", hint="give a repository or a new path")
        return
    path.mkdir(parents=True)
    g = Git(path)
    g.run("init", "--bare", "-q", f"--initial-branch={branch}")
