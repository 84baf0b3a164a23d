"""Writing a rendered tree into a folder: owned paths replaced wholly, nothing else touched."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from generator.create.render import RenderedTree
from generator.errors import UserError


def safe_join(root: Path, rel: str) -> Path:
    """root/rel, refusing anything that would land outside root (.., absolute, or through a symlink)."""
    if rel.startswith("/") or "\\" in rel or any(p in ("..", "") for p in rel.rstrip("/").split("/")):
        raise UserError(f"refusing to write outside the (env, app) paths: {rel!r}")
    root_real = root.resolve()
    target = root / rel.rstrip("/")
    cur = root
    for part in rel.rstrip("/").split("/"):
        cur = cur / part
        if cur.is_symlink():
            raise UserError(
                f"refusing to write through the symlink {cur.relative_to(root)} in the deployment repository",
                hint="remove the symlink from the repository",
            )
    if not target.resolve().is_relative_to(root_real):
        raise UserError(f"refusing to write outside the repository: {rel!r}")
    return target


def clear_owned(root: Path, owned: list[str]) -> None:
    for rel in owned:
        path = safe_join(root, rel)
        if rel.endswith("/"):
            if path.is_dir():
                shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = safe_join(root, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".plato-tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def write_tree(root: Path, tree: RenderedTree) -> None:
    root.mkdir(parents=True, exist_ok=True)
    clear_owned(root, tree.owned)
    write_files(root, tree.files)
