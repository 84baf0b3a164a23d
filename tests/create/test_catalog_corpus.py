"""A corpus of real-world-shaped apps (tests/corpus/real/<app>/*.yaml, modelled on what public Score repositories
write: several resource types per workload, classes, params, `service` dependencies between workloads, routes
without a host) renders with the bundled rules in development and production, and everything rendered is valid:
Kubernetes 1.33 (strict), the CRD schemas, references between objects. Then what the catalog promises is checked
on the rendered objects: dependencies reach real Services, routes get the environment's host, autoscaling follows
the spec's params."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import hcl2
import pytest
import yaml

from tests.create.test_valid_objects import PINNED, check_references, hcl_module_blocks, validate_object

if TYPE_CHECKING:
    from testkit.render import RenderKit

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "real"
APPS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
DOMAINS = {"development": "dev.example.com", "production": "example.com"}


def _render(kit: RenderKit, app: str, env: str) -> tuple[Any, list[dict[str, Any]]]:
    tree = kit.render(sorted((CORPUS / app).glob("*.yaml")), env)
    return tree, kit.manifest(tree)


def _specs(app: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((CORPUS / app).glob("*.yaml"))]


def test_corpus_is_broad() -> None:
    """At least 30 workloads, and each catalog type and class appears somewhere (else the tests below prove less)."""
    specs = [s for app in APPS for s in _specs(app)]
    assert len(specs) >= 30, len(specs)
    used = {(r["type"], r.get("class", "default")) for s in specs for r in (s.get("resources") or {}).values()}
    wanted = {
        ("service", "default"),
        ("endpoint", "default"),
        ("mssql", "default"),
        ("elasticsearch", "default"),
        ("horizontal-pod-autoscaler", "default"),
        ("llm-model", "default"),
        ("dapr-pubsub", "default"),
        ("dapr-state-store", "default"),
        ("dapr-subscription", "default"),
        ("environment", "default"),
        ("gcp-pubsub-emulator", "default"),
        ("volume", "ephemeral"),
        ("volume", "config"),
        ("volume", "projected"),
        ("volume", "persistent"),
        ("s3", "admin"),
        ("s3", "read-only"),
        ("route", "default"),
    }
    assert wanted <= used, sorted(wanted - used)
    hostless = [r for s in specs for r in (s.get("resources") or {}).values() if r["type"] == "route"]
    assert any("host" not in (r.get("params") or {}) for r in hostless)


@pytest.mark.parametrize("env", ["development", "production"])
@pytest.mark.parametrize("app", APPS)
def test_corpus_app_renders_valid(kit: RenderKit, app: str, env: str) -> None:
    crd_dir = kit.crd_dir()
    tree, objects = _render(kit, app, env)
    where = f"{app} ({env})"
    for path in (p for p in tree.files if p.endswith(".yaml")):
        for obj in kit.docs(tree.files[path]):
            validate_object(obj, crd_dir, f"{where} {path}")
    check_references(objects, where)
    for path in (p for p in tree.files if p.endswith(".tf")):
        for label, body in hcl_module_blocks(hcl2.loads(tree.files[path].decode("utf-8"))):
            assert PINNED.match(body["version"]), f"{where} {path}: module {label} is not pinned"
    _check_dependencies(kit, app, env, objects)
    _check_routes(app, env, objects)
    _check_autoscaling(kit, app, objects)


def _variables(kit: RenderKit, objects: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    out = {}
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet"):
            for c in kit.pod_spec(o)["containers"]:
                for e in c.get("env", []):
                    if "value" in e:
                        out[(o["metadata"]["name"], e["name"])] = e["value"]
    return out


def _check_dependencies(kit: RenderKit, app: str, env: str, objects: list[dict[str, Any]]) -> None:
    """A `service` resource's host is the Service of the workload it names, in this namespace, on its port."""
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    namespace = next(o["metadata"]["namespace"] for o in objects if o["kind"] == "Deployment")
    values = _variables(kit, objects)
    for spec in _specs(app):
        for res_name, res in (spec.get("resources") or {}).items():
            params = res.get("params") or {}
            if res["type"] != "service" or "app" in params:
                continue
            target = params.get("workload", res.get("id", res_name))
            for var, text in spec["containers"][next(iter(spec["containers"]))].get("variables", {}).items():
                if text == f"${{resources.{res_name}.host}}":
                    assert values[(spec["metadata"]["name"], var)] == f"{target}.{namespace}.svc.cluster.local"
                if text == f"${{resources.{res_name}.url}}":
                    port = services[target]["spec"]["ports"][0]["port"]
                    if "port" in params:
                        port = next(p["port"] for p in services[target]["spec"]["ports"] if p["name"] == params["port"])
                    url = f"http://{target}.{namespace}.svc.cluster.local:{port}"
                    assert values[(spec["metadata"]["name"], var)] == url, (app, env, var)


def _check_routes(app: str, env: str, objects: list[dict[str, Any]]) -> None:
    """A route without a host gets <workload>-<app>.<the environment's domain> (the dns rule's name for it)."""
    routes = {o["metadata"]["name"]: o for o in objects if o["kind"] == "HTTPRoute"}
    for spec in _specs(app):
        w = spec["metadata"]["name"]
        for res_name, res in (spec.get("resources") or {}).items():
            if res["type"] == "route" and "host" not in (res.get("params") or {}):
                route = routes[f"{w}-{res_name}"]
                host = f"{w}-demo.{DOMAINS[env]}"  # the kit renders every corpus app as app=demo
                assert route["spec"]["hostnames"] == [host]
                assert route["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/hostname"] == host


def _check_autoscaling(kit: RenderKit, app: str, objects: list[dict[str, Any]]) -> None:
    hpas = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    assert len({h["spec"]["scaleTargetRef"]["name"] for h in hpas}) == len(hpas), "two HPAs scale one workload"
    for spec in _specs(app):
        w = spec["metadata"]["name"]
        for res in (spec.get("resources") or {}).values():
            if res["type"] != "horizontal-pod-autoscaler":
                continue
            params = {"minReplicas": 2, "maxReplicas": 3, "targetCPUUtilizationPercentage": 80, **res.get("params", {})}
            hpa = kit.find(objects, "HorizontalPodAutoscaler", w)["spec"]
            assert (hpa["minReplicas"], hpa["maxReplicas"]) == (params["minReplicas"], params["maxReplicas"])
            target = hpa["metrics"][0]["resource"]["target"]["averageUtilization"]
            assert target == params["targetCPUUtilizationPercentage"]
            assert "replicas" not in kit.find(objects, "Deployment", w)["spec"]  # the HPA owns the count
