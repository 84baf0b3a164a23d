"""`plato explain`: the table of every decision the match stage made, and what it could not match."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from generator.errors import Errors, UserError
from generator.pipeline import Inputs

if TYPE_CHECKING:
    from generator.match.plan import Plan


def run(inputs: Inputs, fmt: str) -> None:
    from generator.check.guard import check_workloads
    from generator.match.explain import explanation, text
    from generator.match.plan import derive_context
    from generator.match.rules import load_rules

    check_workloads(inputs.workloads)  # a credential in a spec never publishes: explain says so first, as validate does
    plan = inputs.plan(partial=True)
    _, notes = derive_context(inputs.context, load_rules(inputs.rules_dir))
    data = explanation(plan, notes)
    policy_lines = [] if plan.errors else _policies(inputs, plan, data)  # policies judge a rendered app: a whole plan
    click.echo(json.dumps(data, indent=2, sort_keys=True) if fmt == "json" else text(data), nl=fmt == "json")
    if fmt == "text" and policy_lines:
        click.echo("\n".join(policy_lines))
    if plan.errors:
        # The table above shows what matched; the rest fails a render: exit 2 with each reason.
        raise plan.errors[0] if len(plan.errors) == 1 else Errors(plan.errors)


def _policies(inputs: Inputs, plan: Plan, data: dict[str, Any]) -> list[str]:
    """Which admission policies applied to the rendered objects, and what each said (denials included). The app
    is rendered from the plan above (a partial plan without errors is the whole plan): matched once."""
    from generator.check.report import as_json, describe

    try:
        report = inputs.policy_results(plan)
    except UserError as exc:  # policies judge rendered objects; explain itself only needs the match
        data["policies"] = {"not_evaluated": exc.message}
        return ["", f"Admission policies: not evaluated, the app does not render: {exc.message}"]
    data["policies"] = as_json(report)
    if not report.results:
        return []
    lines = ["", "Admission policies applied (objects checked):"]
    lines += [f"  {name}: {n}" for name, n in report.applied().items()]
    lines += [f"  - {describe(r)}" for r in report.results if r.outcome != "passed"]
    return lines
