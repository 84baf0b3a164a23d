"""What a policy or binding selects (generator/check/selectors.py), with the API server's semantics: resource
names from kinds, resource rules, label selectors, and the environments a binding is for."""

from __future__ import annotations

import pytest

from generator.check.selectors import env_matches, key_of, namespace_of, resource_of, rules_match, selector_matches

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        ("apps/v1", "Deployment", ("apps", "v1", "deployments")),
        ("v1", "Pod", ("", "v1", "pods")),
        ("networking.k8s.io/v1", "NetworkPolicy", ("networking.k8s.io", "v1", "networkpolicies")),
        ("networking.k8s.io/v1", "Ingress", ("networking.k8s.io", "v1", "ingresses")),
        ("networking.k8s.io/v1", "IngressClass", ("networking.k8s.io", "v1", "ingressclasses")),
        ("gateway.networking.k8s.io/v1", "Gateway", ("gateway.networking.k8s.io", "v1", "gateways")),
        ("v1", "Endpoints", ("", "v1", "endpoints")),
        ("policy/v1beta1", "PodSecurityPolicy", ("policy", "v1beta1", "podsecuritypolicies")),
        ("example.com/v1", "Box", ("example.com", "v1", "boxes")),
        ("example.com/v1", "Mesh", ("example.com", "v1", "meshes")),
    ],
)
def test_the_resource_of_an_object_is_the_plural_the_api_server_uses(api_version, kind, expected) -> None:
    assert resource_of({"apiVersion": api_version, "kind": kind}) == expected


def test_an_object_is_known_by_group_kind_namespace_and_name() -> None:
    assert key_of(DEPLOYMENT) == ("apps", "Deployment", "shop", "web")
    assert key_of(NAMESPACE) == ("", "Namespace", "", "shop")
    assert (namespace_of(DEPLOYMENT), namespace_of(NAMESPACE), namespace_of({})) == ("shop", None, None)


def test_a_resource_rule_covers_group_resource_operation_and_scope() -> None:
    rule = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}
    assert rules_match([rule], DEPLOYMENT, "CREATE", "Equivalent")
    assert not rules_match([rule], DEPLOYMENT, "UPDATE", "Equivalent")
    assert not rules_match([{**rule, "apiGroups": [""]}], DEPLOYMENT, "CREATE", "Equivalent")
    assert not rules_match([{**rule, "resources": ["deployments/scale"]}], DEPLOYMENT, "CREATE", "Equivalent")
    assert not rules_match([{**rule, "resources": ["deployments/*"]}], DEPLOYMENT, "CREATE", "Equivalent")
    assert rules_match([{**rule, "resources": ["*/*"], "operations": ["*"]}], DEPLOYMENT, "UPDATE", "Equivalent")
    assert not rules_match([{**rule, "scope": "Cluster"}], DEPLOYMENT, "CREATE", "Equivalent")
    assert rules_match([{**rule, "scope": "Namespaced"}], DEPLOYMENT, "CREATE", "Equivalent")
    assert not rules_match([], DEPLOYMENT, "CREATE", "Equivalent") and not rules_match(None, DEPLOYMENT, "CREATE", "")
    assert not rules_match([{"resources": ["deployments"], "operations": ["*"]}], DEPLOYMENT, "CREATE", "Equivalent")


def test_the_version_counts_only_with_match_policy_exact_and_names_only_when_listed() -> None:
    v1beta = {"apiGroups": ["apps"], "apiVersions": ["v1beta1"], "operations": ["*"], "resources": ["deployments"]}
    assert rules_match([v1beta], DEPLOYMENT, "CREATE", "Equivalent")  # the API server converts between versions
    assert not rules_match([v1beta], DEPLOYMENT, "CREATE", "Exact")
    named = {**v1beta, "apiVersions": ["*"], "resourceNames": ["api"]}
    assert not rules_match([named], DEPLOYMENT, "CREATE", "Exact")
    assert rules_match([named, {**named, "resourceNames": ["web"]}], DEPLOYMENT, "CREATE", "Exact")  # any rule


def test_a_label_selector_has_kubernetes_semantics() -> None:
    labels = {"tier": "web", "team": "shop"}
    assert selector_matches(None, labels) and selector_matches({}, {})
    assert selector_matches({"matchLabels": {"tier": "web"}}, labels)
    assert not selector_matches({"matchLabels": {"tier": "web", "zone": "a"}}, labels)

    def expr(op: str, *values: str, key: str = "tier") -> dict:
        return {"matchExpressions": [{"key": key, "operator": op, "values": list(values)}]}

    assert selector_matches(expr("In", "api", "web"), labels) and not selector_matches(expr("In", "api"), labels)
    assert not selector_matches(expr("In", "web", key="zone"), labels)  # In needs the label
    assert selector_matches(expr("NotIn", "api"), labels) and not selector_matches(expr("NotIn", "web"), labels)
    assert selector_matches(expr("NotIn", "a", key="zone"), labels)  # NotIn holds without the label
    assert selector_matches(expr("Exists"), labels) and not selector_matches(expr("Exists", key="zone"), labels)
    assert selector_matches(expr("DoesNotExist", key="zone"), labels)
    assert not selector_matches(expr("DoesNotExist"), labels)
    with pytest.raises(ValueError, match="'Notin' is none of"):  # never selects all (nor none): the loader refuses it
        selector_matches(expr("Notin", "web"), labels)


def test_a_binding_is_for_the_deployments_whose_context_matches_every_glob_list() -> None:
    context = {"env": "production", "env_type": "production", "cluster": "prod-eu-1"}
    assert env_matches({}, context)
    assert env_matches({"env_type": ["production"], "cluster": ["prod-*", "dr-*"]}, context)
    assert not env_matches({"env_type": ["production"], "cluster": ["dr-*"]}, context)
    assert not env_matches({"region": ["*"]}, context)  # a key the deployment lacks never matches
    assert not env_matches({"env": ["Production"]}, context)  # case counts
