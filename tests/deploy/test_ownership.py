"""What an (env, app) owns in the deployment repository (generator/deploy/ownership.py), decided from git's own
listing of real commits: the entries in the way of a write, ownership markers, CD-file labels, moved paths."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from testkit.build import dump, score
from testkit.git import init_bare

from generator.create.render import OWNER_MARKER, RenderedTree
from generator.deploy.git import BlobReader, Git, ls_tree
from generator.deploy.ownership import (
    check_entries,
    check_owner,
    check_written_paths,
    desired,
    moved_from,
    on_the_way,
    read_paths,
    within,
)
from generator.deploy.record import record_path
from generator.deploy.tree import GitTree
from generator.errors import RepoError, UserError
from generator.pipeline import Inputs


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> RenderedTree:
    """web in development, rendered with the bundled rules: development/web/, terraform/..., cd/dev/...yaml."""
    spec = tmp_path_factory.mktemp("spec") / "score.yaml"
    spec.write_text(dump(score("web", image="nginx:1.27")), encoding="utf-8")
    rendered = Inputs.load([spec], context=["env=development", "app=web"]).render(quiet=True)
    assert rendered.owned == ["development/web/", "terraform/development/web/", "cd/dev/development-web.yaml"]
    return rendered


class Repo:
    """A real deployment repository: commit files, then list and read them as publish does."""

    def __init__(self, tmp_path: Path) -> None:
        self.bare = init_bare(tmp_path / "deploy.git")
        self.work = tmp_path / "work"
        self.readers: list[BlobReader] = []

    def view(
        self, files: Mapping[str, str], *, symlinks: Mapping[str, str] | None = None, gitlinks: tuple[str, ...] = ()
    ) -> tuple[str, GitTree]:
        sha = self.bare.commit(files, symlinks=symlinks, gitlinks=gitlinks, workdir=self.work)
        reader = BlobReader(Git(self.bare.path))
        self.readers.append(reader)
        return sha, GitTree(ls_tree(Git(self.bare.path), sha), reader)

    def check_entries(self, sha: str, writes: list[str]) -> None:
        """As publish calls it: the entries on the way without recursion, everything inside recursively."""
        git = Git(self.bare.path)
        inside = {p: e for p, e in ls_tree(git, sha, writes).items() if within(p, writes)}
        check_entries(ls_tree(git, sha, on_the_way(writes), recursive=False), inside, writes)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    r = Repo(tmp_path)
    yield r
    for reader in r.readers:
        reader.close()


def test_within_is_the_path_itself_or_under_a_folder_named_with_its_slash() -> None:
    allowed = ["dev/app/", "cd/app.yaml"]
    assert within("dev/app/x/y.yaml", allowed) and within("cd/app.yaml", allowed)
    assert not within("dev/app-two/x.yaml", allowed)  # a sibling whose name only starts the same
    assert not within("dev/app", allowed) and not within("cd/app.yaml.bak", allowed)


def test_written_paths_stay_in_the_owned_ones_and_out_of_dot_folders(tree: RenderedTree) -> None:
    allowed = [*tree.owned, record_path(tree.env, tree.app), ".gitattributes"]
    check_written_paths([*tree.files, record_path(tree.env, tree.app), ".gitattributes"], allowed)
    for bad in ("development/web/.git/config", "development/web/.hidden", "development/other/x.yaml"):
        with pytest.raises(RepoError, match="refusing to commit") as caught:
            check_written_paths([bad], [*allowed, "development/web/.git/"])
        assert caught.value.exit_code == 3, bad


def test_read_paths_name_the_markers_of_every_folder_around_the_owned_ones(tree: RenderedTree) -> None:
    paths = read_paths(tree)
    assert f"development/{OWNER_MARKER}" in paths and f"terraform/development/{OWNER_MARKER}" in paths
    assert f"cd/dev/{OWNER_MARKER}" in paths and record_path("development", "web") in paths
    assert not any(p.startswith("development/web/") and p.endswith(OWNER_MARKER) for p in paths)  # listed inside


def test_desired_is_the_tree_and_its_record_and_refuses_a_secret(tree: RenderedTree) -> None:
    want = desired(tree, b"{}\n")
    assert want == {**tree.files, record_path("development", "web"): b"{}\n"}
    # The record passes the same secret check as the manifests: a context value holding a token never lands.
    record = b'{"context": {"note": "ghp_' + b"a1B2" * 9 + b'"}}\n'
    with pytest.raises(UserError) as caught:
        desired(tree, record)
    assert caught.value.file == record_path("development", "web") and "GitHub Token" in caught.value.message


@pytest.mark.parametrize(
    ("files", "symlinks", "gitlinks", "says"),
    [
        ({"README.md": "r\n"}, {"development/web": "../elsewhere"}, (), "symlink development/web "),
        ({"README.md": "r\n"}, {}, ("development/web",), "development/web is a submodule (gitlink)"),
        ({"development": "a file\n"}, {}, (), "development is a file in the deployment repository, where plato "),
        ({"cd/dev/development-web.yaml/x": "x\n"}, {}, (), "cd/dev/development-web.yaml is a folder"),
        ({"development/web/a.yaml": "a\n"}, {"development/web/sub/l": "a.yaml"}, (), "symlink development/web/sub/l"),
    ],
    ids=["symlinked-folder", "gitlink", "file-for-folder", "folder-for-file", "symlink-inside"],
)
def test_a_write_refuses_what_is_in_its_way(repo: Repo, tree: RenderedTree, files, symlinks, gitlinks, says) -> None:
    sha, _ = repo.view(files, symlinks=symlinks, gitlinks=gitlinks)
    with pytest.raises(UserError) as caught:
        repo.check_entries(sha, [*tree.owned, record_path(tree.env, tree.app)])
    assert says in caught.value.message


def test_a_write_passes_over_folders_and_regular_files(repo: Repo, tree: RenderedTree) -> None:
    files = {f: "old\n" for f in tree.files} | {"development/other/x.yaml": "x\n"}
    sha, _ = repo.view(files, symlinks={"development/other/link": "x.yaml"})  # a symlink beside ours: fine
    repo.check_entries(sha, [*tree.owned, record_path(tree.env, tree.app)])


def test_a_folder_another_app_owns_is_refused_and_our_own_marker_is_not(repo: Repo, tree: RenderedTree) -> None:
    _, ours = repo.view({f"development/web/{OWNER_MARKER}": "development/web\n", "development/web/m.yaml": "m\n"})
    check_owner(ours, tree)
    for marker in (
        f"development/web/{OWNER_MARKER}",
        f"development/{OWNER_MARKER}",
        f"development/web/x/{OWNER_MARKER}",
    ):
        _, theirs = repo.view({marker: "production/shop\n"})
        with pytest.raises(UserError, match="belongs to production/shop, and development/web would write"):
            check_owner(theirs, tree)


def test_a_cd_file_registered_for_another_app_is_refused(repo: Repo, tree: RenderedTree) -> None:
    cd = "cd/dev/development-web.yaml"
    other = dump({"kind": "Application", "metadata": {"name": "x", "labels": {"plato.dev/env": "development",
                  "app.kubernetes.io/part-of": "web-two"}}})  # fmt: skip
    _, view = repo.view({cd: other})
    with pytest.raises(UserError, match="holds the CD registration of development/web-two"):
        check_owner(view, tree)
    _, same = repo.view({cd: tree.files[cd].decode()})
    check_owner(same, tree)


def test_moved_paths_go_only_where_the_repository_still_marks_them_ours(repo: Repo, tree: RenderedTree) -> None:
    ours_cd = dump({"kind": "Application", "metadata": {"labels": {"plato.dev/env": "development",
                    "app.kubernetes.io/part-of": "web"}}})  # fmt: skip
    files = {
        f"old/web/{OWNER_MARKER}": "development/web\n",
        f"old/shop/{OWNER_MARKER}": "development/shop\n",
        "old/unmarked/m.yaml": "m\n",
        "cd/old-web.yaml": ours_cd,
        "cd/old-shop.yaml": ours_cd.replace("part-of: web", "part-of: shop"),
    }
    _, view = repo.view(files)
    recorded = ["old/web/", "old/shop/", "old/unmarked/", "cd/old-web.yaml", "cd/old-shop.yaml", *tree.owned]
    recorded += ["../old/web/", "/old/web/", ".git/", 7]  # an edited record: never followed
    assert moved_from(view, recorded, tree) == ["old/web/", "cd/old-web.yaml"]
    assert moved_from(view, "old/web/", tree) == []  # not a list: nothing moved
