"""How many replicas a workload runs: fixed, or autoscaled on CPU, and the disruption budget that keeps some."""

from __future__ import annotations

from typing import Any, Literal

WorkloadKind = Literal["Deployment", "StatefulSet"]


def replicas(prof: dict[str, Any]) -> int | None:
    """The fixed replica count, or None when an autoscaler owns it (a fixed count would fight the autoscaler)."""
    return None if prof.get("autoscaling") else int(prof.get("replicas", 1))


def min_replicas(prof: dict[str, Any]) -> int:
    autoscaling = prof.get("autoscaling")
    if autoscaling:
        return int(autoscaling.get("minReplicas", prof.get("replicas", 1)))
    return int(prof.get("replicas", 1))


def max_replicas(prof: dict[str, Any]) -> int:
    autoscaling = prof.get("autoscaling")
    return int(autoscaling["maxReplicas"]) if autoscaling else min_replicas(prof)


def autoscaler(
    prof: dict[str, Any], kind: WorkloadKind, name: str, ns: str, labels: dict[str, str]
) -> dict[str, Any] | None:
    autoscaling = prof.get("autoscaling")
    if not autoscaling:
        return None
    target = int(autoscaling.get("targetCPUUtilizationPercentage", 80))
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
        "minReplicas": min_replicas(prof),
        "maxReplicas": int(autoscaling["maxReplicas"]),
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
            }
        ],
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec,
    }


def disruption_budget(
    prof: dict[str, Any], name: str, ns: str, labels: dict[str, str], selector: dict[str, str]
) -> dict[str, Any] | None:
    budget = prof.get("disruptionBudget")
    if not budget:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {**budget, "selector": {"matchLabels": selector}},
    }
