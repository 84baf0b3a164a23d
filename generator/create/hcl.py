"""A small HCL writer that lays files out the way `terraform fmt` does (aligned `=`, two-space indent).

Values: str -> quoted string (with `${`/`%{` escaped), int/float/bool, list, dict -> object,
{"expr": "..."} -> a raw expression (module.db.address, jsonencode(...)).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# An escape as json writes it, read left to right so that the `b` of an escaped backslash (`\\b`) is left alone.
_JSON_ONLY_ESCAPE = re.compile(r"\\(.)")
_HCL_ESCAPE = {"b": "\\u0008", "f": "\\u000c"}


@dataclass
class Block:
    type: str
    labels: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


def quote(text: str) -> str:
    # JSON's escapes are HCL's, except \b and \f, which HCL spells as \u escapes.
    s = _JSON_ONLY_ESCAPE.sub(lambda m: _HCL_ESCAPE.get(m.group(1), m.group(0)), json.dumps(text, ensure_ascii=False))
    return s.replace("${", "$${").replace("%{", "%%{")


def value(v: Any, indent: int) -> str:
    pad = "  " * indent
    if isinstance(v, dict) and set(v) == {"expr"}:
        return str(v["expr"])
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int | float):
        return json.dumps(v)
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, list):
        if not v:
            return "[]"
        if all(not isinstance(x, dict | list) for x in v):
            return "[" + ", ".join(value(x, indent) for x in v) + "]"
        inner = ",\n".join(pad + "  " + value(x, indent + 1) for x in v)
        return "[\n" + inner + ",\n" + pad + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{\n" + _attrs(v, indent + 1) + pad + "}"
    raise TypeError(f"cannot write {type(v).__name__} as HCL")


def _key(k: str) -> str:
    return k if _IDENT.match(k) else quote(k)


def _attrs(attrs: dict[str, Any], indent: int, in_object: bool = True) -> str:
    pad = "  " * indent
    lines: list[str] = []
    # As terraform fmt (hclwrite formatCells): `=` aligns across consecutive lines whose value is complete on the
    # line; a line that opens a multi-line value is not aligned and ends the run.
    group: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in group), default=0)
        lines.extend(f"{pad}{k.ljust(width)} = {val}\n" for k, val in group)
        group.clear()

    for k in attrs:
        rendered = value(attrs[k], indent)
        if not in_object and not _IDENT.match(k):
            from generator.errors import UserError

            raise UserError(
                f"Terraform attribute name {k!r} is not valid in a block",
                hint="attribute names are identifiers; put other keys inside an object value",
            )
        key = _key(k)
        if "\n" in rendered:
            flush()
            lines.append(f"{pad}{key} = {rendered}\n")
        else:
            group.append((key, rendered))
    flush()
    return "".join(lines)


def block(b: Block, indent: int = 0) -> str:
    pad = "  " * indent
    head = " ".join([b.type, *(quote(label) for label in b.labels)])
    body = _attrs(b.attrs, indent + 1, in_object=False)
    parts = [body] if body else []
    for sub in b.blocks:
        parts.append(block(sub, indent + 1))
    if not parts:
        return f"{pad}{head} {{\n{pad}}}\n"
    return f"{pad}{head} {{\n" + "\n".join(parts) + f"{pad}}}\n"


def document(blocks: list[Block]) -> str:
    return "\n".join(block(b) for b in blocks)
