"""The one-way imports of the stages (read < match < create < check < pipeline < deploy < commands < cli), as
import-linter contracts in pyproject.toml: kept by the package, and broken by a copy that imports upwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from testkit.shared import REPO


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(exe), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_package_keeps_its_layers() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(REPO / "generator", tmp_path / "generator", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    models = tmp_path / "generator" / "read" / "models.py"
    models.write_text(models.read_text(encoding="utf-8") + "\n\ndef _up():\n    from generator.deploy import git\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1
    assert "generator.read.models -> generator.deploy.git" in result.stdout
