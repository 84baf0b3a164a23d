"""Output discipline: canonical key order, stable document order, YAML 1.1-safe quoting, LF, one final newline.

libyaml's emitter (PyYAML's CSafeDumper) is used: it is YAML 1.1 native, so strings such as "yes", "on", "y"
or "0755" that a YAML 1.1 reader would take as booleans or numbers are quoted, and it is about ten times faster
than ruamel.yaml's pure-Python emitter (bench/ measures it). Multi-line strings use literal blocks.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

# Apply order, as Helm and Argo CD sort: what others depend on comes first.
KIND_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "Secret",
    "SecretStore",
    "ClusterSecretStore",
    "Password",
    "ExternalSecret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "Cluster",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Gateway",
    "HTTPRoute",
    "Ingress",
    "APIService",
]
_RANK = {k: i for i, k in enumerate(KIND_ORDER)}


def object_key(obj: dict[str, Any]) -> tuple[int, str, str, str]:
    meta = obj.get("metadata") or {}
    kind = str(obj.get("kind", ""))
    return (_RANK.get(kind, len(KIND_ORDER)), kind, str(meta.get("namespace", "")), str(meta.get("name", "")))


# Plain scalars that some YAML reader takes for something other than a string and libyaml's YAML 1.1 resolver
# would leave unquoted: y/n (YAML 1.1 booleans in Go's yaml.v2) and YAML 1.2 numbers such as 1e3 or 0o17.
_AMBIGUOUS = re.compile(
    r"^(?:[yYnN]|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


@cache
def _dumper() -> Any:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc, valid-type]
        def ignore_aliases(self, data: Any) -> bool:
            return True  # shared dicts (labels) are written out in full: no &anchors in output

    def str_repr(dumper: Any, data: str) -> Any:
        if _AMBIGUOUS.match(data):
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        if "\n" in data and not any(line != line.rstrip() for line in data.split("\n")) and "\t" not in data:
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", data)

    Dumper.add_representer(str, str_repr)
    return Dumper


def dump_yaml(obj: Any) -> str:
    from generator.create.yamlout import dump

    fast = dump(obj) if isinstance(obj, dict) else None
    return fast if fast is not None else dump_yaml_slow(obj)


def dump_yaml_slow(obj: Any) -> str:
    import yaml

    return str(
        yaml.dump(
            obj,
            Dumper=_dumper(),
            sort_keys=True,
            default_flow_style=False,
            allow_unicode=True,
            width=1_000_000,
            explicit_start=False,
        )
    )


def ordered(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects in the order a file holds them (apply order, then namespace and name)."""
    return sorted(objects, key=object_key)


_DOC_START = re.compile(rb"^---[ \t]*\r?\n", re.M)


def documents_of(data: bytes | None) -> list[bytes]:
    """A YAML file's documents as text, split at plain `---` lines (as dump_documents writes them: a `---` inside
    a block scalar is indented)."""
    return [d for d in _DOC_START.split(data or b"") if d.strip()]


def dump_documents(objects: list[dict[str, Any]]) -> str:
    from generator.create.yamlout import dump_all

    docs = ordered(objects)
    fast = dump_all(docs)
    return (
        "---\n" + "---\n".join(f if f is not None else dump_yaml_slow(o) for f, o in zip(fast, docs, strict=True))
        if docs
        else ""
    )


def dump_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def which_emitter() -> str:
    import yaml

    return "libyaml" if getattr(yaml, "__with_libyaml__", False) and hasattr(yaml, "CSafeDumper") else "python"
