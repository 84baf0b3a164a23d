"""What a policy or binding selects: resource rules, label selectors, and the environments a binding is for."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from generator.read.models import Where

__all__ = [
    "Where",
    "env_matches",
    "key_of",
    "namespace_of",
    "operation_blind",
    "resource_of",
    "rules_match",
    "selector_matches",
]

# Plurals that are not the kind in lower case plus "s" (the API server's RESTMapper learns them from discovery).
_PLURALS = {"Endpoints": "endpoints", "PodSecurityPolicy": "podsecuritypolicies"}


def resource_of(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    """(group, version, resource) of an object, e.g. Deployment apps/v1 -> ("apps", "v1", "deployments")."""
    return _resource_of(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))


@lru_cache(maxsize=512)
def _resource_of(api_version: str, kind: str) -> tuple[str, str, str]:
    group, _, version = api_version.rpartition("/")
    plural = _PLURALS.get(kind)
    if plural is None:
        lower = kind.lower()
        if re.search(r"[^aeiou]y$", lower):
            plural = lower[:-1] + "ies"
        elif lower.endswith(("s", "x", "ch", "sh")):
            plural = lower + "es"
        else:
            plural = lower + "s"
    return group, version, plural


def namespace_of(obj: Mapping[str, Any]) -> str | None:
    # plato renders every namespaced object with its namespace, so an object without one is cluster-scoped.
    ns = (obj.get("metadata") or {}).get("namespace")
    return str(ns) if ns else None


def key_of(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """How an object is known in the cluster: (apiVersion's group, kind, namespace, name)."""
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _one(patterns: Sequence[str] | None, value: str) -> bool:
    return patterns is not None and ("*" in patterns or value in patterns)


def _resource(patterns: Sequence[str] | None, resource: str) -> bool:
    # "*" and "*/*" cover the main resource; "pods/*" only subresources; "pods" the main resource.
    return patterns is not None and any(p in ("*", "*/*", resource) for p in patterns)


def rules_match(rules: Sequence[Mapping[str, Any]] | None, obj: Mapping[str, Any], operation: str, policy: str) -> bool:
    """Any of the rules covers the object's (group, version, resource) and the operation. With matchPolicy
    Equivalent (the default) the version does not matter: the API server converts between versions."""
    if not rules:
        return False
    group, version, resource = resource_of(obj)
    name = str((obj.get("metadata") or {}).get("name", ""))
    scope = "Namespaced" if namespace_of(obj) else "Cluster"
    for rule in rules:
        if not (_one(rule.get("apiGroups"), group) and _resource(rule.get("resources"), resource)):
            continue
        if policy == "Exact" and not _one(rule.get("apiVersions"), version):
            continue
        if not _one(rule.get("operations"), operation):
            continue
        if rule.get("scope", "*") not in ("*", scope):
            continue
        if rule.get("resourceNames") and name not in rule["resourceNames"]:
            continue
        return True
    return False


def operation_blind(rules: Sequence[Mapping[str, Any]] | None) -> bool:
    """Whether these rules match a CREATE exactly when they match an UPDATE (each names both, or "*")."""
    return all(
        "*" in ops or {"CREATE", "UPDATE"} <= set(ops) or not {"CREATE", "UPDATE"} & set(ops)
        for ops in ((r.get("operations") or []) for r in rules or [])
    )


OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")  # of a metav1.LabelSelector's matchExpressions


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> bool:
    """A metav1.LabelSelector: absent or empty selects everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in OPERATORS:  # the policy loader refuses such a selector at its line (check/load.py)
            raise ValueError(f"label selector operator {op!r} is none of {', '.join(OPERATORS)}")
    return True


def env_matches(criteria: Mapping[str, Sequence[str]], context: Mapping[str, str]) -> bool:
    """A binding's plato criteria (context key -> globs) against the deployment's context: all must hold."""
    for key, patterns in criteria.items():
        value = context.get(key)
        if value is None or not any(fnmatch.fnmatchcase(value, p) for p in patterns):
            return False
    return True
