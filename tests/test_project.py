"""The project's face: the README's commands, the GitHub Action and its workflow example, a fast --help."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml
from testkit.shared import REPO, shared_dir

README = (REPO / "README.md").read_text(encoding="utf-8")


def _schema(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(shared_dir("schemas", "github", name).read_text(encoding="utf-8"))
    return data


def test_action_yml_is_valid() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    jsonschema.validate(action, _schema("github-action.json"))
    steps = action["runs"]["steps"]
    assert all("shell" in s for s in steps if "run" in s), "every run step of a composite action needs a shell"
    assert all("value" in o for o in action["outputs"].values())
    for step in steps:  # inputs reach scripts through env:, never pasted into them
        assert "${{ inputs." not in step.get("run", "")


def test_readme_workflow_is_valid() -> None:
    block = README.split("<!-- workflow-example -->", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    from ruamel.yaml import YAML

    workflow = YAML(typ="safe").load(block)  # YAML 1.2, as GitHub reads it: `on` is a key, not true
    jsonschema.validate(workflow, _schema("github-workflow.json"))
    assert workflow["jobs"]["deploy"]["steps"][2]["uses"].endswith("plato@v1")


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n# 2\. Run the tests[^\n]*\n(.+?)\n```", README, re.S)
    assert commands, "the README names its test command"
    assert commands[0].strip() in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_help_is_light() -> None:
    # --help must stay fast: the heavy libraries load only inside the commands that need them.
    code = "import sys; from generator.cli import main; print(sorted(m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for heavy in ("ruamel", "jinja2", "pydantic", "git", "jsonschema", "yaml"):
        assert f"'{heavy}'" not in out, f"{heavy} is imported by plato --help"


def test_help_and_version() -> None:
    out = subprocess.run([sys.executable, "-m", "generator", "--help"], capture_output=True, text=True, check=True)
    for command in ("validate", "schema", "explain", "render", "preview", "publish"):
        assert command in out.stdout
    version = subprocess.run([sys.executable, "-m", "generator", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and re.search(r"\d+\.\d+\.\d+", version.stdout)


def test_action_publish_step_runs(tmp_path: Path) -> None:
    """The action's publish script, run as GitHub would run it, against a local repository."""
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "publish")
    remote = tmp_path / "deployments.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    outputs, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_SERVER_URL": "https://github.example.com",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
        "PLATO_WORKLOADS": "examples/shop/api.score.yaml\nexamples/shop/worker.score.yaml",
        "PLATO_INPUT_CONTEXT": "  env=development\napp=shop\n\n",
        "PLATO_IMAGE": "ghcr.io/acme/shop:1.4.0",
        "PLATO_RULES": "",
        "PLATO_REPOSITORY": remote.as_uri(),
        "PLATO_TOKEN": "not-a-real-token",
        "PLATO_MODE": "push",
        "PLATO_BRANCH": "main",
    }
    result = subprocess.run(["bash", "-c", step["run"]], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    shown = (result.stdout + result.stderr).replace("::add-mask::not-a-real-token", "")
    assert "not-a-real-token" not in shown
    written = outputs.read_text(encoding="utf-8")
    assert "changed=true" in written and "branch=main" in written
    assert re.search(r"^commit=[0-9a-f]{40}$", written, re.M)
    assert "<!-- plato:pr env=development app=shop -->" in summary.read_text(encoding="utf-8")
    files = subprocess.run(
        ["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "development/shop/manifest.yaml" in files
