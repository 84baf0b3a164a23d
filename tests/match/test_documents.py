"""Which YAML documents of a rules folder are Kubernetes objects (generator/match/documents.py): the rules loader
keeps those for the policy stage, and a --policies folder holds nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit.build import env_rule, line_of, rule_line, yaml_text

from generator.check.load import read_policy_documents
from generator.errors import UserError
from generator.match.documents import is_policy_document
from generator.match.rules import load_rules

POLICY = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "replicas"},
    "spec": {"validations": [{"expression": "object.spec.replicas <= 5"}]},
}
PARAMS = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "limits"}, "data": {"max": "5"}}


@pytest.mark.parametrize(
    ("data", "is_object"),
    [
        (POLICY, True),
        (PARAMS, True),  # a params object a binding names: any Kubernetes object
        (env_rule(), False),  # plato's own rule
        ({**env_rule(), "metadata": {"name": "x"}}, False),  # a rule with metadata is still a rule
        ({"apiVersion": "v1", "kind": "ConfigMap"}, False),  # no metadata: not an object
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "limits"}, False),
        ({"apiVersion": 1, "metadata": {}}, False),
        (["apiVersion", "v1"], False),
        ("apiVersion: v1", False),
    ],
    ids=[
        "policy",
        "params",
        "rule",
        "rule-with-metadata",
        "no-metadata",
        "metadata-text",
        "version-number",
        "list",
        "text",
    ],
)
def test_a_kubernetes_object_is_told_from_a_rule(data: object, is_object: bool) -> None:
    assert is_policy_document(data) is is_object


def test_the_rules_loader_keeps_kubernetes_objects_for_the_policy_stage(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    path = rules / "10-envs.yaml"
    path.write_text(yaml_text([env_rule(), POLICY, PARAMS]), encoding="utf-8")
    rs = load_rules(rules)
    assert [d.data["kind"] for d in rs.policy_docs] == ["ValidatingAdmissionPolicy", "ConfigMap"]
    starts = [line_of(path, "apiVersion: admissionregistration"), line_of(path, "apiVersion: v1")]
    assert [d.start_line for d in rs.policy_docs] == starts  # each where it is written, for messages
    assert [r.kind for r in rs.all_rules()] == ["Environment"]


def test_a_policies_folder_refuses_a_rule_at_its_line(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(yaml_text([POLICY, env_rule()]), encoding="utf-8")
    with pytest.raises(UserError) as caught:
        read_policy_documents(policies)
    assert caught.value.message == "not a Kubernetes object (apiVersion, kind, metadata)"
    assert caught.value.file == str(policies / "p.yaml")
    assert caught.value.line == rule_line(policies / "p.yaml", "development")
    (policies / "p.yaml").write_text(yaml_text([POLICY, PARAMS]), encoding="utf-8")
    assert [d.data["metadata"]["name"] for d in read_policy_documents(policies)] == ["replicas", "limits"]
