"""Which YAML documents are Kubernetes objects for the policy loader (kept import-light: the rules loader asks)."""

from __future__ import annotations

from typing import Any


def is_policy_document(data: Any) -> bool:
    """A Kubernetes object rather than a plato rule: a policy, a binding, or a params object they name."""
    if not isinstance(data, dict) or not isinstance(data.get("apiVersion"), str):
        return False
    return not data["apiVersion"].startswith("plato.dev/") and isinstance(data.get("metadata"), dict)
