"""Mistakes with catalog types are user errors: `plato render` exits 2 with one message at the spec's line, in
development and production, and writes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from testkit.render import RenderKit

BACKEND = """
apiVersion: score.dev/v1b1
metadata: {name: backend}
containers:
  main: {image: nginx:1.27}
service:
  ports:
    http: {port: 80, targetPort: 8080}
"""


def _frontend(resources: str, variables: str = "") -> str:
    return (
        "apiVersion: score.dev/v1b1\nmetadata: {name: frontend}\ncontainers:\n  main:\n    image: nginx:1.27\n"
        + (f"    variables:\n{variables}" if variables else "")
        + f"resources:\n{resources}"
    )


CASES = {
    "unknown workload": (
        "  backnd: {type: service}\n",
        "",
        ("frontend.yaml:", "depends on workload 'backnd', which is not part of app 'demo'", "did you mean 'backend'?"),
    ),
    "unknown port": (
        "  backend: {type: service}\n",
        "      PORT: ${resources.backend.grpc}\n",
        ("frontend.yaml:7:", "workload 'backend' has no port 'grpc' in its service.ports", "allowed: host, http"),
    ),
    "port of another app": (
        "  billing:\n    type: service\n    params: {app: billing, workload: invoices}\n",
        "      PORT: ${resources.billing.http}\n",
        ("frontend.yaml:7:", "the ports of workload 'invoices' of app 'billing' are not known", "params.port"),
    ),
    "autoscaling range": (
        "  hpa:\n    type: horizontal-pod-autoscaler\n    params: {minReplicas: 4, maxReplicas: 2}\n",
        "",
        ("frontend.yaml:7:", "minReplicas 4 and maxReplicas 2 do not make a range"),
    ),
    "autoscaling numbers": (
        "  hpa:\n    type: horizontal-pod-autoscaler\n    params: {maxReplicas: many}\n",
        "",
        ("frontend.yaml:7:", "must be whole numbers, not 2, many, 80"),
    ),
    "two autoscalers": (
        "  hpa:\n    type: horizontal-pod-autoscaler\n  more:\n    type: horizontal-pod-autoscaler\n",
        "",
        ("resources 'hpa' and 'more' both set its autoscaling", "keep one of them"),
    ),
    "subscription without topic": (
        "  sub:\n    type: dapr-subscription\n    params: {pubsub: events}\n",
        "",
        ("frontend.yaml:7:", "requires param 'topic'"),
    ),
    "volume class": (
        "  data:\n    type: volume\n    class: nfs\n",
        "",
        ("frontend.yaml:7:", "no Resource rule matches class 'nfs'", "are default, config, ephemeral, persistent"),
    ),
}


@pytest.mark.parametrize("env", ["development", "production"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_catalog_mistake_is_one_message(kit: RenderKit, case: str, env: str) -> None:
    resources, variables, needles = CASES[case]
    backend = kit.spec(BACKEND, "backend.yaml")
    frontend = kit.spec(_frontend(resources, variables), "frontend.yaml")
    result = kit.cli_render([backend, frontend], env)
    out = kit.assert_user_error(result, *needles)
    assert out.count("error:") == 1, out
    assert not kit.out.exists()
