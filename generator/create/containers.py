"""One Score container to one Kubernetes container: image, variables (secrets by reference), command and args,
resources, probes; and the order containers start in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator.create.files import FileItem, container_files, file_mount, source_names
from generator.create.security import container_security, read_only_root, tmp_mount
from generator.create.values import Resolver, SecretRef, expanded, refuse_literal_credential
from generator.create.volumes import VolumeUse
from generator.errors import UserError
from generator.match.plan import Plan
from generator.read.models import Container, Workload

VolumeUses = Callable[[Container], list[VolumeUse]]
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class BuiltContainer:
    """A container spec without its mounts, and what it mounts: files and volumes."""

    spec: dict[str, Any]
    files: list[FileItem] = field(default_factory=list)
    volumes: list[VolumeUse] = field(default_factory=list)


def image(c: Container, plan: Plan, w: Workload) -> str:
    name = c.image if c.image != "." else plan.context.get("image")
    if not name:
        raise UserError.at(
            c.where,
            f"workload '{w.name}', container '{c.name}': image '.' needs the image CI built",
            hint="pass --image REGISTRY/NAME:TAG or -c image=... (the GitHub Action passes it)",
        )
    return name


def version(w: Workload, plan: Plan) -> str | None:
    """The `app.kubernetes.io/version` label: the tag, when every container runs the same image."""
    images = sorted({image(c, plan, w) for c in w.containers})
    if len(images) != 1:
        return None
    tag = images[0].rsplit("@", 1)[0]
    tag = tag.rsplit(":", 1)[1] if ":" in tag.rsplit("/", 1)[-1] else ""
    return tag if _LABEL_VALUE.match(tag) else None


def container_env(c: Container, resolver: Resolver) -> dict[str, Any]:
    """`env`, `command` and `args`. Secrets mixed into text become helper variables expanded by Kubernetes."""
    out: dict[str, Any] = {}
    helpers: dict[str, SecretRef] = {}
    env: list[dict[str, Any]] = []
    for name, tpl in c.variables:
        refuse_literal_credential(tpl, f"variable {name}", c, c.lines.get(f"variables.{name}"), entropy=True)
        pieces = resolver.pieces(tpl)
        if len(pieces) == 1 and isinstance(pieces[0], SecretRef):
            env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": pieces[0].name, "key": pieces[0].key}}})
            continue
        helpers.update({p.env_name: p for p in pieces if isinstance(p, SecretRef)})
        env.append({"name": name, "value": expanded(pieces)})
    for field_name, seq in (("command", c.command), ("args", c.args)):
        if seq is None:
            continue
        items = []
        for i, tpl in enumerate(seq):
            refuse_literal_credential(tpl, f"{field_name}[{i}]", c, c.lines.get(f"{field_name}.{i}"))
            pieces = resolver.pieces(tpl)
            helpers.update({p.env_name: p for p in pieces if isinstance(p, SecretRef)})
            items.append(expanded(pieces))
        out[field_name] = items
    # Helpers first: Kubernetes resolves $(VAR) only against variables defined earlier in the list.
    helper_env = [
        {"name": n, "valueFrom": {"secretKeyRef": {"name": s.name, "key": s.key}}} for n, s in sorted(helpers.items())
    ]
    if helper_env or env:
        out["env"] = helper_env + env
    return out


def _resources(c: Container, prof: dict[str, Any]) -> dict[str, Any]:
    """Requests per resource: the spec's, else its limit (what Kubernetes itself would request), else the
    profile's. A spec that asks only for CPU still requests the profile's memory, so every container requests
    both (the bundled policy denies a container that does not). Limits: the spec's, else the profile's."""
    defaults = prof.get("resources", {})
    out: dict[str, Any] = {}
    limits = c.limits or defaults.get("limits")
    requests = {**(defaults.get("requests") or {}), **(c.limits or {}), **c.requests}
    if requests:
        out["requests"] = dict(requests)
    if limits:
        out["limits"] = dict(limits)
    return out


def _probe(probe: dict[str, Any], c: Container, name: str) -> dict[str, Any]:
    if "httpGet" in probe and "exec" in probe:
        raise UserError.at(
            c.where,
            f"container '{c.name}': {name} has both httpGet and exec; Kubernetes runs one handler",
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


def start_order(w: Workload, built: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Containers with `before` start first: run to completion (init) or keep running (native sidecar). The
    others keep the spec's order."""
    early = [c for c in w.containers if c.before]
    main = [built[c.name] for c in w.containers if not c.before]
    if not early:
        return [], main
    init = [_early_container(w, name, built[name]) for name in _early_order(w)]
    if not main:
        raise UserError.at(
            w.where, f"workload '{w.name}': every container starts before another; one must be the main one"
        )
    return init, main


def _early_order(w: Workload) -> list[str]:
    from graphlib import CycleError, TopologicalSorter

    early = [c for c in w.containers if c.before]
    graph: dict[str, set[str]] = {c.name: set() for c in early}
    for c in early:
        for other in c.before:
            if other in graph:
                graph[other].add(c.name)
    try:
        return list(TopologicalSorter({k: sorted(v) for k, v in sorted(graph.items())}).static_order())
    except CycleError as exc:
        raise UserError.at(
            w.where, f"workload '{w.name}': containers start before each other in a cycle: " + " -> ".join(exc.args[1])
        ) from None


def _early_container(w: Workload, name: str, built: dict[str, Any]) -> dict[str, Any]:
    c = next(c for c in w.containers if c.name == name)
    ctr = dict(built)
    if "started" in c.before.values():
        ctr["restartPolicy"] = "Always"  # a native sidecar: keeps running, may have probes
        return ctr
    probes = [p for p in ("livenessProbe", "readinessProbe") if p in ctr]
    if probes:
        raise UserError.at(
            c.where,
            f"workload '{w.name}': container '{name}' runs to completion first (before: ready: complete), "
            f"so it cannot have a {probes[0]}",
            hint="remove the probe, or use ready: started to keep it running beside the others",
        )
    return ctr


def build_container(
    plan: Plan, w: Workload, c: Container, resolver: Resolver, prof: dict[str, Any], uses: VolumeUses
) -> BuiltContainer:
    """In the spec's order of checks: image, variables, command and args, files, volumes, probes."""
    out: dict[str, Any] = {"name": c.name, "image": image(c, plan, w), **container_env(c, resolver)}
    files = container_files(c, resolver)
    volumes = uses(c)
    names = source_names(w)
    mounts = [file_mount(f, names) for f in files] + [u.mount for u in volumes]
    if read_only_root(w, prof):
        mounts += tmp_mount(mounts)
    if mounts:
        out["volumeMounts"] = sorted(mounts, key=lambda m: m["mountPath"])
    res = _resources(c, prof)
    if res:
        out["resources"] = res
    for probe_name, probe in (("livenessProbe", c.liveness_probe), ("readinessProbe", c.readiness_probe)):
        if probe:
            out[probe_name] = _probe(probe, c, probe_name)
    out["securityContext"] = container_security(w, prof)
    return BuiltContainer(out, files, volumes)
