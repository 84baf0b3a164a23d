"""The error hierarchy (generator/errors.py): where an error points, how it reads, several errors in one run,
and credentials masked on the way out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from generator.errors import (
    ERROR_LIMIT,
    EXIT_REPO,
    EXIT_USER,
    Collector,
    Errors,
    PlatoError,
    RepoError,
    UserError,
    did_you_mean,
    masked_output,
    register_secret,
)


class Place(NamedTuple):
    file: str | Path | None
    line: int | None


def test_an_error_points_at_file_line_and_column_and_says_what_to_do() -> None:
    err = UserError("unknown field 'imagee'", file=Path("specs/web.yaml"), line=4, col=7, hint="did you mean 'image'?")
    assert err.render() == "specs/web.yaml:4:7: error: unknown field 'imagee'\n  hint: did you mean 'image'?"
    assert str(err) == err.render()
    assert UserError("x", file="a.yaml", col=3).location() == "a.yaml"  # a column means nothing without a line
    assert UserError("bad flag").render() == "error: bad flag"
    assert (UserError("x").exit_code, RepoError("x").exit_code) == (EXIT_USER, EXIT_REPO)


def test_at_takes_the_place_a_rule_or_spec_was_written() -> None:
    err = RepoError.at(Place(Path("rules/10-envs.yaml"), 12), "push refused", hint="run again")
    assert isinstance(err, RepoError)  # the class it was called on
    assert (err.file, err.line, err.col, err.hint) == ("rules/10-envs.yaml", 12, None, "run again")
    assert UserError.at(Place(None, None), "no place").render() == "error: no place"


def test_rendering_masks_credentials_in_the_message_and_the_hint() -> None:
    register_secret("s3cr3tTokenValue42")
    err = UserError(
        "cannot fetch https://bot:hunter2pass@git.example.com/d.git",
        file="--repo",
        hint="the token s3cr3tTokenValue42 lacks access; redis://u:$(PASSWORD)@db is fine",
    )
    text = err.render()
    assert "hunter2pass" not in text and "s3cr3tTokenValue42" not in text
    assert "https://***@git.example.com/d.git" in text
    assert "redis://u:$(PASSWORD)@db" in text  # a reference to a variable is not a value
    assert err.message.startswith("cannot fetch https://bot:hunter2pass")  # masked when shown, not when kept


def test_several_errors_are_sorted_by_file_line_and_column() -> None:
    errors: list[PlatoError] = [
        UserError("c", file="b.yaml", line=2),
        UserError("b", file="a.yaml", line=10, col=5),
        UserError("a", file="a.yaml", line=10, col=1),
        UserError("no line", file="a.yaml"),
        UserError("no file"),
    ]
    combined = Errors(errors)
    assert [e.message for e in combined.errors] == ["no file", "no line", "a", "b", "c"]
    assert combined.render().splitlines()[2] == "a.yaml:10:1: error: a"
    assert combined.message == "5 errors" and combined.exit_code == EXIT_USER


@pytest.mark.parametrize("count", [ERROR_LIMIT, ERROR_LIMIT + 7])
def test_at_most_error_limit_errors_are_shown_and_the_rest_counted(count: int) -> None:
    lines = Errors([UserError(f"e{i}", file="f.yaml", line=i + 1) for i in range(count)]).render().splitlines()
    assert len(lines) == min(count, ERROR_LIMIT) + (count > ERROR_LIMIT)
    assert lines[ERROR_LIMIT - 1] == f"f.yaml:{ERROR_LIMIT}: error: e{ERROR_LIMIT - 1}"  # the first ones, in order
    if count > ERROR_LIMIT:
        assert lines[-1] == f"... and {count - ERROR_LIMIT} more errors: fix these and run again"


def test_a_collector_keeps_user_errors_flattens_several_and_lets_everything_else_through() -> None:
    collector = Collector()
    assert not collector
    with collector.attempt():
        raise UserError("one", file="b.yaml", line=1)
    with collector.attempt():
        raise Errors([UserError("two", file="a.yaml", line=2), UserError("three", file="a.yaml", line=1)])
    with collector.attempt():
        pass
    assert collector and [e.message for e in collector.errors] == ["one", "three", "two"]  # Errors came sorted
    for other in (RepoError("the remote is gone"), KeyError("bug")):
        with pytest.raises(type(other)), collector.attempt():
            raise other  # not the user's to fix: never gathered
    with pytest.raises(Errors) as caught:
        collector.check()
    assert [e.message for e in caught.value.errors] == ["three", "two", "one"]


def test_a_collector_with_one_error_raises_it_as_it_is_and_with_none_nothing() -> None:
    Collector().check()
    single = UserError("only", file="x.yaml", line=3)
    collector = Collector()
    with collector.attempt():
        raise single
    with pytest.raises(UserError) as caught:
        collector.check()
    assert caught.value is single


def test_did_you_mean_names_the_closest_choice_or_lists_them_all() -> None:
    assert did_you_mean("postgress", ["redis", "postgres", "postgres"]) == (
        "did you mean 'postgres'? allowed: postgres, redis"
    )
    assert did_you_mean("kafka", ["redis", "postgres"]) == "allowed: postgres, redis"
    assert did_you_mean("x", []) == "allowed: (none)"


def test_masked_output_masks_what_is_printed_inside_and_restores_the_streams(capsys) -> None:
    register_secret("ghTok9Xy7Wv5Ut3")
    before = (sys.stdout, sys.stderr)
    with masked_output():
        print("pushing with ghTok9Xy7Wv5Ut3")
        print("to https://u:pa55word@h/r.git", file=sys.stderr)
    assert (sys.stdout, sys.stderr) == before
    out, err = capsys.readouterr()
    assert out == "pushing with ***\n" and err == "to https://***@h/r.git\n"


def test_a_folder_the_user_named_is_printed_as_written_and_nothing_else_is_unmasked(tmp_path) -> None:
    """mktemp's random names look like high-entropy tokens: the --repo folder of this run is shown as given, but
    a path with a known token shape is never taken, and a credential beside the path is still masked."""
    from generator.errors import _PATHS, mask_secrets, register_path

    folder = tmp_path / "tmp.Xp8dKq2LmZ7w"
    folder.mkdir()
    repo = str(folder / "deployments.git")
    token = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF2hJ4"
    other = str(tmp_path / "tmp.Qz7Lw2Rt9Yx4") + "/deployments.git"
    try:
        assert "***" in mask_secrets(f"commit abc in {repo}")  # before: the detector takes it for a token
        register_path(repo)
        register_path(str(tmp_path / token))  # a known token shape: never shown
        register_path("https://example.com/x")  # a URL: never
        assert mask_secrets(f"commit abc in {repo}") == f"commit abc in {repo}"
        assert mask_secrets(f"{repo} {token}") == f"{repo} ***"
        assert "***" in mask_secrets(f"in {tmp_path / token}") and "***" in mask_secrets(f"in {other}")
    finally:
        _PATHS.clear()
