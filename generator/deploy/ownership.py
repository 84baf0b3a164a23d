"""What an (env, app) owns in the deployment repository, and every check that keeps a write inside it.

One (env, app) owns its paths (its manifests folder, its Terraform folder, its CD file) and its record; a write
replaces them wholly and touches nothing else. The repository itself says who owns what: a marker file in each
owned folder, the labels of the objects in a CD file. Everything here reads a tree through `TreeView` or git's
own listing of one (`ls-tree` entries), so publish, preview and rerender make the same decisions without a
checkout.
"""

from __future__ import annotations

from typing import Any

from generator.check.guard import Checked, check_outgoing
from generator.create.render import OWNER_MARKER, RenderedTree
from generator.deploy.record import RECORD_DIR, record_path
from generator.deploy.tree import SYMLINK, TreeView, prefixes, symlink_refused
from generator.errors import RepoError, UserError

GITATTRIBUTES = b"**/README.md linguist-generated=true\n**/hydrator.metadata linguist-generated=true\n"
REGULAR = ("100644", "100755")
TREE = "040000"
GITLINK = "160000"
# Dot names plato writes itself; every other path component starting with '.' is refused before a commit.
OWN_DOT_NAMES = (OWNER_MARKER, ".gitattributes")

Entries = dict[str, tuple[str, str]]  # path -> (mode, object id), as `git ls-tree` lists them


def within(path: str, allowed: list[str]) -> bool:
    """The path is one of `allowed` or lies under one of its folders (those ending in '/')."""
    return any(path == a or (a.endswith("/") and path.startswith(a)) for a in allowed)


def desired(tree: RenderedTree, record: bytes, checked: Checked | None = None) -> dict[str, bytes]:
    """Every file the (env, app)'s paths hold after a write, the rendered tree and its record, checked for
    secrets: every file a publish, a preview or a re-render writes passes here (`checked`: see check_outgoing)."""
    return dict(check_outgoing({**tree.files, record_path(tree.env, tree.app): record}, checked=checked))


def provenance_paths(tree: RenderedTree) -> set[str]:
    """Files that are written along with a real change but never make a commit on their own."""
    mdir = tree.plan.env["paths"]["manifests"]
    tdir = tree.plan.env["paths"]["terraform"]
    return {
        f"{mdir}/hydrator.metadata",
        f"{mdir}/README.md",
        record_path(tree.env, tree.app),
        f"{mdir}/{OWNER_MARKER}",
        f"{tdir}/{OWNER_MARKER}",
    }


def read_paths(tree: RenderedTree) -> list[str]:
    """What a write reads: its own paths, its record, .gitattributes and the ownership markers of the folders
    around its own (nothing else of a large repository is listed or downloaded)."""
    around = set()
    for rel in tree.owned:
        parts = rel.rstrip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            around.add("/".join(parts[:i]) + "/" + OWNER_MARKER)
    return [*tree.owned, record_path(tree.env, tree.app), ".gitattributes", *sorted(around)]


def _kind(mode: str) -> str:
    return {TREE: "a folder", GITLINK: "a submodule (gitlink)", SYMLINK: "a symlink"}.get(mode, "a file")


def obstacle(path: str, mode: str, wanted: str) -> UserError:
    """The one message for an entry plato may not write over or through: a symlink, a submodule, a file where a
    folder must be (or the other way round)."""
    if mode == SYMLINK:
        return symlink_refused(path)
    return UserError(
        f"{path} is {_kind(mode)} in the deployment repository, where plato writes {wanted}; nothing was written",
        hint=f"remove {path} from the deployment repository (git rm), or change the paths of the Environment rule",
    )


def check_entries(on_the_way: Entries, inside: Entries, writes: list[str]) -> None:
    """Refuse a write whose paths meet anything but folders on the way and regular files inside.

    `on_the_way` lists (without recursion) every folder above each path written and the path itself; `inside`
    lists (recursively) everything at and under them. A gitlink, a symlink or a file where a folder is needed is
    exit 2 naming the entry: writing beside it would leave it in place and never land the files."""
    targets = {w.rstrip("/"): w.endswith("/") for w in writes}
    for path, (mode, _) in sorted(on_the_way.items()):
        folder = targets.get(path, True)  # everything above a written path is a folder
        if (mode != TREE) if folder else (mode not in REGULAR):
            raise obstacle(path, mode, "a folder" if folder else "a file")
    for path, (mode, _) in sorted(inside.items()):
        if mode not in REGULAR:
            raise obstacle(path, mode, "regular files")


def on_the_way(writes: list[str]) -> list[str]:
    """The folders above each path written, and each path itself (for a listing without recursion)."""
    return sorted({p for rel in writes for p in prefixes(rel)})


def check_written_paths(paths: list[str], allowed: list[str], owner: str = "this (env, app)") -> None:
    """Defence in depth before a commit: every path lies in the (env, app)'s paths, and no path enters a dot folder
    (.git, .github, ...) except plato's own records."""
    for path in paths:
        parts = path.removeprefix(RECORD_DIR + "/").split("/")
        dotted = any(p.startswith(".") for p in parts[:-1]) or (
            parts[-1].startswith(".") and parts[-1] not in OWN_DOT_NAMES
        )
        if dotted or not within(path, allowed):
            raise RepoError(
                f"refusing to commit {path!r}: it is outside the paths {owner} owns",
                hint="this is a bug in plato or a rule; nothing was published",
            )


def _marker_owner(view: TreeView, rel: str) -> str:
    """The (env, app) an ownership marker names."""
    return view.read(rel).decode("utf-8", errors="replace").strip()


def _labelled_owner(obj: dict[str, Any]) -> str:
    """The (env, app) a CD object's labels name."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return f"{labels.get('plato.dev/env', '?')}/{labels.get('app.kubernetes.io/part-of', '?')}"


def _check_cd_file(view: TreeView, tree: RenderedTree) -> None:
    from generator.deploy.diff import objects_of

    ours = f"{tree.env}/{tree.app}"
    cd_file = tree.plan.env["paths"]["cd"]
    ours_now = tree.files.get(cd_file)
    if not view.files(cd_file) or not view.is_regular(cd_file) or (ours_now and view.holds(cd_file, ours_now)):
        return
    for obj in objects_of(view.read(cd_file)).values():
        owner = _labelled_owner(obj)
        if owner != ours:
            raise UserError(
                f"{cd_file} holds the CD registration of {owner}, and {ours} would replace it",
                hint="two (env, app) pairs map to one CD file: give the Environment rules' paths.cd a "
                "separator that cannot occur in names, e.g. 'cd/{cluster}/{env}/{app}.yaml'",
            )


def check_owner(view: TreeView, tree: RenderedTree) -> None:
    """Refuse to write where another (env, app) owns the folder, or a folder around or inside ours."""
    ours = f"{tree.env}/{tree.app}"
    markers = [p for p in read_paths(tree) if p.endswith(OWNER_MARKER)]
    for rel in tree.owned:
        if rel.endswith("/"):
            markers += [f for f in view.files(rel) if f.endswith("/" + OWNER_MARKER)]
    _check_cd_file(view, tree)
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
    """The paths this app had at its last write that the new rules put elsewhere (a rule moved it): they go with
    the move, but only where the repository still marks them as this app's (a marker file in a folder, the
    CD-file labels), so that an edited record can never remove anyone else's files."""
    from generator.deploy.diff import objects_of

    ours = f"{tree.env}/{tree.app}"
    out = []
    for rel in owned if isinstance(owned, list) else []:
        if not isinstance(rel, str) or within(rel, tree.owned):
            continue
        parts = rel.rstrip("/").split("/")
        if rel.startswith("/") or any(p in ("", "..", ".") or p.startswith(".") for p in parts):
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
