"""The transaction on git objects (generator/deploy/transaction.py), against a real bare repository."""

from __future__ import annotations

import pytest

from generator.deploy.git import Clone, blob_id
from generator.deploy.transaction import Commit, Edit, Retry, fast_import_stream, verify, write_commits
from generator.errors import RepoError


def _edit(writes: dict[str, bytes], removes: list[str]) -> Edit:
    return Edit(writes, removes, ["dev/app/", ".plato/inputs/dev/app.json"], "dev/app")


def test_a_commit_is_written_on_the_tip_without_a_work_tree_and_checked_before_it_is_pushed(tmp_path, remote) -> None:
    base = remote.commit({"dev/app/old.yaml": "old\n", "dev/other/keep.yaml": "keep\n"}, workdir=tmp_path / "seed")
    edit = _edit({"dev/app/new.yaml": b"new\n", ".plato/inputs/dev/app.json": b"{}\n"}, ["dev/app/"])
    with Clone(str(remote.path)) as clone:
        tip = clone.fetch("main")
        assert tip == base
        [sha] = write_commits(clone, tip, [Commit("refs/plato/test", "plato: test\n", [edit])])
        assert not (clone.dir / "index").exists()
        clone.push(sha, "main")
        # The same edit checked against other bytes, or against a commit without it, is refused.
        with pytest.raises(RepoError, match=r"does not hold what was rendered at dev/app/new\.yaml"):
            verify(clone, sha, [_edit({"dev/app/new.yaml": b"other\n"}, ["dev/app/"])])
        with pytest.raises(RepoError, match=r"dev/app/old\.yaml"):
            verify(clone, base, [edit])
    blobs = remote.blobs()
    assert blobs["dev/app/new.yaml"] == ("100644", blob_id(b"new\n"))
    assert "dev/app/old.yaml" not in blobs  # the owned folder was replaced wholly
    assert "dev/other/keep.yaml" in blobs


@pytest.mark.parametrize(
    "path", [".git/config", "dev/app/.git/hooks/x", ".github/workflows/x.yaml", ".plato/other.json", "dev/elsewhere"]
)
def test_a_path_outside_the_owned_ones_or_in_a_dot_folder_never_reaches_a_commit(path, tmp_path, remote) -> None:
    remote.commit({"README.md": "seed\n"}, workdir=tmp_path / "seed")
    before = remote.snapshot()
    edit = Edit({path: b"x\n"}, [], ["dev/app/", ".git/", ".github/", ".plato/", "dev/elsewhere"], "dev/app")
    if path == "dev/elsewhere":
        edit.allowed = ["dev/app/"]
    with Clone(str(remote.path)) as clone:
        tip = clone.fetch("main")
        with pytest.raises(RepoError, match="refusing to commit"):
            write_commits(clone, tip, [Commit("refs/plato/test", "m\n", [edit])])
    assert remote.snapshot() == before


def test_every_outgoing_blob_is_in_the_one_stream() -> None:
    stream = fast_import_stream(None, [Commit("refs/x", "m\n", [_edit({"dev/app/a": b"A\n"}, ["dev/app/"])])], False)
    assert b"D dev/app\n" in stream and b"M 100644 inline dev/app/a\ndata 2\nA\n" in stream


def test_retries_stop_at_the_count_or_the_time_budget() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    counted = Retry(retry_for=1e9, max_retries=3, backoff=0.01, sleep=sleep, clock=lambda: now[0])
    counted.start()
    assert [counted.wait(n) for n in range(1, 6)] == [True, True, True, False, False]
    budget = Retry(retry_for=30, backoff=1.0, cap=4.0, sleep=sleep, clock=lambda: now[0])
    budget.start()
    n = 1
    while budget.wait(n):
        n += 1
    assert now[0] - budget.began <= 30 and n > 5
    assert all(0 <= w <= 4.0 for w in waits)
