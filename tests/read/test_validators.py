"""The schemas compiled ahead of time (generator/read/validators/, by schemas/compile.py) are current and never
pass a document jsonschema, the reference, refuses: the compiled validator is only the fast way to say "valid"."""

from __future__ import annotations

import copy
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.read import schema
from generator.read.yamlfile import load_documents

REPO = Path(__file__).resolve().parents[2]


def _compile_script() -> Any:
    spec = importlib.util.spec_from_file_location("compile_schemas", REPO / "schemas" / "compile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_compiled_validators_are_what_the_schemas_compile_to() -> None:
    script = _compile_script()
    for name, (file, drop) in script.TARGETS.items():
        written = (script.OUT / f"{name}.py").read_text(encoding="utf-8")
        assert written == script.compiled(file, drop), f"{name}.py is stale: run python schemas/compile.py"


def _documents() -> Iterator[tuple[str, Any]]:
    """Every YAML document the project holds (rules, specs, goldens' inputs, the corpora) and the conformance
    samples, with the schema plato reads it with."""
    roots = [REPO / "rules", REPO / "examples", REPO / "tests", REPO / "golden"]
    shared = os.environ.get("PLATO_SHARED")
    if shared:
        roots.append(Path(shared) / "conformance")
    for root in roots:
        for path in sorted(root.rglob("*.y*ml")):
            try:
                docs = load_documents(path)
            except Exception:  # a bad-input case that does not even parse: nothing for a schema to judge
                continue
            for doc in docs:
                data = doc.data
                if not isinstance(data, dict):
                    continue
                if data.get("apiVersion") == "score.dev/v1b1" or "containers" in data:
                    yield "workload", data
                elif str(data.get("apiVersion", "")).startswith("plato.dev/"):
                    yield "rules", data
                    yield "rules:head", data


def _mutations(value: Any) -> Iterator[Any]:
    """The document with one thing wrong, everywhere: a key removed, an unknown key, each value of another type."""
    others: list[Any] = [None, True, 70000, "", "Not A Name!", "line\n", ["x"], {"k": "v"}]

    def walk(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        yield path
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, (*path, i))

    def at(root: Any, path: tuple[Any, ...]) -> Any:
        for p in path:
            root = root[p]
        return root

    for path in list(walk(value, ()))[:25]:
        node = at(value, path)
        if isinstance(node, dict):
            for key in list(node)[:4]:
                out = copy.deepcopy(value)
                del at(out, path)[key]
                yield out
            out = copy.deepcopy(value)
            at(out, path)["unknownField"] = "x"
            yield out
        if path:
            for other in others:
                out = copy.deepcopy(value)
                at(out, path[:-1])[path[-1]] = other
                yield out


def test_the_compiled_validators_never_pass_what_jsonschema_refuses() -> None:
    seen, agreed, cases = 0, 0, 0
    distinct = {(name, repr(data)): (name, data) for name, data in _documents()}
    for name, data in distinct.values():
        seen += 1
        for instance in (data, *_mutations(data)):
            cases += 1
            fast = schema._passes(name, instance)
            reference = not any(True for _ in schema.validator(name).iter_errors(instance))
            assert reference or not fast, f"{name}: the compiled validator passed what jsonschema refuses"
            agreed += fast == reference
    assert seen > 150 and cases > 15_000, (seen, cases)
    print(f"{seen} documents, {cases} cases, {agreed / cases:.4f} agreed")
    # A refusal goes to jsonschema, which decides: disagreeing that way costs time, not correctness. Patterns
    # are where they differ ('$' before a final newline passes in Python's re, not in JSON Schema's).
    assert agreed / cases > 0.99, (agreed, cases)


@pytest.mark.parametrize("name", ["workload", "rules", "rules:head"])
def test_a_refused_document_is_reported_by_jsonschema(name: str, tmp_path: Path) -> None:
    """The message a user reads is jsonschema's, field and line included, as before the compiled validators."""
    from generator.errors import UserError

    path = tmp_path / "doc.yaml"
    text = (
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    imagez: x\n"
        if name == "workload"
        else "apiVersion: plato.dev/v1\nkind: Resource\nname: r\nmatch:\n  type: redis\nspec: {}\nnmae: x\n"
    )
    path.write_text(text, encoding="utf-8")
    doc = load_documents(path)[0]
    with pytest.raises(UserError) as err:
        schema.check(doc, name)
    assert "unknown field" in err.value.message and err.value.line == 7
