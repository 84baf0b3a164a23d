"""The fixtures every suite has: `shared_dir` (tests/testkit/shared.py), one case per conformance file or
score-compose example, and `kit` (tests/testkit/: the one shared kit)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from testkit.render import RenderKit, SharedDir
from testkit.shared import conformance_files, example_names, shared_dir


@pytest.fixture(name="shared_dir")
def _shared_dir_fixture() -> Callable[..., Path]:
    """`shared_dir` for a test to call in its body, so a missing folder fails (or skips) the test itself
    rather than erroring in setup."""
    return shared_dir


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One test per conformance file, and one per score-compose example. With none found, a single "missing"
    # case still runs, so that shared_dir() decides between failing (PLATO_SHARED set) and skipping.
    if "example" in metafunc.fixturenames:
        names = example_names()
        metafunc.parametrize("example", names or [None], ids=names or ["missing"])
    if "conformance_file" in metafunc.fixturenames:
        files = conformance_files()
        if files:
            metafunc.parametrize("conformance_file", files, ids=files)
        else:
            metafunc.parametrize("conformance_file", [None], ids=["missing"])


# What makes generator/read/ci.py detect a CI system: a test run inside some CI must not read that CI's context.
CI_DETECTION = ("GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITLAB_CI", "BITBUCKET_BUILD_NUMBER", "BUILDKITE")
CI_DETECTION += ("CIRCLECI", "TF_BUILD", "JENKINS_URL")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that takes connections and never answers (a git server that hangs, over git:// or
    https://: the TLS handshake never ends either)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.fixture(autouse=True)
def _outside_any_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in CI_DETECTION:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_dir: SharedDir) -> RenderKit:
    """The in-process kit (tests/testkit/render.py); tests/reliability overrides it with its ProcessKit."""
    return RenderKit(tmp_path, monkeypatch, shared_dir)
