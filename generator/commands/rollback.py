"""`plato rollback`: an app rendered again from the inputs it had at a past commit of the deployment repository,
landed as a new commit (history is never rewritten)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.deploy.transaction import Mode, Retry


def run(
    repo: str,
    branch: str,
    context: tuple[str, ...],
    rev: str,
    rules_dir: Path | None,
    rules_at_rev: bool,
    mode: Mode,
    retry: Retry,
    fmt: str,
    pr_body_dir: Path | None,
) -> None:
    from generator.commands.promote import land, prepare, report
    from generator.deploy.git import Clone, ensure_local_repo
    from generator.deploy.promote import check_rules_unchanged, inputs_for, read_source, resolve_rev
    from generator.read import context as ctxmod

    ctx = ctxmod.build(context, {}, None)
    ctxmod.require(ctx, ("env", "app"))
    env, app = ctx["env"], ctx["app"]
    ensure_local_repo(repo, branch)
    with Clone(repo) as clone:
        sha = resolve_rev(clone, branch, rev)
        source = read_source(clone, sha, env, app, f"{rev} ({sha[:12]})")
    inputs = inputs_for(source, env, rules_dir)
    step = prepare(source, inputs, "roll back", {"by": "rollback", "from": env, "commit": sha})
    if rules_at_rev:
        check_rules_unchanged(step.tree.plan, source, sha)
    step.line = f"roll back {app} in {env} to {sha[:12]} (source {source.sha[:12] or 'unknown'})"
    result = land(step, repo, branch, mode, retry, latest_wins=False)
    report([step], [result], repo, fmt, pr_body_dir)
