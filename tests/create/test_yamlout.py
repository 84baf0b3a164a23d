"""plato's own YAML writer must write exactly what libyaml writes (it only saves the time libyaml's Python side
spends): checked on every golden file and on generated documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit.shared import REPO

from generator.create.emit import dump_yaml, dump_yaml_slow
from generator.create.yamlout import dump, dump_all

GOLDEN = REPO / "golden"


def _documents() -> list[Any]:
    docs = []
    for path in sorted(GOLDEN.rglob("*.yaml")):
        outcome = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("outcome")
        if isinstance(outcome, dict):
            for name, text in outcome.items():
                if isinstance(text, str) and name.endswith(".yaml"):
                    docs += [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    return docs


def test_every_golden_document_is_written_as_libyaml_writes_it() -> None:
    docs = _documents()
    assert len(docs) > 100  # the production renders of untagged conformance images are policy denials now
    for doc in docs:
        fast = dump(doc)
        assert fast is not None, doc
        assert fast == dump_yaml_slow(doc)


scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "y",
            "on",
            "0755",
            "1e3",
            "- a",
            "a: b",
            "#x",
            "x\n",
            "x\ny",
            "  lead\nx",
            "t\n\n",
            "tab\there",
            "é",
            "'q'",
            'say "hi"',
            "null",
            "~",
            "|",
            ">",
            "*a",
            "&b",
            "!t",
            "%p",
            "@x",
        ]
    ),
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 1e20, 0.1]),
)
keys = st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(["n", "y", "on", "a.b/c", "-k", "k k"]))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=15,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(keys, documents, min_size=1, max_size=5))
def test_generated_documents_are_written_as_libyaml_writes_them(doc: dict[str, Any]) -> None:
    fast = dump(doc)
    if fast is not None:  # None: left to libyaml (a kept final newline, a key that is not text)
        assert fast == dump_yaml_slow(doc)
    assert dump_yaml(doc) == dump_yaml_slow(doc)


def test_each_golden_files_documents_written_together_are_written_as_libyaml_writes_them() -> None:
    docs = _documents()
    files = [docs[i : i + 25] for i in range(0, len(docs), 25)]  # the goldens' documents, 25 to a file
    for file in files:
        assert dump_all(file) == [dump_yaml_slow(doc) for doc in file]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.dictionaries(keys, documents, min_size=1, max_size=4), max_size=5))
def test_a_files_documents_written_together_are_each_written_as_libyaml_writes_it(docs: list[Any]) -> None:
    """The scalars only libyaml spells are spelled in one call for all the documents of a file: each document
    still comes out as libyaml writes it alone, or is left to libyaml (None) on its own."""
    for fast, doc in zip(dump_all(docs), docs, strict=True):
        assert fast == dump(doc)
        if fast is not None:
            assert fast == dump_yaml_slow(doc)


def test_a_document_left_to_libyaml_leaves_the_others_of_its_file_on_the_fast_path() -> None:
    docs = [
        {"a": "x: y", "b": "line\n\nmore\n"},
        {"a": "kept\n\n", "b": "#c"},  # libyaml ends it with "...": its job
        {"c": ["- d", "1e3", "e\nf"], "d": "  lead\nx"},
    ]
    fast = dump_all(docs)
    assert fast[1] is None
    assert [fast[0], fast[2]] == [dump_yaml_slow(docs[0]), dump_yaml_slow(docs[2])]


def test_equal_floats_with_different_spellings_are_not_confused() -> None:
    assert dump({"a": 0.0, "b": -0.0}) == dump_yaml_slow({"a": 0.0, "b": -0.0})


def test_most_documents_take_the_fast_path(tmp_path: Path) -> None:
    assert dump({"a": ["b", {"c": "d\ne\n"}], "f": {}}) is not None
    assert dump({"a": "kept\n\n"}) is None  # libyaml ends such a document with "...": its job


# Strings written plain without asking libyaml (yamlout._plain), and their near misses: every one must be spelled
# exactly as libyaml spells it, as a key and as a value.
WORDS = ["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "true", "True", "TRUE"]
WORDS += ["false", "False", "FALSE", "null", "Null", "NULL", "y", "Y", "n", "N"]
NAMES = ["app0001-api", "shop-development", "Deployment", "apiVersion", "a.b/c", "x_y", "a-", "a.", "a/"]
NEAR = ["e1", "E5", "nan", "inf", "Inf", "x1e3", "0x1f", "1e3", "2024-01-01", "12:30", "-", ".", ".inf", ".nan"]
NEAR += ["_a", "/a", "a:b", "a#b", "a\tb", "a b", "ß", "aé", "app.kubernetes.io/name"]
PLAIN_LOOKING = WORDS + NAMES + NEAR


def test_plain_looking_strings_are_spelled_as_libyaml_spells_them() -> None:
    for text in PLAIN_LOOKING:
        doc = {text: text, "list": [text], "nested": {text: [text]}}
        assert dump(doc) == dump_yaml_slow(doc), text
