"""`plato preview` and `plato publish`: the deploy stage behind the command line."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from generator import terminal
from generator.error_handler import terminate_as_interrupt
from generator.pipeline import Inputs

if TYPE_CHECKING:
    from generator.create.render import RenderedTree
    from generator.deploy.git import Clone
    from generator.deploy.publish import Result
    from generator.deploy.transaction import Mode, Options, Retry
    from generator.match.plan import Plan


@dataclass(frozen=True)
class Landing:
    """Where and how a command lands its commits, and how it reports them: the deployment repository and branch,
    push or pull request, the retry policy, --format and the folder PR bodies are written to."""

    repo: str
    branch: str
    mode: Mode
    retry: Retry
    fmt: str
    pr_body_dir: Path | None = None

    def options(self) -> Options:
        from generator.deploy.transaction import Options

        return Options(self.repo, self.branch, self.mode, self.retry)


def retry_settings(retry_for: float, max_retries: int | None) -> Retry:
    """The retry policy of a command: --retry-for seconds, --max-retries (deprecated) as an extra cap, the first
    backoff step from PLATO_RETRY_BACKOFF."""
    from generator.deploy.transaction import BACKOFF, Retry
    from generator.errors import UserError

    raw = os.environ.get("PLATO_RETRY_BACKOFF", "").strip()
    try:
        backoff = float(raw) if raw else BACKOFF
    except ValueError:
        backoff = math.nan
    if not 0 <= backoff < math.inf:
        raise UserError(
            "PLATO_RETRY_BACKOFF is not a number of seconds",
            hint=f"set it to the first retry's longest wait, in seconds (the default is {BACKOFF:g})",
        )
    if not 0 <= retry_for < math.inf:
        raise UserError("--retry-for is not a number of seconds", hint="how long to keep retrying: --retry-for 300")
    return Retry(retry_for=retry_for, max_retries=max_retries, backoff=backoff)


def source_time(ctx: dict[str, str]) -> int | None:
    """When the source commit was made: `source_time` from the context, else read from the checkout CI runs in."""
    from generator.deploy.git import commit_time

    if ctx.get("source_time", "").isdigit():
        return int(ctx["source_time"])
    sha = ctx.get("source_sha")
    return commit_time(sha) if sha else None


def rendered(
    inputs: Inputs,
    plan: Plan | None = None,
    time: int | None = None,
    promoted: dict[str, str] | None = None,
    admit: bool = False,
) -> tuple[RenderedTree, bytes]:
    """The pipeline's rendered tree and the record a commit of it carries (with the digests a re-render compares
    to skip what has not changed). `time` is the source commit's (read from the checkout CI runs in when not
    given); `promoted` says where a promotion took its inputs from. The admission policies are left to the deploy
    step unless `admit`: it judges them against what the deployment repository holds (`inputs.admit`)."""
    from generator.deploy.record import make_record, match_digest, output_digest

    tree = inputs.render(plan=plan, admit=admit)
    ctx = tree.plan.context
    when = time if time is not None or promoted else source_time(ctx)
    record = make_record(
        ctx,
        inputs.workloads,
        when,
        inputs.files,
        tree.plan.rules_used(),
        tree.owned,
        list(inputs.context),
        promoted,
        output=output_digest(tree.files),
        match=match_digest(tree.plan.rules),
    )
    return tree, record


def provenance(tree: Any) -> dict[str, str]:
    from generator import __version__

    ctx = tree.plan.context
    src = ctx.get("source_repo", "")
    sha = ctx.get("source_sha", "")
    return {
        "Source": f"{src} @ `{sha[:12]}`" if src or sha else "",
        "CI run": ctx.get("run_url", ""),
        "Image": f"`{ctx['image']}`" if ctx.get("image") else "",
        "Rules": f"`{tree.plan.rules.digest}` ({_origin(tree.plan.rules.origin)})",
        "plato": __version__,
        "Context": " ".join(f"`{k}={v}`" for k, v in ctx.items() if k not in ("run_url", "source_repo", "source_sha")),
    }


def recorded_inputs(
    repo: str, branch: str, context: tuple[str, ...], image: str | None, rules_dir: Path | None
) -> Inputs:
    from generator.deploy.git import is_url
    from generator.deploy.publish import read_file
    from generator.deploy.record import read_record, record_path
    from generator.errors import UserError
    from generator.pipeline import inputs_from_record
    from generator.read import context as ctxmod

    ctx = ctxmod.build(context, {}, image)
    ctxmod.require(ctx, ("env", "app"))
    rel = record_path(ctx["env"], ctx["app"])
    if not is_url(repo) and not Path(repo).exists():
        raise UserError(f"deployment repository {repo} does not exist", hint="give workload files, or --repo")
    data = read_file(repo, branch, rel)
    if data is None:
        raise UserError(
            f"{ctx['app']} in {ctx['env']} has no recorded inputs in {repo} ({rel})",
            hint="give the workload files, or publish the app once with plato",
        )
    record = read_record(data, rel)
    inputs = inputs_from_record(record, rel, rules_dir)
    inputs.context.update({k: v for k, v in ctx.items() if k not in ("env", "app")})
    return inputs


def _origin(folder: str) -> str:
    """The rules folder as a reviewer should read it: the bundled rules by that name (not a site-packages path)."""
    from generator.resources import bundled_dir

    return "bundled rules" if Path(folder).resolve() == bundled_dir("rules").resolve() else folder


def run_preview(inputs: Inputs, repo: str, branch: str, fmt: str, ahead: Clone | None = None) -> None:
    from generator.deploy import report
    from generator.deploy.publish import preview

    tree, record = rendered(inputs)
    with terminate_as_interrupt():
        cs = preview(tree, record, repo, branch, admit=partial(inputs.admit, tree), ahead=ahead)
    if fmt == "json":
        click.echo(report.as_json([cs]))
    elif fmt == "markdown":
        click.echo(
            report.markdown([cs], provenance(tree), f"env={cs.env} app={cs.app}", policy=policy_section(inputs)),
            nl=False,
        )
    else:
        terminal.echo(report.text(cs, stream=sys.stdout), err=False, nl=False)


def run_publish(
    inputs: Inputs,
    repo: str,
    branch: str,
    mode: Mode,
    retry: Retry,
    fmt: str,
    pr_body: Path | None,
    ahead: Clone | None = None,
) -> None:
    from generator.deploy import report
    from generator.deploy.gates import summary
    from generator.deploy.github import write_outputs, write_summary
    from generator.deploy.promoter import hydrate, is_promoter
    from generator.deploy.publish import Options, publish, trailers_for

    tree, record = rendered(inputs)
    opts = Options(repo=repo, branch=branch, mode=mode, retry=retry)
    with terminate_as_interrupt():
        admit = partial(inputs.admit, tree)  # judged against the tip the commit is made on
        if is_promoter(tree.plan):
            result = hydrate(tree, record, opts, trailers_for(tree), admit=admit)
        else:
            result = publish(tree, record, opts, trailers_for(tree), admit=admit, ahead=ahead)
    cs = result.changeset
    key = f"env={cs.env} app={cs.app}"
    body = report.markdown([cs], provenance(tree), key, note=result.skipped, policy=policy_section(inputs))
    title = report.pr_title([cs])
    if pr_body:
        _write_body(pr_body, body)
    write_outputs(
        os.environ.get("GITHUB_OUTPUT"),
        {
            "changed": "true" if result.changed else "false",
            "commit": result.commit or "",
            "branch": result.branch,
            "pr-title": title,
            "pr-body-path": str(pr_body.resolve()) if pr_body else "",
            "checks": summary(tree) if result.commit else "",
        },
    )
    write_summary(os.environ.get("GITHUB_STEP_SUMMARY"), body)
    if fmt == "json":
        click.echo(
            report.as_json(
                [cs],
                {
                    "committed": result.changed,
                    "commit": result.commit,
                    "branch": result.branch,
                    "attempts": result.attempts,
                    "skipped": result.skipped,
                    "title": title,
                    "notes": result.notes,
                },
            )
        )
        return
    _say(result, repo, branch)


def _write_body(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


def _say(result: Result, repo: str, branch: str) -> None:
    """What a publish did, for a person reading the CI log."""
    from generator.deploy import report

    cs = result.changeset
    if result.skipped:
        click.echo(f"not published: {result.skipped}", err=True)
    elif not result.changed:
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
        click.echo(
            f"no changes: {cs.app} in {cs.env} is already up to date in {repo} ({branch}); no commit made", err=True
        )
    else:
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
        retries = (
            f" after {result.attempts - 1} retr{'y' if result.attempts == 2 else 'ies'}" if result.attempts > 1 else ""
        )
        click.echo(f"published {report.summary_line(cs)}", err=True)
        click.echo(
            f"  commit {result.commit[:12] if result.commit else ''} on {result.branch} in {_masked(repo)}{retries}",
            err=True,
        )
        for r in cs.risks:
            terminal.echo(click.style(f"  ! {r}", fg="yellow"))


def policy_section(inputs: Inputs) -> str:
    from generator.check.admission import repo_path
    from generator.check.report import markdown

    return markdown(inputs.policy_report, repo_path) if inputs.policy_report is not None else ""


def _masked(repo: str) -> str:
    from generator.errors import mask_secrets

    return mask_secrets(repo)
