"""Publishing to the deployment repository: all or nothing, safe under concurrent CI runs.

A run works in a private temporary clone and changes the remote with one push. A push that loses a race is never
rebased: plato fetches the new tip, resets to it, writes its owned paths again, commits and retries with backoff
and jitter. A newer source commit already published for the same (env, app) wins over an older one.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import __version__
from generator.check.guard import check_message, check_outgoing
from generator.create.render import RenderedTree
from generator.deploy.diff import ChangeSet, compare
from generator.deploy.git import Git, PushRejected, ensure_local_repo, push_outcome, remote_url, repo_error
from generator.deploy.record import RECORD_DIR, load_record, record_path
from generator.deploy.report import summary_line
from generator.deploy.tree import (
    SYMLINK,
    TreeView,
    WorkTree,
    clear_owned,
    prefixes,
    safe_join,
    symlink_refused,
    write_files,
)
from generator.errors import RepoError, UserError, mask_secrets

GITATTRIBUTES = b"**/README.md linguist-generated=true\n**/hydrator.metadata linguist-generated=true\n"


@dataclass
class Options:
    repo: str
    branch: str = "main"
    mode: str = "push"  # push | pr
    max_retries: int = 10
    backoff: float = 1.0
    backoff_cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Result:
    changeset: ChangeSet
    changed: bool = False
    commit: str | None = None
    branch: str = ""
    attempts: int = 0
    skipped: str = ""  # why nothing was written although something differs (a newer publish is there)
    notes: list[str] = field(default_factory=list)


def pr_branch(env: str, app: str) -> str:
    return f"plato/{env}/{app}"


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


class Checkout:
    """A private shallow clone of one branch of the deployment repository, removed on exit."""

    def __init__(self, repo: str, branch: str, paths: list[str] | None = None, worktree: bool = True) -> None:
        self.url = remote_url(repo)
        self.branch = branch
        self.paths = paths  # check out only these (sparse): a publish never reads the rest of a big repository
        self.worktree = worktree  # False: fetch only, read through git objects (a fleet re-render)
        sweep_abandoned()
        self.dir = Path(tempfile.mkdtemp(prefix=f"plato-checkout-{os.getpid()}-"))
        self.git = Git(self.dir)
        self.tip: str | None = None

    def __enter__(self) -> Checkout:
        try:
            self.git.run("init", "-q", f"--initial-branch={self.branch}")
            # Written directly rather than with four `git config`/`remote add`/`sparse-checkout` calls: each git
            # process costs about 10 ms of a CI step that should take well under a second.
            config = [
                "[core]",
                "\tautocrlf = false",
                "\tsymlinks = true",
                *(["\tsparseCheckout = true", "\tsparseCheckoutCone = false"] if self.paths is not None else []),
                '[remote "origin"]',
                f"\turl = {_quote_config(self.url)}",
                "\tfetch = +refs/heads/*:refs/remotes/origin/*",
            ]
            with (self.dir / ".git" / "config").open("a", encoding="utf-8") as f:
                f.write("\n".join(config) + "\n")
            if self.paths is not None:
                info = self.dir / ".git" / "info"
                info.mkdir(exist_ok=True)
                (info / "sparse-checkout").write_text("".join(f"/{p.lstrip('/')}\n" for p in self.paths))
            self.sync(first=True)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def remote_tip(self, branch: str) -> str | None:
        out = self.git.out("ls-remote", "--heads", "origin", f"refs/heads/{branch}")
        return out.split()[0] if out else None

    def sync(self, first: bool = False) -> None:
        """Reset the work tree to the remote tip of the branch (or an empty orphan when it has none)."""
        # Shallow, and with sparse paths blobless too: only the files this run reads are downloaded.
        blobless = ["--filter=blob:none"] if self.paths is not None else []
        ref = f"refs/heads/{self.branch}"
        status, _, err = self.git.run(
            "fetch",
            "-q",
            "--depth=1",
            "--no-tags",
            *blobless,
            "origin",
            f"+{ref}:refs/remotes/origin/{self.branch}",
            check=False,
        )
        if status != 0:
            if "couldn't find remote ref" not in err.lower():
                raise repo_error(["fetch", "origin"], err)
            self.tip = None  # an empty repository, or a new branch
            if not first and self.worktree:
                self.git.run("checkout", "-q", "--orphan", f"plato-work-{random.randrange(1 << 30)}")
                self.git.run("rm", "-rfq", "--ignore-unmatch", ".")
                self.git.run("clean", "-qfdx")
            return
        self.tip = self.git.out("rev-parse", f"refs/remotes/origin/{self.branch}")
        if not self.worktree:
            return
        self.git.run("checkout", "-q", "--force", "-B", "plato-work", self.tip)
        if not first:
            self.git.run("clean", "-qfdx")

    def read(self, owned: list[str], extra: list[str]) -> dict[str, bytes]:
        return read_owned(WorkTree(self.dir), owned, extra)

    def moved(self, record: bytes | None, tree: RenderedTree) -> tuple[list[str], dict[str, bytes]]:
        """The paths this app's last publish owned that its rules now put elsewhere (see moved_from), and their
        files. Read from git objects: a sparse checkout holds only the new paths."""
        from generator.deploy.git import BlobReader, ls_tree
        from generator.deploy.tree import GitTree

        if not record or self.tip is None:
            return [], {}
        try:
            owned = load_record(record).get("owned", [])
        except ValueError:
            return [], {}
        old = [p for p in owned if isinstance(p, str) and not within(p, tree.owned)]
        if not old:
            return [], {}
        reader = BlobReader(self.git)
        try:
            view = GitTree(ls_tree(self.git, self.tip, old), reader)
            paths = moved_from(view, old, tree)
            return paths, {f: view.read(f) for rel in paths for f in view.files(rel)}
        finally:
            reader.close()

    def refuse_symlinks(self, paths: list[str]) -> None:
        """A symlink in the repository at or above a path plato writes is refused, as writing through it would
        be. Read from the tree, not the work tree: a sparse checkout leaves a symlinked folder out of it."""
        if self.tip is None:
            return
        on_the_way = sorted({prefix for p in paths for prefix in prefixes(p)})
        out = self.git.run_bytes("ls-tree", "-z", self.tip, "--", *on_the_way)[1]
        for entry in out.split(b"\0"):
            if entry.startswith(SYMLINK.encode() + b" "):
                raise symlink_refused(entry.partition(b"\t")[2].decode("utf-8", "replace"))


def read_owned(view: TreeView, owned: list[str], extra: list[str]) -> dict[str, bytes]:
    """The files under an (env, app)'s owned paths (symlinks as their target, never followed)."""
    return {f: view.read(f) for rel in [*owned, *extra] for f in view.files(rel)}


def provenance_paths(tree: RenderedTree) -> set[str]:
    """Files that are written along with a real change but never make a commit on their own."""
    from generator.create.render import OWNER_MARKER

    mdir = tree.plan.env["paths"]["manifests"]
    tdir = tree.plan.env["paths"]["terraform"]
    return {
        f"{mdir}/hydrator.metadata",
        f"{mdir}/README.md",
        record_path(tree.env, tree.app),
        f"{mdir}/{OWNER_MARKER}",
        f"{tdir}/{OWNER_MARKER}",
    }


def desired(tree: RenderedTree, record: bytes) -> dict[str, bytes]:
    """Every file a publish, a preview or a re-render writes for the (env, app), checked for secrets."""
    return dict(check_outgoing({**tree.files, record_path(tree.env, tree.app): record}))


def checkout_paths(tree: RenderedTree) -> list[str]:
    """What a publish or preview checks out: its own paths, its record, and the ownership markers of the folders
    around its own (a sparse, blobless checkout: nothing else of a large repository is downloaded)."""
    from generator.create.render import OWNER_MARKER

    around = set()
    for rel in tree.owned:
        parts = rel.rstrip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            around.add("/".join(parts[:i]) + "/" + OWNER_MARKER)
    return [*tree.owned, record_path(tree.env, tree.app), ".gitattributes", *sorted(around)]


def within(path: str, allowed: list[str]) -> bool:
    """The path is one of `allowed` or lies under one of its folders (those ending in '/')."""
    return any(path == a or (a.endswith("/") and path.startswith(a)) for a in allowed)


def _marker_owner(view: TreeView, rel: str) -> str:
    """The (env, app) an ownership marker names."""
    return view.read(rel).decode("utf-8", errors="replace").strip()


def _labelled_owner(obj: dict[str, Any]) -> str:
    """The (env, app) a CD object's labels name."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return f"{labels.get('plato.dev/env', '?')}/{labels.get('app.kubernetes.io/part-of', '?')}"


def check_owner(view: TreeView, tree: RenderedTree) -> None:
    """Refuse to write where another (env, app) owns the folder, or a folder around or inside ours."""
    from generator.create.render import OWNER_MARKER

    ours = f"{tree.env}/{tree.app}"
    markers = [p for p in checkout_paths(tree) if p.endswith(OWNER_MARKER)]
    for rel in tree.owned:
        if rel.endswith("/"):
            markers += [f for f in view.files(rel) if f.endswith("/" + OWNER_MARKER)]
    cd_file = tree.plan.env["paths"]["cd"]
    ours_now = tree.files.get(cd_file)
    if view.files(cd_file) and view.is_regular(cd_file) and not (ours_now and view.holds(cd_file, ours_now)):
        from generator.deploy.diff import objects_of

        for obj in objects_of(view.read(cd_file)).values():
            owner = _labelled_owner(obj)
            if owner != ours:
                raise UserError(
                    f"{cd_file} holds the CD registration of {owner}, and {ours} would replace it",
                    hint="two (env, app) pairs map to one CD file: give the Environment rules' paths.cd a "
                    "separator that cannot occur in names, e.g. 'cd/{cluster}/{env}/{app}.yaml'",
                )
    for rel in markers:
        if rel in tree.files and view.holds(rel, tree.files[rel]):
            continue  # the marker this (env, app) writes, as it writes it
        if view.is_regular(rel):
            owner = _marker_owner(view, rel)
            if owner != ours:
                raise UserError(
                    f"{rel.rsplit('/', 1)[0]}/ belongs to {owner}, and {ours} would write at or around it "
                    f"({', '.join(tree.owned)})",
                    hint="two (env, app) pairs would share paths: check the paths of the Environment rules",
                )


def moved_from(view: TreeView, owned: Any, tree: RenderedTree) -> list[str]:
    """The paths this app had at its last publish that the new rules put elsewhere (a rule moved it): they go with
    the move, but only where the repository still marks them as this app's (a marker file in a folder, the
    CD-file labels), so that an edited record can never remove anyone else's files."""
    from generator.create.render import OWNER_MARKER
    from generator.deploy.diff import objects_of

    ours = f"{tree.env}/{tree.app}"
    out = []
    for rel in owned if isinstance(owned, list) else []:
        if not isinstance(rel, str) or within(rel, tree.owned):
            continue
        parts = rel.rstrip("/").split("/")
        if rel.startswith("/") or any(p in ("", "..", ".") for p in parts) or rel.startswith(RECORD_DIR):
            continue
        if rel.endswith("/"):
            marker = rel + OWNER_MARKER
            if view.is_regular(marker) and _marker_owner(view, marker) == ours:
                out.append(rel)
        elif view.is_regular(rel):
            objs = objects_of(view.read(rel)).values()
            if objs and all(_labelled_owner(o) == ours for o in objs):
                out.append(rel)
    return out


def preview(tree: RenderedTree, record: bytes, repo: str, branch: str) -> ChangeSet:
    """What a publish would change. Writes nothing anywhere (a missing local repository counts as empty)."""
    if not _exists(repo):
        return compare(tree.env, tree.app, {}, desired(tree, record), provenance_paths(tree))
    with Checkout(repo, branch, checkout_paths(tree)) as co:
        current = _current(co, tree)[0]
    return compare(tree.env, tree.app, current, desired(tree, record), provenance_paths(tree))


def _current(co: Checkout, tree: RenderedTree) -> tuple[dict[str, bytes], list[str], dict[str, bytes]]:
    """What the checkout holds for this (env, app), after refusing symlinks and other owners on its paths: its
    files (and its record), the old paths a rule moved it away from, and the files there."""
    rec = record_path(tree.env, tree.app)
    co.refuse_symlinks(checkout_paths(tree))
    check_owner(WorkTree(co.dir), tree)
    current = co.read(tree.owned, [rec])
    moved, moved_files = co.moved(current.get(rec), tree)
    return {**current, **moved_files}, moved, moved_files


def _exists(repo: str) -> bool:
    from generator.deploy.git import is_url

    return is_url(repo) or Path(repo).exists()


def publish(tree: RenderedTree, record: bytes, opts: Options, trailers: Mapping[str, str]) -> Result:
    ensure_local_repo(opts.repo, opts.branch)
    rec = record_path(tree.env, tree.app)
    target = opts.branch if opts.mode == "push" else pr_branch(tree.env, tree.app)
    with Checkout(opts.repo, opts.branch, checkout_paths(tree)) as co:
        for attempt in range(1, opts.max_retries + 2):
            if attempt > 1:
                co.sync()
            current, moved, moved_files = _current(co, tree)
            cs = compare(tree.env, tree.app, current, desired(tree, record), provenance_paths(tree))
            result = Result(changeset=cs, branch=target, attempts=attempt)
            newer = _newer_published(current.get(rec), record)
            if newer:
                result.skipped = newer
                return result
            if cs.empty:
                if not _supersedes(current.get(rec), record):
                    return result
                # Same output from a newer source commit: record it (outside every CD path), so that a late run
                # from an older commit cannot overwrite this app afterwards.
                writes, clears = {rec: record}, [rec]
                result.notes.append("output unchanged; recorded the newer source commit")
            else:
                writes, clears = desired(tree, record), [*tree.owned, rec]
            clear_owned(co.dir, clears)
            write_files(co.dir, writes)
            attributes = safe_join(co.dir, ".gitattributes")  # refuses a symlink planted in the repository
            if not cs.empty and not os.path.lexists(attributes):
                attributes.write_bytes(GITATTRIBUTES)
                result.notes.append("created .gitattributes (generated files collapse in reviews)")
            co.git.run("add", "-A")
            if moved_files:  # outside the sparse checkout: taken out of the index directly
                co.git.run("update-index", "--force-remove", "-z", "--stdin", input="\0".join(moved_files).encode())
            _check_ownership(co, [*tree.owned, rec, ".gitattributes", *moved])
            _commit(co, cs, trailers)
            if opts.mode == "pr" and _same_as_branch(co, target):
                # The PR branch already holds exactly this: pushing again would only re-trigger its checks.
                result.changed, result.commit = True, co.remote_tip(target)
                return result
            sha = co.git.out("rev-parse", "HEAD")
            try:
                _push(co, target, force=opts.mode == "pr")
            except PushRejected:
                if attempt > opts.max_retries:
                    break
                delay = min(opts.backoff_cap, opts.backoff * (1.5 ** (attempt - 1)))
                opts.sleep(delay * (0.5 + random.random()))  # jitter: concurrent runs spread out
                continue
            result.changed = True
            result.commit = sha
            return result
    tries = opts.max_retries + 1
    raise RepoError(
        f"gave up after {tries} attempt{'s' if tries != 1 else ''}: every push of {tree.app} in {tree.env} lost a "
        "race with another publisher",
        hint="the repository is as it was; run the job again (or raise --max-retries)",
    )


def _supersedes(existing: bytes | None, ours: bytes) -> bool:
    """Our record is from a newer source commit than the one in the repository (same output)."""
    if not existing or existing == ours:
        return False
    try:
        theirs = load_record(existing).get("source") or {}
        mine = load_record(ours).get("source") or {}
    except ValueError:
        return False
    t0, t1 = theirs.get("time"), mine.get("time")
    return isinstance(t1, int) and theirs.get("sha") != mine.get("sha") and (not isinstance(t0, int) or t1 > t0)


def _same_as_branch(co: Checkout, branch: str) -> bool:
    tip = co.remote_tip(branch)
    if tip is None:
        return False
    co.git.run("fetch", "-q", "--depth=1", "--no-tags", "--filter=blob:none", "origin", tip)
    return co.git.out("rev-parse", f"{tip}^{{tree}}") == co.git.out("rev-parse", "HEAD^{tree}")


def _check_ownership(co: Checkout, allowed: list[str]) -> None:
    """Defence in depth: the commit may touch only the (env, app)'s own paths."""
    staged = co.git.out("diff", "--cached", "--name-only", "--no-renames", "-z").split("\0")
    for path in filter(None, staged):
        if not within(path, allowed):
            raise RepoError(
                f"refusing to commit {path!r}: it is outside the paths this (env, app) owns",
                hint="this is a bug in plato or a rule; nothing was published",
            )


def _newer_published(existing: bytes | None, ours: bytes) -> str:
    """Why not to overwrite: the repository holds this (env, app) from a newer source commit."""
    if not existing:
        return ""
    try:
        theirs = load_record(existing).get("source") or {}
        mine = load_record(ours).get("source") or {}
    except ValueError:
        return ""
    t0, t1 = theirs.get("time"), mine.get("time")
    if isinstance(t0, int) and isinstance(t1, int) and t0 > t1 and theirs.get("sha") != mine.get("sha"):
        return (
            f"the repository already holds this app from a newer source commit {str(theirs.get('sha'))[:12]} "
            f"(committed at {t0}, this run is from {str(mine.get('sha'))[:12]} at {t1}); not overwriting it"
        )
    return ""


def _commit(co: Checkout, cs: ChangeSet, trailers: Mapping[str, str]) -> None:
    title = summary_line(cs) if not cs.empty else f"{cs.app} in {cs.env}: output unchanged, newer source recorded"
    lines = [f"plato: {title}"[:200], ""]
    if cs.risks:
        lines += [f"! {r}" for r in cs.risks] + [""]
    lines += [f"{path}: {status}" for path, status in cs.files.items()] + [""]
    lines += [f"{k}: {' '.join(str(v).split())}" for k, v in trailers.items() if v]
    message = check_message("the commit message", "\n".join(lines) + "\n")
    msg_file = co.dir / ".git" / "PLATO_COMMIT_MSG"
    msg_file.write_text(message, encoding="utf-8")
    co.git.run("commit", "-q", "--no-verify", "--no-gpg-sign", "-F", str(msg_file))


def _push(co: Checkout, branch: str, force: bool, rev: str = "HEAD") -> None:
    spec = f"{'+' if force else ''}{rev}:refs/heads/{branch}"
    status, out, err = co.git.run("push", "--porcelain", "origin", spec, check=False)
    if status == 0:
        return
    race, why = push_outcome(out, err)
    if race:
        raise PushRejected(why)
    if "refused the push" in why:
        raise RepoError(
            f"git push: {mask_secrets(why)}",
            hint="nothing was published; the repository's own rules (hooks, branch protection) decide what it accepts",
        )
    raise repo_error(["push", "origin"], err + "\n" + out)


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
    if ctx.get("source_sha"):
        out["Argocd-reference-commit-sha"] = ctx["source_sha"]
    if ctx.get("source_repo"):
        out["Argocd-reference-commit-repourl"] = ctx["source_repo"]
    return out
