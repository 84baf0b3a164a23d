"""What a refused run must look like: the exit code, one clear error line naming the place, no traceback, no
internal error, and none of the given values anywhere in the output."""

from __future__ import annotations

from collections.abc import Sequence

from click.testing import Result

from testkit.git import Run


def one_error_line(run: Run) -> str:
    """The first `error:` line of a failed run. A run reports every problem it finds, sorted by place (a spec
    with two mistakes gets two lines), each in the one-message form."""
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert errors, f"expected an error line\n{run.explain()}"
    return errors[0]


def assert_refused(
    run: Run,
    code: int = 2,
    *,
    names: Sequence[str] = (),
    line: int | None = None,
    says: Sequence[str] = (),
    never: Sequence[str] = (),
) -> str:
    """A run refused with `code`: one clear error line naming `names` (file:line when `line` is given), saying
    `says`, no traceback, no internal error, and none of `never` anywhere in its output. Returns the line."""
    assert run.returncode == code, run.explain()
    assert "Traceback" not in run.output, run.explain()
    assert "internal error" not in run.output, run.explain()
    err = one_error_line(run)
    for name in names:
        assert name in err, f"the error does not name {name!r}: {err}\n{run.explain()}"
    if line is not None:
        assert names, "give the file a line belongs to"
        assert f"{names[0]}:{line}" in err, f"the error does not point at {names[0]}:{line}: {err}\n{run.explain()}"
    low = run.stderr.lower()
    for text in says:
        assert text.lower() in low, f"the message does not say {text!r}\n{run.explain()}"
    for text in never:
        assert text not in run.output, f"the output contains {text!r}\n{run.explain()}"
    return err


def assert_user_error(result: Result, *needles: str) -> str:
    """Exit 2, every needle in the message, and no traceback or 'internal error'."""
    out = result.output
    assert result.exit_code == 2, f"exit {result.exit_code}:\n{out}\n{result.exception!r}"
    assert "Traceback" not in out, out
    assert "internal error" not in out, out
    for needle in needles:
        assert needle in out, f"{needle!r} not in:\n{out}"
    return out
