"""The GitOps Promoter objects for one app (`plato render --promotion`): its PromotionStrategy, over the environments
whose Environment rules use the promoter layout in the order their `promotion.from` declares, and the GitRepository
it refers to. The proposed commit statuses are plato's checks (see gates.py), so Promoter waits for them."""

from __future__ import annotations

import re
from typing import Any

from generator.deploy.gates import CHECKS, commit_statuses, status_key
from generator.deploy.promoter import Place
from generator.errors import UserError
from generator.match.rules import RuleSet

API = "promoter.argoproj.io/v1alpha1"


def stages(rules: RuleSet, ctx: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(env, rendered Environment spec) of every promoter-layout environment, earliest stage first."""
    from generator.match.plan import resolve_environment

    found: dict[str, dict[str, Any]] = {}
    for rule in rules.environments:
        wanted = (rule.match or {}).get("env", rule.name)
        env = str(wanted[0] if isinstance(wanted, (list, tuple)) else wanted)
        spec = resolve_environment({**ctx, "env": env}, rules)[1]
        if spec.get("layout") == "promoter":
            found[env] = spec
    order: list[str] = []
    while len(order) < len(found):
        ready = sorted(
            e
            for e, s in found.items()
            if e not in order and ((s.get("promotion") or {}).get("from") in (*order, None) or not _known(s, found))
        )
        if not ready:
            raise UserError(
                f"the promotion.from settings of {', '.join(sorted(set(found) - set(order)))} form a cycle",
                file="--rules",
                hint="each environment names the one before it; the first names none",
            )
        order.append(ready[0])
    return [(e, found[e]) for e in order]


def _known(spec: dict[str, Any], found: dict[str, Any]) -> bool:
    return (spec.get("promotion") or {}).get("from") in found


def repository(url: str) -> tuple[str, str, str]:
    """(host, owner, name) of the deployment repository's URL (https or scp-like)."""
    m = re.match(r"^(?:[a-z]+://)?(?:[^@/]+@)?([^/:]+)[/:]([^/]+)/([^/]+?)(?:\.git)?/?$", url)
    if not m:
        raise UserError(
            f"deploy_repo {url!r} is not a repository URL with an owner and a name",
            file="--context",
            hint="pass -c deploy_repo=https://github.com/OWNER/NAME (the deployment repository)",
        )
    return m.group(1), m.group(2), m.group(3)


def promotion_objects(rules: RuleSet, ctx: dict[str, str]) -> list[dict[str, Any]]:
    app = ctx["app"]
    envs = stages(rules, ctx)
    if not envs:
        raise UserError(
            f"no Environment rule puts {app} in the promoter layout",
            file="--rules",
            hint="set layout: promoter on the Environment rules of the stages (see the README, Promotion)",
        )
    paths = {str(s.get("activePath") or "") for _, s in envs}
    if len(paths) > 1:
        raise UserError(
            f"{app} has a different activePath per environment ({', '.join(sorted(paths))})",
            file="--rules",
            hint="GitOps Promoter takes one activePath per PromotionStrategy: give every stage the same one",
        )
    active_path = paths.pop()
    _, owner, name = repository(ctx.get("deploy_repo", ""))
    repo_name = f"{owner}-{name}".lower()
    statuses = [{"key": status_key(check, active_path and app)} for check in CHECKS]
    spec: dict[str, Any] = {
        "gitRepositoryRef": {"name": repo_name},
        "environments": [{"branch": Place(env, active_path).active} for env, _ in envs],
        "proposedCommitStatuses": statuses,
    }
    if active_path:
        spec["activePath"] = active_path
    meta = {"name": app, "labels": {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "plato"}}
    strategy = {"apiVersion": API, "kind": "PromotionStrategy", "metadata": meta, "spec": spec}
    provider = ctx.get("scm_provider", "github")
    git_repo = {
        "apiVersion": API,
        "kind": "GitRepository",
        "metadata": {"name": repo_name},
        "spec": {"github": {"owner": owner, "name": name}, "scmProviderRef": {"kind": "ScmProvider", "name": provider}},
    }
    return [git_repo, strategy, *commit_statuses(app, app if active_path else "")]
