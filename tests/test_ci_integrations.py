"""The CI integrations beside action.yml: the GitLab CI/CD component (templates/publish.yml) and the pre-commit
hook (.pre-commit-hooks.yaml). Inputs declared and used, real flags, and the scripts run as the CI would run them,
against a local repository and a local stand-in for GitLab's merge request API."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest
import yaml

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
COMPONENT = REPO / "templates" / "publish.yml"
INPUT = re.compile(r"\$\[\[\s*inputs\.([a-z0-9_-]+)\s*\]\]")


def _documents() -> tuple[dict[str, Any], str]:
    text = COMPONENT.read_text(encoding="utf-8")
    header, _, jobs = text.partition("\n---\n")
    return yaml.safe_load(header)["spec"], jobs


def test_every_input_is_declared_described_and_used() -> None:
    spec, jobs = _documents()
    declared = spec["inputs"]
    used = set(INPUT.findall(jobs))
    assert used == set(declared), f"undeclared: {used - set(declared)}, unused: {set(declared) - used}"
    for name, decl in declared.items():
        assert decl.get("description"), f"input {name} has no description"
        if "options" in decl:
            assert decl["default"] in decl["options"]
    assert "default" not in declared["repository"], "the deployment repository must be given"


def _interpolate(node: Any, fill: Any) -> Any:
    # GitLab interpolates inputs into the parsed YAML, string by string (keys too), so a multi-line input stays
    # one string value.
    if isinstance(node, dict):
        return {_interpolate(k, fill): _interpolate(v, fill) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, fill) for v in node]
    return INPUT.sub(fill, node) if isinstance(node, str) else node


def _job(values: dict[str, str]) -> dict[str, Any]:
    spec, jobs = _documents()

    def fill(m: re.Match[str]) -> str:
        return values.get(m.group(1), str(spec["inputs"][m.group(1)].get("default", "")))

    (job,) = _interpolate(yaml.safe_load(jobs), fill).values()
    assert isinstance(job, dict)
    return job


def test_the_plato_call_uses_flags_publish_has() -> None:
    publish = main.commands["publish"]
    flags = {opt for p in publish.params if isinstance(p, click.Option) for opt in p.opts}
    script = "\n".join(_job({"repository": "x"})["script"])
    call = script[script.index("plato publish") :].split("> plato-result.json")[0]
    used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", call))
    assert used and used <= flags, f"unknown flags: {used - flags}"


class _FakeGitLab(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, str, Any]]] = []

    def _answer(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path, self.headers.get("PRIVATE-TOKEN")))
        self._answer([])

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.calls.append(("POST", self.path, json.loads(self.rfile.read(length))))
        self._answer({"iid": 1, "web_url": "http://gitlab.local/deployments/-/merge_requests/1"})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_gitlab() -> Iterator[str]:
    _FakeGitLab.calls = []
    server = HTTPServer(("127.0.0.1", 0), _FakeGitLab)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v4"
    server.shutdown()


@pytest.mark.parametrize("mode", ["push", "mr"])
def test_the_job_publishes_and_opens_a_merge_request(tmp_path: Path, fake_gitlab: str, mode: str) -> None:
    remote = tmp_path / "deployments.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    job = _job(
        {
            "workloads": "examples/shop/api.score.yaml examples/shop/worker.score.yaml",
            "context": "env=development\napp=shop",
            "image": "registry.example.com/acme/shop:1.4.0",
            "repository": remote.as_uri(),
            "mode": mode,
        }
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))},
        **{k: str(v) for k, v in job["variables"].items()},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITLAB_CI": "true",
        "CI_API_V4_URL": fake_gitlab,
        "PLATO_DEPLOY_TOKEN": "glpat-not-a-real-token-000000",
    }
    work = tmp_path / "project"
    work.mkdir(exist_ok=True)
    subprocess.run(["cp", "-r", str(REPO / "examples"), str(work)], check=True)
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    for line in job["script"][1:]:  # the first installs plato, which this test runs from its checkout
        run = subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert "not-a-real-token" not in run.stdout + run.stderr
    result = json.loads((work / "plato-result.json").read_text(encoding="utf-8"))
    assert result["committed"] is True
    files = subprocess.run(
        ["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", result["branch"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "development/shop/manifest.yaml" in files
    if mode == "push":
        assert result["branch"] == "main" and _FakeGitLab.calls == []
        return
    assert result["branch"] == "plato/development/shop"
    (get, post) = _FakeGitLab.calls
    assert get[0] == "GET" and "source_branch=plato%2Fdevelopment%2Fshop" in get[1]
    assert get[2] == "glpat-not-a-real-token-000000"
    assert post[2]["source_branch"] == "plato/development/shop" and post[2]["target_branch"] == "main"
    assert post[2]["title"] == result["title"] and "plato:pr env=development app=shop" in post[2]["description"]


def test_pre_commit_hook_runs_validate_on_the_files_it_selects() -> None:
    """The hook as pre-commit runs it: entry, then the hook's args, then the staged files its pattern selects."""
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    staged = ["examples/shop/api.score.yaml", "examples/shop/worker.score.yaml", "README.md", "rules/10-env.yaml"]
    selected = [f for f in staged if re.search(hook["files"], f)]
    assert selected == staged[:2]
    command = hook["entry"].split()
    assert command[0] == "plato"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "CI_", "PLATO_CONTEXT_"))}
    ok = subprocess.run([*command, "-c", "org=acme", *selected], cwd=REPO, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "env=development" in ok.stderr and "env=production" in ok.stderr
    missing = subprocess.run([*command, *selected], cwd=REPO, env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "needs the context key 'org'" in missing.stderr
