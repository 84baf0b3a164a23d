"""Git, wrapped in one place: the git command line, driven with subprocess. Every message that leaves this module
has credentials masked.

Why not GitPython here: importing it costs 50-100 ms (it runs `git version` at import) of a CI step whose whole
budget is 0.6 s, and its index API rewrites the index in Python, ten times slower than git on a large repository.
What plato needs is a handful of plumbing calls and two streams (`cat-file --batch` to read blobs, `fast-import` to
write commits without a work tree or an index), which the command line does best. No other module of plato starts
a git process. GitPython serves
the tests, which inspect the repositories plato wrote (tests/gitrepos.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from generator.deploy.layout import RECORD_DIR
from generator.errors import RepoError, UserError, mask_secrets, register_path, register_secret

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

TIMEOUT_VAR = "PLATO_GIT_TIMEOUT"
TIMEOUT = 300.0  # seconds one git command may run (PLATO_GIT_TIMEOUT changes it; 0: no limit)
CONFIRM_DEPTH = 100  # commits on top of a push among which a confirming read-back looks for it (Clone._confirm)
STOP_GRACE = 5.0  # seconds a stopped git gets to clean up (its lock files) before it is killed


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


def git_timeout() -> float | None:
    """How long one git command may run before it is stopped (None: no limit). A server that takes the connection
    and never answers would otherwise hold a CI job until the runner's own limit (six hours on GitHub Actions).
    The value is not repeated in the message: whatever was put there by mistake stays out of the log."""
    raw = os.environ.get(TIMEOUT_VAR, "").strip()
    if not raw:
        return TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise UserError(
            f"{TIMEOUT_VAR} is not a number of seconds",
            hint=f"set it to how long one git command may run, in seconds (0: no limit; the default is {TIMEOUT:g})",
        )
    return value or None


def descendants(pid: int) -> list[int]:
    """The processes started under `pid` (git's helpers: `git remote-https`, `ssh`, a local `git receive-pack`),
    read from /proc; none where there is no /proc. Read before `pid` ends: its orphans are adopted by init."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(stat)
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _stat(path: Path) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, parent, ...); none for a process gone."""
    try:
        return path.read_text().rpartition(")")[2].split()
    except OSError:
        return []


def _running(pid: int) -> bool:
    fields = _stat(Path(f"/proc/{pid}/stat"))
    return bool(fields) and fields[0] != "Z"


def command_args(args: Sequence[str]) -> Sequence[str]:
    """A git command line without the `-c key=value` settings before it: what messages name."""
    while len(args) > 1 and args[0] == "-c":
        args = args[2:]
    return args


def timed_out(args: Sequence[str], seconds: float) -> RepoError:
    """What a git command stopped at PLATO_GIT_TIMEOUT means for the run."""
    args = command_args(args)
    longer = f"{TIMEOUT_VAR}=<seconds> allows longer (0: no limit)"
    if args and args[0] == "push":
        return RepoError(
            f"git push: the deployment repository did not answer within {seconds:g} s; the push was stopped and may "
            "or may not have landed",
            hint=f"run again: a publish that landed makes no second commit; {longer}",
        )
    what = args[0] if args else "git"
    return RepoError(
        f"git {what}: the deployment repository did not answer within {seconds:g} s; git was stopped",
        hint=f"check --repo and the network; nothing was published; {longer}",
    )


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
    register_path(repo)
    return Path(repo).resolve().as_uri()


def local_objects(repo: str) -> Path | None:
    """The object store of a deployment repository given as a local path (bare, or with a work tree), or None (a
    URL, file:// included, or no repository there)."""
    if is_url(repo):
        return None
    root = Path(repo)
    for git_dir in (root, root / ".git"):
        if (git_dir / "objects").is_dir() and (git_dir / "HEAD").is_file():
            return (git_dir / "objects").resolve()
    return None


class Git:
    """git in one work tree (or a bare repository)."""

    def __init__(self, workdir: Path, timeout: float | Literal["env"] | None = "env") -> None:
        self.workdir = workdir
        self.live: set[subprocess.Popen[bytes]] = set()  # what is running, for stop()
        self.stopped = False
        self.lock = threading.Lock()  # no process starts between stop() and the end of this object
        self.groups: set[subprocess.Popen[bytes]] = set()  # those started in a process group of their own
        self.timeout = git_timeout() if timeout == "env" else timeout

    def popen(self, *args: str, stdin: int | None = None) -> subprocess.Popen[bytes]:
        """git, started. Started from a thread other than the main one (a fetch ahead, which only reads into the
        private clone), git and the helpers it starts (`git remote-https`) get a process group of their own, so
        that stop() ends them all: a helper left behind keeps git's pipes open, and whoever waits on them waits
        for ever. Everything the main thread starts (every push among them) stays in plato's process group, so
        that a CI runner that kills plato's group kills it too."""
        own_group = threading.current_thread() is not threading.main_thread()
        with self.lock:
            if self.stopped:
                raise RepoError("git was stopped", hint="run again")
            try:
                proc = subprocess.Popen(
                    ["git", *args],
                    cwd=self.workdir,
                    env=_env(),
                    stdin=stdin if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=own_group,
                )
            except FileNotFoundError:
                raise RepoError(
                    "git is not installed", hint="install git (plato drives the git command line)"
                ) from None
            self.live.add(proc)
            if own_group:
                self.groups.add(proc)
        return proc

    def stop(self) -> None:
        """Stop every git process started here (with the helpers of those in a group of their own), and start no
        more: a fetch ahead that is not wanted any more."""
        with self.lock:
            self.stopped = True
            for proc in list(self.live):
                with contextlib.suppress(ProcessLookupError):
                    if proc in self.groups:
                        os.killpg(proc.pid, signal.SIGTERM)
                    else:
                        proc.terminate()

    def end(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop one git process that ran out of time or is abandoned, with the helpers it started (they hold its
        pipes open): asked first, killed after STOP_GRACE."""
        pids = descendants(proc.pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if proc in self.groups:
                    os.killpg(proc.pid, sig)
            for pid in [proc.pid, *pids]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + STOP_GRACE
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_GRACE)
                while (pids := [p for p in pids if _running(p)]) and time.monotonic() < deadline:
                    time.sleep(0.02)  # a helper cleans up as it ends (a local receive-pack its quarantine)
                if not pids:
                    break
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe:
                with contextlib.suppress(OSError):  # unwritten input of a process that is gone
                    pipe.close()

    def done(self, proc: subprocess.Popen[bytes]) -> None:
        """A process started here has ended (and been waited for)."""
        self.live.discard(proc)
        self.groups.discard(proc)

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> tuple[int, str, str]:
        """Run git; (status, stdout, stderr) as git wrote them. A failure raises a RepoError unless check=False.
        An interrupt (Ctrl-C, or SIGTERM from a cancelled CI job) stops the git child and waits for it, so that
        nothing keeps writing after plato has said it stopped."""
        status, out_b, err = self.run_bytes(*args, check=check, input=input)
        return status, out_b.decode("utf-8", "replace"), err

    def run_bytes(self, *args: str, check: bool = True, input: bytes | None = None) -> tuple[int, bytes, str]:
        proc = self.popen(*args, stdin=subprocess.PIPE if input is not None else None)
        try:
            out_b, err_b = proc.communicate(input, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.end(proc)
            raise timed_out(args, self.timeout or 0) from None
        except BaseException:
            proc.terminate()
            proc.wait()
            raise
        finally:
            self.done(proc)
        err = err_b.decode("utf-8", "replace")
        if proc.returncode != 0 and check:
            raise repo_error(args, f"{err}\n{out_b.decode('utf-8', 'replace')}")
        return proc.returncode, out_b, err

    def out(self, *args: str) -> str:
        return self.run(*args)[1].strip()

    def run_together(self, calls: Sequence[tuple[tuple[str, ...], bytes]]) -> None:
        """Several git commands at once, each given its input (from a file, so that none waits for another to be
        read) and checked: requests to a server that do not wait for each other."""
        procs: list[tuple[tuple[str, ...], subprocess.Popen[bytes]]] = []
        deadline = time.monotonic() + self.timeout if self.timeout else None
        try:
            for args, data in calls:
                with tempfile.TemporaryFile(dir=self.workdir) as given:
                    given.write(data)
                    given.seek(0)
                    procs.append((args, self.popen(*args, stdin=given.fileno())))
            for args, proc in procs:
                try:
                    out_b, err_b = proc.communicate(timeout=deadline and max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    for _, each in procs:
                        self.end(each)
                    raise timed_out(args, self.timeout or 0) from None
                if proc.returncode != 0:
                    raise repo_error(args, f"{err_b.decode('utf-8', 'replace')}\n{out_b.decode('utf-8', 'replace')}")
        except BaseException:
            for _, proc in procs:
                proc.terminate()
                proc.wait()
            raise
        finally:
            for _, proc in procs:
                self.done(proc)


def blob_id(data: bytes) -> str:
    """The object id git gives a file with these bytes (SHA-1 repositories): comparing ids tells a changed file
    without reading the old one."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def ls_tree(git: Git, rev: str, paths: Iterable[str] = (), recursive: bool = True) -> dict[str, tuple[str, str]]:
    """Every file of a commit (or under `paths`): path -> (mode, object id). Symlinks have mode 120000, submodules
    160000. Without recursion: the entries at `paths` themselves (folders as 040000)."""
    out: dict[str, tuple[str, str]] = {}
    spec = ["--", *paths] if paths else []
    flags = ["-r"] if recursive else []
    # Without recursion ls-tree also lists the siblings of a deeper path's folders (10,000 of them in a folder of
    # 10,000 apps): keep what was asked for, before decoding anything else.
    asked = None if recursive else {p.encode("utf-8", "surrogateescape") for p in paths}
    for entry in git.run_bytes("ls-tree", *flags, "-z", "--full-tree", rev, *spec)[1].split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        if entry and (asked is None or path in asked):
            mode, _kind, oid = meta.decode().split(" ")
            out[path.decode("utf-8", "surrogateescape")] = (mode, oid)
    return out


def folders_above(paths: Iterable[str]) -> set[str]:
    """Every folder on the way to each path ('' for the root), the path itself left out."""
    return {"/".join(parts[:i]) for p in paths for parts in [p.rstrip("/").split("/")] for i in range(len(parts))}


def tree_items(data: bytes) -> Iterable[tuple[str, str, str]]:
    """Every entry of a raw tree object: (name, mode as `ls-tree` prints it, object id)."""
    i = 0
    while i < len(data):
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        mode = data[i:space].decode()
        yield data[space + 1 : nul].decode("utf-8", "surrogateescape"), mode.zfill(6), data[nul + 1 : nul + 21].hex()
        i = nul + 21


class TreeWalk:
    """Paths of one commit's tree looked up by reading its tree objects through `cat-file` (a few per path, the
    folders shared by many paths read once and kept): what `ls-tree -r -- PATHS` lists, without git matching
    every entry of a large folder against every path asked for (which made listing a batch of 256 apps in a
    fleet of 5,000 take 0.3 s). Kept trees are bounded; a kept tree is never stale (trees are content)."""

    KEEP = 4096

    def __init__(self, reader: BlobReader, root: str, kept: dict[str, dict[str, tuple[str, str]]] | None = None):
        self.reader, self.root = reader, root
        self.kept = kept if kept is not None else {}

    def tree(self, oid: str) -> dict[str, tuple[str, str]]:
        found = self.kept.get(oid)
        if found is None:
            if len(self.kept) >= self.KEEP:
                self.kept.clear()
            found = self._keep(oid, self.reader.read(oid))
        return found

    def _keep(self, oid: str, data: bytes) -> dict[str, tuple[str, str]]:
        self.kept[oid] = {name: (mode, child) for name, mode, child in tree_items(data)}
        return self.kept[oid]

    def prefetch(self, paths: Iterable[str]) -> None:
        """Read the trees on the way to the paths and under them level by level, all of a level in one round
        trip (what `files` and `entry` then find kept)."""
        frontier: list[tuple[list[str], tuple[str, str]]] = [
            (p.strip("/").split("/"), ("040000", self.root)) for p in paths
        ]
        while frontier:
            wanted = sorted({oid for _, (mode, oid) in frontier if mode == "040000" and oid not in self.kept})
            if len(self.kept) + len(wanted) > self.KEEP:
                self.kept.clear()
            for oid, data in zip(wanted, self.reader.read_many(wanted), strict=True):
                self._keep(oid, data)
            below: list[tuple[list[str], tuple[str, str]]] = []
            for parts, (mode, oid) in frontier:
                tree = self.kept.get(oid) if mode == "040000" else None
                if tree is None:
                    continue
                if parts:
                    child = tree.get(parts[0])
                    if child is not None:
                        below.append((parts[1:], child))
                else:  # at the path: every folder under it
                    below.extend(([], c) for c in tree.values() if c[0] == "040000")
            frontier = below

    def entry(self, path: str) -> tuple[str, str] | None:
        """(mode, id) at `path` (a folder as 040000), or None."""
        node: tuple[str, str] = ("040000", self.root)
        for name in path.strip("/").split("/"):
            if node[0] != "040000":
                return None
            got = self.tree(node[1]).get(name)
            if got is None:
                return None
            node = got
        return node

    def listed(self, paths: Sequence[str], chunk: int = 1000) -> dict[str, tuple[str, str]]:
        """What `ls-tree -r -- PATHS` lists, read a chunk of paths at a time (its trees prefetched together)."""
        out: dict[str, tuple[str, str]] = {}
        for i in range(0, len(paths), chunk):
            part = paths[i : i + chunk]
            self.prefetch(part)
            for path in part:
                out.update(self.files(path))
        return out

    def files(self, path: str) -> dict[str, tuple[str, str]]:
        """What `ls-tree -r` lists for the path: the file itself, or every file under the folder."""
        rel = path.rstrip("/")
        node = self.entry(rel)
        if node is None:
            return {}
        if node[0] != "040000":
            return {} if path.endswith("/") else {rel: node}
        out: dict[str, tuple[str, str]] = {}
        stack = [(rel, node[1])]
        while stack:
            folder, oid = stack.pop()
            for name, (mode, child) in self.tree(oid).items():
                if mode == "040000":
                    stack.append((f"{folder}/{name}", child))
                else:
                    out[f"{folder}/{name}"] = (mode, child)
        return out


# Fetching objects by id: no negotiation (nothing this clone has would make the server send less), no tags.
FETCH_OIDS = ("-c", "fetch.negotiationAlgorithm=noop", "fetch", "-q", "--no-tags", "--no-write-fetch-head")
# A publish's first fetch asks for the trees down to this depth (`--filter=tree:2`: the root and its folders),
# then less where a server limits tree filters (uploadpackfilter.tree.maxDepth).
TREE_FILTERS = ("tree:2", "tree:1")
# Folders whose children are few by plato's own layout (the records: one folder per environment): fetch_paths asks
# for such a folder with its children's listings (`--filter=tree:1`), which spares the request a level of its own
# would cost. That request is the longest chain of a publish (root, folders, records, the record blob), and on a
# real network each is a round trip; the cost is the other environments' listings, beside the one read.
LISTED_WITH_CHILDREN = frozenset({RECORD_DIR})
STOP_WAIT = 5.0  # seconds close() waits for a stopped fetch ahead to end


class Ahead(threading.Thread):
    """A clone's fetch ahead (Clone.fetch_ahead), in a thread of its own (a daemon: a fetch that hangs never keeps
    plato from exiting). It fetches the tips first, and says so (`tips()` waits for that and no longer), then
    walks its paths in each tip while the caller goes on; Clone.fetch_paths waits for the walk when it needs it."""

    def __init__(self, clone: Clone, branches: Sequence[str], paths: Sequence[str]) -> None:
        super().__init__(daemon=True, name="plato-fetch-ahead")
        self.clone, self.branches, self.paths = clone, list(branches), list(paths)
        self.fetched: dict[str, str | None] = {}  # branch -> tip, each handed out once
        self.walking: set[str] = set()  # the tips whose paths this walks
        self.error: BaseException | None = None  # of the tips: raised again to whoever asks for one
        self.walk_failed = False  # the walk's own error is not raised: fetch_paths walks again instead
        self.ready = threading.Event()

    def run(self) -> None:
        try:
            for branch in self.branches:
                self.fetched[branch] = self.clone._fetch(branch)
            if self.paths and self.clone.trees_filtered:
                self.walking = {tip for tip in self.fetched.values() if tip}
        except BaseException as e:
            self.error = e
        finally:
            self.ready.set()
        try:
            for tip in sorted(self.walking):
                self.clone._walk(tip, self.paths)
                files = ls_tree(self.clone.git, tip, self.paths).values()
                self.clone.prefetch(oid for mode, oid in files if mode != "160000")
        except BaseException:
            self.walk_failed = True

    def tips(self) -> dict[str, str | None]:
        self.ready.wait()
        if self.error is not None:
            raise self.error
        return self.fetched


PIPELINED = 512  # object ids asked of `cat-file --batch` at once: 512 x 41 bytes, well inside a 64 KiB pipe


class BlobReader:
    """A long-running `git cat-file --batch`: many blobs read through one process, started at the first read (a
    publish whose files are all unchanged reads none)."""

    def __init__(self, git: Git) -> None:
        self.git = git
        self.proc: subprocess.Popen[bytes] | None = None

    def read(self, oid: str) -> bytes:
        return self.read_many([oid])[0]

    def read_many(self, oids: list[str]) -> list[bytes]:
        """Several objects, asked for at once and read back in order: one round trip instead of one per object.
        At most PIPELINED are asked for at a time, so the requests always fit the pipe (git answers as it reads,
        and must not be left blocked writing while this process is still writing)."""
        if not oids:
            return []
        if self.proc is None:
            # git keeps up to 96 MB of delta bases per reader by default; a fleet re-render runs one reader per
            # worker, and 8 MB reads the records and trees of 5,000 apps as fast (45 -> 11 MB each, measured).
            self.proc = self.git.popen(
                "-c", "core.deltaBaseCacheLimit=8m", "cat-file", "--batch", stdin=subprocess.PIPE
            )
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        out: list[bytes] = []
        for i in range(0, len(oids), PIPELINED):
            chunk = oids[i : i + PIPELINED]
            stdin.write(b"".join(oid.encode() + b"\n" for oid in chunk))
            stdin.flush()
            for oid in chunk:
                header = stdout.readline().split()
                if len(header) != 3:
                    raise RepoError(f"git cat-file: object {oid} is missing from the clone", hint="run again")
                out.append(stdout.read(int(header[2])))
                stdout.read(1)  # the newline after each object
        return out

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()
        self.git.done(self.proc)


def repo_error(args: tuple[str, ...] | list[str], stderr: str) -> RepoError:
    text = mask_secrets(stderr.strip())
    low = text.lower()
    named = command_args(args)  # name the command, not the settings given to it
    what = " ".join(mask_secrets(a) for a in named[:2])
    read_only = ("not exported", "access denied", "repository not found", "permission to")
    if named and named[0] == "push" and any(m in low for m in read_only):
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


def ensure_local_repo(repo: str, branch: str, create: bool = True) -> None:
    """`--repo PATH` that does not exist yet: create a bare repository there (the README's first run). Not for a
    command that reads what was published (`create=False`: promote, rollback): a mistyped path is an error there,
    not a new empty repository."""
    if is_url(repo):
        return
    path = Path(repo)
    if not path.exists() and not create:
        raise UserError(f"deployment repository {repo} does not exist", hint="check --repo: nothing was published")
    if path.exists():
        if not (path / "HEAD").exists() and not (path / ".git").exists():
            raise UserError(f"--repo {repo} exists but is not a git repository", hint="give a repository or a new path")
        return
    path.mkdir(parents=True)
    g = Git(path)
    g.run("init", "--bare", "-q", f"--initial-branch={branch}")


def _quote_config(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sweep_abandoned() -> None:
    """Remove clones left by runs that were killed outright (SIGKILL runs no cleanup): their process is gone."""
    for path in Path(tempfile.gettempdir()).glob("plato-checkout-*-*"):
        pid = path.name.split("-")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


class Clone:
    """A private bare repository that fetches branches of the deployment repository: no work tree, no index.

    A fetch is shallow (the tip only) and asks for no blobs (`--filter=blob:none`): where the server allows
    filters, it downloads the trees of one commit and then, in one more request, only the blobs it reads; where it
    does not (the default of a self-hosted git), the server ignores the filter and the shallow fetch brings the
    tip's blobs too. `blobs=True` fetches them always (a fleet re-render reads every record).

    `paths=True` (a publish, which reads a few paths of a repository that may hold thousands of apps) fetches the
    tip's root tree and the folders in it only (`--filter=tree:2`); `fetch_paths` then downloads the trees on the
    way to the paths it reads, one request per level below that, so that what a publish downloads does not grow
    with the repository (beyond the top folders' listings).

    `fetch_ahead` starts fetching in the background, while the caller renders: a publish's requests to the
    server then wait behind the rendering instead of after it (see fetch_ahead).

    A repository given as a local path is read in place: the clone borrows its objects (objects/info/alternates),
    and a fetch, neither shallow nor filtered, finds the tip already there and copies nothing (git's own check
    that the objects are there and connected, which the repository's refs make short). Without that, a fetch
    from a local repository that does not allow filters (any `git init --bare`) copied the whole tip: 5.4 s a
    publish into 10,000 apps, against 0.5 s. A file:// URL is fetched as any URL is."""

    def __init__(self, repo: str, blobs: bool = False, paths: bool = False) -> None:
        self.url = remote_url(repo)
        self.borrowed = local_objects(repo)  # read in place (see above)
        self.blobs = blobs
        self.paths = paths and not blobs
        self.filtered = False  # the server honoured the filter: blobs are fetched when they are read
        self.trees_filtered = False  # ... and trees too: fetch_paths downloads those on the way to what is read
        self.fetched: set[str] = set()  # blobs already downloaded (a retry on a new tip reads mostly the same)
        self.whole: set[str] = set()  # folders downloaded with everything in them (and all they hold)
        self.listed: set[str] = set()  # folders downloaded with their children's listings (LISTED_WITH_CHILDREN)
        self.filters = [*TREE_FILTERS, "blob:none"] if self.paths else [] if self.blobs else ["blob:none"]
        if self.borrowed is not None:
            self.filters = []  # every object is there already
        self.top = 0
        self.ahead: Ahead | None = None
        self.rejected = ""  # what the remote said to the last push it refused as a lost race
        timeout = git_timeout()  # a setting that is no number of seconds is refused before anything is made
        sweep_abandoned()
        self.dir = Path(tempfile.mkdtemp(prefix=f"plato-checkout-{os.getpid()}-"))
        self.git = Git(self.dir, timeout)

    def __enter__(self) -> Clone:
        try:
            self.git.run("init", "-q", "--bare")
            # Written directly rather than with `git config` calls: each git process costs about 10 ms. A private
            # clone removed at the end needs no fsync, no loose objects (fetch and fast-import would start
            # unpack-objects for a few objects) and no maintenance.
            config = [
                "[core]",
                "\tautocrlf = false",
                "\tfsync = none",
                "[fetch]",
                "\tunpackLimit = 1",
                "[fastimport]",
                "\tunpackLimit = 0",
                "[maintenance]",
                "\tauto = false",
                "[gc]",
                "\tauto = 0",
                '[remote "origin"]',
                f"\turl = {_quote_config(self.url)}",
            ]
            with (self.dir / "config").open("a", encoding="utf-8") as f:
                f.write("\n".join(config) + "\n")
            if self.borrowed is not None:
                (self.dir / "objects" / "info" / "alternates").write_text(f"{self.borrowed}\n", encoding="utf-8")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self.ahead is not None and self.ahead.is_alive():  # not wanted any more (the render failed, say)
                self.git.stop()
                self.ahead.join(STOP_WAIT)  # a daemon thread: should git not end, plato need not wait for it
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def fetch_ahead(self, branches: Sequence[str], paths: Sequence[str]) -> Clone:
        """Start fetching these branches' tips, then the trees and files at `paths` in each, in the background
        (git does the work; the thread waits on it). The next `fetch` of one of these branches returns its tip as
        soon as it is there, or raises what fetching it raised: an unreachable repository is reported where it
        was before, after the input has been read and found good. fetch_paths leaves these paths to the thread
        and waits for it at the end. What is fetched ahead is only ever a head start: objects are content, and
        everything a publish reads is read from the tip itself."""
        self.ahead = Ahead(self, branches, paths)
        self.ahead.start()
        return self

    def fetch(self, branch: str) -> str | None:
        """The remote tip of a branch, fetched (None when the branch does not exist yet)."""
        if self.ahead is not None:
            tips = self.ahead.tips()
            if branch in tips:
                return tips.pop(branch)  # once: a retry fetches the tip again
        return self._fetch(branch)

    def _fetch(self, branch: str) -> str | None:
        ref = f"refs/remotes/origin/{branch}"
        filters = self.filters
        shallow = [] if self.borrowed is not None else ["--depth=1"]  # deepening would copy the tip again
        for i, kind in enumerate(filters or [""]):
            spec = [*shallow, "--no-tags", *([f"--filter={kind}"] if kind else [])]
            status, _, err = self.git.run("fetch", "-q", *spec, "origin", f"+refs/heads/{branch}:{ref}", check=False)
            if status == 0 or "couldn't find remote ref" in err.lower() or i + 1 == len(filters) or "filter" not in err:
                break  # else: a server that allows filters but not this one (tree filters, or deep ones): the next
        self.filters = filters[i:]  # a kind the server refused is not asked for again (a retry's fetch)
        if status != 0:
            if "couldn't find remote ref" in err.lower():
                return None  # an empty repository, or a new branch
            raise repo_error(["fetch", "origin"], err)
        self.filtered = bool(filters) and "filtering not recognized" not in err.lower()
        self.trees_filtered = self.filtered and kind.startswith("tree:")
        self.top = int(kind.removeprefix("tree:")) if self.trees_filtered else 0  # the depth the tip came with
        return self.git.out("rev-parse", ref)

    def fetch_paths(self, rev: str, paths: Iterable[str]) -> None:
        """After a fetch with trees filtered out: download the trees on the way to `paths` (their parent folders),
        one request per level of depth below the top folders (which came with the tip). A folder wanted whole
        (ending in '/') comes in the same round trip with everything in it, trees and files (`--no-filter`, a
        request of its own beside the `tree:0` one of the others, both at once): a publish compares all of it,
        and this spares the request for its files. Nothing else of the tree is downloaded: a repository of 10,000
        apps costs what one of 100 does. (Were git ever to read an object that is not there, it would fetch it
        itself, slowly: nothing would be wrong.)

        Paths a fetch ahead is walking in this commit are left to it, and waited for at the end."""
        ahead, paths = self.ahead, list(paths)
        if ahead is None or rev not in ahead.walking:
            self._walk(rev, paths)
            return
        # The thread walks through every folder on the way to its paths: those are left to it too (two walks of
        # one folder would each see the other's trees as fetched before they are, and git would fetch them itself).
        covered = folders_above(ahead.paths) | set(ahead.paths)
        self._walk(rev, [p for p in paths if p.endswith("/") or p not in covered])
        ahead.join()
        if ahead.walk_failed:
            self._walk(rev, ahead.paths)

    def _walk(self, rev: str, paths: list[str]) -> None:
        """fetch_paths, for the paths given."""
        if not self.trees_filtered:
            return
        deep = {p.rstrip("/") for p in paths if p.endswith("/")}  # folders wanted whole, and the folders in them
        walk = folders_above(paths)
        level = {"": self.tree_id(rev)}
        reader = BlobReader(self.git)
        try:
            for depth in itertools.count():
                if not level:
                    break
                if depth >= self.top:
                    self._fetch_level({p: o for p, o in level.items() if o not in self.whole}, deep)
                below: dict[str, str] = {}
                for path, oid in level.items():
                    inside, listed = oid in self.whole, oid in self.listed
                    for name, mode, child in tree_items(reader.read(oid)):
                        if inside:  # it came with its folder
                            self.whole.add(child)
                            self.fetched.add(child)
                        elif listed and mode == "040000":  # its listing came with its folder
                            self.fetched.add(child)
                        sub = f"{path}/{name}" if path else name
                        if mode != "040000":
                            continue
                        if path in deep:
                            deep.add(sub)
                        if sub in walk or sub in deep:
                            below[sub] = child
                level = below
        finally:
            reader.close()

    def _fetch_level(self, level: dict[str, str], deep: set[str]) -> None:
        """One level of fetch_paths (path -> tree id), all at once: the folders wanted whole with all they hold
        (`deep`), those of LISTED_WITH_CHILDREN with their children's listings, and the others' trees alone."""
        whole = [o for p, o in level.items() if p in deep]
        listed = [o for p, o in level.items() if p not in deep and p in LISTED_WITH_CHILDREN]
        trees = [o for p, o in level.items() if p not in deep and p not in LISTED_WITH_CHILDREN]
        self._fetch_objects(
            (trees, "--filter=tree:0", self.fetched),
            (listed, "--filter=tree:1", self.listed),
            (whole, "--no-filter", self.whole),
        )

    def _fetch_objects(self, *requests: tuple[Iterable[str], str, set[str]]) -> None:
        """Objects by id, one request per (ids, filter flag, the set of ids already fetched that way), all at
        once; ids already fetched are not asked for again."""
        calls = []
        for oids, flag, done in requests:
            wanted = sorted(set(oids) - done)
            done.update(wanted)
            self.fetched.update(wanted)
            if wanted:
                calls.append(((*FETCH_OIDS, flag, "--stdin", "origin"), "\n".join(wanted).encode() + b"\n"))
        self.git.run_together(calls)

    def prefetch(self, oids: Iterable[str]) -> None:
        """Download these blobs in one request (a filtered clone has none of them yet)."""
        if self.filtered:
            self._fetch_objects((oids, "--filter=blob:none", self.fetched))

    def tree_id(self, rev: str) -> str:
        return self.git.out("rev-parse", f"{rev}^{{tree}}")

    def read_file(self, rev: str | None, rel: str) -> bytes | None:
        """One regular file of a commit: None when there is no commit, or no regular file at `rel`."""
        if rev:
            self.fetch_paths(rev, [rel])
        mode, oid = ls_tree(self.git, rev, [rel]).get(rel, ("", "")) if rev else ("", "")
        if mode not in ("100644", "100755"):
            return None
        self.prefetch([oid])
        reader = BlobReader(self.git)
        try:
            return reader.read(oid)
        finally:
            reader.close()

    def push(self, sha: str, branch: str, force: bool = False, lease: str | None = None) -> None:
        """Push a commit to a branch. `lease` makes it a forced push that lands only if the branch still points
        where this run read it ('' for "does not exist yet"); `force` one that lands whatever the branch holds.
        A lost race raises PushRejected."""
        ref = f"refs/heads/{branch}"
        flags = [f"--force-with-lease={ref}:{lease}"] if lease is not None else []
        spec = f"{'+' if force else ''}{sha}:{ref}"
        status, out, err = self.git.run("push", "--porcelain", *flags, "origin", spec, check=False)
        if status == 0:
            if not landed(out, ref):
                raise RepoError(f"git push: the deployment repository did not confirm {ref}", hint="run again")
            self._confirm(sha, ref)
            return
        race, why = push_outcome(out, err)
        if race:
            self.rejected = why
            raise PushRejected(why)
        if "refused the push" in why:
            raise RepoError(
                f"git push: {mask_secrets(why)}",
                hint="nothing was published; the repository's own rules (hooks, branch protection) decide what it "
                "accepts",
            )
        raise repo_error(["push", "origin"], err + "\n" + out)

    def _confirm(self, sha: str, ref: str) -> None:
        """A success is a landing: the branch is read back after the push. The push's own report says only that
        the ref was updated; a server-side hook (post-receive, a mirror's sync) can move it again before plato
        exits. The branch holds the commit when it points at it, or at a descendant (another run pushed on top in
        the meantime, which is a landing too: it is looked for among the last CONFIRM_DEPTH commits). One more
        round trip per push, the price of exit 0 meaning what it says."""
        status, out, err = self.git.run("ls-remote", "origin", ref, check=False)
        if status != 0:
            raise repo_error(["ls-remote", "origin"], err)
        held = out.split("\t", 1)[0].strip()
        if held == sha or (held and self._descends(ref, sha)):
            return
        raise RepoError(
            f"git push: the deployment repository accepted {ref} but does not hold the commit plato pushed "
            f"({sha[:12]}): the branch now points at {held[:12] or 'nothing'}",
            hint="something on the server moved the branch after the push (a post-receive hook, a mirror); plato "
            "reports nothing as published; check the repository's hooks, then run again",
        )

    def _descends(self, ref: str, sha: str) -> bool:
        """The branch's current tip has `sha` among its last CONFIRM_DEPTH commits (commits only are fetched)."""
        seen = "refs/plato/confirm"
        depth = [] if self.borrowed is not None else [f"--depth={CONFIRM_DEPTH}"]
        status, _, _ = self.git.run(
            "fetch", "-q", "--no-tags", *depth, "--filter=tree:0", "origin", f"+{ref}:{seen}", check=False
        )
        if status != 0:
            return False
        return self.git.run("merge-base", "--is-ancestor", sha, seen, check=False)[0] == 0

    def fast_import(self, stream: bytes) -> dict[str, str]:
        """Run `git fast-import` on a stream; its marks (':1' -> commit id)."""
        marks = self.dir / "PLATO_MARKS"
        self.git.run_bytes("fast-import", "--quiet", "--force", f"--export-marks={marks}", input=stream)
        return dict(line.split(" ", 1) for line in marks.read_text().split("\n") if line)


def landed(porcelain: str, ref: str) -> bool:
    """`git push --porcelain` reported this ref updated (or already there): ' ', '+', '*' or '=' before it."""
    for line in porcelain.splitlines():
        flag, _, rest = line.partition("\t")
        if rest.split("\t")[0].endswith(":" + ref):
            return flag in (" ", "+", "*", "=")
    return False


def commit_time(sha: str) -> int | None:
    """When a source commit was made, read from the checkout CI runs in (None when it is not there)."""
    try:
        out = subprocess.run(
            ["git", "show", "-s", "--format=%ct", sha], capture_output=True, text=True, timeout=10, check=False,
            env=_env(),
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip().isdigit() else None
