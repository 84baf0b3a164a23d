"""Placeholders to values: plain outputs inline, secret outputs stay references, secrecy propagates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator.credentials import high_entropy, looks_like_credential
from generator.errors import UserError
from generator.read.models import Container, Where
from generator.read.placeholders import Ref, Template


@dataclass(frozen=True, slots=True, order=True)
class SecretRef:
    """A value that lives in a Kubernetes Secret on the cluster; plato only ever writes its name and key."""

    name: str
    key: str
    store_key: str | None = None  # where it lives in the secret store, when it does
    store_property: str | None = None

    def __str__(self) -> str:
        # Taint: a secret output never becomes text (a rule template writing {{ deps.db.password }}, an output
        # built from one); only its reference (.name, .key) may be written. In a template this is exit 2.
        raise TypeError(
            f"output is the secret {self.name}/{self.key}: it can only be used as a reference "
            "(its .name and .key), never as text"
        )

    @property
    def env_name(self) -> str:
        return "PLATO_SECRET_" + re.sub(r"[^A-Z0-9]+", "_", f"{self.name}_{self.key}".upper()).strip("_")


Piece = str | SecretRef


class Resolver:
    """Resolves a workload's placeholders against metadata and the outputs of its resources."""

    def __init__(
        self, workload_name: str, metadata: dict[str, Any], outputs: dict[str, dict[str, Any]], where: str
    ) -> None:
        self.workload = workload_name
        self.metadata = metadata
        self.outputs = outputs  # resource name (in this workload) -> output name -> value or SecretRef
        self.where = where

    def ref(self, ref: Ref) -> Any:
        if ref.path[0] == "metadata":
            node: Any = self.metadata
            for seg in ref.path[1:]:
                node = node[seg]
            return node
        outs = self.outputs[ref.path[1]]
        if len(ref.path) == 2:
            return outs
        value: Any = outs[ref.path[2]]
        for seg in ref.path[3:]:
            if not isinstance(value, dict) or seg not in value:
                raise UserError(
                    f"workload '{self.workload}': {ref.text}: output '{ref.path[2]}' has no '{seg}'", file=self.where
                )
            value = value[seg]
        return value

    def pieces(self, template: Template) -> list[Piece]:
        """Literal text and secret references, adjacent text merged."""
        out: list[Piece] = []
        for part in template.parts:
            value: Any = part if isinstance(part, str) else self.ref(part)
            if isinstance(value, SecretRef):
                out.append(value)
                continue
            text = _text(value)
            if out and isinstance(out[-1], str):
                out[-1] += text
            else:
                out.append(text)
        return out

    def plain(self, template: Template, what: str) -> str:
        pieces = self.pieces(template)
        secret = next((p for p in pieces if isinstance(p, SecretRef)), None)
        if secret is not None:
            raise UserError(
                f"workload '{self.workload}': {what} would contain the secret {secret.name}/{secret.key}",
                file=self.where,
                hint="secrets can only go into variables, args, command and files",
            )
        return "".join(p for p in pieces if isinstance(p, str))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True)
    return str(value)


def escape_k8s(text: str, before_reference: bool = False) -> str:
    """Keep literal text literal under Kubernetes $(VAR) expansion: a `$` before `$` or `(` doubles, and so does
    a final `$` that a $(VAR) reference follows."""
    escaped = re.sub(r"\$(?=[$(])", "$$", text)
    return escaped + "$" if before_reference and text.endswith("$") else escaped


def expanded(pieces: list[Piece]) -> str:
    """Text with each secret written as a $(HELPER) reference to its helper variable."""
    out = []
    for i, p in enumerate(pieces):
        if isinstance(p, str):
            follows = i + 1 < len(pieces) and isinstance(pieces[i + 1], SecretRef)
            out.append(escape_k8s(p, before_reference=follows))
        else:
            out.append(f"$({p.env_name})")
    return "".join(out)


def resolve_params(value: Any, outputs_by_name: dict[str, dict[str, Any]], metadata: dict[str, Any], label: str) -> Any:
    """A resource's params with placeholders to other resources' (plain) outputs filled in."""
    if isinstance(value, Template):
        parts = []
        for part in value.parts:
            if isinstance(part, str):
                parts.append(part)
                continue
            if part.path[0] == "metadata":
                v: Any = metadata
                for seg in part.path[1:]:
                    v = v[seg]
            else:
                v = outputs_by_name[part.path[1]][part.path[2]]
            parts.append(_text(v))
        return "".join(parts)
    if isinstance(value, dict):
        return {k: resolve_params(v, outputs_by_name, metadata, label) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_params(v, outputs_by_name, metadata, label) for v in value]
    return value


def external_secret(
    name: str,
    namespace: str,
    labels: dict[str, str],
    store: dict[str, Any],
    data: list[dict[str, Any]],
    template: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An ExternalSecret that makes the Kubernetes Secret `name` from the environment's secret store, applied
    before the workloads that read it (Argo CD sync wave -1)."""
    target: dict[str, Any] = {"name": name, "creationPolicy": "Owner"}
    if template is not None:
        target["template"] = {"engineVersion": "v2", "data": template}
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {"argocd.argoproj.io/sync-wave": "-1"},
        },
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": store.get("kind", "ClusterSecretStore"), "name": store["name"]},
            "target": target,
            "data": data,
        },
    }


def refuse_literal_credential(
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
        raise UserError.at(
            at,
            f"{what} of container '{c.name}' contains {found}: it would be written to the deployment repository",
            hint="secrets reach the workload by reference: give a resource a secret output and write "
            "${resources.<name>.<output>} here",
        )
