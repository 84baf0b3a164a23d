"""Rule documents and Score workloads as data: the one copy of the builders every suite uses."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

API = "plato.dev/v1"
SCORE = "score.dev/v1b1"

Doc = Mapping[str, Any] | str


def env_rule(
    name: str = "development",
    env: str | list[str] = "development",
    env_type: str = "development",
    **spec: Any,
) -> dict[str, Any]:
    """An Environment rule for `env`, with the fields the schema requires; keyword arguments go into its spec."""
    return {
        "apiVersion": API,
        "kind": "Environment",
        "name": name,
        "match": {"env": env},
        "spec": {"env_type": env_type, "namespace": "{{ app }}-{{ env }}", "cd": {"tool": "argocd"}, **spec},
    }


def resource_rule(
    name: str, type_: str | list[str], spec: Mapping[str, Any] | None = None, **match: Any
) -> dict[str, Any]:
    """A Resource rule for `type_` (by default with an output `host`); keyword arguments are further match
    criteria (`class_` for class)."""
    if "class_" in match:
        match["class"] = match.pop("class_")
    return {
        "apiVersion": API,
        "kind": "Resource",
        "name": name,
        "match": {"type": type_, **match},
        "spec": dict(spec) if spec is not None else {"outputs": {"host": "{{ resource.name }}"}},
    }


def context_rule(name: str, set_: Mapping[str, str], **match: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Context", "name": name, "match": match, "spec": {"set": dict(set_)}}


def dimensions(*order: str) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Dimensions", "name": "custom", "spec": {"order": list(order)}}


def score(
    name: str = "web",
    resources: Mapping[str, Any] | None = None,
    variables: Mapping[str, str] | None = None,
    *,
    files: Mapping[str, Any] | None = None,
    image: str = ".",
    container: str = "main",
) -> dict[str, Any]:
    """A Score workload with one container; `variables` may hold ${resources...} placeholders. The image `.` is
    what CI built (--image)."""
    spec: dict[str, Any] = {"image": image}
    if variables:
        spec["variables"] = dict(variables)
    if files:
        spec["files"] = dict(files)
    doc: dict[str, Any] = {"apiVersion": SCORE, "metadata": {"name": name}, "containers": {container: spec}}
    if resources:
        doc["resources"] = dict(resources)
    return doc


def dump(doc: Doc) -> str:
    """A document as YAML text; a string is kept as written."""
    return doc if isinstance(doc, str) else yaml.safe_dump(dict(doc), sort_keys=False, width=1000)


def yaml_text(docs: Iterable[Doc]) -> str:
    """Documents joined into one YAML stream; strings are dedented and kept as written."""
    parts = []
    for d in docs:
        if isinstance(d, str):
            parts.append(textwrap.dedent(d).strip("\n") + "\n")
        else:
            parts.append(yaml.safe_dump(dict(d), sort_keys=False))
    return "---\n".join(parts)


def line_of(path: Path, text: str, start: int = 1) -> int:
    """The 1-based number of the first line at or after `start` that contains `text`."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if n >= start and text in line:
            return n
    raise AssertionError(f"{text!r} not found in {path}")


def rule_line(path: Path, name: str) -> int:
    """Where a rule written from a dict starts: its `apiVersion` line, two above `name:`."""
    return line_of(path, f"name: {name}") - 2
