"""Output discipline (generator/create/emit.py): apply order, stable document order, strings that every YAML
reader reads back as the same strings, no anchors, literal blocks, canonical JSON."""

from __future__ import annotations

import json
import random

import pytest
import yaml

from generator.create.emit import KIND_ORDER, dump_documents, dump_json, dump_yaml, dump_yaml_slow, object_key


def _obj(kind: str, name: str, ns: str = "shop") -> dict:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": ns}}


def test_objects_sort_in_apply_order_then_by_kind_namespace_and_name() -> None:
    objects = [
        _obj("HTTPRoute", "web"),
        _obj("Widget", "b"),  # kinds plato does not know go last, by kind name
        _obj("Deployment", "web", "b-ns"),
        _obj("Deployment", "web", "a-ns"),
        _obj("Namespace", "shop", ""),
        _obj("Service", "b"),
        _obj("Service", "a"),
        _obj("Alpha", "z"),
    ]
    ordered = sorted(objects, key=object_key)
    got = [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in ordered]
    assert got == [
        ("Namespace", "", "shop"),
        ("Service", "shop", "a"),
        ("Service", "shop", "b"),
        ("Deployment", "a-ns", "web"),
        ("Deployment", "b-ns", "web"),
        ("HTTPRoute", "shop", "web"),
        ("Alpha", "shop", "z"),
        ("Widget", "shop", "b"),
    ]
    assert KIND_ORDER.index("NetworkPolicy") < KIND_ORDER.index("Deployment")  # deny-all before any pod starts
    assert object_key({"kind": "Service"}) == (KIND_ORDER.index("Service"), "Service", "", "")  # no metadata


def test_a_stream_is_the_same_bytes_whatever_order_the_objects_come_in() -> None:
    objects = [_obj(k, n) for k in ("ConfigMap", "Deployment", "Service", "Secret") for n in ("a", "b", "c")]
    first = dump_documents(objects)
    shuffled = objects[:]
    random.Random(7).shuffle(shuffled)
    assert dump_documents(shuffled) == first
    assert first.startswith("---\n") and first.endswith("\n") and not first.endswith("\n\n")
    assert [d["kind"] for d in yaml.safe_load_all(first)][:3] == ["Secret"] * 3
    assert dump_documents([]) == ""


@pytest.mark.parametrize(
    "value",
    ["yes", "no", "on", "off", "y", "N", "true", "null", "~", "0755", "1e3", "0o17", "0x1F", ".5", "+1", "-.inf",
     ".NaN", "12:30", "2024-01-02", ""],
)  # fmt: skip
def test_strings_that_look_like_other_values_are_read_back_as_the_same_strings(value: str) -> None:
    text = dump_yaml({"v": value})
    assert yaml.safe_load(text) == {"v": value}  # a YAML 1.1 reader (PyYAML, Go's yaml.v2)
    assert text == dump_yaml_slow({"v": value})
    from ruamel.yaml import YAML

    assert YAML(typ="safe", pure=True).load(text) == {"v": value}  # a YAML 1.2 reader


def test_multi_line_text_is_a_literal_block_unless_a_line_ends_in_spaces() -> None:
    script = "#!/bin/sh\nset -eu\nexec app\n"
    text = dump_yaml({"script": script})
    assert text.startswith("script: |") and yaml.safe_load(text) == {"script": script}
    trailing = "line one   \nline two\n"  # a literal block cannot keep trailing spaces: quoted instead
    out = dump_yaml({"t": trailing})
    assert "|" not in out and yaml.safe_load(out) == {"t": trailing}
    tabbed = "a\tb\nc\n"
    assert yaml.safe_load(dump_yaml({"t": tabbed})) == {"t": tabbed}


def test_shared_structures_are_written_out_in_full_without_anchors() -> None:
    labels = {"app.kubernetes.io/name": "web"}
    obj = {"metadata": {"labels": labels}, "spec": {"selector": {"matchLabels": labels}}}
    for text in (dump_yaml(obj), dump_yaml_slow(obj)):
        assert "&" not in text and "*" not in text
        assert yaml.safe_load(text) == obj


def test_keys_are_sorted_and_unicode_is_kept_as_written() -> None:
    text = dump_yaml({"b": 1, "a": {"z": "ü", "c": "日本"}})
    assert text == "a:\n  c: 日本\n  z: ü\nb: 1\n"
    assert dump_json({"b": [2, 1], "a": "é"}) == '{\n  "a": "é",\n  "b": [\n    2,\n    1\n  ]\n}\n'
    assert json.loads(dump_json({"x": None})) == {"x": None}
