"""The git wrapper (generator/deploy/git.py) against real bare repositories: listing trees, reading blobs,
fetching (and what a clone for a publish's paths downloads), pushing and what a push's real output means."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from testkit.git import REAL_GIT, TEST_AUTHOR, Bare, git, hermetic_env, init_bare

from generator.deploy.git import (
    BlobReader,
    Clone,
    Git,
    PushRejected,
    blob_id,
    commit_time,
    ensure_local_repo,
    landed,
    ls_tree,
    push_outcome,
    remote_url,
    repo_error,
)
from generator.errors import RepoError, UserError, mask_secrets


def _seeded(tmp_path: Path) -> tuple[Bare, str]:
    remote = init_bare(tmp_path / "remote.git")
    files = {"a.txt": "A\n", "dir/b.txt": "B\n", "dir/sub/c.txt": "C\n", "dirx/d.txt": "D\n"}
    sha = remote.commit(files, symlinks={"link": "a.txt"}, gitlinks=["mod"], workdir=tmp_path / "seed")
    return remote, sha


def _commit(clone: Clone, parent: str | None, name: str, data: bytes) -> str:
    """A commit with one file, made in the clone with git's own plumbing."""
    oid = clone.git.run("hash-object", "-w", "--stdin", input=data)[1].strip()
    tree = clone.git.run("mktree", input=f"100644 blob {oid}\t{name}\n".encode())[1].strip()
    return clone.git.out("commit-tree", tree, *(["-p", parent] if parent else []), "-m", name)


def test_ls_tree_lists_modes_and_ids_and_without_recursion_only_the_paths_asked(tmp_path) -> None:
    remote, sha = _seeded(tmp_path)
    entries = ls_tree(Git(remote.path), sha)
    assert entries == remote.blobs()  # the same as GitPython reads it: files, the symlink and the gitlink
    assert entries["dir/sub/c.txt"] == ("100644", blob_id(b"C\n"))
    assert entries["link"][0] == "120000" and entries["mod"][0] == "160000"
    under = ls_tree(Git(remote.path), sha, ["dir"])
    assert sorted(under) == ["dir/b.txt", "dir/sub/c.txt"]  # not dirx/, whose name only starts the same
    flat = ls_tree(Git(remote.path), sha, ["dir/sub", "a.txt"], recursive=False)
    assert set(flat) == {"dir/sub", "a.txt"}  # not dir/b.txt, the sibling git lists on the way
    assert flat["dir/sub"][0] == "040000"


def test_a_blob_reader_reads_many_blobs_through_one_process_and_names_a_missing_one(tmp_path) -> None:
    remote, sha = _seeded(tmp_path)
    entries = ls_tree(Git(remote.path), sha)
    reader = BlobReader(Git(remote.path))
    assert reader.proc is None  # nothing started before the first read
    try:
        assert reader.read(entries["dir/b.txt"][1]) == b"B\n"
        proc = reader.proc
        assert reader.read(entries["a.txt"][1]) == b"A\n"
        assert reader.read(entries["link"][1]) == b"a.txt"  # a symlink's blob is its target
        assert reader.proc is proc
        missing = blob_id(b"never committed\n")
        with pytest.raises(RepoError, match=f"object {missing} is missing"):
            reader.read(missing)
    finally:
        reader.close()
    assert proc is not None and proc.returncode == 0  # closed and waited for


def test_a_clone_fetches_a_tip_or_none_and_reads_only_regular_files(tmp_path) -> None:
    empty = init_bare(tmp_path / "empty.git")
    with Clone(str(empty.path)) as clone:
        assert clone.fetch("main") is None
    remote, sha = _seeded(tmp_path)
    with Clone(str(remote.path)) as clone:
        assert clone.dir.is_dir() and not (clone.dir / "index").exists()
        tip = clone.fetch("main")
        assert tip == sha
        assert clone.fetch("other") is None  # a branch that does not exist yet
        assert clone.read_file(tip, "dir/sub/c.txt") == b"C\n"
        assert clone.tree_id(tip) == remote.git("rev-parse", f"{sha}^{{tree}}").strip()
        for not_a_file in ("link", "mod", "dir", "nope.txt"):
            assert clone.read_file(tip, not_a_file) is None, not_a_file
        assert clone.read_file(None, "a.txt") is None
    assert not clone.dir.exists()  # the private clone is removed on the way out


def test_a_push_lands_a_race_is_rejected_and_a_lease_or_force_decides(tmp_path) -> None:
    remote, _ = _seeded(tmp_path)
    with Clone(str(remote.path)) as clone:
        tip = clone.fetch("main")
        first = _commit(clone, tip, "first.txt", b"1\n")
        clone.push(first, "main")
        assert remote.tip() == first
        stale = _commit(clone, tip, "stale.txt", b"2\n")  # built on the tip before `first`
        with pytest.raises(PushRejected):
            clone.push(stale, "main")
        with pytest.raises(PushRejected):
            clone.push(stale, "main", lease=tip)  # the branch moved since `tip` was read
        assert remote.tip() == first
        clone.push(stale, "main", lease=first)
        assert remote.tip() == stale
        clone.push(first, "main", force=True)
        assert remote.tip() == first
        clone.push(stale, "new", lease="")  # "" leases a branch that does not exist yet
        assert remote.tip("new") == stale
        with pytest.raises(PushRejected):
            clone.push(first, "new", lease="")


def test_a_declining_hook_is_a_refusal_in_its_own_words_not_a_race(tmp_path) -> None:
    remote, sha = _seeded(tmp_path)
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected: open a pull request' >&2\nexit 1\n")
    hook.chmod(0o755)
    with Clone(str(remote.path)) as clone:
        commit = _commit(clone, clone.fetch("main"), "x.txt", b"x\n")
        with pytest.raises(RepoError) as caught:
            clone.push(commit, "main")
    assert not isinstance(caught.value, PushRejected)
    assert "refused the push" in caught.value.message
    assert "main is protected: open a pull request" in caught.value.message
    assert remote.tip() == sha


def _porcelain_push(work: Path) -> subprocess.CompletedProcess[str]:
    """`git push --porcelain` as plato runs it, with its stdout and stderr apart."""
    args = [REAL_GIT, "push", "--porcelain", "origin", "HEAD:refs/heads/main"]
    return subprocess.run(args, cwd=work, capture_output=True, text=True, env=hermetic_env(TEST_AUTHOR), check=False)


def test_push_outcome_and_landed_read_what_git_push_porcelain_really_prints(tmp_path) -> None:
    remote, sha = _seeded(tmp_path)
    work = tmp_path / "work"
    git("clone", "-q", str(remote.path), str(work))
    git("commit", "-q", "--allow-empty", "-m", "ahead", cwd=work)
    ok = _porcelain_push(work)
    assert ok.returncode == 0
    assert landed(ok.stdout, "refs/heads/main")
    assert not landed(ok.stdout, "refs/heads/other")
    git("reset", "-q", "--hard", sha, cwd=work)
    git("commit", "-q", "--allow-empty", "-m", "behind", cwd=work)
    lost = _porcelain_push(work)
    assert lost.returncode != 0
    assert not landed(lost.stdout, "refs/heads/main")
    race, why = push_outcome(lost.stdout, lost.stderr)
    assert race and ("fetch first" in why or "non-fast-forward" in why)


def test_push_outcome_tells_a_hook_from_a_race_by_the_per_ref_lines() -> None:
    hook = "To /r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)\nDone\n"
    said = "remote: stale branch: fetch first and open a pull request\nerror: failed to push some refs to '/r.git'\n"
    race, why = push_outcome(hook, said)
    # The hook's own words hold a race marker ("fetch first"), yet the per-ref line says a hook declined: no
    # retry, and the hook's words in the message.
    assert not race and "pre-receive hook declined" in why
    assert why.endswith(": stale branch: fetch first and open a pull request")
    locked = "!\tX:refs/heads/main\t[remote rejected] (cannot lock ref 'refs/heads/main': is at abc)\n"
    assert push_outcome(locked, "")[0]
    assert push_outcome("", "error: cannot lock ref 'refs/heads/main'\n")[0]  # no per-ref lines: stderr decides
    assert push_outcome("", "fatal: the remote end hung up unexpectedly\n") == (
        False,
        "fatal: the remote end hung up unexpectedly",
    )


def test_remote_url_makes_paths_file_urls_and_registers_credentials_that_every_git_message_masks(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy.git").mkdir()
    assert remote_url("deploy.git") == (tmp_path / "deploy.git").resolve().as_uri()
    assert remote_url("git@github.com:acme/deploy.git") == "git@github.com:acme/deploy.git"
    url = "https://x-access-token:tok9Qm2rT7vWz@github.com/acme/deploy.git"
    assert remote_url(url) == url
    # git prints the URL in its own ways (quoted, percent-decoded, the password alone): masked wherever it is.
    assert "tok9Qm2rT7vWz" not in mask_secrets("fatal: unable to access with tok9Qm2rT7vWz")
    remote_url("https://ghp1Zx8Lk3Jm@example.com/r.git")  # a token as the user name
    err = repo_error(["fetch", url], "fatal: Authentication failed for 'ghp1Zx8Lk3Jm' (tok9Qm2rT7vWz)\n")
    assert "authentication was refused" in err.message
    assert "tok9Qm2rT7vWz" not in err.render() and "ghp1Zx8Lk3Jm" not in err.render()


def test_a_missing_unreachable_or_read_only_repository_is_a_repo_error_saying_which(tmp_path, closed_port) -> None:
    with Clone(str(tmp_path / "missing.git")) as clone, pytest.raises(RepoError) as caught:
        clone.fetch("main")
    assert "was not found" in caught.value.message and "nothing was published" in (caught.value.hint or "")
    assert caught.value.exit_code == 3
    with Clone(f"http://127.0.0.1:{closed_port}/r.git") as clone, pytest.raises(RepoError) as caught:
        clone.fetch("main")
    assert "is unreachable" in caught.value.message
    # A push refused for want of access, after a fetch that worked: the token reads but cannot write.
    denied = (
        "remote: Permission to acme/deploy.git denied to bot.\n"
        "fatal: unable to access 'https://github.com/acme/deploy.git/': The requested URL returned error: 403\n"
    )
    pushed = repo_error(["push", "origin"], denied)
    assert "can be read but refused the push" in pushed.message and "write access" in (pushed.hint or "")
    assert "returned error: 403" in pushed.message  # git's own line, quoted
    fetched = repo_error(["fetch", "origin"], denied)  # the same words on a fetch: the token is refused outright
    assert "authentication was refused" in fetched.message


def test_ensure_local_repo_creates_a_bare_repository_only_at_a_new_path(tmp_path, monkeypatch) -> None:
    new = tmp_path / "deploy.git"
    ensure_local_repo(str(new), "trunk")
    assert git("--git-dir", str(new), "symbolic-ref", "HEAD").strip() == "refs/heads/trunk"
    assert git("--git-dir", str(new), "rev-parse", "--is-bare-repository").strip() == "true"
    ensure_local_repo(str(new), "main")  # an existing repository is kept as it is
    assert git("--git-dir", str(new), "symbolic-ref", "HEAD").strip() == "refs/heads/trunk"
    (tmp_path / "notes").mkdir()
    with pytest.raises(UserError, match="is not a git repository"):
        ensure_local_repo(str(tmp_path / "notes"), "main")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    ensure_local_repo("https://example.com/acme/deploy.git", "main")  # a URL: nothing made on disk
    ensure_local_repo("git@example.com:acme/deploy.git", "main")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_new_clone_sweeps_the_clones_of_dead_runs_only(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f"plato-checkout-{dead.pid}-abc"
    mine = tmp_path / f"plato-checkout-{os.getpid()}-def"
    odd = tmp_path / "plato-checkout-x-ghi"
    for d in (left, mine, odd):
        d.mkdir()
    clone = Clone(str(tmp_path / "r.git"))
    try:
        assert not left.exists()
        assert mine.exists() and odd.exists()
        assert clone.dir.parent == tmp_path
    finally:
        clone.close()


def test_commit_time_reads_the_committer_time_of_the_checkout(tmp_path, monkeypatch) -> None:
    work = tmp_path / "src"
    git("init", "-q", "-b", "main", str(work))
    git("commit", "-q", "--allow-empty", "-m", "x", cwd=work, env={"GIT_COMMITTER_DATE": "@1700000123 +0000"})
    sha = git("rev-parse", "HEAD", cwd=work).strip()
    monkeypatch.chdir(work)
    assert commit_time(sha) == 1700000123
    assert commit_time("f" * 40) is None


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
        ".plato/inputs/production/c.json": "{}\n",
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


def _trees(clone: Clone, kind: str = "tree") -> set[str]:
    """Every tree object (or blob) the clone holds (git never fetches anything to answer this)."""
    every = ["cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)"]
    out = subprocess.run(["git", "--git-dir", str(clone.dir), *every], capture_output=True, text=True, check=True)
    return {line.split()[1] for line in out.stdout.splitlines() if line.startswith(kind + " ")}


def _tree_of(bare: Path, rev_path: str) -> str:
    out = subprocess.run(["git", "--git-dir", str(bare), "rev-parse", rev_path], capture_output=True, text=True)
    return out.stdout.strip()


READ = ["development/a/", ".plato/inputs/development/a.json", "README.md"]


def test_a_clone_for_paths_downloads_the_trees_on_the_way_and_nothing_beside_them(tmp_path: Path) -> None:
    bare = _seed(tmp_path, **{"uploadpack.allowFilter": "true"})
    with Clone(bare.as_uri(), paths=True) as clone:  # a URL: what a server does
        tip = clone.fetch("main")
        assert tip is not None and clone.trees_filtered
        clone.fetch_paths(tip, READ)
        held = _trees(clone)
        on_the_way = ["main:", "main:development", "main:development/a", "main:development/a/deep", "main:.plato"]
        assert {_tree_of(bare, t) for t in [*on_the_way, "main:.plato/inputs/development"]} <= held
        assert _tree_of(bare, "main:development/b") not in held  # another app's folder
        assert _tree_of(bare, "main:production") in held  # the top folders' listings come with the tip
        assert _tree_of(bare, "main:production/c") not in held  # ... and nothing in them
        blobs = _trees(clone, "blob")
        whole = ["development/a/manifest.yaml", "development/a/deep/x.yaml"]  # came with the folder wanted whole
        assert {_tree_of(bare, f"main:{f}") for f in [*whole, "README.md"]} <= blobs  # README.md: with the root
        others = ["development/b/manifest.yaml", "production/c/manifest.yaml", ".plato/inputs/development/a.json"]
        assert not {_tree_of(bare, f"main:{f}") for f in others} & blobs  # the record comes when it is read
        listed = ls_tree(clone.git, tip, READ)
        assert sorted(listed) == [".plato/inputs/development/a.json", "README.md", *sorted(
            ["development/a/deep/x.yaml", "development/a/manifest.yaml"])]  # fmt: skip
        assert _trees(clone) == held  # listing the paths read fetched nothing more


def test_the_records_folder_comes_with_its_environments_listings_in_one_request(tmp_path, monkeypatch) -> None:
    """The walk to a record is the longest chain of requests a publish makes: the records' folder (one folder per
    environment) is asked for with its children's listings, so that the record's own folder needs no request."""
    bare = _seed(tmp_path, **{"uploadpack.allowFilter": "true"})
    monkeypatch.setenv("GIT_NO_LAZY_FETCH", "1")
    with Clone(bare.as_uri(), paths=True) as clone:  # a URL: what a server does
        tip = clone.fetch("main")
        assert tip is not None and clone.top == 2
        requests: list[list[str]] = []
        real = Git.run_together

        def counted(self, calls):
            requests.append([" ".join(a for a in args if a.startswith("--filter")) for args, _ in calls])
            return real(self, calls)

        monkeypatch.setattr(Git, "run_together", counted)
        clone.fetch_paths(tip, [".plato/inputs/development/a.json"])
        assert [r for r in requests if r] == [["--filter=tree:1"]]  # one request, not one per level
        held = _trees(clone)
        assert {_tree_of(bare, f"main:.plato/inputs/{env}") for env in ("development", "production")} <= held
        assert not {_tree_of(bare, f"main:.plato/inputs/{r}.json") for r in ("development/a", "production/c")} & (
            _trees(clone, "blob")
        )  # listings only: the record itself comes when it is read
        assert ls_tree(clone.git, tip, [".plato/inputs/development/a.json"])  # there, without a lazy fetch


def test_a_fetch_ahead_gives_the_tip_a_fetch_gives_with_its_paths_and_a_second_fetch_asks_again(tmp_path) -> None:
    bare = _seed(tmp_path, **{"uploadpack.allowFilter": "true"})
    record = _tree_of(bare, "main:.plato/inputs/development/a.json")
    with Clone(bare.as_uri(), paths=True) as clone:  # a URL: what a server does
        clone.fetch_ahead(["main", "plato/development/a"], [".plato/inputs/development/a.json"])
        tip = clone.fetch("main")
        assert tip == _tree_of(bare, "main")
        assert clone.ahead is not None and tip in clone.ahead.walking
        clone.ahead.join()  # the tip is handed out first; the walk to the paths goes on beside the caller
        assert record in _trees(clone, "blob")  # fetched before anyone asked
        assert clone.fetch("plato/development/a") is None  # no such branch (yet)
        newer = subprocess.run(
            ["git", "--git-dir", str(bare), "-c", "user.name=t", "-c", "user.email=t@example.com", "commit-tree",
             "main^{tree}", "-p", "main", "-m", "newer"], capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        subprocess.run(["git", "--git-dir", str(bare), "update-ref", "refs/heads/main", newer], check=True)
        assert clone.fetch("main") == newer  # what was fetched ahead is used once: a retry sees the new tip


def test_a_server_that_limits_tree_filters_is_walked_from_the_depth_it_allows(tmp_path, monkeypatch) -> None:
    bare = _seed(tmp_path, **{"uploadpack.allowFilter": "true", "uploadpackfilter.tree.maxDepth": "1"})
    monkeypatch.setenv("GIT_NO_LAZY_FETCH", "1")  # a tree the walk missed is an error, not a fetch of its own
    with Clone(bare.as_uri(), paths=True) as clone:  # a URL: what a server does
        tip = clone.fetch("main")
        assert tip is not None and clone.trees_filtered and clone.top == 1  # tree:2 refused, tree:1 taken
        clone.fetch_paths(tip, READ)
        assert _tree_of(bare, "main:production") not in _trees(clone)
        assert sorted(ls_tree(clone.git, tip, READ)) == [".plato/inputs/development/a.json", "README.md", *sorted(
            ["development/a/deep/x.yaml", "development/a/manifest.yaml"])]  # fmt: skip
        assert clone.filters == ["tree:1", "blob:none"]  # a retry does not ask for tree:2 again


@pytest.mark.parametrize("walk", ["walks", "fails"])
def test_what_a_publish_reads_is_there_after_a_fetch_ahead_without_fetching_lazily(walk, tmp_path, monkeypatch) -> None:
    """GIT_NO_LAZY_FETCH: git would otherwise fetch a missing object itself, one by one, and hide a gap. Where the
    walk ahead fails, fetch_paths walks its paths itself."""
    bare = _seed(tmp_path, **{"uploadpack.allowFilter": "true"})
    monkeypatch.setenv("GIT_NO_LAZY_FETCH", "1")
    if walk == "fails":
        real = Clone._walk

        def failing(self, rev, paths):
            if threading.current_thread().name == "plato-fetch-ahead":
                raise RepoError("the network went away")
            return real(self, rev, paths)

        monkeypatch.setattr(Clone, "_walk", failing)
    with Clone(bare.as_uri(), paths=True) as clone:  # a URL: what a server does
        clone.fetch_ahead(["main"], [".plato/inputs/development/a.json", "README.md"])
        tip = clone.fetch("main")
        clone.fetch_paths(tip, READ)
        listed = ls_tree(clone.git, tip, READ)
        clone.prefetch(oid for _, oid in listed.values())
        reader = BlobReader(clone.git)
        try:
            assert [reader.read(oid) for _, oid in sorted(listed.values())]  # every file, none missing
        finally:
            reader.close()
        assert clone.ahead is not None and clone.ahead.walk_failed == (walk == "fails")


def test_a_fetch_ahead_raises_where_its_tip_is_asked_for(tmp_path) -> None:
    with Clone(str(tmp_path / "absent.git"), paths=True) as clone:
        clone.fetch_ahead(["main"], [])  # nothing raised yet: the caller reads its input first
        with pytest.raises(RepoError, match="not found"):
            clone.fetch("main")


def test_closing_a_clone_stops_a_fetch_ahead_that_would_never_end(silent_port) -> None:
    clone = Clone(f"git://127.0.0.1:{silent_port}/deploy.git", paths=True).__enter__()
    clone.fetch_ahead(["main"], [])
    for _ in range(100):  # until git has connected and waits for an answer
        if clone.git.live:
            break
        time.sleep(0.05)
    running = list(clone.git.live)
    assert running, "the fetch ahead did not start git"
    closer = threading.Thread(target=clone.close, daemon=True)
    closer.start()
    closer.join(10)
    assert not closer.is_alive(), "close() is waiting for a fetch that never ends"
    assert clone.ahead is not None and not clone.ahead.is_alive()
    assert all(proc.poll() is not None for proc in running)
    assert not clone.dir.exists()


@pytest.mark.parametrize(
    "config",
    [{}, {"uploadpack.allowFilter": "true", "uploadpackfilter.tree.allow": "false"}],
    ids=["no-filters", "no-tree-filter"],
)
def test_a_server_without_tree_filters_serves_the_whole_tip_and_the_same_listing(tmp_path: Path, config) -> None:
    bare = _seed(tmp_path, **config)
    with Clone(bare.as_uri(), paths=True) as clone:  # a URL: what a server does
        tip = clone.fetch("main")
        assert tip is not None and not clone.trees_filtered
        assert clone.filtered == bool(config)  # blobs are still left out where filters are allowed at all
        clone.fetch_paths(tip, READ)  # nothing to do: every tree is there
        assert _tree_of(bare, "main:production") in _trees(clone)
        assert ".plato/inputs/development/a.json" in ls_tree(clone.git, tip, READ)


def test_many_objects_are_read_at_once_in_order_whatever_their_number(tmp_path: Path) -> None:
    """read_many asks cat-file for a chunk of ids at a time and reads the answers back in order, past the chunk
    size and with objects larger than a pipe's buffer (a blocked pipe would hang the test)."""
    from generator.deploy.git import PIPELINED, BlobReader, Git

    repo = tmp_path / "r.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    texts = [f"blob {i}\n".encode() * (i % 7 * 3000 + 1) for i in range(PIPELINED + 40)]
    ids = [
        subprocess.run(["git", "--git-dir", str(repo), "hash-object", "-w", "--stdin"], input=t,
                       capture_output=True, check=True).stdout.decode().strip()
        for t in texts
    ]  # fmt: skip
    reader = BlobReader(Git(repo))
    try:
        assert reader.read_many(ids) == texts
        assert reader.read(ids[3]) == texts[3]
    finally:
        reader.close()


def test_a_tree_walk_lists_what_ls_tree_lists(tmp_path: Path) -> None:
    """TreeWalk (tree objects read through cat-file) against `git ls-tree` itself, over folders, nested folders,
    a symlink, a gitlink, a file where a folder is asked for, a missing path and a name that is not ASCII."""
    from generator.deploy.git import BlobReader, Git, TreeWalk

    work = tmp_path / "w"
    for rel, text in {"a/b/c.yaml": "1", "a/b/d/e.yaml": "2", "a/f.txt": "3", "x/y": "4", "ü/ñ.yaml": "5"}.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    (work / "a" / "link").symlink_to("f.txt")
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    sub = "1" * 40
    subprocess.run(["git", "-C", str(work), "update-index", "--add", "--cacheinfo", f"160000,{sub},a/sub"], check=True)
    subprocess.run(["git", "-C", str(work), *ident, "commit", "-qm", "seed"], check=True)
    git = Git(work / ".git")
    reader = BlobReader(git)
    try:
        walk = TreeWalk(reader, git.out("rev-parse", "main^{tree}"))
        for path in ["a/", "a", "a/b/", "a/b/d", "a/f.txt", "a/f.txt/", "a/link", "a/sub", "x/y", "x/y/z", "nope/",
                     "ü/", "ü/ñ.yaml"]:  # fmt: skip
            assert walk.files(path) == ls_tree(git, "main", [path]), path
            entry = ls_tree(git, "main", [path.rstrip("/")], recursive=False).get(path.rstrip("/"))
            assert walk.entry(path) == entry, path
        assert sorted(walk.files("a/")) == ["a/b/c.yaml", "a/b/d/e.yaml", "a/f.txt", "a/link", "a/sub"]
        assert walk.entry("a/link") == ("120000", ls_tree(git, "main", ["a/link"])["a/link"][1])
        assert walk.entry("a/sub") == ("160000", sub) and walk.entry("a/b")[0] == "040000"  # type: ignore[index]
    finally:
        reader.close()


@pytest.mark.parametrize("given", ["path", "work tree"])
def test_a_local_repository_is_read_in_place_and_a_publish_copies_none_of_its_objects(given, tmp_path: Path) -> None:
    """A deployment repository given as a path: the clone borrows its objects, so a fetch copies nothing (it
    copied the whole tip where the repository allows no filters, as `git init --bare` does), and what is read,
    written and pushed is the same."""
    bare = _seed(tmp_path)
    repo = bare
    if given == "work tree":
        repo = tmp_path / "checkout"
        subprocess.run(["git", "clone", "-q", str(bare), str(repo)], check=True)
    with Clone(str(repo), paths=True) as clone:
        assert clone.borrowed is not None
        tip = clone.fetch("main")
        assert tip == _tree_of(bare, "main")
        packs = list((clone.dir / "objects" / "pack").glob("*.pack"))
        assert packs == [], "a fetch from a local repository copied objects"
        assert clone.read_file(tip, ".plato/inputs/development/a.json") == b"{}\n"
        assert clone.fetch("plato/development/a") is None  # a branch that does not exist yet
        newer = subprocess.run(
            ["git", "--git-dir", str(clone.dir), "-c", "user.name=t", "-c", "user.email=t@example.com",
             "commit-tree", f"{tip}^{{tree}}", "-p", tip, "-m", "newer"], capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        clone.push(newer, "published")
    where = repo if given == "path" else repo / ".git"
    assert _tree_of(where, "published") == newer  # landed in the repository itself
    assert _tree_of(where, "published^{tree}") == _tree_of(where, "main^{tree}")


def test_a_file_url_is_fetched_as_any_url_is(tmp_path: Path) -> None:
    with Clone(_seed(tmp_path).as_uri(), paths=True) as clone:
        assert clone.borrowed is None
        assert not (clone.dir / "objects" / "info" / "alternates").exists()
