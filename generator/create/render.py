"""The create stage: plan -> rendered tree (relative path -> bytes). Pure: no clock, no network, no env vars."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.create.cd import app_readme, cd_objects, hydrator_metadata
from generator.create.emit import dump_documents, ordered
from generator.create.network import network_policies
from generator.create.resources import Provisioned, provision
from generator.create.terraform import terraform_files
from generator.create.values import SecretRef, external_secret
from generator.create.workloads import common_labels, selector_labels, workload_objects
from generator.match.plan import Plan

OWNER_MARKER = ".plato-owner"

# Kinds that live outside namespaces: never given one.
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterSecretStore",
    "StorageClass",
    "PersistentVolume",
    "CustomResourceDefinition",
    "PriorityClass",
    "ClusterIssuer",
}


@dataclass
class RenderedTree:
    """What the deployment repository will hold for one (env, app)."""

    files: dict[str, bytes]
    owned: list[str]  # paths (folders end with /) this (env, app) owns: replaced wholly on publish
    plan: Plan
    objects: list[dict[str, Any]] = field(default_factory=list)
    # The objects each YAML file was written from, in file order, with the bytes written: the check stage walks
    # these rather than reading plato's own output back (it still scans the bytes). Not part of what is written.
    documents: dict[str, tuple[bytes, list[dict[str, Any]]]] = field(default_factory=dict)
    policy: str | None = None  # the admission policies' gate outcome, once the check stage judged them

    def written(self, files: Mapping[str, bytes]) -> dict[str, list[dict[str, Any]]]:
        """The objects of each file in `files` that holds the bytes this render wrote from them."""
        return {path: docs for path, (data, docs) in self.documents.items() if files.get(path) == data}

    @property
    def env(self) -> str:
        return self.plan.context["env"]

    @property
    def app(self) -> str:
        return self.plan.context["app"]


def render(plan: Plan, workload_files: list[str] | None = None) -> RenderedTree:
    provisioned = provision(plan)
    ns = plan.env["namespace"]
    labels = common_labels(plan)
    objects: list[dict[str, Any]] = []
    if plan.env.get("createNamespace", False):
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    for prov in provisioned.values():
        objects += [_own(o, ns, labels) for o in prov.manifests]
    objects += _store_external_secrets(plan, provisioned, ns, labels)
    for w in plan.workloads:
        objects += [_own(o, ns, {}) for o in workload_objects(plan, w, provisioned)]
    selectors = {w.name: selector_labels(plan, w) for w in plan.workloads}
    objects += network_policies(plan, provisioned, selectors, labels)
    objects = _dedupe(objects)
    _check_unique(objects)
    paths = plan.env["paths"]
    mdir = paths["manifests"]
    files: dict[str, str] = {}
    objects = ordered(objects)
    emitted: dict[str, list[dict[str, Any]]] = {f"{mdir}/manifest.yaml": objects}
    tf = terraform_files(plan, provisioned)
    for name, text in tf.items():
        files[f"{paths['terraform']}/{name}"] = text
    files[f"{mdir}/hydrator.metadata"] = hydrator_metadata(plan)
    files[f"{mdir}/README.md"] = app_readme(plan, workload_files or [], bool(tf))
    emitted[paths["cd"]] = ordered(cd_objects(plan))
    files.update((path, dump_documents(docs)) for path, docs in emitted.items())
    # Each owned folder carries a marker naming its (env, app): a publish refuses to write into a folder that
    # belongs to another pair, or that sits inside or around one (two Environment rules with clashing paths).
    marker = f"{plan.context['env']}/{plan.context['app']}\n"
    files[f"{mdir}/{OWNER_MARKER}"] = marker
    if tf:
        files[f"{paths['terraform']}/{OWNER_MARKER}"] = marker
    owned = [f"{mdir}/", f"{paths['terraform']}/", paths["cd"]]
    out = {k: v.encode("utf-8") for k, v in sorted(files.items())}
    return RenderedTree(
        files=out,
        owned=owned,
        plan=plan,
        objects=objects,
        documents={path: (out[path], docs) for path, docs in emitted.items()},
    )


def _own(obj: dict[str, Any], ns: str, labels: dict[str, str]) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    if obj.get("kind") not in CLUSTER_SCOPED:
        meta.setdefault("namespace", ns)
    if labels:
        meta["labels"] = {**labels, **(meta.get("labels") or {})}
    return obj


def _store_external_secrets(
    plan: Plan, provisioned: dict[str, Provisioned], ns: str, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """Secret outputs that live in the secret store become one ExternalSecret per Kubernetes Secret name."""
    by_secret: dict[str, dict[str, SecretRef]] = {}
    for prov in provisioned.values():
        for out in prov.outputs.values():
            if isinstance(out, SecretRef) and out.store_key:
                by_secret.setdefault(out.name, {})[out.key] = out
    if not by_secret:
        return []
    store = plan.env.get("secretStore")
    if not store:
        from generator.errors import UserError

        raise UserError.at(
            plan.environment,
            f"secret outputs live in a secret store but Environment '{plan.environment.name}' names none",
            hint="add spec.secretStore",
        )
    out = []
    for name, refs in sorted(by_secret.items()):
        data = [
            {"secretKey": k, "remoteRef": {"key": r.store_key, "property": r.store_property or k}}
            for k, r in sorted(refs.items())
        ]
        out.append(external_secret(name, ns, labels, store, data))
    return out


def _dedupe(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identical objects made twice (a volume claim shared by two workloads) are written once."""
    out: list[dict[str, Any]] = []
    for o in objects:
        if not any(o == p for p in out if p.get("kind") == o.get("kind")):
            out.append(o)
    return out


def _check_unique(objects: list[dict[str, Any]]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for o in objects:
        key = (o["apiVersion"].split("/")[0], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
        if key in seen:
            from generator.errors import UserError

            raise UserError(
                f"two objects are both {o['kind']} '{o['metadata']['name']}'",
                hint="a resource rule's manifests and a workload (or two rules) produce the same name; "
                "name rule objects after {{ resource.name }}",
            )
        seen.add(key)
