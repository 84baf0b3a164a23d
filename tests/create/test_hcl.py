"""generator/create/hcl.py: HCL laid out as `terraform fmt` does, with strings that stay literal."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import hcl2
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from generator.create.hcl import Block, block, document, quote, value

if TYPE_CHECKING:
    from testkit.render import RenderKit

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def hcl_string(literal: str) -> str:
    """The value of an HCL quoted template as HCL reads it; ValueError on an interpolation, a directive or an
    escape HCL does not know (it has \\n \\r \\t \\" \\\\ \\uNNNN \\UNNNNNNNN, and $${ and %%{)."""
    assert literal[0] == literal[-1] == '"', literal
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            sel = body[i + 1]
            if sel in _ESCAPES:
                out.append(_ESCAPES[sel])
                i += 2
            elif sel in "uU":
                width = 4 if sel == "u" else 8
                out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
                i += 2 + width
            else:
                raise ValueError(f"invalid escape sequence \\{sel}")
        elif body.startswith(("$${", "%%{"), i):
            out.append(c + "{")
            i += 3
        elif body.startswith(("${", "%{"), i):
            raise ValueError(f"template sequence at {i}: {body[i : i + 12]!r}")
        elif c == '"' or c == "\n":
            raise ValueError(f"unescaped {c!r}")
        else:
            out.append(c)
            i += 1
    # \uD800-style surrogate pairs as json writes them for astral characters
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")


_ASSIGN = re.compile(r'^(?P<lead>\s*(?:[A-Za-z_][A-Za-z0-9_-]*|"(?:[^"\\]|\\.)*")\s*)= (?P<rhs>.*)$')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _net_brackets(text: str) -> int:
    bare = _STRING.sub('""', text)
    return sum(bare.count(c) for c in "([{") - sum(bare.count(c) for c in ")]}")


def fmt_misalignments(text: str) -> list[str]:
    """Where `=` signs are not where `terraform fmt` (hclwrite) puts them: a line is in an alignment chain when
    it assigns a whole single-line expression; chains are runs of such lines; in each the `=` sits one column
    after the longest name. A line that opens a multi-line value is in no chain and has one space before `=`."""
    problems: list[str] = []
    chain: list[tuple[int, str, str]] = []

    def close() -> None:
        width = max((len(lead.rstrip()) for _, lead, _ in chain), default=0)
        for n, lead, line in chain:
            if len(lead) != width + 1:
                problems.append(f"line {n}: {line!r} (= expected at column {width + 1})")
        chain.clear()

    for n, line in enumerate(text.split("\n"), 1):
        m = _ASSIGN.match(line)
        if m and _net_brackets(m["rhs"]) == 0:
            chain.append((n, m["lead"], line))
            continue
        close()
        if m and (not m["lead"].endswith(" ") or m["lead"].endswith("  ")):
            problems.append(f"line {n}: {line!r} (a multi-line value takes one space before =)")
    close()
    return problems


def body(attrs: dict[str, Any]) -> str:
    """The lines of a block's body, as written."""
    text = block(Block("b", attrs=attrs))
    assert text.startswith("b {\n") and text.endswith("}\n"), text
    return text[len("b {\n") : -len("}\n")]


# -- alignment --------------------------------------------------------------------------------------------------


def test_consecutive_single_line_attributes_align_their_equals() -> None:
    text = block(Block("resource", ("aws_s3_bucket", "logs"), {"bucket": "logs", "acl": "private", "force": True}))
    assert text == ('resource "aws_s3_bucket" "logs" {\n  bucket = "logs"\n  acl    = "private"\n  force  = true\n}\n')
    assert fmt_misalignments(text) == []


def test_a_multi_line_value_ends_the_alignment_group() -> None:
    text = body({"tags": {"Name": "logs"}, "a": 1, "longer": 2})
    assert text == '  tags = {\n    Name = "logs"\n  }\n  a      = 1\n  longer = 2\n'
    assert fmt_misalignments(text) == []


def test_a_multi_line_value_is_not_aligned_with_the_attributes_before_it() -> None:
    text = body({"a": 1, "long_name": {"k": 1}})
    assert text == "  a = 1\n  long_name = {\n    k = 1\n  }\n"


def test_rendered_production_terraform_is_fmt_aligned(kit: RenderKit) -> None:
    spec = kit.spec(
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx:1.27
            variables:
              REDIS: ${resources.cache.host}
        resources:
          cache:
            type: redis
        """
    )
    tree = kit.render(spec, "production")
    tf = {p: b.decode("utf-8") for p, b in tree.files.items() if p.endswith(".tf")}
    assert tf
    assert {p: fmt_misalignments(t) for p, t in tf.items() if fmt_misalignments(t)} == {}


def test_nested_objects_are_indented_and_aligned_on_their_own() -> None:
    text = body({"settings": {"tags": {"Name": "logs", "Environment": "dev"}, "x": 1}})
    assert text == (
        '  settings = {\n    tags = {\n      Name        = "logs"\n      Environment = "dev"\n    }\n    x = 1\n  }\n'
    )
    assert fmt_misalignments(text) == []
    assert hcl2.loads(block(Block("b", attrs={"settings": {"tags": {"Name": "logs"}}})))


def test_empty_objects_and_lists_stay_on_one_line() -> None:
    assert body({"a": {}, "bb": []}) == "  a  = {}\n  bb = []\n"


def test_lists() -> None:
    assert value([1, "a", True, None, 1.5], 0) == '[1, "a", true, null, 1.5]'
    text = body({"rules": [{"port": 80}, {"port": 443, "proto": "tcp"}], "n": [[1, 2], [3]]})
    assert text == (
        "  rules = [\n"
        "    {\n"
        "      port = 80\n"
        "    },\n"
        "    {\n"
        "      port  = 443\n"
        '      proto = "tcp"\n'
        "    },\n"
        "  ]\n"
        "  n = [\n"
        "    [1, 2],\n"
        "    [3],\n"
        "  ]\n"
    )
    # bc-python-hcl2 (checkov's parser, the one installed) gives each attribute's value in a one-item list.
    parsed = hcl2.loads(block(Block("b", attrs={"rules": [{"port": 80}], "n": [[1, 2], [3]]})))
    assert parsed["b"][0]["rules"] == [[{"port": 80}]]
    assert parsed["b"][0]["n"] == [[[1, 2], [3]]]


def test_raw_expressions_are_written_as_is() -> None:
    assert value({"expr": "module.db.db_instance_address"}, 0) == "module.db.db_instance_address"
    text = body({"secret": {"expr": "random_password.db.result"}, "json": {"expr": 'jsonencode({ a = "b" })'}})
    assert text == '  secret = random_password.db.result\n  json   = jsonencode({ a = "b" })\n'
    # Only a mapping with the single key `expr` is an expression; with other keys it is an object.
    assert value({"expr": "x", "y": 1}, 0) == '{\n  expr = "x"\n  y    = 1\n}'
    parsed = hcl2.loads(block(Block("b", attrs={"secret": {"expr": "random_password.db.result"}})))
    assert parsed["b"][0]["secret"] == ["${random_password.db.result}"]


def test_blocks_labels_and_nesting() -> None:
    doc = document(
        [
            Block(
                "terraform",
                attrs={"required_version": ">= 1.6"},
                blocks=[Block("backend", ("s3",), {"bucket": "state", "encrypt": True}), Block("cloud")],
            ),
            Block("provider", ("random",)),
        ]
    )
    assert doc == (
        "terraform {\n"
        '  required_version = ">= 1.6"\n'
        "\n"
        '  backend "s3" {\n'
        '    bucket  = "state"\n'
        "    encrypt = true\n"
        "  }\n"
        "\n"
        "  cloud {\n"
        "  }\n"
        "}\n"
        "\n"
        'provider "random" {\n'
        "}\n"
    )
    parsed = hcl2.loads(doc)
    assert set(parsed) >= {"terraform", "provider"}
    assert block(Block("module", ("a${b}",))) == 'module "a$${b}" {\n}\n'


# -- strings ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("plain", '"plain"'),
        ("${var.x}", '"$${var.x}"'),
        ("%{ if x }", '"%%{ if x }"'),
        ("$${already}", '"$$${already}"'),
        ("$5 and 100%", '"$5 and 100%"'),
        ('say "hi"\\now', '"say \\"hi\\"\\\\now"'),
        ("two\nlines\ttab", '"two\\nlines\\ttab"'),
        ("ünïcödé ✓", '"ünïcödé ✓"'),
    ],
)
def test_strings_are_escaped(text: str, written: str) -> None:
    assert quote(text) == written
    assert hcl_string(written) == text
    hcl2.loads(f"a = {written}\n")


@pytest.mark.parametrize("text", ["back\bspace", "form\ffeed"])
def test_control_characters_use_escapes_hcl_knows(text: str) -> None:
    assert hcl_string(quote(text)) == text


@settings(max_examples=150, deadline=None, database=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\b\f", blacklist_categories=("Cs",)), max_size=40))
def test_any_string_stays_literal(text: str) -> None:
    written = quote(text)
    assert hcl_string(written) == text


@settings(max_examples=60, deadline=None, database=None)
@given(st.text(alphabet='ab$%{}"\\ \n', max_size=20))
def test_any_string_parses_with_hcl2(text: str) -> None:
    # bc-python-hcl2 (checkov's fork of python-hcl2, the parser installed) refuses most escaped "$${" and "%%{",
    # which HCL reads as literal text; their escaping is checked against HCL's own rules by hcl_string above.
    assume(re.search(r"[$%][{]", text) is None)
    doc = block(Block("resource", ("t", "n"), {"value": text, "list": [text], "obj": {"k": text}}))
    hcl2.loads(doc)


def test_keys_that_are_not_identifiers_are_quoted_in_objects() -> None:
    text = value({"kubernetes.io/role": "x", "plain": 1}, 0)
    assert text == '{\n  "kubernetes.io/role" = "x"\n  plain                = 1\n}'
    hcl2.loads(f"a = {text}\n")


def test_block_attribute_names_that_are_not_identifiers_are_refused_or_valid() -> None:
    from generator.errors import UserError

    try:
        text = block(Block("module", ("m",), {"tags.Name": "x", "source": "a/b/c"}))
    except (ValueError, TypeError, UserError):
        return
    hcl2.loads(text)


def test_a_whole_document_parses() -> None:
    doc = document(
        [
            Block("terraform", attrs={"required_version": ">= 1.6"}),
            Block(
                "module",
                ("db",),
                {
                    "source": "terraform-aws-modules/rds/aws",
                    "version": "6.10.0",
                    "identifier": "demo-production-db",
                    "allocated_storage": 20,
                    "multi_az": True,
                    "password": {"expr": "random_password.db.result"},
                    "tags": {"Team": "payments", "kubernetes.io/cluster": "owned"},
                    "subnets": ["a", "b"],
                    "rules": [{"from": 5432, "cidr": ["10.0.0.0/8"]}],
                    "template": "literal ${not_interpolated}",
                },
            ),
        ]
    )
    parsed = hcl2.loads(doc)
    module = {k: v[0] for k, v in parsed["module"][0]["db"].items() if not k.startswith("__")}
    assert module["source"] == "terraform-aws-modules/rds/aws"
    assert module["version"] == "6.10.0"
    assert module["allocated_storage"] == 20
    assert module["multi_az"] is True
    assert module["password"] == "${random_password.db.result}"
    assert module["subnets"] == ["a", "b"]
    assert hcl_string(f'"{module["template"]}"') == "literal ${not_interpolated}"
