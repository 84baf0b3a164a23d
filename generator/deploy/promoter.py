"""The GitOps Promoter layout: plato as a hydrator (gitops-promoter docs/advanced-usage/custom-hydrator.md).

With `layout: promoter` on its Environment rule, an (env, app) is not a folder of one branch: each environment is a
branch `environment/<env>`, which Promoter alone writes (by merging pull requests), and plato pushes proposals to
`environment/<env>-next`, or `environment/<env>-next/<activePath>` when apps share the active branch. A proposal
holds the app's manifests at the branch root (or under `<activePath>/`), `hydrator.metadata` beside them (the JSON
Promoter reads: `drySha` and the optional fields), plato's record at `.plato/inputs/<env>/<app>.json` (its one
file outside `<activePath>/`: no CD tool reads it, and Promoter's path-scoped merge leaves it), and a note
`refs/notes/hydrator.metadata` on the hydrated commit. When the output is what the branch holds, only the note
moves to the new dry commit: no commit, so Promoter opens no pull request for nothing. On a shared branch nothing
outside `<activePath>/` is touched. Terraform files go to `terraform/` in the app's folder, which Argo CD's
directory source does not read (it is not recursive); the Applications are the Promoter setup's (`plato render
--promotion` renders its PromotionStrategy and GitRepository).

The branch commit is written by the one transaction (transaction.write_commits); the note is made by `git notes`
in the private clone, and both refs are pushed in one atomic push, retried on a lost race from the new tips.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from generator.create.render import RenderedTree
from generator.deploy.diff import ChangeSet, compare
from generator.deploy.git import (
    BlobReader,
    Clone,
    Git,
    PushRejected,
    ensure_local_repo,
    is_race,
    landed,
    ls_tree,
    push_outcome,
    repo_error,
)
from generator.deploy.publish import Admission, Admit, Result
from generator.deploy.record import record_path
from generator.deploy.transaction import Commit, Edit, Options, commit_message, write_commits
from generator.deploy.tree import GitTree
from generator.errors import UserError

NOTES_REF = "refs/notes/hydrator.metadata"
METADATA = "hydrator.metadata"


class Place(NamedTuple):
    """Where an (env, app) goes in the promoter layout: its proposed branch and its folder there ('' = root)."""

    env: str
    active_path: str

    @property
    def active(self) -> str:
        return f"environment/{self.env}"

    @property
    def branch(self) -> str:
        return f"{self.active}-next" + (f"/{self.active_path}" if self.active_path else "")

    @property
    def root(self) -> str:
        return f"{self.active_path}/" if self.active_path else ""


class Proposal(NamedTuple):
    """What hydrating one (env, app) writes: the rendered tree, its place, the files and the dry commit's note."""

    tree: RenderedTree
    place: Place
    want: dict[str, bytes]
    meta: Mapping[str, Any]


def is_promoter(plan: Any) -> bool:
    return bool(plan.env.get("layout") == "promoter")


def place_of(plan: Any) -> Place:
    """The place of the plan's (env, app); an activePath that is not a relative path of plain names is refused."""
    path = str(plan.env.get("activePath") or "")
    parts = path.split("/")
    if path and not all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", p) for p in parts):
        rule = plan.environment
        raise UserError.at(
            rule,
            f"activePath '{path}' is not a relative folder of plain names",
            hint="write it as apps/{{ app }}: names of letters, digits, '.', '_' and '-', no '..', no leading '/'",
        )
    return Place(plan.context["env"], path)


def metadata(ctx: Mapping[str, str], workspace: Path | None = None) -> dict[str, Any]:
    """hydrator.metadata as Promoter reads it: `drySha` (required: a proposal without it is refused) and what the
    CI checkout says about that commit (author, date, subject, body), else what the context says."""
    sha = ctx.get("source_sha", "")
    if sha and not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", sha):
        raise UserError(
            f"source_sha {sha!r} is not a full commit id: GitOps Promoter matches drySha against the dry commit",
            file="--context",
            hint="pass the whole commit id (40 hex digits, or 64 for SHA-256 repositories), as GITHUB_SHA is",
        )
    if not sha:
        raise UserError(
            "the promoter layout needs the source commit: hydrator.metadata must name its drySha",
            file="--context",
            hint="pass -c source_sha=<the commit CI built> (GitHub Actions sets it for you)",
        )
    meta: dict[str, Any] = {"drySha": sha}
    if ctx.get("source_repo"):
        meta["repoURL"] = ctx["source_repo"]
    status, out, _ = Git(workspace or Path.cwd()).run(
        "show", "-s", "--format=%an <%ae>%x00%aI%x00%s%x00%b", sha, check=False
    )  # sha is a commit id (checked above), never an option
    if status == 0 and out.count("\0") == 3:
        author, date, subject, body = out.split("\0")
        meta.update(author=author, date=date, subject=subject, body=body.strip())
    else:
        meta["subject"] = f"plato: {ctx.get('app', '')} in {ctx.get('env', '')}"
    if ctx.get("rules_sha"):
        # The platform's rules are the other repository that shaped this output (-c rules_repo=, rules_sha=).
        meta["references"] = [{"commit": {"sha": ctx["rules_sha"], "repoURL": ctx.get("rules_repo", "")}}]
    return meta


def proposal(tree: Any, record: bytes, meta: Mapping[str, Any]) -> dict[str, bytes]:
    """The files of the app's folder on its proposed branch, from the rendered tree."""
    root = place_of(tree.plan).root
    mdir = tree.plan.env["paths"]["manifests"] + "/"
    tdir = tree.plan.env["paths"]["terraform"] + "/"
    files: dict[str, bytes] = {}
    for path, data in tree.files.items():
        if path.startswith(mdir) and path != mdir + METADATA:
            files[root + path.removeprefix(mdir)] = data
        elif path.startswith(tdir):
            files[root + "terraform/" + path.removeprefix(tdir)] = data
    files[root + METADATA] = (json.dumps(dict(meta), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    files[record_path(tree.env, tree.app)] = record
    return files


def _current(clone: Clone, tip: str | None, root: str, rec: str) -> dict[str, bytes]:
    """What the app's folder (the whole branch, without activePath) and its record hold on the proposed branch."""
    if tip is None:
        return {}
    entries = ls_tree(clone.git, tip, [root, rec] if root else [])
    clone.prefetch(oid for _, oid in entries.values())
    view = GitTree(entries, BlobReader(clone.git))
    try:
        return {p: view.read(p) for p in entries if view.is_regular(p)}
    finally:
        view.reader.close()


def _fetch_notes(clone: Clone) -> str | None:
    status, _, err = clone.git.run("fetch", "-q", "--no-tags", "origin", f"+{NOTES_REF}:{NOTES_REF}", check=False)
    if status != 0:
        if "couldn't find remote ref" in err.lower():
            return None
        raise repo_error(["fetch", "origin"], err)
    return clone.git.out("rev-parse", NOTES_REF)


def _note(clone: Clone, commit: str) -> dict[str, Any]:
    status, out, _ = clone.git.run("notes", f"--ref={NOTES_REF}", "show", commit, check=False)
    try:
        note = json.loads(out) if status == 0 else {}
    except ValueError:
        return {}
    return note if isinstance(note, dict) else {}


def _push(clone: Clone, refs: Mapping[str, str]) -> None:
    """Push several refs at once: all land or none (a lost race raises PushRejected)."""
    specs = [f"{sha}:{ref}" for ref, sha in refs.items()]
    status, out, err = clone.git.run("push", "--porcelain", "--atomic", "origin", *specs, check=False)
    if status == 0 and all(landed(out, ref) for ref in refs):
        return
    race, why = push_outcome(out, err)
    if race or ("atomic transaction failed" in out and is_race(err)):
        # An atomic push reports the ref that lost its race on stderr, and every other ref as "atomic
        # transaction failed": that is the same lost race.
        clone.rejected = why
        raise PushRejected(why)
    raise repo_error(["push", "origin"], err + "\n" + out)


def hydrate(
    tree: RenderedTree, record: bytes, opts: Options, trailers: Mapping[str, str], admit: Admit | None = None
) -> Result:
    """Write the (env, app)'s proposal to its `-next` branch (see the module's doc). `admit`: the admission
    policies, judged against the proposal branch's tip, the one the commit is made on (as publish does)."""
    place = place_of(tree.plan)
    meta = metadata(tree.plan.context)
    new = Proposal(tree, place, proposal(tree, record, meta), meta)
    ensure_local_repo(opts.repo, opts.branch)
    admission = Admission(admit)
    opts.retry.start()
    with Clone(opts.repo) as clone:
        for attempt in itertools.count(1):
            result = _attempt(clone, new, trailers, attempt, admission)
            if result is not None:
                if opts.mode == "pr":
                    result.notes.append(f"{place.branch} is the proposal: GitOps Promoter opens the pull request")
                return result
            if not opts.retry.wait(attempt):
                hint = "the repository is as it was; run the job again"
                raise opts.retry.gave_up(attempt, f"{place.branch}", hint, clone.rejected)
    raise AssertionError("unreachable")


def _attempt(clone: Clone, new: Proposal, trailers: Mapping[str, str], n: int, admission: Admission) -> Result | None:
    tree, place, want, meta = new
    tip = clone.fetch(place.branch)
    notes_tip = _fetch_notes(clone)
    rec = record_path(tree.env, tree.app)
    current = _current(clone, tip, place.root, rec)
    trailers = admission.judge(current, tree, trailers)  # a denial raises: nothing is written
    provenance = {place.root + METADATA, rec, place.root + "README.md"}
    cs: ChangeSet = compare(tree.env, tree.app, current, want, provenance)
    result = Result(changeset=cs, branch=place.branch, attempts=n)
    sha = tip
    if not cs.empty or tip is None:
        removes = [place.root, rec] if place.root else sorted(current)
        owner = f"{tree.env}/{tree.app}"
        edit = Edit(want, removes, [place.root, rec] if place.root else [*current, *want], owner)
        title = f"hydrate {tree.app} in {tree.env} from {meta['drySha'][:12]}"
        body = [f"{p}: {s}" for p, s in cs.files.items()]
        sha = write_commits(clone, tip, [Commit("refs/plato/hydrate", commit_message(title, body, trailers), [edit])])[
            0
        ]
    assert sha is not None
    if sha == tip and _note(clone, sha).get("drySha") == meta["drySha"]:
        return result  # already hydrated from this dry commit: nothing to push
    if notes_tip is None:
        clone.git.run("update-ref", "-d", NOTES_REF, check=False)
    note = json.dumps({"drySha": meta["drySha"]}, sort_keys=True)
    clone.git.run("notes", f"--ref={NOTES_REF}", "add", "-f", "-m", note, sha)
    refs = {f"refs/heads/{place.branch}": sha, NOTES_REF: clone.git.out("rev-parse", NOTES_REF)}
    if sha == tip:
        refs.pop(f"refs/heads/{place.branch}")
        result.notes.append(f"output unchanged; moved the {NOTES_REF} note of {sha[:12]} to {meta['drySha'][:12]}")
    try:
        _push(clone, refs)
    except PushRejected:
        return None
    result.changed, result.commit = sha != tip, sha
    return result
