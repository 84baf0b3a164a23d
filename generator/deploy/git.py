"""Git, wrapped in one place. GitPython's command wrapper runs the git command line (its index API rewrites the
whole index in Python and is ten times slower on large repositories). Every message that leaves this module has
credentials masked."""

from __future__ import annotations

import os
import re
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
    """git in one work tree."""

    def __init__(self, workdir: Path) -> None:
        from git.cmd import Git as _Git

        self.workdir = workdir
        self._git = _Git(str(workdir))

    def run(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        """Run git; (status, stdout, stderr) as git wrote them. A failure raises a RepoError unless check=False.
        An interrupt (Ctrl-C, or SIGTERM from a cancelled CI job) stops the git child and waits for it, so that
        nothing keeps writing after plato has said it stopped."""
        from git.exc import GitCommandNotFound

        try:
            handle = self._git.execute(["git", *args], as_process=True, env=_env())
        except GitCommandNotFound:
            raise RepoError("git is not installed", hint="install git (plato drives the git command line)") from None
        proc = handle.proc
        assert proc is not None
        try:
            out_b, err_b = proc.communicate()
        except BaseException:
            proc.terminate()
            proc.wait()
            raise
        status = proc.returncode
        out, err = out_b.decode("utf-8", "replace"), err_b.decode("utf-8", "replace")
        if status != 0 and check:
            raise repo_error(args, f"{err}\n{out}")
        return int(status), out, err

    def out(self, *args: str) -> str:
        return self.run(*args)[1].strip()


def repo_error(args: tuple[str, ...] | list[str], stderr: str) -> RepoError:
    text = mask_secrets(stderr.strip())
    low = text.lower()
    what = " ".join(mask_secrets(a) for a in args[:2])
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
