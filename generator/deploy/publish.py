"""`publish` and `preview` of one (env, app): the rendered tree and one transaction on git objects.

A run fetches the branch tip into a private bare clone (shallow, blobless where the server allows it), lists its
owned paths, reads the few blobs it must compare, and writes its commit with fast-import (transaction.py). A push
that loses a race re-anchors the same edit on the new tip, without rendering again. A newer source commit already
published for the same (env, app), on the branch or on its pull-request branch, wins over an older one.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import __version__
from generator.check.admission import Objects, old_objects
from generator.create.render import RenderedTree
from generator.deploy import gates
from generator.deploy.diff import ChangeSet, compare
from generator.deploy.git import BlobReader, Clone, PushRejected, blob_id, ensure_local_repo, is_url, ls_tree
from generator.deploy.layout import pr_branch
from generator.deploy.ownership import (
    GITATTRIBUTES,
    check_entries,
    check_owner,
    desired,
    moved_from,
    on_the_way,
    provenance_paths,
    read_paths,
    within,
)
from generator.deploy.record import load_record, newer_source, record_path
from generator.deploy.report import summary_line
from generator.deploy.transaction import Commit, Edit, Options, commit_message, write_commits
from generator.deploy.tree import GitTree
from generator.errors import PlatoError

__all__ = ["GITATTRIBUTES", "Options", "Result", "desired", "preview", "publish", "read_file"]


@dataclass
class Result:
    changeset: ChangeSet
    changed: bool = False
    commit: str | None = None
    branch: str = ""
    attempts: int = 0
    skipped: str = ""  # why nothing was written although something differs (a newer publish is there)
    notes: list[str] = field(default_factory=list)


@dataclass
class State:
    """What a tip holds for one (env, app): its files and record, the old paths a rule moved it from, and whether
    the repository has a .gitattributes."""

    current: dict[str, bytes] = field(default_factory=dict)
    record: bytes | None = None
    moved: list[str] = field(default_factory=list)
    attributes: bool = False
    executable: set[str] = field(default_factory=set)  # files of its own not in plato's mode (GitTree.executable)


# The admission policies of a run, given the objects the deployment repository holds now (the pipeline's
# Inputs.admit): a denial raises a user error, before anything is written.
Admit = Callable[..., Any]  # (old objects, quiet=False)


@dataclass
class Admission:
    """The policies judged against the tip a publish commits on: an object that tip holds at the app's paths is
    an UPDATE with that oldObject, any other a CREATE. Judged again only when a lost race brought a tip whose
    objects differ: the result is a pure function of (rendered tree, old objects, policies), so the same old
    objects give the same verdict (compared by the bytes of the tips' manifests, without parsing them)."""

    admit: Admit | None
    judged: Objects | None = None

    def warm(self) -> None:
        """Compile the policies now, judging the tree as all new, quietly: called while the repository is still
        being fetched (Clone.fetch_ahead), so that `judge` later only evaluates. Whatever this finds, `judge`
        finds again and reports."""
        if self.admit is not None:
            with contextlib.suppress(PlatoError):
                self.admit({}, quiet=True)

    def judge(self, current: Mapping[str, bytes], tree: RenderedTree, trailers: Mapping[str, str]) -> dict[str, str]:
        """Judge the policies on this tip (a denial raises: nothing is written) and return the commit's trailers
        with plato's checks as judged here (the policy gate is known only now)."""
        if self.admit is not None:
            old = old_objects(current, tree)
            if self.judged is None or old != self.judged:
                self.admit(old)
                self.judged = old
        return {**trailers, **gates.trailers(tree)}


def _view(clone: Clone, entries: dict[str, tuple[str, str]], want: Mapping[str, bytes]) -> GitTree:
    """The entries as a tree to read, their blobs fetched in one request (those whose bytes are not already known
    to be what this run writes)."""
    clone.prefetch(oid for path, (_, oid) in entries.items() if path not in want or oid != blob_id(want[path]))
    return GitTree(entries, BlobReader(clone.git))


def read_state(clone: Clone, tip: str | None, tree: RenderedTree, record: bytes) -> State:
    """What the tip holds for this (env, app), after refusing anything on its paths that is not a folder or a
    regular file (symlinks, submodules) and folders another (env, app) owns."""
    if tip is None:
        return State()
    rec = record_path(tree.env, tree.app)
    writes = [*tree.owned, rec]
    clone.fetch_paths(tip, [*read_paths(tree), *on_the_way(writes)])
    entries = ls_tree(clone.git, tip, read_paths(tree))
    inside = {p: e for p, e in entries.items() if within(p, writes)}
    check_entries(ls_tree(clone.git, tip, on_the_way(writes), recursive=False), inside, writes)
    want = desired(tree, record)
    view = _view(clone, entries, want)
    try:
        check_owner(view, tree)
        current = view.current(list(inside), want)
    finally:
        view.reader.close()
    executable = view.executable(current)
    # Whatever stands at .gitattributes (a file, a symlink, even a folder) is the repository's own: only a
    # repository with none gets plato's (a folder there was replaced by the file, deleting what was in it).
    there = ".gitattributes" in entries or any(p.startswith(".gitattributes/") for p in entries)
    state = State(current, current.get(rec), attributes=there, executable=executable)
    state.moved, moved_files = _moved(clone, tip, state.record, tree)
    state.current.update(moved_files)
    return state


def _moved(clone: Clone, tip: str, record: bytes | None, tree: RenderedTree) -> tuple[list[str], dict[str, bytes]]:
    """The paths this app's last publish owned that its rules now put elsewhere (see moved_from), and their files."""
    try:
        owned = load_record(record).get("owned", []) if record else []
    except ValueError:
        return [], {}
    old = [p for p in owned if isinstance(p, str) and not within(p, tree.owned)]
    if not old:
        return [], {}
    clone.fetch_paths(tip, old)
    entries = ls_tree(clone.git, tip, old)
    view = _view(clone, entries, {})
    try:
        paths = moved_from(view, old, tree)
        return paths, {f: view.read(f) for rel in paths for f in view.files(rel)}
    finally:
        view.reader.close()


def preview(
    tree: RenderedTree, record: bytes, repo: str, branch: str, admit: Admit | None = None, ahead: Clone | None = None
) -> ChangeSet:
    """What a publish would change, its policies judged as the publish would judge them. Writes nothing anywhere
    (a missing local repository counts as empty). `ahead`: as for publish."""
    state = State()
    admission = Admission(admit)
    admission.warm()
    if is_url(repo) or Path(repo).exists():
        with contextlib.nullcontext(ahead) if ahead is not None else Clone(repo, paths=True) as clone:
            state = read_state(clone, clone.fetch(branch), tree, record)
    admission.judge(state.current, tree, {})
    want = desired(tree, record)
    return compare(tree.env, tree.app, state.current, want, provenance_paths(tree), written=tree.written(want))


def read_file(repo: str, branch: str, rel: str) -> bytes | None:
    """One regular file of the branch tip (None when it is not there), read without a checkout."""
    with Clone(repo, paths=True) as clone:
        return clone.read_file(clone.fetch(branch), rel)


def publish(
    tree: RenderedTree,
    record: bytes,
    opts: Options,
    trailers: Mapping[str, str],
    latest_wins: bool = True,
    admit: Admit | None = None,
    ahead: Clone | None = None,
) -> Result:
    """`latest_wins=False` (a rollback) writes an older source commit over a newer one, on purpose. `admit`: the
    admission policies, judged on each tip before a commit is made on it (None: the caller judged them). `ahead`:
    a clone of the repository already fetching (Clone.fetch_ahead), which the caller closes."""
    ensure_local_repo(opts.repo, opts.branch)
    target = opts.branch if opts.mode == "push" else pr_branch(tree.env, tree.app)
    admission = Admission(admit)
    admission.warm()
    opts.retry.start()
    with contextlib.nullcontext(ahead) if ahead is not None else Clone(opts.repo, paths=True) as clone:
        for attempt in itertools.count(1):
            result = _attempt(clone, tree, record, opts, target, trailers, attempt, latest_wins, admission)
            if result is not None:
                return result
            if not opts.retry.wait(attempt):
                raise opts.retry.gave_up(
                    attempt,
                    f"{tree.app} in {tree.env}",
                    "the repository is as it was; run the job again (or give it longer with --retry-for)",
                    clone.rejected,
                )
    raise AssertionError("unreachable")


def _attempt(
    clone: Clone,
    tree: RenderedTree,
    record: bytes,
    opts: Options,
    target: str,
    trailers: Mapping[str, str],
    n: int,
    latest_wins: bool = True,
    admission: Admission | None = None,
) -> Result | None:
    """One attempt on the current tip: the result, or None when the push lost a race (the caller retries)."""
    tip = clone.fetch(opts.branch)
    state = read_state(clone, tip, tree, record)
    if admission is not None:
        trailers = admission.judge(state.current, tree, trailers)  # a denial raises: nothing is written, on any tip
    want = desired(tree, record)
    cs = compare(tree.env, tree.app, state.current, want, provenance_paths(tree), written=tree.written(want),
                 executable=state.executable)  # fmt: skip
    result = Result(changeset=cs, branch=target, attempts=n)
    pr_tip = clone.fetch(target) if opts.mode == "pr" else None
    for existing in (state.record, clone.read_file(pr_tip, record_path(tree.env, tree.app))) if latest_wins else ():
        newer, why = newer_source(existing, record)
        if newer == "theirs":
            result.skipped = why
            return result
    edit = _edit(tree, record, state, result)
    if edit is None:
        return _withdraw(clone, tip, pr_tip, target, result)
    title = summary_line(cs) if not cs.empty else f"{cs.app} in {cs.env}: output unchanged, newer source recorded"
    body = [*(f"! {r}" for r in cs.risks), *([""] if cs.risks else []), *(f"{p}: {s}" for p, s in cs.files.items())]
    sha = write_commits(clone, tip, [Commit("refs/plato/publish", commit_message(title, body, trailers), [edit])])[0]
    if pr_tip and clone.tree_id(sha) == clone.tree_id(pr_tip):
        # The PR branch already holds exactly this: pushing again would only re-trigger its checks.
        result.changed, result.commit = True, pr_tip
        return result
    try:
        clone.push(sha, target, lease=(pr_tip or "") if opts.mode == "pr" else None)
    except PushRejected:
        return None
    result.changed, result.commit = True, sha
    return result


def _withdraw(clone: Clone, tip: str | None, pr_tip: str | None, target: str, result: Result) -> Result | None:
    """The branch already holds what this run wants: a pull request branch that proposes something else (an
    earlier run's image) is set to the branch's tip, so that merging it cannot deploy what the latest run did not
    ask for. None when that push lost a race."""
    if not (pr_tip and tip) or clone.tree_id(pr_tip) == clone.tree_id(tip):
        return result
    try:
        clone.push(tip, target, lease=pr_tip)
    except PushRejected:
        return None
    result.notes.append(f"{target} proposed something else; set it to {result.changeset.env}'s branch tip, as "
                        "nothing is left to propose (its pull request has no changes)")  # fmt: skip
    return result


def _edit(tree: RenderedTree, record: bytes, state: State, result: Result) -> Edit | None:
    """What this publish does to the tree (None: nothing to write)."""
    rec = record_path(tree.env, tree.app)
    if result.changeset.empty:
        if newer_source(state.record, record)[0] != "ours":
            return None
        # Same output from a newer source commit: record it (outside every CD path), so that a late run from an
        # older commit cannot overwrite this app afterwards.
        result.notes.append("output unchanged; recorded the newer source commit")
        return Edit({rec: record}, [rec], [rec], f"{tree.env}/{tree.app}")
    writes = desired(tree, record)
    if not state.attributes:
        writes[".gitattributes"] = GITATTRIBUTES
        result.notes.append("created .gitattributes (generated files collapse in reviews)")
    allowed = [*tree.owned, rec, ".gitattributes", *state.moved]
    return Edit(writes, [*tree.owned, rec, *state.moved], allowed, f"{tree.env}/{tree.app}")


def trailers_for(tree: RenderedTree) -> dict[str, str]:
    ctx = tree.plan.context
    out = {
        "Plato-Env": ctx["env"],
        "Plato-App": ctx["app"],
        "Plato-Source-Repo": ctx.get("source_repo", ""),
        "Plato-Source-Commit": ctx.get("source_sha", ""),
        "Plato-Run": ctx.get("run_url", ""),
        "Plato-Version": __version__,
        "Plato-Rules": tree.plan.rules.digest,
        "Plato-Context": " ".join(f"{k}={v}" for k, v in ctx.items() if k not in ("run_url",)),
    }
    out.update(gates.trailers(tree))  # plato's checks, for a GitCommitStatus or a CI gate to read
    if ctx.get("source_sha"):
        out["Argocd-reference-commit-sha"] = ctx["source_sha"]
    if ctx.get("source_repo"):
        out["Argocd-reference-commit-repourl"] = ctx["source_repo"]
    return out
