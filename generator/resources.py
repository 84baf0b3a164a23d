"""Where the bundled schemas/ and rules/ are, installed or from a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def bundled_dir(name: str) -> Path:
    """`schemas` or `rules`: inside the installed package, else at the top of the source tree."""
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled folder '{name}' is missing from the plato installation")
