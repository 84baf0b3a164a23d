"""The gates plato's commits carry (generator/deploy/gates.py): one outcome per check, as trailers, as the
Action's `checks` output and as GitOps Promoter GitCommitStatus objects that read those trailers."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from generator.deploy.gates import CHECKS, PASSING, commit_statuses, outcomes, status_key, summary, trailer, trailers


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(None, "neutral"), ("success", "success"), ("failure", "failure"), ("pending", "neutral"), ("", "neutral")],
)
def test_a_rendered_tree_passed_validation_and_its_policy_outcome_is_what_the_stage_said(policy, expected) -> None:
    tree = SimpleNamespace() if policy is None else SimpleNamespace(policy=policy)
    assert outcomes(tree) == {"validation": "success", "policy": expected}


def test_trailers_and_the_checks_output_name_every_check_in_one_order() -> None:
    tree = SimpleNamespace(policy="failure")
    assert trailers(tree) == {"Plato-Check-Validation": "success", "Plato-Check-Policy": "failure"}
    assert summary(tree) == "validation=success policy=failure"
    assert [trailer(c) for c in CHECKS] == list(trailers(tree))  # the same order everywhere
    # A trailer is one "Token: value" line git itself parses: no spaces in the token.
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z-]*", t) for t in trailers(tree))


def test_apps_sharing_an_active_branch_get_a_status_key_each() -> None:
    assert status_key("validation") == "plato-validation"
    assert status_key("policy", "shop") == "plato-policy-shop"
    assert len({status_key(c, a) for c in CHECKS for a in ("", "shop", "cart")}) == 6


@pytest.mark.parametrize("app", ["", "shop"])
def test_a_commit_status_passes_on_exactly_the_passing_outcomes_of_its_trailer(app: str) -> None:
    statuses = commit_statuses("shop", app)
    assert [s["spec"]["key"] for s in statuses] == [status_key(c, app) for c in CHECKS]
    for check, status in zip(CHECKS, statuses, strict=True):
        spec = status["spec"]
        assert status["metadata"]["name"] == spec["key"]
        assert spec["promotionStrategyRef"] == {"name": "shop"} and spec["target"] == "proposed"
        m = re.fullmatch(r'any\(Commit\.Trailers\["([^"]+)"\] \?\? \[\], \{# in (\[.*\])\}\)', spec["expression"])
        assert m, spec["expression"]
        assert m.group(1) == trailer(check)  # reads the very trailer plato writes
        assert tuple(json.loads(m.group(2))) == PASSING[check]
    assert "neutral" not in PASSING["validation"]  # a commit that was not validated never passes
    assert "failure" not in PASSING["policy"]
