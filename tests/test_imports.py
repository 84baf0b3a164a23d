"""What a command imports: `plato --help` only click, a publish none of the libraries it has no use for. Asserted on
the set of modules Python reports with -X importtime (never on time: speed is measured in bench/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testkit.shared import REPO

SHOP = REPO / "examples" / "shop"
# Libraries no publish needs: pydantic (the models are dataclasses; the schema validates), GitPython (plato drives
# the git command line), jsonschema (valid input passes the schemas compiled ahead of time; jsonschema only writes
# the message for input they refuse), and the tools only tests or benchmarks use.
NEVER_IN_PUBLISH = {"pydantic", "pydantic_core", "git", "gitdb", "checkov", "hypothesis", "pyinstrument", "pytest"}
NEVER_IN_PUBLISH |= {"jsonschema", "referencing", "fastjsonschema"}
# --help shows flags: none of the stages' libraries.
NEVER_IN_HELP = NEVER_IN_PUBLISH | {"jsonschema", "jinja2", "ruamel", "yaml", "cel_expr_python", "detect_secrets"}


def imported(args: list[str], cwd: Path) -> set[str]:
    """The top-level names of every module `python -m generator ARGS` imported, and its exit status checked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GIT_", "PLATO_"))}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "generator", *args],
        cwd=cwd, env={**env, "GIT_CONFIG_NOSYSTEM": "1"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return names - {"imported package"}


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_help_imports_click_and_no_stage(tmp_path: Path) -> None:
    names = imported(["--help"], tmp_path)
    assert "click" in names  # the measurement works: it saw the one library --help needs
    assert not _top(names) & NEVER_IN_HELP
    assert not {n for n in names if n.startswith(("generator.pipeline", "generator.deploy", "generator.read"))}


def test_a_publish_imports_what_it_uses_and_not_the_rest(tmp_path: Path) -> None:
    repo = tmp_path / "deploy.git"
    args = ["publish", str(SHOP / "api.score.yaml"), str(SHOP / "worker.score.yaml"), "-c", "env=development"]
    names = imported([*args, "-c", "app=shop", "--image", "ghcr.io/acme/shop:1.0", "--repo", str(repo)], tmp_path)
    assert {"generator.deploy.publish", "generator.read.validators.workload", "jinja2"} <= names  # it published
    assert not _top(names) & NEVER_IN_PUBLISH, sorted(_top(names) & NEVER_IN_PUBLISH)
    assert subprocess.run(["git", "--git-dir", str(repo), "rev-parse", "main"], capture_output=True).returncode == 0


def test_a_spec_the_schema_refuses_imports_jsonschema_for_its_message(tmp_path: Path) -> None:
    spec = tmp_path / "score.yaml"
    spec.write_text("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    imagez: x\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GIT_", "PLATO_"))}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "generator", "validate", str(spec)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "unknown field 'imagez'" in proc.stderr and "score.yaml:6" in proc.stderr
    assert "| jsonschema" in proc.stderr
