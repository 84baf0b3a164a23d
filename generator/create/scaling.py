"""How many replicas a workload runs: fixed, or autoscaled on CPU, and the disruption budget that keeps some."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from generator.errors import UserError

if TYPE_CHECKING:
    from generator.create.resources import Provisioned
    from generator.match.plan import Plan
    from generator.read.models import Workload

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


def with_resource_settings(
    w: Workload, prof: dict[str, Any], provisioned: dict[str, Provisioned], plan: Plan
) -> dict[str, Any]:
    """A resource whose rule gives `workload: {autoscaling: ...}` (horizontal-pod-autoscaler) replaces the
    profile's autoscaling for the workloads that declare it: one HPA per workload, never two."""
    settings = [(r, provisioned[plan.bindings[(w.name, r.name)]].workload) for r in w.resources]
    found: list[tuple[Any, dict[str, Any]]] = [(r, s["autoscaling"]) for r, s in settings if s.get("autoscaling")]
    if not found:
        return prof
    if len(found) > 1:
        r = found[1][0]
        raise UserError.at(
            r.where,
            f"workload '{w.name}': resources '{found[0][0].name}' and '{r.name}' both set its autoscaling",
            hint="a workload has one HorizontalPodAutoscaler: keep one of them",
        )
    r, scaling = found[0]
    numbers = [str(scaling.get(k, 1)) for k in ("minReplicas", "maxReplicas", "targetCPUUtilizationPercentage")]
    if not all(n.isdigit() for n in numbers):
        raise UserError.at(
            r.where,
            f"workload '{w.name}', resource '{r.name}': minReplicas, maxReplicas and targetCPUUtilizationPercentage "
            f"must be whole numbers, not {', '.join(numbers)}",
        )
    low, high = int(numbers[0]), int(numbers[1])
    if not 1 <= low <= high:
        raise UserError.at(
            r.where,
            f"workload '{w.name}', resource '{r.name}': minReplicas {low} and maxReplicas {high} do not make a "
            "range (1 <= minReplicas <= maxReplicas)",
        )
    if not 1 <= int(numbers[2]) <= 100:  # the profile schema's range; the API server refuses 0
        raise UserError.at(
            r.where,
            f"workload '{w.name}', resource '{r.name}': targetCPUUtilizationPercentage {numbers[2]} is not a "
            "percentage from 1 to 100",
        )
    return {**prof, "autoscaling": scaling}
