"""The one place where errors become exit codes and messages (pre-commit's error_handler.py is the model).

0 success, 1 a bug in plato, 2 bad input (spec, rules, context, flags), 3 the repository or git after retries,
130 interrupted. A user gets one readable message; a bug gets its type and message and, with `--debug` or
PLATO_DEBUG=1, the traceback. Every message is masked for credentials on its way out.
"""

from __future__ import annotations

import contextlib
import signal
import traceback
from collections.abc import Iterator
from typing import Any

import click

from generator.errors import EXIT_BUG, PlatoError, mask_secrets

INTERRUPTED = 130


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) unwinds like Ctrl-C, so temporary clones are removed and git is stopped."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def exit_codes(ctx: click.Context, debug: bool) -> Iterator[None]:
    try:
        yield
    except PlatoError as exc:
        if debug:
            traceback.print_exc()
        click.echo(exc.render(), err=True)
        ctx.exit(exc.exit_code)
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise
    except KeyboardInterrupt:
        click.echo(
            "interrupted: plato stopped. The deployment repository holds either its previous state or one whole "
            "new commit (a push is atomic); run again to be sure it holds this one",
            err=True,
        )
        ctx.exit(INTERRUPTED)
    except Exception as exc:  # a bug: say so, and how to report it
        if debug:
            traceback.print_exc()
        click.echo(
            mask_secrets(
                f"internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in plato. Run again with --debug for the traceback and report it."
            ),
            err=True,
        )
        ctx.exit(EXIT_BUG)
