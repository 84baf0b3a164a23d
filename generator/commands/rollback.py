"""`plato rollback`: an app rendered again from the inputs it had at a past commit of the deployment repository,
landed as a new commit (history is never rewritten)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.commands.deploy import Landing


def run(landing: Landing, context: tuple[str, ...], rev: str, rules_dir: Path | None, rules_at_rev: bool) -> None:
    from generator.commands.promote import land, prepare, report
    from generator.deploy.git import Clone, ensure_local_repo
    from generator.deploy.promote import check_rules_unchanged, inputs_for, read_source, resolve_rev
    from generator.read import context as ctxmod

    ctx = ctxmod.build(context, {}, None)
    ctxmod.require(ctx, ("env", "app"))
    env, app = ctx["env"], ctx["app"]
    ensure_local_repo(landing.repo, landing.branch, create=False)
    with Clone(landing.repo) as clone:
        sha = resolve_rev(clone, landing.branch, rev)
        source = read_source(clone, sha, env, app, f"{rev} ({sha[:12]})")
    inputs = inputs_for(source, env, rules_dir)
    step = prepare(source, inputs, "rollback", {"from": env, "commit": sha})
    if rules_at_rev:
        check_rules_unchanged(step.tree.plan, source, sha)
    step.line = f"roll back {app} in {env} to {sha[:12]} (source {source.sha[:12] or 'unknown'})"
    report([step], [land(step, landing, latest_wins=False)], landing)
