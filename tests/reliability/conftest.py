"""Fixtures of the reliability tests (hostile input, the template sandbox, ownership, faults, secrets, soak):
`kit` is a ProcessKit (tests/testkit/process.py, plato as its own process against real git) and `serve` a
`git daemon` on 127.0.0.1 with a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from testkit.git import Daemon, free_port, start_daemon, stop
from testkit.process import ProcessKit


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[ProcessKit]:
    plato_tmp = tmp_path / "plato-tmp"
    plato_tmp.mkdir()
    k = ProcessKit(tmp=tmp_path, plato_tmp=plato_tmp)
    yield k
    for proc in k.procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.communicate(timeout=10)


# -- git daemon -------------------------------------------------------------------------------------------------


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    """serve(receive_pack=True, max_connections=None): `git daemon` on 127.0.0.1 and a free port, serving
    tmp_path/served-N; with receive_pack=False it serves fetches only (pushes are refused). Killed at teardown."""
    daemons: list[Daemon] = []

    def start(receive_pack: bool = True, max_connections: int | None = None) -> Daemon:
        n = len(daemons)
        log = tmp_path / f"git-daemon-{n}.log"
        daemon = start_daemon(tmp_path / f"served-{n}", log, receive_pack, max_connections)
        if daemon is None:
            pytest.fail(f"git daemon did not start: {log.read_text(errors='replace')}")
        daemons.append(daemon)
        return daemon

    yield start
    for d in daemons:
        stop(d.proc)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    return free_port()
