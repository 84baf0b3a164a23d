"""The deployment tree (generator/deploy/tree.py): a commit read from git objects, and rendered files written
into a folder without ever leaving it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from testkit.git import init_bare

from generator.deploy.git import BlobReader, Git, ls_tree
from generator.deploy.tree import GitTree, clear_owned, prefixes, safe_join, write_files, write_tree
from generator.errors import UserError


@pytest.fixture
def view(tmp_path: Path) -> Iterator[GitTree]:
    """A GitTree of a real commit: an app folder, a sibling whose name starts the same, a symlinked folder."""
    remote = init_bare(tmp_path / "remote.git")
    files = {
        "dev/app/manifest.yaml": "kind: A\n",
        "dev/app/sub/extra.yaml": "kind: B\n",
        "dev/app-two/manifest.yaml": "kind: C\n",
        "dev/app.yaml": "kind: D\n",
    }
    sha = remote.commit(
        files, symlinks={"dev/linked": "app", "dev/app/to-readme": "../app.yaml"}, workdir=tmp_path / "w"
    )
    git = Git(remote.path)
    reader = BlobReader(git)
    yield GitTree(ls_tree(git, sha), reader)
    reader.close()


def test_a_git_tree_lists_a_folder_recursively_and_nothing_beside_it(view: GitTree) -> None:
    assert view.files("dev/app/") == ["dev/app/manifest.yaml", "dev/app/sub/extra.yaml", "dev/app/to-readme"]
    assert view.files("dev/app.yaml") == ["dev/app.yaml"]
    assert view.files("dev/app") == []  # a folder is named with its '/': without it, no such file
    assert view.files("prod/") == []
    assert prefixes("a/b/c/") == ["a", "a/b", "a/b/c"]


def test_a_git_tree_reads_bytes_and_never_follows_a_symlink(view: GitTree) -> None:
    assert view.read("dev/app/sub/extra.yaml") == b"kind: B\n"
    assert view.read("dev/app/to-readme") == b"symlink -> ../app.yaml"
    assert view.is_regular("dev/app/manifest.yaml")
    assert not view.is_regular("dev/app/to-readme") and not view.is_regular("dev/nope")
    assert view.holds("dev/app/manifest.yaml", b"kind: A\n")
    assert not view.holds("dev/app/manifest.yaml", b"kind: A\n\n")
    assert not view.holds("dev/app/to-readme", b"../app.yaml")  # the bytes of a symlink are not a file's
    assert not view.holds("dev/new.yaml", b"")


def test_a_git_tree_refuses_a_path_through_a_symlinked_folder(view: GitTree) -> None:
    with pytest.raises(UserError, match="refusing to write through the symlink dev/linked "):
        view.files("dev/linked/")
    with pytest.raises(UserError, match="dev/linked"):
        view.files("dev/linked/manifest.yaml")


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "/etc/passwd", "a\\b", "a//b", "", "a/./../b/.."])
def test_safe_join_refuses_every_way_out_of_the_root(tmp_path: Path, rel: str) -> None:
    with pytest.raises(UserError, match="refusing to write outside"):
        safe_join(tmp_path, rel)


def test_safe_join_keeps_paths_inside_and_refuses_a_symlink_anywhere_on_the_way(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "dev" / "real").mkdir(parents=True)
    outside.mkdir()
    assert safe_join(root, "dev/app/") == root / "dev" / "app"
    os.symlink(outside, root / "dev" / "away")
    os.symlink("real", root / "dev" / "near")  # a symlink that stays inside is refused all the same
    os.symlink(outside / "f", root / "dev" / "real" / "file")
    for rel, link in [("dev/away/x", "dev/away"), ("dev/near/", "dev/near"), ("dev/real/file", "dev/real/file")]:
        with pytest.raises(UserError) as caught:
            safe_join(root, rel)
        assert f"symlink {link} in the deployment repository" in caught.value.message, rel
    checked: set[str] = set()
    safe_join(root, "dev/real/a.yaml", checked)
    assert checked == {f"{root}/dev", f"{root}/dev/real"}  # folders, never the file itself


def test_write_files_replaces_bytes_makes_folders_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    (tmp_path / "dev" / "app").mkdir(parents=True)
    (tmp_path / "dev" / "app" / "manifest.yaml").write_bytes(b"old\n")
    write_files(tmp_path, {"dev/app/manifest.yaml": b"new\n", "cd/dev/app.yaml": b"cd\n", "dev/app/a/b/c": b""})
    assert (tmp_path / "dev" / "app" / "manifest.yaml").read_bytes() == b"new\n"
    assert (tmp_path / "cd" / "dev" / "app.yaml").read_bytes() == b"cd\n"
    assert (tmp_path / "dev" / "app" / "a" / "b" / "c").read_bytes() == b""
    assert not list(tmp_path.rglob("*.plato-tmp"))


def test_write_files_never_writes_through_a_symlink(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "dev").mkdir(parents=True)
    outside.mkdir()
    (outside / "target").write_bytes(b"keep\n")
    os.symlink(outside, root / "dev" / "app")
    os.symlink(outside / "target", root / "dev" / "file.yaml")
    for rel in ("dev/app/manifest.yaml", "dev/file.yaml"):
        with pytest.raises(UserError, match="symlink"):
            write_files(root, {rel: b"evil\n"})
    assert sorted(p.name for p in outside.iterdir()) == ["target"]
    assert (outside / "target").read_bytes() == b"keep\n"


def test_clear_owned_removes_the_owned_paths_only_and_never_through_a_symlink(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    write_files(root, {"dev/app/a.yaml": b"a", "dev/app/sub/b.yaml": b"b", "dev/other/c.yaml": b"c", "cd/app": b"d"})
    clear_owned(root, ["dev/app/", "cd/app", "dev/never-written/", "cd/missing.yaml"])
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == ["dev/other/c.yaml"]
    outside.mkdir()
    (outside / "precious").write_bytes(b"p")
    os.symlink(outside, root / "dev" / "app")
    with pytest.raises(UserError, match="symlink dev/app"):
        clear_owned(root, ["dev/app/"])
    assert (outside / "precious").read_bytes() == b"p"


def test_write_tree_replaces_the_owned_folder_wholly_and_touches_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_files(out, {"dev/app/stale.yaml": b"s", "dev/other/keep.yaml": b"k", "notes.txt": b"n"})
    tree = SimpleNamespace(owned=["dev/app/", "cd/app.yaml"], files={"dev/app/m.yaml": b"m", "cd/app.yaml": b"c"})
    write_tree(out, tree)  # type: ignore[arg-type]
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got == {"dev/app/m.yaml": b"m", "cd/app.yaml": b"c", "dev/other/keep.yaml": b"k", "notes.txt": b"n"}
