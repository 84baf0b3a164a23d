"""Choosing exactly one rule: the most specific by lexicographic presence of dimensions, ties are errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from generator.errors import UserError
from generator.match.rules import Rule

Verdict = Literal["won", "lost", "no-match", "tie"]


@dataclass(frozen=True)
class Candidate:
    rule: Rule
    vector: tuple[int, ...]
    failed: tuple[str, tuple[str, ...], str | None] | None  # the first criterion that does not hold
    status: Verdict

    @property
    def reason(self) -> str:
        if self.failed:
            key, wanted, actual = self.failed
            want = wanted[0] if len(wanted) == 1 else "one of " + ", ".join(wanted)
            return (
                f"{key} is {actual!r}, rule wants {want}"
                if actual is not None
                else f"{key} is not set, rule wants {want}"
            )
        return ""


@dataclass(frozen=True)
class Decision:
    """What was needed, every candidate, and the winner."""

    need: str  # e.g. "environment", "resource db (postgres) of workload api"
    kind: str
    attrs: Mapping[str, str | None]
    candidates: tuple[Candidate, ...]
    winner: Rule | None
    dimensions: tuple[str, ...]


def choose(
    need: str,
    kind: str,
    rules: Sequence[Rule],
    attrs: Mapping[str, str | None],
    dims: tuple[str, ...],
    required: bool = True,
    file: str | None = None,
    line: int | None = None,
    where: Any = None,
) -> Decision:
    """The most specific matching rule. `where` (looked up only for a message) names the need's source."""
    if where is not None:
        file, line = where.file, None
    matched: list[tuple[Rule, tuple[int, ...]]] = []
    failed: dict[str, tuple[Rule, tuple[int, ...], tuple[str, tuple[str, ...], str | None]]] = {}
    for rule in rules:
        miss = rule.failed_criterion(attrs)
        vec = rule.vector(dims)
        if miss is None:
            matched.append((rule, vec))
        else:
            failed[rule.name] = (rule, vec, miss)
    matched.sort(key=lambda rv: rv[1], reverse=True)
    winner = matched[0][0] if matched else None
    if winner is not None and not (len(matched) > 1 and matched[0][1] == matched[1][1]):
        winner.ensure_valid()
    tie = len(matched) > 1 and matched[0][1] == matched[1][1]
    cands = [
        Candidate(r, v, None, ("tie" if tie and v == matched[0][1] else ("won" if r is winner else "lost")))
        for r, v in matched
    ]
    cands += [Candidate(r, v, miss, "no-match") for r, v, miss in failed.values()]
    decision = Decision(need, kind, dict(attrs), tuple(cands), None if tie else winner, dims)
    if tie:
        a, b = matched[0][0], matched[1][0]
        raise UserError(
            f"{need}: rules '{a.name}' ({a.where}) and '{b.name}' ({b.where}) match equally "
            f"(both name {_named(a, dims)})",
            file=file or a.file,
            line=(where.line if where is not None else line) if file else a.line,
            hint="make one of them more specific (add a criterion), or narrow one so they do not overlap; "
            "`plato explain` shows both",
        )
    if winner is None and required:
        err = no_match_error(need, kind, attrs, cands)
        if where is not None:
            line = where.line
        err.file, err.line = file or err.file, line if file else err.line
        raise err
    return decision


def _named(rule: Rule, dims: tuple[str, ...]) -> str:
    named = [d for d in dims if d in rule.match]
    return ", ".join(named) if named else "no dimension"


def no_match_error(need: str, kind: str, attrs: Mapping[str, str | None], cands: Sequence[Candidate]) -> UserError:
    shown = ", ".join(
        f"{k}={v}" for k, v in attrs.items() if v is not None and k in ("env", "env_type", "app", "type", "class", "id")
    )
    if not cands:
        return UserError(
            f"{need}: no {kind} rule matches ({shown}): there is no {kind} rule for it at all",
            hint="add a rule for it to your rules folder (see `plato schema rules`)",
        )
    wanted_class = attrs.get("class") or "default"
    classes = available_classes(kind, attrs, [c.rule for c in cands])
    if classes and wanted_class not in classes:
        return UserError(
            f"{need}: no {kind} rule matches class '{wanted_class}' ({shown}); the classes of "
            f"{attrs.get('type')} served here are {', '.join(classes)}",
            hint="use one of those classes (no class means 'default'), or add a rule with "
            f"match: {{type: {attrs.get('type')}, class: {wanted_class}}}",
        )
    closest = sorted(cands, key=lambda c: (-sum(c.vector), c.rule.name))[:3]
    lines = "; ".join(f"'{c.rule.name}' ({c.rule.where}): {c.reason}" for c in closest)
    return UserError(
        f"{need}: no {kind} rule matches ({shown}). Closest: {lines}",
        hint="widen a rule's match, or add one for this context",
    )


def available_classes(kind: str, attrs: Mapping[str, str | None], rules: Sequence[Rule]) -> list[str]:
    """The classes some rule would serve for this need, were it asked for that class (a glob shown as written)."""
    if kind != "Resource":
        return []
    found = {c for r in rules for c in r.classes if r.failed_criterion({**attrs, "class": c}) is None}
    return sorted(found, key=lambda c: (c != "default", c))
