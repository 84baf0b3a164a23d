"""Loading user YAML with positions, within documented limits.

User files (workloads, rules) are small and need line numbers for every error, so they are parsed once with
ruamel.yaml's round-trip loader and converted to plain dicts and lists at once; positions are kept in a side
table keyed by the path of each node. Nothing downstream ever sees a ruamel type.

Limits (documented in the README): a file is at most MAX_FILE_BYTES, nesting at most MAX_DEPTH levels, and the
converted document at most MAX_NODES nodes, which also stops alias bombs ("billion laughs") because aliases are
counted each time they are expanded. Custom tags (`!!python/...`, `!foo`) are refused.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import GeneratorType
from typing import Any

from generator.credentials import looks_like_credential
from generator.errors import UserError

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_STRING = 256 * 1024
MAX_INT = 2**63 - 1  # integers are signed 64-bit, what Kubernetes, JSON tooling and Terraform all carry
MIN_INT = -(2**63)

Loc = tuple[str | int, ...]

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass
class Document:
    """One YAML document as plain data, with the position of every key and item.

    Documents read with `fast=True` (rule files: large, read on every run) are parsed by the C loader and get
    their positions only when a message needs one, by a second, round-trip parse of the same text.
    """

    path: Path
    data: Any
    positions: dict[Loc, tuple[int, int]] | None = field(default_factory=dict)
    index: int = 0  # the document's position in a multi-document file
    text: str = ""
    start_line: int | None = None  # 1-based line where the document starts

    def where(self, loc: Loc) -> tuple[int | None, int | None]:
        """1-based line and column of the deepest known node on `loc`."""
        if self.positions is None:
            self.positions = _positions_of(str(self.path), self.text).get(self.index, {})
        for end in range(len(loc), -1, -1):
            pos = self.positions.get(tuple(loc[:end]))
            if pos is not None:
                return pos[0] + 1, pos[1] + 1
        return None, None

    def error(self, message: str, loc: Loc = (), hint: str | None = None) -> UserError:
        line, col = self.where(loc)
        return UserError(message, file=self.path, line=line, col=col, hint=hint)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.allow_duplicate_keys = False
    y.Constructor = _checked_constructors()[0]
    y.Scanner = _checked_scanner()
    return y


@lru_cache(maxsize=1)
def _checked_scanner() -> Any:
    """ruamel's scanner turns `"\\U00110000"` into chr(0x110000) and fails with a bare ValueError: a scanner
    error with the position instead (the C parser of the fast path refuses it itself)."""
    from ruamel.yaml.scanner import RoundTripScanner, ScannerError

    class CheckedScanner(RoundTripScanner):
        def scan_flow_scalar_non_spaces(self, double: Any, start_mark: Any) -> Any:
            try:
                return super().scan_flow_scalar_non_spaces(double, start_mark)
            except ValueError:
                raise ScannerError(
                    "while scanning a double-quoted scalar",
                    start_mark,
                    "an escape names no character (the last is \\U0010ffff)",
                    self.reader.get_mark(),
                ) from None

    return CheckedScanner


# -- construction: every scalar and mapping is checked as it is built, the same way by both loaders ------------

_SURROGATE = re.compile("[\ud800-\udfff]")
_TAG = "tag:yaml.org,2002:"


@lru_cache(maxsize=1)
def _checked_constructors() -> tuple[Any, Any]:
    """Round-trip and safe constructors (subclasses: ruamel's own stay untouched) that refuse, with the
    position, what ruamel would build wrongly or crash on: a value that does not fit its tag (`!!int 0x1g`,
    `!!bool maybe`), integers beyond 64 bits (Python refuses to even parse more than 4,300 digits), strings
    holding lone surrogates (a `"\\ud800"` escape: not a character, and not writable as UTF-8) or over
    MAX_STRING, collections used as keys, and merge keys (`<<`) whose value is not a mapping or a list of them."""
    import warnings

    from ruamel.yaml.constructor import RoundTripConstructor, SafeConstructor
    from ruamel.yaml.error import ReusedAnchorWarning

    # An anchor defined twice is valid YAML (the later one wins); ruamel's warning on stderr is not for users.
    warnings.filterwarnings("ignore", category=ReusedAnchorWarning)
    made: list[Any] = []
    for base in (RoundTripConstructor, SafeConstructor):
        checked: Any = type(f"Checked{base.__name__}", (base,), {"construct_mapping": _construct_mapping(base)})
        for name in ("null", "bool", "int", "float", "binary", "timestamp"):
            checked.add_constructor(_TAG + name, _fitting(base.yaml_constructors[_TAG + name], name))
        checked.add_constructor(_TAG + "str", _string(base.yaml_constructors[_TAG + "str"]))
        made.append(checked)
    return made[0], made[1]


def _refuse(problem: str, node: Any) -> Exception:
    from ruamel.yaml.constructor import ConstructorError

    return ConstructorError(None, None, problem, node.start_mark)


def _fitting(construct: Any, name: str) -> Any:
    def check(value: Any, node: Any) -> None:
        if name == "int" and isinstance(value, int) and not MIN_INT <= value <= MAX_INT:
            text = str(node.value)[:24]
            raise _refuse(f"the integer {text} does not fit in 64 bits (quote it to keep it as text)", node)

    def checked(self: Any, node: Any) -> Any:
        text = str(node.value)
        if name == "int" and len(text) > 80:  # before int(): parsing a huge literal is itself the attack
            raise _refuse(f"an integer of {len(text)} characters: integers must fit in 64 bits", node)
        try:
            return _checked_value(construct(self, node), node, check)
        except (ValueError, KeyError, TypeError, OverflowError, IndexError):  # IndexError: '-_', '0x_' (no digits)
            raise _refuse(f"value {text[:40]!r} is not a valid !!{name}", node) from None

    return checked


def _string(construct: Any) -> Any:
    def check(value: Any, node: Any) -> None:
        text = str(getattr(value, "value", value))  # a tagged scalar (`!!str 12`) holds its text in .value
        if len(text) > MAX_STRING:
            raise _refuse(f"string of {len(text)} characters, over the limit of {MAX_STRING}", node)
        bad = _SURROGATE.search(text)
        if bad:
            raise _refuse(
                f"the string holds a lone surrogate (\\u{ord(bad.group()):04x}), which is not a character", node
            )

    def checked(self: Any, node: Any) -> Any:
        return _checked_value(construct(self, node), node, check)

    return checked


def _checked_value(value: Any, node: Any, check: Any) -> Any:
    """`check` the constructed value; ruamel builds some values in two steps (a generator that yields the
    object, then fills it), and those are checked once filled."""
    if not isinstance(value, GeneratorType):
        check(value, node)
        return value

    def two_step() -> Iterator[Any]:
        data = next(value)
        yield data
        for _ in value:
            pass
        check(data, node)

    return two_step()


def _construct_mapping(base: Any) -> Any:
    def construct_mapping(self: Any, node: Any, *args: Any, **kwargs: Any) -> Any:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise _refuse("keys must be strings, found a list or mapping used as a key", key)
            if key.tag == _TAG + "merge":
                sources = value.value if isinstance(value, SequenceNode) else [value]
                if not all(isinstance(v, MappingNode) for v in sources):
                    raise _refuse("a merge key (<<) takes a mapping or a list of mappings", value)
        return base.construct_mapping(self, node, *args, **kwargs)

    return construct_mapping


def read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UserError("file not found", file=path, hint="check the path you passed") from None
    except OSError as exc:
        raise UserError(f"cannot read file: {exc.strerror}", file=path) from None
    if path.is_dir():
        raise UserError("is a directory, expected a YAML file", file=path)
    if size > MAX_FILE_BYTES:
        raise UserError(
            f"file is {size} bytes, over the limit of {MAX_FILE_BYTES}",
            file=path,
            hint="split it into several files",
        )
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            file=path,
            line=line,
            col=col,
            hint="save the file as UTF-8",
        ) from None


def load_documents(path: Path, text: str | None = None, fast: bool = False) -> list[Document]:
    """Every document of a YAML file, as plain data with positions. Empty documents are dropped."""
    if text is None:
        text = read_text(path)
    _check_nesting(path, text)
    if fast:
        quick = _load_fast(path, text)
        if quick is not None:
            return quick
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    docs: list[Document] = []
    try:
        for i, node in enumerate(_yaml().load_all(io.StringIO(text))):
            if node is None:
                continue
            doc = Document(path=path, data=None, index=i, text=text)
            _refuse_bomb(doc, node)
            budget = [MAX_NODES]
            doc.data = _plain(node, (), doc, budget, 0)
            doc.start_line = doc.where(())[0]
            docs.append(doc)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in str(exc).lower() or type(exc).__name__ == "DuplicateKeyError":
            problem = _duplicate(str(exc.problem or ""))
        if "\\t" in problem or "\t" in problem:
            tab = _tab_position(text, mark.line if mark else 0)
            raise UserError(
                "tab character used for indentation",
                file=path,
                line=tab[0],
                col=tab[1],
                hint="YAML indentation must use spaces",
            ) from None
        hint = "check indentation, quoting and that every key appears once"
        if "undefined alias" in problem:
            # The name is not repeated: it is often a value that begins with '*' (a password), read as an alias.
            problem = "an alias (*...) to an anchor that is not defined before it"
            hint = "a value that begins with '*' must be quoted: KEY: \"*...\""
        if ("stream end" in problem or "end of stream" in problem) and exc.context_mark is not None:
            # An unclosed bracket or quote: where it was opened helps more than the end of the file.
            mark = exc.context_mark
            opened = {"flow sequence": "'['", "flow mapping": "'{'", "quoted scalar": "a quote"}
            what = next((v for k, v in opened.items() if k in (exc.context or "")), "a bracket or quote")
            problem = f"{what} opened here is never closed"
        raise UserError(
            f"invalid YAML: {problem}",
            file=path,
            line=mark.line + 1 if mark else None,
            col=mark.column + 1 if mark else None,
            hint=hint,
        ) from None
    except YAMLError as exc:
        raise UserError(f"invalid YAML: {exc}", file=path) from None
    except RecursionError:
        raise UserError(f"document nested too deeply (limit {MAX_DEPTH} levels)", file=path) from None
    return docs


@lru_cache(maxsize=64)
def _positions_of(path: str, text: str) -> dict[int, dict[Loc, tuple[int, int]]]:
    positions: dict[int, dict[Loc, tuple[int, int]]] = {}
    for doc in load_documents(Path(path), text):
        positions[doc.index] = doc.positions or {}
    return positions


def _fast_yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=False)  # the C parser from ruamel.yaml.clib; YAML 1.2 like the round-trip loader
    y.allow_duplicate_keys = False
    y.Constructor = _checked_constructors()[1]
    return y


def parser_in_use() -> str:
    """Which parser reads large files: 'C' when ruamel.yaml.clib is installed (a test asserts it)."""
    y = _fast_yaml()
    return "C" if "CParser" in type(y.Parser).__name__ or "C" in getattr(y.Parser, "__name__", "") else "Python"


def _load_fast(path: Path, text: str) -> list[Document] | None:
    """Parse with the C loader; None when it fails, so the round-trip loader reports the error with positions."""
    from ruamel.yaml.error import YAMLError

    try:
        raws = list(_fast_yaml().load_all(text))
    except (YAMLError, ValueError, TypeError, RecursionError):
        return None
    starts = _document_lines(text)
    docs: list[Document] = []
    for i, data in enumerate(raws):
        if data is None:
            continue
        if _ANCHOR.search(text) and _expands_past_limit(data) is not None:
            return None  # an alias bomb: the round-trip loader says where, without expanding it
        doc = Document(path=path, data=None, positions=None, index=i, text=text, start_line=starts.get(i))
        doc.data = _plain_fast(data, (), doc, [MAX_NODES], 0)
        docs.append(doc)
    return docs


def _document_lines(text: str) -> dict[int, int]:
    """The first content line (1-based) of each document of a multi-document file, by document index (as
    load_all counts them: an explicit empty document between two `---` counts too)."""
    starts: dict[int, int] = {}
    index, seen_marker, has_content = 0, False, False
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t"):
            if has_content or seen_marker:
                index += 1
            seen_marker, has_content = True, False
            continue
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "%")) and stripped != "..." and not has_content:
            starts[index] = n
            has_content = True
    return starts


def _spend(doc: Document, loc: Loc, budget: list[int], depth: int) -> None:
    """Count a node against the document's limits (aliases count each time they are expanded)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _too_many_nodes(doc, loc)
    if depth > MAX_DEPTH:
        raise doc.error(f"document nested deeper than {MAX_DEPTH} levels", loc)


# An anchor (`&name` after a space, a flow indicator or a key's colon), which every alias needs: a text without
# one is not searched for a bomb (a URL's `a=1&b=2` is no anchor).
_ANCHOR = re.compile(r"(?<![^\s\[{,:])&[^\s\[\]{},]")


def _refuse_bomb(doc: Document, node: Any) -> None:
    """Refuse a round-trip document that expands past MAX_NODES, at the node where the walk would stop."""
    if _ANCHOR.search(doc.text) and (bomb := _expands_past_limit(node)) is not None:
        doc.positions = _positions_along(node, bomb)
        raise _too_many_nodes(doc, bomb)


def _too_many_nodes(doc: Document, loc: Loc) -> UserError:
    return doc.error(
        f"document expands to more than {MAX_NODES} nodes (YAML alias bomb?)",
        loc,
        hint="remove anchors/aliases that repeat large structures",
    )


def _expands_past_limit(root: Any) -> Loc | None:
    """Where a walk of the loaded document (aliases expanded, as _plain and _plain_fast count) would pass
    MAX_NODES, found from the size of each distinct object (an alias is the object it names): an alias bomb is
    refused at the same place as by the walk, without expanding it. None: the document is within the limit."""
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:  # capped just past the limit
        if not isinstance(value, dict | list):
            return 1
        if id(value) in sizes:
            return sizes[id(value)]
        sizes[id(value)] = 1  # a recursive alias: the walk's depth limit stops it
        total = 1
        for child in value.values() if isinstance(value, dict) else value:
            total += size(child)
            if total > MAX_NODES:
                break
        sizes[id(value)] = total
        return total

    if size(root) <= MAX_NODES:
        return None
    loc: Loc = ()
    node, allowed = root, MAX_NODES  # the nodes the walk may still count when it reaches `node`
    while (allowed := allowed - 1) >= 0 and isinstance(node, dict | list):
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            if size(child) <= allowed:
                allowed -= size(child)
                continue
            loc, node = (*loc, key), child
            break
        else:
            return None  # counted in full after all (a recursive alias counted once)
    return loc


def _positions_along(root: Any, loc: Loc) -> dict[Loc, tuple[int, int]]:
    """The line and column of each node on `loc` in a round-trip document (ruamel's own marks)."""
    positions: dict[Loc, tuple[int, int]] = {}
    node = root
    for end, part in enumerate(loc, 1):
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        try:
            positions[loc[:end]] = lc.key(part) if isinstance(node, dict) else lc.item(part)
        except (KeyError, IndexError, TypeError):
            positions[loc[:end]] = (lc.line, lc.col)
        node = node[part]
    return positions


def _plain_fast(value: Any, loc: Loc, doc: Document, budget: list[int], depth: int) -> Any:
    _spend(doc, loc, budget, depth)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise doc.error(
                    f"keys must be strings, found {_describe_key(k)}", loc, hint='quote the key, e.g. "1": ...'
                )
            out[k] = _plain_fast(v, (*loc, k), doc, budget, depth + 1)
        return out
    if isinstance(value, list):
        return [_plain_fast(v, (*loc, i), doc, budget, depth + 1) for i, v in enumerate(value)]
    return _scalar(value, loc, doc)


def _scalar(value: Any, loc: Loc, doc: Document) -> Any:
    """A scalar as plain Python, the same from both loaders (their constructors have checked it already)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    import datetime

    if isinstance(value, datetime.date):
        return value.isoformat()  # an unquoted date: keep it as the text it was written as
    raise doc.error(
        f"unsupported YAML value of type {type(value).__name__} (from a tag such as !!binary, !!set or !!omap)",
        loc,
        hint="write it as a plain string, list or mapping",
    )


_DUPLICATE = re.compile(r'found duplicate key "(?P<key>.*?)" with value')


def _duplicate(problem: str) -> str:
    """ruamel's message names both values (`"K" with value "V" (original value: "V")`): a password twice over, in
    a CI log. The key alone says what to fix, unless it looks like a credential itself."""
    m = _DUPLICATE.search(problem)
    key = m.group("key") if m else None
    if key is None or looks_like_credential(key):
        return "duplicate key"
    return f'duplicate key "{key}"'


def _tab_position(text: str, near: int) -> tuple[int, int]:
    """The line (1-based) and column of the tab that broke parsing: the first tab-indented line at or before
    the parser's position (inside a block scalar tabs are fine, and the parser never stops there)."""
    lines = text.splitlines()
    for n in range(min(near, len(lines) - 1), -1, -1):
        stripped = lines[n].lstrip(" ")
        if stripped.startswith("\t"):
            return n + 1, len(lines[n]) - len(stripped) + 1
    return near + 1, 1


_DEEP_INDENT = re.compile(rf"^ {{{MAX_DEPTH * 8 + 1},}}", re.M)


def _check_nesting(path: Path, text: str) -> None:
    """Refuse absurd nesting before the parser recurses into it (ruamel runs out of stack near 250 levels)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH and not _DEEP_INDENT.search(text):
        return  # cannot nest too deeply: the usual case, decided without a scan
    m = _DEEP_INDENT.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        raise UserError(
            f"document nested too deeply (indentation of {len(m.group())} columns)",
            file=path,
            line=line,
            hint=f"plato reads at most {MAX_DEPTH} levels of nesting",
        )
    # Flow nesting, visiting only the characters that matter (brackets, quotes, comments, line ends).
    depth, quote, line, comment = 0, "", 1, False
    for m in _FLOW_EVENTS.finditer(text):
        ch = m.group()
        if ch == "\n":
            line, comment = line + 1, False
            if quote and not depth:
                quote = ""  # a block-context line that opens a quote (a block scalar's text, say) hides no later line
            continue
        if comment:
            continue
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (depth or _opens_scalar(text, m.start())):
            quote = ch  # in block context, only where a value begins (not `don't` inside a plain scalar)
        elif ch == "#":
            pos = m.start()
            if pos == 0 or text[pos - 1] in " \t\n":
                comment = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                raise UserError(f"document nested deeper than {MAX_DEPTH} levels", file=path, line=line, col=col)
        elif depth:
            depth -= 1


_FLOW_EVENTS = re.compile(r"[\[\]{}\"'#\n]")


def _opens_scalar(text: str, pos: int) -> bool:
    """Whether a quote at `pos` in block context opens a quoted scalar: first on its line, or after `key:`, `- `
    or `? ` (`content: "[[[["` is a string, whatever brackets it holds)."""
    before = text[text.rfind("\n", 0, pos) + 1 : pos].rstrip(" \t")
    return not before or (before.endswith((":", "-", "?")) and pos > 0 and text[pos - 1] in " \t")


def _plain(node: Any, loc: Loc, doc: Document, budget: list[int], depth: int) -> Any:
    positions = doc.positions if doc.positions is not None else {}
    doc.positions = positions
    from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

    _spend(doc, loc, budget, depth)
    tag = getattr(node, "tag", None)
    tag_value = getattr(tag, "value", None) if tag is not None else None
    if tag_value and tag_value not in _STANDARD_TAGS:
        raise doc.error(
            f"YAML tag '{_short_tag(tag_value)}' is not allowed",
            loc,
            hint="remove the tag (a value that begins with '!' must be quoted); plato reads plain YAML (strings, "
            "numbers, booleans, mappings, lists)",
        )
    if isinstance(node, TaggedScalar):
        return _standard_scalar(node, tag_value, loc, doc)
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            # A key merged in by `<<` has no position of its own in this mapping: use the mapping's.
            kpos = node.lc.key(key) if key in (node.lc.data or {}) else (node.lc.line, node.lc.col)
            if not isinstance(key, str):
                raise UserError(
                    f"keys must be strings, found {_describe_key(key)}",
                    file=doc.path,
                    line=kpos[0] + 1,
                    col=kpos[1] + 1,
                    hint='quote the key, e.g. "1": ...',
                )
            sub = (*loc, key)
            positions[sub] = kpos
            out[key] = _plain(node[key], sub, doc, budget, depth + 1)
        if loc not in positions and node.lc.line is not None:
            positions[loc] = (node.lc.line, node.lc.col)
        return out
    if isinstance(node, CommentedSeq):
        if loc not in positions and node.lc.line is not None:
            positions[loc] = (node.lc.line, node.lc.col)
        items = []
        for i, item in enumerate(node):
            sub = (*loc, i)
            positions[sub] = node.lc.item(i)
            items.append(_plain(item, sub, doc, budget, depth + 1))
        return items
    return _scalar(node, loc, doc)


def _short_tag(tag: str) -> str:
    """How a refused tag is named: a standard-looking one as written; any other local tag is not repeated, since
    it is often a value that begins with '!' (a password), read as a tag."""
    prefix = "tag:yaml.org,2002:"
    tag = "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag
    return tag if tag.startswith("!!") or re.fullmatch(r"![a-z][a-z0-9-]{0,15}", tag) else "!..."


def _describe_key(key: Any) -> str:
    if key is None:
        return "an empty (null) key"
    if isinstance(key, bool):
        return f"the boolean {str(key).lower()}"
    if isinstance(key, int | float):
        return f"the number {key}"
    if isinstance(key, tuple | list):
        return "a list used as a key"
    return "a complex key"


def _standard_scalar(node: Any, tag: str | None, loc: Loc, doc: Document) -> Any:
    value = str(node.value)
    try:
        if tag == "tag:yaml.org,2002:int":
            return int(value, 0)
        if tag == "tag:yaml.org,2002:float":
            return float(value)
        if tag == "tag:yaml.org,2002:bool":
            return value.lower() in ("true", "yes", "on")
        if tag == "tag:yaml.org,2002:null":
            return None
    except ValueError:
        raise doc.error(f"value {value!r} does not fit its tag {_short_tag(tag or '')}", loc) from None
    return value


def iter_yaml_files(paths: list[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml") and q.is_file())
        else:
            yield p
