"""Errors become exit codes in one place (generator/error_handler.py): one readable message per error class, a
traceback only with --debug, credentials masked. Driven through the real command group (generator.cli.Plato)
with a command that raises what it is told to."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from generator.cli import Plato
from generator.error_handler import INTERRUPTED
from generator.errors import EXIT_BUG, EXIT_REPO, EXIT_USER, Errors, RepoError, UserError

RAISES = {
    "user": lambda: UserError("unknown type 'redsi'", file="score.yaml", line=9, hint="did you mean 'redis'?"),
    "several": lambda: Errors([UserError("b", file="r.yaml", line=5), UserError("a", file="r.yaml", line=2)]),
    "repo": lambda: RepoError("git push: the deployment repository is unreachable", hint="check --repo"),
    "bug": lambda: ValueError("cannot unpack https://bot:hunter2pass@git.example.com/d.git"),
    "interrupt": lambda: KeyboardInterrupt(),
    "usage": lambda: click.UsageError("no such option: --imagee"),
}


@click.group(cls=Plato)
@click.option("--debug", is_flag=True)
def cli(debug: bool) -> None:
    pass


@cli.command()
@click.argument("what", type=click.Choice(sorted(RAISES)))
def boom(what: str) -> None:
    raise RAISES[what]()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"PLATO_DEBUG": None, **(env or {})})
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("what", "code", "says"),
    [
        ("user", EXIT_USER, "score.yaml:9: error: unknown type 'redsi'\n  hint: did you mean 'redis'?\n"),
        ("several", EXIT_USER, "r.yaml:2: error: a\nr.yaml:5: error: b\n"),
        ("repo", EXIT_REPO, "error: git push: the deployment repository is unreachable\n  hint: check --repo\n"),
    ],
)
def test_each_plato_error_is_its_exit_code_and_exactly_its_message(what: str, code: int, says: str) -> None:
    assert run("boom", what) == (code, says)


def test_a_bug_is_exit_1_with_its_type_and_how_to_report_it_and_its_credentials_masked() -> None:
    code, out = run("boom", "bug")
    assert code == EXIT_BUG
    assert out.startswith("internal error: ValueError: cannot unpack https://***@git.example.com/d.git\n")
    assert "This is a bug in plato. Run again with --debug" in out
    assert "hunter2pass" not in out and "Traceback" not in out


@pytest.mark.parametrize("how", [("--debug",), ("PLATO_DEBUG",)])
def test_debug_adds_the_traceback_and_keeps_the_message_and_the_exit_code(how: tuple[str, ...]) -> None:
    flags, env = (list(how), None) if how[0] == "--debug" else ([], {"PLATO_DEBUG": "1"})
    for what, code in (("bug", EXIT_BUG), ("user", EXIT_USER)):
        got, out = run(*flags, "boom", what, env=env)
        assert got == code
        assert "Traceback (most recent call last)" in out and "raise RAISES[what]()" in out
        assert "hunter2pass" not in out  # the traceback is printed through the mask too
    assert run("boom", "user", env={"PLATO_DEBUG": "0"})[1].count("Traceback") == 0


def test_an_interrupt_is_130_and_says_what_the_repository_holds() -> None:
    code, out = run("boom", "interrupt")
    assert code == INTERRUPTED == 130
    assert out.startswith("interrupted: plato stopped.") and "one whole new commit" in out
    assert "Traceback" not in out


def test_click_usage_errors_are_left_to_click() -> None:
    code, out = run("boom", "usage")
    assert code == 2 and "Error: no such option: --imagee" in out and "Usage:" in out
    assert "internal error" not in out
