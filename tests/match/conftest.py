"""Helpers for the match-stage tests: small rule folders and workload specs written into tmp_path.

Each test builds the minimal rule folder it needs: an Environment rule (`build.env_rule()`) plus the rules
under test, given as dicts or YAML strings, through the `project` fixture; `project.plan()` then runs the real
pipeline (read -> match) and `project.cli(...)` the command line.

The builders are tests/testkit/build.py's; the `build` fixture hands them to test modules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from testkit.build import (
    API,
    SCORE,
    Doc,
    context_rule,
    dimensions,
    env_rule,
    line_of,
    resource_rule,
    rule_line,
    score,
    yaml_text,
)

from generator.cli import main
from generator.match.plan import Plan
from generator.pipeline import Inputs


def workload(
    name: str, resources: Mapping[str, Any] | None = None, variables: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Score workload with one container of a named image (matching needs no --image)."""
    return score(name, resources, variables, image="nginx")


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@dataclass
class Project:
    """A tmp folder holding `rules/` and `specs/` (the workload files of one app)."""

    root: Path
    workload_files: list[Path] = field(default_factory=list)

    @property
    def rules(self) -> Path:
        return self.root / "rules"

    def write_rules(self, *docs: Doc, file: str = "rules.yaml") -> Path:
        """Write rule documents (dicts or YAML strings) into one file of the rules folder."""
        self.rules.mkdir(exist_ok=True)
        path = self.rules / file
        path.write_text(yaml_text(docs), encoding="utf-8")
        return path

    def write_workload(self, spec: Doc, file: str | None = None) -> Path:
        """Write one workload spec; its file joins the app's workload files."""
        if file is None:
            name = f"w{len(self.workload_files)}" if isinstance(spec, str) else spec["metadata"]["name"]
            file = f"{name}.score.yaml"
        path = self.root / "specs" / file
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml_text([spec]), encoding="utf-8")
        self.workload_files.append(path)
        return path

    def inputs(self, *context: str) -> Inputs:
        ctx = list(context) or ["env=development", "app=demo"]
        return Inputs.load(self.workload_files, context=ctx, rules_dir=self.rules, environ={})

    def plan(self, *context: str) -> Plan:
        """The plan for the app; context defaults to env=development app=demo."""
        return self.inputs(*context).plan()

    def explain(self, *context: str, fmt: str = "text") -> Result:
        """`plato explain` on the app's workload files with this rules folder."""
        ctx = context or ("env=development", "app=demo")
        args = ["explain", "--rules", str(self.rules), "--format", fmt]
        for c in ctx:
            args += ["-c", c]
        return run_cli(*args, *map(str, self.workload_files))

    def cli(self, *args: str) -> Result:
        return run_cli(*args)


class Build:
    """The builders, handed to test modules by the `build` fixture."""

    API = API
    SCORE = SCORE
    env_rule = staticmethod(env_rule)
    resource_rule = staticmethod(resource_rule)
    context_rule = staticmethod(context_rule)
    dimensions = staticmethod(dimensions)
    workload = staticmethod(workload)
    yaml_text = staticmethod(yaml_text)
    line_of = staticmethod(line_of)
    rule_line = staticmethod(rule_line)
    run_cli = staticmethod(run_cli)
    Project = Project

    @staticmethod
    def prod_env() -> dict[str, Any]:
        return env_rule("production", "production", "production")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads os.environ: no context may leak in from the machine (or CI) running the tests."""
    for key in list(os.environ):
        if key.startswith(("PLATO_CONTEXT_", "GITHUB_")) or key == "PLATO_DEBUG":
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def build() -> type[Build]:
    return Build


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[str], Project]:
    """Several independent projects in one test."""

    def make(name: str) -> Project:
        root = tmp_path / name
        root.mkdir()
        return Project(root)

    return make
