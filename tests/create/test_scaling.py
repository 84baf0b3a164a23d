"""How many replicas a workload runs (generator/create/scaling.py): a fixed count or an autoscaler that owns it,
the disruption budget, and a resource (the bundled horizontal-pod-autoscaler) that replaces the profile's
autoscaling, checked where the spec asks for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from testkit.build import line_of

from generator.create.scaling import disruption_budget, max_replicas, min_replicas, replicas
from generator.errors import UserError

if TYPE_CHECKING:
    from testkit.render import RenderKit


def _spec(params: str, second: str = "") -> str:
    return f"""
    apiVersion: score.dev/v1b1
    metadata:
      name: web
    containers:
      main:
        image: nginx:1.27
    resources:
      scale:
        type: horizontal-pod-autoscaler
        params:
{params}{second}
    """


def _params(low: object, high: object, target: object = 80) -> str:
    pad = " " * 10
    return f"{pad}minReplicas: {low}\n{pad}maxReplicas: {high}\n{pad}targetCPUUtilizationPercentage: {target}\n"


def test_an_autoscaler_owns_the_count_and_a_fixed_profile_sets_it() -> None:
    fixed, scaled = {"replicas": 2}, {"replicas": 3, "autoscaling": {"maxReplicas": 10}}
    assert (replicas(fixed), min_replicas(fixed), max_replicas(fixed)) == (2, 2, 2)
    assert replicas({}) == 1  # no count: one replica
    assert (replicas(scaled), min_replicas(scaled), max_replicas(scaled)) == (None, 3, 10)
    assert min_replicas({"replicas": 3, "autoscaling": {"minReplicas": 4, "maxReplicas": 9}}) == 4


def test_a_disruption_budget_selects_the_workload_s_pods() -> None:
    assert disruption_budget({}, "web", "ns", {}, {"app": "web"}) is None
    pdb = disruption_budget({"disruptionBudget": {"minAvailable": 2}}, "web", "ns", {"l": "1"}, {"app": "web"})
    assert pdb is not None and pdb["spec"] == {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}
    assert pdb["metadata"] == {"name": "web", "namespace": "ns", "labels": {"l": "1"}}


@pytest.mark.parametrize("env", ["development", "production"])
def test_a_resource_s_autoscaling_replaces_the_profile_s_with_one_autoscaler(kit: RenderKit, env: str) -> None:
    objects = kit.manifest(kit.render(kit.spec(_spec(_params(2, 5, 60))), env))
    [hpa] = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)  # not production's 3..10
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    deployment = kit.find(objects, "Deployment", "web")
    assert "replicas" not in deployment["spec"]  # the autoscaler owns the count


@pytest.mark.parametrize(
    ("params", "says"),
    [
        (_params(3, 2), "minReplicas 3 and maxReplicas 2 do not make a range"),
        (_params(0, 2), "minReplicas 0 and maxReplicas 2 do not make a range"),
        (_params("two", 4), "must be whole numbers, not two, 4, 80"),
        (_params(1, 4, "high"), "must be whole numbers, not 1, 4, high"),
    ],
)
def test_autoscaling_that_makes_no_range_is_refused_at_the_resource(kit: RenderKit, params: str, says: str) -> None:
    spec = kit.spec(_spec(params))
    with pytest.raises(UserError) as caught:
        kit.render(spec)
    assert says in caught.value.message and "resource 'scale'" in caught.value.message
    assert caught.value.file == str(spec) and caught.value.line is not None


def test_two_resources_setting_one_workload_s_autoscaling_are_refused_at_one_of_them(kit: RenderKit) -> None:
    second = "      again:\n        type: horizontal-pod-autoscaler\n"
    spec = kit.spec(_spec(_params(2, 4), second))
    with pytest.raises(UserError) as caught:
        kit.render(spec)
    # Resources go by name: the error points at the later one, 'scale'.
    assert "workload 'web': resources 'again' and 'scale' both set its autoscaling" in caught.value.message
    assert caught.value.line == line_of(spec, "scale:")


def test_a_cpu_target_of_zero_is_refused_at_the_resource(kit: RenderKit) -> None:
    with pytest.raises(UserError, match="targetCPUUtilizationPercentage"):
        kit.render(kit.spec(_spec(_params(2, 4, 0))))
