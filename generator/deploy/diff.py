"""What would change in the deployment repository: per file, per Kubernetes object, per Terraform block,
with the changes a reviewer must not miss (deletions, infrastructure, replicas to zero, namespace moves)."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from generator.create.emit import documents_of, dump_yaml

_TF_BLOCK = re.compile(r'^(module|resource|data)\s+((?:"[^"]*"\s*)+)\{\s*$')

Status = Literal["added", "changed", "removed"]


@dataclass
class Change:
    """One object, Terraform block or file that is added, changed or removed."""

    kind: str  # Kubernetes kind, "module"/"resource" for Terraform, "file" otherwise
    name: str  # namespace/name, the Terraform address, or the file path
    status: Status
    path: str  # the file it lives in
    diff: str = ""
    infra: bool = False
    # The parsed object before and after (Kubernetes objects only), for the risk checks; dropped once they ran.
    before: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    after: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.name if self.infra else f"{self.kind} {self.name}"


@dataclass
class ChangeSet:
    env: str
    app: str
    changes: list[Change] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    files: dict[str, Status] = field(default_factory=dict)  # by path
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
    env: str,
    app: str,
    old: dict[str, bytes],
    new: dict[str, bytes],
    provenance: set[str],
    with_diffs: bool = True,
    written: Mapping[str, list[dict[str, Any]]] | None = None,
    executable: Collection[str] = (),
) -> ChangeSet:
    """Changes from `old` to `new` (both: relative path -> bytes over the owned paths).

    Files in `provenance` (hydrator.metadata, README, the recorded inputs) change with every source commit;
    they are written along with a real change but never make one by themselves. `written`: the objects some of
    the new files were written from, in file order (RenderedTree.written): those are not parsed back.
    `executable`: old files whose mode is not plato's (a hand-made `chmod +x`): a change even with the same bytes.
    """
    cs = ChangeSet(env, app)
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if path in executable and a == b and b is not None:
            cs.files[path] = "changed"
            cs.file_diffs[path] = f"diff --git a/{path} b/{path}\nold mode 100755\nnew mode 100644\n"
            cs.changes.append(Change("file", path, "changed", path, cs.file_diffs[path]))
            continue
        if a == b or (path in provenance and a is not None and b is not None):
            continue  # provenance that merely changed never makes a commit; a missing file is restored
        cs.files[path] = "added" if a is None else "removed" if b is None else "changed"
        cs.file_diffs[path] = unified(a, b, path) if with_diffs else ""
        if path.endswith((".yaml", ".yml")):
            cs.changes += _object_changes(path, a, b, with_diffs, (written or {}).get(path))
        elif path.endswith(".tf"):
            cs.changes += _tf_changes(path, a, b, with_diffs)
        elif path not in provenance:  # provenance restored or first written is not an object change
            cs.changes.append(Change("file", path, cs.files[path], path, cs.file_diffs[path]))
    cs.risks = _risks(cs)
    for c in cs.changes:
        c.before = c.after = None  # a fleet's change sets travel between processes: only what reports need
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
    """The Kubernetes objects of a YAML file by (kind, namespace, name); {} for a file that is not YAML."""
    return _parse_objects([data] if data else []) or {}


def _parse_objects(texts: list[bytes], typed: bool = True) -> dict[tuple[str, str, str], dict[str, Any]] | None:
    """None when the texts are not YAML. Untyped (every scalar a string: no implicit-type resolution, a third
    faster) when only which objects changed matters, not a readable diff of them."""
    import yaml

    from generator.read import plainyaml

    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    base = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    load = plainyaml.load_all if typed else lambda text: yaml.load_all(text, Loader=base)
    try:
        docs = [d for text in texts for d in load(text)]
    except yaml.YAMLError:
        return None
    for d in docs:
        if isinstance(d, dict) and isinstance(d.get("metadata"), dict):
            meta = d["metadata"]
            out[(str(d.get("kind")), str(meta.get("namespace", "")), str(meta.get("name")))] = d
    return out


def _written_objects(
    data: bytes | None, docs: list[dict[str, Any]] | None, changed: Counter[bytes]
) -> dict[tuple[str, str, str], dict[str, Any]] | None:
    """The objects of the `changed` documents of a file plato wrote from `docs` (None if it cannot tell which)."""
    texts = documents_of(data)
    if docs is None or len(texts) != len(docs):
        return None
    out = {}
    for text, d in zip(texts, docs, strict=True):
        meta = d.get("metadata")
        if text in changed and isinstance(meta, dict):
            out[(str(d.get("kind")), str(meta.get("namespace", "")), str(meta.get("name")))] = d
    return out


def _documents(data: bytes | None) -> Counter[bytes]:
    """A YAML file's documents as text, split at plain `---` lines (as plato writes them)."""
    return Counter(documents_of(data))


def _object_changes(
    path: str, a: bytes | None, b: bytes | None, with_diffs: bool = True, docs: list[dict[str, Any]] | None = None
) -> list[Change]:
    # Documents whose text is the same on both sides are the same objects: only the rest is parsed (a fleet
    # re-render changes one or two objects of a file, and YAML parsing is most of the cost of a diff). A split
    # that cuts a document wrongly only makes both halves fail to parse: then the whole files are parsed. The
    # new side's objects are the ones its documents were written from, when known (`docs`, one per document).
    da, db = _documents(a), _documents(b)
    same = da & db
    known = _written_objects(b, docs, db - same)
    old = _parse_objects(list((da - same).elements()), typed=with_diffs or known is not None)
    new = known if known is not None else _parse_objects(list((db - same).elements()), typed=with_diffs)
    if old is None or new is None:
        old, new = objects_of(a), objects_of(b)
    out = []
    for key in sorted(set(old) | set(new)):
        kind, ns, name = key
        label = f"{ns}/{name}" if ns else name
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        status: Status = "added" if before is None else "removed" if after is None else "changed"
        diff = _obj_diff(before, after, label) if with_diffs else ""
        out.append(Change(kind, label, status, path, diff, before=before, after=after))
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
        status: Status
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
    if not out and a != b:  # backend or providers: added with a new app, removed with it, else changed
        settings: Status = "added" if a is None else "removed" if b is None else "changed"
        out.append(Change("settings", path, settings, path, unified(a, b, path) if with_diffs else "", infra=True))
    return out


def _risks(cs: ChangeSet) -> list[str]:
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
    for c in cs.changes:
        obj, before = c.after, c.before or {}
        if obj is None:
            continue
        # (0 or "0": objects read untyped when no diff is shown)
        to_zero = (obj.get("spec") or {}).get("replicas") in (0, "0") and (before.get("spec") or {}).get(
            "replicas"
        ) not in (0, "0")
        if c.kind in ("Deployment", "StatefulSet") and to_zero:
            risks.append(f"scales {c.kind} {c.name.split('/')[-1]} to zero replicas")
        if c.kind == "Application" and c.before is not None:
            d0 = (before.get("spec") or {}).get("destination", {}).get("namespace")
            d1 = (obj.get("spec") or {}).get("destination", {}).get("namespace")
            if d0 != d1:
                risks.append(f"changes the target namespace from {d0} to {d1}")
    return risks
