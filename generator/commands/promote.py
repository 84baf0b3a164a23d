"""`plato promote`: what one environment runs, rendered for the next with its rules, and landed by publish's one
transaction. Every app is read, planned and checked before the first is written: a refusal writes nothing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

if TYPE_CHECKING:
    from generator.commands.deploy import Landing
    from generator.deploy.promote import Source
    from generator.deploy.publish import Result
    from generator.pipeline import Inputs


By = Literal["promote", "rollback"]


@dataclass
class Step:
    """One (app, target) ready to land: the source it came from, the rendered tree and its record."""

    source: Source
    tree: Any
    record: bytes
    line: str  # "promote shop from staging (source ..., image ...)"
    by: By


def prepare(source: Source, inputs: Inputs, by: By, origin: dict[str, str]) -> Step:
    """Plan, check the promotion rules (a promotion), render; `origin` (from, commit) goes into the record."""
    from generator.commands.deploy import rendered

    plan = inputs.plan()
    if by == "promote":
        from generator.deploy.promote import check_promotion

        check_promotion(plan, source)
    # Create and check, as every render does. The admission policies are judged here, before the first app lands,
    # with every object a CREATE (no oldObject): judging them against each tip at landing time, as publish does,
    # could refuse the second app after the first was written.
    when = (source.record.get("source") or {}).get("time")
    tree, record = rendered(inputs, plan, when, {"by": by, **origin}, admit=True)
    return Step(source, tree, record, source.line("promote" if by == "promote" else "roll back"), by)


def land(step: Step, landing: Landing, latest_wins: bool) -> Result:
    """Publish one prepared step with the transaction publish uses, its origin in the trailers."""
    from generator.deploy.publish import publish, trailers_for
    from generator.error_handler import terminate_as_interrupt

    trailers = {
        **trailers_for(step.tree),
        **(
            {"Plato-Rolled-Back-To": step.source.commit}
            if step.by == "rollback"
            else {"Plato-Promoted-From": f"{step.source.env} {step.source.commit}"}
        ),
        "Plato-Image-Digest": step.source.pinned.get("digest") or "",
        "Plato-Spec-Digest": step.source.pinned.get("specs") or "",
    }
    from generator.deploy.promoter import hydrate, is_promoter

    opts = landing.options()
    with terminate_as_interrupt():
        if is_promoter(step.tree.plan):
            return hydrate(step.tree, step.record, opts, trailers)
        return publish(step.tree, step.record, opts, trailers, latest_wins)


def report(steps: list[Step], results: list[Result], landing: Landing) -> None:
    """The PR body of each step (its first line says where the inputs came from), the outputs and the log."""
    import os

    from generator.commands.deploy import _say, provenance
    from generator.deploy import report as rep
    from generator.deploy.gates import summary
    from generator.deploy.github import write_outputs, write_summary

    bodies = []
    for step, result in zip(steps, results, strict=True):
        cs = result.changeset
        body = rep.markdown([cs], provenance(step.tree), f"env={cs.env} app={cs.app}", note=step.line)
        bodies.append(body)
        if landing.pr_body_dir:
            landing.pr_body_dir.mkdir(parents=True, exist_ok=True)
            (landing.pr_body_dir / f"{cs.env}-{cs.app}.md").write_text(body, encoding="utf-8")
        if landing.fmt == "text":
            click.echo(step.line, err=True)
            click.echo(rep.text(cs), err=True, nl=False)
            _say(result, landing.repo, result.branch)
    changed = [r for r in results if r.changed]
    write_outputs(
        os.environ.get("GITHUB_OUTPUT"),
        {
            "changed": "true" if changed else "false",
            "commit": " ".join(r.commit or "" for r in changed),
            "branch": " ".join(sorted({r.branch for r in results})),
            "checks": summary(steps[0].tree) if changed else "",
        },
    )
    write_summary(os.environ.get("GITHUB_STEP_SUMMARY"), "\n".join(bodies))
    if landing.fmt == "json":
        extra = {"results": [{"app": r.changeset.app, "committed": r.changed, "commit": r.commit} for r in results]}
        click.echo(rep.as_json([r.changeset for r in results], extra))


def run(
    landing: Landing,
    source_env: str,
    target_env: str,
    context: tuple[str, ...],
    select: str | None,
    rules_dir: Path | None,
) -> None:
    from generator.deploy.git import Clone, ensure_local_repo
    from generator.deploy.promote import inputs_for, select_sources
    from generator.deploy.rerender import parse_select
    from generator.read import context as ctxmod

    ctx = ctxmod.build(context, {}, None)
    ctxmod.validate({"env": source_env, "app": "a"}, origin="--from")
    ctxmod.validate({"env": target_env, "app": "a"}, origin="--to")
    apps = [ctx["app"]] if ctx.get("app") else []
    if not apps and not select:
        raise click.UsageError("name the app (-c app=APP) or a selection (--select app=GLOB,...)")
    ensure_local_repo(landing.repo, landing.branch, create=False)
    with Clone(landing.repo) as clone:
        tip = clone.fetch(landing.branch)
        sources = select_sources(clone, tip, source_env, apps, parse_select(select))
    steps = []
    # Keys the target's rules need that the source did not record (production's org): -c or PLATO_CONTEXT_.
    given = {**ctxmod.from_env(os.environ), **ctx}
    extra = {k: v for k, v in given.items() if k not in ("env", "app", "image")}
    for source in sources:
        origin = {"from": source.env, "commit": source.commit}
        steps.append(prepare(source, inputs_for(source, target_env, rules_dir, extra), "promote", origin))
    report(steps, land_all(steps, landing), landing)


def land_all(steps: list[Step], landing: Landing) -> list[Result]:
    """Each step in turn. Every app was checked before the first landed, but the remote may still refuse one (a
    hook, a folder another app owns): the error then names the apps that landed before it, never "nothing was
    published"."""
    from generator.errors import PlatoError

    results: list[Result] = []
    for step in steps:
        try:
            results.append(land(step, landing, latest_wins=True))
        except PlatoError as exc:
            if not results:
                raise
            done = ", ".join(f"{s.tree.env}/{s.tree.app}" for s in steps[: len(results)])
            exc.message = f"{exc.message} (promoted before it, and landed: {done})"
            exc.hint = (
                f"{step.tree.env}/{step.tree.app} and the apps after it were not promoted; fix what stopped it and "
                "promote them again (the apps that landed make no second commit)"
            )
            raise
    return results


def print_promotion(context: tuple[str, ...], rules_dir: Path | None) -> None:
    """`plato render --promotion`: the app's GitOps Promoter objects as YAML documents on stdout."""
    from generator.create.emit import dump_yaml
    from generator.deploy.promoter_objects import promotion_objects
    from generator.match.rules import load_rules
    from generator.read import context as ctxmod

    ctx = ctxmod.build(context, {}, None)
    ctxmod.require(ctx, ("app", "deploy_repo"))
    docs = promotion_objects(load_rules(rules_dir), ctx)
    click.echo("".join("---\n" + dump_yaml(d) for d in docs), nl=False)
