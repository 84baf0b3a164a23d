"""Policy results for people: one line per denial or warning, GitHub annotations, SARIF, and the PR section."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Literal

from generator.check.policy import Report, Result
from generator.errors import Errors, UserError

Level = Literal["error", "warning", "notice"]


def _policy_at(r: Result) -> str:
    where = r.where or r.policy.where
    return f"{where.file}:{where.line}" if where.line else where.file


def _same(file: str) -> str:
    return file


def describe(r: Result, path: Callable[[str], str] = _same) -> str:
    """One message: the policy and its file:line, the object and its file, what failed, and the spec line.
    `path` names the Score file (the repository's path in a PR body or an annotation)."""
    action = "denied" if "Deny" in r.actions else "warning" if "Warn" in r.actions else "audit"
    if r.outcome == "skipped":
        action = "skipped"
    text = f"{action} by policy {r.policy.name} ({_policy_at(r)}): {r.target.ref} in {r.target.file}: {r.message}"
    if r.source is not None:
        shown = path(r.source.file)
        text += f" (from {shown}:{r.source.line})" if r.source.line else f" (from {shown})"
    return text


def denial_error(report: Report) -> UserError | None:
    """The denials as one user error (exit 2), located at the Score line when known, else at the policy."""
    errors: list[UserError] = []
    for r in report.denials:
        at = r.source if r.source is not None else (r.where or r.policy.where)
        errors.append(
            UserError(
                describe(r),
                file=at.file,
                line=at.line,
                hint=f"fix the spec, or ask the platform team about {r.policy.name}; nothing was committed",
            )
        )
    if not errors:
        return None
    return errors[0] if len(errors) == 1 else Errors(list(errors))


def _level(r: Result) -> Level:
    if r.outcome == "skipped":
        return "notice"
    return "error" if "Deny" in r.actions else "warning"


def reported(report: Report) -> list[Result]:
    """What a person should see: denials, warnings, audit failures and skipped checks (passes are counted)."""
    return [r for r in report.results if r.outcome != "passed"]


def workflow_commands(results: Iterable[Result], path: Callable[[str], str] = _same) -> list[str]:
    """GitHub Actions workflow commands: `::error file=...,line=...::message` on the Score line or the policy."""
    out = []
    for r in results:
        at = r.source if r.source is not None else (r.where or r.policy.where)
        loc = f"file={path(at.file)}" + (f",line={at.line}" if at.line else "")
        message = describe(r, path).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        out.append(f"::{_level(r)} {loc},title=policy {r.policy.name}::{message}")
    return out


def sarif(report: Report, version: str, path: Callable[[str], str] = _same) -> str:
    """SARIF 2.1.0 for GitHub code scanning: one rule per policy, one result per denial, warning or skip."""
    results = reported(report)
    names = sorted({r.policy.name for r in report.results})
    rules = [{"id": n, "name": n, "shortDescription": {"text": f"ValidatingAdmissionPolicy {n}"}} for n in names]
    return json.dumps(
        {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {"driver": {"name": "plato", "version": version, "rules": rules}},
                    "results": [_sarif_result(r, path) for r in results],
                }
            ],
        },
        indent=2,
        sort_keys=True,
    )


def _sarif_result(r: Result, path: Callable[[str], str]) -> dict[str, Any]:
    at = r.source if r.source is not None else (r.where or r.policy.where)
    region = {"region": {"startLine": at.line}} if at.line else {}
    return {
        "ruleId": r.policy.name,
        "level": "note" if _level(r) == "notice" else _level(r),
        "message": {"text": describe(r, path)},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": path(at.file)}, **region}}],
    }


def markdown(report: Report, path: Callable[[str], str] = _same) -> str:
    """The PR body's policy section: counts, then each warning, audit and skipped check."""
    if not report.results:
        return ""
    passed = len({(r.binding.name, r.target.ref) for r in report.passed})
    lines = [
        "### Admission policies",
        "",
        f"{passed} passed, {len(report.warnings)} warnings, {len(report.audits)} audit, "
        f"{len(report.skipped)} skipped ({len(report.applied())} policies applied)",
        "",
    ]
    for title, results in (("Warnings", report.warnings), ("Audit", report.audits), ("Skipped", report.skipped)):
        if results:
            lines += [f"**{title}**", ""] + [f"- {describe(r, path)}" for r in results] + [""]
    return "\n".join(lines)


def as_json(report: Report) -> dict[str, Any]:
    return {
        "applied": report.applied(),
        "results": [
            {
                "policy": r.policy.name,
                "binding": r.binding.name,
                "object": r.target.ref,
                "file": r.target.file,
                "outcome": r.outcome,
                "actions": list(r.actions),
                "message": r.message,
                "annotations": dict(r.annotations),
            }
            for r in report.results
        ],
    }
