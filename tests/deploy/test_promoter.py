"""The GitOps Promoter layout against real git: plato as the hydrator of three environments for two apps that share
the active branches through activePath (gitops-promoter docs/advanced-usage/custom-hydrator.md).

Each (env, app) goes to `environment/<env>-next/<app>`, holding only `<app>/` and its record; `<app>/hydrator.metadata`
names the dry commit with the optional fields; every hydrated commit has its `refs/notes/hydrator.metadata` note; a
new dry commit with the same output moves only the note; another app's folder on the branch is never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testkit.git import SHOP, git
from testkit.promotion import promotion_rules

ENVS = ("development", "staging", "production")
APPS = ("shop", "cart")
IMAGE = "ghcr.io/acme/shop:1.0@sha256:" + "4f" * 32
NOTES = "refs/notes/hydrator.metadata"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """The dry repository: a real git checkout whose commits plato describes in hydrator.metadata."""
    repo = tmp_path / "app-src"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "score").mkdir()
    for f in SHOP.glob("*.yaml"):
        (repo / "score" / f.name).write_bytes(f.read_bytes())
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "feat: first\n\nThe first version.", cwd=repo)
    return repo


def head(repo: Path) -> str:
    return git("rev-parse", "HEAD", cwd=repo).strip()


def hydrate(run_plato, repo: Path, remote, rules: Path, env: str, app: str) -> None:
    sha = head(repo)
    ctx = ["-c", f"env={env}", "-c", f"app={app}", "-c", "org=acme", "-c", f"source_sha={sha}"]
    ctx += ["-c", "source_repo=https://github.com/acme/shop", "-c", "rules_sha=" + "c" * 40]
    args = ["publish", "score", *ctx, "--image", IMAGE, "--repo", str(remote.path), "--rules", str(rules)]
    r = run_plato(args, cwd=repo)
    assert r.returncode == 0, r.explain()


def note(remote, commit: str) -> dict:
    return json.loads(remote.git("notes", f"--ref={NOTES}", "show", commit))


def test_three_environments_two_apps_sharing_active_branches(tmp_path, remote, run_plato, source) -> None:
    rules = promotion_rules(tmp_path / "rules", layout="promoter", active_path=True)
    for env in ENVS:
        for app in APPS:
            hydrate(run_plato, source, remote, rules, env, app)

    heads = remote.git("for-each-ref", "--format=%(refname)", "refs/heads").split()
    assert sorted(heads) == sorted(f"refs/heads/environment/{e}-next/{a}" for e in ENVS for a in APPS)
    sha = head(source)
    for env in ENVS:
        for app in APPS:
            branch = f"environment/{env}-next/{app}"
            files = remote.files(branch)
            assert {f.split("/")[0] for f in files} == {app, ".plato"}, files
            assert [f for f in files if f.startswith(".plato/")] == [f".plato/inputs/{env}/{app}.json"]
            assert f"{app}/manifest.yaml" in files and not any(f.startswith("cd/") for f in files)
            meta = json.loads(remote.show(f"{app}/hydrator.metadata", branch))
            assert meta["drySha"] == sha and meta["repoURL"] == "https://github.com/acme/shop"
            assert meta["author"] == "tester <tester@example.com>" and meta["subject"] == "feat: first"
            assert meta["body"] == "The first version." and meta["date"].startswith("20")
            assert meta["references"] == [{"commit": {"sha": "c" * 40, "repoURL": ""}}]
            assert note(remote, remote.tip(branch)) == {"drySha": sha}
            assert IMAGE in remote.show(f"{app}/manifest.yaml", branch)


def test_an_unchanged_render_moves_only_the_note(tmp_path, remote, run_plato, source) -> None:
    rules = promotion_rules(tmp_path / "rules", layout="promoter", active_path=True)
    hydrate(run_plato, source, remote, rules, "staging", "shop")
    branch = "environment/staging-next/shop"
    before = remote.tip(branch)
    (source / "NOTES.md").write_text("docs only\n", encoding="utf-8")
    git("add", ".", cwd=source)
    git("commit", "-q", "-m", "docs: a note", cwd=source)

    hydrate(run_plato, source, remote, rules, "staging", "shop")
    assert remote.tip(branch) == before, "no new commit when the output did not change"
    assert note(remote, before) == {"drySha": head(source)}
    notes_log = remote.git("log", "--format=%H", NOTES).split()
    hydrate(run_plato, source, remote, rules, "staging", "shop")  # the same dry commit again: nothing at all
    assert remote.git("log", "--format=%H", NOTES).split() == notes_log and remote.tip(branch) == before


def test_another_apps_folder_on_the_branch_is_untouched(tmp_path, remote, run_plato, source) -> None:
    rules = promotion_rules(tmp_path / "rules", layout="promoter", active_path=True)
    branch = "environment/development-next/shop"
    work = tmp_path / "work"
    git("clone", "-q", str(remote.path), str(work))
    (work / "cart").mkdir()
    (work / "cart" / "manifest.yaml").write_text("kind: ConfigMap\n", encoding="utf-8")
    (work / "shop").mkdir()
    (work / "shop" / "stale.yaml").write_text("kind: Secret\n", encoding="utf-8")
    git("checkout", "-q", "-b", branch, cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "the active branch's content", cwd=work)
    git("push", "-q", "origin", branch, cwd=work)
    cart = remote.blobs(branch)["cart/manifest.yaml"]

    hydrate(run_plato, source, remote, rules, "development", "shop")
    after = remote.blobs(branch)
    assert after["cart/manifest.yaml"] == cart
    assert "shop/stale.yaml" not in after and "shop/manifest.yaml" in after
    changed = remote.git("diff", "--name-only", f"{branch}~1", branch).split()
    assert all(p.startswith(("shop/", ".plato/inputs/development/shop.json")) for p in changed), changed


def test_without_active_path_the_app_has_the_branches_to_itself(tmp_path, remote, run_plato, source) -> None:
    rules = promotion_rules(tmp_path / "rules", layout="promoter")
    hydrate(run_plato, source, remote, rules, "production", "shop")
    branch = "environment/production-next"
    files = remote.files(branch)
    assert "hydrator.metadata" in files and "manifest.yaml" in files
    assert any(f.startswith("terraform/") for f in files)
    assert json.loads(remote.show("hydrator.metadata", branch))["drySha"] == head(source)
    assert note(remote, remote.tip(branch))["drySha"] == head(source)


@pytest.mark.parametrize(
    ("ctx", "says"),
    [
        ([], "needs the source commit"),
        (["-c", "source_sha=abc123"], "is not a full commit id"),
        (["-c", "source_sha=--output=written-by-git"], "is not a full commit id"),
    ],
)
def test_the_promoter_layout_refuses_a_proposal_without_a_dry_commit(tmp_path, remote, run_plato, ctx, says) -> None:
    rules = promotion_rules(tmp_path / "rules", layout="promoter", active_path=True)
    args = ["publish", str(SHOP), "-c", "env=development", "-c", "app=shop", *ctx, "--image", IMAGE]
    r = run_plato([*args, "--repo", str(remote.path), "--rules", str(rules)])
    assert r.returncode == 2, r.explain()
    assert says in r.stderr
    assert remote.git("for-each-ref") == ""
    assert not (tmp_path / "written-by-git").exists()


def test_concurrent_hydrators_share_the_notes_ref_and_all_land(tmp_path, remote, start_plato) -> None:
    """Every app's note goes into one ref, refs/notes/hydrator.metadata: concurrent hydrators race on it, and each
    must retry from the new notes tip (keeping the others' notes) until it lands."""
    rules = promotion_rules(tmp_path / "rules", layout="promoter", active_path=True)
    apps = [f"app{i}" for i in range(1, 5)]
    sha = "d" * 40
    procs = []
    for app in apps:
        args = ["publish", str(SHOP), "-c", "env=development", "-c", f"app={app}", "-c", f"source_sha={sha}"]
        procs.append(start_plato([*args, "--image", IMAGE, "--repo", str(remote.path), "--rules", str(rules)]))
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for app in apps:
        tip = remote.tip(f"environment/development-next/{app}")
        assert note(remote, tip) == {"drySha": sha}
