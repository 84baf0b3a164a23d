"""Read -> Match -> Create -> Check, composed once for the commands that need them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.read import context as ctxmod
from generator.read.models import Workload
from generator.read.workload import Options, display_path, load_workloads
from generator.read.yamlfile import iter_yaml_files

if TYPE_CHECKING:
    from generator.check.admission import Objects
    from generator.check.guard import Checked
    from generator.check.policy import Report
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
    policy_report: Report | None = None  # the last admission-policy results (of `render` or `admit`)
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

    def render(
        self,
        rules: RuleSet | None = None,
        plan: Plan | None = None,
        quiet: bool = False,
        admit: bool = True,
        checked: Checked | None = None,
        recorded: bool = False,
    ) -> RenderedTree:
        """Read -> match -> create -> check: the one composition of the stages, for every command and worker.
        `plan` is a plan already made and checked by the caller (promote checks its stage order first). The check
        stage refuses credentials, then evaluates the admission policies: a denial stops here, before any deploy
        step runs (`quiet`: a fleet re-render prints no warnings per app). `admit=False` leaves the policies to
        the caller that reads what the deployment repository holds (publish, preview and re-render call `admit`
        with those objects). `checked`: files already checked as they were written (see guard.check_outgoing);
        `recorded`: the workloads are those of a record checked so (see guard.check_rendered)."""
        from generator.check.guard import check_rendered
        from generator.create.render import render
        from generator.match.bounds import run_budget

        with run_budget():  # every template of this (env, app) together: a publish's memory stays bounded
            tree = render(plan if plan is not None else self.plan(rules=rules), self.files)
        check_rendered(tree, self.workloads, checked, recorded)  # nothing leaves that looks like a credential
        if admit:
            self.admit(tree, quiet=quiet)
        return tree

    def admit(
        self, tree: RenderedTree, old: Objects | None = None, quiet: bool = False, judged: Collection[int] = ()
    ) -> Report:
        """The check stage's admission policies on a rendered tree; `old` the objects the deployment repository
        holds now (each an UPDATE with that oldObject); without it every object is a CREATE. A denial raises.
        `judged`: the objects (by id) judged before, see policy.evaluate."""
        from generator.check.admission import check_tree

        self.policy_report = check_tree(tree, self.workloads, self.policies_dir, self.annotate, quiet, old, judged)
        tree.policy = self.policy_report.gate
        return self.policy_report

    def policy_results(self, plan: Plan | None = None) -> Report:
        """Render and evaluate the policies without stopping at a denial (`check` and `explain` list them all);
        `plan`: one the caller already made (explain's), so the rules are matched once."""
        from generator.check.admission import evaluate_tree
        from generator.create.render import render
        from generator.match.bounds import run_budget

        with run_budget():
            tree = render(plan if plan is not None else self.plan(), self.files)
        return evaluate_tree(tree, self.workloads, self.policies_dir)


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
