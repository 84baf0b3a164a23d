"""What a person at a terminal sees: colour, tables and progress bars there, plain text everywhere else.

Colour is for a terminal only: never when the stream is piped or a file (a CI log, `--format json`), never with
`NO_COLOR` set to anything (no-color.org), never with `TERM=dumb`. rich (tables, progress bars) is imported only
when a terminal will show what it draws, so a CI step never pays for it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

import click


def colour(stream: TextIO | None = None) -> bool:
    """Whether `stream` (default stderr, where plato talks to people) gets colour."""
    stream = stream if stream is not None else sys.stderr
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def echo(text: str, *, err: bool = True, nl: bool = True) -> None:
    """click.echo with styles kept on a terminal and stripped everywhere else (NO_COLOR included)."""
    click.echo(text, err=err, nl=nl, color=colour(sys.stderr if err else sys.stdout))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, stream: TextIO | None = None) -> list[str]:
    """A summary table: drawn by rich on a terminal, aligned plain columns otherwise (the first column left-aligned,
    numbers right-aligned)."""
    if not colour(stream):
        width = max([len(headers[0]), *(len(r[0]) for r in rows)])
        return [
            f"  {r[0]:<{width}} " + " ".join(f"{c:>3} {h}" for c, h in zip(r[1:], headers[1:], strict=True))
            for r in rows
        ]
    import io

    from rich.console import Console
    from rich.table import Table

    t = Table(*headers, box=None, header_style="bold", pad_edge=False)
    for i, _ in enumerate(headers[1:], 1):
        t.columns[i].justify = "right"
    for r in rows:
        t.add_row(*r)
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=True, width=110).print(t)
    return ["  " + line for line in buffer.getvalue().rstrip("\n").split("\n")]


@contextlib.contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long work (a fleet re-render), `advance(n)` to move it; nothing off a terminal."""
    if total < 2 or not colour():
        yield _nothing
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


def _nothing(n: int = 1) -> None:
    pass
