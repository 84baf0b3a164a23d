"""Loading user YAML (generator/read/yamlfile.py): plain data with the position of every node, the same from the
round-trip and the fast (C) loader, within the documented limits, and refusing what plato does not read."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from generator.errors import UserError
from generator.read.yamlfile import MAX_DEPTH, MAX_STRING, Document, iter_yaml_files, load_documents

SPEC = """\
# a comment line
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx:1.27
    args:
      - --port
      - "8080"
"""


def _load(tmp_path: Path, text: str, fast: bool = False) -> list[Document]:
    path = tmp_path / "score.yaml"
    path.write_text(text, encoding="utf-8")
    return load_documents(path, fast=fast)


def _refusal(tmp_path: Path, text: str, fast: bool = False) -> UserError:
    with pytest.raises(UserError) as caught:
        _load(tmp_path, text, fast)
    return caught.value


def test_every_key_and_item_has_its_line_and_column(tmp_path: Path) -> None:
    [doc] = _load(tmp_path, SPEC)
    assert doc.where(("metadata", "name")) == (4, 3)
    assert doc.where(("containers", "main", "args", 1)) == (10, 9)
    assert doc.where(("containers", "main", "image", "deeper", 3)) == (7, 5)  # the deepest node that is known
    assert doc.where(()) == (2, 1) and doc.start_line == 2
    err = doc.error("bad image", ("containers", "main", "image"), hint="pin it")
    assert (err.file, err.line, err.col, err.hint) == (str(tmp_path / "score.yaml"), 7, 5, "pin it")


def test_the_fast_loader_gives_the_same_data_and_finds_positions_when_asked(tmp_path: Path) -> None:
    text = SPEC + "---\n# only a comment\n---\n\nkind: Second\nwhen: 2024-01-02\nflag: yes\nn: 0x10\n"
    slow, fast = _load(tmp_path, text), _load(tmp_path, text, fast=True)
    assert [d.data for d in fast] == [d.data for d in slow]
    assert slow[1].data == {"kind": "Second", "when": "2024-01-02", "flag": "yes", "n": 16}  # YAML 1.2: yes is text
    assert [(d.index, d.start_line) for d in fast] == [(d.index, d.start_line) for d in slow] == [(0, 2), (2, 15)]
    assert fast[1].positions is None  # not parsed twice until a message needs a position
    assert fast[1].where(("when",)) == slow[1].where(("when",)) == (16, 1)


@pytest.mark.parametrize("fast", [False, True], ids=["round-trip", "fast"])
@pytest.mark.parametrize(
    ("text", "line", "col", "says"),
    [
        ("a: 1\nb:\n  c: 2\n  c: 3\n", 4, 3, 'duplicate key "c"'),
        ("a:\n  b: !custom x\n", 2, 3, "YAML tag '!custom' is not allowed"),  # at the key holding it
        ("a: !!python/object/apply:os.system [ls]\n", 1, 1, "YAML tag '!!python/object/apply:os.system'"),
        ("a: !!set {x, y}\n", 1, 1, "unsupported YAML value of type"),
        ("a:\n  - 1\n  - 9223372036854775808\n", 3, 5, "does not fit in 64 bits"),
        ("ok: 1\n1: one\n", 2, 1, "keys must be strings, found the number 1"),
        ("? [a, b]\n: 1\n", 1, 3, "a list or mapping used as a key"),
        ("a: &x 1\nb:\n  <<: *x\n", 1, 4, "a merge key (<<) takes a mapping"),
        ("a:\n\tb: 1\n", 2, 1, "tab character used for indentation"),
        ('a: "\\ud800"\n', 1, 4, "lone surrogate"),
        ("a: !!int 0x1g\n", 1, 4, "is not a valid !!int"),
    ],
    ids=[
        "duplicate",
        "custom-tag",
        "python-tag",
        "set",
        "int64",
        "number-key",
        "list-key",
        "merge",
        "tab",
        "surrogate",
        "bad-int",
    ],
)
def test_what_plato_does_not_read_is_refused_at_its_place(tmp_path, text, line, col, says, fast) -> None:
    err = _refusal(tmp_path, text, fast)
    assert (err.line, err.col) == (line, col), err.render()
    assert says in err.message


def test_the_largest_signed_64_bit_integers_are_read(tmp_path: Path) -> None:
    [doc] = _load(tmp_path, "max: 9223372036854775807\nmin: -9223372036854775808\n")
    assert doc.data == {"max": 2**63 - 1, "min": -(2**63)}


@pytest.mark.parametrize("fast", [False, True], ids=["round-trip", "fast"])
def test_an_alias_bomb_is_stopped_by_counting_every_expansion(tmp_path: Path, fast: bool) -> None:
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 6):
        levels.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]")  # 10^6 nodes at the last level
    err = _refusal(tmp_path, "\n".join(levels) + "\n", fast)
    assert "more than 200000 nodes" in err.message and err.line is not None


def _levels(first: str, level: str, count: int) -> str:
    """`a: &a FIRST`, then `b: &b LEVEL` with `*` standing for the alias of the level before, `count` times."""
    names = "abcdefgh"[: count + 1]
    return f"a: &a {first}\n" + "".join(
        f"{n}: &{n} {level.replace('*', '*' + p)}\n" for p, n in itertools.pairwise(names)
    )


BOMBS = {
    "lists": _levels("[x, x, x, x, x, x, x, x, x]", "[" + ", ".join(["*"] * 9) + "]", 6),
    "mappings": _levels("{k0: x, k1: x, k2: x, k3: x}", "{" + ", ".join(f"k{i}: *" for i in range(8)) + "}", 6),
    "after plain content": "head: [1, 2, 3]\nmore: {a: b}\n"
    + _levels("[x, x, x, x, x, x, x, x, x, x]", "[" + ", ".join(["*"] * 10) + "]", 5),
    "block style": _levels("\n" + "".join(f"  - x{i}\n" for i in range(30)), "\n" + "  - *\n" * 30, 4),
    "merge keys": _levels("{k0: x, k1: x, k2: x}", "{<<: *, " + ", ".join(f"m{i}: *" for i in range(10)) + "}", 6),
}


@pytest.mark.parametrize("fast", [False, True], ids=["round-trip", "fast"])
@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_an_alias_bomb_is_refused_where_the_full_walk_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bomb: str, fast: bool
) -> None:
    """The bomb is found from the sizes of the distinct objects, without expanding it: at the same line and column
    as the walk that expands every alias and counts each node."""
    from generator.read import yamlfile

    found = _refusal(tmp_path, BOMBS[bomb], fast)
    monkeypatch.setattr(yamlfile, "_ANCHOR", re.compile(r"(?!)"))  # no anchor seen: the walk alone decides
    walked = _refusal(tmp_path, BOMBS[bomb], fast)
    assert "more than 200000 nodes" in found.message and found.line is not None
    assert (found.message, found.line, found.col) == (walked.message, walked.line, walked.col)


def test_nesting_is_limited_in_flow_and_in_block_style(tmp_path: Path) -> None:
    ok = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert _load(tmp_path, ok)
    flow = _refusal(tmp_path, "a: 1\nb: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n")
    assert f"nested deeper than {MAX_DEPTH} levels" in flow.message and (flow.line, flow.col) == (2, 4 + MAX_DEPTH)
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_DEPTH + 2)) + "  " * (MAX_DEPTH + 2) + "v: 1\n"
    assert f"nested deeper than {MAX_DEPTH} levels" in _refusal(tmp_path, block).message
    # Brackets inside quotes and comments are not nesting.
    assert _load(tmp_path, 'a: ["' + "[" * 100 + '"]  # ' + "{" * 100 + "\n")[0].data == {"a": ["[" * 100]}
    # A quoted value in block style holds brackets as text too, but a quote that opens a block scalar's line
    # hides no later line from the count.
    for quoted in ('a: "' + "[" * 100 + '"\n', "- '" + "{" * 100 + "'\n", '"' + "[" * 100 + '": 1\n'):
        assert _load(tmp_path, quoted)
    hidden = 'a: |\n  "\nb: ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    assert f"nested deeper than {MAX_DEPTH} levels" in _refusal(tmp_path, hidden).message


def test_a_string_over_the_limit_is_refused_and_one_at_it_is_read(tmp_path: Path) -> None:
    assert len(_load(tmp_path, f"a: {'x' * MAX_STRING}\n")[0].data["a"]) == MAX_STRING
    err = _refusal(tmp_path, f"ok: 1\na: {'x' * (MAX_STRING + 1)}\n")
    assert f"over the limit of {MAX_STRING}" in err.message and err.line == 2


def test_an_unclosed_bracket_points_where_it_was_opened(tmp_path: Path) -> None:
    err = _refusal(tmp_path, "a: 1\nb: [1, 2\n")
    assert "'[' opened here is never closed" in err.message and (err.line, err.col) == (2, 4)


def test_an_unclosed_quote_points_where_it_was_opened(tmp_path: Path) -> None:
    err = _refusal(tmp_path, 'a: 1\nb: "open\nc: 3\nd: 4\n')
    assert "a quote opened here is never closed" in err.message and err.line == 2


def test_yaml_files_of_a_folder_are_found_sorted_and_files_given_kept(tmp_path: Path) -> None:
    for rel in ("b/z.yml", "a.yaml", "b/a.yaml", "notes.txt", "c.yaml.bak"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("a: 1\n")
    (tmp_path / "dir.yaml").mkdir()  # a folder named like a file is not a file
    given = tmp_path / "notes.txt"
    found = [p.relative_to(tmp_path).as_posix() for p in iter_yaml_files([tmp_path, given])]
    assert found == ["a.yaml", "b/a.yaml", "b/z.yml", "notes.txt"]


@pytest.mark.parametrize(
    "rules_file", sorted((Path(__file__).parents[2] / "rules").glob("*.yaml")), ids=lambda p: p.name
)
def test_every_bundled_rule_file_is_read_by_the_c_parser(rules_file: Path) -> None:
    # Rules are read on every run. A file the C parser refuses (PyYAML-style 1.1 plain scalars such as
    # `[s3:GetObject]` in a flow list) falls back to the round-trip parser, about ten times slower: quote them.
    from generator.read.yamlfile import _load_fast

    assert _load_fast(rules_file, rules_file.read_text(encoding="utf-8")) is not None


def test_a_flow_list_of_colon_words_falls_back_to_the_round_trip_parser(tmp_path: Path) -> None:
    from generator.read.yamlfile import _load_fast

    slow = tmp_path / "slow.yaml"
    slow.write_text("actions: [s3:GetObject, s3:PutObject]\n", encoding="utf-8")
    assert _load_fast(slow, slow.read_text()) is None
    assert load_documents(slow, fast=True)[0].data == {"actions": ["s3:GetObject", "s3:PutObject"]}


@pytest.mark.parametrize("fast", [False, True], ids=["round-trip", "fast"])
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("DB_PASSWORD: *BlueHarbor2024xyz\n", "an alias (*...) to an anchor that is not defined"),
        ("DB_PASSWORD: !BlueHarbor2024xyz\n", "YAML tag '!...' is not allowed"),
    ],
    ids=["alias", "tag"],
)
def test_a_value_read_as_an_alias_or_a_tag_is_not_repeated_in_the_message(tmp_path: Path, text: str, says: str,
                                                                            fast: bool) -> None:  # fmt: skip
    """An unquoted password that begins with '*' or '!' is YAML syntax: the message named it, in a CI log."""
    err = _refusal(tmp_path, text, fast)
    assert says in err.message and "BlueHarbor" not in f"{err.message} {err.hint}", err.message
    assert "quoted" in (err.hint or "")
