"""The admission-policy stage of a rendered tree: which policies apply, the objects they judge (each with its way
back to the Score spec), the objects the deployment repository holds now (`oldObject`), and what a run prints or
refuses. The pipeline calls `check_tree` after create; a publish calls it again with what the tip it commits on
holds at the app's paths (see generator/deploy/publish.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.check.selectors import key_of
from generator.read.models import Workload

if TYPE_CHECKING:
    from generator.check.policy import Report, Target
    from generator.create.render import RenderedTree

Key = tuple[str, str, str, str]
Objects = Mapping[Key, Mapping[str, Any]]
MANIFEST = "manifest.yaml"  # the file of an app's Kubernetes objects in the deployment repository


def check_tree(
    tree: RenderedTree,
    workloads: list[Workload],
    policies_dir: Path | None = None,
    annotate: bool = False,
    quiet: bool = False,
    old: Objects | None = None,
    judged: Collection[int] = (),
) -> Report:
    """The ONE point where rendered objects meet the platform's ValidatingAdmissionPolicies (the rules folder's
    and --policies DIR's), after create and before any deploy step. `old`: the objects the deployment repository
    holds now, by key_of (an object found there is an UPDATE with that oldObject, any other a CREATE). Warnings
    and skipped checks are printed (unless quiet: a fleet re-render); denials are raised as one user error
    (exit 2), so nothing is committed."""
    import click

    from generator.check.report import denial_error, describe, reported, workflow_commands

    report = evaluate_tree(tree, workloads, policies_dir, old, judged)
    shown = [] if quiet else reported(report)
    for line in workflow_commands(shown, repo_path) if annotate else []:
        click.echo(line, err=True)
    for r in shown:
        if "Deny" not in r.actions or r.outcome == "skipped":
            click.echo(f"{describe(r)}", err=True)
    error = denial_error(report)
    if error is not None:
        raise error
    return report


def evaluate_tree(
    tree: RenderedTree,
    workloads: list[Workload],
    policies_dir: Path | None = None,
    old: Objects | None = None,
    judged: Collection[int] = (),
) -> Report:
    """The policy report of a rendered tree, denials included (`explain` and `check` list them all)."""
    from generator.check.load import load_policies, read_policy_documents
    from generator.check.policy import Report, Target, evaluate

    docs = list(tree.plan.rules.policy_docs) + (read_policy_documents(policies_dir) if policies_dir else [])
    if not docs:
        return Report()  # no policy: the CEL library is never imported
    policies = load_policies(docs)
    if judged and not policies.reads_deployed and all(id(obj) in judged for obj in tree.objects):
        return Report()  # every verdict is the one its last write had (see policy.evaluate)
    manifests = f"{tree.plan.env['paths']['manifests']}/{MANIFEST}"
    by_name = {w.name: w for w in workloads}
    targets = [_target(Target, obj, manifests, by_name) for obj in tree.objects]
    return evaluate(policies, targets, old=old, context=tree.plan.context, judged=judged)


def old_objects(current: Mapping[str, bytes], tree: RenderedTree) -> Deployed:
    """The Kubernetes objects a deployment repository holds now for one (env, app), by key_of: the documents of
    every `manifest.yaml` among `current` (its files at the paths the app owns, and at paths a rule moved it
    from), read when a policy first asks (most never do: see policy._reads_old)."""
    return Deployed({p: d for p, d in current.items() if p.rpartition("/")[2] == MANIFEST}, tree)


class Deployed(Mapping[Key, Mapping[str, Any]]):
    """The deployed objects, parsed on first look-up. A file with the bytes just rendered holds the rendered
    objects and is not parsed. A file that does not parse (edited by hand) holds no object the policies can
    compare with: its objects count as new. Two are equal when their manifests hold the same bytes."""

    def __init__(self, manifests: Mapping[str, bytes], tree: RenderedTree) -> None:
        self.manifests, self.tree = dict(sorted(manifests.items())), tree
        self._found: dict[Key, Mapping[str, Any]] | None = None

    def _objects(self) -> dict[Key, Mapping[str, Any]]:
        if self._found is None:
            self._found = {}
            for path, data in self.manifests.items():
                self._found.update((key_of(o), o) for o in self._parse(path, data))
        return self._found

    def _parse(self, path: str, data: bytes) -> list[Any]:
        from generator.errors import UserError
        from generator.read.yamlfile import load_documents

        if data == self.tree.files.get(f"{self.tree.plan.env['paths']['manifests']}/{MANIFEST}"):
            return list(self.tree.objects)
        try:
            docs = [d.data for d in load_documents(Path(path), data.decode("utf-8"), fast=True)]
        except (UserError, UnicodeDecodeError):
            return []
        return [o for o in docs if isinstance(o, dict) and o.get("kind")]

    def __getitem__(self, key: Key) -> Mapping[str, Any]:
        return self._objects()[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._objects())

    def __len__(self) -> int:
        return len(self._objects())

    def __eq__(self, other: object) -> bool:
        return self.manifests == other.manifests if isinstance(other, Deployed) else super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]


def _target(target: type[Target], obj: dict[str, Any], file: str, workloads: Mapping[str, Workload]) -> Target:
    """A rendered object with the way back to its Score spec: the container by name, else the workload (`target`:
    the Target class, imported by the caller once for all objects)."""
    name = ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/name")
    workload = workloads.get(name) if isinstance(name, str) else None
    if workload is None:
        return target(obj, file)
    found = workload

    def source(container: Mapping[str, Any]) -> Any:
        spec = next((c for c in found.containers if c.name == container.get("name")), None)
        return spec.where if spec is not None else found.where

    return target(obj, file, source)


def repo_path(file: str) -> str:
    """A Score file as its repository names it, for PR bodies, annotations and SARIF (the same on every machine);
    a name that is not a file (a recorded re-render's label) as it is."""
    from generator.read.workload import display_path

    path = Path(file)
    return display_path(path) if path.is_file() else file
