"""Rendered YAML parsed once per shape: the documents of a rule's manifests template, with its outputs filled in.

A manifests template is jinja2 text that renders to YAML. Rendered for every app, it makes the same text but for
what its `{{ ... }}` outputs wrote (names, hosts, ports), and parsing that text again for each app was most of
what providing a resource cost a fleet re-render. So the template is rendered with each output replaced by a
mark, a private-use character standing for its position (match/templates.py, `Tpl.render_marked`): the marked
text depends on the template's control flow only, not on the values, and is parsed once. Each mark is then a
hole in the documents, and a render fills the holes with its values.

A filled hole must hold what parsing the rendered text would have given, exactly. A value goes in only where the
text it writes is read back as that same value and changes nothing around it:
- inside a quoted scalar, a value without its quote character (or a backslash, in double quotes);
- as (part of) a plain scalar, a value that keeps it one plain scalar on its line (no `: `, ` #`, no indicator
  first, no space at either end, no flow indicator inside a flow collection); the scalar's text is then resolved
  as YAML resolves it (`8080` is a number, `true` a boolean) by PyYAML's own resolver and constructors;
- a whole plain scalar written as a quoted string (the `quote` filter) with no quote or backslash inside;
- inside a block scalar (`|`, `>`), a value with no space at either end;
- in a comment, anything but a line break.

No value anywhere may hold a line break, a control character, a BOM or a mark. Any other value, or a marked text
that is no plain YAML (an anchor, an alias, an explicit tag, a duplicate key, a scalar with a hole over several
lines, a hole in a key longer than a simple key may be), and the caller parses the rendered text itself, which
`fill` gives back: the result is the same in every case, errors included (tests/read/test_skeleton.py compares
both ways over templates and values made to break them).
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

MARK = 0xE000  # the first mark; output k of a render is chr(MARK + k)
MAX_MARKS = 0x1900  # the private-use characters U+E000 to U+F8FF
MARKS = re.compile("[\ue000-\uf8ff]")

_STR = "tag:yaml.org,2002:str"
_CORE = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null"))
_DEPTH = 100
_KEY_MAX = 512  # a simple key is at most 1024 characters in all: a longer value is parsed from the text
_SIMPLE_KEY = 1000  # what libyaml counts from a simple key's start to its `:` (1024), with a margin
# What no value may hold anywhere: control characters (tab included), every line break YAML knows (NEL, LS, PS),
# the BOM, the marks themselves, surrogates and non-characters.
_NEVER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ue000-\uf8ff\ud800-\udfff\ufffe\uffff]")
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW = re.compile(r"[,\[\]{}:]")


class _Unusual(Exception):
    """The marked text is not plain enough to have holes: parsed from the rendered text instead."""


class Hole:
    """A scalar of the marked text that holds marks: its parts (text, or the index of an output) and how it was
    written (`style`: '' plain, quotes, `|` or `>`), where (in a flow collection, as a key)."""

    __slots__ = ("flow", "key", "parts", "span", "style")

    def __init__(self, parts: tuple[str | int, ...], style: str, flow: bool, key: bool) -> None:
        self.parts, self.style, self.flow, self.key = parts, style, flow, key
        self.span = 0  # a key's: the characters from its start to its value's in the marked text (a bound of what
        # YAML counts to the `:`, spaces and escapes included)

    def value(self, values: Sequence[str]) -> Any:
        """What the rendered scalar is, or raise _Unusual where the text alone can tell."""
        pieces = [values[p] if isinstance(p, int) else p for p in self.parts]
        text = "".join(pieces)
        if self.key:
            marks = [values[p] for p in self.parts if isinstance(p, int)]
            if len(text) > _KEY_MAX or self.span - len(marks) + sum(map(len, marks)) > _SIMPLE_KEY:
                raise _Unusual
        if self.style == "":
            return self._plain(text)
        for p in self.parts:
            if isinstance(p, int):
                v = values[p]
                if _NEVER.search(v) or (self.style in "'\"" and (self.style in v or (self.style == '"' and "\\" in v))):
                    raise _Unusual
                if self.style in "|>" and (not v or v[0] == " " or v[-1] == " " or v.startswith(("---", "..."))):
                    raise _Unusual
        return text

    def _plain(self, text: str) -> Any:
        if _NEVER.search(text):
            raise _Unusual
        if len(self.parts) == 1 and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            inner = text[1:-1]  # a whole scalar written as a quoted string
            if text[0] in inner or "\\" in inner:
                raise _Unusual
            return inner
        if not text or text[0] in _INDICATORS or text[0] == " " or text[-1] == " " or text.startswith("..."):
            raise _Unusual
        if ": " in text or " #" in text or text.endswith(":") or (self.flow and _FLOW.search(text)):
            raise _Unusual
        return resolved(text)


def resolved(text: str) -> Any:
    """A plain scalar's value, as PyYAML's safe loader makes it (its resolver, then its constructor)."""
    from yaml.nodes import ScalarNode

    resolver, constructor = _yaml()
    tag = resolver.resolve(ScalarNode, text, (True, False))
    if tag == _STR:
        return text
    if tag not in _CORE:
        raise _Unusual  # a timestamp, a merge key, `=`: the safe constructor's own
    try:
        return constructor.yaml_constructors[tag](constructor, ScalarNode(tag, text))
    except Exception:  # an integer past Python's digit limit: the text's parse reports it
        raise _Unusual from None


@cache
def _yaml() -> tuple[Any, Any]:
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    return Resolver(), SafeConstructor()


class Skeleton:
    """The documents of one marked text: their plain values stored once (marshal, which copies a tree of plain
    values at C speed, so that no render shares a mutable object with another), and where each hole goes."""

    __slots__ = ("blob", "holes", "keyed", "silent")

    def __init__(self, docs: list[Any], holes: list[tuple[tuple[Any, ...], Hole]], keyed: list[tuple[Any, ...]],
                 silent: list[int]) -> None:  # fmt: skip
        self.blob = marshal.dumps(docs)
        self.holes, self.keyed, self.silent = holes, keyed, silent

    def fill(self, values: Sequence[str]) -> list[Any] | None:
        """The documents with the render's values in, or None where a value needs the text to be parsed."""
        try:
            filled = [(path, hole.value(values)) for path, hole in self.holes]
        except _Unusual:
            return None
        if any(_NEVER.search(values[k]) for k in self.silent):
            return None
        docs: list[Any] = marshal.loads(self.blob)
        keys: dict[str, Any] = {}
        for path, value in filled:
            if path[-1] is _KEY:
                keys[path[-2]] = value
                continue
            parent = docs
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = value
        for path in self.keyed:  # mappings with a hole in a key: their keys renamed in order, as YAML adds them
            mapping: Any = docs
            for step in path:
                mapping = mapping[step]
            items = list(mapping.items())
            mapping.clear()
            for k, v in items:
                mapping[keys.get(k, k) if isinstance(k, str) else k] = v
        return docs


_KEY = object()  # the last step of a key hole's path: (..., the mark text of the key, _KEY)


def marked_in_order(text: str, count: int) -> bool:
    """Whether the text's private-use characters are exactly the marks 0..count-1, in order: else some are the
    template's own (a constant, a filter block's text, a value that held one) and the text is no marked text."""
    return [ord(m) - MARK for m in MARKS.findall(text)] == list(range(count))


def filled(text: str, values: Sequence[str]) -> str:
    """The rendered text: a marked text (marked_in_order) with each mark replaced by its output."""
    return MARKS.sub(lambda m: values[ord(m.group()) - MARK], text)


def build(text: str, count: int) -> Skeleton | None:
    """The skeleton of a marked text whose outputs are marks 0..count-1, in order; None if it has none."""
    import yaml

    from generator.read.plainyaml import loader

    if not marked_in_order(text, count):
        return None
    try:
        events = list(yaml.parse(text, Loader=loader()))
        builder = _Builder(events)
        docs = builder.documents()
    except (_Unusual, yaml.YAMLError, ValueError, RecursionError):
        return None
    seen = {p for _, hole in builder.holes for p in hole.parts if isinstance(p, int)}
    return Skeleton(docs, builder.holes, builder.keyed, [k for k in range(count) if k not in seen])


class _Builder:
    """The plain values of a marked text's events, each hole recorded by its path instead (see Skeleton)."""

    def __init__(self, events: list[Any]) -> None:
        self.events, self.at = events, 0
        self.holes: list[tuple[tuple[Any, ...], Hole]] = []
        self.keyed: list[tuple[Any, ...]] = []

    def documents(self) -> list[Any]:
        docs: list[Any] = []
        for i, event in enumerate(self.events):
            if type(event).__name__ == "DocumentStartEvent":
                self.at = i + 1
                docs.append(self.node((len(docs),), False, False, 0))
        return docs

    def _next(self) -> Any:
        event = self.events[self.at]
        self.at += 1
        if getattr(event, "anchor", None) is not None or type(event).__name__ == "AliasEvent":
            raise _Unusual
        if getattr(event, "tag", None) is not None:
            raise _Unusual  # an explicit tag (`!` too: it makes a plain scalar a string)
        return event

    def node(self, path: tuple[Any, ...], flow: bool, key: bool, depth: int) -> Any:
        event = self._next()
        kind = type(event).__name__
        if depth > _DEPTH:
            raise _Unusual
        if kind == "ScalarEvent":
            return self._scalar(event, path, flow, key)
        if kind == "SequenceStartEvent":
            items: list[Any] = []
            while type(self.events[self.at]).__name__ != "SequenceEndEvent":
                items.append(self.node((*path, len(items)), flow or bool(event.flow_style), False, depth + 1))
            self.at += 1
            return items
        if kind == "MappingStartEvent":
            return self._mapping(event, path, flow, depth)
        raise _Unusual

    def _mapping(self, event: Any, path: tuple[Any, ...], flow: bool, depth: int) -> dict[Any, Any]:
        flow = flow or bool(event.flow_style)
        out: dict[Any, Any] = {}
        keyed = False
        while type(self.events[self.at]).__name__ != "MappingEndEvent":
            if type(self.events[self.at]).__name__ != "ScalarEvent":
                raise _Unusual  # a collection as a key
            start = self.events[self.at].start_mark.index
            name = self.node((*path, None), flow, True, depth + 1)
            if name in out or name != name:  # a duplicate key (YAML keeps the last, which a renamed key may
                raise _Unusual  # change), or NaN, which no path finds again
            if self._is_key_hole(name):
                keyed = True
                self.holes[-1][1].span = self.events[self.at].start_mark.index - start
            out[name] = self.node((*path, name), flow, False, depth + 1)
        self.at += 1
        if keyed:
            self.keyed.append(path)
        return out

    def _is_key_hole(self, name: Any) -> bool:
        return bool(self.holes) and self.holes[-1][0][-1] is _KEY and self.holes[-1][0][-2] == name

    def _scalar(self, event: Any, path: tuple[Any, ...], flow: bool, key: bool) -> Any:
        value, style = event.value, event.style or ""
        if MARKS.search(value):
            if style in ("", "'", '"') and event.start_mark.line != event.end_mark.line:
                raise _Unusual  # folded over lines: where a value's spaces go depends on the lines
            parts = tuple(int(ord(p) - MARK) if MARKS.fullmatch(p) else p for p in re.split(r"([\ue000-\uf8ff])", value)
                          if p)  # fmt: skip
            hole = Hole(parts, style, flow, key)
            self.holes.append(((*path[:-1], value, _KEY) if key else path, hole))
            return value  # the key's own mark text until it is renamed; a value's placeholder
        return value if style else resolved(value)
