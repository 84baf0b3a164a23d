"""The deployment tree: reading it straight from git objects, and writing a rendered tree into a folder (`plato
render -o`: owned paths replaced wholly, nothing else touched)."""

from __future__ import annotations

import bisect
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from generator.create.render import RenderedTree
from generator.errors import UserError

if TYPE_CHECKING:
    from generator.deploy.git import BlobReader

SYMLINK = "120000"
REGULAR_MODE = "100644"  # every file plato writes


def symlink_refused(name: str) -> UserError:
    """The one message for a symlink on the way to a path plato writes (on disk, in a tree, in a sparse clone)."""
    return UserError(
        f"refusing to write through the symlink {name} in the deployment repository",
        hint="remove the symlink from the repository",
    )


def prefixes(rel: str) -> list[str]:
    """'a/b/c' -> ['a', 'a/b', 'a/b/c'] (a trailing '/' ignored)."""
    parts = rel.rstrip("/").split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


class TreeView(Protocol):
    """What the deploy stage reads of a deployment tree. Paths are relative, folders end with '/'."""

    def files(self, rel: str) -> list[str]:
        """The files at `rel`: those under a folder (recursively), or the file itself; symlinks count as files."""
        ...

    def read(self, rel: str) -> bytes:
        """A file's bytes; a symlink reads as 'symlink -> target' (never followed)."""
        ...

    def is_regular(self, rel: str) -> bool: ...

    def holds(self, rel: str, data: bytes) -> bool:
        """The file is a regular file with exactly these bytes."""
        ...


class GitTree:
    """A commit's tree read from git objects, with no work tree: a fleet re-render reads thousands of apps' files
    and changes a few of them, so it never checks the fleet out."""

    def __init__(self, entries: dict[str, tuple[str, str]], reader: BlobReader) -> None:
        self.entries = entries
        self.paths = sorted(entries)
        self.reader = reader

    def _check(self, rel: str) -> None:
        """As safe_join does on disk: a symlink on the way to an owned path is refused."""
        for prefix in prefixes(rel):
            if self.entries.get(prefix, ("",))[0] == SYMLINK:
                raise symlink_refused(prefix)

    def files(self, rel: str) -> list[str]:
        self._check(rel)
        if not rel.endswith("/"):
            return [rel] if rel in self.entries else []
        start = bisect.bisect_left(self.paths, rel)
        end = bisect.bisect_left(self.paths, rel[:-1] + "0")  # '0' sorts right after '/'
        return self.paths[start:end]

    def read(self, rel: str) -> bytes:
        return self.read_many([rel])[rel]

    def read_many(self, rels: list[str]) -> dict[str, bytes]:
        """Several files in one round trip to git."""
        entries = [self.entries[rel] for rel in rels]
        blobs = self.reader.read_many([oid for _, oid in entries])
        return {
            rel: b"symlink -> " + data if mode == SYMLINK else data
            for rel, (mode, _), data in zip(rels, entries, blobs, strict=True)
        }

    def current(self, files: Sequence[str], want: Mapping[str, bytes]) -> dict[str, bytes]:
        """What these files hold, in their order: the wanted bytes where a file has their object id (not read),
        the others read in one round trip."""
        held = {f: want[f] for f in files if f in want and self.holds(f, want[f])}
        read = self.read_many([f for f in files if f not in held])
        return {f: held[f] if f in held else read[f] for f in files}

    def is_regular(self, rel: str) -> bool:
        entry = self.entries.get(rel)
        return entry is not None and entry[0] != SYMLINK

    def executable(self, files: Iterable[str]) -> set[str]:
        """The files among these whose mode is not the one plato writes (a hand-made `chmod +x`): their bytes may
        be plato's, but the file is not, and the next write restores the mode."""
        return {f for f in files if self.entries.get(f, (REGULAR_MODE,))[0] not in (REGULAR_MODE, SYMLINK)}

    def holds(self, rel: str, data: bytes) -> bool:
        from generator.deploy.git import blob_id

        entry = self.entries.get(rel)
        return entry is not None and entry[0] != SYMLINK and entry[1] == blob_id(data)


def safe_join(root: Path, rel: str, checked: set[str] | None = None) -> Path:
    """root/rel, refusing anything that would land outside root (.., absolute, or through a symlink).

    `checked` carries the folders already found not to be symlinks across the calls of one write: a fleet
    re-render writes thousands of files into a few hundred folders."""
    parts = rel.rstrip("/").split("/")
    if rel.startswith("/") or "\\" in rel or any(p in ("..", "") for p in parts):
        raise UserError(f"refusing to write outside the (env, app) paths: {rel!r}")
    # With no '..', no absolute path and no symlink along the way, the path cannot leave root.
    prefix = str(root)
    for i, part in enumerate(parts):
        prefix = f"{prefix}/{part}"
        if checked is not None and prefix in checked:
            continue
        if os.path.islink(prefix):
            raise symlink_refused("/".join(parts[: i + 1]))
        if checked is not None and i < len(parts) - 1:
            checked.add(prefix)
    return root / rel.rstrip("/")


def clear_owned(root: Path, owned: list[str]) -> None:
    for rel in owned:
        path = safe_join(root, rel)
        if rel.endswith("/"):
            if path.is_dir():
                shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def write_files(root: Path, files: dict[str, bytes]) -> None:
    checked: set[str] = set()
    made: set[Path] = set()
    for rel, data in files.items():
        path = safe_join(root, rel, checked)
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        tmp = path.with_name(path.name + ".plato-tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def write_tree(root: Path, tree: RenderedTree) -> None:
    root.mkdir(parents=True, exist_ok=True)
    clear_owned(root, tree.owned)
    write_files(root, tree.files)
