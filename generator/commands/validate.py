"""`plato validate`: check specs and rules, change nothing, report every problem found.

With a context (`-c env=... -c app=...`, or the CI's variables) or `--all-envs`, the specs are also matched
against the rules for each target environment: every resource must have a rule, every placeholder an output the
rule offers, every param must be accepted, every context key a rule needs must be there; then rendered and
checked as a publish would check them (writing nothing). That is the check an application repository wants
before merge: what passes it publishes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.errors import Collector, Errors, PlatoError, UserError

if TYPE_CHECKING:
    from generator.match.plan import Plan
    from generator.match.rules import Rule, RuleSet
    from generator.read.models import Workload


@dataclass(frozen=True)
class Targets:
    """What to match the specs against: the -c pairs and --image, and whether to do so for every environment."""

    context: tuple[str, ...] = ()
    image: str | None = None
    all_envs: bool = False


def run(
    paths: list[Path],
    rules_dir: Path | None,
    allow_outside: bool,
    targets: Targets = Targets(),
    policies_dir: Path | None = None,
) -> None:
    """Specs, rules and their matching, then the admission policies of the rules folder and --policies (every CEL
    expression compiles): the policies are checked when a rules folder or --policies is named, or no spec."""
    _check(paths, rules_dir, allow_outside, targets)
    if rules_dir is not None or policies_dir is not None or not paths:
        from generator.check.load import compile_folders

        click.echo(compile_folders(rules_dir, policies_dir), err=True)


def _check(paths: list[Path], rules_dir: Path | None, allow_outside: bool, targets: Targets) -> None:
    found = Collector()
    workloads: list[Workload] | None = None
    rs: RuleSet | None = None
    if paths:
        with found.attempt():
            workloads = _specs(paths, allow_outside)
    matching = bool(workloads) and (targets.all_envs or bool(targets.context))
    if rules_dir is not None or not paths or matching:
        with found.attempt():
            rs = _rules(rules_dir)
    if workloads and matching and rs is not None:
        contexts: list[dict[str, str]] = []
        with found.attempt():
            contexts = _target_contexts(targets, rs)
        for ctx in contexts:
            with found.attempt():
                _coverage(workloads, ctx, rs, rules_dir)
    found.check()
    if workloads is not None:
        count = len(workloads)
        click.echo(f"ok: {count} workload{'s' if count != 1 else ''} valid", err=True)


def _specs(paths: list[Path], allow_outside: bool) -> list[Workload]:
    from generator.read.workload import Options, load_workloads
    from generator.read.yamlfile import iter_yaml_files

    files = list(iter_yaml_files(paths))
    if not files:
        raise UserError("no .yaml files found", file=", ".join(map(str, paths)))
    workloads = load_workloads(files, Options(allow_outside_workspace=allow_outside, require_sources=False))
    from generator.check.guard import check_workloads

    check_workloads(workloads)  # what a spec says is recorded: a credential in it never publishes
    for w in workloads:
        for c in w.containers:
            for f in c.files:
                if f.missing_source:
                    click.echo(
                        f"{f.where.file}:{f.where.line}: warning: file source '{f.source}' does not "
                        f"exist ({f.missing_source}); rendering will fail until it does",
                        err=True,
                    )
    return workloads


def _rules(rules_dir: Path | None) -> RuleSet:
    from generator.match.rules import compile_all, indistinguishable, load_rules, shadowed, uncovered

    rs = load_rules(rules_dir, full=True)
    errors: list[PlatoError] = list(compile_all(rs))
    errors += [
        _at_rule(
            a,
            f"rules '{a.name}' and '{b.name}' ({b.where}) can never be told apart: same dimensions, overlapping "
            "criteria",
            "add a criterion to one of them, or make their values disjoint",
        )
        for a, b in indistinguishable(rs)
    ]
    errors += [
        _at_rule(
            loser,
            f"rule '{loser.name}' can never win: '{winner.name}' ({winner.where}) matches wherever it does and is "
            "more specific",
            f"remove '{loser.name}', or narrow '{winner.name}' (a '*' criterion matches every value)",
        )
        for loser, winner in shadowed(rs)
    ]
    for type_, env, env_rule in uncovered(rs):
        click.echo(
            f"{env_rule.where}: warning: no {type_} rule covers env={env} in general (only some apps, orgs, "
            f"regions or ids): a workload asking for a {type_} there will fail to publish",
            err=True,
        )
    if errors:
        raise errors[0] if len(errors) == 1 else Errors(errors)
    click.echo(f"rules: {len(rs.all_rules())} rules in {rs.origin} are valid", err=True)
    return rs


def _at_rule(rule: Rule, message: str, hint: str) -> UserError:
    return UserError.at(rule, f"{rule.kind} {message}", hint=hint)


def _target_contexts(targets: Targets, rs: RuleSet) -> list[dict[str, str]]:
    """The -c context as given, or, with --all-envs, one context per environment the rules define: the first
    plain value of each criterion of each Environment rule fills what the context does not say."""
    from generator.read import context as ctxmod

    base = ctxmod.build(targets.context, dict(os.environ), targets.image)
    if not targets.all_envs:
        return [base]
    contexts: dict[str, dict[str, str]] = {}
    for rule in rs.environments:
        plain = {key: v for key, wanted in rule.match.items() if (v := next((w for w in wanted if not _glob(w)), ""))}
        if "env" not in plain:
            click.echo(
                f"{rule.where}: warning: Environment rule '{rule.name}' names no plain env; check it with -c env=...",
                err=True,
            )
            continue
        ctx = {**plain, **base, "env": plain["env"]}
        contexts.setdefault(ctx["env"], ctx)
    return list(contexts.values())


def _glob(value: str) -> bool:
    return any(ch in value for ch in "*?[")


# What `image: .` stands for when validate is given no --image: a fixed tag, as CI's build gives.
PLACEHOLDER_IMAGE = "validate.plato.invalid/image:0.0.0"


def _coverage(workloads: list[Workload], ctx: Mapping[str, str], rs: RuleSet, rules_dir: Path | None) -> None:
    """Match: a rule for every resource, an output for every placeholder, accepted params, and every context key
    the matched rules' templates read; then, when all of that holds, render and check as a publish would (the
    rules' own refusals, the credential guard, the admission policies), writing nothing. Specs whose file sources
    are missing (warned about) are matched only."""
    from generator.pipeline import Inputs

    ctx = dict(ctx)
    if "app" not in ctx:
        # An application repository's pre-merge check runs outside CI: its workloads name the app.
        ctx["app"] = workloads[0].name
    inputs = Inputs(workloads, ctx, rules_dir, [])
    plan = inputs.plan(partial=True, rules=rs)
    problems = [*plan.errors, *_missing_keys(plan)]
    if problems:
        raise problems[0] if len(problems) == 1 else Errors(problems)
    if not any(f.missing_source for w in workloads for c in w.containers for f in c.files):
        Inputs(workloads, {"image": PLACEHOLDER_IMAGE, **ctx}, rules_dir, []).render(rules=rs, quiet=True)
    n = len(plan.resources)
    click.echo(
        f"ok: env={plan.context['env']} app={plan.context['app']}: {n} resource{'s' if n != 1 else ''} matched "
        f"(Environment '{plan.environment.name}')",
        err=True,
    )


def _missing_keys(plan: Plan) -> list[PlatoError]:
    from generator.match.templates import STAGE_NAMES, free_names

    env = plan.context["env"]
    rules = [plan.environment, *(p for p in plan.profiles.values() if p), *(n.rule for n in plan.resources.values())]
    found: dict[tuple[str, str], PlatoError] = {}
    for rule in rules:
        for name, tpl in free_names(rule.spec):
            if name in plan.context or name in STAGE_NAMES or (rule.ref, name) in found:
                continue
            found[(rule.ref, name)] = UserError.at(
                tpl,
                f"{rule.kind} rule '{rule.name}' (used in env={env}) needs the context key '{name}', which this "
                "run does not set",
                hint=f"pass -c {name}=... (or PLATO_CONTEXT_{name.upper()}=...), or set it in CI",
            )
    return list(found.values())
