"""Lines of policy expressions, found by libyaml's composer when a message needs one.

A policy file is parsed by the C loader (no positions); the round-trip parse that finds positions for rule files
costs about 0.1 s for the bundled policies, paid by every run that prints a warning. libyaml's composer gives the
same lines in about a millisecond.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from generator.read.yamlfile import Document, Loc


@lru_cache(maxsize=64)
def _roots(text: str) -> tuple[Any, ...]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(yaml.compose_all(text, Loader=loader))


class Positions:
    """Stands in for a Document where a `Where` asks for the position of a loc (see read.models.Where)."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def where(self, loc: Loc) -> tuple[int | None, int | None]:
        roots = _roots(self.doc.text)
        if self.doc.index >= len(roots) or roots[self.doc.index] is None:
            return self.doc.where(loc)
        node = roots[self.doc.index]
        mark = node.start_mark
        for step in loc:
            if isinstance(node, yaml.MappingNode):
                pair = next(((k, v) for k, v in node.value if k.value == step), None)
                if pair is None:
                    break
                mark, node = pair[0].start_mark, pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                mark = node.start_mark
            else:
                break
        return mark.line + 1, mark.column + 1
