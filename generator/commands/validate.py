"""`plato validate`: check specs and rules, change nothing, report every problem found."""

from __future__ import annotations

from pathlib import Path

import click

from generator.errors import Errors, PlatoError, UserError


def run(paths: list[Path], rules_dir: Path | None, allow_outside: bool) -> None:
    from generator.match.rules import compile_all, indistinguishable, load_rules, shadowed, uncovered
    from generator.read.workload import Options, load_workloads
    from generator.read.yamlfile import iter_yaml_files

    errors: list[PlatoError] = []
    count = 0
    if paths:
        files = list(iter_yaml_files(paths))
        if not files:
            raise UserError("no .yaml files found", file=", ".join(map(str, paths)))
        try:
            workloads = load_workloads(files, Options(allow_outside_workspace=allow_outside, require_sources=False))
            count = len(workloads)
            for w in workloads:
                for c in w.containers:
                    for f in c.files:
                        if f.missing_source:
                            click.echo(
                                f"{f.where.file}:{f.where.line}: warning: file source '{f.source}' does not "
                                f"exist ({f.missing_source}); rendering will fail until it does",
                                err=True,
                            )
        except Errors as exc:
            errors.extend(exc.errors)
        except UserError as exc:
            errors.append(exc)
    if rules_dir is not None or not paths:
        try:
            rs = load_rules(rules_dir, full=True)
            errors.extend(compile_all(rs))
            for a, b in indistinguishable(rs):
                errors.append(
                    UserError(
                        f"{a.kind} rules '{a.name}' and '{b.name}' ({b.where}) can never be told apart: same "
                        "dimensions, overlapping criteria",
                        file=a.file,
                        line=a.line,
                        hint="add a criterion to one of them, or make their values disjoint",
                    )
                )
            for loser, winner in shadowed(rs):
                errors.append(
                    UserError(
                        f"{loser.kind} rule '{loser.name}' can never win: '{winner.name}' ({winner.where}) matches "
                        "wherever it does and is more specific",
                        file=loser.file,
                        line=loser.line,
                        hint=f"remove '{loser.name}', or narrow '{winner.name}' (a '*' criterion matches every value)",
                    )
                )
            for type_, env, env_rule in uncovered(rs):
                click.echo(
                    f"{env_rule.where}: warning: no {type_} rule covers env={env} in general (only some apps, orgs, "
                    f"regions or ids): a workload asking for a {type_} there will fail to publish",
                    err=True,
                )
            click.echo(
                f"rules: {len(rs.all_rules())} rules in {rs.origin} are valid" if not errors else "rules: checked",
                err=True,
            )
        except Errors as exc:
            errors.extend(exc.errors)
        except UserError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else Errors(errors)
    if paths:
        click.echo(f"ok: {count} workload{'s' if count != 1 else ''} valid", err=True)
