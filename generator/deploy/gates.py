"""Gates a CI job can set, with no cluster credentials: plato's checks as commit trailers on the commit it writes
(`Plato-Check-Validation: success`), as GitHub check runs the Action creates on that commit (`plato/validation`),
and as GitOps Promoter `GitCommitStatus` objects that read the trailers of the proposed commit, so a
PromotionStrategy (or a branch protection rule) can require them.

A commit exists only after plato's validation passed (the rendered objects and the secret guard are checked before
anything is written), so its trailer says success. The policy check says what the admission policies said on the
tip the commit was made on (`Report.gate`): success when every policy that applied passed, neutral when none
applied or one only warned (GitHub and the Promoter expression below both let neutral pass); a denial is never
committed.
"""

from __future__ import annotations

from typing import Any, Literal

Check = Literal["validation", "policy"]
Outcome = Literal["success", "neutral", "failure"]
CHECKS: tuple[Check, ...] = ("validation", "policy")
# What lets a promotion through: validation must have passed; no policy stage (neutral) does not hold one up.
PASSING: dict[Check, tuple[Outcome, ...]] = {"validation": ("success",), "policy": ("success", "neutral")}


def outcomes(tree: Any) -> dict[Check, Outcome]:
    """The outcome of each check for a tree that was rendered (and therefore validated)."""
    policy = getattr(tree, "policy", None)  # the admission-policy stage's verdict, when there is one
    return {"validation": "success", "policy": policy if policy in ("success", "failure") else "neutral"}


def trailer(check: Check) -> str:
    return f"Plato-Check-{check.capitalize()}"


def trailers(tree: Any) -> dict[str, str]:
    return {trailer(c): o for c, o in outcomes(tree).items()}


def summary(tree: Any) -> str:
    """`validation=success policy=neutral`: the Action's `checks` output, one check run per pair."""
    return " ".join(f"{c}={o}" for c, o in outcomes(tree).items())


def status_key(check: Check, app: str = "") -> str:
    """The commit status key; apps that share an active branch need one each (gitops-promoter, activePath)."""
    return f"plato-{check}" + (f"-{app}" if app else "")


def commit_statuses(strategy: str, app: str) -> list[dict[str, Any]]:
    """A GitCommitStatus per check: passes when the proposed commit's trailer says a passing outcome."""
    out = []
    for check in CHECKS:
        passing = ", ".join(f'"{o}"' for o in PASSING[check])
        out.append(
            {
                "apiVersion": "promoter.argoproj.io/v1alpha1",
                "kind": "GitCommitStatus",
                "metadata": {"name": status_key(check, app)},
                "spec": {
                    "promotionStrategyRef": {"name": strategy},
                    "key": status_key(check, app),
                    "description": f"plato {check}",
                    "target": "proposed",
                    "expression": f'any(Commit.Trailers["{trailer(check)}"] ?? [], {{# in [{passing}]}})',
                },
            }
        )
    return out
