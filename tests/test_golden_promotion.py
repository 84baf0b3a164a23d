"""Golden files for promotion: the pull request body of a promotion, and the GitOps Promoter objects of an app
(`plato render --promotion`). The shape of tests/test_golden.py: each file holds its inputs and one `outcome`.
Regenerate on purpose with `pytest tests/test_golden_promotion.py --update-goldens` and read the diff."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from testkit.promotion import promotion_rules
from testkit.shared import REPO

from generator.cli import main

GOLDEN = REPO / "golden"


def cases(kind: str) -> list[str]:
    return sorted(p.name for p in (GOLDEN / kind).glob("*.yaml"))


def invoke(args: list[str], tmp_path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout.replace(str(tmp_path), "$TMP"), result.stderr.replace(str(tmp_path), "$TMP")


def ctx_args(pairs: list[str]) -> list[str]:
    return [a for c in pairs for a in ("-c", c)]


@pytest.mark.parametrize("case", cases("promotion-pr"))
def test_promotion_pr_body(golden: Any, case: str, tmp_path: Path) -> None:
    g = golden.open(f"../golden/promotion-pr/{case}")
    app = tmp_path / "shop"
    shutil.copytree(REPO / "examples" / "shop", app)
    rules = promotion_rules(tmp_path / "rules")
    repo = tmp_path / "deployments.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    for env in ("production", "staging"):
        step = g[env]
        args = ["publish", str(app), *ctx_args([*g["context"], f"env={env}", *step["context"]])]
        code, _, err = invoke([*args, "--image", step["image"], "--repo", str(repo), "--rules", str(rules)], tmp_path)
        assert code == 0, err
    bodies = tmp_path / "bodies"
    args = ["promote", "--from", "staging", "--to", "production", "-c", "app=shop", "--repo", str(repo)]
    code, _, err = invoke([*args, "--rules", str(rules), "--mode", "pr", "--pr-body-dir", str(bodies)], tmp_path)
    outcome = (bodies / "production-shop.md").read_text(encoding="utf-8") if code == 0 else {"exit": code, "error": err}
    if isinstance(outcome, str):
        outcome = outcome.replace(str(tmp_path), "$TMP")
    assert outcome == g.out["outcome"]


@pytest.mark.parametrize("case", cases("promotion-strategy"))
def test_promotion_strategy(golden: Any, case: str, tmp_path: Path) -> None:
    g = golden.open(f"../golden/promotion-strategy/{case}")
    rules = promotion_rules(tmp_path / "rules", layout=g["layout"], active_path=g["activePath"])
    code, out, err = invoke(["render", "--promotion", *ctx_args(g["context"]), "--rules", str(rules)], tmp_path)
    assert (out if code == 0 else {"exit": code, "error": err}) == g.out["outcome"]
