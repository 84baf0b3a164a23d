"""Files a container mounts: plain text and binary files in one ConfigMap, files that embed secrets in one
Secret that External Secrets renders on the cluster. Each file is an item (with its own mode) mounted by subPath."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from generator.create.values import Piece, Resolver, SecretRef, external_secret, refuse_literal_credential
from generator.errors import UserError
from generator.match.plan import Plan
from generator.match.templates import dns_label
from generator.read.models import Container, File, Workload

FileSource = Literal["configmap", "secret"]


@dataclass(frozen=True)
class FileItem:
    """One file of one container, ready to be written into its source and mounted."""

    key: str
    file: File
    source: FileSource
    mode: int | None = None
    text: str | None = None  # configmap data
    binary: str | None = None  # configmap binaryData (base64)
    pieces: tuple[Piece, ...] = ()  # secret: literal text and references, templated on the cluster


def source_names(w: Workload) -> dict[FileSource, str]:
    return {"configmap": dns_label(f"{w.name}-files"), "secret": dns_label(f"{w.name}-secret-files")}


def container_files(c: Container, resolver: Resolver) -> list[FileItem]:
    items = []
    for f in c.files:
        key = "f-" + hashlib.sha256(f"{c.name}:{f.target}".encode()).hexdigest()[:12]
        mode = int(f.mode, 8) if f.mode else None
        if f.missing_source:
            raise UserError.at(
                f.where,
                f"file source '{f.source}' does not exist ({f.missing_source})",
                hint="source paths are relative to the spec file",
            )
        if f.binary is not None:
            items.append(FileItem(key, f, "configmap", mode, binary=f.binary))
        elif f.content is None:
            items.append(FileItem(key, f, "configmap", mode, text=f.text or ""))
        else:
            refuse_literal_credential(f.content, f"file {f.target}", c, f.where)
            pieces = resolver.pieces(f.content)
            if any(isinstance(p, SecretRef) for p in pieces):
                items.append(FileItem(key, f, "secret", mode, pieces=tuple(pieces)))
            else:
                text = "".join(p for p in pieces if isinstance(p, str))
                items.append(FileItem(key, f, "configmap", mode, text=text))
    return items


def file_mount(item: FileItem, names: dict[FileSource, str]) -> dict[str, Any]:
    return {"name": names[item.source], "mountPath": item.file.target, "subPath": item.key, "readOnly": True}


def file_sources(
    plan: Plan, w: Workload, items: list[FileItem], labels: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pod volumes and the objects (ConfigMap, ExternalSecret) that hold a workload's files."""
    names = source_names(w)
    ns = plan.env["namespace"]
    volumes: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    plain = [i for i in items if i.source == "configmap"]
    secret = [i for i in items if i.source == "secret"]
    if plain:
        name = names["configmap"]
        volumes.append({"name": name, "configMap": {"name": name, "items": _items(plain)}})
        objects.append(_configmap(name, ns, labels, plain))
    if secret:
        name = names["secret"]
        volumes.append({"name": name, "secret": {"secretName": name, "items": _items(secret)}})
        objects.append(_file_external_secret(plan, w, name, labels, secret))
    return volumes, objects


def _items(items: list[FileItem]) -> list[dict[str, Any]]:
    modes = {i.key: i.mode for i in items}
    return [{"key": k, "path": k, **({"mode": m} if m is not None else {})} for k, m in sorted(modes.items())]


def _configmap(name: str, ns: str, labels: dict[str, str], items: list[FileItem]) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
    }
    data = {i.key: i.text for i in items if i.text is not None}
    binary = {i.key: i.binary for i in items if i.binary is not None}
    if data:
        obj["data"] = data
    if binary:
        obj["binaryData"] = binary
    return obj


def _file_external_secret(
    plan: Plan, w: Workload, name: str, labels: dict[str, str], items: list[FileItem]
) -> dict[str, Any]:
    """Files that embed secrets: rendered on the cluster by External Secrets from a Go template."""
    store = plan.env.get("secretStore")
    data: dict[str, dict[str, Any]] = {}
    templates: dict[str, str] = {}
    for item in items:
        text = []
        for p in item.pieces:
            if isinstance(p, str):
                text.append(_go_literal(p))
                continue
            if not p.store_key:
                raise UserError.at(
                    item.file.where,
                    f"workload '{w.name}': file {item.file.target} needs secret {p.name}/{p.key}, which is not in "
                    "the secret store, so it cannot be templated into a file",
                    hint="give the output a `store` in its rule, or pass the secret as a variable instead",
                )
            var = re.sub(r"[^a-zA-Z0-9]", "_", f"{p.name}_{p.key}")
            data[var] = {"secretKey": var, "remoteRef": {"key": p.store_key, "property": p.store_property or p.key}}
            text.append("{{ ." + var + " }}")
        templates[item.key] = "".join(text)
    if not store:
        raise UserError.at(
            plan.environment, f"workload '{w.name}': files with secrets need the environment's secretStore"
        )
    ns = plan.env["namespace"]
    return external_secret(name, ns, labels, store, [data[k] for k in sorted(data)], templates)


def _go_literal(text: str) -> str:
    """Literal text inside an External Secrets Go template: `{{` must not start an action."""
    return text.replace("{{", '{{ "{{" }}') if "{{" in text else text
