"""Score placeholders parsed once into a structure: later stages never re-parse strings.

`${metadata.name}`, `${resources.db.host}`, `${resources.data}` (a whole resource), `$$` for a literal `$`.
A segment may contain a dot escaped as `\\.` (annotation keys such as `${metadata.annotations.a\\.b/c}`).
"""

from __future__ import annotations

from dataclasses import dataclass


class PlaceholderError(ValueError):
    """`message` quotes the text; `reason` says the same without it, for a text that must not be shown (under a
    credential's name, where a mistyped placeholder may be the password itself)."""

    def __init__(self, message: str, offset: int, reason: str) -> None:
        super().__init__(message)
        self.offset, self.reason = offset, reason


@dataclass(frozen=True, slots=True)
class Ref:
    """A placeholder: a path such as ('resources', 'db', 'host')."""

    path: tuple[str, ...]

    @property
    def text(self) -> str:
        return "${" + ".".join(p.replace(".", "\\.") for p in self.path) + "}"


Part = str | Ref


@dataclass(frozen=True, slots=True)
class Template:
    """A string as literal text and placeholders, in order."""

    parts: tuple[Part, ...]

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(p for p in self.parts if isinstance(p, Ref))

    @property
    def literal(self) -> str | None:
        """The text when there is no placeholder at all."""
        if all(isinstance(p, str) for p in self.parts):
            return "".join(p for p in self.parts if isinstance(p, str))
        return None

    @property
    def single_ref(self) -> Ref | None:
        """The placeholder when the string is exactly one placeholder and nothing else."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Ref):
            return self.parts[0]
        return None

    def source(self) -> str:
        """The original spelling (with `$$` escapes), for messages and recorded inputs."""
        return "".join(p.text if isinstance(p, Ref) else p.replace("$", "$$") for p in self.parts)


ROOTS = ("metadata", "resources")


def parse(text: str) -> Template:
    parts: list[Part] = []
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "$":
            j = text.find("$", i)
            j = n if j < 0 else j
            buf.append(text[i:j])
            i = j
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt == "$":
            buf.append("$")
            i += 2
        elif nxt == "{":
            end, path = _parse_ref(text, i)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(Ref(path))
            i = end
        else:
            buf.append("$")
            i += 1
    if buf:
        parts.append("".join(buf))
    return Template(tuple(parts))


def _parse_ref(text: str, start: int) -> tuple[int, tuple[str, ...]]:
    i = start + 2
    segs: list[str] = []
    cur: list[str] = []
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] == ".":
            cur.append(".")
            i += 2
            continue
        if c == "}":
            segs.append("".join(cur))
            _check_path(segs, text, start)
            return i + 1, tuple(segs)
        if c == ".":
            segs.append("".join(cur))
            cur = []
        elif c in "${\n":
            break
        else:
            cur.append(c)
        i += 1
    raise PlaceholderError(
        f"unclosed placeholder '{text[start : start + 24]}...': missing '}}'", start, "is not closed: missing '}'"
    )


def _check_path(segs: list[str], text: str, start: int) -> None:
    shown = text[start : text.find("}", start) + 1]
    if any(s == "" for s in segs):
        raise PlaceholderError(f"placeholder '{shown}' has an empty part", start, "has an empty part")
    if segs[0] not in ROOTS:
        reason = "must start with metadata or resources"
        raise PlaceholderError(f"placeholder '{shown}' {reason}, not '{segs[0]}'", start, reason)
    if len(segs) < 2:
        raise PlaceholderError(f"placeholder '{shown}' names no field", start, "names no field")
