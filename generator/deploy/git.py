"""Git, wrapped in one place. GitPython's command wrapper runs the git command line (its index API rewrites the
whole index in Python and is ten times slower on large repositories). Every message that leaves this module has
credentials masked."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from generator.errors import RepoError, UserError, mask_secrets

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
    "403",
    "401",
    "access denied",
    "invalid username or password",
    "terminal prompts disabled",
)
UNREACHABLE_MARKERS = (
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
    """A URL git can fetch shallowly: local paths become file:// URLs."""
    if is_url(repo):
        return repo
    return Path(repo).resolve().as_uri()


class Git:
    """git in one work tree."""

    def __init__(self, workdir: Path) -> None:
        from git.cmd import Git as _Git

        self.workdir = workdir
        self._git = _Git(str(workdir))

    def run(self, *args: str, check: bool = True, stdin: str | None = None) -> tuple[int, str, str]:
        from git.exc import GitCommandError

        try:
            kwargs: dict[str, Any] = {"with_extended_output": True, "env": _env(), "strip_newline_in_stdout": False}
            if stdin is not None:
                kwargs["istream"] = None
            status, out, err = self._git.execute(["git", *args], with_exceptions=True, **kwargs)
            return int(status), str(out), str(err)
        except GitCommandError as exc:
            if not check:
                return (
                    int(exc.status) if isinstance(exc.status, int) else 1,
                    str(exc.stdout or ""),
                    str(exc.stderr or ""),
                )
            raise repo_error(args, str(exc.stderr or exc)) from None

    def out(self, *args: str) -> str:
        return self.run(*args)[1].strip()


def repo_error(args: tuple[str, ...] | list[str], stderr: str) -> RepoError:
    text = mask_secrets(stderr.strip().replace("stderr: ", "").strip("'\n "))
    low = text.lower()
    what = " ".join(mask_secrets(a) for a in args[:2])
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
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    interesting = [line for line in lines if line.lower().startswith(("fatal", "error", "remote:", "!"))]
    return (interesting or lines or ["(no message)"])[-1][:300]


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
