"""Policy results as people read them: one message per denial, annotations, SARIF, the PR section; and the rules
folder as a source of policies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from generator.check.load import load_policies, read_policy_documents
from generator.check.policy import Target, evaluate
from generator.check.report import denial_error, describe, markdown, sarif, workflow_commands
from generator.errors import Errors, UserError
from generator.match.rules import load_rules
from generator.read.models import Where
from generator.resources import bundled_dir

HERE = Path(__file__).parent / "policies"


# What the bundled PSS-restricted and resource-requests policies (both Deny) want of every container.
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
REQUESTS = {"requests": {"cpu": "100m", "memory": "128Mi"}}


def pod_owner(image: str, *more: str, requests: bool = True) -> dict[str, Any]:
    containers = [
        {"name": f"c{i}", "image": img, "securityContext": RESTRICTED, **({"resources": REQUESTS} if requests else {})}
        for i, img in enumerate((image, *more))
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": containers}}},
    }


def bundled() -> Any:
    return load_policies(load_rules(bundled_dir("rules")).policy_docs)


def spec_line(container: Any) -> Where:
    return Where("app/score.yaml", {"c0": 5, "c1": 12}.get(container.get("name"), 1))


def test_a_denial_names_policy_object_message_and_the_score_line() -> None:
    target = Target(pod_owner("ghcr.io/a/web:1.0", "nginx:latest"), "production/shop/manifest.yaml", spec_line)
    report = evaluate(bundled(), [target], context={"env_type": "production"})
    [denied] = report.denials
    assert denied.policy.name == "plato-immutable-image-tags"
    assert denied.source is not None and (denied.source.file, denied.source.line) == ("app/score.yaml", 12)
    text = describe(denied)
    assert text.startswith("denied by policy plato-immutable-image-tags (plato:rules/90-policies.yaml:")
    assert "Deployment/web in production/shop/manifest.yaml: " in text
    assert "nginx:latest" in text and "ghcr.io/a/web:1.0" not in text
    assert text.endswith("(from app/score.yaml:12)")
    error = denial_error(report)
    assert isinstance(error, UserError) and not isinstance(error, Errors)
    assert (error.file, error.line) == ("app/score.yaml", 12)


def test_the_bundled_bindings_deny_a_container_without_requests_in_every_environment() -> None:
    for env_type in ("development", "production"):
        ok = evaluate(bundled(), [Target(pod_owner("ghcr.io/a/b:1.0"), "f.yaml")], context={"env_type": env_type})
        assert ok.results and ok.denials == [] and ok.warnings == []
        bare = Target(pod_owner("ghcr.io/a/b:1.0", requests=False), "f.yaml")
        [denied] = evaluate(bundled(), [bare], context={"env_type": env_type}).denials
        assert denied.policy.name == "plato-resource-requests"


def test_the_bundled_pss_restricted_binding_denies_in_production_only() -> None:
    obj = pod_owner("ghcr.io/a/b:1.0")
    obj["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    [denied, *more] = evaluate(bundled(), [Target(obj, "f.yaml")], context={"env_type": "production"}).denials
    assert {denied.policy.name, *(r.policy.name for r in more)} == {"plato-pss-restricted"}
    assert evaluate(bundled(), [Target(obj, "f.yaml")], context={"env_type": "development"}).denials == []


@pytest.mark.parametrize(
    ("image", "denied"),
    [
        ("nginx", True),
        ("nginx:latest", True),
        ("registry:5000/team/app", True),  # a registry port is not a tag
        ("registry:5000/team/app:1.2", False),
        ("ghcr.io/a/b@sha256:" + "0" * 64, False),
        ("ghcr.io/a/b:1.0", False),
    ],
)
def test_image_tags(image: str, denied: bool) -> None:
    report = evaluate(bundled(), [Target(pod_owner(image), "f.yaml")], context={"env_type": "production"})
    assert bool(report.denials) is denied
    assert evaluate(bundled(), [Target(pod_owner(image), "f.yaml")], context={"env_type": "development"}).denials == []


def test_services_outside_the_gateway() -> None:
    def svc(ns: str, type_: str) -> Target:
        obj = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s", "namespace": ns},
            "spec": {"type": type_},
        }
        return Target(obj, "f.yaml")

    report = evaluate(
        bundled(), [svc("shop", "LoadBalancer"), svc("gateway-system", "LoadBalancer"), svc("shop", "ClusterIP")]
    )
    assert [r.target.obj["metadata"]["namespace"] for r in report.denials] == ["shop"]
    assert report.denials[0].message == "a Service of type LoadBalancer is not allowed outside the gateway: use a route"


def test_pss_restricted_passes_a_restricted_pod() -> None:
    restricted = {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
    }
    obj = pod_owner("ghcr.io/a/web:1.0")
    obj["spec"]["template"]["spec"]["containers"][0]["securityContext"] = restricted
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1", "memory": "1Gi"}}
    report = evaluate(bundled(), [Target(obj, "f.yaml")], context={"env_type": "production"})
    assert report.warnings == [] and report.denials == []
    obj["spec"]["template"]["spec"]["volumes"] = [{"name": "h", "hostPath": {"path": "/"}}]
    [denied] = evaluate(bundled(), [Target(obj, "f.yaml")], context={"env_type": "production"}).denials
    assert "hostPath" not in denied.message and "volumes are allowed" in denied.message


def test_annotations_sarif_and_markdown() -> None:
    ps = load_policies([d for d in read_policy_documents(HERE) if Path(d.path).stem in ("conditions", "authorizer")])
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}}
    big = pod_owner("x:1")
    big["spec"]["replicas"] = 50
    big["metadata"]["labels"] = {"owner": "me"}
    report = evaluate(ps, [Target(cm, "m.yaml"), Target(big, "m.yaml", lambda c: Where("/abs/app/score.yaml", 3))])
    lines = workflow_commands([*report.warnings, *report.skipped], lambda f: f.replace("/abs/", ""))
    assert lines[0].startswith("::warning file=") and "conditions.yaml,line=" in lines[0]
    assert lines[1].startswith("::notice file=") and "::skipped by policy only-admins-scale.example.com" in lines[1]
    doc = json.loads(sarif(report, "9.9"))
    assert doc["version"] == "2.1.0"
    assert sorted(r["level"] for r in doc["runs"][0]["results"]) == ["note", "warning"]
    assert {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]} >= {"only-admins-scale.example.com"}
    section = markdown(report)
    assert section.startswith("### Admission policies")
    assert "1 warnings" in section and "1 skipped" in section and "**Skipped**" in section


def test_policies_in_the_rules_folder(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(bundled_dir("rules"), rules)
    shutil.copy(HERE / "replicalimit.yaml", rules / "95-replicas.yaml")
    rs = load_rules(rules)
    assert len(rs.policy_docs) == 8 + 3  # the bundled four policies and bindings, and the file's three documents
    assert "replicalimit-policy.example.com" in load_policies(rs.policy_docs).policies
    (rules / "96-stray.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray}\ndata: {}\n")
    with pytest.raises(UserError, match="no policy takes it as params") as err:
        load_policies(load_rules(rules).policy_docs)
    assert err.value.line == 1 and str(err.value.file).endswith("96-stray.yaml")


def test_fast_positions_agree_with_the_round_trip_parse() -> None:
    from generator.check.positions import Positions

    docs = load_rules(bundled_dir("rules")).policy_docs + read_policy_documents(HERE)
    checked = 0
    for doc in docs:
        spec = doc.data.get("spec") or {}
        locs = [("spec", "validations", i, "expression") for i in range(len(spec.get("validations") or []))]
        locs += [("spec", "variables", i, "expression") for i in range(len(spec.get("variables") or []))]
        for loc in [*locs, (), ("spec", "nope")]:
            assert Positions(doc).where(loc)[0] == doc.where(loc)[0], (doc.path, loc)
            checked += 1
    assert checked > 40
