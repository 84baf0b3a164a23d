"""The admission stage on a rendered tree: the objects the deployment repository holds (oldObject), and every
bundled rendering against every bundled policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.check.admission import evaluate_tree, old_objects
from generator.check.selectors import key_of
from generator.pipeline import Inputs
from tests.test_golden import GOLDEN, cases, workload_paths

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"
MANIFEST = "development/shop/manifest.yaml"


def shop_tree() -> Any:
    inputs = Inputs.load([SHOP], context=["env=development", "app=shop", "org=acme"], image="ghcr.io/acme/shop:1.0")
    return inputs.render(admit=False)


def test_old_objects_are_the_manifests_objects_by_key() -> None:
    tree = shop_tree()
    same = old_objects({MANIFEST: tree.files[MANIFEST], "development/shop/README.md": b"# shop\n"}, tree)
    assert sorted(same) == sorted(key_of(o) for o in tree.objects)
    assert all(any(v is o for o in tree.objects) for v in same.values())  # the rendered bytes: not parsed again

    edited = tree.files[MANIFEST].replace(b"replicas: 1\n", b"replicas: 7\n", 1)
    assert edited != tree.files[MANIFEST]
    found = old_objects({MANIFEST: edited}, tree)
    replicas = {k[3]: v["spec"]["replicas"] for k, v in found.items() if k[1] == "Deployment"}
    assert 7 in replicas.values()
    # A folder a rule moved the app from holds objects too; a file that does not parse holds none.
    assert sorted(old_objects({"old/shop/manifest.yaml": edited}, tree)) == sorted(found)
    assert old_objects({MANIFEST: b"{ not: [yaml"}, tree) == {}


def golden_renders() -> list[str]:
    y = YAML(typ="safe")
    return [c for c in cases("render") if "exit" not in y.load((GOLDEN / "render" / c).read_text())["outcome"]]


@pytest.mark.parametrize("case", golden_renders())
def test_every_bundled_rendering_passes_every_bundled_policy(case: str, tmp_path: Path) -> None:
    # The bundled bindings Deny; nothing they judge in a golden rendering fails, warns or is skipped.
    g = YAML(typ="safe").load((GOLDEN / "render" / case).read_text())
    paths, _ = workload_paths(g["workloads"], tmp_path)
    inputs = Inputs.load([Path(p) for p in paths], context=g["context"], image=g.get("image"))
    tree = inputs.render(admit=False)
    report = evaluate_tree(tree, inputs.workloads)
    assert report.results, "no bundled policy applied"
    assert [f"{r.policy.name}: {r.target.ref}: {r.message}" for r in report.results if r.outcome != "passed"] == []
    denying = {r.policy.name for r in report.results if "Deny" in r.actions}
    assert "plato-resource-requests" in denying
    if tree.plan.context.get("env_type") == "production":
        assert "plato-pss-restricted" in denying


def test_the_deployed_objects_are_read_only_for_a_policy_they_can_change() -> None:
    # The bundled policies read neither oldObject nor request and match CREATE and UPDATE alike: an UPDATE is
    # judged as a CREATE, and the repository's manifest is never parsed (a fleet re-render pays nothing for it).
    tree = shop_tree()
    inputs = Inputs.load([SHOP], context=["env=development", "app=shop", "org=acme"], image="ghcr.io/acme/shop:1.0")
    edited = tree.files[MANIFEST].replace(b"replicas: 1\n", b"replicas: 7\n", 1)
    deployed = old_objects({MANIFEST: edited}, tree)
    report = evaluate_tree(tree, inputs.workloads, old=deployed)
    assert report.results and deployed._found is None
    assert [r.outcome for r in report.results] == [r.outcome for r in evaluate_tree(tree, inputs.workloads).results]
