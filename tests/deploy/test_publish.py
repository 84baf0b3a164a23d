"""`plato publish` against real git: what lands in the deployment repository, and what never does.

Every test publishes examples/shop into a bare remote in tmp_path (or one served by `git daemon`) with plato as
a subprocess, then reads the remote back with plain git.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

SHA_A = "a" * 40
SHA_B = "b" * 40
SHA_C = "c" * 40

OWNED_FILES = [
    "development/shop/manifest.yaml",
    "development/shop/README.md",
    "development/shop/hydrator.metadata",
    "cd/dev/development-shop.yaml",
    ".plato/inputs/development/shop.json",
    ".gitattributes",
]


def trailers(remote, ref: str = "main") -> dict[str, str]:
    """The commit's trailers as git itself parses them (so they are real trailers, in the last paragraph).
    `remote`: anything with a `git(*args)` method for the bare repository."""
    out = remote.git("log", "-1", "--format=%(trailers:only=true,unfold=true)", ref)
    pairs = [line.split(": ", 1) for line in out.splitlines() if ": " in line]
    return {k: v for k, v in pairs}


def images(manifest: str) -> set[str]:
    return {line.split("image:", 1)[1].strip() for line in manifest.splitlines() if line.strip().startswith("image:")}


# --- 1. the first publish ---------------------------------------------------------------------------------------


def test_first_publish_makes_one_commit_with_the_tree_and_trailers(remote, run_plato, shop_args) -> None:
    r = run_plato(shop_args("publish", remote.path, context={"source_sha": SHA_A, "source_time": "1000"}))

    assert r.returncode == 0, r.explain()
    assert remote.count() == 1
    files = remote.files()
    assert set(OWNED_FILES) <= set(files), files
    outside = [
        f
        for f in files
        if f not in OWNED_FILES and not f.startswith(("development/shop/", "terraform/")) and "shop" not in f
    ]
    assert outside == [], "the first publish wrote files outside the (env, app) paths"
    assert "ghcr.io/acme/shop:1.0" in images(remote.show("development/shop/manifest.yaml"))

    t = trailers(remote)
    assert t.get("Plato-Env") == "development"
    assert t.get("Plato-App") == "shop"
    assert t.get("Plato-Version")
    assert t.get("Plato-Source-Commit") == SHA_A
    assert t.get("Argocd-reference-commit-sha") == SHA_A
    assert remote.message().startswith("plato: shop in development: ")

    assert remote.authors() == ["plato <plato@users.noreply.github.com>|plato <plato@users.noreply.github.com>"]
    record = json.loads(remote.show(".plato/inputs/development/shop.json"))
    assert record["source"] == {"sha": SHA_A, "repo": None, "time": 1000}
    assert "published shop in development" in r.stderr
    assert "created .gitattributes" in r.stderr


def test_a_missing_local_repo_path_is_created_as_a_bare_repository(tmp_path, run_plato, shop_args, git) -> None:
    target = tmp_path / "new" / "deploy.git"
    r = run_plato(shop_args("publish", target))

    assert r.returncode == 0, r.explain()
    assert git("--git-dir", str(target), "rev-parse", "--is-bare-repository").strip() == "true"
    assert git("--git-dir", str(target), "rev-list", "--count", "main").strip() == "1"
    # Without -c source_sha there is no source to name.
    t = trailers(SimpleNamespace(git=lambda *args: git("--git-dir", str(target), *args)))
    assert t.get("Plato-Env") == "development"
    assert "Plato-Source-Commit" not in t
    assert "Argocd-reference-commit-sha" not in t


# --- 2. no commit without a real change --------------------------------------------------------------------------


def test_identical_and_provenance_only_publishes_make_no_commit(remote, run_plato, shop_args) -> None:
    first = run_plato(shop_args("publish", remote.path, context={"source_sha": SHA_A, "source_time": "1000"}))
    assert first.returncode == 0, first.explain()
    tip = remote.tip()

    again = run_plato(shop_args("publish", remote.path, context={"source_sha": SHA_A, "source_time": "1000"}))
    assert again.returncode == 0, again.explain()
    assert "no changes" in again.stderr
    assert remote.count() == 1 and remote.tip() == tip

    # Only the source commit differs, and it is newer: nothing a CD tool reads changes, but the record does
    # (so that a late run from an older commit cannot overwrite this one): one commit touching only the record.
    provenance = run_plato(shop_args("publish", remote.path, context={"source_sha": SHA_B, "source_time": "1001"}))
    assert provenance.returncode == 0, provenance.explain()
    assert remote.count() == 2
    assert remote.git("diff", "--name-only", "main~1", "main").split() == [".plato/inputs/development/shop.json"]
    assert json.loads(remote.show(".plato/inputs/development/shop.json"))["source"]["sha"] == SHA_B
    tip = remote.tip()

    # The same source again: nothing at all.
    again = run_plato(shop_args("publish", remote.path, context={"source_sha": SHA_B, "source_time": "1001"}))
    assert again.returncode == 0 and remote.tip() == tip

    real = run_plato(
        shop_args(
            "publish", remote.path, image="ghcr.io/acme/shop:2.0", context={"source_sha": SHA_C, "source_time": "1002"}
        )
    )
    assert real.returncode == 0, real.explain()
    assert remote.count() == 3
    assert "ghcr.io/acme/shop:2.0" in images(remote.show("development/shop/manifest.yaml"))
    assert "ghcr.io/acme/shop:1.0" not in images(remote.show("development/shop/manifest.yaml"))
    assert trailers(remote).get("Plato-Source-Commit") == SHA_C
    # The provenance files travel with the real change.
    assert json.loads(remote.show(".plato/inputs/development/shop.json"))["source"]["sha"] == SHA_C
    assert "Deployment ~2" in real.stderr
    # Only the owned paths changed in that commit.
    changed = remote.git("diff", "--name-only", "main~1", "main").split()
    assert set(changed) <= set(OWNED_FILES), changed


def test_a_hand_made_chmod_on_a_file_plato_owns_is_restored(tmp_path, remote, run_plato, shop_args, git) -> None:
    """The bytes are plato's but the mode is not: the next publish writes the file back as plato writes it."""
    first = run_plato(shop_args("publish", remote.path, context={"source_sha": SHA_A, "source_time": "1000"}))
    assert first.returncode == 0, first.explain()
    work = tmp_path / "chmod"
    git("clone", "-q", str(remote.path), str(work))
    (work / "development/shop/manifest.yaml").chmod(0o755)
    git("commit", "-q", "-am", "chmod", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    assert remote.git("ls-tree", "main", "development/shop/manifest.yaml").startswith("100755")

    again = run_plato(shop_args("publish", remote.path, context={"source_sha": SHA_A, "source_time": "1000"}))

    assert again.returncode == 0, again.explain()
    assert remote.count() == 3 and remote.subjects()[0].startswith("plato: ")
    assert remote.git("ls-tree", "main", "development/shop/manifest.yaml").startswith("100644")
    assert remote.git("diff", "--name-only", "main~1", "main").split() == ["development/shop/manifest.yaml"]


# --- 3. ownership -------------------------------------------------------------------------------------------------

FOREIGN = {
    "other/keep.txt": "kept by someone else\n",
    "development/other-app/manifest.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
    "cd/dev/development-other-app.yaml": "kind: Application\n",
    ".plato/inputs/development/other-app.json": "{}\n",
    "development/shop-other/keep.yaml": "a sibling whose name starts with the app's\n",
    "README.md": "the deployment repository\n",
}


@pytest.mark.parametrize("what", ["folder", "file"])
def test_whatever_stands_at_gitattributes_is_the_repositorys_own(what, tmp_path, remote, run_plato, shop_args) -> None:
    """plato writes a .gitattributes only where there is none: a folder of that name was replaced by the file,
    deleting what it held, outside every path the app owns."""
    seed = {".gitattributes/keep.txt": "kept\n"} if what == "folder" else {".gitattributes": "*.bin binary\n"}
    remote.commit(seed, workdir=tmp_path / "seed")

    r = run_plato(shop_args("publish", remote.path))

    assert r.returncode == 0, r.explain()
    assert "created .gitattributes" not in r.output
    assert {f for f in remote.files() if f.startswith(".gitattributes")} == set(seed)
    assert remote.git("show", f"main:{next(iter(seed))}") == next(iter(seed.values()))


def test_files_outside_the_owned_paths_survive_and_stale_owned_files_go(tmp_path, remote, run_plato, shop_args) -> None:
    remote.commit({**FOREIGN, "development/shop/stale.yaml": "kind: ConfigMap\n"}, workdir=tmp_path / "seed")
    blobs = {path: remote.git("rev-parse", f"main:{path}").strip() for path in FOREIGN}

    first = run_plato(shop_args("publish", remote.path))
    assert first.returncode == 0, first.explain()
    files = remote.files()
    assert "development/shop/stale.yaml" not in files
    assert "development/shop/manifest.yaml" in files
    assert {path: remote.git("rev-parse", f"main:{path}").strip() for path in FOREIGN} == blobs

    second = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:2.0"))
    assert second.returncode == 0, second.explain()
    assert remote.count() == 3
    assert {path: remote.git("rev-parse", f"main:{path}").strip() for path in FOREIGN} == blobs
    for rev in ("main~1", "main"):
        touched = remote.git("diff", "--name-only", f"{rev}~1", rev).split()
        assert not set(touched) & set(FOREIGN), f"{rev} touched {touched}"


# --- 4. latest wins -----------------------------------------------------------------------------------------------

NEWER = {"source_sha": SHA_A, "source_time": "2000"}
OLDER = {"source_sha": SHA_B, "source_time": "1000"}


@pytest.mark.parametrize("order", ["newer-first", "older-first"])
def test_the_newer_source_commit_wins_in_either_order(order, remote, run_plato, shop_args) -> None:
    newer = shop_args("publish", remote.path, image="ghcr.io/acme/shop:new", context=NEWER)
    older = shop_args("publish", remote.path, image="ghcr.io/acme/shop:old", context=OLDER)
    runs = [run_plato(newer), run_plato(older)] if order == "newer-first" else [run_plato(older), run_plato(newer)]

    for r in runs:
        assert r.returncode == 0, r.explain()
    assert images(remote.show("development/shop/manifest.yaml")) >= {"ghcr.io/acme/shop:new"}
    assert "ghcr.io/acme/shop:old" not in remote.show("development/shop/manifest.yaml")
    assert json.loads(remote.show(".plato/inputs/development/shop.json"))["source"]["sha"] == SHA_A
    assert trailers(remote).get("Plato-Source-Commit") == SHA_A
    if order == "newer-first":
        skipped = runs[1]
        assert remote.count() == 1
        assert "not published" in skipped.stderr
        assert "newer source commit" in skipped.stderr and SHA_A[:12] in skipped.stderr
    else:
        assert remote.count() == 2


def test_an_older_run_does_not_overwrite_a_newer_commit_that_changed_nothing(remote, run_plato, shop_args) -> None:
    for image, ctx in [
        ("ghcr.io/acme/shop:1.0", {"source_sha": SHA_A, "source_time": "1000"}),
        ("ghcr.io/acme/shop:1.0", {"source_sha": SHA_C, "source_time": "3000"}),  # newest: same output, no commit
        ("ghcr.io/acme/shop:old", {"source_sha": SHA_B, "source_time": "2000"}),  # older than the newest
    ]:
        r = run_plato(shop_args("publish", remote.path, image=image, context=ctx))
        assert r.returncode == 0, r.explain()
    assert "ghcr.io/acme/shop:old" not in remote.show("development/shop/manifest.yaml")


# --- 6. git:// and unreachable remotes ----------------------------------------------------------------------------


def test_publish_over_git_daemon(git_daemon, make_bare, run_plato, shop_args) -> None:
    served = make_bare("deploy.git", parent=git_daemon.base)
    r = run_plato(shop_args("publish", git_daemon.url("deploy.git"), context={"source_sha": SHA_A}))

    assert r.returncode == 0, r.explain()
    assert served.count() == 1
    assert set(OWNED_FILES) <= set(served.files())
    assert git_daemon.url("deploy.git") in r.stderr


@pytest.mark.parametrize("command", ["publish", "preview"])
def test_an_unreachable_url_exits_3_without_a_traceback(command, tmp_path, closed_port, run_plato, shop_args) -> None:
    private_tmp = tmp_path / "tmpdir"  # all or nothing: not even a private clone is left behind
    private_tmp.mkdir()

    r = run_plato(shop_args(command, f"git://127.0.0.1:{closed_port}/x.git"), env={"TMPDIR": str(private_tmp)})

    assert r.returncode == 3, r.explain()
    assert "unreachable" in r.stderr
    assert "Traceback" not in r.output
    assert "nothing was published" in r.stderr
    assert list(private_tmp.iterdir()) == []


def test_credentials_in_the_url_never_reach_the_output(closed_port, run_plato, shop_args) -> None:
    r = run_plato(shop_args("publish", f"https://user:s3cr3t@127.0.0.1:{closed_port}/x.git"))

    assert r.returncode == 3, r.explain()
    assert "s3cr3t" not in r.output
    assert "Traceback" not in r.output


def test_credentials_in_a_git_url_never_reach_the_output(closed_port, run_plato, shop_args) -> None:
    r = run_plato(shop_args("publish", f"git://user:s3cr3t@127.0.0.1:{closed_port}/x.git"))

    assert r.returncode == 3, r.explain()
    assert "s3cr3t" not in r.output


# --- 11. all or nothing -------------------------------------------------------------------------------------------

BAD_SPEC = textwrap.dedent(
    """\
    apiVersion: score.dev/v1b1
    metadata:
      name: bad
    containers: 5
    """
)


@pytest.fixture
def private_tmp(tmp_path: Path) -> Path:
    """A TMPDIR of its own for the plato subprocess, to see what it leaves behind."""
    path = tmp_path / "tmpdir"
    path.mkdir()
    return path


def test_a_failed_render_changes_nothing(tmp_path, private_tmp, remote, run_plato, shop_args) -> None:
    remote.commit({"other/keep.txt": "x\n"}, workdir=tmp_path / "seed")
    before, refs = remote.snapshot(), remote.refs()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.score.yaml").write_text(BAD_SPEC, encoding="utf-8")

    r = run_plato(shop_args("publish", remote.path, workloads=[tmp_path / "bad"]), env={"TMPDIR": str(private_tmp)})

    assert r.returncode == 2, r.explain()
    assert "containers must be a mapping" in r.stderr
    assert "Traceback" not in r.output
    assert remote.refs() == refs
    assert remote.snapshot() == before
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("server", ["closed", "silent"])
def test_a_failed_render_is_reported_first_and_stops_the_fetch_begun_beside_it(
    server, tmp_path, private_tmp, closed_port, silent_port, run_plato, shop_args
) -> None:
    """publish starts fetching the deployment repository while it renders (Clone.fetch_ahead): a mistake in the
    input is still the error reported, and the fetch is stopped and cleaned up, even one that would never end."""
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.score.yaml").write_text(BAD_SPEC, encoding="utf-8")
    port = closed_port if server == "closed" else silent_port
    repo = f"git://127.0.0.1:{port}/deploy.git"

    r = run_plato(
        shop_args("publish", repo, workloads=[tmp_path / "bad"]), env={"TMPDIR": str(private_tmp)}, timeout=30
    )

    assert r.returncode == 2, r.explain()
    assert "containers must be a mapping" in r.stderr
    assert "Traceback" not in r.output
    assert list(private_tmp.iterdir()) == []


def test_a_failed_render_does_not_create_a_missing_repo(tmp_path, private_tmp, run_plato, shop_args) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.score.yaml").write_text(BAD_SPEC, encoding="utf-8")

    r = run_plato(
        shop_args("publish", tmp_path / "absent.git", workloads=[tmp_path / "bad"]), env={"TMPDIR": str(private_tmp)}
    )

    assert r.returncode == 2, r.explain()
    assert not (tmp_path / "absent.git").exists()
    assert list(private_tmp.iterdir()) == []


def test_a_rejected_push_changes_nothing_and_leaves_no_private_clone(
    tmp_path, private_tmp, remote, run_plato, shop_args, write_hook, checkout_dirs: Callable[[Path], list[str]]
) -> None:
    remote.commit({"other/keep.txt": "x\n"}, workdir=tmp_path / "seed")
    calls = tmp_path / "pre-receive-calls"
    write_hook(
        remote, "pre-receive", f"#!/bin/sh\necho x >> '{calls}'\necho 'policy: deployments are frozen' >&2\nexit 1\n"
    )
    before, refs = remote.snapshot(), remote.refs()

    r = run_plato(shop_args("publish", remote.path), env={"TMPDIR": str(private_tmp)})

    assert r.returncode == 3, r.explain()
    assert len(calls.read_text().splitlines()) == 1, "a policy rejection is not a lost race: no retry"
    assert "nothing was published" in r.stderr
    assert "Traceback" not in r.output
    assert remote.refs() == refs
    assert remote.snapshot() == before
    assert checkout_dirs(private_tmp) == []
    assert list(private_tmp.iterdir()) == []


def _moved_rules(tmp_path: Path) -> Path:
    """The bundled rules with development's manifests moved to apps/{env}/{app} (a layout change)."""
    import shutil

    from generator.resources import bundled_dir

    rules = tmp_path / "moved-rules"
    shutil.copytree(bundled_dir("rules"), rules)
    envs = rules / "10-environments.yaml"
    text = envs.read_text()
    head, tail = text.split("name: development\n", 1)
    at = tail.index("spec:\n") + len("spec:\n")
    envs.write_text(
        head + "name: development\n" + tail[:at] + "  paths:\n    manifests: apps/{env}/{app}\n" + tail[at:]
    )
    return rules


def test_rules_that_move_an_app_take_its_old_files_away_in_the_same_commit(tmp_path, remote, run_plato, shop_args):
    assert run_plato(shop_args("publish", remote)).returncode == 0
    old = [f for f in remote.files() if f.startswith("development/shop/")]
    assert "development/shop/.plato-owner" in old
    moved = ["--rules", str(_moved_rules(tmp_path))]

    preview = run_plato(shop_args("preview", remote, extra=[*moved, "--format", "json"]))
    assert preview.returncode == 0, preview.explain()
    files = json.loads(preview.stdout)["apps"][0]["files"]
    assert {f: files.get(f) for f in old} == dict.fromkeys(old, "removed")

    count = remote.count()
    r = run_plato(shop_args("publish", remote, extra=moved))
    assert r.returncode == 0, r.explain()
    after = remote.files()
    assert not [f for f in after if f.startswith("development/shop/")]
    assert {"apps/" + f for f in old} <= set(after)
    assert remote.count() == count + 1
    assert "apps/development/shop/" in json.loads(remote.show(".plato/inputs/development/shop.json"))["owned"]


def test_a_moved_apps_old_folder_marked_as_someone_elses_is_left_alone(tmp_path, remote, run_plato, shop_args):
    assert run_plato(shop_args("publish", remote)).returncode == 0
    remote.commit({"development/shop/.plato-owner": "development/other\n"}, workdir=tmp_path / "edit")
    r = run_plato(shop_args("publish", remote, extra=["--rules", str(_moved_rules(tmp_path))]))
    assert r.returncode == 0, r.explain()
    after = remote.files()
    assert "development/shop/manifest.yaml" in after and "apps/development/shop/manifest.yaml" in after


# --- a server that allows filters: a publish downloads its own paths only ---------------------------------------


@pytest.fixture
def filtering(tmp_path, remote):
    """The remote serves filtered fetches (as GitHub does): a publish downloads the trees on the way to its paths."""
    remote.git("config", "uploadpack.allowFilter", "true")
    return remote


def test_a_publish_through_filtered_fetches_keeps_everything_else_and_lands_the_render(
    tmp_path, filtering, run_plato, shop_args
) -> None:
    filtering.commit({**FOREIGN, "development/shop/stale.yaml": "kind: ConfigMap\n"}, workdir=tmp_path / "seed")
    blobs = {path: filtering.git("rev-parse", f"main:{path}").strip() for path in FOREIGN}
    for image in ("ghcr.io/acme/shop:1.0", "ghcr.io/acme/shop:2.0"):
        r = run_plato(shop_args("publish", filtering.path, image=image))
        assert r.returncode == 0, r.explain()
        assert image in images(filtering.show("development/shop/manifest.yaml"))
    files = filtering.files()
    assert set(OWNED_FILES) <= set(files) and "development/shop/stale.yaml" not in files
    assert {path: filtering.git("rev-parse", f"main:{path}").strip() for path in FOREIGN} == blobs
    assert filtering.count() == 3


@pytest.mark.parametrize(
    ("symlinks", "files", "says"),
    [
        ({"cd": "elsewhere"}, {}, "symlink cd"),
        ({"development/shop/manifest.yaml": "/etc/passwd"}, {"development/shop/.plato-owner": "development/shop\n"},
         "symlink development/shop/manifest.yaml"),
        ({}, {"development/shop": "a file where the app's folder goes\n"}, "development/shop is a file"),
        ({}, {"development/shop/.plato-owner": "development/other\n"}, "development/other"),
    ],
)  # fmt: skip
def test_a_publish_through_filtered_fetches_refuses_what_is_on_its_paths(
    tmp_path, filtering, run_plato, shop_args, symlinks, files, says
) -> None:
    """The checks read the same entries when only the trees on the way were downloaded."""
    filtering.commit({"README.md": "seed\n", **files}, symlinks=symlinks, workdir=tmp_path / "seed")
    before = filtering.snapshot()
    r = run_plato(shop_args("publish", filtering.path))
    assert r.returncode == 2, r.explain()
    assert says in r.stderr and "Traceback" not in r.output
    assert filtering.snapshot() == before


def test_a_pull_request_branch_that_proposes_what_the_latest_run_did_not_ask_for_is_withdrawn(
    remote, run_plato, shop_args
) -> None:
    """main holds 1.0; a run proposed 2.0 on the PR branch; the latest run asks for 1.0 again. It reported "no
    changes" and left the proposal of 2.0 open: merging it deployed what nobody asked for last."""
    assert run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:1.0")).returncode == 0
    proposed = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:2.0", extra=["--mode", "pr"]))
    assert proposed.returncode == 0, proposed.explain()
    branch = "plato/development/shop"
    assert remote.git("rev-parse", f"{branch}^{{tree}}") != remote.git("rev-parse", "main^{tree}")

    latest = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:1.0", extra=["--mode", "pr"]))

    assert latest.returncode == 0, latest.explain()
    assert "no changes" in latest.stderr and f"{branch} proposed something else" in latest.stderr
    assert remote.git("rev-parse", f"{branch}^{{tree}}") == remote.git("rev-parse", "main^{tree}")
    again = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:1.0", extra=["--mode", "pr"]))
    assert again.returncode == 0 and "proposed something else" not in again.stderr  # nothing more to do
