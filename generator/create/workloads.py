"""Kubernetes objects for one workload: Deployment or StatefulSet, Service, files, autoscaling, budget."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from generator.create.resources import Provisioned
from generator.create.values import Piece, Resolver, SecretRef, escape_k8s, expanded, external_secret
from generator.credentials import high_entropy, looks_like_credential
from generator.errors import UserError
from generator.match.plan import Plan
from generator.match.templates import dns_label, render_tree
from generator.read.models import Container, File, Where, Workload
from generator.read.placeholders import Template

KIND_ANNOTATION = "plato.dev/kind"  # workload annotation: "StatefulSet" for stable storage per replica
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


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


def workload_objects(plan: Plan, w: Workload, provisioned: dict[str, Provisioned]) -> list[dict[str, Any]]:
    profile = plan.profiles.get(w.name)
    prof: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    if profile is not None:
        from generator.create.resources import base_variables

        variables = {**base_variables(plan), "workload": {"name": w.name, "annotations": dict(w.annotations)}}
        prof = render_tree(
            {k: v for k, v in profile.spec.items() if k != "manifests"}, variables, f"Profile '{profile.name}'"
        )
    prof = _with_resource_settings(w, prof, provisioned, plan)
    outputs = {r.name: provisioned[plan.bindings[(w.name, r.name)]].outputs for r in w.resources}
    resolver = Resolver(w.name, w.metadata, outputs, w.where.file)
    ns = plan.env["namespace"]
    selector = selector_labels(plan, w)
    labels = {**common_labels(plan), **prof.get("labels", {}), **selector}
    version = _version(w, plan)
    objects: list[dict[str, Any]] = []

    files_cm: dict[str, Any] = {"data": {}, "binaryData": {}, "items": {}}
    secret_files: list[tuple[str, File, list[Piece]]] = []
    volumes: list[dict[str, Any]] = []
    claim_templates: list[dict[str, Any]] = []
    stateful = w.annotations.get(KIND_ANNOTATION) == "StatefulSet"
    cm_name = dns_label(f"{w.name}-files")
    sec_name = dns_label(f"{w.name}-secret-files")

    containers: dict[str, dict[str, Any]] = {}
    for c in w.containers:
        containers[c.name] = _container(
            plan,
            w,
            c,
            resolver,
            prof,
            files_cm,
            secret_files,
            cm_name,
            sec_name,
            provisioned,
            volumes,
            claim_templates,
            stateful,
        )
    # One volume per source; each file is an item (with its own mode) mounted by subPath.
    if files_cm["data"] or files_cm["binaryData"]:
        volumes.append({"name": cm_name, "configMap": {"name": cm_name, "items": _items(files_cm["items"][cm_name])}})
        objects.append(_configmap(cm_name, ns, labels, files_cm))
    if secret_files:
        volumes.append(
            {"name": sec_name, "secret": {"secretName": sec_name, "items": _items(files_cm["items"][sec_name])}}
        )
        objects.append(_file_external_secret(plan, w, sec_name, ns, labels, secret_files))

    init, main = _order_containers(w, containers)
    pod_spec: dict[str, Any] = {"containers": main}
    if init:
        pod_spec["initContainers"] = init
    if volumes:
        pod_spec["volumes"] = sorted({v["name"]: v for v in volumes}.values(), key=lambda v: v["name"])
    if plan.env.get("serviceAccount"):
        pod_spec["serviceAccountName"] = plan.env["serviceAccount"]
    if prof.get("securityContext", {}).get("pod"):
        pod_spec["securityContext"] = prof["securityContext"]["pod"]
    pod_labels = {**labels, **({"app.kubernetes.io/version": version} if version else {})}
    pod_annotations = {**prof.get("annotations", {}), **_reload_annotations(secret_files, containers)}
    template: dict[str, Any] = {"metadata": {"labels": pod_labels}, "spec": pod_spec}
    if pod_annotations:
        template["metadata"]["annotations"] = pod_annotations
    spec: dict[str, Any] = {"selector": {"matchLabels": selector}, "template": template}
    autoscaling = prof.get("autoscaling")
    if not autoscaling:
        spec["replicas"] = int(prof.get("replicas", 1))
    if prof.get("strategy"):
        spec["strategy" if not stateful else "updateStrategy"] = prof["strategy"]
    meta = {"name": w.name, "namespace": ns, "labels": pod_labels}
    if w.annotations:
        meta["annotations"] = {k: v for k, v in w.annotations.items() if k != KIND_ANNOTATION} or None
        if meta["annotations"] is None:
            del meta["annotations"]
    if stateful:
        spec["serviceName"] = w.name
        if claim_templates:
            spec["volumeClaimTemplates"] = claim_templates
        objects.append({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec})
    else:
        objects += [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {**t["metadata"], "namespace": ns, "labels": common_labels(plan)},
                "spec": t["spec"],
            }
            for t in claim_templates
        ]
        objects.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec})
    if w.ports:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": w.name, "namespace": ns, "labels": labels},
                "spec": {
                    "selector": selector,
                    "ports": [
                        {"name": p.name, "port": p.port, "targetPort": p.target_port, "protocol": p.protocol}
                        for p in w.ports
                    ],
                },
            }
        )
    if autoscaling:
        hpa_spec: dict[str, Any] = {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet" if stateful else "Deployment",
                "name": w.name,
            },
            "minReplicas": int(autoscaling.get("minReplicas", prof.get("replicas", 1))),
            "maxReplicas": int(autoscaling["maxReplicas"]),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": int(autoscaling.get("targetCPUUtilizationPercentage", 80)),
                        },
                    },
                }
            ],
        }
        objects.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": w.name, "namespace": ns, "labels": labels},
                "spec": hpa_spec,
            }
        )
    budget = prof.get("disruptionBudget")
    if budget:
        objects.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": w.name, "namespace": ns, "labels": labels},
                "spec": {**budget, "selector": {"matchLabels": selector}},
            }
        )
    if profile is not None and "manifests" in profile.spec:
        from generator.create.resources import parse_manifests

        objects += parse_manifests(profile.spec["manifests"], variables, f"Profile '{profile.name}' manifests")
    return objects


def _with_resource_settings(
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
        raise UserError(
            f"workload '{w.name}': resources '{found[0][0].name}' and '{r.name}' both set its autoscaling",
            file=r.where.file,
            line=r.where.line,
            hint="a workload has one HorizontalPodAutoscaler: keep one of them",
        )
    r, scaling = found[0]
    numbers = [str(scaling.get(k, 1)) for k in ("minReplicas", "maxReplicas", "targetCPUUtilizationPercentage")]
    if not all(n.isdigit() for n in numbers):
        raise UserError(
            f"workload '{w.name}', resource '{r.name}': minReplicas, maxReplicas and targetCPUUtilizationPercentage "
            f"must be whole numbers, not {', '.join(numbers)}",
            file=r.where.file,
            line=r.where.line,
        )
    low, high = int(numbers[0]), int(numbers[1])
    if not 1 <= low <= high:
        raise UserError(
            f"workload '{w.name}', resource '{r.name}': minReplicas {low} and maxReplicas {high} do not make a "
            "range (1 <= minReplicas <= maxReplicas)",
            file=r.where.file,
            line=r.where.line,
        )
    return {**prof, "autoscaling": scaling}


def _version(w: Workload, plan: Plan) -> str | None:
    images = sorted({_image(c, plan, w) for c in w.containers})
    if len(images) != 1:
        return None
    tag = images[0].rsplit("@", 1)[0]
    tag = tag.rsplit(":", 1)[1] if ":" in tag.rsplit("/", 1)[-1] else ""
    return tag if _LABEL_VALUE.match(tag) else None


def _image(c: Container, plan: Plan, w: Workload) -> str:
    if c.image != ".":
        return c.image
    image = plan.context.get("image")
    if not image:
        raise UserError(
            f"workload '{w.name}', container '{c.name}': image '.' needs the image CI built",
            file=c.where.file,
            line=c.where.line,
            hint="pass --image REGISTRY/NAME:TAG or -c image=... (the GitHub Action passes it)",
        )
    return image


def _container(
    plan: Plan,
    w: Workload,
    c: Container,
    resolver: Resolver,
    prof: dict[str, Any],
    files_cm: dict[str, Any],
    secret_files: list[tuple[str, File, list[Piece]]],
    cm_name: str,
    sec_name: str,
    provisioned: dict[str, Provisioned],
    volumes: list[dict[str, Any]],
    claim_templates: list[dict[str, Any]],
    stateful: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "image": _image(c, plan, w)}
    helpers: dict[str, SecretRef] = {}
    env: list[dict[str, Any]] = []
    for name, tpl in c.variables:
        _refuse_literal_credential(tpl, f"variable {name}", c, c.lines.get(f"variables.{name}"), entropy=True)
        pieces = resolver.pieces(tpl)
        if len(pieces) == 1 and isinstance(pieces[0], SecretRef):
            env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": pieces[0].name, "key": pieces[0].key}}})
            continue
        for p in pieces:
            if isinstance(p, SecretRef):
                helpers[p.env_name] = p
        env.append({"name": name, "value": expanded(pieces)})
    for field_name, seq in (("command", c.command), ("args", c.args)):
        if seq is not None:
            items = []
            for i, tpl in enumerate(seq):
                _refuse_literal_credential(tpl, f"{field_name}[{i}]", c, c.lines.get(f"{field_name}.{i}"))
                pieces = resolver.pieces(tpl)
                for p in pieces:
                    if isinstance(p, SecretRef):
                        helpers[p.env_name] = p
                items.append(expanded(pieces))
            out[field_name] = items
    # Helpers first: Kubernetes resolves $(VAR) only against variables defined earlier in the list.
    helper_env = [
        {"name": n, "valueFrom": {"secretKeyRef": {"name": s.name, "key": s.key}}} for n, s in sorted(helpers.items())
    ]
    if helper_env or env:
        out["env"] = helper_env + env
    mounts: list[dict[str, Any]] = []
    for f in c.files:
        key = "f-" + hashlib.sha256(f"{c.name}:{f.target}".encode()).hexdigest()[:12]
        mode = int(f.mode, 8) if f.mode else None
        if f.missing_source:
            raise UserError(
                f"file source '{f.source}' does not exist ({f.missing_source})",
                file=f.where.file,
                line=f.where.line,
                hint="source paths are relative to the spec file",
            )
        if f.binary is not None:
            files_cm["binaryData"][key] = f.binary
            vol = cm_name
        elif f.content is None:
            files_cm["data"][key] = f.text or ""
            vol = cm_name
        else:
            _refuse_literal_credential(f.content, f"file {f.target}", c, f.where)
            pieces = resolver.pieces(f.content)
            if any(isinstance(p, SecretRef) for p in pieces):
                secret_files.append((key, f, pieces))
                vol = sec_name
            else:
                files_cm["data"][key] = "".join(p for p in pieces if isinstance(p, str))
                vol = cm_name
        mounts.append({"name": vol, "mountPath": f.target, "subPath": key, "readOnly": True})
        files_cm["items"].setdefault(vol, {})[key] = mode
    for v in c.volumes:
        mounts.append(_volume(plan, w, c, v, resolver, provisioned, volumes, claim_templates, stateful))
    if mounts:
        out["volumeMounts"] = sorted(mounts, key=lambda m: m["mountPath"])
    res = _resources(c, prof)
    if res:
        out["resources"] = res
    for probe_name, probe in (("livenessProbe", c.liveness_probe), ("readinessProbe", c.readiness_probe)):
        if probe:
            out[probe_name] = _probe(probe, c, probe_name)
    if prof.get("securityContext", {}).get("container"):
        out["securityContext"] = prof["securityContext"]["container"]
    return out


def _items(modes: dict[str, int | None]) -> list[dict[str, Any]]:
    return [{"key": k, "path": k, **({"mode": m} if m is not None else {})} for k, m in sorted(modes.items())]


def _volume(
    plan: Plan,
    w: Workload,
    c: Container,
    v: Any,
    resolver: Resolver,
    provisioned: dict[str, Provisioned],
    volumes: list[dict[str, Any]],
    claim_templates: list[dict[str, Any]],
    stateful: bool,
) -> dict[str, Any]:
    ref = v.source.single_ref
    if not v.source.refs and v.source.literal:
        # A plain name (Score's "external volume reference"): an existing claim in the namespace.
        claim = dns_label(v.source.literal)
        volumes.append({"name": claim, "persistentVolumeClaim": {"claimName": v.source.literal}})
        return _mount(claim, v)
    if ref is None or ref.path[0] != "resources" or len(ref.path) != 2:
        raise UserError(
            f"workload '{w.name}', container '{c.name}': volume source must be a volume resource "
            f"such as ${{resources.data}}, not {v.source.source()!r}",
            file=v.where.file,
            line=v.where.line,
            hint="declare the volume under resources: with type: volume",
        )
    prov = provisioned[plan.bindings[(w.name, ref.path[1])]]
    if prov.volume is None and prov.claim_template is None:
        raise UserError(
            f"workload '{w.name}': resource '{ref.path[1]}' ({prov.node.type}) is not a volume: its "
            f"rule '{prov.node.rule.name}' ({prov.node.rule.where}) gives no `volume`",
            file=v.where.file,
            line=v.where.line,
        )
    name = prov.node.name
    if prov.volume is not None and not (stateful and prov.claim_template is not None):
        volumes.append({"name": name, **prov.volume})
    else:
        # A claim template: a StatefulSet's volumeClaimTemplates, or for a Deployment one PersistentVolumeClaim
        # (made here, so a StatefulSet never gets an unused one).
        if all(t["metadata"]["name"] != name for t in claim_templates):
            claim_templates.append({"metadata": {"name": name}, "spec": prov.claim_template})
        if not stateful:
            volumes.append({"name": name, "persistentVolumeClaim": {"claimName": name}})
    return _mount(name, v)


def _mount(name: str, v: Any) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": name, "mountPath": v.target}
    if v.path:
        mount["subPath"] = v.path.lstrip("/")
    if v.read_only:
        mount["readOnly"] = True
    return mount


def _resources(c: Container, prof: dict[str, Any]) -> dict[str, Any]:
    defaults = prof.get("resources", {})
    out: dict[str, Any] = {}
    requests = c.requests or defaults.get("requests")
    limits = c.limits or defaults.get("limits")
    if requests:
        out["requests"] = dict(requests)
    if limits:
        out["limits"] = dict(limits)
    return out


def _probe(probe: dict[str, Any], c: Container, name: str) -> dict[str, Any]:
    if "httpGet" in probe and "exec" in probe:
        raise UserError(
            f"container '{c.name}': {name} has both httpGet and exec; Kubernetes runs one handler",
            file=c.where.file,
            line=c.where.line,
            hint="keep one of them",
        )
    if "exec" in probe:
        return {"exec": {"command": list(probe["exec"]["command"])}}
    h = probe["httpGet"]
    out: dict[str, Any] = {"path": h.get("path", "/"), "port": h["port"]}
    for k in ("host", "scheme", "httpHeaders"):
        if k in h:
            out[k] = h[k]
    return {"httpGet": out}


def _order_containers(
    w: Workload, built: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Containers with `before` start first: run to completion (init) or keep running (native sidecar)."""
    from graphlib import CycleError, TopologicalSorter

    by_name = {c.name: c for c in w.containers}
    early = [c for c in w.containers if c.before]
    if not early:
        return [], [built[c.name] for c in w.containers]
    graph: dict[str, set[str]] = {c.name: set() for c in early}
    for c in early:
        for other in c.before:
            if other in graph:
                graph[other].add(c.name)
    try:
        order = list(TopologicalSorter({k: sorted(v) for k, v in sorted(graph.items())}).static_order())
    except CycleError as exc:
        raise UserError(
            f"workload '{w.name}': containers start before each other in a cycle: " + " -> ".join(exc.args[1]),
            file=w.where.file,
            line=w.where.line,
        ) from None
    init = []
    for name in order:
        ctr = dict(built[name])
        if "started" in by_name[name].before.values():
            ctr["restartPolicy"] = "Always"  # a native sidecar: keeps running, may have probes
        else:
            probes = [p for p in ("livenessProbe", "readinessProbe") if p in ctr]
            if probes:
                c = by_name[name]
                raise UserError(
                    f"workload '{w.name}': container '{name}' runs to completion first (before: ready: complete), "
                    f"so it cannot have a {probes[0]}",
                    file=c.where.file,
                    line=c.where.line,
                    hint="remove the probe, or use ready: started to keep it running beside the others",
                )
        init.append(ctr)
    main = [built[c.name] for c in w.containers if not c.before]
    if not main:
        raise UserError(
            f"workload '{w.name}': every container starts before another; one must be the main one",
            file=w.where.file,
            line=w.where.line,
        )
    return init, main


def _configmap(name: str, ns: str, labels: dict[str, str], files: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
    }
    if files["data"]:
        obj["data"] = files["data"]
    if files["binaryData"]:
        obj["binaryData"] = files["binaryData"]
    return obj


def _file_external_secret(
    plan: Plan,
    w: Workload,
    name: str,
    ns: str,
    labels: dict[str, str],
    secret_files: list[tuple[str, File, list[Piece]]],
) -> dict[str, Any]:
    """Files that embed secrets: rendered on the cluster by External Secrets from a Go template."""
    store = plan.env.get("secretStore")
    data: dict[str, dict[str, Any]] = {}
    templates: dict[str, str] = {}
    for key, f, pieces in secret_files:
        text = []
        for p in pieces:
            if isinstance(p, str):
                text.append(_go_literal(p))
                continue
            if not p.store_key:
                raise UserError(
                    f"workload '{w.name}': file {f.target} needs secret {p.name}/{p.key}, which is not in the secret "
                    "store, so it cannot be templated into a file",
                    file=f.where.file,
                    line=f.where.line,
                    hint="give the output a `store` in its rule, or pass the secret as a variable instead",
                )
            var = re.sub(r"[^a-zA-Z0-9]", "_", f"{p.name}_{p.key}")
            data[var] = {"secretKey": var, "remoteRef": {"key": p.store_key, "property": p.store_property or p.key}}
            text.append("{{ ." + var + " }}")
        templates[key] = "".join(text)
    if not store:
        raise UserError(
            f"workload '{w.name}': files with secrets need the environment's secretStore",
            file=plan.environment.file,
            line=plan.environment.line,
        )
    return external_secret(name, ns, labels, store, [data[k] for k in sorted(data)], templates)


def _go_literal(text: str) -> str:
    """Literal text inside an External Secrets Go template: `{{` must not start an action."""
    return text.replace("{{", '{{ "{{" }}') if "{{" in text else text


def _reload_annotations(secret_files: list[Any], containers: dict[str, dict[str, Any]]) -> dict[str, str]:
    uses_secrets = bool(secret_files) or any("valueFrom" in e for c in containers.values() for e in c.get("env", []))
    # Pods read variables at start: let Reloader restart them when a referenced Secret rotates.
    return {"reloader.stakater.com/auto": "true"} if uses_secrets else {}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


__all__ = ["escape_k8s", "workload_objects"]


def _refuse_literal_credential(
    tpl: Template, what: str, c: Container, where: Where | None, entropy: bool = False
) -> None:
    """A credential written into the spec itself (not a placeholder): refused at the spec's line, before the
    guard would find it in the rendered file."""
    literal = " ".join(p for p in tpl.parts if isinstance(p, str))
    found = looks_like_credential(literal)
    if not found and entropy and tpl.literal is not None and high_entropy(tpl.literal):
        found = "a high-entropy value that looks like a credential"
    if found:
        at = where or c.where
        raise UserError(
            f"{what} of container '{c.name}' contains {found}: it would be written to the deployment repository",
            file=at.file,
            line=at.line,
            hint="secrets reach the workload by reference: give a resource a secret output and write "
            "${resources.<name>.<output>} here",
        )
