"""The command line: parses flags and calls `generator/commands/<name>.run()`. Heavy imports happen inside the
commands, so `--help` imports click and nothing else."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from generator import __version__

if TYPE_CHECKING:
    from generator.commands.deploy import Landing
    from generator.deploy.transaction import Mode

F = TypeVar("F", bound=Callable[..., Any])


class Plato(click.Group):
    """The command group; every error becomes an exit code in generator/error_handler.py."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from generator.errors import masked_output

        # Every byte printed passes the secret mask, click's own messages too: a usage error repeats what was typed
        # (`--format ghp_...`), and click prints it after the command has ended.
        with masked_output():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        from generator.error_handler import exit_codes, terminate_as_interrupt

        debug = bool(ctx.params.get("debug")) or os.environ.get("PLATO_DEBUG") == "1"
        # SIGTERM (a cancelled CI job) unwinds every command as Ctrl-C does: clones removed, git and workers stopped.
        with exit_codes(ctx, debug), terminate_as_interrupt():
            return super().invoke(ctx)


@click.group(cls=Plato, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="plato")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def main(debug: bool) -> None:
    """plato: one Score workload spec in, a GitOps deployment repository out.

    Read -> Match -> Create -> Deploy: reads Score specs and the CI context, matches the platform's
    rules, creates Kubernetes, Terraform and CD files, and commits them to a deployment repository.
    """


def rules_option(help: str = "Rules folder (default: the bundled rules).") -> Callable[[F], F]:
    return click.option("--rules", "rules_dir", type=click.Path(path_type=Path), default=None, help=help)


def policies_option() -> Callable[[F], F]:
    return click.option(
        "--policies",
        "policies_dir",
        type=click.Path(path_type=Path),
        default=None,
        help="A folder of ValidatingAdmissionPolicy files, checked besides those in the rules folder.",
    )


PER_APP_MODE = "push: commit to the branch; pr: push plato/<env>/<app> for a pull request."
PER_APP_BODY = "Write DIR/<env>-<app>.md."


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True)


def mode_option(help: str) -> Callable[[F], F]:
    return click.option("--mode", type=click.Choice(["push", "pr"]), default="push", show_default=True, help=help)


def retries_option(f: F) -> F:
    f = click.option(
        "--max-retries",
        type=click.IntRange(min=0),
        default=None,
        help="Deprecated (use --retry-for): also give up after this many retries of a push that lost a race.",
    )(f)
    return click.option(
        "--retry-for",
        type=click.FloatRange(min=0),
        default=300.0,
        show_default=True,
        metavar="SECONDS",
        help="Keep retrying a push that lost a race (jittered backoff) for this long.",
    )(f)


@dataclass(frozen=True)
class Spec:
    """What every command that renders takes: the workload files, the context and where the rules are."""

    workloads: tuple[Path, ...]
    context: tuple[str, ...]
    image: str | None
    rules_dir: Path | None
    allow_outside_workspace: bool
    policies_dir: Path | None = None

    @contextmanager
    def fetch_ahead(self, repo: str, branch: str, pr: bool = False) -> Iterator[Any]:
        """A clone of the deployment repository, fetching already (in the background) while the specs are read and
        rendered: the tip, and the app's record and .gitattributes where the context names the env and app (their
        paths need no rule). Closed at the end; None when there is nothing to fetch from (a local path that does
        not exist yet: publish creates it) or nothing to render."""
        from generator.deploy.git import Clone, is_url
        from generator.deploy.layout import pr_branch, record_path
        from generator.error_handler import terminate_as_interrupt
        from generator.errors import UserError
        from generator.read.ci import DNS_LABEL
        from generator.read.context import from_env, parse_pairs

        if not self.workloads or not (is_url(repo) or Path(repo).exists()):
            yield None
            return
        try:
            ctx = {**from_env(os.environ), **parse_pairs(self.context)}
        except UserError:
            ctx = {}  # reported as it always was, when the input is read
        env, app = ctx.get("env", ""), ctx.get("app", "")
        named = all(DNS_LABEL.fullmatch(v) for v in (env, app))
        branches = [branch, *([pr_branch(env, app)] if pr and named else [])]
        paths = [record_path(env, app), ".gitattributes"] if named else []
        with terminate_as_interrupt(), Clone(repo, paths=True) as clone:  # a cancelled job stops git, removes it
            yield clone.fetch_ahead(branches, paths)

    def inputs(self) -> Any:
        from generator.pipeline import Inputs

        if not self.workloads:
            raise click.UsageError("give at least one workload file (or folder of them)")
        return Inputs.load(
            list(self.workloads),
            context=self.context,
            image=self.image,
            rules_dir=self.rules_dir,
            allow_outside_workspace=self.allow_outside_workspace,
            environ=dict(os.environ),
            policies_dir=self.policies_dir,
        )


def workload_args(f: Callable[..., Any]) -> Callable[..., Any]:
    """WORKLOADS, -c, --image, --rules and --allow-outside-workspace, handed to the command as one `spec`."""

    @functools.wraps(f)
    def command(
        *args: Any,
        workloads: tuple[Path, ...],
        context: tuple[str, ...],
        image: str | None,
        rules_dir: Path | None,
        allow_outside_workspace: bool,
        policies_dir: Path | None,
        **kwargs: Any,
    ) -> Any:
        spec = Spec(workloads, context, image, rules_dir, allow_outside_workspace, policies_dir)
        return f(*args, spec=spec, **kwargs)

    options = [
        click.argument("workloads", nargs=-1, type=click.Path(path_type=Path)),
        click.option(
            "-c",
            "--context",
            "context",
            multiple=True,
            metavar="KEY=VALUE",
            help="A context key (repeatable): env, app, org, region, ...",
        ),
        click.option("--image", default=None, help="The image CI built: what `image: .` means."),
        rules_option(),
        click.option(
            "--allow-outside-workspace",
            is_flag=True,
            help="Allow file sources outside the spec's workspace (its git work tree).",
        ),
        policies_option(),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _branch(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A branch name git takes as one (git check-ref-format --branch), and nothing that looks like a credential:
    the name becomes a ref in the deployment repository. The value is not repeated in the message."""
    from generator.credentials import first

    parts = value.split("/")
    wrong = (
        not value
        or value == "HEAD"
        or value.startswith(("-", "refs/"))
        or value.endswith((".lock", "."))
        or any(not part or part.startswith(".") or part.endswith(".lock") for part in parts)
        or re.search(r"\.\.|@\{|[\x00-\x20\x7f~^:?*\[\\]", value)
        or value == "@"
    )
    if wrong:
        raise click.BadParameter("not a branch name git takes (git check-ref-format --branch)", ctx, param)
    if first(value):
        raise click.BadParameter("looks like a credential, and would become a ref in the deployment repository")
    return value


def _repo(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """The git settings of a command that reaches a repository, checked before it is touched (or created)."""
    from generator.deploy.git import git_timeout
    from generator.error_handler import exit_codes

    with exit_codes(ctx, False):  # a UserError here is bad input, not a usage error
        git_timeout()
    return value


def repo_args(f: F) -> F:
    f = click.option(
        "--branch", default="main", show_default=True, callback=_branch, help="The deployment repository's branch."
    )(f)
    f = click.option(
        "--repo",
        required=True,
        callback=_repo,
        metavar="PATH|URL",
        help="The deployment repository (a local path is created as a bare repository if missing).",
    )(f)
    return f


@main.command()
@click.argument("workloads", nargs=-1, type=click.Path(path_type=Path))
@rules_option("Also check this rules folder (default: the bundled rules when no workload is given).")
@click.option("--allow-outside-workspace", is_flag=True, help="Allow file sources outside the workspace.")
@click.option(
    "-c", "--context", "context", multiple=True, metavar="KEY=VALUE", help="Also match the specs in this context."
)
@click.option("--image", default=None, help="The image CI built: what `image: .` means.")
@click.option("--all-envs", is_flag=True, help="Also match the specs in every environment the rules define.")
@policies_option()
def validate(
    workloads: tuple[Path, ...],
    rules_dir: Path | None,
    allow_outside_workspace: bool,
    context: tuple[str, ...],
    image: str | None,
    all_envs: bool,
    policies_dir: Path | None,
) -> None:
    """Check workload specs, rules and admission policies (every CEL expression compiles). Changes nothing.

    With -c env=... (or --all-envs) the specs are matched against the rules without rendering: every resource
    needs a rule, every placeholder an output, every param must be accepted. A file `source` that does not exist
    is a warning here (rendering fails on it).
    """
    from generator.commands.validate import Targets, run

    run(list(workloads), rules_dir, allow_outside_workspace, Targets(context, image, all_envs), policies_dir)


@main.command()
@click.argument("what", type=click.Choice(["workload", "rules"]))
def schema(what: str) -> None:
    """Print plato's JSON schema for workload specs or rule files (for editors)."""
    from generator.commands.schema import run

    run(what)


def _check_outputs(files: dict[str, Path | None] | None = None, folders: dict[str, Path | None] | None = None) -> None:
    """What the run writes after it lands, checked before: its own paths and GitHub Actions' files."""
    from generator.deploy.github import check_writable

    step = {name: os.environ.get(name) for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    check_writable({**(files or {}), **step}, folders or {})


def landing_options(mode_help: str, pr_body_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """What promote, rollback and rerender take to land their commits: --repo, --branch, --mode, the retries,
    --pr-body-dir and --format, handed to the command as one `landing` (generator/commands/deploy.py)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def command(
            *args: Any,
            repo: str,
            branch: str,
            mode: Mode,
            retry_for: float,
            max_retries: int | None,
            pr_body_dir: Path | None,
            fmt: str,
            **kwargs: Any,
        ) -> Any:
            from generator.commands.deploy import Landing, retry_settings

            landing = Landing(repo, branch, mode, retry_settings(retry_for, max_retries), fmt, pr_body_dir)
            _check_outputs(folders={"--pr-body-dir": pr_body_dir})
            return f(*args, landing=landing, **kwargs)

        options = (
            format_option("text", "json"),
            click.option("--pr-body-dir", type=click.Path(path_type=Path), default=None, help=pr_body_help),
            retries_option,
            mode_option(mode_help),
            repo_args,
        )
        for option in options:
            command = option(command)
        return command

    return decorate


@main.command()
@click.option("--from", "source_env", required=True, metavar="ENV", help="The environment whose inputs to take.")
@click.option("--to", "target_env", required=True, metavar="ENV", help="The environment to render them for.")
@click.option("-c", "--context", "context", multiple=True, metavar="app=APP", help="The app to promote.")
@click.option("--select", default=None, metavar="KEY=GLOB,...", help="Several apps of --from, e.g. app=shop-*.")
@rules_option("The rules of the target environment (default: the bundled rules).")
@landing_options(PER_APP_MODE, PER_APP_BODY)
def promote(landing: Landing, **request: Any) -> None:
    """Render an environment's recorded inputs (image digest, specs) for the next environment and commit them."""
    from generator.commands.promote import run as run_promote

    run_promote(landing, **request)


@main.command()
@click.option("-c", "--context", "context", multiple=True, metavar="KEY=VALUE", help="env=ENV and app=APP.")
@click.option("--to", "rev", required=True, metavar="REV", help="The deployment repository's commit to go back to.")
@rules_option()
@click.option("--rules-at-rev", is_flag=True, help="Refuse unless the rules are those recorded at REV (digests).")
@landing_options(PER_APP_MODE, PER_APP_BODY)
def rollback(landing: Landing, **request: Any) -> None:
    """Render an app again from the inputs recorded at a past commit, as a new commit."""
    from generator.commands.rollback import run as run_rollback

    run_rollback(landing, **request)


def run() -> None:  # pragma: no cover - console entry for `python -m generator`
    main()


@main.command()
@workload_args
@format_option("text", "json")
def explain(spec: Spec, fmt: str) -> None:
    """Which rules matched for the target and each resource, and why each candidate won or lost.

    What cannot be matched is listed after the table, and the exit code is then 2."""
    from generator.commands.explain import run

    run(spec.inputs(), fmt)


@main.command()
@workload_args
@format_option("text", "json", "sarif")
def check(spec: Spec, fmt: str) -> None:
    """Render and evaluate the admission policies; writes nothing. Exit 2 when a Deny policy fails.

    --format sarif writes SARIF 2.1.0 for GitHub code scanning (github/codeql-action/upload-sarif).
    """
    from generator.commands.check import run

    run(spec.inputs(), fmt)


@main.command()
@workload_args
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Folder to write the rendered tree into (its owned paths are replaced).",
)
@click.option(
    "--promotion",
    is_flag=True,
    help="Print the app's GitOps Promoter objects (GitRepository, PromotionStrategy, GitCommitStatus) instead; "
    "needs -c app=APP -c deploy_repo=URL, no workload.",
)
def render(spec: Spec, out: Path, promotion: bool) -> None:
    """Render the files the deployment repository would hold for this (env, app) into a folder."""
    from generator.commands.render import run

    if promotion:
        from generator.commands.promote import print_promotion

        print_promotion(spec.context, spec.rules_dir)
        return
    run(spec.inputs(), out)


@main.command()
@workload_args
@repo_args
@format_option("text", "markdown", "json")
def preview(spec: Spec, repo: str, branch: str, fmt: str) -> None:
    """Dry run: what publishing would change in the deployment repository. Writes nothing.

    With no WORKLOAD, the app named by -c env=... -c app=... is re-rendered from the inputs its last publish
    recorded in the repository: with --rules NEW_DIR, a platform engineer tries a rule change on one app.
    """
    with spec.fetch_ahead(repo, branch) as ahead:
        from generator.commands.deploy import recorded_inputs, run_preview

        if spec.workloads:
            inputs = spec.inputs()
        else:  # no specs: re-render the app from the inputs its last publish recorded (try a rule change on one app)
            inputs = recorded_inputs(repo, branch, spec.context, spec.image, spec.rules_dir)
            inputs.policies_dir = spec.policies_dir
        run_preview(inputs, repo, branch, fmt, ahead)


@main.command()
@workload_args
@repo_args
@mode_option(PER_APP_MODE)
@retries_option
@click.option("--pr-body", type=click.Path(path_type=Path), default=None, help="Write the PR body (Markdown) here.")
@format_option("text", "json")
def publish(
    spec: Spec,
    repo: str,
    branch: str,
    mode: Mode,
    retry_for: float,
    max_retries: int | None,
    pr_body: Path | None,
    fmt: str,
) -> None:
    """Render and commit to the deployment repository (push, or a branch for a pull request)."""
    _check_outputs({"--pr-body": pr_body})
    with spec.fetch_ahead(repo, branch, pr=mode == "pr") as ahead:
        from generator.commands.deploy import retry_settings, run_publish

        run_publish(spec.inputs(), repo, branch, mode, retry_settings(retry_for, max_retries), fmt, pr_body, ahead)


@main.command()
@rules_option()
@click.option("--select", default=None, metavar="KEY=GLOB,...", help="Only these apps, e.g. env=production,app=shop.")
@click.option("--dry-run", is_flag=True, help="Show the impact; write nothing.")
@click.option("--jobs", type=int, default=None, help="Worker processes (default: one per core).")
@click.option("--full", is_flag=True, help="Render every app, also those whose inputs, rules and plato are unchanged.")
@click.option("--shard", default=None, metavar="I/N", help="Only share I of N of the apps (a stable hash of env/app).")
@landing_options(
    "push: one commit per environment; pr: one branch plato/rerender/<env> per environment.",
    "Write each environment's PR body to DIR/<env>.md.",
)
def rerender(landing: Landing, **request: Any) -> None:
    """Re-render every recorded app (or a selection) with the given rules: the fleet update after a rule change."""
    from generator.commands.rerender import run as run_rerender

    run_rerender(landing, **request)
