"""The direct constructor (generator/read/plainyaml.py) gives what PyYAML's safe loader gives: the same values of
the same types, the same shared objects for aliases, the same errors. Over every YAML text of the project (golden
renders, the rules, the bad-input corpus), the shapes it hands to the safe constructor, and one-character
mutations of all of them, which make errors of every kind."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml
from testkit.shared import REPO

from generator.read import plainyaml

SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What the direct path does not build itself, each beside plain YAML: the safe constructor builds these documents.
UNUSUAL = [
    "base: &b {a: 1, b: [x, y]}\nderived:\n  <<: *b\n  c: 2\n",
    "when: 2024-11-07\nat: 2001-12-14t21:59:43.10-05:00\n",
    "blob: !!binary aGVsbG8gd29ybGQ=\n",
    "s: !!set {a, b}\no: !!omap [a: 1, b: 2]\np: !!pairs [a: 1, a: 2]\n",
    "custom: !thing {a: 1}\n",
    "python: !!python/object:os.system {}\n",
    "? [a, b]\n: value\n",
    "? {a: 1}\n: value\n",
    "loop: &l [1, *l]\n",
    "loopmap: &m {self: *m}\n",
    "shared: &s {a: [1, 2]}\nagain: *s\nand: [*s, *s]\n",
    "n: [~, null, Null, '', 0x1F, 0o17, 1_000, +12, -0, .inf, -.Inf, .nan, 1e3, 6.02e+23, 190:20:30]\n",
    "b: [yes, No, on, OFF, true, False, y, n]\n",
    "big: 123456789012345678901234567890\n",
    "huge: " + "9" * 5000 + "\n",
    "dup: 1\ndup: 2\n",
    "1: one\n2.5: two\ntrue: three\nnull: four\n",
    "---\n...\n---\na: 1\n--- |\n  text\n",
    "key: value\n  bad indentation: here\n",
    "a: 'unterminated\n",
    "a: [1, 2\n",
    "- a\nb: c\n",
    "\t tab: x\n",
    "a: *nowhere\n",
    "a: !!bool maybe\n",
    "a: !!float ''\nb: !!int ''\n",
    "a: !!timestamp foo\n",
    "deep: " + "[" * 150 + "!!bool maybe" + "]" * 150 + "\n",
    # Two faults in one document: the one named is the one the safe constructor meets first (an adversarial
    # review found these named differently while the direct path built depth-first).
    "? [!!int abc]\n: 1\n",
    "- [!!bool maybe]\n- !!int abc\n",
    "- [!!int abc]\n- !!bool maybe\n",
    "a: !!int abc\n<<: 5\n",
    "- [!!float abc]\n- !!timestamp 2020-13-45\n",
    "a: !!bool maybe\n<<: 5\n",
    "- [!!bool maybe]\n- !!foo x\n",
    "%YAML 1.1\n---\na: !!str 1\nb: !!int '2'\nc: !!float '3'\nd: !!bool 'yes'\ne: !!null ''\n",
]


def _texts() -> list[str]:
    out = []
    for folder in ("golden", "rules", "tests/corpus"):
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                try:
                    out.append(path.read_text(encoding="utf-8"))
                except UnicodeDecodeError:
                    continue
    return out


def _outcome(text: str, loader: Any) -> tuple[str, str]:
    """What a load gives, as text: the values with their types and which objects are shared; or the error's type
    and message; or, for PyYAML's own failures on a tagged scalar, that it crashed."""
    try:
        docs = list(yaml.load_all(text, Loader=loader))
    except (yaml.YAMLError, ValueError) as exc:
        return "error", f"{type(exc).__name__}: {exc}"
    except (KeyError, IndexError, AttributeError, TypeError) as exc:
        return "crash", type(exc).__name__
    return "docs", _described(docs)


def _agree(text: str) -> tuple[str, str]:
    """The direct loader's outcome, checked against the safe loader's: the same, or a YAML error where that one
    crashes."""
    got, want = _outcome(text, plainyaml.loader()), _outcome(text, SAFE)
    if want[0] == "crash":
        assert got[0] == "error" and got[1].startswith("ConstructorError"), (text[:400], got)
        assert "is not a valid !!" in got[1], got  # names the scalar its tag cannot read
    else:
        assert got == want, text[:400]
    return got


def _described(value: Any) -> str:
    """The values, each scalar with its type, each collection entered once and named by the order in which it was
    first met (a repeated one is `@n`): equal exactly when two loads give equal values sharing the same objects.
    Linear in the objects, where repr is exponential in an alias bomb."""
    seen: dict[int, int] = {}
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict | list):
            if id(v) in seen:
                out.append(f"@{seen[id(v)]}")
                continue
            seen[id(v)] = len(seen)
            out.append(f"{type(v).__name__}{len(v)}")
            stack.extend(reversed([x for kv in v.items() for x in kv] if isinstance(v, dict) else v))
        else:
            out.append(f"{type(v).__name__}:{v!r}")
    return " ".join(out)


def _mutations(texts: list[str], rng: random.Random, n: int) -> list[str]:
    chars = ":-[]{}&*!|>'\"#?,\n \t%@`"
    out = []
    for _ in range(n):
        text = rng.choice(texts)
        if not text:
            continue
        at = rng.randrange(len(text))
        op = rng.random()
        if op < 0.4:
            text = text[:at] + rng.choice(chars) + text[at:]
        elif op < 0.7:
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + rng.choice(chars) + text[at + 1 :]
        out.append(text)
    return out


@pytest.mark.parametrize("text", UNUSUAL, ids=range(len(UNUSUAL)))
def test_a_shape_the_direct_path_does_not_build_loads_as_the_safe_loader_loads_it(text: str) -> None:
    _agree(text)


def test_every_text_and_mutation_loads_as_the_safe_loader_loads_it() -> None:
    texts = _texts()
    assert len(texts) > 150, len(texts)  # the corpus is there: golden renders, rules, bad inputs
    rng = random.Random(9)
    cases = texts + UNUSUAL + _mutations(texts + UNUSUAL, rng, 4000)
    errors = 0
    for text in cases:
        errors += _agree(text)[0] == "error"
    assert errors > 300, errors  # the mutations made errors of many kinds, and they agree too


def test_an_alias_is_the_same_object_as_its_anchor() -> None:
    (doc,) = plainyaml.load_all("a: &x {k: [1]}\nb: *x\nc: [*x]\n")
    assert doc["a"] is doc["b"] is doc["c"][0]
