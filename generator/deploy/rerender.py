"""Re-rendering every recorded (env, app) of a deployment repository with new rules: the fleet update.

plato keeps no database: each publish recorded its inputs under `.plato/inputs/`, so a rule change can re-render
every app from the repository alone. Rendering runs on every core when there is more than a little work; each
worker loads and compiles the rules once.

The fleet is never checked out: the deployment repository is fetched (one shallow pack), its files are listed from
the tree and compared by object id (a file whose new bytes hash to the id it has is unchanged and never read), the
few changed files are read through one `git cat-file --batch` per worker, and each environment's commit is written
by one `git fast-import`. A fleet of thousands of apps changes a few files each; writing and re-indexing every file
of a work tree would cost more than rendering them.

Memory stays flat in the fleet's size: apps go to the workers in small batches with a bounded number in flight,
each worker is given only the tree entries of its apps' paths (it lists anything else it needs from git), and each
finished app's files are written as blobs at once; what is kept per app is what the report and the commit need
(counts, paths, blob ids).

Incremental: an app whose record says it was written by this plato version, from these inputs, with rules whose
digests have not changed, is not rendered; the digest of what its write left is compared with the tree's entries
(no blob read), and only an app whose files were edited by hand is rendered to restore them. `--full` renders all.

Shards: `--shard I/N` takes the apps whose hash of env/app falls in share I of N (stable whatever the listing
order), and commits only their paths; a push that lost a race to another shard is re-anchored on the new tip with
the same blobs (no render) when the other commit left this shard's paths alone.
"""

from __future__ import annotations

import bisect
import contextlib
import fnmatch
import gc
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import signal
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator import __version__
from generator.check.admission import old_objects
from generator.create.emit import documents_of
from generator.create.render import OWNER_MARKER
from generator.deploy.diff import ChangeSet, compare
from generator.deploy.git import BlobReader, Clone, Git, PushRejected, TreeWalk, blob_id, ls_tree
from generator.deploy.ownership import (
    REGULAR,
    TREE,
    check_entries,
    check_owner,
    check_written_paths,
    desired,
    moved_from,
    on_the_way,
    provenance_paths,
)
from generator.deploy.record import (
    RECORD_DIR,
    inputs_digest,
    make_record,
    match_digest,
    output_digest,
    read_record,
    record_path,
    tree_digest,
)
from generator.deploy.transaction import BlobWriter, Commit, Edit, Options, commit_message, write_commits
from generator.deploy.tree import GitTree, prefixes
from generator.errors import PlatoError, UserError

if TYPE_CHECKING:
    from generator.pipeline import Inputs

PARALLEL_THRESHOLD = 24  # below this, starting worker processes costs more than it saves
BATCH = 8  # apps per task sent to a worker
PLAN_BATCH = 256  # records read, and their paths listed, at once
IN_FLIGHT = 4  # tasks per worker submitted ahead: what bounds the results held at once
KEEP_SETS = 300  # change sets kept per environment for its PR body and summary (a body shows fewer anyway)

Entries = dict[str, tuple[str, str]]


@dataclass
class AppResult:
    """What a worker hands back for one app (its files' bytes travel once, to be written as blobs)."""

    env: str
    app: str
    changeset: ChangeSet | None = None
    writes: dict[str, bytes] = field(default_factory=dict)  # files whose bytes change (or that are new)
    removes: list[str] = field(default_factory=list)  # files that go
    owned: list[str] = field(default_factory=list)  # what it may touch: its paths now and those it moves away from
    rules_changed: list[str] = field(default_factory=list)
    # The new record (and provenance files) of an app whose files do not change but whose record is stale (the
    # rules' digests moved): written with its environment's commit, so that later runs skip the app again.
    refresh: dict[str, bytes] = field(default_factory=dict)
    error: str = ""


class Changed:
    """What is kept of an app that changes until its commit: its paths and the ids of the blobs written, packed
    (a fleet of thousands of changed apps keeps a few hundred bytes each), and what the report says."""

    __slots__ = ("app", "changeset", "env", "line", "packed", "reason", "risks", "rules_changed")

    def __init__(
        self,
        env: str,
        app: str,
        owned: list[str],
        written: dict[str, str] | None = None,  # path -> blob id
        removes: list[str] | None = None,
        rules_changed: list[str] | None = None,
        counts: dict[str, dict[str, int]] | None = None,
        risks: list[str] | None = None,
        reason: str = "",
        changeset: ChangeSet | None = None,  # for the first KEEP_SETS apps of an environment: its PR body's
    ) -> None:
        self.env, self.app, self.reason, self.changeset = env, app, reason, changeset
        self.packed = zlib.compress(json.dumps([owned, written or {}, removes or []]).encode(), 1)
        self.rules_changed = rules_changed or []
        self.risks = risks or []
        self.line = f"- {app}: " + ", ".join(f"{k} {sum(v.values())}" for k, v in (counts or {}).items())

    def unpack(self) -> tuple[list[str], dict[str, str], list[str]]:
        """(owned, written, removes)"""
        owned, written, removes = json.loads(zlib.decompress(self.packed))
        return owned, written, removes


@dataclass
class Impact:
    """The counts of a re-render, gathered as the apps finish."""

    apps: int = 0
    envs: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: list[Changed] = field(default_factory=list)
    refreshed: list[Changed] = field(default_factory=list)  # records only (AppResult.refresh)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (env, app, error)
    skipped: Counter[str] = field(default_factory=Counter)  # why apps were not rendered
    rendered: Counter[str] = field(default_factory=Counter)  # why apps were rendered

    def env(self, name: str) -> dict[str, Any]:
        return self.envs.setdefault(
            name, {"apps": 0, "changed": 0, "failed": 0, "kinds": {}, "rules": {}, "skipped": {}, "rendered": {}}
        )

    def count(self, env: str, reason: str, skipped: bool) -> None:
        self.apps += 1
        e = self.env(env)
        e["apps"] += 1
        (self.skipped if skipped else self.rendered)[reason] += 1
        where = e["skipped" if skipped else "rendered"]
        where[reason] = where.get(reason, 0) + 1

    def add(self, r: AppResult, reason: str, writer: BlobWriter | None) -> None:
        e = self.env(r.env)
        if r.error:
            e["failed"] += 1
            self.failed.append((r.env, r.app, r.error))
            return
        cs = r.changeset
        if cs is not None and cs.empty and r.refresh and writer:
            written = {p: writer.write(b) for p, b in r.refresh.items()}
            self.refreshed.append(Changed(r.env, r.app, r.owned, written))
        if cs is None or cs.empty:
            return
        e["changed"] += 1
        counts = cs.counts()
        for kind, n in counts.items():
            k = e["kinds"].setdefault(kind, {"added": 0, "changed": 0, "removed": 0})
            for s in k:
                k[s] += n[s]
        for rule in r.rules_changed:
            e["rules"][rule] = e["rules"].get(rule, 0) + 1
        written = {p: writer.write(b) for p, b in r.writes.items()} if writer else {}
        kept = cs if e["changed"] <= KEEP_SETS else None
        self.changed.append(Changed(r.env, r.app, r.owned, written, r.removes, r.rules_changed, counts, cs.risks,
                                    reason, kept))  # fmt: skip

    def by_env(self) -> dict[str, dict[str, Any]]:
        return dict(sorted(self.envs.items()))


def matches(ctx: dict[str, str], select: dict[str, str]) -> bool:
    return all(fnmatch.fnmatchcase(ctx.get(k, ""), v) for k, v in select.items())


def parse_select(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise UserError(
                f"--select {part!r} is not key=value", file="--select", hint="e.g. --select env=production,app=shop"
            )
        if key.strip() in out:
            raise UserError(
                f"--select names {key.strip()} twice",
                file="--select",
                hint=f"one value per key; a glob matches several: --select {key.strip()}='prod*'",
            )
        out[key.strip()] = value.strip()
    return out


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`--shard I/N`: share I (1..N) of N."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise UserError(
            f"--shard {text!r} is not I/N with 1 <= I <= N",
            file="--shard",
            hint="e.g. --shard 2/4 for the second of four shards (in GitHub Actions: --shard ${{ matrix.shard }}/4)",
        )
    return int(m.group(1)), int(m.group(2))


def in_shard(env: str, app: str, shard: tuple[int, int] | None) -> bool:
    """A stable share: by a hash of env/app, so that every shard agrees whatever the order of the listing."""
    if shard is None:
        return True
    h = int.from_bytes(hashlib.sha256(f"{env}/{app}".encode()).digest()[:8], "big")
    return h % shard[1] == shard[0] - 1


def _under(view: GitTree, rel: str) -> list[str]:
    """The listed files at `rel` (a folder's, recursively), without the symlink check (the worker makes it)."""
    if not rel.endswith("/"):
        return [rel] if rel in view.entries else []
    start = bisect.bisect_left(view.paths, rel)
    return view.paths[start : bisect.bisect_left(view.paths, rel[:-1] + "0")]


def _around(paths: list[str]) -> list[str]:
    """The ownership markers of the folders around the paths (as check_owner reads them)."""
    return sorted({"/".join(p[:i]) + "/" + OWNER_MARKER for rel in paths for p in [rel.rstrip("/").split("/")[:-1]]
                   for i in range(1, len(p) + 1)})  # fmt: skip


def cut(view: GitTree, paths: list[str]) -> tuple[Entries, list[str]]:
    """What a worker needs of the tree for an app whose paths are `paths` (its record's): the entries at and under
    them, on the way to them and the markers around them, and the paths that this covers."""
    covered = [*paths, *_around(paths), *on_the_way(paths)]
    return {f: view.entries[f] for rel in covered for f in _under(view, rel)}, covered


class SliceTree(GitTree):
    """A worker's view of the tree: the entries the parent cut for the app, and `git ls-tree` of the tip for
    anything else (the paths of an app that the new rules move)."""

    def __init__(self, entries: Entries, covered: list[str], reader: BlobReader, tip: str) -> None:
        super().__init__(entries, reader)
        self.tip = tip
        self.read_before: dict[str, bytes] = {}  # files read already (the last write's documents, then the diff)
        self.folders = tuple(c for c in covered if c.endswith("/"))
        self.exact = {c for c in covered if not c.endswith("/")}

    def _cover(self, rel: str) -> None:
        if rel in self.exact or rel.startswith(self.folders) or (rel + "/").startswith(self.folders):
            return
        git = self.reader.git
        got = ls_tree(git, self.tip, [rel]) if self.tip else {}
        ahead = prefixes(rel)[:-1]
        if self.tip and ahead:
            got.update((p, e) for p, e in ls_tree(git, self.tip, ahead, recursive=False).items() if e[0] != TREE)
        self.entries.update(got)
        self.paths = sorted(self.entries)
        self.exact.update(ahead)
        if rel.endswith("/"):
            self.folders += (rel,)
        else:
            self.exact.add(rel)

    def _check(self, rel: str) -> None:
        self._cover(rel)
        super()._check(rel)

    def read_many(self, rels: list[str]) -> dict[str, bytes]:
        new = [r for r in rels if r not in self.read_before]
        if new:
            self.read_before.update(super().read_many(new))
        return {r: self.read_before[r] for r in rels}

    def entry(self, rel: str) -> tuple[str, str] | None:
        self._cover(rel)
        return self.entries.get(rel)

    def is_regular(self, rel: str) -> bool:
        self._cover(rel)
        return super().is_regular(rel)

    def holds(self, rel: str, data: bytes) -> bool:
        self._cover(rel)
        return super().holds(rel, data)


# Worker state: each process loads and compiles the rules once, and reads the repository through its own
# `git cat-file --batch`.
_W: dict[str, Any] = {}

Job = tuple[str, str, Entries, list[str], bool]  # record path, record blob id, entries cut, paths covered, diffs


# The parent's pipes to its own git processes (the planner's `cat-file`, the blob writer's `fast-import`): a
# worker forked while they are open closes its copies first, or those processes would never see their input end.
PARENT_PIPES: set[int] = set()


def _worker_init(rules_dir: str | None, workdir: str, tip: str) -> None:
    # The parent stops the workers when it is interrupted or terminated; a worker does not unwind on its own (a
    # Ctrl-C reaches the whole process group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for fd in PARENT_PIPES:
        with contextlib.suppress(OSError):
            os.close(fd)
    PARENT_PIPES.clear()
    _init(rules_dir, workdir, tip)
    _keep_loaded()  # for the worker's life: it ends with the pool


def _init(rules_dir: str | None, workdir: str, tip: str) -> None:
    from generator.match.rules import load_rules

    _W["dir"] = Path(rules_dir) if rules_dir else None
    _W["rules"] = load_rules(_W["dir"])  # held, not looked up per app (the lookup lists and stats the folder)
    _W["reader"] = BlobReader(Git(Path(workdir)))
    _W["tip"] = tip


@contextlib.contextmanager
def _loaded_kept() -> Iterator[None]:
    """What is loaded before the apps render (modules, rules, compiled templates) lives as long as the
    re-render: the collector stops walking it, and runs less often over the apps' short-lived objects (N=300,
    one worker: 0.77 s of collection -> 0.14 s). Undone after, for whatever the process does next."""
    threshold = _keep_loaded()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def _keep_loaded() -> tuple[int, int, int]:
    """See _loaded_kept (a worker keeps it for its life); the collector's thresholds before."""
    threshold = gc.get_threshold()
    gc.collect()  # what is garbage already is not kept
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    return threshold


def render_batch(jobs: list[Job]) -> list[AppResult]:
    return [render_one(job) for job in jobs]


def render_one(job: Job) -> AppResult:
    """Re-render one recorded app and compare it with the repository's tree (runs in a worker). Files whose new
    bytes have the object id they have now are not read."""
    from generator.pipeline import inputs_from_record

    label, oid, entries, covered, diffs = job
    view = SliceTree(entries, covered, _W["reader"], _W["tip"])
    parts = label.split("/")
    result = AppResult(parts[-2], parts[-1].removesuffix(".json"))
    try:
        record = read_record(view.reader.read(oid), label)
        inputs = inputs_from_record(record, label, _W.get("dir"))
        # The pipeline's one composition with the worker's rule set; the policies are judged in _compare, against
        # what the tip holds. A denied app fails, the others go on.
        wrote = checked_before(record, oid, view)
        checked = _LastWrite(wrote, view) if wrote else None
        tree = inputs.render(rules=_W["rules"], quiet=True, admit=False, checked=checked, recorded=bool(wrote))
        used = tree.plan.rules_used()
        before = record.get("rules") or {}
        result.rules_changed = sorted(r for r, d in used.items() if before.get(r) != d)
        new_record = make_record(
            tree.plan.context,
            inputs.workloads,
            (record.get("source") or {}).get("time"),
            inputs.files,
            used,
            tree.owned,
            record.get("given"),
            record.get("promoted"),
            output=output_digest(tree.files),
            match=(match := match_digest(_W["rules"])),
        )
        same = checked is not None and (record.get("digests") or {}).get("match") == match
        _compare(view, inputs, tree, record, desired(tree, new_record, checked), diffs, result,
                 _as_written(tree, checked) if same and checked is not None else frozenset())  # fmt: skip
    except PlatoError as exc:
        result.error = exc.render()
    return result


class _LastWrite:
    """What the app's last write left (`wrote`: blob ids by path), all of it written and checked by this version
    of plato (see checked_before). Called with a file: whether it holds those very bytes (the check stage,
    desired() and _as_written ask of the same bytes: each is hashed once). documents(path): the documents of the
    YAML file that write left at the path, as text (guard.LastWrite), read once (and again by no one: see
    SliceTree)."""

    def __init__(self, wrote: dict[str, str], view: SliceTree) -> None:
        self.wrote, self.view = wrote, view
        self.seen: dict[str, tuple[bytes, bool]] = {}
        self.docs: dict[str, frozenset[bytes]] = {}

    def __call__(self, path: str, data: bytes) -> bool:
        hit = self.seen.get(path)
        if hit is None or hit[0] is not data:
            oid = self.wrote.get(path)
            hit = self.seen[path] = (data, oid is not None and oid == blob_id(data))
        return hit[1]

    def documents(self, path: str) -> frozenset[bytes]:
        if path not in self.docs:
            # The tree holds what the write left at each of its paths (checked_before): the file there is it.
            left = path in self.wrote and path.endswith((".yaml", ".yml"))
            self.docs[path] = frozenset(documents_of(self.view.read(path))) if left else frozenset()
        return self.docs[path]


def _as_written(tree: Any, checked: _LastWrite) -> frozenset[int]:
    """The objects of the tree (by id) that the app's last write left as they are: each is in a file that holds
    that write's bytes, or is a document written to the text it had there. The policies of that write judged and
    admitted them (see policy.evaluate's `judged`), in the context of the app's Namespace: none is when the
    Namespace is not one of them."""
    kept: set[int] = set()
    for path, (data, docs) in tree.documents.items():
        if checked(path, data):
            kept.update(id(doc) for doc in docs)
            continue
        known = checked.documents(path)
        texts = documents_of(data) if known else []
        if len(texts) == len(docs):
            kept.update(id(doc) for doc, text in zip(docs, texts, strict=True) if text in known)
    if any(obj.get("kind") == "Namespace" and id(obj) not in kept for obj in tree.objects):
        return frozenset()
    return frozenset(kept)


def _compare(view: SliceTree, inputs: Inputs, tree: Any, record: dict[str, Any], want: dict[str, bytes],
             diffs: bool, result: AppResult, judged: frozenset[int] = frozenset()) -> None:  # fmt: skip
    writes = [*tree.owned, record_path(tree.env, tree.app)]
    # The full listing has no folders: what it holds on the way to a written path is not a folder.
    ahead = {p: e for p in on_the_way(writes) if (e := view.entry(p)) is not None}
    check_entries(ahead, {f: view.entries[f] for rel in writes for f in view.files(rel)}, writes)
    check_owner(view, tree)
    moved = moved_from(view, record.get("owned"), tree)
    result.owned = [*tree.owned, record_path(tree.env, tree.app), *moved]
    current = view.current([f for rel in result.owned for f in view.files(rel)], want)
    inputs.admit(tree, old_objects(current, tree), quiet=True, judged=judged)  # UPDATE of what the tip holds
    executable = view.executable(current)
    result.changeset = compare(tree.env, tree.app, current, want, provenance_paths(tree), with_diffs=diffs,
                               written=tree.written(want), executable=executable)  # fmt: skip
    if not result.changeset.empty:
        result.writes = {f: b for f, b in want.items() if current.get(f) != b or f in executable}
        result.removes = sorted(set(current) - set(want))
    elif current.get(rec := record_path(tree.env, tree.app)) != want[rec]:
        # The record and the provenance it agrees with (the README and metadata name the rules' digest).
        result.refresh = {f: b for f, b in want.items() if current.get(f) != b}


def why_render(record: dict[str, Any], rules: Any, view: GitTree, full: bool) -> str:
    """Why this recorded app must be rendered ('' when it need not: nothing it was made from has changed, and the
    tree still holds what its write left)."""
    digests = record.get("digests")
    if full:
        return "--full"
    if not isinstance(digests, dict):
        return "no digests recorded"
    if record.get("plato") != __version__:
        return "plato version changed"
    if digests.get("inputs") != inputs_digest(record):
        return "record edited"
    now = rule_digests(rules)
    used = record.get("rules") or {}
    if digests.get("match") != match_digest(rules) or not used or any(now.get(r) != d for r, d in used.items()):
        return "rules changed"
    return "" if last_write(record, view) is not None else "hand-edited"


def last_write(record: dict[str, Any], view: GitTree) -> dict[str, str] | None:
    """The blob ids by path of the files at the app's paths (its record aside), if they are exactly what the
    record says its write left (the output digest over the tree's entries: no blob read); else None, a hand edit
    (a file changed, added or removed, or a file or symlink where the app's folders are)."""
    digests = record.get("digests")
    owned = record.get("owned") or []
    if not isinstance(digests, dict) or not isinstance(owned, list):
        return None
    rec = record_path(*record_key(record))
    listed = [(f, *view.entries[f]) for rel in owned if isinstance(rel, str) for f in _under(view, rel) if f != rec]
    if any(p in view.entries for rel in owned if isinstance(rel, str) for p in prefixes(rel)[:-1]):
        return None
    return {f: oid for f, _, oid in listed} if digests.get("output") == tree_digest(listed) else None


def checked_before(record: dict[str, Any], oid: str, view: GitTree) -> dict[str, str]:
    """The files this very version of plato wrote and checked as they left, still there byte for byte (the record,
    at blob `oid`, among them): the record is unedited, and the tree holds exactly what that write left. A file
    re-rendered to the same bytes at the same path is judged as it was then (guard.check_outgoing): it is not
    scanned again.

    Whatever this says, no unchecked byte is written: a file whose bytes the tree holds at its path is no change,
    and no commit writes it. What the version and digests decide is only that a credential the repository already
    holds is still named (a newer plato may find what an older one did not; a hand edit is not plato's write)."""
    digests = record.get("digests")
    if record.get("plato") != __version__ or not isinstance(digests, dict):
        return {}
    if digests.get("inputs") != inputs_digest(record):
        return {}
    files = last_write(record, view)
    return {**files, record_path(*record_key(record)): oid} if files is not None else {}


_RULE_DIGESTS: dict[str, dict[str, str]] = {}


def rule_digests(rules: Any) -> dict[str, str]:
    """Each rule's digest by its reference, once per rule set (a planner asks for every recorded app)."""
    if rules.digest not in _RULE_DIGESTS or not rules.digest:
        _RULE_DIGESTS[rules.digest] = {r.ref: r.digest for r in rules.all_rules()}
    return _RULE_DIGESTS[rules.digest]


def record_key(record: dict[str, Any]) -> tuple[str, str]:
    ctx = record.get("context") or {}
    return str(ctx.get("env", "")), str(ctx.get("app", ""))


def listing(walk: TreeWalk | None, paths: list[str]) -> Entries:
    """The entries of the tip a batch of apps needs (what `cut` gives a worker): at and under their paths and the
    markers around them, and what lies on the way to them (folders left out, as in a full listing). Listed per
    batch, so that the parent never holds the whole fleet's listing."""
    if walk is None or not paths:
        return {}
    found = walk.listed(sorted({*paths, *_around(paths)}))
    for rel in on_the_way(paths):
        entry = walk.entry(rel)
        if entry is not None and entry[0] != TREE:
            found[rel] = entry
    return dict(sorted(found.items()))


@dataclass
class Planner:
    """The recorded apps of the selection and shard, read in batches (each record once here; the workers read
    them again by id): the ones to render become jobs, the others are counted as skipped."""

    git: Git
    tip: str | None
    scope: Scope
    rules: Any
    impact: Impact
    diffs: bool
    selected: int = 0
    root: str = ""  # the tip's tree
    trees: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # read by TreeWalk, kept

    def jobs(self) -> Iterator[tuple[Job, str]]:
        records = ls_tree(self.git, self.tip, [RECORD_DIR + "/"]) if self.tip else {}
        self.root = self.git.out("rev-parse", f"{self.tip}^{{tree}}") if self.tip else ""
        labels = sorted(r for r, (mode, _) in records.items() if r.count("/") == 3 and r.endswith(".json")
                        and mode in REGULAR)  # fmt: skip
        reader = BlobReader(self.git)
        try:
            for i in range(0, len(labels), PLAN_BATCH):
                batch = labels[i : i + PLAN_BATCH]
                blobs = reader.read_many([records[rel][1] for rel in batch])
                loaded = [(rel, read_record(data, rel)) for rel, data in zip(batch, blobs, strict=True)]
                _register(reader.proc)
                yield from self._batch(loaded, records, reader)
        finally:
            reader.close()
            _register(None)

    def _batch(self, loaded: list[tuple[str, dict[str, Any]]], records: Entries, reader: BlobReader
               ) -> Iterator[tuple[Job, str]]:  # fmt: skip
        mine = []
        for rel, record in loaded:
            if not matches(record.get("context", {}), self.scope.select):
                continue
            self.selected += 1
            env, app = rel.split("/")[2], rel.split("/")[3].removesuffix(".json")
            if in_shard(env, app, self.scope.shard):
                owned = [o for o in record.get("owned") or [] if isinstance(o, str)]
                mine.append((rel, record, env, app, [*owned, rel]))
        walk = TreeWalk(reader, self.root, self.trees) if self.tip else None
        view = GitTree(listing(walk, [p for *_, paths in mine for p in paths]), reader)
        for rel, record, env, app, paths in mine:
            same = (env, app) == record_key(record)
            reason = why_render(record, self.rules, view, self.scope.full) if same else "record moved"
            self.impact.count(env, reason or "unchanged", skipped=not reason)
            if reason:
                yield (rel, records[rel][1], *cut(view, paths), self.diffs), reason


def stream(
    workdir: Path, tip: str, jobs: Iterator[tuple[Job, str]], rules_dir: Path | None, workers: int | None
) -> Iterator[tuple[AppResult, str]]:
    """Each job rendered and compared, in order, as the workers finish them: a bounded number of batches in
    flight, so that neither the jobs nor the results pile up. Worker processes start once there is enough to do."""
    init = (str(rules_dir) if rules_dir else None, str(workdir), tip)
    workers = workers or min(os.cpu_count() or 1, 8)
    head = list(itertools.islice(jobs, PARALLEL_THRESHOLD))
    if workers <= 1 or len(head) < PARALLEL_THRESHOLD:
        _init(*init)
        try:
            with _loaded_kept():
                for job, reason in itertools.chain(head, jobs):
                    yield render_one(job), reason
        finally:
            _W.pop("reader").close()
        return
    gc.freeze()  # what the workers inherit is not walked by their collectors (nor copied for it, page by page)
    try:
        yield from _pooled(workers, init, itertools.chain(head, jobs))
    finally:
        gc.unfreeze()


def _pooled(workers: int, init: tuple[str | None, str, str], rest: Iterator[tuple[Job, str]]
            ) -> Iterator[tuple[AppResult, str]]:  # fmt: skip
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init,
                             initargs=init) as ex:  # fmt: skip
        pending: deque[tuple[Future[list[AppResult]], list[str]]] = deque()
        try:
            while batch := list(itertools.islice(rest, BATCH)):
                pending.append((ex.submit(render_batch, [j for j, _ in batch]), [r for _, r in batch]))
                while len(pending) > workers * IN_FLIGHT:
                    done, why = pending.popleft()
                    yield from zip(done.result(), why, strict=True)
            while pending:
                done, why = pending.popleft()
                yield from zip(done.result(), why, strict=True)
        except BaseException:
            # Interrupted, or a result raised: the workers are stopped, not waited for (each holds the others' queue
            # ends and plato's output: left running, they keep whoever reads that output waiting).
            ex.shutdown(wait=False, cancel_futures=True)
            for child in multiprocessing.active_children():
                child.terminate()
            raise


@dataclass
class Published:
    impact: Impact
    commits: dict[str, str] = field(default_factory=dict)  # env -> commit
    branches: dict[str, str] = field(default_factory=dict)  # env -> branch pushed
    attempts: int = 0


@dataclass
class Scope:
    """Which recorded apps a re-render takes, and how."""

    select: dict[str, str] = field(default_factory=dict)
    shard: tuple[int, int] | None = None
    full: bool = False


def rerender(
    opts: Options,
    rules_dir: Path | None,
    scope: Scope,
    dry_run: bool,
    workers: int | None = None,
    progress: Any = None,
    digest: str = "",
) -> Published:
    """Render the apps of the scope from their records and commit the changes in one transaction: one commit per
    environment, pushed at once (push mode) or one branch per environment (pr mode). A push that loses a race is
    made again on the new tip with the same blobs when the other commit left these apps' paths alone, and
    rendered again from the new tip when it did not (the other job published some of these apps)."""
    opts.retry.start()
    with Clone(opts.repo, blobs=True) as clone:
        tip = clone.fetch(opts.branch)
        impact: Impact | None = None
        for attempt in itertools.count(1):
            if impact is None:
                impact = _render(clone, tip, scope, opts, rules_dir, workers, progress if attempt == 1 else None,
                                 dry_run)  # fmt: skip
            result = Published(impact, attempts=attempt)
            if dry_run or not impact.changed:
                return result
            if _land(clone, tip, impact, opts, digest, result, scope.shard):
                return result
            if not opts.retry.wait(attempt):
                hint = "the repository is as it was; run the re-render again"
                raise opts.retry.gave_up(attempt, "the re-render", hint, clone.rejected)
            new_tip = clone.fetch(opts.branch)
            if not _untouched(clone, tip, new_tip, [*impact.changed, *impact.refreshed]):
                impact = None
            tip = new_tip
    raise AssertionError("unreachable")


def _untouched(clone: Clone, old: str | None, new: str | None, apps: list[Changed]) -> bool:
    """The new tip holds what the old one did at every path these apps write, around and on the way to them."""
    if not old or not new:
        return old == new
    paths = sorted({p for a in apps for p in a.unpack()[0]})
    reader = BlobReader(clone.git)
    try:
        before, after = (TreeWalk(reader, clone.tree_id(rev)) for rev in (old, new))
        for i in range(0, len(paths), 1000):
            if before.listed(paths[i : i + 1000]) != after.listed(paths[i : i + 1000]):
                return False

        def at(walk: TreeWalk, path: str) -> tuple[str, str] | None:
            # A folder on the way counts as a folder, whatever else changed in it (other apps' files).
            entry = walk.entry(path)
            return None if entry is None else (entry[0], "" if entry[0] == TREE else entry[1])

        return all(at(before, p) == at(after, p) for p in on_the_way(paths))
    finally:
        reader.close()


def _register(proc: Any) -> None:
    """Note the stdin of a git process this process feeds (None: forget those that ended)."""
    if proc is None:
        PARENT_PIPES.clear()
    elif proc.stdin is not None:
        PARENT_PIPES.add(proc.stdin.fileno())


def _render(
    clone: Clone,
    tip: str | None,
    scope: Scope,
    opts: Options,
    rules_dir: Path | None,
    workers: int | None,
    progress: Any,
    dry_run: bool,
) -> Impact:
    from generator.match.rules import load_rules

    impact = Impact()
    planner = Planner(clone.git, tip, scope, load_rules(rules_dir), impact, opts.mode == "pr")
    writer = None if dry_run else BlobWriter(clone)
    try:
        results = stream(clone.dir, tip or "", planner.jobs(), rules_dir, workers)
        for r, reason in progress(results, 0) if progress else results:
            impact.add(r, reason, writer)
            if writer and writer.proc:
                _register(writer.proc)
    except BaseException:
        if writer:
            writer.abandon()
        raise
    if writer:
        writer.close()
    if not planner.selected:
        raise UserError(
            "no recorded apps" + (f" match --select {scope.select}" if scope.select else " in the repository"),
            file=opts.repo,
            hint="apps are recorded when they are published with plato",
        )
    if impact.failed:
        env, app, error = impact.failed[0]
        raise UserError(
            f"{len(impact.failed)} of {impact.apps} apps fail to render with these rules; nothing was "
            f"written. First: {app} in {env}: {error}",
            hint="`plato preview --rules` on one app shows the whole error",
        )
    return impact


def _land(clone: Clone, tip: str | None, impact: Impact, opts: Options, digest: str, result: Published,
          shard: tuple[int, int] | None = None) -> bool:  # fmt: skip
    """Commit and push the changes, and the refreshed records of the environments that get a commit (an
    environment with no change gets no commit for records alone); False when the push lost a race."""
    _check_paths([*impact.changed, *impact.refreshed])
    envs = sorted({a.env for a in impact.changed})
    pr = opts.mode == "pr"
    part = f"-shard-{shard[0]}-of-{shard[1]}" if shard else ""
    commits = []
    for env in envs:
        apps = [a for a in impact.changed if a.env == env]
        ref = f"refs/heads/plato-rerender-{env}" if pr else "refs/heads/plato-rerender"
        refreshed = [a for a in impact.refreshed if a.env == env]
        edits = [Edit({}, removes, owned, f"{a.env}/{a.app}", written) for a in [*apps, *refreshed]
                 for owned, written, removes in [a.unpack()]]  # fmt: skip
        commits.append(Commit(ref, _message(env, apps, digest, shard, len(refreshed)), edits))
    shas = write_commits(clone, tip, commits, chain=not pr)
    result.commits = dict(zip(envs, shas, strict=True))
    try:
        if pr:
            for env, sha in result.commits.items():
                clone.push(sha, f"plato/rerender/{env}{part}", force=True)
                result.branches[env] = f"plato/rerender/{env}{part}"
        else:
            clone.push(shas[-1], opts.branch)  # one push: every environment's commit or none
            result.branches = {env: opts.branch for env in envs}
    except PushRejected:
        return False
    return True


def _check_paths(apps: list[Changed]) -> None:
    """Each app touches only its own paths, and no two apps write one file (rules that map two apps to one
    place: their ownership markers would say so only after the first one landed)."""
    writer: dict[str, str] = {}
    for a in apps:
        owned, written, removes = a.unpack()
        check_written_paths([*written, *removes], owned, f"{a.env}/{a.app}")
        for path in written:
            other = writer.setdefault(path, f"{a.env}/{a.app}")
            if other != f"{a.env}/{a.app}":
                raise UserError(
                    f"{other} and {a.env}/{a.app} would both write {path} with these rules; nothing was written",
                    hint="two (env, app) pairs would share paths: check the paths of the Environment rules",
                )


def _message(
    env: str, apps: list[Changed], digest: str, shard: tuple[int, int] | None = None, refreshed: int = 0
) -> str:
    rules = sorted({r for a in apps for r in a.rules_changed})
    body = [a.line for a in apps]
    if rules:
        body += ["", "Rules that changed: " + ", ".join(rules)]
    if refreshed:
        body += ["", f"Records brought up to date: {refreshed} (apps whose files these rules do not change)"]
    title = f"re-render {len(apps)} app{'s' if len(apps) != 1 else ''} in {env} with rules {digest}".strip()
    trailers = {"Plato-Env": env, "Plato-Rules": digest, "Plato-Rerender": "true"}
    if shard:
        trailers["Plato-Shard"] = f"{shard[0]}/{shard[1]}"
    return commit_message(title, body, trailers)
