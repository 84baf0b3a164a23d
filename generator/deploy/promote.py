"""Promotion and rollback: the inputs an environment ran (or ran at a past commit), rendered again with a target
environment's rules, and written by the one transaction publish uses.

Nothing is re-resolved: the image (by digest when CI pinned one) and the workload specs are the recorded ones, byte
for byte. Only the context keys CI gave travel; the keys the source's rules derived (env_type, ...) are derived
again by the target's rules. The Environment rule of the target says what it accepts (`promotion.from`,
`promotion.requireDigest`); every refusal is decided before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from generator.deploy.git import Clone, ls_tree
from generator.deploy.record import RECORD_DIR, read_record, record_path
from generator.deploy.rerender import matches
from generator.errors import UserError
from generator.pipeline import Inputs, inputs_from_record


class Source(NamedTuple):
    """One recorded (env, app) and the deployment commit it was read from."""

    env: str
    app: str
    record: dict[str, Any]
    commit: str

    @property
    def pinned(self) -> dict[str, Any]:
        pinned = self.record.get("pinned")
        return pinned if isinstance(pinned, dict) else {}

    @property
    def sha(self) -> str:
        return str((self.record.get("source") or {}).get("sha") or "")

    def line(self, verb: str) -> str:
        """What a reviewer reads first: `promote shop from staging (source abc123, image sha256:...)`."""
        image = self.pinned.get("digest") or self.record.get("context", {}).get("image") or "none"
        source = self.sha[:12] or "unknown"
        return f"{verb} {self.app} from {self.env} (source {source}, image {image})"


def recorded_apps(clone: Clone, tip: str | None, env: str) -> list[str]:
    """The apps with a record in an environment, by name."""
    if tip is None:
        return []
    prefix = f"{RECORD_DIR}/{env}/"
    names = (p.removeprefix(prefix) for p in ls_tree(clone.git, tip, [prefix]) if p.count("/") == 3)
    return sorted(n.removesuffix(".json") for n in names if n.endswith(".json"))


def read_source(clone: Clone, rev: str | None, env: str, app: str, where: str) -> Source:
    """The record of (env, app) at a commit; refused (exit 2) when there is none."""
    rel = record_path(env, app)
    data = clone.read_file(rev, rel)
    if data is None:
        raise UserError(
            f"{app} in {env} has no recorded inputs at {where} ({rel}): there is nothing to take from it",
            file=rel,
            hint=f"publish {app} to {env} first (or name the environment it runs in)",
        )
    return Source(env, app, read_record(data, rel), rev or "")


def select_sources(clone: Clone, tip: str | None, env: str, apps: list[str], select: dict[str, str]) -> list[Source]:
    """The sources named by -c app=... (each must exist) or chosen by --select over the environment's records."""
    where = f"the tip {tip[:12]}" if tip else "an empty repository"
    if apps:
        return [read_source(clone, tip, env, app, where) for app in apps]
    found = [read_source(clone, tip, env, app, where) for app in recorded_apps(clone, tip, env)]
    chosen = [s for s in found if matches({**s.record.get("context", {}), "env": env}, select)]
    if not chosen:
        raise UserError(
            f"no app recorded in {env} matches --select {','.join(f'{k}={v}' for k, v in select.items())}",
            file="--select",
            hint=f"recorded in {env}: {', '.join(s.app for s in found) or 'none'}",
        )
    return chosen


def inputs_for(source: Source, env: str, rules_dir: Path | None, extra: Mapping[str, str] | None = None) -> Inputs:
    """The source's recorded inputs for environment `env`: the keys CI gave, `env` replaced; derived keys dropped
    so that the target's rules derive them (a record without `given` drops env_type, which every Environment rule
    may set). `extra`: keys given to promote itself, for what the source did not record (a recorded key stays as
    it was: a promotion moves what was tested)."""
    inputs = inputs_from_record(source.record, record_path(source.env, source.app), rules_dir)
    given = source.record.get("given")
    keep = {str(k) for k in given} if isinstance(given, list) else set(inputs.context) - {"env_type"}
    context = {**(extra or {}), **{k: v for k, v in inputs.context.items() if k in keep}}
    context["env"] = env
    inputs.context = dict(sorted(context.items()))
    return inputs


def check_promotion(plan: Any, source: Source) -> None:
    """The target Environment rule's conditions: the declared previous stage, and a pinned image if required."""
    rule = plan.environment
    target = plan.context["env"]
    settings = plan.env.get("promotion") or {}
    if source.env == target:
        raise UserError(f"--from and --to are both {target}", file="--to", hint="promote to the next environment")
    wanted = settings.get("from")
    if wanted and wanted != source.env:
        raise UserError.at(
            rule,
            f"{target} takes promotions from {wanted} only (Environment rule '{rule.name}', promotion.from), "
            f"not from {source.env}: a stage would be skipped",
            hint=f"promote {source.app} from {source.env} to {wanted} first, then from {wanted} to {target}",
        )
    if settings.get("requireDigest") and not source.pinned.get("digest"):
        image = source.record.get("context", {}).get("image", "none")
        raise UserError.at(
            rule,
            f"{target} requires an image pinned by digest (Environment rule '{rule.name}', promotion.requireDigest), "
            f"and {source.app} in {source.env} runs {image}",
            hint="publish to the source environment with --image repo:tag@sha256:... (the digest CI built)",
        )


def check_rules_unchanged(plan: Any, source: Source, rev: str) -> None:
    """--rules-at-rev: the rules given are those the record names, digest for digest, or nothing is written."""
    recorded = source.record.get("rules") or {}
    now = plan.rules_used()
    changed = sorted(r for r in {*recorded, *now} if recorded.get(r) != now.get(r))
    if changed:
        raise UserError(
            f"the rules differ from those {source.app} in {source.env} was rendered with at {rev[:12]}: "
            + ", ".join(f"{r} ({recorded.get(r, 'absent')} then, {now.get(r, 'unused')} now)" for r in changed[:8]),
            file="--rules",
            hint="give --rules a checkout of the platform's rules at that time, or drop --rules-at-rev to roll back "
            "the inputs with today's rules",
        )


def resolve_rev(clone: Clone, branch: str, rev: str) -> str:
    """A past commit of the branch (a sha, or `HEAD~N`/`<branch>~N`), with its history fetched (no blobs)."""
    if rev.startswith("-") or not rev.strip():
        raise UserError(f"--to {rev!r} is not a revision", file="--to", hint="give a commit id or HEAD~N")
    ref = f"refs/remotes/origin/{branch}"
    status, _, err = clone.git.run(
        "fetch", "-q", "--no-tags", "--filter=blob:none", "origin", f"+refs/heads/{branch}:{ref}", check=False
    )
    if status != 0:
        from generator.deploy.git import repo_error

        raise repo_error(["fetch", "origin"], err)
    name = ref + rev[len("HEAD") :] if rev.startswith("HEAD") else rev
    name = ref + rev[len(branch) :] if rev.startswith(branch + "~") or rev == branch else name
    status, out, _ = clone.git.run("rev-parse", "--verify", "-q", f"{name}^{{commit}}", check=False)
    if status != 0 or not out.strip():
        raise UserError(
            f"--to {rev} is not a commit of {branch} in the deployment repository",
            file="--to",
            hint="give a commit id from `git log` of the deployment repository, or HEAD~N",
        )
    sha = out.strip()
    status, _, _ = clone.git.run("merge-base", "--is-ancestor", sha, ref, check=False)
    if status != 0:
        raise UserError(f"--to {rev} is not in the history of {branch}", file="--to", hint="roll back to a past commit")
    return sha
