"""What would change in the deployment repository: per file, per Kubernetes object, per Terraform block,
with the changes a reviewer must not miss (deletions, infrastructure, replicas to zero, namespace moves)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from generator.create.emit import dump_yaml

_TF_BLOCK = re.compile(r'^(module|resource|data)\s+((?:"[^"]*"\s*)+)\{\s*$')


@dataclass
class Change:
    """One object, Terraform block or file that is added, changed or removed."""

    kind: str  # Kubernetes kind, "module"/"resource" for Terraform, "file" otherwise
    name: str  # namespace/name, the Terraform address, or the file path
    status: str  # added | changed | removed
    path: str  # the file it lives in
    diff: str = ""
    infra: bool = False

    @property
    def label(self) -> str:
        return self.name if self.infra else f"{self.kind} {self.name}"


@dataclass
class ChangeSet:
    env: str
    app: str
    changes: list[Change] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path -> added | changed | removed
    file_diffs: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.files

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for c in self.changes:
            kind = "Terraform " + c.kind if c.infra else c.kind
            out.setdefault(kind, {"added": 0, "changed": 0, "removed": 0})[c.status] += 1
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "app": self.app,
            "changed": not self.empty,
            "files": self.files,
            "counts": self.counts(),
            "risks": self.risks,
            "changes": [
                {"kind": c.kind, "name": c.name, "status": c.status, "path": c.path, "infra": c.infra, "diff": c.diff}
                for c in self.changes
            ],
        }


def compare(
    env: str, app: str, old: dict[str, bytes], new: dict[str, bytes], provenance: set[str], with_diffs: bool = True
) -> ChangeSet:
    """Changes from `old` to `new` (both: relative path -> bytes over the owned paths).

    Files in `provenance` (hydrator.metadata, README, the recorded inputs) change with every source commit;
    they are written along with a real change but never make one by themselves.
    """
    cs = ChangeSet(env, app)
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a == b or (path in provenance and a is not None and b is not None):
            continue  # provenance that merely changed never makes a commit; a missing file is restored
        cs.files[path] = "added" if a is None else "removed" if b is None else "changed"
        cs.file_diffs[path] = unified(a, b, path) if with_diffs else ""
        if path.endswith((".yaml", ".yml")):
            cs.changes += _object_changes(path, a, b, with_diffs)
        elif path.endswith(".tf"):
            cs.changes += _tf_changes(path, a, b, with_diffs)
        elif path not in provenance:  # provenance restored or first written is not an object change
            cs.changes.append(Change("file", path, cs.files[path], path, cs.file_diffs[path]))
    cs.risks = _risks(cs, old, new)
    return cs


def unified(a: bytes | None, b: bytes | None, path: str) -> str:
    la = (a or b"").decode("utf-8", "replace").splitlines(keepends=True)
    lb = (b or b"").decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            la, lb, f"a/{path}" if a is not None else "/dev/null", f"b/{path}" if b is not None else "/dev/null", n=3
        )
    )


def objects_of(data: bytes | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    import yaml

    if not data:
        return {}
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        docs = list(yaml.load_all(data, Loader=loader))
    except yaml.YAMLError:
        return {}
    for d in docs:
        if isinstance(d, dict) and isinstance(d.get("metadata"), dict):
            meta = d["metadata"]
            out[(str(d.get("kind")), str(meta.get("namespace", "")), str(meta.get("name")))] = d
    return out


def _object_changes(path: str, a: bytes | None, b: bytes | None, with_diffs: bool = True) -> list[Change]:
    old, new = objects_of(a), objects_of(b)
    out = []
    for key in sorted(set(old) | set(new)):
        kind, ns, name = key
        label = f"{ns}/{name}" if ns else name
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        out.append(Change(kind, label, status, path, _obj_diff(before, after, label) if with_diffs else ""))
    return out


def _obj_diff(a: dict[str, Any] | None, b: dict[str, Any] | None, label: str) -> str:
    ta = dump_yaml(a).encode() if a is not None else None
    tb = dump_yaml(b).encode() if b is not None else None
    return unified(ta, tb, label)


def tf_blocks(data: bytes | None) -> dict[str, str]:
    """Top-level module/resource blocks of a plato-written .tf file, by address."""
    if not data:
        return {}
    blocks: dict[str, str] = {}
    current: list[str] | None = None
    address = ""
    for line in data.decode("utf-8", "replace").splitlines(keepends=True):
        m = _TF_BLOCK.match(line)
        if current is None and m:
            labels = re.findall(r'"([^"]*)"', m.group(2))
            address = ".".join(["module", *labels] if m.group(1) == "module" else labels)
            current = [line]
        elif current is not None:
            current.append(line)
            if line.rstrip() == "}":
                blocks[address] = "".join(current)
                current = None
    return blocks


def _tf_changes(path: str, a: bytes | None, b: bytes | None, with_diffs: bool = True) -> list[Change]:
    old, new = tf_blocks(a), tf_blocks(b)
    out = []
    for addr in sorted(set(old) | set(new)):
        kind = "module" if addr.startswith("module.") else "resource"
        if addr not in old:
            status = "added"
        elif addr not in new:
            status = "removed"
        elif old[addr] != new[addr]:
            status = "changed"
        else:
            continue
        text = ""
        if with_diffs:
            before = old[addr].encode() if addr in old else None
            after = new[addr].encode() if addr in new else None
            text = unified(before, after, addr)
        out.append(Change(kind, addr, status, path, text, infra=True))
    if not out and a != b:  # backend or providers changed
        out.append(Change("settings", path, "changed", path, unified(a, b, path) if with_diffs else "", infra=True))
    return out


def _risks(cs: ChangeSet, old: dict[str, bytes], new: dict[str, bytes]) -> list[str]:
    risks: list[str] = []
    removed = [c for c in cs.changes if c.status == "removed"]
    added = {(c.kind, c.name.split("/")[-1]): c for c in cs.changes if c.status == "added" and not c.infra}
    for c in removed:
        short = c.name.split("/")[-1]
        twin = added.get((c.kind, short))
        if twin is not None and not c.infra:
            risks.append(f"moves {c.kind} {short} from namespace {c.name.split('/')[0]} to {twin.name.split('/')[0]}")
        elif c.infra:
            risks.append(f"destroys infrastructure: {c.name}")  # one line each: every destruction is read
        else:
            risks.append(f"deletes {c.label}")
    for status, words in (("added", "new infrastructure"), ("changed", "changes infrastructure")):
        names = [c.name for c in cs.changes if c.infra and c.status == status]
        if names:
            shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
            risks.append(f"{words}: {shown}")
    for path in cs.files:
        if not path.endswith((".yaml", ".yml")):
            continue
        before, after = objects_of(old.get(path)), objects_of(new.get(path))
        for key, obj in after.items():
            if key[0] in ("Deployment", "StatefulSet") and (obj.get("spec") or {}).get("replicas") == 0:
                prev = ((before.get(key) or {}).get("spec") or {}).get("replicas")
                if prev != 0:
                    risks.append(f"scales {key[0]} {key[2]} to zero replicas")
            if key[0] == "Application" and key in before:
                d0 = (before[key].get("spec") or {}).get("destination", {}).get("namespace")
                d1 = (obj.get("spec") or {}).get("destination", {}).get("namespace")
                if d0 != d1:
                    risks.append(f"changes the target namespace from {d0} to {d1}")
    return risks
