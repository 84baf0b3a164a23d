"""`plato render --promotion`: the GitOps Promoter objects of an app, valid against the CRD schemas in the shared
folder, over the promoter-layout stages in their declared order; and the gates plato's commits carry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from testkit.promotion import promotion_rules
from testkit.shared import REPO, shared_dir

from generator.cli import main

REPO_URL = "https://github.com/acme/deployments.git"


def render(rules: Path | None, *ctx: str) -> tuple[int, list[dict], str]:
    args = ["render", "--promotion", *(a for c in ctx for a in ("-c", c))] + (["--rules", str(rules)] if rules else [])
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    docs = [d for d in yaml.safe_load_all(result.stdout) if d] if result.exit_code == 0 else []
    return result.exit_code, docs, result.stderr


def crd_schema(kind: str) -> dict:
    path = shared_dir("schemas", "crds", "promoter.argoproj.io", f"{kind.lower()}_v1alpha1.json")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("active_path", [True, False])
def test_the_objects_are_valid_and_list_the_stages_in_order(tmp_path, active_path) -> None:
    rules = promotion_rules(tmp_path / "rules", layout="promoter", active_path=active_path)
    code, docs, err = render(rules, "app=shop", f"deploy_repo={REPO_URL}")
    assert code == 0, err
    kinds = [d["kind"] for d in docs]
    assert kinds == ["GitRepository", "PromotionStrategy", "GitCommitStatus", "GitCommitStatus"]
    for d in docs:
        jsonschema.Draft7Validator(crd_schema(d["kind"])).validate(d)
    strategy = docs[1]["spec"]
    branches = [e["branch"] for e in strategy["environments"]]
    assert branches == ["environment/development", "environment/staging", "environment/production"]
    assert strategy.get("activePath") == ("shop" if active_path else None)
    assert strategy["gitRepositoryRef"]["name"] == docs[0]["metadata"]["name"]
    assert docs[0]["spec"]["github"] == {"owner": "acme", "name": "deployments"}
    keys = [s["key"] for s in strategy["proposedCommitStatuses"]]
    assert keys == [d["spec"]["key"] for d in docs[2:]]
    assert all(k.endswith("-shop") == active_path for k in keys)  # apps sharing a branch need a key each
    assert all(d["spec"]["target"] == "proposed" for d in docs[2:])


def test_a_cycle_in_the_declared_order_is_refused(tmp_path) -> None:
    rules = promotion_rules(tmp_path / "rules", layout="promoter")
    envs = rules / "10-environments.yaml"
    envs.write_text(
        envs.read_text(encoding="utf-8").replace(
            "env_type: development\n", "env_type: development\n  promotion: {from: production}\n", 1
        ),
        encoding="utf-8",
    )
    code, _, err = render(rules, "app=shop", f"deploy_repo={REPO_URL}")
    assert code == 2 and "form a cycle" in err


@pytest.mark.parametrize(
    ("ctx", "says"),
    [
        (("app=shop",), "missing context key: deploy_repo"),
        (("app=shop", "deploy_repo=not a url"), "is not a repository URL"),
    ],
)
def test_bad_input_is_exit_2(tmp_path, ctx, says) -> None:
    code, _, err = render(promotion_rules(tmp_path / "rules", layout="promoter"), *ctx)
    assert code == 2 and says in err


def test_the_bundled_rules_have_no_promoter_stage() -> None:
    code, _, err = render(None, "app=shop", f"deploy_repo={REPO_URL}")
    assert code == 2 and "no Environment rule puts shop in the promoter layout" in err


@pytest.mark.parametrize(
    ("policies", "outcome"),
    [
        ("bundled", "success"),  # every bundled policy applies to the shop and passes
        ("none", "neutral"),  # no policy applies: nothing to hold a promotion up
        ("warn", "neutral"),  # a policy warned: committed, not a success
    ],
)
def test_every_commit_plato_writes_carries_its_checks(
    remote, run_plato, shop_args, tmp_path, policies, outcome
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    if policies == "none":
        (rules / "90-policies.yaml").unlink()
    if policies == "warn":
        (rules / "91-warn.yaml").write_text(WARN_ON_EVERY_DEPLOYMENT, encoding="utf-8")
    out = tmp_path / "github-output"
    r = run_plato(shop_args("publish", remote.path, extra=["--rules", str(rules)]), env={"GITHUB_OUTPUT": str(out)})
    assert r.returncode == 0, r.explain()
    trailers = remote.git("log", "-1", "--format=%(trailers:only=true,unfold=true)")
    assert "Plato-Check-Validation: success" in trailers and f"Plato-Check-Policy: {outcome}" in trailers
    assert f"checks=validation=success policy={outcome}" in out.read_text(encoding="utf-8")


WARN_ON_EVERY_DEPLOYMENT = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: never-one-replica
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
  validations:
    - expression: "false"
      message: every Deployment warns
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: never-one-replica
spec:
  policyName: never-one-replica
  validationActions: [Warn]
"""
