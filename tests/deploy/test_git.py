"""generator/deploy/git.py against real bare repositories: what a clone downloads for the paths a publish reads."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from generator.deploy.git import Clone, ls_tree


def _seed(tmp_path: Path, **config: str) -> Path:
    """A bare repository of three apps in two folders plus a root file; `config` is the served repository's."""
    work, bare = tmp_path / "seed", tmp_path / "remote.git"
    files = {
        "README.md": "root\n",
        "development/a/manifest.yaml": "a\n",
        "development/a/deep/x.yaml": "x\n",
        "development/b/manifest.yaml": "b\n",
        "production/c/manifest.yaml": "c\n",
        ".plato/inputs/development/a.json": "{}\n",
        ".plato/inputs/development/b.json": "{}\n",
    }
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(work), *ident, "commit", "-qm", "seed"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    for key, value in config.items():
        subprocess.run(["git", "--git-dir", str(bare), "config", key, value], check=True)
    return bare


def _trees(clone: Clone) -> set[str]:
    """Every tree object the clone holds (git never fetches anything to answer this)."""
    every = ["cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)"]
    out = subprocess.run(["git", "--git-dir", str(clone.dir), *every], capture_output=True, text=True, check=True)
    return {line.split()[1] for line in out.stdout.splitlines() if line.startswith("tree ")}


def _tree_of(bare: Path, rev_path: str) -> str:
    out = subprocess.run(["git", "--git-dir", str(bare), "rev-parse", rev_path], capture_output=True, text=True)
    return out.stdout.strip()


READ = ["development/a/", ".plato/inputs/development/a.json", "README.md"]


def test_a_clone_for_paths_downloads_the_trees_on_the_way_and_nothing_beside_them(tmp_path: Path) -> None:
    bare = _seed(tmp_path, **{"uploadpack.allowFilter": "true"})
    with Clone(str(bare), paths=True) as clone:
        tip = clone.fetch("main")
        assert tip is not None and clone.trees_filtered
        clone.fetch_paths(tip, READ)
        held = _trees(clone)
        on_the_way = ["main:", "main:development", "main:development/a", "main:development/a/deep", "main:.plato"]
        assert {_tree_of(bare, t) for t in [*on_the_way, "main:.plato/inputs/development"]} <= held
        assert _tree_of(bare, "main:development/b") not in held  # another app's folder
        assert _tree_of(bare, "main:production") not in held  # another environment
        listed = ls_tree(clone.git, tip, READ)
        assert sorted(listed) == [".plato/inputs/development/a.json", "README.md", *sorted(
            ["development/a/deep/x.yaml", "development/a/manifest.yaml"])]  # fmt: skip
        assert _trees(clone) == held  # listing the paths read fetched nothing more


@pytest.mark.parametrize(
    "config",
    [{}, {"uploadpack.allowFilter": "true", "uploadpackfilter.tree.allow": "false"}],
    ids=["no-filters", "no-tree-filter"],
)
def test_a_server_without_tree_filters_serves_the_whole_tip_and_the_same_listing(tmp_path: Path, config) -> None:
    bare = _seed(tmp_path, **config)
    with Clone(str(bare), paths=True) as clone:
        tip = clone.fetch("main")
        assert tip is not None and not clone.trees_filtered
        assert clone.filtered == bool(config)  # blobs are still left out where filters are allowed at all
        clone.fetch_paths(tip, READ)  # nothing to do: every tree is there
        assert _tree_of(bare, "main:production") in _trees(clone)
        assert ".plato/inputs/development/a.json" in ls_tree(clone.git, tip, READ)
