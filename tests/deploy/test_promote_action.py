"""The Action passes the build step's digest: `image-digest` turns `repo:tag` into `repo:tag@sha256:...`, which
the record pins (run as GitHub runs the step, against a local bare repository)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from testkit.git import REPO

DIGEST = "sha256:" + "ab" * 32


def run_step(tmp_path: Path, digest: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "publish")
    assert step["env"]["PLATO_IMAGE_DIGEST"] == "${{ inputs.image-digest }}"
    remote = tmp_path / "deployments.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PLATO_", "GIT_"))},
        "GIT_CONFIG_GLOBAL": os.devnull,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_SERVER_URL": "https://github.example.com",
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        "RUNNER_TEMP": str(tmp_path),
        "PLATO_WORKLOADS": "examples/shop",
        "PLATO_INPUT_CONTEXT": "env=development\napp=shop",
        "PLATO_IMAGE": "ghcr.io/acme/shop:1.4.0",
        "PLATO_IMAGE_DIGEST": digest,
        "PLATO_RULES": "",
        "PLATO_REPOSITORY": remote.as_uri(),
        "PLATO_TOKEN": "not-a-real-token",
        "PLATO_MODE": "push",
        "PLATO_BRANCH": "main",
    }
    result = subprocess.run(["bash", "-c", step["run"]], cwd=REPO, env=env, capture_output=True, text=True)
    return result, remote


def test_the_action_pins_the_image_by_the_build_digest(tmp_path: Path) -> None:
    result, remote = run_step(tmp_path, DIGEST)
    assert result.returncode == 0, result.stderr
    shown = subprocess.run(
        ["git", "--git-dir", str(remote), "show", "main:.plato/inputs/development/shop.json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pinned = json.loads(shown)["pinned"]
    assert pinned["image"] == f"ghcr.io/acme/shop:1.4.0@{DIGEST}" and pinned["digest"] == DIGEST


def test_the_action_refuses_a_digest_that_is_not_one(tmp_path: Path) -> None:
    result, remote = run_step(tmp_path, "1.4.0")
    assert result.returncode == 2
    assert "image-digest must be sha256:" in result.stdout
    heads = subprocess.run(["git", "--git-dir", str(remote), "for-each-ref"], capture_output=True, text=True)
    assert heads.stdout == ""


def test_the_check_run_step_reports_each_check_of_the_publish_step() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s["name"] == "Report plato's checks as check runs")
    assert step["env"]["PLATO_CHECKS"] == "${{ steps.publish.outputs.checks }}"
    assert step["env"]["PLATO_COMMIT"] == "${{ steps.publish.outputs.commit }}"
    assert "inputs.check-runs == 'true'" in step["if"]
    assert action["outputs"]["checks"]["value"] == "${{ steps.publish.outputs.checks }}"
    assert subprocess.run(["bash", "-n", "-c", step["run"]], check=False).returncode == 0
    assert 'name="plato/${check}"' in step["run"] and 'conclusion="$outcome"' in step["run"]
