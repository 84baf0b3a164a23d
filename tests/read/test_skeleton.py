"""Rendered YAML parsed once per shape (generator/read/skeleton.py): a skeleton filled with a render's values gives
what parsing the rendered text gives, or says it cannot (and the text is parsed). Compared over random marked
texts, holes in every place YAML has (keys, plain, quoted and block scalars, flow collections, comments), and
values made to break them; and through the manifests templates of the rules."""

from __future__ import annotations

import random
from typing import Any

import pytest
from read.test_plainyaml import _described, _outcome

from generator.read import plainyaml, skeleton

MARK = skeleton.MARK

HOSTILE = [
    "",
    " ",
    "a",
    "web",
    "8080",
    "-1",
    "true",
    "yes",
    "NO",
    "~",
    "null",
    "1e3",
    "1.5",
    ".inf",
    "0x1F",
    "0o17",
    "1_000",
    "+12",
    "2024-01-01",
    "<<",
    "=",
    "a: b",
    "a:b",
    "x:",
    ":x",
    "a #b",
    "a#b",
    "#x",
    "- x",
    "-x",
    "?x",
    "[a]",
    "{a: 1}",
    "x,y",
    "x]",
    "x}",
    '"q"',
    "'q'",
    '"a\\"b"',
    "a'b",
    'a"b',
    "a\\b",
    '""',
    "''",
    "line\nbreak",
    "\t",
    "tab\there",
    "\u2028",
    "\x85",
    "\ufeff",
    "\ue005",
    "...",
    "---",
    "... x",
    "*alias",
    "&anc",
    "!tag",
    "|",
    ">",
    "%x",
    "@x",
    "`x",
    "é",
    "😀",
    "a  b",
    " lead",
    "trail ",
    "k" * 600,
    "9" * 5000,
    "app-0001.svc",
    "|x",
    "a\rb",
    "\x00",
    "\x7f",
    "x: y: z",
    '"x": 1',
    "x'",
    "x #",
    "%",
]
PIECES = ["a", "x-", ".svc", "8", "-", "_", ":", "/", "1"]


class _Text:
    """A marked text, written left to right so that its marks come in order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.out, self.count = rng, [], 0

    def mark(self) -> str:
        self.count += 1
        return chr(MARK + self.count - 1)

    def content(self, allow_space: bool = True) -> str:
        parts = []
        for _ in range(self.rng.randint(1, 3)):
            r = self.rng.random()
            if r < 0.5:
                parts.append(self.mark())
            elif r < 0.6 and allow_space and parts:
                parts.append(" ")
            else:
                parts.append(self.rng.choice(PIECES))
        return "".join(parts).strip() or "a"

    def scalar(self, flow: bool = False) -> str:
        style = self.rng.choice(["plain", "plain", "double", "single"])
        text = self.content(allow_space=not flow)
        if style == "double":
            return f'"{text}"'
        if style == "single":
            return f"'{text}'"
        if text[0] in "-?:,[]{}#&*!|>'\"%@`" or text.endswith(":") or (flow and any(c in text for c in ",[]{}:")):
            return "v" + text.replace(":", "").replace(",", "")
        return text.replace(": ", ":")

    def flow(self) -> str:
        if self.rng.random() < 0.5:
            return "[" + ", ".join(self.scalar(True) for _ in range(self.rng.randint(0, 3))) + "]"
        return "{" + ", ".join(f"{self.scalar(True)}: {self.scalar(True)}" for _ in range(self.rng.randint(0, 2))) + "}"

    def value(self, indent: int, depth: int) -> str:
        r = self.rng.random()
        if r < 0.45 or depth > 2:
            return " " + self.scalar() + (f"  # {self.mark()} note" if self.rng.random() < 0.1 else "")
        if r < 0.6:
            return " " + self.flow()
        if r < 0.7:
            style = self.rng.choice(["|", ">", "|-", ">+"])
            lines = [" " * (indent + 2) + self.content() for _ in range(self.rng.randint(1, 3))]
            return f" {style}\n" + "\n".join(lines)
        if r < 0.85:
            return "\n" + self.mapping(indent + 2, depth + 1)
        items = [" " * (indent + 2) + "-" + self.value(indent + 4, depth + 1) for _ in range(self.rng.randint(1, 3))]
        return "\n" + "\n".join(items)

    def mapping(self, indent: int, depth: int) -> str:
        lines = []
        for i in range(self.rng.randint(1, 4)):
            key = self.scalar() if self.rng.random() < 0.3 else f"k{depth}{i}"
            if self.rng.random() < 0.1:
                lines.append(" " * indent + f"# {self.mark()}")
            lines.append(" " * indent + key + ":" + self.value(indent, depth))
        return "\n".join(lines)

    def documents(self) -> str:
        docs = [self.mapping(0, 0) for _ in range(self.rng.randint(1, 2))]
        return "---\n" + "\n---\n".join(docs) + "\n"


def _filled(marked: str, values: list[str]) -> str:
    return skeleton.MARKS.sub(lambda m: values[ord(m.group()) - MARK], marked)


def _compare(marked: str, count: int, values: list[str]) -> str:
    """'fast' when the skeleton filled the values in (and gave what parsing the text gives), else why not."""
    built = skeleton.build(marked, count)
    if built is None:
        return "no skeleton"
    got = built.fill(values)
    if got is None:
        return "parsed"
    want = _outcome(_filled(marked, values), plainyaml.loader())
    assert want[0] == "docs", (marked, values, want)  # the text does not parse, yet the skeleton filled it
    assert _described(got) == want[1], (marked, values)
    return "fast"


def test_random_marked_texts_filled_with_hostile_values_give_what_the_text_gives() -> None:
    rng = random.Random(20261203)
    outcomes: dict[str, int] = {}
    for _ in range(3000):
        text = _Text(rng)
        marked = text.documents()
        safe = rng.random() < 0.5  # half with values that fit every hole, half from the hostile list
        values = [rng.choice(["web", "8080", "a-b.svc", "true", "x1"]) if safe else rng.choice(HOSTILE)
                  for _ in range(text.count)]  # fmt: skip
        outcome = _compare(marked, text.count, values)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # The comparison means something only if all three happen often.
    assert outcomes.get("fast", 0) > 600 and outcomes.get("parsed", 0) > 300, outcomes


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "marked",
    [
        "a: \ue000\n",
        "\ue000: 1\n",
        "a: x\ue000y\n",
        'a: "\ue000"\n',
        "a: '\ue000'\n",
        "a: [\ue000, b]\n",
        "a: {\ue000: \ue000}\n".replace("\ue000}", "\ue001}"),
        "a: |\n  \ue000\n  b\n",
        "a: >\n  x \ue000\n  b\n",
        "- \ue000\n",
        "a: 1 # \ue000\nb: 2\n",
        "--- \ue000\n",
        "\ue000\n",
    ],
)
def test_every_hole_with_every_hostile_value(marked: str, value: str) -> None:
    count = len(skeleton.MARKS.findall(marked))
    _compare(marked, count, [value] * count)


def test_the_common_shapes_are_filled_without_parsing() -> None:
    marked = "apiVersion: v1\nkind: Service\nmetadata:\n  name: \ue000\nspec:\n  ports:\n    - port: \ue001\n"
    built = skeleton.build(marked, 2)
    assert built is not None
    assert built.fill(["web", "8080"]) == [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 8080}]}}
    ]
    quoted = skeleton.build("host: \ue000\nkeys:\n  \ue001: \ue002\n", 3)
    assert quoted is not None
    assert quoted.fill(['"db.example.com"', "region", '"eu"']) == [{"host": "db.example.com", "keys": {"region": "eu"}}]
    first, second = built.fill(["a", "1"]), built.fill(["a", "1"])
    assert first == second and first is not second and first[0]["metadata"] is not second[0]["metadata"]


@pytest.mark.parametrize(
    "marked",
    ["a: &x \ue000\nb: *x\n", "a: !!str \ue000\n", "a: ! \ue000\n", "a: 1\na: \ue000\n", "a: \"x\n  \ue000\"\n"],
)  # fmt: skip
def test_what_is_not_plain_yaml_has_no_skeleton(marked: str) -> None:
    count = len(skeleton.MARKS.findall(marked))
    assert skeleton.build(marked, count) is None


def test_marks_out_of_order_or_written_by_the_template_have_no_skeleton() -> None:
    assert skeleton.build("a: \ue001\nb: \ue000\n", 2) is None
    assert skeleton.build("a: \ue000\nb: \ue000\n", 1) is None
    assert skeleton.build("a: \ue000\n", 2) is None


def _manifests_templates() -> list[Any]:
    from generator.match.rules import load_rules
    from generator.match.templates import Tpl
    from generator.resources import bundled_dir

    rules = load_rules(bundled_dir("rules"))
    return [r for r in rules.all_rules() if isinstance((r.spec or {}).get("manifests"), Tpl)]


def test_the_bundled_rules_have_manifests_templates_that_render_marked() -> None:
    # Each bundled manifests template can be rendered with marks (no blocks, no marks of its own).
    from generator.match.templates import _marking

    found = _manifests_templates()
    assert len(found) >= 5
    assert all(_marking(r.spec["manifests"]) is not None for r in found)


HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ name }}\ndata:\n"


def _both(source: str, variables: dict[str, Any]) -> tuple[str, str]:
    """parse_manifests through the skeletons, and as it was before them (render, parse), each as its outcome."""
    from generator.create import resources
    from generator.errors import UserError
    from generator.match.templates import compile_template

    def outcome(run: Any) -> str:
        try:
            return "docs " + _described(run())
        except UserError as exc:
            return "error " + str(exc)

    tpl = compile_template(source, "rules.yaml", 1)
    resources._SKELETONS.clear()
    new = outcome(lambda: resources.parse_manifests(tpl, dict(variables), "test"))
    old = outcome(lambda: resources._parse_documents(tpl.render(dict(variables), "test"), tpl, "test"))
    return new, old


# Found by a differential fuzz of 58,000 templates (session 10): private-use characters that reach the text
# without being marks (a filter block, a call block, a recursive loop, a constant), a key whose source passes
# YAML's 1024-character limit (spaces before its colon, escapes), and a NaN key (a path cannot find it again).
@pytest.mark.parametrize(
    ("body", "variables"),
    [
        ('  k: "{% filter trim %}{{ v }}{% endfilter %}"\n', {"v": "\ue000"}),
        ('  k: "{% filter trim %}{{ v }}{% endfilter %}"\n', {"v": "\uf0c9"}),
        ("  k: \"{{ '\\ue000' }}\"\n", {}),
        ('  k: "{% for x in v recursive %}{{ x }}{% endfor %}"\n', {"v": ["\ue000"]}),
        ('{% macro w() %}{{ caller() }}{% endmacro %}  k: "{% call w() %}{{ v }}{% endcall %}"\n', {"v": "\ue000"}),
        ("  {{ k }}" + " " * 600 + ": v\n", {"k": "k" * 500}),
        ('  "' + "\\x41" * 200 + '{{ k }}": v\n', {"k": "k" * 300}),
        ("  .nan:\n    a: {{ v }}\n", {"v": "x"}),
        ("  .nan:\n    {{ v }}: 1\n", {"v": "x"}),
    ],
    ids=["filter-mark", "filter-past-the-marks", "constant", "recursive-loop", "call-block", "key-spaces",
         "key-escapes", "nan-key", "nan-key-hole"],
)  # fmt: skip
def test_what_the_differential_fuzz_found_parses_as_the_text_does(body: str, variables: dict[str, Any]) -> None:
    new, old = _both(HEAD + body, {"name": "n", **variables})
    assert new == old
