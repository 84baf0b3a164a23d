"""Reading Score workload specs: YAML -> schema -> models with placeholders parsed and sources inlined."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from generator.credentials import credential_key, shown_name
from generator.errors import Errors, PlatoError, UserError, did_you_mean
from generator.read import placeholders
from generator.read.models import Container, File, ResourceRequest, ServicePort, Volume, Where, Workload
from generator.read.schema import check, dotted
from generator.read.yamlfile import Document, Loc, load_documents

API_VERSION = "score.dev/v1b1"


class Options:
    """How strictly to read: `require_sources` is off for `validate` (a missing file is a warning there)."""

    def __init__(
        self,
        *,
        workspace: Path | None = None,
        allow_outside_workspace: bool = False,
        require_sources: bool = True,
    ) -> None:
        self.workspace = workspace
        self.allow_outside_workspace = allow_outside_workspace
        self.require_sources = require_sources


def load_workloads(paths: Iterable[Path], options: Options | None = None) -> list[Workload]:
    """All workloads of an app, sorted by name. Several files form one app; one name twice is an error."""
    options = options or Options()
    found: dict[str, Workload] = {}
    errors: list[PlatoError] = []
    for path in paths:
        try:
            docs = load_documents(path, fast=True)
            if not docs:
                raise UserError(
                    "empty file: expected a Score workload",
                    file=path,
                    hint=f"start it with 'apiVersion: {API_VERSION}', metadata and containers",
                )
            for doc in docs:
                w = workload_from_document(doc, options)
                if w.name in found:
                    other = found[w.name].where
                    raise doc.error(
                        f"workload '{w.name}' is defined twice (also in {other.file}:{other.line})",
                        ("metadata", "name"),
                        hint="give each workload of the app its own metadata.name",
                    )
                found[w.name] = w
        except UserError as exc:
            errors.extend(exc.errors if isinstance(exc, Errors) else [exc])
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise Errors(errors)
    return [found[k] for k in sorted(found)]


def workload_from_document(doc: Document, options: Options) -> Workload:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error("a Score workload must be a mapping", hint="see `plato schema workload`")
    api = data.get("apiVersion")
    if api != API_VERSION:
        if api is None:
            raise doc.error("missing required field 'apiVersion'", hint=f"add 'apiVersion: {API_VERSION}'")
        raise doc.error(f"unknown apiVersion {api!r}", ("apiVersion",), hint=f"plato reads {API_VERSION}")
    check(doc, "workload")
    base = Path(doc.path).resolve().parent
    workspace = (options.workspace or find_workspace(base)).resolve()
    raw = _inline_sources(doc, data, base, workspace, options)
    return build_workload(raw, doc)


def workload_from_data(data: dict[str, Any], label: str) -> Workload:
    """A workload from recorded data (sources already inlined), e.g. for a fleet re-render."""
    doc = Document(path=Path(label), data=data)
    check(doc, "workload")
    return build_workload(data, doc)


def find_workspace(start: Path) -> Path:
    """The workspace a spec belongs to: its git work tree, else its own folder."""
    for p in (start, *start.parents):
        if (p / ".git").exists():
            return p
    return start


def display_path(path: Path) -> str:
    """A workload file as its workspace (git work tree) sees it, so provenance is the same on every machine."""
    real = path.resolve()
    return real.relative_to(find_workspace(real.parent)).as_posix()


def _where(doc: Document, loc: Loc) -> Where:
    return Where(str(doc.path), doc=doc, loc=loc)


def _inline_sources(
    doc: Document, data: dict[str, Any], base: Path, workspace: Path, options: Options
) -> dict[str, Any]:
    """A copy of the spec with every file `source` read into content/binaryContent (what gets recorded)."""
    out = dict(data)
    containers = {}
    for cname, c in data["containers"].items():
        c = dict(c)
        files = c.get("files")
        if files is not None:
            c["files"] = _by_target(doc, cname, "files", files)
            for target, f in list(c["files"].items()):
                if "source" in f:
                    c["files"][target] = _read_source(
                        doc, ("containers", cname, "files", target), f, base, workspace, options
                    )
        vols = c.get("volumes")
        if vols is not None:
            c["volumes"] = _by_target(doc, cname, "volumes", vols)
        containers[cname] = c
    out["containers"] = containers
    return out


def _by_target(doc: Document, cname: str, field: str, items: Any) -> dict[str, Any]:
    """Files or volumes keyed by target path, from the map form or the deprecated list form."""
    if isinstance(items, dict):
        return {k: dict(v) for k, v in items.items()}
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        item = dict(item)
        target = item.pop("target")
        if target in out:
            raise doc.error(f"{field[:-1]} target '{target}' appears twice", ("containers", cname, field, i))
        out[target] = item
    return out


MAX_SOURCE_BYTES = 1024 * 1024  # a ConfigMap holds at most 1 MiB (etcd's object limit)


def _read_source(
    doc: Document, loc: Loc, f: dict[str, Any], base: Path, workspace: Path, options: Options
) -> dict[str, Any]:
    src = f["source"]
    try:
        path = (base / src).resolve()  # resolves symlinks: a link out of the workspace is outside it
    except (RuntimeError, OSError) as exc:
        raise doc.error(
            f"file source '{src}' cannot be resolved: {exc}",
            (*loc, "source"),
            hint="fix the symlink loop, or point source at a regular file",
        ) from None
    if not options.allow_outside_workspace and not path.is_relative_to(workspace):
        raise doc.error(
            f"file source '{src}' lies outside the workspace {workspace}",
            (*loc, "source"),
            hint="keep file sources inside the repository of the spec, or pass --allow-outside-workspace",
        )
    rest = {k: v for k, v in f.items() if k != "source"}
    if path.is_dir():
        raise doc.error(
            f"file source '{src}' is a directory, not a file",
            (*loc, "source"),
            hint="point source at one file; mount folders with a volume resource",
        )
    if not path.is_file():
        if options.require_sources:
            raise doc.error(
                f"file source '{src}' does not exist (looked for {path})",
                (*loc, "source"),
                hint="source paths are relative to the spec file",
            )
        return {**f, "__missing__": str(path)}
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise doc.error(
            f"file source '{src}' is {size:,} bytes, over the limit of {MAX_SOURCE_BYTES:,}",
            (*loc, "source"),
            hint="a file is mounted from a ConfigMap or Secret, which Kubernetes holds to 1 MiB: ship large files "
            "in the image, or in a volume",
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {**rest, "binaryContent": base64.b64encode(raw).decode("ascii"), "__source__": src}
    return {**rest, "content": text, "__source__": src}


def build_workload(raw: dict[str, Any], doc: Document) -> Workload:
    meta = raw["metadata"]
    declared = set(raw.get("resources", {}))

    def tpl(text: str, loc: Loc) -> placeholders.Template:
        try:
            t = placeholders.parse(text)
        except placeholders.PlaceholderError as exc:
            key = next((part for part in reversed(loc) if isinstance(part, str)), "")
            raise doc.error(
                f"the placeholder in {shown_name(key)} {exc.reason}" if credential_key(key) else str(exc),
                loc,
                hint="placeholders look like ${metadata.name} or ${resources.NAME.OUTPUT}; write $$ for a literal $",
            ) from None
        for ref in t.refs:
            _check_ref(doc, ref, loc, meta, declared)
        return t

    # The spec's order: the first container is the pod's default one (kubectl exec, logs).
    containers = tuple(_container(doc, name, c, tpl) for name, c in raw["containers"].items())
    _check_start_order(doc, containers)
    ports = tuple(
        ServicePort(
            name=n, port=p["port"], target_port=p.get("targetPort", p["port"]), protocol=p.get("protocol", "TCP")
        )
        for n, p in sorted(raw.get("service", {}).get("ports", {}).items())
    )
    resources = tuple(
        ResourceRequest(
            name=n,
            type=r["type"],
            class_=r.get("class", "default"),
            id=r.get("id"),
            params=_params(r.get("params", {}), ("resources", n, "params"), tpl),
            metadata=r.get("metadata", {}),
            where=_where(doc, ("resources", n)),
        )
        for n, r in sorted(raw.get("resources", {}).items())
    )
    clean = _strip_private(raw)
    return Workload(
        name=meta["name"],
        metadata=meta,
        annotations=meta.get("annotations", {}),
        containers=containers,
        ports=ports,
        resources=resources,
        where=_where(doc, ("metadata", "name")),
        raw=clean,
    )


def _check_start_order(doc: Document, containers: tuple[Container, ...]) -> None:
    """Every `before` names another container of the workload."""
    names = {c.name for c in containers}
    for c in containers:
        for other in c.before:
            if other == c.name:
                raise doc.error(
                    f"container '{c.name}' cannot start before itself",
                    ("containers", c.name, "before", other),
                    hint="name another container of the workload",
                )
            if other not in names:
                raise doc.error(
                    f"container '{c.name}' starts before unknown container '{other}'",
                    ("containers", c.name, "before", other),
                    hint=did_you_mean(other, names - {c.name}),
                )


def _strip_private(raw: dict[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    out["containers"] = {
        n: {**c, "files": {t: {k: v for k, v in f.items() if not k.startswith("__")} for t, f in c["files"].items()}}
        if "files" in c
        else c
        for n, c in raw["containers"].items()
    }
    return out


def _check_ref(doc: Document, ref: placeholders.Ref, loc: Loc, meta: dict[str, Any], declared: set[str]) -> None:
    root, name = ref.path[0], ref.path[1]
    if root == "resources":
        if name not in declared:
            raise doc.error(
                f"placeholder {ref.text} refers to resource '{name}', which this workload does not declare",
                loc,
                hint=did_you_mean(name, declared) + " (declare it under resources:)",
            )
        return
    node: Any = meta
    for i, seg in enumerate(ref.path[1:], 1):
        if not isinstance(node, dict) or seg not in node:
            have = list(node) if isinstance(node, dict) else []
            raise doc.error(
                f"placeholder {ref.text}: metadata has no '{'.'.join(ref.path[1 : i + 1])}'",
                loc,
                hint=did_you_mean(seg, have),
            )
        node = node[seg]


def _params(value: Any, loc: Loc, tpl: Any) -> Any:
    if isinstance(value, str):
        t = tpl(value, loc)
        lit = t.literal
        return lit if lit is not None else t
    if isinstance(value, dict):
        return {k: _params(v, (*loc, k), tpl) for k, v in value.items()}
    if isinstance(value, list):
        return [_params(v, (*loc, i), tpl) for i, v in enumerate(value)]
    return value


def _field_lines(doc: Document, loc: Loc, c: dict[str, Any]) -> dict[str, Where]:
    lines = {f"variables.{key}": _where(doc, (*loc, "variables", key)) for key in c.get("variables", {})}
    for part in ("command", "args"):
        for i in range(len(c.get(part, []))):
            lines[f"{part}.{i}"] = _where(doc, (*loc, part, i))
    return lines


def _container(doc: Document, name: str, c: dict[str, Any], tpl: Any) -> Container:
    loc: Loc = ("containers", name)
    files = []
    for target, f in sorted(c.get("files", {}).items()):
        floc = (*loc, "files", target)
        no_expand = bool(f.get("noExpand", False))
        content = text = binary = None
        if "binaryContent" in f:
            binary = f["binaryContent"]
            try:
                base64.b64decode(binary, validate=True)
            except (binascii.Error, ValueError):
                raise doc.error(f"{dotted(floc)}.binaryContent is not valid base64", (*floc, "binaryContent")) from None
        elif no_expand:
            text = f.get("content", "")
        elif "content" in f:
            content = tpl(f["content"], (*floc, "content"))
        files.append(
            File(
                target=target,
                mode=f.get("mode"),
                content=content,
                text=text,
                binary=binary,
                no_expand=no_expand,
                source=f.get("__source__") or f.get("source"),
                missing_source=f.get("__missing__"),
                where=_where(doc, floc),
            )
        )
    volumes = tuple(
        Volume(
            target=t,
            source=tpl(v["source"], (*loc, "volumes", t, "source")),
            path=v.get("path"),
            read_only=bool(v.get("readOnly", False)),
            where=_where(doc, (*loc, "volumes", t)),
        )
        for t, v in sorted(c.get("volumes", {}).items())
    )
    res = c.get("resources", {})
    return Container(
        name=name,
        image=c["image"],
        command=tuple(tpl(a, (*loc, "command", i)) for i, a in enumerate(c["command"])) if "command" in c else None,
        args=tuple(tpl(a, (*loc, "args", i)) for i, a in enumerate(c["args"])) if "args" in c else None,
        variables=tuple((k, tpl(v, (*loc, "variables", k))) for k, v in sorted(c.get("variables", {}).items())),
        files=tuple(files),
        volumes=volumes,
        requests=res.get("requests", {}),
        limits=res.get("limits", {}),
        liveness_probe=c.get("livenessProbe"),
        readiness_probe=c.get("readinessProbe"),
        before={k: v.get("ready", "started") for k, v in c.get("before", {}).items()},
        where=_where(doc, loc),
        lines=_field_lines(doc, loc, c),
    )
