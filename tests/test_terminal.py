"""Colour on a terminal, none elsewhere: plato run on a real pseudo-terminal, with NO_COLOR, and piped."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from testkit.shared import REPO

from generator import terminal

ESC = b"\x1b["


def _plato(args: list[str], env: dict[str, str], tty: bool) -> bytes:
    """Run plato with stdout and stderr on a pseudo-terminal (as a person at a shell would) or on a pipe."""
    cmd = [sys.executable, "-m", "generator", *args]
    if not tty:
        return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, timeout=120).stdout
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    out = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=120)
    os.close(leader)
    return out


@pytest.fixture
def preview_args(tmp_path: Path) -> list[str]:
    remote = tmp_path / "deployments.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    shop = ["examples/shop", "-c", "env=development", "-c", "app=shop", "--image", "ghcr.io/acme/shop:1.0"]
    return ["preview", *shop, "--repo", str(remote)]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM") and not k.startswith("GITHUB_")}
    return {**env, "TERM": "xterm-256color", **extra}


def test_a_terminal_gets_colour_and_a_drawn_table(preview_args: list[str]) -> None:
    out = _plato(preview_args, _env(), tty=True)
    assert ESC in out, out[:500]
    assert b"would change" in out and b"added" in out


def test_no_color_means_none(preview_args: list[str]) -> None:
    out = _plato(preview_args, _env(NO_COLOR="1"), tty=True)
    assert b"would change" in out
    assert ESC not in out


def test_a_pipe_gets_plain_text(preview_args: list[str]) -> None:
    out = _plato(preview_args, _env(), tty=False)
    assert b"would change" in out and b" added" in out
    assert ESC not in out


def test_json_is_the_same_on_a_terminal(preview_args: list[str]) -> None:
    import json

    on_tty = _plato([*preview_args, "--format", "json"], _env(), tty=True)
    piped = _plato([*preview_args, "--format", "json"], _env(), tty=False)
    assert ESC not in on_tty
    # The terminal shows stderr too (policy warnings): the JSON document is the same bytes as when piped.
    text = on_tty.replace(b"\r\n", b"\n")
    document = text[text.index(b"{") : text.rindex(b"}") + 1]
    assert json.loads(document) == json.loads(piped)


def test_plain_table_aligns_columns() -> None:
    lines = terminal.table(
        ("", "added", "changed", "removed"), [("Deployment", "1", "0", "0"), ("HTTPRoute", "12", "3", "0")]
    )
    assert lines == [
        "  Deployment   1 added   0 changed   0 removed",
        "  HTTPRoute   12 added   3 changed   0 removed",
    ]
