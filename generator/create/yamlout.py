"""A YAML writer for plato's own output that produces byte for byte what libyaml (PyYAML's CSafeDumper with
plato's representer) produces, about four times faster.

Emitting is the hot path of a fleet re-render, and most of PyYAML's time goes to building a node graph and
resolving every scalar in Python before libyaml writes it. plato's documents are plain dicts, lists, strings,
numbers and booleans, always in block style with sorted keys, so the structure is written here directly and
only the spelling of each distinct scalar is asked of libyaml, once, and remembered. tests/create/test_yamlout.py
checks the equality on every golden file and on generated documents.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Text libyaml writes plain, as it is, both as a key and as a value: a letter, then letters, digits and _ . / -,
# and not one of YAML 1.1's words for booleans and null. Most of a manifest's strings (names, labels, kinds)
# are such; they need not be spelled by libyaml one by one (a fleet has tens of thousands of distinct names).
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*\Z")
_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _plain(text: str) -> bool:
    return _PLAIN.match(text) is not None and text.lower() not in _WORDS


# Scalars repeat across the files of a fleet (labels, keys, kinds): each short one is spelled once per process.
# Long ones (a file's content) are spelled each time rather than kept: a re-render's memory stays flat.
CACHED = 256
_SPELLED: dict[str, tuple[str, tuple[str, ...] | None]] = {}
SPELLED_MAX = 16384


class _Later(Exception):
    """A scalar libyaml must spell: written once the whole file is written, with the file's others (one libyaml
    call for all of them costs what about three separate calls do)."""


def _value(text: Any) -> tuple[str, tuple[str, ...] | None]:
    hit = _SPELLED.get(text)
    if hit is not None:
        return hit
    if len(text) <= CACHED and _plain(text):
        return _remember(text, (text, None))
    raise _Later


def _remember(text: str, spelled: tuple[str, tuple[str, ...] | None]) -> tuple[str, tuple[str, ...] | None]:
    """A short scalar's spelling, kept for the process (the cache starts over when full)."""
    if len(text) <= CACHED:
        if len(_SPELLED) >= SPELLED_MAX:
            _SPELLED.clear()
        _SPELLED[text] = spelled
    return spelled


def _spell(text: Any) -> tuple[str, tuple[str, ...] | None]:
    """How libyaml writes a scalar as a mapping value: (inline text, None) or (block header, content lines)."""
    from generator.create.emit import dump_yaml_slow

    if type(text) is str and _plain(text):
        return text, None
    # A kept final newline ("|+") makes libyaml end the whole document with "...": left to libyaml.
    written = dump_yaml_slow({"k": text, "l": 0})[3:]
    if not written.endswith("\nl: 0\n"):
        raise _Unsupported
    written = written[: -len("l: 0\n")]
    if written[:1] in ("|", ">"):
        header, _, rest = written.partition("\n")
        lines = tuple(line[2:] if line else "" for line in rest.split("\n")[:-1])
        return header, lines
    inline = written[:-1]
    if "\n" in inline:  # a multi-line flow scalar: leave it to libyaml (never seen with plato's width)
        raise _Unsupported
    return inline, None


_ENTRY = re.compile(r"k(\d{6}): (.*)")


def _spell_all(texts: list[str]) -> list[tuple[str, tuple[str, ...] | None] | None]:
    """_spell of each text (None: left to libyaml), in one libyaml call: as the values of one mapping, each is
    written as it is as the value of its own (same indentation, same block style; a last key keeps the last one
    from ending the document). Anything unexpected in that text, and each is spelled alone."""
    from generator.create.emit import dump_yaml_slow

    written = dump_yaml_slow({**{f"k{i:06d}": t for i, t in enumerate(texts)}, "l": 0})
    found: list[tuple[str, list[str] | None]] = []  # (inline text or block header, the block's lines)
    lines = written.split("\n")
    if lines[-2:] == ["l: 0", ""]:
        for line in lines[:-2]:
            m = _ENTRY.fullmatch(line)
            if m and int(m.group(1)) == len(found):
                value = m.group(2)
                found.append((value, [] if value[:1] in ("|", ">") else None))
            elif found and found[-1][1] is not None and (not line or line.startswith("  ")):
                found[-1][1].append(line[2:])
            else:  # a multi-line flow scalar, or what this reading does not know
                break
        else:
            if len(found) == len(texts):
                # A kept final newline ("|+") makes libyaml end a document with "..." or not, as what follows it
                # in that document decides: such a document is left to libyaml (as _spell leaves it).
                return [None if block is not None and "+" in text else (text, None if block is None else tuple(block))
                        for text, block in found]  # fmt: skip
    return [_spell_or_none(t) for t in texts]


def _spell_or_none(text: str) -> tuple[str, tuple[str, ...] | None] | None:
    try:
        return _spell(text)
    except _Unsupported:
        return None


@lru_cache(maxsize=16384)
def _key(text: str) -> str:
    from generator.create.emit import dump_yaml_slow

    if _plain(text):
        return text
    written = dump_yaml_slow({text: 1})
    if not written.endswith(": 1\n") or "\n" in written[:-1]:
        raise _Unsupported
    return written[:-4]


class _Unsupported(Exception):
    """Something this writer does not spell itself; the caller falls back to libyaml for the document."""


def _scalar(value: Any) -> tuple[str, tuple[str, ...] | None]:
    if value is True:
        return "true", None
    if value is False:
        return "false", None
    if value is None:
        return "null", None
    if type(value) is int:
        return str(value), None
    if type(value) is str:
        return _value(value)
    if type(value) is float:
        return _float(repr(value))  # by spelling: 0.0 == -0.0 would share one cache entry
    raise _Unsupported


@lru_cache(maxsize=4096)
def _float(spelling: str) -> tuple[str, tuple[str, ...] | None]:
    return _spell(float(spelling))


def _block(head: str, header: str, lines: tuple[str, ...], indent: int, out: _Out) -> None:
    out.append(_block_text(head, header, lines, indent))


def _block_text(head: str, header: str, lines: tuple[str, ...], indent: int) -> str:
    pad = " " * indent
    return f"{head} {header}\n" + "".join(f"{pad}{line}\n" if line else "\n" for line in lines)


def _mapping(d: dict[str, Any], indent: int, out: _Out, first: str | None = None) -> None:
    pad = " " * indent
    for k in sorted(d):
        if type(k) is not str:
            raise _Unsupported
        v = d[k]
        prefix = first if first is not None else pad
        first = None
        key = prefix + _key(k)
        if isinstance(v, dict):
            if v:
                out.append(key + ":\n")
                _mapping(v, indent + 2, out)
            else:
                out.append(key + ": {}\n")
        elif isinstance(v, list):
            if v:
                out.append(key + ":\n")
                _sequence(v, indent, out)  # libyaml writes sequences in mappings without extra indentation
            else:
                out.append(key + ": []\n")
        else:
            _leaf(key + ":", v, indent, out)


def _leaf(head: str, v: Any, indent: int, out: _Out) -> None:
    """A scalar after `head` ("key:" or "-"): on the same line, or as a block scalar below it."""
    try:
        text, lines = _scalar(v)
    except _Later:
        out.pending.append((len(out), head, v, indent))
        out.append("")  # its place
        return
    if lines is None:
        out.append(f"{head} {text}\n")
    else:
        _block(head, text, lines, indent + 2, out)


def _sequence(items: list[Any], indent: int, out: _Out, first: str | None = None) -> None:
    pad = " " * indent
    for v in items:
        prefix = (first if first is not None else pad) + "- "
        first = None
        if isinstance(v, dict):
            if v:
                _mapping(v, indent + 2, out, first=prefix)
            else:
                out.append(prefix + "{}\n")
        elif isinstance(v, list):
            if v:
                _sequence(v, indent + 2, out, first=prefix)
            else:
                out.append(prefix + "[]\n")
        else:
            _leaf(prefix.rstrip(" "), v, indent, out)


class _Out(list[str]):
    """A document's lines as they are written, with the places of the scalars left for libyaml."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[int, str, Any, int]] = []  # (place, head, value, indent)


def dump(document: dict[str, Any]) -> str | None:
    """The document as libyaml would write it, or None when it holds something only libyaml should write."""
    return dump_all([document])[0]


def dump_all(documents: list[Any]) -> list[str | None]:
    """dump() of each document, the scalars that only libyaml spells spelled together (one call for a file)."""
    written: list[_Out | None] = []
    for document in documents:
        out = _Out()
        try:
            if not isinstance(document, dict) or not document:
                raise _Unsupported
            _mapping(document, 0, out)
        except _Unsupported:
            written.append(None)
            continue
        written.append(out)
    pending = [(i, out, place) for i, out in enumerate(written) if out is not None for place in out.pending]
    if pending:
        texts = [value for _, _, (_, _, value, _) in pending]
        for (i, out, (at, head, value, indent)), spelled in zip(pending, _spell_all(texts), strict=True):
            if spelled is None:
                written[i] = None
                continue
            text, lines = _remember(value, spelled)
            out[at] = f"{head} {text}\n" if lines is None else _block_text(head, text, lines, indent + 2)
    return ["".join(out) if out is not None else None for out in written]
