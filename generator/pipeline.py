"""Read -> Match -> Create -> Check, composed once for the commands that need them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.read import context as ctxmod
from generator.read.models import Workload
from generator.read.workload import Options, load_workloads
from generator.read.yamlfile import iter_yaml_files

if TYPE_CHECKING:
    from generator.create.render import RenderedTree
    from generator.match.plan import Plan
    from generator.match.rules import RuleSet


@dataclass
class Inputs:
    workloads: list[Workload]
    context: dict[str, str]
    rules_dir: Path | None
    files: list[str]  # the workload files, relative to their workspace: the same on every machine
    policies_dir: Path | None = None  # admission policies besides those in the rules folder (--policies)
    policy_report: Any = None  # the last render's admission-policy results (generator/check/policy.Report)
    annotate: bool = False  # running in GitHub Actions: policy results also as ::error/::warning annotations

    @classmethod
    def load(
        cls,
        paths: list[Path],
        *,
        context: tuple[str, ...] | list[str] = (),
        image: str | None = None,
        rules_dir: Path | None = None,
        allow_outside_workspace: bool = False,
        environ: Mapping[str, str] | None = None,
        policies_dir: Path | None = None,
    ) -> Inputs:
        ctx = ctxmod.build(context, environ or {}, image)
        files = list(iter_yaml_files(paths))
        # A missing file `source` is reported when the file is rendered, after matching: "no rule for this
        # type" is the more useful first message for a spec written for another platform.
        opts = Options(allow_outside_workspace=allow_outside_workspace, require_sources=False)
        workloads = load_workloads(files, opts)
        shown = sorted(display_path(f) for f in files)
        annotate = (environ or {}).get("GITHUB_ACTIONS") == "true"
        return cls(workloads, ctx, rules_dir, shown, policies_dir, annotate=annotate)

    def plan(self, partial: bool = False, rules: RuleSet | None = None) -> Plan:
        """The match stage's plan; with `partial` (explain), what did match, with the errors of the rest. `rules`
        is a rule set already loaded (a re-render's workers hold one), else the rules folder is read."""
        from generator.match.plan import make_plan
        from generator.match.rules import load_rules

        rs = rules if rules is not None else load_rules(self.rules_dir)
        return make_plan(self.workloads, self.context, rs, partial=partial)

    def render(self, rules: RuleSet | None = None, plan: Plan | None = None, quiet: bool = False) -> RenderedTree:
        """Read -> match -> create -> check: the one composition of the stages, for every command and worker.
        `plan` is a plan already made and checked by the caller (promote checks its stage order first). The check
        stage refuses credentials, then evaluates the admission policies: a denial stops here, before any deploy
        step runs (`quiet`: a fleet re-render prints no warnings per app)."""
        from generator.check.guard import check_rendered
        from generator.create.render import render
        from generator.match.bounds import run_budget

        with run_budget():  # every template of this (env, app) together: a publish's memory stays bounded
            tree = render(plan if plan is not None else self.plan(rules=rules), self.files)
        check_rendered(tree, self.workloads)  # nothing leaves that looks like a credential
        self.policy_report = check_admission_policies(tree, self.workloads, self.policies_dir, self.annotate, quiet)
        return tree

    def policy_results(self) -> Any:
        """Render and evaluate the policies without stopping at a denial (`check` and `explain` list them all)."""
        from generator.create.render import render
        from generator.match.bounds import run_budget

        with run_budget():
            tree = render(self.plan(), self.files)
        return evaluate_admission_policies(tree, self.workloads, self.policies_dir)


def check_admission_policies(
    tree: Any, workloads: list[Workload], policies_dir: Path | None = None, annotate: bool = False, quiet: bool = False
) -> Any:
    """The ONE point where rendered objects meet the platform's ValidatingAdmissionPolicies (the rules folder's
    and --policies DIR's), after create and before any deploy step. Warnings and skipped checks are printed
    (unless quiet: a fleet re-render); denials are raised as one user error (exit 2), so nothing is committed."""
    import click

    from generator.check.report import denial_error, describe, reported, workflow_commands

    report = evaluate_admission_policies(tree, workloads, policies_dir)
    shown = [] if quiet else reported(report)
    for line in workflow_commands(shown, repo_path) if annotate else []:
        click.echo(line, err=True)
    for r in shown:
        if "Deny" not in r.actions or r.outcome == "skipped":
            click.echo(f"{describe(r)}", err=True)
    error = denial_error(report)
    if error is not None:
        raise error
    return report


def evaluate_admission_policies(tree: Any, workloads: list[Workload], policies_dir: Path | None = None) -> Any:
    """The policy report of a rendered tree, denials included (for `explain`, which lists them all)."""
    from generator.check.load import load_policies, read_policy_documents
    from generator.check.policy import Report, evaluate

    docs = list(tree.plan.rules.policy_docs) + (read_policy_documents(policies_dir) if policies_dir else [])
    if not docs:
        return Report()
    manifests = f"{tree.plan.env['paths']['manifests']}/manifest.yaml"
    by_name = {w.name: w for w in workloads}
    targets = [_target(obj, manifests, by_name) for obj in tree.objects]
    return evaluate(load_policies(docs), targets, context=tree.plan.context)


def _target(obj: dict[str, Any], file: str, workloads: Mapping[str, Workload]) -> Any:
    """A rendered object with the way back to its Score spec: the container by name, else the workload."""
    from generator.check.policy import Target

    name = ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/name")
    workload = workloads.get(name) if isinstance(name, str) else None
    if workload is None:
        return Target(obj, file)
    found = workload

    def source(container: Mapping[str, Any]) -> Any:
        spec = next((c for c in found.containers if c.name == container.get("name")), None)
        return spec.where if spec is not None else found.where

    return Target(obj, file, source)


def repo_path(file: str) -> str:
    """A Score file as its repository names it, for PR bodies, annotations and SARIF (the same on every machine);
    a name that is not a file (a recorded re-render's label) as it is."""
    path = Path(file)
    return display_path(path) if path.is_file() else file


def display_path(path: Path) -> str:
    """A workload file as its workspace (git work tree) sees it, so provenance is the same on every machine."""
    from generator.read.workload import find_workspace

    real = path.resolve()
    return real.relative_to(find_workspace(real.parent)).as_posix()


def inputs_from_record(record: dict[str, Any], label: str, rules_dir: Path | None) -> Inputs:
    """The inputs a publish recorded, for a re-render with no access to the source repository."""
    from generator.errors import UserError
    from generator.read.workload import workload_from_data

    try:
        order = record.get("containerOrder") or {}
        workloads = [
            workload_from_data(_in_order(w, order), f"{label} (workload {w['metadata']['name']})")
            for w in record["workloads"]
        ]
        ctx = {str(k): str(v) for k, v in record["context"].items()}
        files = [str(f) for f in record.get("files", [])]
    except (KeyError, TypeError, AttributeError) as exc:
        raise UserError(
            f"recorded inputs are incomplete ({exc})",
            file=label,
            hint="publish the app again from its pipeline to record its inputs",
        ) from None
    ctxmod.validate(ctx, origin=label)
    return Inputs(sorted(workloads, key=lambda w: w.name), ctx, rules_dir, files)


def _in_order(workload: dict[str, Any], order: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded workload with its containers in the spec's order (the record's JSON sorts keys)."""
    names = order.get(workload["metadata"]["name"])
    containers = workload.get("containers")
    if not isinstance(names, list) or not isinstance(containers, dict) or sorted(names) != sorted(containers):
        return workload
    return {**workload, "containers": {n: containers[n] for n in names}}
