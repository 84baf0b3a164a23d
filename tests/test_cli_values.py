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


@pytest.mark.parametrize(
    ("option", "env", "says"),
    [
        (["--pr-body", "{folder}"], {}, "--pr-body {folder} is not a file path"),
        ([], {"GITHUB_OUTPUT": "{folder}"}, "GITHUB_OUTPUT {folder} is not a file path"),
        (
            [],
            {"GITHUB_STEP_SUMMARY": "/proc/plato-summary"},
            "GITHUB_STEP_SUMMARY /proc/plato-summary cannot be written",
        ),
    ],
    ids=["pr body is a folder", "outputs is a folder", "summary cannot be made"],
)
def test_a_file_the_run_writes_after_its_push_is_checked_before_anything_lands(option, env, says, tmp_path) -> None:
    """These were found after the push: exit 1 (an internal error) beside a commit that had landed."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    env = {k: v.format(folder=folder) for k, v in env.items()}
    result = CliRunner(env=env).invoke(main, [
        "publish", str(SHOP), "-c", "env=development", "-c", "app=shop", "--image", "x:1",
        "--repo", str(tmp_path / "deploy.git"), *(o.format(folder=folder) for o in option),
    ])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert says.format(folder=folder) in result.output and "nothing was published" in result.output
    assert not (tmp_path / "deploy.git").exists()


@pytest.mark.parametrize(
    ("env", "more", "says"),
    [
        ({"PLATO_RETRY_BACKOFF": "abc"}, [], "PLATO_RETRY_BACKOFF is not a number of seconds"),
        ({"PLATO_RETRY_BACKOFF": "nan"}, [], "PLATO_RETRY_BACKOFF is not a number of seconds"),
        ({}, ["--retry-for", "nan"], "--retry-for is not a number of seconds"),
        ({"PLATO_GIT_TIMEOUT": "abc"}, [], "PLATO_GIT_TIMEOUT is not a number of seconds"),
    ],
)
def test_a_setting_that_is_no_number_is_bad_input_and_leaves_nothing(env, more, says, tmp_path, monkeypatch) -> None:
    """An internal error (PLATO_RETRY_BACKOFF), a run that never gave up (--retry-for nan), a clone left behind
    (PLATO_GIT_TIMEOUT was read after the clone's folder was made)."""
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    result = CliRunner(env=env).invoke(main, [
        "publish", str(SHOP), "-c", "env=development", "-c", "app=shop", "--image", "x:1",
        "--repo", str(tmp_path / "deploy.git"), *more,
    ])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert list(private.iterdir()) == [] and not (tmp_path / "deploy.git").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["rollback", "-c", "env=development", "-c", "app=shop", "--to", "HEAD~1"],
        ["promote", "--from", "development", "--to", "production", "-c", "app=shop"],
    ],
    ids=["rollback", "promote"],
)
def test_a_command_that_reads_what_was_published_does_not_create_a_mistyped_repository(args, tmp_path) -> None:
    """rollback made an empty bare repository at the mistyped path, then failed with git's words (exit 3)."""
    missing = tmp_path / "deploymnets.git"
    result = CliRunner().invoke(main, [*args, "--repo", str(missing)])
    assert result.exit_code == 2, result.output
    assert f"deployment repository {missing} does not exist" in result.output
    assert not missing.exists()


@pytest.mark.parametrize("image", ["ghcr.io/acme/shop:1 ; rm -rf /", "UPPER/Case:@@", "x:1.0@sha256:abc", "a b"])
def test_an_image_that_is_no_image_reference_is_bad_input(image, tmp_path) -> None:
    """It was written into every manifest as it stood, and published with exit 0."""
    result = _publish(tmp_path / "deploy.git", "--image", image)
    assert result.exit_code == 2, result.output
    assert "is not an image reference" in result.output
    assert not (tmp_path / "deploy.git").exists()


def test_a_selection_that_names_a_key_twice_is_bad_input(tmp_path) -> None:
    """--select env=production,env=development kept the last value, silently."""
    result = CliRunner().invoke(main, ["rerender", "--repo", str(tmp_path / "r.git"), "--select",
                                       "env=production,env=development", "--dry-run"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--select names env twice" in result.output


@pytest.mark.parametrize("command", [["explain", "-c", "env=development", "-c", "app=web"], ["validate"]])
def test_a_credential_in_a_spec_is_refused_by_the_commands_that_only_read_it(command, tmp_path) -> None:
    """explain and validate exited 0 on a spec that publish refuses."""
    spec = tmp_path / "score.yaml"
    spec.write_text("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx:1.27\n"
                    f"    variables:\n      GH: {GHP}\n", encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(main, [command[0], str(spec), *command[1:]])
    assert result.exit_code == 2, result.output
    assert f"{spec}:8:" in result.output and GHP not in result.output
