"""Fixtures of the create-stage tests: `kit` is a RenderKit (tests/testkit/render.py), and every test that takes
`example` runs once per score-compose example of the shared folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from testkit.render import EXAMPLES, REPO, RenderKit, SharedDir


def _shared_root() -> Path:
    """Where the shared folder is, for listing examples at collection (tests/conftest.py decides fail or skip)."""
    env = os.environ.get("PLATO_SHARED")
    return Path(env).expanduser().resolve() if env else REPO.parent / "shared"


def example_names() -> list[str]:
    root = _shared_root().joinpath(*EXAMPLES)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One case per score-compose example. With none found a single "missing" case still runs, so that
    # shared_dir() decides between failing (PLATO_SHARED set) and skipping.
    if "example" in metafunc.fixturenames:
        names = example_names()
        metafunc.parametrize("example", names or [None], ids=names or ["missing"])


@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_dir: SharedDir) -> RenderKit:
    return RenderKit(tmp_path, monkeypatch, shared_dir)
