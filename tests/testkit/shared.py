"""Where the `shared/` folder (conformance data, upstream schemas, score-compose examples) lives.

`PLATO_SHARED` names it explicitly; a test that needs it then fails when it is missing (CI set it on purpose).
Without the variable the default is `../shared` beside the repository, and tests that need it are skipped when
it is not there (a fresh clone on its own).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testkit.render import EXAMPLES

REPO = Path(__file__).resolve().parents[2]
CONFORMANCE = ("conformance", "score")


def _shared_location() -> tuple[Path, bool]:
    """The shared folder and whether PLATO_SHARED chose it, without checking that it exists."""
    env = os.environ.get("PLATO_SHARED")
    if env:
        return Path(env).expanduser().resolve(), True
    return REPO.parent / "shared", False


def shared_dir(*parts: str) -> Path:
    """The shared folder (or a path inside it): fails if PLATO_SHARED names a missing one, else skips."""
    root, explicit = _shared_location()
    path = root.joinpath(*parts)
    if not path.exists():
        if explicit:
            pytest.fail(f"PLATO_SHARED={os.environ['PLATO_SHARED']}: {path} does not exist", pytrace=False)
        pytest.skip(f"{path} not found (set PLATO_SHARED to the shared folder)")
    return path


def conformance_files() -> list[str]:
    """The conformance Score files, relative to conformance/score/, listed at collection (never skips)."""
    root = _shared_location()[0].joinpath(*CONFORMANCE)
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.yaml") if p.is_file())


def example_names() -> list[str]:
    root = _shared_location()[0].joinpath(*EXAMPLES)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.yaml")))
