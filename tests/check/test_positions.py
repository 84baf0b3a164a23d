"""Lines of policy expressions from libyaml's composer (generator/check/positions.py): the same line and column
the round-trip loader gives every key and item, at a fraction of its cost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.check.positions import Positions
from generator.read.yamlfile import Loc, load_documents
from generator.resources import bundled_dir


def _locs(value: Any, loc: Loc = ()) -> Iterator[Loc]:
    yield loc
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _locs(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _locs(v, (*loc, i))


def _same_as_round_trip(path: Path) -> int:
    """Every loc of every document: the composer's position is the round-trip loader's. Returns how many."""
    fast, slow = load_documents(path, fast=True), load_documents(path)
    assert [d.index for d in fast] == [d.index for d in slow]
    checked = 0
    for f, s in zip(fast, slow, strict=True):
        assert f.positions is None  # the fast loader kept none: Positions finds them
        pos = Positions(f)
        for loc in _locs(s.data):
            assert pos.where(loc) == s.where(loc), (s.index, loc)
            checked += 1
    return checked


def test_every_key_and_item_of_the_bundled_policies_has_the_round_trip_position() -> None:
    assert _same_as_round_trip(bundled_dir("rules") / "90-policies.yaml") > 100


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n---\n---\n# a comment\nb:\n  - x\n  - {y: 2, z: [3, 4]}\n",  # an empty document counts in the index
        "{a: {b: [1, {c: d}]}, e: f}\n",
        "a: |\n  line\n  two\nb:\n- 1\n- - 2\n  - 3\n",
        "'1': x\n\"two words\": y\n",
        "a: 1\n...\n---\nb: 2\n",
    ],
    ids=["empty-document", "flow", "block-and-nested-lists", "quoted-keys", "explicit-end"],
)
def test_positions_match_the_round_trip_loader_in_every_style(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    assert _same_as_round_trip(path) > 1


def test_a_loc_that_is_not_there_is_the_deepest_node_on_its_way(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("spec:\n  validations:\n    - expression: x\n", encoding="utf-8")
    [doc] = load_documents(path, fast=True)
    pos = Positions(doc)
    assert pos.where(("spec", "validations", 0, "message")) == (3, 7)  # the item that has no message
    assert pos.where(("spec", "validations", 5)) == (2, 3)  # no sixth item: the list's key
    assert pos.where(("spec", "nope", "deeper")) == (1, 1)


def test_a_merged_key_points_at_the_mapping_that_merges_it(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("base: &b\n  k: 1\nuse:\n  <<: *b\n  own: 2\n", encoding="utf-8")
    [doc] = load_documents(path, fast=True)
    line, _ = Positions(doc).where(("use", "k"))
    assert line in (3, 4)  # `use:` or its first line: never the anchor's, which another mapping may share
