"""`plato check`: render and evaluate the admission policies, writing nothing; exit 2 when a Deny policy fails."""

from __future__ import annotations

import json

import click

from generator import __version__
from generator.check.admission import repo_path
from generator.pipeline import Inputs


def run(inputs: Inputs, fmt: str) -> None:
    from generator.check.report import as_json, denial_error, describe, sarif

    report = inputs.policy_results()
    if fmt == "sarif":
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
