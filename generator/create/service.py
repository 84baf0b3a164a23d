"""The Service in front of a workload's `service.ports`."""

from __future__ import annotations

from typing import Any

from generator.read.models import Workload


def service_object(w: Workload, ns: str, labels: dict[str, str], selector: dict[str, str]) -> dict[str, Any] | None:
    if not w.ports:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": w.name, "namespace": ns, "labels": labels},
        "spec": {
            "selector": selector,
            "ports": [
                {"name": p.name, "port": p.port, "targetPort": p.target_port, "protocol": p.protocol} for p in w.ports
            ],
        },
    }
