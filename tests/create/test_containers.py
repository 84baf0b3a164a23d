"""generator/create/containers.py: what a container's resources become, beside the profile's defaults (the bundled
profiles request 50m/64Mi in development and 250m/256Mi in production, and limit memory)."""

from __future__ import annotations

import pytest
from testkit.render import RenderKit


def _spec(kit: RenderKit, resources: str) -> object:
    return kit.spec(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx:1.27.3\n"
        "    resources:\n" + "".join(f"      {line}\n" for line in resources.strip().splitlines())
    )


def _resources(kit: RenderKit, resources: str, env: str) -> dict[str, object]:
    tree = kit.render(_spec(kit, resources), env)
    deployment = kit.find(kit.manifest(tree), "Deployment")
    return dict(kit.container(deployment, "main")["resources"])


@pytest.mark.parametrize(("env", "memory"), [("development", "64Mi"), ("production", "256Mi")])
def test_a_spec_that_requests_only_cpu_still_requests_the_profiles_memory(
    kit: RenderKit, env: str, memory: str
) -> None:
    got = _resources(kit, "requests:\n  cpu: 500m", env)
    assert got["requests"] == {"cpu": "500m", "memory": memory}


def test_a_limit_without_a_request_is_what_the_container_requests(kit: RenderKit) -> None:
    # Kubernetes requests the limit when no request is given; the profile's larger request would be invalid.
    got = _resources(kit, "limits:\n  cpu: 20m\n  memory: 32Mi", "development")
    assert got["requests"] == {"cpu": "20m", "memory": "32Mi"}
    assert got["limits"] == {"cpu": "20m", "memory": "32Mi"}


def test_the_specs_requests_and_limits_win_over_the_profile(kit: RenderKit) -> None:
    got = _resources(kit, 'requests:\n  cpu: "1"\n  memory: 1Gi\nlimits:\n  memory: 2Gi', "production")
    assert got == {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}


def test_no_resources_in_the_spec_take_the_profiles(kit: RenderKit) -> None:
    tree = kit.render(
        kit.spec("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx:1.27.3\n"),
        "development",
    )
    got = kit.container(kit.find(kit.manifest(tree), "Deployment"), "main")["resources"]
    assert got == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}


def test_a_cpu_only_spec_passes_the_bundled_policies_in_production(kit: RenderKit) -> None:
    result = kit.cli(
        "check", _spec(kit, "requests:\n  cpu: 500m"), "-c", "env=production", "-c", "app=demo", "-c", "org=acme"
    )
    assert result.exit_code == 0, result.output
