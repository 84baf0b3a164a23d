"""Kubernetes objects for one workload: its Deployment or StatefulSet, and beside it the objects each concern
adds (files, claims, Service, autoscaler, budget), composed from the modules that make them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.create.containers import BuiltContainer, build_container, start_order, version
from generator.create.files import file_sources
from generator.create.identity import needs_token, service_account, service_account_name
from generator.create.resources import Provisioned, base_variables, parse_manifests
from generator.create.scaling import (
    WorkloadKind,
    autoscaler,
    disruption_budget,
    max_replicas,
    replicas,
    with_resource_settings,
)
from generator.create.security import TMP_VOLUME, pod_security, tmp_volume
from generator.create.service import service_object
from generator.create.values import Resolver
from generator.create.volumes import VolumeUse, claim_objects, claims, refuse_shared_single_writer, volume_use
from generator.match.plan import Plan
from generator.match.templates import dns_label, render_tree
from generator.read.models import Container, Workload

KIND_ANNOTATION = "plato.dev/kind"  # workload annotation: "StatefulSet" for stable storage per replica
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


def selector_labels(plan: Plan, w: Workload) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": w.name,
        "app.kubernetes.io/instance": dns_label(f"{plan.context['app']}-{w.name}"),
    }


def common_labels(plan: Plan) -> dict[str, str]:
    return {
        **plan.env.get("labels", {}),
        "app.kubernetes.io/part-of": plan.context["app"],
        "app.kubernetes.io/managed-by": "plato",
    }


def workload_kind(w: Workload) -> WorkloadKind:
    return "StatefulSet" if w.annotations.get(KIND_ANNOTATION) == "StatefulSet" else "Deployment"


@dataclass(frozen=True)
class Shape:
    """What every object of one workload shares."""

    plan: Plan
    w: Workload
    prof: dict[str, Any]
    kind: WorkloadKind
    ns: str
    selector: dict[str, str]
    labels: dict[str, str]
    token: bool  # the pod mounts the Kubernetes API token (a rule of one of its resources needs it)


def workload_objects(plan: Plan, w: Workload, provisioned: dict[str, Provisioned]) -> list[dict[str, Any]]:
    profile = plan.profiles.get(w.name)
    variables = {**base_variables(plan), "workload": {"name": w.name, "annotations": dict(w.annotations)}}
    prof: dict[str, Any] = {}
    if profile is not None:
        prof = render_tree(
            {k: v for k, v in profile.spec.items() if k != "manifests"}, variables, f"Profile '{profile.name}'"
        )
    prof = with_resource_settings(w, prof, provisioned, plan)
    selector = selector_labels(plan, w)
    labels = {**common_labels(plan), **prof.get("labels", {}), **selector}
    token = needs_token(plan, w, provisioned)
    s = Shape(plan, w, prof, workload_kind(w), plan.env["namespace"], selector, labels, token)
    built = _containers(s, provisioned)
    files = [f for b in built.values() for f in b.files]
    file_volumes, objects = file_sources(plan, w, files, labels)
    uses = [u for b in built.values() for u in b.volumes]
    templates = claims(uses)
    if s.kind == "Deployment":
        refuse_shared_single_writer(w, uses, max_replicas(prof))
    if s.kind == "Deployment":
        objects += claim_objects(s.ns, common_labels(plan), templates)
    volumes = [u.volume for u in uses if u.volume is not None] + file_volumes
    objects.append(_controller(s, built, volumes, templates))
    extras = (
        service_account(plan, w, provisioned, labels),
        service_object(w, s.ns, labels, selector),
        autoscaler(prof, s.kind, w.name, s.ns, labels),
        disruption_budget(prof, w.name, s.ns, labels, selector),
    )
    objects += [o for o in extras if o is not None]
    if profile is not None and "manifests" in profile.spec:
        objects += parse_manifests(profile.spec["manifests"], variables, f"Profile '{profile.name}' manifests")
    return objects


def _containers(s: Shape, provisioned: dict[str, Provisioned]) -> dict[str, BuiltContainer]:
    plan, w = s.plan, s.w
    outputs = {r.name: provisioned[plan.bindings[(w.name, r.name)]].outputs for r in w.resources}
    resolver = Resolver(w.name, w.metadata, outputs, w.where.file)

    def uses(c: Container) -> list[VolumeUse]:
        return [volume_use(plan, w, c, v, provisioned, s.kind == "StatefulSet") for v in c.volumes]

    return {c.name: build_container(plan, w, c, resolver, s.prof, uses) for c in w.containers}


def _controller(
    s: Shape, built: dict[str, BuiltContainer], volumes: list[dict[str, Any]], templates: list[dict[str, Any]]
) -> dict[str, Any]:
    """The Deployment or StatefulSet."""
    w, prof = s.w, s.prof
    tag = version(w, s.plan)
    pod_labels = {**s.labels, **({"app.kubernetes.io/version": tag} if tag else {})}
    spec: dict[str, Any] = {"selector": {"matchLabels": s.selector}, "template": _pod(s, built, volumes, pod_labels)}
    count = replicas(prof)
    if count is not None:
        spec["replicas"] = count
    if prof.get("strategy"):
        spec["strategy" if s.kind == "Deployment" else "updateStrategy"] = prof["strategy"]
    meta: dict[str, Any] = {"name": w.name, "namespace": s.ns, "labels": pod_labels}
    annotations = {k: v for k, v in w.annotations.items() if k != KIND_ANNOTATION}
    if annotations:
        meta["annotations"] = annotations
    if s.kind == "StatefulSet":
        spec["serviceName"] = w.name
        if templates:
            spec["volumeClaimTemplates"] = templates
    return {"apiVersion": "apps/v1", "kind": s.kind, "metadata": meta, "spec": spec}


def _pod(
    s: Shape, built: dict[str, BuiltContainer], volumes: list[dict[str, Any]], pod_labels: dict[str, str]
) -> dict[str, Any]:
    init, main = start_order(s.w, {name: b.spec for name, b in built.items()})
    pod_spec: dict[str, Any] = {"containers": main}
    if init:
        pod_spec["initContainers"] = init
    if any(m["name"] == TMP_VOLUME for b in built.values() for m in b.spec.get("volumeMounts", [])):
        volumes = [*volumes, tmp_volume()]
    if volumes:
        pod_spec["volumes"] = sorted({v["name"]: v for v in volumes}.values(), key=lambda v: v["name"])
    pod_spec["serviceAccountName"] = service_account_name(s.plan, s.w)
    pod_spec["automountServiceAccountToken"] = s.token
    pod_spec["securityContext"] = pod_security(s.prof)
    # The workload's own annotations reach its pods, where the tools that read them look (Dapr's sidecar injector,
    # Prometheus' scrape, Istio, Vault Agent), as score-k8s does; the Profile's and plato's own come after them.
    # plato.dev/ ones are instructions to plato, and stay on the Deployment (a pod that changed with them would
    # restart for nothing).
    own = {k: v for k, v in s.w.annotations.items() if not k.startswith("plato.dev/")}
    annotations = {**own, **s.prof.get("annotations", {}), **_reload_annotations(built)}
    if len(s.w.containers) > 1:
        # `kubectl logs` and `exec` pick this one when no container is named: the first of the spec.
        annotations[DEFAULT_CONTAINER] = main[0]["name"]
    template: dict[str, Any] = {"metadata": {"labels": pod_labels}, "spec": pod_spec}
    if annotations:
        template["metadata"]["annotations"] = annotations
    return template


def _reload_annotations(built: dict[str, BuiltContainer]) -> dict[str, str]:
    uses_secrets = any(f.source == "secret" for b in built.values() for f in b.files) or any(
        "valueFrom" in e for b in built.values() for e in b.spec.get("env", [])
    )
    # Pods read variables at start: let Reloader restart them when a referenced Secret rotates.
    return {"reloader.stakater.com/auto": "true"} if uses_secrets else {}
