"""A security review's scanner over every golden render: checkov (one run over a folder holding them all) fails
no check except those in tests/create/checkov-baseline.yaml, each accepted there with a one-line reason, and
every baseline entry still matches a failure (an entry that no longer excuses anything is removed, so the
baseline cannot hide what a later change breaks)."""

from __future__ import annotations

import json
import subprocess
import sys
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from testkit.shared import REPO

BASELINE = Path(__file__).with_name("checkov-baseline.yaml")
GOLDEN = REPO / "golden" / "render"


def write_renders(folder: Path) -> int:
    """Every successful golden render, as files under <folder>/<case>/; returns how many cases."""
    count = 0
    for case in sorted(GOLDEN.glob("*.yaml")):
        outcome = yaml.safe_load(case.read_text(encoding="utf-8"))["outcome"]
        if "exit" in outcome:
            continue
        count += 1
        for rel, text in outcome.items():
            path = folder / case.stem / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return count


@cache
def scan(folder: str) -> list[dict[str, Any]]:
    checkov = Path(sys.executable).with_name("checkov")
    # --skip-download: offline, no Prisma Cloud guidelines; the checks themselves ship with checkov.
    cmd = [str(checkov), "-d", folder, "--framework", "kubernetes", "terraform", "-o", "json"]
    proc = subprocess.run([*cmd, "--compact", "--skip-download"], capture_output=True, text=True, check=False)
    assert proc.stdout.strip(), proc.stderr[-2000:]
    reports = json.loads(proc.stdout)
    return reports if isinstance(reports, list) else [reports]


def failures(reports: list[dict[str, Any]], root: Path) -> list[tuple[str, str, str]]:
    """(check id, '<case>/<resource>', file) for each failed check."""
    out = []
    for report in reports:
        for f in report["results"]["failed_checks"]:
            case = Path(f["file_abs_path"]).relative_to(root).parts[0]
            out.append((f["check_id"], f"{case}/{f['resource']}", f["file_path"]))
    return out


def baseline() -> list[dict[str, Any]]:
    entries = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    assert isinstance(entries, list) and entries
    return entries


def excuses(entry: dict[str, Any], check: str, where: str) -> bool:
    return entry["check"] == check and any(fnmatch(where, pattern) for pattern in entry.get("where", ["*"]))


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], Path, int]:
    root = tmp_path_factory.mktemp("renders")
    cases = write_renders(root)
    return scan(str(root)), root, cases


def test_every_baseline_entry_has_a_one_line_reason() -> None:
    for entry in baseline():
        assert set(entry) <= {"check", "reason", "where"}, entry
        reason = entry.get("reason", "")
        assert isinstance(reason, str) and reason.strip() and "\n" not in reason.strip(), entry


def test_checkov_scanned_kubernetes_and_terraform_of_every_render(scanned: Any) -> None:
    reports, root, cases = scanned
    assert cases >= 20
    kinds = {r["check_type"]: r["summary"] for r in reports}
    assert kinds["kubernetes"]["passed"] > 1000 and kinds["terraform"]["passed"] > 100
    scanned_cases = {
        Path(f["file_abs_path"]).relative_to(root).parts[0] for r in reports for f in r["results"]["passed_checks"]
    }
    assert len(scanned_cases) == cases


def test_no_failed_check_outside_the_baseline(scanned: Any) -> None:
    reports, root, _ = scanned
    entries = baseline()
    unexcused = sorted(
        {f"{c} {w} ({file})" for c, w, file in failures(reports, root) if not any(excuses(e, c, w) for e in entries)}
    )
    assert not unexcused, "checkov failed checks no baseline entry accepts:\n" + "\n".join(unexcused)


def test_every_baseline_entry_still_excuses_a_failure(scanned: Any) -> None:
    reports, root, _ = scanned
    found = failures(reports, root)
    stale = [e for e in baseline() if not any(excuses(e, c, w) for c, w, _ in found)]
    assert not stale, f"baseline entries that excuse nothing any more (remove them): {stale}"
