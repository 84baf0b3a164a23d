"""The command line: parses flags and calls the stages. Heavy imports happen inside the commands."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from generator import __version__

F = TypeVar("F", bound=Callable[..., Any])


class Plato(click.Group):
    """Maps errors to exit codes in one place: 2 bad input, 3 repository, 1 a bug."""

    def invoke(self, ctx: click.Context) -> Any:
        from generator.errors import EXIT_BUG, PlatoError, mask_secrets

        debug = "--debug" in sys.argv or os.environ.get("PLATO_DEBUG") == "1"
        try:
            return super().invoke(ctx)
        except PlatoError as exc:
            if debug:
                import traceback

                traceback.print_exc()
            click.echo(exc.render(), err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo(
                "interrupted: plato stopped. The deployment repository holds either its previous state or one whole "
                "new commit (a push is atomic); run again to be sure it holds this one",
                err=True,
            )
            ctx.exit(130)
        except Exception as exc:  # a bug: say so, and how to report it
            if debug:
                import traceback

                traceback.print_exc()
            click.echo(
                mask_secrets(
                    f"internal error: {type(exc).__name__}: {exc}\n"
                    "This is a bug in plato. Run again with --debug for the traceback and report it."
                ),
                err=True,
            )
            ctx.exit(EXIT_BUG)


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


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True)


def mode_option(help: str) -> Callable[[F], F]:
    return click.option("--mode", type=click.Choice(["push", "pr"]), default="push", show_default=True, help=help)


retries_option = click.option(
    "--max-retries", default=10, show_default=True, help="Retries of a push that lost a race."
)


@dataclass(frozen=True)
class Spec:
    """What every command that renders takes: the workload files, the context and where the rules are."""

    workloads: tuple[Path, ...]
    context: tuple[str, ...]
    image: str | None
    rules_dir: Path | None
    allow_outside_workspace: bool
    policies_dir: Path | None = None

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


def repo_args(f: F) -> F:
    f = click.option("--branch", default="main", show_default=True, help="The deployment repository's branch.")(f)
    f = click.option(
        "--repo",
        required=True,
        metavar="PATH|URL",
        help="The deployment repository (a local path is created as a bare repository if missing).",
    )(f)
    return f


@main.command()
@click.argument("workloads", nargs=-1, type=click.Path(path_type=Path))
@rules_option("Also check this rules folder (default: the bundled rules when no workload is given).")
@click.option("--allow-outside-workspace", is_flag=True, help="Allow file sources outside the workspace.")
@policies_option()
def validate(
    workloads: tuple[Path, ...], rules_dir: Path | None, allow_outside_workspace: bool, policies_dir: Path | None
) -> None:
    """Check workload specs, rules and admission policies (every CEL expression compiles). Changes nothing.

    A file `source` that does not exist is a warning here (rendering fails on it).
    """
    from generator.check.load import compile_folders
    from generator.commands.validate import run

    run(list(workloads), rules_dir, allow_outside_workspace)
    if rules_dir is not None or policies_dir is not None or not workloads:
        click.echo(compile_folders(rules_dir, policies_dir), err=True)


@main.command()
@click.argument("what", type=click.Choice(["workload", "rules"]))
def schema(what: str) -> None:
    """Print plato's JSON schema for workload specs or rule files (for editors)."""
    from generator.resources import bundled_dir

    name = "workload" if what == "workload" else "rules"
    click.echo((bundled_dir("schemas") / f"{name}.schema.json").read_text(encoding="utf-8"), nl=False)


def run() -> None:  # pragma: no cover - console entry for `python -m generator`
    main()


@main.command()
@workload_args
@format_option("text", "json")
def explain(spec: Spec, fmt: str) -> None:
    """Which rules matched for the target and each resource, and why each candidate won or lost."""
    import json

    from generator.match.explain import explanation, text
    from generator.match.plan import derive_context

    inputs = spec.inputs()
    plan = inputs.plan()
    from generator.match.rules import load_rules

    _, notes = derive_context(inputs.context, load_rules(spec.rules_dir))
    data = explanation(plan, notes)
    policy_lines = _explain_policies(inputs, data)
    click.echo(json.dumps(data, indent=2, sort_keys=True) if fmt == "json" else text(data), nl=fmt == "json")
    if fmt == "text" and policy_lines:
        click.echo("\n".join(policy_lines))


def _explain_policies(inputs: Any, data: dict[str, Any]) -> list[str]:
    """Which admission policies applied to the rendered objects, and what each said (denials included)."""
    from generator.check.report import as_json, describe

    report = inputs.policy_results()
    data["policies"] = as_json(report)
    if not report.results:
        return []
    lines = ["", "Admission policies applied (objects checked):"]
    lines += [f"  {name}: {n}" for name, n in report.applied().items()]
    lines += [f"  - {describe(r)}" for r in report.results if r.outcome != "passed"]
    return lines


@main.command()
@workload_args
@format_option("text", "json", "sarif")
def check(spec: Spec, fmt: str) -> None:
    """Render and evaluate the admission policies; writes nothing. Exit 2 when a Deny policy fails.

    --format sarif writes SARIF 2.1.0 for GitHub code scanning (github/codeql-action/upload-sarif).
    """
    import json

    from generator.check.report import as_json, denial_error, describe, sarif

    report = spec.inputs().policy_results()
    if fmt == "sarif":
        from generator.pipeline import repo_path

        click.echo(sarif(report, __version__, repo_path))
    elif fmt == "json":
        click.echo(json.dumps(as_json(report), indent=2, sort_keys=True))
    else:
        for r in report.results:
            if r.outcome != "passed":
                click.echo(describe(r))
        click.echo(f"{len(report.passed)} passed, {len(report.results) - len(report.passed)} reported", err=True)
    error = denial_error(report)
    if error is not None:
        raise error


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
def render(spec: Spec, out: Path) -> None:
    """Render the files the deployment repository would hold for this (env, app) into a folder."""
    from generator.deploy.tree import write_tree

    tree = spec.inputs().render()
    write_tree(out, tree)
    click.echo(f"rendered {len(tree.files)} files for {tree.app} in {tree.env} into {out}/", err=True)
    for path in tree.files:
        click.echo(f"  {path}", err=True)


@main.command()
@workload_args
@repo_args
@format_option("text", "markdown", "json")
def preview(spec: Spec, repo: str, branch: str, fmt: str) -> None:
    """Dry run: what publishing would change in the deployment repository. Writes nothing.

    With no WORKLOAD, the app named by -c env=... -c app=... is re-rendered from the inputs its last publish
    recorded in the repository: with --rules NEW_DIR, a platform engineer tries a rule change on one app.
    """
    from generator.commands.deploy import recorded_inputs, run_preview

    if spec.workloads:
        inputs = spec.inputs()
    else:  # no specs: re-render the app from the inputs its last publish recorded (try a rule change on one app)
        inputs = recorded_inputs(repo, branch, spec.context, spec.image, spec.rules_dir)
        inputs.policies_dir = spec.policies_dir
    run_preview(inputs, repo, branch, fmt)


@main.command()
@workload_args
@repo_args
@mode_option("push: commit to the branch; pr: push plato/<env>/<app> for a pull request.")
@retries_option
@click.option("--pr-body", type=click.Path(path_type=Path), default=None, help="Write the PR body (Markdown) here.")
@format_option("text", "json")
def publish(spec: Spec, repo: str, branch: str, mode: str, max_retries: int, pr_body: Path | None, fmt: str) -> None:
    """Render and commit to the deployment repository (push, or a branch for a pull request)."""
    from generator.commands.deploy import run_publish

    run_publish(spec.inputs(), repo, branch, mode, max_retries, fmt, pr_body)


@main.command()
@repo_args
@rules_option()
@click.option("--select", default=None, metavar="KEY=GLOB,...", help="Only these apps, e.g. env=production,app=shop.")
@click.option("--dry-run", is_flag=True, help="Show the impact; write nothing.")
@mode_option("push: one commit per environment; pr: one branch plato/rerender/<env> per environment.")
@retries_option
@click.option("--jobs", type=int, default=None, help="Worker processes (default: one per core).")
@click.option(
    "--pr-body-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write each environment's PR body to DIR/<env>.md.",
)
@format_option("text", "json")
def rerender(
    repo: str,
    branch: str,
    rules_dir: Path | None,
    select: str | None,
    dry_run: bool,
    mode: str,
    max_retries: int,
    jobs: int | None,
    pr_body_dir: Path | None,
    fmt: str,
) -> None:
    """Re-render every recorded app (or a selection) with the given rules: the fleet update after a rule change."""
    from generator.commands.rerender import run as run_rerender

    run_rerender(repo, branch, rules_dir, select, dry_run, mode, max_retries, fmt, jobs, pr_body_dir)
