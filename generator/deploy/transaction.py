"""One transaction for every write to the deployment repository: a commit made from git objects, checked, pushed,
and retried when another publisher pushed first.

No work tree and no index: an edit (owned paths removed wholly, then the new files written) is applied to the tip
by one `git fast-import`, and the commit is checked against what was rendered (tree entries and blob ids) before it
is pushed. A push that loses a race is never rebased: the caller reads the new tip's owned paths again (a few
`ls-tree` entries and blobs, no render), applies the same edit on it and pushes again, with jittered backoff, for
a time budget. Owned paths make that a tree merge: the other publisher's commit changed other apps' paths.

`commit_message` is the one place a commit message is made and `fast_import_stream` the one place a blob that
leaves plato is created.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from generator.check.guard import check_message
from generator.deploy.git import AUTHOR, BlobReader, Clone, TreeWalk, blob_id
from generator.deploy.ownership import REGULAR, check_written_paths
from generator.deploy.report import subject
from generator.errors import RepoError, mask_secrets

Mode = Literal["push", "pr"]
RETRY_FOR = 300.0  # seconds: how long a publish keeps retrying lost races by default
BACKOFF = 0.5  # seconds: the first retry waits up to this (PLATO_RETRY_BACKOFF changes it)
BACKOFF_CAP = 2.0  # seconds: no wait is longer, however many races were lost


@dataclass
class Retry:
    """Retries of lost races: full-jitter exponential backoff (a wait drawn from 0 up to the current step, so
    that publishers that lost together spread out) until the time budget is spent, or after `max_retries` retries
    when that is given."""

    retry_for: float = RETRY_FOR
    max_retries: int | None = None
    backoff: float = BACKOFF
    cap: float = BACKOFF_CAP
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    began: float = field(default=0.0, init=False)

    def start(self) -> None:
        self.began = self.clock()

    def wait(self, attempt: int) -> bool:
        """After attempt `attempt` lost a race: wait and say True, or say False when no retry is left."""
        if self.max_retries is not None and attempt > self.max_retries:
            return False
        delay = random.uniform(0, min(self.cap, self.backoff * 2 ** (attempt - 1)))
        if self.clock() + delay - self.began > self.retry_for:
            return False
        self.sleep(delay)
        return True

    def gave_up(self, attempts: int, what: str, hint: str, last: str = "") -> RepoError:
        """`last`: what the remote said to the last push. A refusal that looks like a lost race but outlasts every
        retry is often the remote's own (a stale ref lock, receive.denyNonFastForwards): the message says so."""
        spent = self.clock() - self.began
        said = f" (the last refusal: {mask_secrets(last)})" if last else ""
        return RepoError(
            f"gave up after {attempts} attempt{'s' if attempts != 1 else ''} in {spent:.0f} s: every push of "
            f"{what} was refused as if another publisher had pushed first{said}",
            hint=f"{hint}; if no other job is publishing, the remote itself refuses the ref (a stale .lock file, "
            "receive.denyNonFastForwards, a protected branch)",
        )


@dataclass
class Options:
    repo: str
    branch: str = "main"
    mode: Mode = "push"
    retry: Retry = field(default_factory=Retry)


@dataclass
class Edit:
    """What one (env, app) does to a tree: `removes` (files, or folders ending in '/') go wholly, then `writes`
    are written; every path lies in `allowed`."""

    writes: dict[str, bytes]
    removes: list[str]
    allowed: list[str]
    owner: str  # "env/app"
    written: dict[str, str] = field(default_factory=dict)  # path -> id of a blob already written by BlobWriter

    def ids(self) -> dict[str, str]:
        return {**{p: blob_id(d) for p, d in self.writes.items()}, **self.written}


@dataclass
class Commit:
    ref: str
    message: str
    edits: list[Edit]


def commit_message(title: str, body: Sequence[str], trailers: Mapping[str, str]) -> str:
    """The one commit message builder: a title (cut between whole items), body lines and trailers (values on one
    line), checked for secrets."""
    lines = [subject(f"plato: {title}"), "", *body]
    if body and body[-1] != "":
        lines.append("")
    lines += [f"{k}: {' '.join(str(v).split())}" for k, v in trailers.items() if v]
    return check_message("the commit message", "\n".join(lines) + "\n")


def _fi_path(path: str) -> bytes:
    """A path as fast-import reads it: C-style quoted when it could be misread."""
    if "\n" in path or path.startswith('"'):
        path = '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return path.encode("utf-8", "surrogateescape")


def fast_import_stream(base: str | None, commits: Sequence[Commit], chain: bool) -> bytes:
    """The fast-import stream of `commits`, each on `base` or, chained, on the one before. Every blob plato sends
    to the deployment repository is created here."""
    stamp = f"{AUTHOR[0]} <{AUTHOR[1]}> {int(time.time())} +0000"
    stream = bytearray()
    for i, c in enumerate(commits, 1):
        msg = c.message.encode()
        stream += f"commit {c.ref}\nmark :{i}\nauthor {stamp}\ncommitter {stamp}\ndata {len(msg)}\n".encode() + msg
        parent = f":{i - 1}" if chain and i > 1 else base
        if parent:
            stream += f"from {parent}\n".encode()
        for e in c.edits:
            for path in e.removes:
                stream += b"D " + _fi_path(path.rstrip("/")) + b"\n"
        for e in c.edits:
            for path, data in e.writes.items():
                stream += b"M 100644 inline " + _fi_path(path) + b"\n" + b"data %d\n" % len(data) + data + b"\n"
            for path, oid in e.written.items():
                stream += b"M 100644 " + oid.encode() + b" " + _fi_path(path) + b"\n"
        stream += b"\n"
    return bytes(stream)


class BlobWriter:
    """Blobs written as they are made, through one long-running `git fast-import`: a fleet re-render hands each
    app's files over as the app finishes and keeps only their ids, so its memory does not grow with the fleet.
    `close` finishes the pack; the ids are then objects of the clone that commits can name."""

    def __init__(self, clone: Clone) -> None:
        self.clone = clone
        self.proc: subprocess.Popen[bytes] | None = None

    def write(self, data: bytes) -> str:
        if self.proc is None:
            self.proc = self.clone.git.popen("fast-import", "--quiet", "--force", stdin=subprocess.PIPE)
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"blob\ndata %d\n" % len(data) + data + b"\n")
        return blob_id(data)

    def close(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.close()
        err = proc.stderr.read().decode("utf-8", "replace")
        if proc.wait() != 0:
            raise RepoError(f"git fast-import failed: {err.strip()[:300]}", hint="run again, or with --debug")

    def abandon(self) -> None:
        """The run stops (an interrupt, an error): fast-import is ended, its half-written pack never used. Closed
        instead, a blob cut short was reported as git failing, in place of the interrupt."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        self.clone.git.end(proc)
        self.clone.git.done(proc)


def write_commits(clone: Clone, base: str | None, commits: Sequence[Commit], chain: bool = False) -> list[str]:
    """Write the commits with one `git fast-import` (no work tree), after checking every path they touch, and
    check each against its edits. Returns the commit ids."""
    for c in commits:
        for e in c.edits:
            check_written_paths([*e.writes, *e.written, *e.removes], e.allowed, e.owner)
    marks = clone.fast_import(fast_import_stream(base, commits, chain))
    shas = [marks[f":{i}"].strip() for i in range(1, len(commits) + 1)]
    for sha, c in zip(shas, commits, strict=True):
        verify(clone, sha, c.edits)
    return shas


def verify(clone: Clone, sha: str, edits: Sequence[Edit]) -> None:
    """The commit holds exactly the written bytes (as regular files) at every path the edits touch, and nothing
    else under what they removed: compared by tree entries and blob ids, before anything is pushed."""
    paths = sorted({p for e in edits for p in [*e.removes, *e.writes, *e.written]})
    want = {p: oid for e in edits for p, oid in e.ids().items()}
    # A fleet's commit: its trees read through cat-file, a chunk of paths at a time (`ls-tree -- PATHS` matches
    # every entry of a 10,000-app folder against every path asked for: minutes for one commit of a fleet).
    reader = BlobReader(clone.git)
    try:
        listed = TreeWalk(reader, clone.tree_id(sha)).listed(paths)
    finally:
        reader.close()
    gone = {p for e in edits for p in e.removes if not p.endswith("/")}
    folders = tuple(p for e in edits for p in e.removes if p.endswith("/"))
    got = {p: v for p, v in listed.items() if p in want or p in gone or p.startswith(folders)}
    wrong = sorted(p for p in {*want, *got} if p not in got or got[p][0] not in REGULAR or got[p][1] != want.get(p))
    if wrong:
        raise RepoError(
            f"the commit plato wrote does not hold what was rendered at {', '.join(wrong[:5])}; nothing was published",
            hint="this is a bug in plato; run again with --debug and report it",
        )
