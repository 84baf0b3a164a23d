"""`plato explain`: the table of every decision the match stage made, and what it could not match."""

from __future__ import annotations

import json

import click

from generator.errors import Errors
from generator.pipeline import Inputs


def run(inputs: Inputs, fmt: str) -> None:
    from generator.match.explain import explanation, text
    from generator.match.plan import derive_context
    from generator.match.rules import load_rules

    plan = inputs.plan(partial=True)
    _, notes = derive_context(inputs.context, load_rules(inputs.rules_dir))
    data = explanation(plan, notes)
    click.echo(json.dumps(data, indent=2, sort_keys=True) if fmt == "json" else text(data), nl=fmt == "json")
    if plan.errors:
        # The table above shows what matched; the rest fails a render: exit 2 with each reason.
        raise plan.errors[0] if len(plan.errors) == 1 else Errors(plan.errors)
