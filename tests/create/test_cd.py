"""CD registration, hydrator.metadata and the per-app README (generator/create/cd.py): an Argo CD Application
or Flux objects for the app's folder, and a README whose reproduce command really reproduces the files."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from testkit.build import dump, env_rule, score, yaml_text
from testkit.git import git
from testkit.objects import docs, find

from generator.cli import main
from generator.create.render import RenderedTree
from generator.pipeline import Inputs


def _tree(tmp_path: Path, cd: dict[str, Any], context: tuple[str, ...] = ()) -> RenderedTree:
    rules = tmp_path / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "10.yaml").write_text(yaml_text([env_rule(cd=cd)]), encoding="utf-8")
    spec = tmp_path / "score.yaml"
    spec.write_text(dump(score("web", image="nginx:1.27")), encoding="utf-8")
    ctx = ["env=development", "app=shop", *context]
    return Inputs.load([spec], context=ctx, rules_dir=rules).render(quiet=True)


def _cd(tree: RenderedTree) -> list[dict[str, Any]]:
    return docs(tree.files[tree.plan.env["paths"]["cd"]])


def test_an_argo_cd_application_deploys_the_app_s_folder_into_its_namespace(tmp_path: Path) -> None:
    [app] = _cd(_tree(tmp_path, {"tool": "argocd"}, ("deploy_repo=https://git.acme.dev/deploy.git",)))
    assert app["kind"] == "Application" and app["metadata"]["name"] == "development-shop"
    assert app["spec"]["source"] == {
        "repoURL": "https://git.acme.dev/deploy.git",  # the context's deploy_repo when the rule names none
        "targetRevision": "main",
        "path": "development/shop",
    }
    assert app["spec"]["destination"]["namespace"] == "shop-development"
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert app["metadata"]["labels"] == {
        "app.kubernetes.io/part-of": "shop",
        "app.kubernetes.io/managed-by": "plato",
        "plato.dev/env": "development",
    }  # what the ownership check reads back


def test_the_rule_s_cd_settings_win(tmp_path: Path) -> None:
    cd = {"tool": "argocd", "repoURL": "ssh://git@x/d.git", "revision": "live", "automated": False,
          "namespace": "gitops", "project": "shop", "server": "https://prod.example:6443"}  # fmt: skip
    [app] = _cd(_tree(tmp_path, cd, ("deploy_repo=https://ignored",)))
    assert app["spec"]["source"]["repoURL"] == "ssh://git@x/d.git" and app["spec"]["source"]["targetRevision"] == "live"
    assert "automated" not in app["spec"]["syncPolicy"]  # manual sync
    assert (app["metadata"]["namespace"], app["spec"]["project"]) == ("gitops", "shop")
    assert app["spec"]["destination"]["server"] == "https://prod.example:6443"


def test_flux_gets_a_git_repository_per_app_unless_the_rule_names_a_shared_one(tmp_path: Path) -> None:
    objects = _cd(_tree(tmp_path, {"tool": "flux"}))
    repo, kustomization = find(objects, "GitRepository"), find(objects, "Kustomization")
    assert repo["metadata"]["name"] == "development-shop" and repo["spec"]["ref"] == {"branch": "main"}
    assert kustomization["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "development-shop",
                                                  "namespace": "flux-system"}  # fmt: skip
    assert kustomization["spec"]["path"] == "./development/shop"
    assert kustomization["spec"]["targetNamespace"] == "shop-development" and kustomization["spec"]["prune"]
    shared = _cd(_tree(tmp_path, {"tool": "flux", "sourceRef": {"name": "platform"}}))
    assert [o["kind"] for o in shared] == ["Kustomization"]
    assert shared[0]["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "platform"}


def test_hydrator_metadata_names_the_source_commit_when_ci_gives_it(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"tool": "argocd"}, ("source_sha=" + "a" * 40, "source_repo=https://github.com/acme/shop"))
    meta = json.loads(tree.files["development/shop/hydrator.metadata"])
    assert meta == {
        "drySha": "a" * 40,
        "repoURL": "https://github.com/acme/shop",
        "subject": "plato: shop in development",
    }
    readme = tree.files["development/shop/README.md"].decode()
    assert f"- Source: https://github.com/acme/shop at `{'a' * 40}`" in readme
    local = _tree(tmp_path / "local", {"tool": "argocd"})
    assert json.loads(local.files["development/shop/hydrator.metadata"]) == {"subject": "plato: shop in development"}
    assert "a local run" in local.files["development/shop/README.md"].decode()


def test_the_readme_names_nothing_that_changes_with_every_ci_run(tmp_path: Path) -> None:
    # run_id, run_url and source_time go to commit trailers only: a README that named them would differ from run
    # to run, and from the README a re-render writes from the record (which keeps none of them).
    run = ("run_id=4242", "run_url=https://ci.example.com/runs/4242", "source_time=1700000000")
    readme = _tree(tmp_path, {"tool": "argocd"}, run).files["development/shop/README.md"].decode()
    plain = _tree(tmp_path / "plain", {"tool": "argocd"}).files["development/shop/README.md"].decode()
    assert readme == plain
    assert "4242" not in readme and "1700000000" not in readme


def test_the_readme_s_reproduce_command_renders_the_same_files(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "src"
    git("init", "-q", "-b", "main", str(src))
    spec = src / "deploy" / "score.yaml"
    spec.parent.mkdir()
    spec.write_text(dump(score("web", image="nginx:1.27")), encoding="utf-8")
    ctx = ["env=production", "app=shop", "org=acme"]
    tree = Inputs.load([spec], context=ctx, image="ghcr.io/acme/web:1.2.3").render(quiet=True)
    readme = tree.files[f"{tree.plan.env['paths']['manifests']}/README.md"].decode()
    [command] = [line for line in readme.splitlines() if line.startswith("plato render ")]
    monkeypatch.chdir(src)  # the files are named as the workspace names them
    for key in ("GITHUB_ACTIONS", "PLATO_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(main, shlex.split(command)[1:])
    assert result.exit_code == 0, result.output
    out = src / "out"
    written = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert written == tree.files
