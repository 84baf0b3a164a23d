"""Values given on the command line that become part of the deployment repository, or are repeated by click's own
messages: a branch git would refuse (or take as something else) is bad input, and a credential typed into any flag
is never printed back."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"
GHP = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"


def _publish(repo: Path, *more: str) -> object:
    args = ["publish", str(SHOP), "-c", "env=development", "-c", "app=shop", "--image", "x:1", "--repo", str(repo)]
    return CliRunner().invoke(main, [*args, *more])


@pytest.mark.parametrize("branch", ["", "a..b", "-x", "HEAD", "refs/heads/main", "x.lock", "a b", "a:b", "a//b", GHP])
def test_a_branch_git_would_refuse_or_misread_is_bad_input_and_nothing_is_created(branch, tmp_path) -> None:
    result = _publish(tmp_path / "deploy.git", "--branch", branch)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--branch'" in result.output
    assert GHP not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "deploy.git").exists()


def test_a_branch_with_folders_is_a_branch(tmp_path) -> None:
    result = _publish(tmp_path / "deploy.git", "--branch", "release/1.2")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "deploy.git" / "refs" / "heads" / "release" / "1.2").exists() or "release/1.2" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["publish", str(SHOP), "--format", GHP],
        [f"--{GHP}"],
        ["publish", f"--{GHP}"],
        [GHP],
        ["rerender", "--mode", GHP],
    ],
    ids=["choice", "group option", "command option", "command", "mode"],
)
def test_a_credential_in_a_usage_error_is_masked(args) -> None:
    """click printed its usage errors after the command's masked output had ended, the value as typed."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert GHP not in result.output and "***" in result.output, result.output
