"""Showing a change: a terminal summary with a coloured diff, JSON, and the Markdown a reviewer reads in a PR."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import click

from generator import terminal
from generator.deploy.diff import Change, ChangeSet
from generator.errors import mask_secrets

PR_BODY_LIMIT = 65_536  # GitHub cuts a PR body here (peter-evans/create-pull-request)
PR_BODY_BUDGET = 60_000  # leave room for the note and the footer
MARKER = "<!-- plato:pr {key} -->"


def summary_line(cs: ChangeSet) -> str:
    if cs.empty:
        return f"{cs.app} in {cs.env}: no changes"
    parts = []
    for kind, n in cs.counts().items():
        bits = [
            f"+{n['added']}" if n["added"] else "",
            f"~{n['changed']}" if n["changed"] else "",
            f"-{n['removed']}" if n["removed"] else "",
        ]
        parts.append(f"{kind} {' '.join(b for b in bits if b)}")
    return f"{cs.app} in {cs.env}: " + ", ".join(parts)


def text(cs: ChangeSet, show_diff: bool = True, stream: TextIO | None = None) -> str:
    """The terminal report of one app's change; `stream` is where it goes (its table is drawn for a terminal)."""
    if cs.empty:
        return f"No changes: the deployment repository already holds exactly this for {cs.app} in {cs.env}.\n"
    lines = [click.style(f"{cs.app} in {cs.env}: {plural(len(cs.files), 'file')} would change", bold=True)]
    for risk in cs.risks:
        lines.append(click.style(f"  ! {risk}", fg="yellow"))
    rows = [(kind, str(n["added"]), str(n["changed"]), str(n["removed"])) for kind, n in cs.counts().items()]
    lines += terminal.table(("", "added", "changed", "removed"), rows, stream=stream)
    if show_diff:
        lines.append("")
        for path in cs.files:
            lines.append(_colour(cs.file_diffs[path]))
    return "\n".join(lines) + "\n"


def _colour(diff: str) -> str:
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            out.append(click.style(line, bold=True))
        elif line.startswith("+"):
            out.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            out.append(click.style(line, fg="red"))
        elif line.startswith("@@"):
            out.append(click.style(line, fg="cyan"))
        else:
            out.append(line)
    return "\n".join(out)


def as_json(sets: Sequence[ChangeSet], extra: Mapping[str, Any] | None = None) -> str:
    data: dict[str, Any] = {"changed": any(not cs.empty for cs in sets), "apps": [cs.to_json() for cs in sets]}
    data.update(extra or {})
    return json.dumps(data, indent=2, sort_keys=True)


def _rank(c: Change, risky_names: set[str]) -> tuple[int, str]:
    if c.status == "removed":
        return 0, c.label
    if c.infra:
        return 1, c.label
    if c.label in risky_names:
        return 2, c.label
    return (3 if c.status == "changed" else 4), c.label


def pr_title(sets: Sequence[ChangeSet]) -> str:
    live = [cs for cs in sets if not cs.empty] or list(sets)
    if len(live) == 1:
        return f"plato: {summary_line(live[0])}"
    envs = sorted({cs.env for cs in live})
    return f"plato: {plural(len(live), 'app')} in {', '.join(envs)}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


SUBJECT_LIMIT = 200


def subject(title: str, limit: int = SUBJECT_LIMIT) -> str:
    """A commit subject within `limit` characters, cut between the items of a summary line ("a, b, c") and
    saying how many were left out, never in the middle of one."""
    if len(title) <= limit:
        return title
    head, sep, rest = title.partition(": ")
    items = rest.split(", ") if sep else [title]
    kept: list[str] = []
    for i, item in enumerate(items):
        more = f", and {len(items) - i - 1} more" if i < len(items) - 1 else ""
        candidate = f"{head}{sep}{', '.join([*kept, item])}{more}"
        if len(candidate) > limit:
            break
        kept.append(item)
    if not kept:  # one item longer than the limit: cut between words where there are any, visibly
        cut = title[: limit - 4]
        return (cut.rsplit(" ", 1)[0] if " " in cut[len(head) + 2 :] else cut) + " ..."
    left = len(items) - len(kept)
    return f"{head}{sep}{', '.join(kept)}" + (f", and {left} more" if left else "")


def markdown(
    sets: Sequence[ChangeSet], provenance: Mapping[str, str], key: str, note: str = "", policy: str = ""
) -> str:
    """The PR body (and step summary): risky changes first, collapsible diffs, within GitHub's size limit.
    `policy` is the admission-policy section (generator/check/report.markdown), placed before the provenance."""
    live = [cs for cs in sets if not cs.empty]
    head = [MARKER.format(key=key), f"## {pr_title(sets)}", ""]
    if note:
        head += [note, ""]
    head += _risk_lines(live)
    head += _table(live) if live else ["No changes: the deployment repository already holds exactly this.", ""]
    foot = [policy] if policy else []
    foot += ["### Provenance", ""]
    foot += [f"- **{k}**: {v}" for k, v in provenance.items() if v]
    foot += ["", "<sub>Generated by plato. Re-running the pipeline updates this pull request.</sub>", ""]
    body = "\n".join(head)
    tail = "\n".join(foot)
    out = body + "\n" + _diffs(_diff_sections(live), len(body) + len(tail) + 200) + tail
    if len(out) >= PR_BODY_LIMIT:  # only a table of thousands of apps gets here: cut it, visibly
        note = "\n\n> [!NOTE]\n> This summary was cut at GitHub's 65,536-character limit.\n"
        out = out[: PR_BODY_LIMIT - len(note) - 1] + note
    return mask_secrets(out)  # the PR body and step summary: old content in a diff is masked, never shown


def _risk_lines(live: Sequence[ChangeSet]) -> list[str]:
    """The warning block that asks a reviewer to look at the risky changes first (none: no lines)."""
    risks = [(cs, r) for cs in live for r in cs.risks]
    if not risks:
        return []
    shown = [f"> - {r}" + (f" ({cs.app} in {cs.env})" if len(live) > 1 else "") for cs, r in risks]
    if sum(len(r) for r in shown) > PR_BODY_BUDGET // 3:  # a fleet of risks: the first ones and a count
        kept = shown[:40]
        shown = [*kept, f"> - ... and {len(shown) - len(kept)} more (`plato preview` lists them)"]
    return ["> [!WARNING]", "> **Review these first:**", *shown, ""]


def _table(live: Sequence[ChangeSet]) -> list[str]:
    """One row per (environment, app): objects added, changed and removed, and what of it is infrastructure."""
    rows = ["| Environment | App | Added | Changed | Removed | Infrastructure |", "|---|---|--:|--:|--:|---|"]
    for cs in sorted(live, key=lambda c: (c.env, c.app)):
        tot = {"added": 0, "changed": 0, "removed": 0}
        for n in cs.counts().values():
            for k in tot:
                tot[k] += n[k]
        infra = [c for c in cs.changes if c.infra]
        statuses = ("added", "changed", "removed")
        infra_text = ", ".join(
            f"{sum(1 for c in infra if c.status == s)} {s}" for s in statuses if any(c.status == s for c in infra)
        )
        counts = f"{tot['added']} | {tot['changed']} | {tot['removed']}"
        rows.append(f"| {cs.env} | {cs.app} | {counts} | {infra_text or 'none'} |")
    return [*rows, ""]


def _diff_sections(live: Sequence[ChangeSet]) -> list[str]:
    """A collapsible diff per changed object, the risky ones first."""
    sections: list[str] = []
    for cs in live:
        risky = {r.split(" ", 1)[-1] for r in cs.risks}
        for c in sorted(cs.changes, key=lambda c: _rank(c, risky)):
            if not c.diff:
                continue  # computed without diffs (a push-mode re-render): the tables say it all
            where = f"{cs.app}/{cs.env}: " if len(live) > 1 else ""
            fence = "````" if "```" in c.diff else "```"
            sections.append(
                f"<details><summary>{_icon(c)} {where}{c.status} {c.label}</summary>\n\n"
                f"{fence}diff\n{c.diff.rstrip()}\n{fence}\n</details>\n"
            )
    return sections


def _diffs(sections: list[str], used: int) -> str:
    """The diffs that fit in GitHub's limit beside `used` characters, and a note saying how many did not."""
    if not sections:
        return ""
    shown: list[str] = []
    for s in sections:
        if used + len(s) > PR_BODY_BUDGET:
            break
        shown.append(s)
        used += len(s)
    diffs = "### Changes\n\n" + "\n".join(shown)
    if len(shown) < len(sections):
        diffs += (
            f"\n> [!NOTE]\n> {len(sections) - len(shown)} of {len(sections)} diffs are not shown: the body "
            "would pass GitHub's 65,536-character limit. `plato preview` shows them all.\n"
        )
    return diffs + "\n"


def _icon(c: Change) -> str:
    if c.status == "removed":
        return "🔴"
    if c.infra:
        return "🟠"
    return "🟡" if c.status == "changed" else "🟢"
