"""`plato explain`: for the target and each resource, every candidate rule, why it won or lost."""

from __future__ import annotations

from typing import Any

from generator.match.engine import Decision
from generator.match.plan import Plan


def explanation(plan: Plan, notes: list[str] | None = None) -> dict[str, Any]:
    env = plan.env
    return {
        "context": plan.context,
        "derived": notes or [],
        "dimensions": list(plan.rules.dimensions),
        "rules": plan.rules.origin,
        "target": {
            "environment": plan.environment.name,
            "cluster": env["cluster"],
            "namespace": env["namespace"],
            "cd": env["cd"]["tool"],
            "paths": env["paths"],
        },
        "decisions": [_decision(d) for d in plan.decisions],
        "unmatched": [e.render() for e in sorted(plan.errors, key=lambda e: (e.file or "", e.line or 0))],
        "resources": [
            {
                "key": n.key,
                "name": n.name,
                "type": n.type,
                "class": n.class_,
                "id": n.id,
                "rule": n.rule.name,
                "declared_by": [f"{w}/{r}" for w, r in n.declared_by],
                "depends_on": sorted({*n.refs.values(), *n.requires.values()}),
                **({"reaches": f"{n.target['app']}/{n.target['name']}"} if n.target else {}),
            }
            for n in plan.resources.values()
        ],
    }


def _decision(d: Decision) -> dict[str, Any]:
    return {
        "need": d.need,
        "kind": d.kind,
        "winner": d.winner.name if d.winner else None,
        "candidates": [
            {
                "rule": c.rule.name,
                "where": c.rule.where,
                "match": {k: list(v) for k, v in c.rule.match.items()},
                "specificity": "".join(map(str, c.vector)),
                "status": c.status,
                **({"reason": c.reason} if c.reason else {}),
                **({"reason": "less specific than " + d.winner.name} if c.status == "lost" and d.winner else {}),
            }
            for c in d.candidates
        ],
    }


def text(data: dict[str, Any]) -> str:
    t = data["target"]
    lines = [
        "context: " + " ".join(f"{k}={v}" for k, v in data["context"].items()),
        *(f"  derived {n}" for n in data["derived"]),
        f"dimensions (most specific first): {', '.join(data['dimensions'])}",
        f"target: environment '{t['environment']}', cluster {t['cluster']}, namespace {t['namespace']}, "
        f"{t['cd']}, manifests in {t['paths']['manifests']}/",
        "",
    ]
    for d in data["decisions"]:
        if not d["candidates"]:
            lines.append(f"{d['need']}: no {d['kind']} rules; none applied")
            lines.append("")
            continue
        lines.append(f"{d['need']}: {d['winner'] or 'none'}")
        for c in sorted(d["candidates"], key=lambda c: (c["status"] != "won", c["status"] != "lost", c["rule"])):
            mark = {"won": "+", "lost": "-", "tie": "=", "no-match": "x"}[c["status"]]
            crit = " ".join(f"{k}={'|'.join(v)}" for k, v in c["match"].items()) or "(matches anything)"
            why = f"  ({c['reason']})" if c.get("reason") else ""
            lines.append(f"  {mark} {c['rule']:<28} {c['specificity']}  {crit}  [{c['where']}]{why}")
        lines.append("")
    if data["resources"]:
        lines.append("resources, in provisioning order:")
        for r in data["resources"]:
            deps = f" after {', '.join(r['depends_on'])}" if r["depends_on"] else ""
            deps += f", reaches workload {r['reaches']}" if "reaches" in r else ""
            by = ", ".join(r["declared_by"]) or "required by a rule"
            lines.append(f"  {r['name']} ({r['type']}, class {r['class']}) via {r['rule']} for {by}{deps}")
    if data["unmatched"]:
        lines += ["", f"not matched ({len(data['unmatched'])}; a render stops here, see below):"]
        lines += [f"  x {e.splitlines()[0]}" for e in data["unmatched"]]
    return "\n".join(lines) + "\n"
