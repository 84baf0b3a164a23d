"""Volumes a container mounts from `volume` resources: a pod volume, or a claim (a StatefulSet's claim template,
or one PersistentVolumeClaim for a Deployment)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.create.resources import Provisioned
from generator.errors import UserError
from generator.match.plan import Plan
from generator.match.templates import dns_label
from generator.read.models import Container, Volume, Where, Workload


@dataclass(frozen=True)
class VolumeUse:
    """What one `volumes:` entry of a container adds to the pod."""

    mount: dict[str, Any]
    volume: dict[str, Any] | None = None  # a pod volume
    claim: dict[str, Any] | None = None  # a claim template: {metadata: {name}, spec}
    where: Where | None = None  # the spec's volumes entry, for messages


def volume_use(
    plan: Plan, w: Workload, c: Container, v: Volume, provisioned: dict[str, Provisioned], stateful: bool
) -> VolumeUse:
    if not v.source.refs and v.source.literal:
        # A plain name (Score's "external volume reference"): an existing claim in the namespace.
        existing = dns_label(v.source.literal)
        pvc = {"name": existing, "persistentVolumeClaim": {"claimName": v.source.literal}}
        return VolumeUse(_mount(existing, v), volume=pvc, where=v.where)
    prov = _volume_resource(plan, w, c, v, provisioned)
    name = prov.node.name
    mount = _mount(name, v)
    if prov.volume is not None and not (stateful and prov.claim_template is not None):
        return VolumeUse(mount, volume={"name": name, **prov.volume}, where=v.where)
    claim = {"metadata": {"name": name}, "spec": prov.claim_template}
    # A StatefulSet mounts its claim template by name; a Deployment mounts the one claim made for it.
    volume = None if stateful else {"name": name, "persistentVolumeClaim": {"claimName": name}}
    return VolumeUse(mount, volume=volume, claim=claim, where=v.where)


def _mount(name: str, v: Volume) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": name, "mountPath": v.target}
    if v.path:
        mount["subPath"] = v.path.lstrip("/")
    if v.read_only:
        mount["readOnly"] = True
    return mount


def _volume_resource(
    plan: Plan, w: Workload, c: Container, v: Volume, provisioned: dict[str, Provisioned]
) -> Provisioned:
    ref = v.source.single_ref
    if ref is None or ref.path[0] != "resources" or len(ref.path) != 2:
        raise UserError.at(
            v.where,
            f"workload '{w.name}', container '{c.name}': volume source must be a volume resource "
            f"such as ${{resources.data}}, not {v.source.source()!r}",
            hint="declare the volume under resources: with type: volume",
        )
    prov = provisioned[plan.bindings[(w.name, ref.path[1])]]
    if prov.volume is None and prov.claim_template is None:
        raise UserError.at(
            v.where,
            f"workload '{w.name}': resource '{ref.path[1]}' ({prov.node.type}) is not a volume: its "
            f"rule '{prov.node.rule.name}' ({prov.node.rule.where}) gives no `volume`",
        )
    return prov


SINGLE_WRITER = ("ReadWriteOnce", "ReadWriteOncePod")


def refuse_shared_single_writer(w: Workload, uses: list[VolumeUse], most_replicas: int) -> None:
    """A Deployment of several replicas shares one claim: a single-node access mode leaves every replica after
    the first unscheduled (or a rolling update stalled), so it is refused before it is rendered."""
    if most_replicas <= 1:
        return
    for u in uses:
        modes = (u.claim or {}).get("spec", {}).get("accessModes") or []
        single = [m for m in modes if m in SINGLE_WRITER]
        if u.claim is not None and single and not [m for m in modes if m not in SINGLE_WRITER]:
            at = u.where or w.where
            raise UserError.at(
                at,
                f"workload '{w.name}': volume '{u.claim['metadata']['name']}' is {single[0]}, which one node "
                f"mounts at a time, but the workload runs up to {most_replicas} replicas sharing it",
                hint="give each replica its own volume (annotate the workload plato.dev/kind: StatefulSet), or "
                "ask for a class whose access mode is ReadWriteMany (bundled production: class: shared)",
            )


def claims(uses: list[VolumeUse]) -> list[dict[str, Any]]:
    """Claim templates by name, first use first (two containers may mount one volume)."""
    out: dict[str, dict[str, Any]] = {}
    for u in uses:
        if u.claim is not None:
            out.setdefault(u.claim["metadata"]["name"], u.claim)
    return list(out.values())


def claim_objects(ns: str, labels: dict[str, str], templates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A Deployment's claims: one PersistentVolumeClaim per template (a StatefulSet makes its own per replica)."""
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {**t["metadata"], "namespace": ns, "labels": labels},
            "spec": t["spec"],
        }
        for t in templates
    ]
