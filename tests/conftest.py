"""Shared test helpers: where the `shared/` folder (conformance data, upstream schemas) lives.

`PLATO_SHARED` names it explicitly; a test that needs it then fails when it is missing (CI set it on purpose).
Without the variable the default is `../shared` beside the repository, and tests that need it are skipped when
it is not there (a fresh clone on its own).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
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


@pytest.fixture(name="shared_dir")
def _shared_dir_fixture() -> Callable[..., Path]:
    """`shared_dir` for a test to call in its body, so a missing folder fails (or skips) the test itself
    rather than erroring in setup."""
    return shared_dir


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One test per conformance file. With none found, a single "missing" case still runs, so that
    # shared_dir() decides between failing (PLATO_SHARED set) and skipping.
    if "conformance_file" in metafunc.fixturenames:
        files = conformance_files()
        if files:
            metafunc.parametrize("conformance_file", files, ids=files)
        else:
            metafunc.parametrize("conformance_file", [None], ids=["missing"])


# What makes generator/read/ci.py detect a CI system: a test run inside some CI must not read that CI's context.
CI_DETECTION = ("GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITLAB_CI", "BITBUCKET_BUILD_NUMBER", "BUILDKITE")
CI_DETECTION += ("CIRCLECI", "TF_BUILD", "JENKINS_URL")


@pytest.fixture(autouse=True)
def _outside_any_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in CI_DETECTION:
        monkeypatch.delenv(key, raising=False)
