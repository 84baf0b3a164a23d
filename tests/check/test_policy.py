"""The policy engine on real policy files (the Kubernetes documentation's shapes) and rendered objects."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from generator.check.load import load_policies, read_policy_documents
from generator.check.policy import Report, Target, evaluate
from generator.check.selectors import key_of
from generator.errors import UserError

HERE = Path(__file__).parent / "policies"


def policies(*names: str) -> Any:
    docs = [d for d in read_policy_documents(HERE) if Path(d.path).stem in names]
    return load_policies(docs)


def deployment(name: str = "web", ns: str = "default", replicas: int = 3, **extra: Any) -> dict[str, Any]:
    labels = extra.pop("labels", {"owner": "team-a"})
    image = extra.pop("image", "prod.example.com/web:1.0")
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "main", "image": image}]}}},
    }


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def run(ps: Any, *objs: dict[str, Any], old: list[dict[str, Any]] | None = None, **kw: Any) -> Report:
    targets = [Target(o, "prod/web/manifest.yaml") for o in objs]
    return evaluate(ps, targets, {key_of(o): o for o in old or []}, **kw)


def test_replicalimit_with_params_and_message_expression() -> None:
    ps = policies("replicalimit")
    report = run(ps, namespace("default", environment="test"), deployment(replicas=5))
    [denied] = report.denials
    assert denied.message == "object.spec.replicas must be no greater than 3"
    assert denied.reason == "Invalid"
    assert denied.where is not None and denied.where.file.endswith("replicalimit.yaml")
    assert denied.where.line == 19  # the validation's expression
    assert denied.annotations == (
        ("replicalimit-policy.example.com/high-replica-count", "Deployment spec.replicas set to 5"),
    )
    assert run(ps, namespace("default", environment="test"), deployment(replicas=3)).denials == []


def test_namespace_selector_uses_the_rendered_namespace_labels() -> None:
    ps = policies("replicalimit")
    assert run(ps, namespace("default", environment="prod"), deployment(replicas=9)).results == ()
    assert run(ps, deployment(replicas=9)).results == ()  # the namespace's labels are unknown: not selected


def test_params_not_found_denies_unless_allowed() -> None:
    ps = policies("replicalimit")
    ns = namespace("default", environment="test")
    b = ps.bindings[0]

    def with_ref(**ref: str) -> Any:
        return type(ps)(ps.policies, (replace(b, param_ref=ref),), ps.params)

    [denied] = run(with_ref(name="nope", parameterNotFoundAction="Deny"), ns, deployment(replicas=1)).denials
    assert denied.message == "no params found for binding replicalimit-binding-test.example.com (nope)"
    assert run(with_ref(name="nope", parameterNotFoundAction="Allow"), ns, deployment(replicas=9)).results == ()
    # no namespace in the paramRef: the object's own namespace is searched
    assert run(with_ref(name="replica-limit-test.example.com"), ns, deployment(replicas=9)).denials
    other = namespace("other", environment="test")
    assert (
        run(with_ref(name="replica-limit-test.example.com"), other, deployment(ns="other"))
        .denials[0]
        .message.startswith("no params found")
    )


def test_match_conditions_exclude_leases_and_rbac_and_warn() -> None:
    ps = policies("conditions")
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l", "namespace": "a"}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "a"}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}}
    report = run(ps, lease, role, cm, deployment())
    assert [r.target.ref for r in report.warnings] == ["ConfigMap/c"]
    assert report.denials == []
    assert [r.target.ref for r in report.passed] == ["Deployment/web"]
    assert report.warnings[0].message == "every object needs an owner label"
    # the kubelet is excluded by a condition on the user; the CI identity is not the kubelet
    kubelet = {"username": "system:node:n1", "groups": ["system:nodes"]}
    assert run(ps, cm, user=kubelet).results == ()


def test_object_selector() -> None:
    ps = policies("conditions")
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "a", "labels": {"owner-check": "off"}},
    }
    assert run(ps, cm).results == ()


def test_variables_are_lazy_and_reference_each_other() -> None:
    ps = policies("variables")
    ns = namespace("shop", environment="staging")
    bad = deployment(ns="shop", image="prod.example.com/web:1")
    [denied] = run(ps, ns, bad).denials
    assert denied.message == "only staging images are allowed in namespace shop"
    # `broken` is never read, so it never fails anything
    assert run(ps, ns, deployment(ns="shop", image="staging.example.com/web:1")).denials == []
    assert run(ps, ns, deployment(ns="shop", image="docker.io/web:1")).denials == []
    exempt = deployment(ns="shop", image="prod.example.com/web:1", labels={"exempt": "true"})
    assert run(ps, ns, exempt).denials == []


def test_operations_create_versus_update() -> None:
    ps = policies("variables")  # CREATE only
    ns = namespace("shop", environment="staging")
    bad = deployment(ns="shop", image="prod.example.com/web:1")
    assert run(ps, ns, bad, old=[bad]).results == ()  # already in the deployment repository: an UPDATE
    assert len(run(ps, ns, bad).denials) == 1


def test_old_object_and_request() -> None:
    doc = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-scale-down}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: ["*"], operations: ["*"], resources: ["*"]}]
  validations:
    - expression: "request.operation == 'CREATE' || object.spec.replicas >= oldObject.spec.replicas"
      message: no scaling down
    - expression: >-
        request.kind.kind == 'Deployment' && request.resource.resource == 'deployments' &&
        request.namespace == 'default' && request.name == 'web' && !request.dryRun &&
        request.userInfo.username == 'plato'
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-scale-down}
spec: {policyName: no-scale-down, validationActions: [Audit]}
"""
    ps = load_string(doc)
    [audit] = run(ps, deployment(replicas=1), old=[deployment(replicas=4)]).audits
    assert audit.message == "no scaling down"
    assert run(ps, deployment(replicas=1)).passed


def _denying(name: str, expression: str) -> str:
    """A policy over every resource, bound with Deny."""
    return f"""
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: {name}}}
spec:
  matchConstraints:
    resourceRules: [{{apiGroups: [apps], apiVersions: ["*"], operations: ["*"], resources: ["*"]}}]
  validations: [{{expression: "{expression}"}}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: {name}}}
spec: {{policyName: {name}, validationActions: [Deny]}}
"""


def test_objects_judged_as_written_are_judged_again_only_where_the_deployed_object_counts() -> None:
    # `judged`: a re-render's objects, byte for byte what this version wrote under the same policies. A binding
    # that cannot depend on the deployed object said its verdict then; one that reads oldObject judges the UPDATE.
    scale_down = "oldObject == null || object.spec.replicas >= oldObject.spec.replicas"
    ps = load_string(
        _denying("no-scale-down", scale_down) + "---" + _denying("at-most-two", "object.spec.replicas <= 2")
    )
    obj, deployed = deployment(replicas=3), [deployment(replicas=4)]
    assert sorted(r.policy.name for r in run(ps, obj, old=deployed).denials) == ["at-most-two", "no-scale-down"]
    assert [r.policy.name for r in run(ps, obj, old=deployed, judged={id(obj)}).denials] == ["no-scale-down"]
    assert run(ps, obj, old=[obj], judged={id(obj)}).passed
    # Beside it, an object its last write did not leave as it is: judged by every binding.
    other = deployment("api", replicas=3)
    report = run(ps, obj, other, old=[obj], judged={id(obj)})
    assert [(r.policy.name, r.target.obj["metadata"]["name"]) for r in report.denials] == [("at-most-two", "api")]


def test_authorizer_is_skipped_never_passed() -> None:
    ps = policies("authorizer")
    [skipped] = run(ps, deployment(replicas=20)).skipped
    assert "needs the cluster" in skipped.message
    assert run(ps, deployment(replicas=20)).denials == []
    assert [r.outcome for r in run(ps, deployment(replicas=2)).results] == ["passed"]  # `true || authorizer...`


def test_failure_policy_ignore_skips_an_evaluation_error() -> None:
    doc = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  failurePolicy: {fp}
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]
  validations: [{expression: "object.spec.strategy.type == 'Recreate'"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: p, validationActions: [Deny]}
"""
    [denied] = run(load_string(doc.replace("{fp}", "Fail")), deployment()).denials
    assert "could not be evaluated" in denied.message and denied.reason == "InternalError"
    [skipped] = run(load_string(doc.replace("{fp}", "Ignore")), deployment()).skipped
    assert "failurePolicy: Ignore" in skipped.message


@pytest.mark.parametrize(
    ("rule", "hit"),
    [
        ({"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}, True),
        ({"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}, False),
        (
            {"apiGroups": ["apps"], "apiVersions": ["v1beta1"], "operations": ["CREATE"], "resources": ["deployments"]},
            True,
        ),
        ({"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["deployments"]}, False),
        ({"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*/*"]}, True),
        (
            {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["deployments/scale"]},
            False,
        ),
        (
            {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["*"], "scope": "Cluster"},
            False,
        ),
        (
            {
                "apiGroups": ["apps"],
                "apiVersions": ["v1"],
                "operations": ["*"],
                "resources": ["*"],
                "resourceNames": ["x"],
            },
            False,
        ),
    ],
)
def test_resource_rules(rule: dict[str, Any], hit: bool) -> None:
    doc = f"""
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: p}}
spec:
  matchConstraints: {{resourceRules: [{rule}]}}
  validations: [{{expression: "false"}}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: b}}
spec: {{policyName: p, validationActions: [Deny]}}
"""
    assert bool(run(load_string(doc), deployment()).denials) is hit


def test_exclude_rules_and_matchpolicy_exact() -> None:
    base = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  matchConstraints:
    matchPolicy: MP
    resourceRules: [{apiGroups: ["*"], apiVersions: [v1beta1], operations: ["*"], resources: ["*"]}]
    excludeResourceRules: [{apiGroups: [""], apiVersions: ["*"], operations: ["*"], resources: [configmaps]}]
  validations: [{expression: "false"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: p, validationActions: [Deny]}
"""
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}}
    equivalent = load_string(base.replace("MP", "Equivalent"))
    assert [r.target.ref for r in run(equivalent, cm, deployment()).denials] == ["Deployment/web"]
    assert run(load_string(base.replace("MP", "Exact")), deployment()).denials == []


def test_binding_environment_annotation() -> None:
    ps = policies("authorizer")
    b = ps.bindings[0]
    prod_only = type(ps)(ps.policies, (replace(b, envs={"env_type": ("production",)}),))
    assert run(prod_only, deployment(replicas=20), context={"env_type": "development"}).results == ()
    assert run(prod_only, deployment(replicas=20), context={"env_type": "production"}).skipped


def test_a_compile_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n"
        "  matchConstraints: {resourceRules: []}\n  validations:\n    - expression: object.spec.replicas <\n"
    )
    with pytest.raises(UserError) as err:
        load_policies(read_policy_documents(tmp_path))
    assert err.value.file is not None and err.value.file.endswith("p.yaml") and err.value.line == 7
    assert "does not compile" in err.value.message


@pytest.mark.parametrize(
    ("selector", "words"),
    [
        ("{matchExpressions: [{key: team, operator: Notin, values: [a]}]}", "not 'Notin'"),
        ("{matchExpressions: [{key: team, operator: In, values: []}]}", "needs a non-empty list"),
        ("{matchExpressions: [{key: team, operator: Exists, values: [a]}]}", "takes no values"),
        ("{matchExpressions: [{operator: Exists}]}", "needs a key"),
        ("[team]", "a label selector is a mapping"),
    ],
)
def test_a_label_selector_the_api_server_refuses_is_refused_at_its_line(selector: str, words: str) -> None:
    """An operator plato did not know used to select everything; the cluster refuses such a binding."""
    with pytest.raises(UserError, match=words) as err:
        load_string(
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\n"
            "spec:\n  policyName: p\n  matchResources: {objectSelector: " + selector + "}\n"
            "  validationActions: [Deny]\n---\napiVersion: admissionregistration.k8s.io/v1\n"
            "kind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  matchConstraints: {resourceRules: []}\n"
            "  validations: [{expression: 'true'}]\n"
        )
    assert err.value.line == 6


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (
            "kind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\n"
            "spec: {policyName: p, validationActions: [Block]}",
            "validationActions",
        ),
        (
            "kind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\n"
            "spec: {policyName: nope, validationActions: [Deny]}",
            "not defined",
        ),
        ("kind: MutatingAdmissionPolicy\nmetadata: {name: m}\nspec: {}", "not evaluated by plato"),
        (
            "kind: ValidatingAdmissionPolicy\nmetadata: {name: q}\nspec: {matchConstraints: {}}",
            "validations or auditAnnotations",
        ),
    ],
)
def test_bad_policy_documents(doc: str, words: str) -> None:
    with pytest.raises(UserError, match=words):
        load_string("apiVersion: admissionregistration.k8s.io/v1\n" + doc)


def load_string(text: str) -> Any:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="plato-policy-"))
    (folder / "p.yaml").write_text(text.lstrip())
    return load_policies(read_policy_documents(folder))


def test_applied_counts_objects_not_failures() -> None:
    doc = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: two}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]
  validations: [{expression: "false", message: one}, {expression: "false", message: two}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: two}
spec: {policyName: two, validationActions: [Warn]}
"""
    report = run(load_string(doc), deployment())
    assert [r.message for r in report.warnings] == ["one", "two"]
    assert report.applied() == {"two": 1}
