"""Who a workload is: its own ServiceAccount (the API token not mounted unless a rule needs it), and the cloud
identity it reaches its resources through (EKS Pod Identity on AWS, GKE Workload Identity on GCP), never static
keys."""

from __future__ import annotations

from typing import Any

from generator.create.hcl import Block, value
from generator.create.resources import Provisioned
from generator.match.plan import Plan
from generator.match.templates import dns_label
from generator.read.models import Workload

# EKS Pod Identity: the agent on each node trades the pod's ServiceAccount for the role's credentials.
_POD_IDENTITY_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}


GKE_ACCOUNT = "iam.gke.io/gcp-service-account"  # the Google service account a Kubernetes one impersonates


def _uses(plan: Plan, w: Workload, provisioned: dict[str, Provisioned]) -> list[Provisioned]:
    return [provisioned[plan.bindings[(w.name, r.name)]] for r in w.resources]


def service_account_name(plan: Plan, w: Workload) -> str:
    return str(plan.env.get("serviceAccount") or dns_label(w.name))


def needs_token(plan: Plan, w: Workload, provisioned: dict[str, Provisioned]) -> bool:
    return any(p.service_account.get("automountToken") for p in _uses(plan, w, provisioned))


def service_account(
    plan: Plan, w: Workload, provisioned: dict[str, Provisioned], labels: dict[str, str]
) -> dict[str, Any] | None:
    """The workload's own ServiceAccount; none when the Environment names a shared one."""
    if plan.env.get("serviceAccount"):
        return None
    annotations: dict[str, str] = {}
    for p in _uses(plan, w, provisioned):
        annotations.update(p.service_account.get("annotations") or {})
    if gcp_bindings(plan, w, provisioned):
        project = (plan.env.get("cloud") or {}).get("project", "")
        annotations[GKE_ACCOUNT] = f"{gcp_account(plan, w)}@{project}.iam.gserviceaccount.com"
    meta: dict[str, Any] = {"name": service_account_name(plan, w), "namespace": plan.env["namespace"], "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        "automountServiceAccountToken": needs_token(plan, w, provisioned),
    }


def aws_statements(plan: Plan, w: Workload, provisioned: dict[str, Provisioned]) -> list[dict[str, Any]]:
    out = []
    for p in sorted(_uses(plan, w, provisioned), key=lambda p: p.node.name):
        for st in p.identity.get("aws") or []:
            out.append({"Effect": "Allow", "Action": sorted(st["actions"]), "Resource": list(st["resources"])})
    return out


def identity_blocks(plan: Plan, provisioned: dict[str, Provisioned]) -> list[Block]:
    blocks: list[Block] = []
    for w in sorted(plan.workloads, key=lambda w: w.name):
        blocks += _aws_blocks(plan, w, provisioned) + _gcp_blocks(plan, w, provisioned)
    return blocks


def _ident(w: Workload) -> str:
    return "workload_" + dns_label(w.name).replace("-", "_")


def _aws_blocks(plan: Plan, w: Workload, provisioned: dict[str, Provisioned]) -> list[Block]:
    """A role only the workload's ServiceAccount can assume, its policy, and the EKS Pod Identity association
    that binds the two."""
    statements = aws_statements(plan, w, provisioned)
    if not statements:
        return []
    ident = _ident(w)
    role = dns_label(f"{plan.context['app']}-{plan.context['env']}-{w.name}", 64)
    policy = {"Version": "2012-10-17", "Statement": statements}
    return [
        Block(
            "resource",
            ("aws_iam_role", ident),
            attrs={"name": role, "assume_role_policy": _json(_POD_IDENTITY_TRUST)},
        ),
        Block(
            "resource",
            ("aws_iam_role_policy", ident),
            attrs={"name": role, "role": {"expr": f"aws_iam_role.{ident}.id"}, "policy": _json(policy)},
        ),
        Block(
            "resource",
            ("aws_eks_pod_identity_association", ident),
            attrs={
                "cluster_name": plan.env["cluster"],
                "namespace": plan.env["namespace"],
                "service_account": service_account_name(plan, w),
                "role_arn": {"expr": f"aws_iam_role.{ident}.arn"},
            },
        ),
    ]


def gcp_bindings(plan: Plan, w: Workload, provisioned: dict[str, Provisioned]) -> list[dict[str, Any]]:
    return [
        b for p in sorted(_uses(plan, w, provisioned), key=lambda p: p.node.name) for b in p.identity.get("gcp") or []
    ]


def gcp_account(plan: Plan, w: Workload) -> str:
    """The workload's Google service account id (6 to 30 characters)."""
    return dns_label(f"{plan.context['app']}-{plan.context['env']}-{w.name}", 30).rjust(6, "x")


def _gcp_blocks(plan: Plan, w: Workload, provisioned: dict[str, Provisioned]) -> list[Block]:
    """A Google service account per workload, which only the workload's Kubernetes ServiceAccount may
    impersonate (GKE Workload Identity), and the bindings its resources' rules grant it."""
    bindings = gcp_bindings(plan, w, provisioned)
    if not bindings:
        return []
    ident, project = _ident(w), (plan.env.get("cloud") or {}).get("project", "")
    pool_member = f"serviceAccount:{project}.svc.id.goog[{plan.env['namespace']}/{service_account_name(plan, w)}]"
    member = {"expr": f'"serviceAccount:${{google_service_account.{ident}.email}}"'}
    blocks = [
        Block(
            "resource",
            ("google_service_account", ident),
            attrs={"account_id": gcp_account(plan, w), "project": project},
        ),
        Block(
            "resource",
            ("google_service_account_iam_member", f"{ident}_workload_identity"),
            attrs={
                "service_account_id": {"expr": f"google_service_account.{ident}.name"},
                "role": "roles/iam.workloadIdentityUser",
                "member": pool_member,
            },
        ),
    ]
    for i, b in enumerate(bindings):
        attrs = {**dict(sorted(b["attrs"].items())), "member": member}
        blocks.append(Block("resource", (b["type"], f"{ident}_{i}"), attrs=attrs))
    return blocks


def _json(obj: dict[str, Any]) -> dict[str, str]:
    return {"expr": "jsonencode(" + value(obj, 1) + ")"}
