"""The pods a resource rule's manifests run, labelled so that policies can select them."""

from __future__ import annotations

from typing import Any

from generator.match.plan import ResourceNode

POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}  # and CronJob, one level down
RESOURCE_LABEL = "plato.dev/resource"  # put on the pods a resource's manifests run, so policies can select them


def label_resource_pods(node: ResourceNode, manifests: list[dict[str, Any]]) -> None:
    for m in manifests:
        template = pod_template(m)
        if template is not None:
            meta = template.setdefault("metadata", {})
            meta["labels"] = {**(meta.get("labels") or {}), RESOURCE_LABEL: node.name}


def pod_template(m: dict[str, Any]) -> dict[str, Any] | None:
    spec = m.get("spec") if isinstance(m.get("spec"), dict) else None
    if spec is None or m.get("kind") not in POD_KINDS | {"CronJob"}:
        return None
    if m["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return template if isinstance(template, dict) else None
