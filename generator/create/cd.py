"""CD registration (Argo CD Application or Flux Kustomization), hydrator.metadata and the per-app README."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.create.emit import dump_json
from generator.match.plan import Plan
from generator.read.context import RUN_KEYS


def cd_objects(plan: Plan) -> list[dict[str, Any]]:
    cd = plan.env["cd"]
    ctx = plan.context
    name = f"{ctx['env']}-{ctx['app']}"
    path = plan.env["paths"]["manifests"]
    repo = cd.get("repoURL") or ctx.get("deploy_repo") or "https://git.example.com/platform/deployments.git"
    revision = cd.get("revision", "main")
    labels = {
        "app.kubernetes.io/part-of": ctx["app"],
        "app.kubernetes.io/managed-by": "plato",
        "plato.dev/env": ctx["env"],
    }
    if cd["tool"] == "argocd":
        return [_argocd_application(plan, name, path, repo, revision, labels)]
    return _flux_objects(plan, name, path, repo, revision, labels)


def _argocd_application(
    plan: Plan, name: str, path: str, repo: str, revision: str, labels: dict[str, str]
) -> dict[str, Any]:
    cd = plan.env["cd"]
    sync: dict[str, Any] = {"syncOptions": ["CreateNamespace=true"]}
    if cd.get("automated", True):
        sync["automated"] = {"prune": True, "selfHeal": True}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": cd.get("namespace", "argocd"),
            "labels": labels,
            "annotations": {"argocd.argoproj.io/manifest-generate-paths": "."},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": cd.get("project", "default"),
            "source": {"repoURL": repo, "targetRevision": revision, "path": path},
            "destination": {
                "server": cd.get("server", "https://kubernetes.default.svc"),
                "namespace": plan.env["namespace"],
            },
            "syncPolicy": sync,
        },
    }


def _flux_objects(
    plan: Plan, name: str, path: str, repo: str, revision: str, labels: dict[str, str]
) -> list[dict[str, Any]]:
    cd = plan.env["cd"]
    ns = cd.get("namespace", "flux-system")
    source = cd.get("sourceRef")
    objects: list[dict[str, Any]] = []
    if source is None:
        # Each (env, app) gets its own GitRepository: one shared object written into every app's CD file would
        # be a duplicate when a folder of them is applied. A platform with many apps names a shared one in
        # cd.sourceRef instead.
        source = {"name": name, "namespace": ns}
        objects.append(
            {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": {"interval": cd.get("interval", "5m"), "url": repo, "ref": {"branch": revision}},
            }
        )
    objects.append(
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {
                "interval": cd.get("interval", "5m"),
                "path": f"./{path}",
                "prune": True,
                "wait": True,
                "sourceRef": {
                    "kind": "GitRepository",
                    "name": source["name"],
                    **({"namespace": source["namespace"]} if source.get("namespace") else {}),
                },
                "targetNamespace": plan.env["namespace"],
                "timeout": "5m",
            },
        }
    )
    return objects


def hydrator_metadata(plan: Plan) -> str:
    ctx = plan.context
    meta: dict[str, Any] = {}
    if ctx.get("source_sha"):
        meta["drySha"] = ctx["source_sha"]
    if ctx.get("source_repo"):
        meta["repoURL"] = ctx["source_repo"]
    meta["subject"] = f"plato: {ctx['app']} in {ctx['env']}"
    return dump_json(meta)


def _source_line(ctx: Mapping[str, str]) -> str:
    repo, sha = ctx.get("source_repo"), ctx.get("source_sha")
    if repo and sha:
        return f"- Source: {repo} at `{sha}`"
    if repo or sha:
        return f"- Source: {repo or 'a repository'}" + (f" at `{sha}`" if sha else " (no commit given)")
    # Outside CI nobody said where the specs came from: say so, and how CI (or -c) would record it.
    return "- Source: a local run (no `source_repo` or `source_sha` in the context; CI sets them)"


def app_readme(plan: Plan, workload_files: list[str], has_terraform: bool) -> str:
    ctx = plan.context
    from generator import __version__

    # What changes with every CI run (RUN_KEYS) is no input of the render: a README that named it would differ
    # from the one a re-render writes from the record, which keeps none of it.
    skip = {"source_sha", "source_repo", "git_ref", "git_ref_name", "image", "deploy_repo", *RUN_KEYS}
    if plan.env.get("env_type"):
        skip.add("env_type")  # the Environment rule sets it
    keys = " ".join(f"-c {k}={v}" for k, v in ctx.items() if k not in skip)
    image = f" --image {ctx['image']}" if ctx.get("image") else ""
    resources = ", ".join(f"{n.name} ({n.type} via `{n.rule.name}`)" for n in plan.resources.values())
    lines = [
        f"# {ctx['app']} in {ctx['env']}",
        "",
        "Generated by plato. Do not edit: the next publish replaces every file in this folder.",
        "",
        f"- Environment rule: `{plan.environment.name}` (cluster `{plan.env['cluster']}`, namespace "
        f"`{plan.env['namespace']}`)",
        _source_line(ctx),
        f"- Workloads: {', '.join(w.name for w in plan.workloads)}",
        f"- Resources: {resources or 'none'}",
    ]
    if has_terraform:
        lines.append(
            f"- Infrastructure: `{plan.env['paths']['terraform']}/` (applied by the platform's Terraform pipeline)"
        )
    lines += [
        f"- Rendered by plato {__version__} with rules `{plan.rules_digest()}` (the digest of the rules it uses)",
        "",
        "Reproduce:",
        "",
        "```sh",
        f"plato render {' '.join(workload_files) or 'WORKLOAD.yaml'} {keys}{image} -o out/",
        "```",
        "",
    ]
    return "\n".join(lines)
