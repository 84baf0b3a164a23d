"""The README's examples cannot go stale: every `console` block that shows a plato command is run, and the lines
it shows must appear in the real output in the same order (`...` stands for lines left out)."""

from __future__ import annotations

import re
import shlex
import textwrap

import pytest
from click.testing import CliRunner
from testkit.shared import REPO

from generator.cli import main

BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def _examples() -> list[tuple[str, list[str]]]:
    out = []
    for block in BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8")):
        lines = textwrap.dedent(block).rstrip("\n").split("\n")
        if lines and lines[0].startswith("$ plato "):
            out.append((lines[0][2:], lines[1:]))
    return out


EXAMPLES = _examples()


def test_the_readme_shows_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_output_is_real(command: str, shown: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, shlex.split(command)[1:], catch_exceptions=False)
    actual = result.output.splitlines()
    at = 0
    for line in shown:
        if line.strip() == "...":
            continue
        try:
            at = actual.index(line, at) + 1
        except ValueError:
            pytest.fail(f"README shows a line that `{command}` does not print (in this order):\n{line}")
