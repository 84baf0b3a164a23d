"""One error hierarchy, one place that turns errors into exit codes.

`UserError` is everything a user can cause and fix: it carries the file, line, column and a hint, and exits 2.
`RepoError` is the deployment repository or git failing after retries: exit 3. Anything else is a bug: exit 1.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Protocol, Self

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USER = 2
EXIT_REPO = 3

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<cred>[^/@\s]+)@")


_SECRETS: set[str] = set()


def register_secret(value: str) -> None:
    """A credential this run knows (the userinfo of --repo): masked in every message, however git words it."""
    if len(value) >= 4:
        _SECRETS.add(value)


_PATHS: set[str] = set()


def register_path(value: str) -> None:
    """A local folder the user named (--repo as a path): printed as written, though a temporary folder's random
    name (mktemp) looks like a high-entropy token. Only a path on this machine (it or its parent exists) and
    with no known credential shape in it; a URL never."""
    from generator.credentials import first

    found = first(value, assignments=False)
    if len(value) >= 4 and "://" not in value and "@" not in value and (found is None or found.rank == 3):
        path = Path(value)
        if path.exists() or path.parent.exists():
            _PATHS.add(value)


def mask_secrets(text: str) -> str:
    """Hide every credential in text that is printed or handed to CI (messages, PR bodies, step summaries):
    the ones this run knows (--repo's userinfo), whole URL userinfo, and whatever the one detector finds
    (generator/credentials.py). Printing never refuses; it masks."""
    from generator.credentials import REFERENCE, mask

    def userinfo(m: re.Match[str]) -> str:
        _, colon, password = m.group("cred").partition(":")
        if colon and not REFERENCE.sub("", password):
            return m.group(0)  # user:$(PASSWORD_VAR)@: a reference, shown as written
        return f"{m.group('scheme')}***@"  # a token as the user name, or user:password

    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    shown = [p for p in sorted(_PATHS, key=len, reverse=True) if p in text]
    for i, path in enumerate(shown):  # out of the detector's sight (NUL is in no token), then put back
        text = text.replace(path, f"\0{i}\0")
    text = mask(_URL_CREDENTIALS.sub(userinfo, text))
    for i, path in enumerate(shown):
        text = text.replace(f"\0{i}\0", path)
    return text


class MaskedStream:
    """stdout or stderr with every write masked: the one choke point for what plato prints."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(mask_secrets(text) if isinstance(text, str) else text)
        return len(text)

    def __getattr__(self, name: str) -> Any:  # encoding, errors, flush, isatty...
        if name == "buffer":  # never the bytes underneath: writing there would skip the mask
            raise AttributeError(name)
        return getattr(self._stream, name)


@contextmanager
def masked_output() -> Iterator[None]:
    """Everything printed while inside passes mask_secrets (the command line wraps every command in it)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = MaskedStream(out), MaskedStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


class Located(Protocol):
    """Anything that knows where it was written: a rule, a spec's `where`, an Environment."""

    @property
    def file(self) -> str | Path | None: ...

    @property
    def line(self) -> int | None: ...


class PlatoError(Exception):
    """Base of every error plato reports to a user rather than as a bug."""

    exit_code = EXIT_USER

    @classmethod
    def at(cls, place: Located, message: str, hint: str | None = None) -> Self:
        """The error at the file and line where `place` was written."""
        return cls(message, file=place.file, line=place.line, hint=hint)

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.col = col
        self.hint = hint

    def location(self) -> str:
        if not self.file:
            return ""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return where

    def render(self) -> str:
        where = self.location()
        text = f"{where}: error: {self.message}" if where else f"error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return mask_secrets(text)

    def __str__(self) -> str:
        return self.render()


class UserError(PlatoError):
    """Bad input: a spec, a rule, the context, a flag. Exit 2."""


class RepoError(PlatoError):
    """The deployment repository or git failed (after retries). Exit 3."""

    exit_code = EXIT_REPO


ERROR_LIMIT = 50  # more than this in one run is one mistake repeated: the first ones say what to fix


class Errors(UserError):
    """Several user errors found in one run, reported together, sorted by file and line."""

    def __init__(self, errors: list[PlatoError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file or "", e.line or 0, e.col or 0))
        super().__init__(f"{len(errors)} errors")

    def render(self) -> str:
        shown = [e.render() for e in self.errors[:ERROR_LIMIT]]
        if len(self.errors) > ERROR_LIMIT:
            shown.append(f"... and {len(self.errors) - ERROR_LIMIT} more errors: fix these and run again")
        return "\n".join(shown)


class Collector:
    """Gathers the user errors of independent pieces of work (files, resources, templates), so that one run
    reports every problem it can find instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[PlatoError] = []

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Run a piece of work; a user error it raises is kept, and the caller goes on with the next piece."""
        try:
            yield
        except Errors as exc:
            self.errors.extend(exc.errors)
        except UserError as exc:
            self.errors.append(exc)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def check(self) -> None:
        """Raise what was gathered: the one error as it is, several as one `Errors`."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise Errors(self.errors)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A hint naming the closest choice, or listing all when none is close."""
    options = sorted(set(choices))
    close = get_close_matches(name, options, n=1, cutoff=0.6)
    listed = ", ".join(options) if options else "(none)"
    if close:
        return f"did you mean '{close[0]}'? allowed: {listed}"
    return f"allowed: {listed}"
