"""Re-rendering every recorded (env, app) of a deployment repository with new rules: the fleet update.

plato keeps no database: each publish recorded its inputs under `.plato/inputs/`, so a rule change can re-render
every app from the repository alone. Rendering runs on every core when there is more than a little work; each
worker loads and compiles the rules once.

The fleet is never checked out: the deployment repository is fetched (one shallow pack), its files are listed from
the tree and compared by object id (a file whose new bytes hash to the id it has is unchanged and never read), the
few changed files are read through one `git cat-file --batch` per worker, and each environment's commit is written
by one `git fast-import`. A fleet of thousands of apps changes a few files each; writing and re-indexing every file
of a work tree would cost more than rendering them.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.check.admission import old_objects
from generator.deploy.diff import ChangeSet, compare
from generator.deploy.git import BlobReader, Clone, Git, PushRejected, ls_tree
from generator.deploy.ownership import (
    check_entries,
    check_owner,
    check_written_paths,
    desired,
    moved_from,
    on_the_way,
    provenance_paths,
)
from generator.deploy.record import RECORD_DIR, make_record, read_record, record_path
from generator.deploy.transaction import Commit, Edit, Options, commit_message, write_commits
from generator.deploy.tree import GitTree
from generator.errors import PlatoError, UserError

PARALLEL_THRESHOLD = 24  # below this, starting worker processes costs more than it saves


@dataclass
class AppResult:
    env: str
    app: str
    changeset: ChangeSet | None = None
    writes: dict[str, bytes] = field(default_factory=dict)  # files whose bytes change (or that are new)
    removes: list[str] = field(default_factory=list)  # files that go
    owned: list[str] = field(default_factory=list)  # what it may touch: its paths now and those it moves away from
    rules_changed: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class Impact:
    apps: list[AppResult]

    @property
    def changed(self) -> list[AppResult]:
        return [a for a in self.apps if a.changeset is not None and not a.changeset.empty]

    @property
    def failed(self) -> list[AppResult]:
        return [a for a in self.apps if a.error]

    def by_env(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for a in self.apps:
            e = out.setdefault(a.env, {"apps": 0, "changed": 0, "failed": 0, "kinds": {}, "rules": {}})
            e["apps"] += 1
            if a.error:
                e["failed"] += 1
            if a.changeset is not None and not a.changeset.empty:
                e["changed"] += 1
                for kind, n in a.changeset.counts().items():
                    k = e["kinds"].setdefault(kind, {"added": 0, "changed": 0, "removed": 0})
                    for s in k:
                        k[s] += n[s]
                for r in a.rules_changed:
                    e["rules"][r] = e["rules"].get(r, 0) + 1
        return dict(sorted(out.items()))


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
        out[key.strip()] = value.strip()
    return out


def recorded(view: GitTree, select: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """The recorded inputs (`.plato/inputs/<env>/<app>.json`) whose context matches the selection, read once here
    (the workers get them parsed)."""
    found = []
    for rel in view.files(RECORD_DIR + "/"):
        if rel.count("/") != 3 or not rel.endswith(".json") or not view.is_regular(rel):
            continue
        record = read_record(view.read(rel), rel)
        if matches(record.get("context", {}), select):
            found.append((rel, record))
    return found


# Worker state: each process loads and compiles the rules once, and reads the repository through its own
# `git cat-file --batch`.
_W: dict[str, Any] = {}


def _init(rules_dir: str | None, workdir: str, entries: dict[str, tuple[str, str]]) -> None:
    from generator.match.rules import load_rules

    _W["dir"] = Path(rules_dir) if rules_dir else None
    _W["rules"] = load_rules(_W["dir"])  # held, not looked up per app (the lookup lists and stats the folder)
    _W["view"] = GitTree(entries, BlobReader(Git(Path(workdir))))


def render_one(job: tuple[str, dict[str, Any], bool]) -> AppResult:
    """Re-render one recorded app and compare it with the repository's tree (runs in a worker). Files whose new
    bytes have the object id they have now are not read."""
    from generator.pipeline import inputs_from_record

    label, record, diffs = job
    view: GitTree = _W["view"]
    parts = label.split("/")
    env, app = parts[-2], parts[-1].removesuffix(".json")
    result = AppResult(env, app)
    try:
        inputs = inputs_from_record(record, label, _W.get("dir"))
        # The pipeline's one composition with the worker's rule set; the policies are judged below, against
        # what the tip holds. A denied app fails, the others go on.
        tree = inputs.render(rules=_W["rules"], quiet=True, admit=False)
        source = record.get("source") or {}
        used = tree.plan.rules_used()
        before = record.get("rules") or {}
        result.rules_changed = sorted(r for r, d in used.items() if before.get(r) != d)
        new_record = make_record(
            tree.plan.context,
            inputs.workloads,
            source.get("time"),
            inputs.files,
            used,
            tree.owned,
            record.get("given"),
            record.get("promoted"),
        )
        want = desired(tree, new_record)
        writes = [*tree.owned, record_path(tree.env, tree.app)]
        # The full listing has no folders: what it holds on the way to a written path is not a folder.
        ahead = {p: view.entries[p] for p in on_the_way(writes) if p in view.entries}
        check_entries(ahead, {f: view.entries[f] for rel in writes for f in view.files(rel)}, writes)
        check_owner(view, tree)
        moved = moved_from(view, record.get("owned"), tree)
        result.owned = [*tree.owned, record_path(tree.env, tree.app), *moved]
        current: dict[str, bytes] = {}
        for rel in result.owned:
            for f in view.files(rel):
                new = want.get(f)
                current[f] = new if new is not None and view.holds(f, new) else view.read(f)
        inputs.admit(tree, old_objects(current, tree), quiet=True)  # UPDATE of what the tip holds, as publish
        result.changeset = compare(tree.env, tree.app, current, want, provenance_paths(tree), with_diffs=diffs)
        if not result.changeset.empty:
            result.writes = {f: b for f, b in want.items() if current.get(f) != b}
            result.removes = sorted(set(current) - set(want))
    except PlatoError as exc:
        result.error = exc.render()
    return result


def render_all(
    workdir: Path,
    entries: dict[str, tuple[str, str]],
    jobs: list[tuple[str, dict[str, Any]]],
    rules_dir: Path | None,
    workers: int | None,
    diffs: bool = True,
    progress: Callable[[Iterable[AppResult], int], Iterator[AppResult]] | None = None,
) -> Impact:
    args = [(label, record, diffs) for label, record in jobs]
    init = (str(rules_dir) if rules_dir else None, str(workdir), entries)
    workers = workers or min(os.cpu_count() or 1, 8)
    if workers > 1 and len(args) >= PARALLEL_THRESHOLD:
        chunk = max(1, len(args) // (workers * 8))
        with ProcessPoolExecutor(workers, initializer=_init, initargs=init) as ex:
            it: Iterable[AppResult] = ex.map(render_one, args, chunksize=chunk)
            results = list(progress(it, len(args)) if progress else it)
    else:
        _init(*init)
        try:
            it = map(render_one, args)
            results = list(progress(it, len(args)) if progress else it)
        finally:
            _W.pop("view").reader.close()
    return Impact(results)


@dataclass
class Published:
    impact: Impact
    commits: dict[str, str] = field(default_factory=dict)  # env -> commit
    branches: dict[str, str] = field(default_factory=dict)  # env -> branch pushed
    attempts: int = 0


def rerender(
    opts: Options,
    rules_dir: Path | None,
    select: dict[str, str],
    dry_run: bool,
    workers: int | None = None,
    progress: Any = None,
    digest: str = "",
) -> Published:
    """Render every selected app from its record and commit the changes in one transaction: one commit per
    environment, pushed at once (push mode) or one branch per environment (pr mode). A push that loses a race
    renders again from the new tip (the other job may have published any of these apps)."""
    opts.retry.start()
    with Clone(opts.repo, blobs=True) as clone:
        for attempt in itertools.count(1):
            tip = clone.fetch(opts.branch)
            entries = ls_tree(clone.git, tip) if tip else {}
            impact = _render(clone, entries, select, opts, rules_dir, workers, progress if attempt == 1 else None)
            result = Published(impact, attempts=attempt)
            if dry_run or not impact.changed:
                return result
            if _land(clone, tip, impact, opts, digest, result):
                return result
            if not opts.retry.wait(attempt):
                hint = "the repository is as it was; run the re-render again"
                raise opts.retry.gave_up(attempt, "the re-render", hint)
    raise AssertionError("unreachable")


def _render(
    clone: Clone,
    entries: dict[str, tuple[str, str]],
    select: dict[str, str],
    opts: Options,
    rules_dir: Path | None,
    workers: int | None,
    progress: Any,
) -> Impact:
    reader = BlobReader(clone.git)
    try:
        jobs = recorded(GitTree(entries, reader), select)
    finally:
        reader.close()
    if not jobs:
        raise UserError(
            "no recorded apps" + (f" match --select {select}" if select else " in the repository"),
            file=opts.repo,
            hint="apps are recorded when they are published with plato",
        )
    impact = render_all(clone.dir, entries, jobs, rules_dir, workers, opts.mode == "pr", progress)
    if impact.failed:
        first = impact.failed[0]
        raise UserError(
            f"{len(impact.failed)} of {len(impact.apps)} apps fail to render with these rules; nothing was "
            f"written. First: {first.app} in {first.env}: {first.error}",
            hint="`plato preview --rules` on one app shows the whole error",
        )
    return impact


def _land(clone: Clone, tip: str | None, impact: Impact, opts: Options, digest: str, result: Published) -> bool:
    """Commit and push the changes; False when the push lost a race."""
    _check_paths(impact.changed)
    envs = sorted({a.env for a in impact.changed})
    pr = opts.mode == "pr"
    commits = []
    for env in envs:
        apps = [a for a in impact.changed if a.env == env]
        ref = f"refs/heads/plato-rerender-{env}" if pr else "refs/heads/plato-rerender"
        commits.append(
            Commit(
                ref, _message(env, apps, digest), [Edit(a.writes, a.removes, a.owned, f"{a.env}/{a.app}") for a in apps]
            )
        )
    shas = write_commits(clone, tip, commits, chain=not pr)
    result.commits = dict(zip(envs, shas, strict=True))
    try:
        if pr:
            for env, sha in result.commits.items():
                clone.push(sha, f"plato/rerender/{env}", force=True)
                result.branches[env] = f"plato/rerender/{env}"
        else:
            clone.push(shas[-1], opts.branch)  # one push: every environment's commit or none
            result.branches = {env: opts.branch for env in envs}
    except PushRejected:
        return False
    return True


def _check_paths(apps: list[AppResult]) -> None:
    """Each app touches only its own paths, and no two apps write one file (rules that map two apps to one
    place: their ownership markers would say so only after the first one landed)."""
    writer: dict[str, str] = {}
    for a in apps:
        check_written_paths([*a.writes, *a.removes], a.owned, f"{a.env}/{a.app}")
        for path in a.writes:
            other = writer.setdefault(path, f"{a.env}/{a.app}")
            if other != f"{a.env}/{a.app}":
                raise UserError(
                    f"{other} and {a.env}/{a.app} would both write {path} with these rules; nothing was written",
                    hint="two (env, app) pairs would share paths: check the paths of the Environment rules",
                )


def _message(env: str, apps: list[AppResult], digest: str) -> str:
    rules = sorted({r for a in apps for r in a.rules_changed})
    body = [
        f"- {a.app}: " + ", ".join(f"{k} {sum(v.values())}" for k, v in a.changeset.counts().items())
        for a in apps
        if a.changeset
    ]
    if rules:
        body += ["", "Rules that changed: " + ", ".join(rules)]
    title = f"re-render {len(apps)} app{'s' if len(apps) != 1 else ''} in {env} with rules {digest}".strip()
    return commit_message(title, body, {"Plato-Env": env, "Plato-Rules": digest, "Plato-Rerender": "true"})
