"""`plato rerender`: every recorded app of a deployment repository, re-rendered with (new) rules."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from generator.deploy.rerender import Impact, Published

if TYPE_CHECKING:
    from generator.commands.deploy import Landing


def _progress(items: Iterable[Any], total: int) -> Iterator[Any]:
    """A progress bar on a terminal for long runs; nothing in CI logs or pipes."""
    if total < 50 or not sys.stderr.isatty() or os.environ.get("CI"):
        yield from items
        return
    with click.progressbar(items, length=total, label="re-rendering", file=sys.stderr) as bar:
        yield from bar


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{n} {why}" for why, n in sorted(counter.items()))


def report(impact: Impact) -> str:
    lines = []
    for env, e in impact.by_env().items():
        lines.append(
            f"{env}: {e['changed']} of {e['apps']} apps change" + (f", {e['failed']} fail" if e["failed"] else "")
        )
        rendered = sum(e["rendered"].values())
        lines.append(
            f"  rendered {rendered}" + (f" ({_counts(e['rendered'])})" if rendered else "")
            + f", skipped {sum(e['skipped'].values())}" + (f" ({_counts(e['skipped'])})" if e["skipped"] else "")
        )  # fmt: skip
        for kind, n in e["kinds"].items():
            lines.append(f"  {kind:<28} {n['added']:>4} added {n['changed']:>4} changed {n['removed']:>4} removed")
        if e["rules"]:
            lines.append(
                "  rules responsible: "
                + ", ".join(f"{r} ({n} app{'s' if n != 1 else ''})" for r, n in sorted(e["rules"].items()))
            )
    for a in impact.changed:
        risks = f"  ! {'; '.join(a.risks)}" if a.risks else ""
        lines.append(f"  {a.env}/{a.app}{risks}")
    return "\n".join(lines) + "\n"


def as_json(result: Published, dry_run: bool, shard: tuple[int, int] | None) -> dict[str, Any]:
    impact = result.impact
    return {
        "dry_run": dry_run,
        "apps": impact.apps,
        "skipped": dict(sorted(impact.skipped.items())),
        "rendered": dict(sorted(impact.rendered.items())),
        "shard": f"{shard[0]}/{shard[1]}" if shard else None,
        "changed": [f"{a.env}/{a.app}" for a in impact.changed],
        # Apps whose files did not change and whose stale records were written with their environment's commit.
        "refreshed": [f"{a.env}/{a.app}" for a in impact.refreshed if a.env in result.commits],
        "by_env": impact.by_env(),
        "commits": result.commits,
        "branches": result.branches,
    }


def run(
    landing: Landing,
    rules_dir: Path | None,
    select: str | None,
    dry_run: bool,
    jobs: int | None,
    full: bool = False,
    shard: str | None = None,
) -> None:
    from generator.commands.deploy import _origin
    from generator.deploy import report as reports
    from generator.deploy.github import write_outputs, write_summary
    from generator.deploy.rerender import Scope, parse_select, parse_shard, rerender
    from generator.match.rules import load_rules

    scope = Scope(parse_select(select), parse_shard(shard), full)
    rules = load_rules(rules_dir)  # fail fast on bad rules, before touching the repository
    opts = landing.options()
    result = rerender(opts, rules_dir, scope, dry_run, jobs, _progress, rules.digest)
    impact = result.impact
    bodies: dict[str, str] = {}
    for env in sorted({a.env for a in impact.changed}):
        sets = [a.changeset for a in impact.changed if a.env == env and a.changeset]
        n = impact.envs[env]["changed"]
        note = f"Re-render of {n} apps in {env} with rules `{rules.digest}` ({_origin(rules.origin)})."
        bodies[env] = reports.markdown(sets, {"Rules": f"`{rules.digest}`"}, f"rerender env={env}", note)
        if landing.pr_body_dir:
            landing.pr_body_dir.mkdir(parents=True, exist_ok=True)
            (landing.pr_body_dir / f"{env}.md").write_text(bodies[env], encoding="utf-8")
    write_outputs(
        os.environ.get("GITHUB_OUTPUT"),
        {
            "changed": "true" if result.commits else "false",
            "branches": " ".join(sorted(set(result.branches.values()))),
        },
    )
    if bodies:
        write_summary(os.environ.get("GITHUB_STEP_SUMMARY"), "\n".join(bodies.values()))
    if landing.fmt == "json":
        click.echo(json.dumps(as_json(result, dry_run, scope.shard), indent=2, sort_keys=True))
        return
    click.echo(report(impact), nl=False, err=True)
    if not impact.changed:
        click.echo(f"no changes: all {impact.apps} recorded apps already match these rules", err=True)
    elif dry_run:
        click.echo(f"dry run: {len(impact.changed)} apps would change; nothing was written", err=True)
    else:
        for env, sha in result.commits.items():
            click.echo(f"committed {env}: {sha[:12]} on {result.branches.get(env, landing.branch)}", err=True)
