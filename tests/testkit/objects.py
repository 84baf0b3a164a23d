"""Reading rendered objects: documents of a file, one object of a kind, a pod's containers and variables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from generator.create.render import RenderedTree


def manifest_path(tree: RenderedTree) -> str:
    return f"{tree.plan.env['paths']['manifests']}/manifest.yaml"


def cd_path(tree: RenderedTree) -> str:
    return str(tree.plan.env["paths"]["cd"])


def docs(data: bytes | str) -> list[dict[str, Any]]:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    out = [d for d in yaml.safe_load_all(text) if d is not None]
    assert all(isinstance(d, dict) for d in out)
    return out


def find(objects: Iterable[Mapping[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of a kind (and name): fails when there is none or several."""
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    return dict(found[0])


def kinds(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    return [o["kind"] for o in objects]


def pod_spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def container(obj: Mapping[str, Any], name: str) -> dict[str, Any]:
    spec = pod_spec(obj)
    every = [*spec.get("initContainers", []), *spec["containers"]]
    found = [c for c in every if c["name"] == name]
    assert len(found) == 1, f"container {name}: {[c['name'] for c in every]}"
    return dict(found[0])


def env_list(ctr: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(ctr.get("env", []))


def env_var(ctr: Mapping[str, Any], name: str) -> dict[str, Any]:
    found = [e for e in env_list(ctr) if e["name"] == name]
    assert len(found) == 1, f"variable {name}: {[e['name'] for e in env_list(ctr)]}"
    return dict(found[0])
