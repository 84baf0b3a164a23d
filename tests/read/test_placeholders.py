"""Score placeholders: parsed once into literal text and references."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.read.placeholders import PlaceholderError, Ref, Template, parse


def test_plain_text_is_one_literal() -> None:
    t = parse("hello world")
    assert t == Template(("hello world",))
    assert t.literal == "hello world"
    assert t.refs == ()
    assert t.single_ref is None


def test_empty_string() -> None:
    t = parse("")
    assert t.parts == ()
    assert t.literal == ""


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("$$", "$"),
        ("a$$b", "a$b"),
        ("$$$$", "$$"),
        ("$${metadata.name}", "${metadata.name}"),  # an escaped placeholder stays text
        ("price: 5$$", "price: 5$"),
    ],
)
def test_double_dollar_is_a_literal_dollar(text: str, literal: str) -> None:
    t = parse(text)
    assert t.literal == literal
    assert t.refs == ()


@pytest.mark.parametrize("text", ["$HOME", "echo $HOME/bin", "5$", "$", "a $ b", "$(VAR)", "$1"])
def test_dollar_not_before_brace_is_literal(text: str) -> None:
    assert parse(text).literal == text


def test_resource_output() -> None:
    t = parse("${resources.db.host}")
    assert t.parts == (Ref(("resources", "db", "host")),)
    assert t.single_ref == Ref(("resources", "db", "host"))
    assert t.literal is None


def test_whole_resource() -> None:
    t = parse("${resources.data}")
    assert t.single_ref == Ref(("resources", "data"))


def test_metadata() -> None:
    assert parse("${metadata.name}").single_ref == Ref(("metadata", "name"))


def test_text_and_references_keep_their_order() -> None:
    t = parse("postgres://${resources.db.user}@${resources.db.host}:5432/$${x}")
    assert t.parts == (
        "postgres://",
        Ref(("resources", "db", "user")),
        "@",
        Ref(("resources", "db", "host")),
        ":5432/${x}",
    )
    assert t.refs == (Ref(("resources", "db", "user")), Ref(("resources", "db", "host")))
    assert t.single_ref is None
    assert t.literal is None


def test_adjacent_references() -> None:
    t = parse("${metadata.name}${resources.db.port}")
    assert t.parts == (Ref(("metadata", "name")), Ref(("resources", "db", "port")))


def test_escaped_dot_stays_in_one_segment() -> None:
    t = parse(r"${metadata.annotations.example\.com/team}")
    assert t.single_ref == Ref(("metadata", "annotations", "example.com/team"))


def test_ref_text_escapes_dots_again() -> None:
    ref = Ref(("metadata", "annotations", "a.b/c"))
    assert ref.text == r"${metadata.annotations.a\.b/c}"
    assert parse(ref.text).single_ref == ref


def test_backslash_not_before_dot_is_kept() -> None:
    assert parse(r"${resources.db.a\b}").single_ref == Ref(("resources", "db", "a\\b"))
    assert parse(r"C:\path\$$x").literal == r"C:\path\$x"


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("${resources.}", "placeholder '${resources.}' has an empty part", 0),
        ("${resources..host}", "has an empty part", 0),
        ("x ${}", "placeholder '${}' has an empty part", 2),
        ("${.name}", "has an empty part", 0),
        ("${foo.bar}", "must start with metadata or resources, not 'foo'", 0),
        ("${Metadata.name}", "must start with metadata or resources, not 'Metadata'", 0),
        ("${metadata}", "placeholder '${metadata}' names no field", 0),
        ("${resources}", "names no field", 0),
        ("ok ${resources.db.host", "unclosed placeholder '${resources.db.host...': missing '}'", 3),
        ("${", "unclosed placeholder", 0),
        ("${metadata.name", "unclosed placeholder", 0),
        ("${resources.db.host\n}", "unclosed placeholder", 0),
        ("${resources.${metadata.name}}", "unclosed placeholder", 0),
        ("${metadata.name} and ${resources.x", "unclosed placeholder", 21),
    ],
)
def test_errors(text: str, message: str, offset: int) -> None:
    with pytest.raises(PlaceholderError) as info:
        parse(text)
    assert message in str(info.value)
    assert info.value.offset == offset


def test_unclosed_message_shortens_long_text() -> None:
    with pytest.raises(PlaceholderError) as info:
        parse("${resources.db." + "x" * 200)
    assert len(str(info.value)) < 80


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "",
        "a$$b",
        "$${metadata.name}",
        "${metadata.name}",
        "${resources.data}",
        r"${metadata.annotations.a\.b/c}",
        "x-${resources.db.host}:${resources.db.port}-y",
    ],
)
def test_source_spells_the_text_back(text: str) -> None:
    assert parse(text).source() == text


@pytest.mark.parametrize(("text", "canonical"), [("$HOME", "$$HOME"), ("5$", "5$$"), ("$", "$$")])
def test_source_escapes_a_lone_dollar(text: str, canonical: str) -> None:
    t = parse(text)
    assert t.source() == canonical
    assert parse(t.source()) == t


_ALPHABET = st.sampled_from(["$", "{", "}", ".", "\\", "a", "b", " ", "metadata", "resources", "name", "${"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=14).map("".join))
def test_source_round_trips(text: str) -> None:
    try:
        t = parse(text)
    except PlaceholderError as exc:
        assert 0 <= exc.offset < len(text)
        assert text[exc.offset : exc.offset + 2] == "${"
        return
    assert parse(t.source()) == t
    if "$" not in text:
        assert t.literal == text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="$}\n{"), min_size=1, max_size=6), min_size=1, max_size=4
    )
)
def test_any_segments_round_trip(segments: list[str]) -> None:
    ref = Ref(("resources", *segments))
    # A segment ending in a backslash cannot be written before a separator (`\.` is an escaped dot).
    if any(s.endswith("\\") for s in segments[:-1]):
        return
    assert parse(ref.text).single_ref == ref
