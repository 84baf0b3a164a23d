"""`plato rerender`: every recorded app of a deployment repository, re-rendered with (new) rules."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from generator.deploy.rerender import AppResult, Impact
from generator.deploy.transaction import Mode, Retry


def _progress(items: Iterable[AppResult], total: int) -> Iterator[AppResult]:
    """A progress bar on a terminal for long runs; nothing in CI logs or pipes."""
    if total < 50 or not sys.stderr.isatty() or os.environ.get("CI"):
        yield from items
        return
    with click.progressbar(items, length=total, label="re-rendering", file=sys.stderr) as bar:
        yield from bar


def report(impact: Impact) -> str:
    lines = []
    for env, e in impact.by_env().items():
        lines.append(
            f"{env}: {e['changed']} of {e['apps']} apps change" + (f", {e['failed']} fail" if e["failed"] else "")
        )
        for kind, n in e["kinds"].items():
            lines.append(f"  {kind:<28} {n['added']:>4} added {n['changed']:>4} changed {n['removed']:>4} removed")
        if e["rules"]:
            lines.append(
                "  rules responsible: "
                + ", ".join(f"{r} ({n} app{'s' if n != 1 else ''})" for r, n in sorted(e["rules"].items()))
            )
    for a in impact.changed:
        risks = f"  ! {'; '.join(a.changeset.risks)}" if a.changeset and a.changeset.risks else ""
        lines.append(f"  {a.env}/{a.app}{risks}")
    return "\n".join(lines) + "\n"


def run(
    repo: str,
    branch: str,
    rules_dir: Path | None,
    select: str | None,
    dry_run: bool,
    mode: Mode,
    retry: Retry,
    fmt: str,
    jobs: int | None,
    pr_body_dir: Path | None,
) -> None:
    from generator.commands.deploy import _origin
    from generator.deploy import report as reports
    from generator.deploy.github import write_outputs, write_summary
    from generator.deploy.rerender import parse_select, rerender
    from generator.deploy.transaction import Options
    from generator.match.rules import load_rules

    rules = load_rules(rules_dir)  # fail fast on bad rules, before touching the repository
    opts = Options(repo=repo, branch=branch, mode=mode, retry=retry)
    result = rerender(opts, rules_dir, parse_select(select), dry_run, jobs, _progress, rules.digest)
    impact = result.impact
    bodies: dict[str, str] = {}
    for env in sorted({a.env for a in impact.changed}):
        sets = [a.changeset for a in impact.changed if a.env == env and a.changeset]
        note = f"Re-render of {len(sets)} apps in {env} with rules `{rules.digest}` ({_origin(rules.origin)})."
        bodies[env] = reports.markdown(sets, {"Rules": f"`{rules.digest}`"}, f"rerender env={env}", note)
        if pr_body_dir:
            pr_body_dir.mkdir(parents=True, exist_ok=True)
            (pr_body_dir / f"{env}.md").write_text(bodies[env], encoding="utf-8")
    write_outputs(
        os.environ.get("GITHUB_OUTPUT"),
        {
            "changed": "true" if result.commits else "false",
            "branches": " ".join(sorted(set(result.branches.values()))),
        },
    )
    if bodies:
        write_summary(os.environ.get("GITHUB_STEP_SUMMARY"), "\n".join(bodies.values()))
    if fmt == "json":
        data: dict[str, Any] = {
            "dry_run": dry_run,
            "apps": len(impact.apps),
            "changed": [f"{a.env}/{a.app}" for a in impact.changed],
            "by_env": impact.by_env(),
            "commits": result.commits,
            "branches": result.branches,
        }
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(report(impact), nl=False, err=True)
    if not impact.changed:
        click.echo(f"no changes: all {len(impact.apps)} recorded apps already match these rules", err=True)
    elif dry_run:
        click.echo(f"dry run: {len(impact.changed)} apps would change; nothing was written", err=True)
    else:
        for env, sha in result.commits.items():
            click.echo(f"committed {env}: {sha[:12]} on {result.branches.get(env, branch)}", err=True)
