"""Loading YAML that plato rendered or wrote itself (rule manifests templates, the deployment repository's files):
libyaml's parser and composer, and a constructor that builds the plain values in one recursive pass.

PyYAML's safe constructor builds every node through a generic machine (a state generator per collection, merge-key
flattening, a hashability check per key), which is most of a load of the large manifests a fleet re-render reads.
The documents plato reads here are plain: mappings, sequences and the core scalars. Those are built directly, with
the safe constructor's own functions for the scalars that are not strings. Anything else in a document (a merge
key, a timestamp, a tag, a collection as a key, an alias to a node being built, nesting past 100 levels) sends
that document to the safe constructor itself, and so does a document with a fault (the safe constructor names
the fault it meets first, in the order it builds). So a load gives exactly what `yaml.load_all(text,
Loader=CSafeLoader)` gives, errors included (tests/read/test_plainyaml.py compares the two), but for one thing:
where PyYAML fails with a KeyError, IndexError or AttributeError (`!!bool maybe`, `!!float ''`, `!!timestamp x`),
this is a YAML error naming the first such scalar, which the callers report at the rule's line. User files are
not read here: see yamlfile.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_SCALARS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null"))
_CRASHES = (KeyError, IndexError, AttributeError, TypeError)  # where PyYAML's constructors fail unlike a YAML error
_DEPTH = 100  # deeper documents (none of plato's) are built by the safe constructor, which does not recurse


class _Unusual(Exception):
    """What the direct construction does not build: the safe constructor builds the document instead."""


def _plain(loader: Any, node: Node, memo: dict[int, Any], depth: int = 0) -> Any:
    tag, cls = node.tag, type(node)
    if cls is ScalarNode and tag == _STR:
        return node.value
    key = id(node)
    if key in memo:  # an alias: the same object, as the safe constructor gives
        if memo[key] is memo:  # ... to a node still being built (a recursive structure)
            raise _Unusual
        return memo[key]
    out: Any
    if depth > _DEPTH:
        raise _Unusual
    if cls is MappingNode and tag == _MAP:
        memo[key] = memo
        out = {}
        for k, v in node.value:
            name = _plain(loader, k, memo, depth + 1)
            if isinstance(name, dict | list):  # unhashable: the safe constructor's error says so
                raise _Unusual
            out[name] = _plain(loader, v, memo, depth + 1)
    elif cls is SequenceNode and tag == _SEQ:
        memo[key] = memo
        out = [_plain(loader, item, memo, depth + 1) for item in node.value]
    elif cls is ScalarNode and tag in _SCALARS:
        try:
            out = loader.yaml_constructors[tag](loader, node)
        except Exception:  # the safe constructor names the document's first fault, in the order it builds
            raise _Unusual from None
    else:
        raise _Unusual
    memo[key] = out
    return out


def _unreadable(loader: Any, root: Node) -> Node | None:
    """The first scalar, in document order, whose tag's constructor crashes on it."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode) and node.tag in loader.yaml_constructors:
            try:
                loader.yaml_constructors[node.tag](loader, node)
            except _CRASHES:
                return node
            except Exception:  # another fault: not the one to name
                continue
        elif isinstance(node, MappingNode):
            stack.extend(reversed([n for pair in node.value for n in pair]))
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
    return None


def _not_valid(node: Node) -> yaml.YAMLError:
    tag = str(node.tag).rsplit(":", 1)[-1]
    what = f"{node.value!r} is not a valid !!{tag}" if isinstance(node, ScalarNode) else "a value its tag cannot hold"
    return ConstructorError(None, None, what, node.start_mark)


@cache
def loader() -> Any:
    """The loader class: libyaml's safe loader with the direct constructor (PyYAML's own without libyaml)."""
    base = getattr(yaml, "CSafeLoader", None)
    if base is None:
        return yaml.SafeLoader

    class PlainLoader(base):  # type: ignore[misc, valid-type]
        def construct_document(self, node: Node) -> Any:
            try:
                return _plain(self, node, {})
            except _Unusual:
                pass
            try:
                return super().construct_document(node)
            except _CRASHES:  # PyYAML's own for `!!bool maybe`, `!!float ''`, `!!timestamp x`: a YAML error here
                raise _not_valid(_unreadable(self, node) or node) from None

    return PlainLoader


def load_all(text: str | bytes) -> Iterator[Any]:
    """The documents of a YAML text, as `yaml.load_all(text, Loader=yaml.CSafeLoader)` gives them."""
    return yaml.load_all(text, Loader=loader())
