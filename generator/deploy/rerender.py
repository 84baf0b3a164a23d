"""Re-rendering every recorded (env, app) of a deployment repository with new rules: the fleet update.

plato keeps no database: each publish recorded its inputs under `.plato/inputs/`, so a rule change can re-render
every app from the repository alone. Rendering runs on every core when there is more than a little work; each
worker loads and compiles the rules once.
"""

from __future__ import annotations

import fnmatch
import os
import random
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.deploy.diff import ChangeSet, compare
from generator.deploy.git import PushRejected
from generator.deploy.publish import (
    Checkout,
    Options,
    _check_ownership,
    _push,
    desired,
    provenance_paths,
    read_owned,
)
from generator.deploy.record import RECORD_DIR, load_record, make_record, record_path
from generator.deploy.tree import clear_owned, write_files
from generator.errors import PlatoError, RepoError, UserError

PARALLEL_THRESHOLD = 24  # below this, starting worker processes costs more than it saves


@dataclass
class AppResult:
    env: str
    app: str
    changeset: ChangeSet | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # the whole desired state of its owned paths
    owned: list[str] = field(default_factory=list)
    rules_changed: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class Impact:
    apps: list[AppResult]

    @property
    def changed(self) -> list[AppResult]:
        return [a for a in self.apps if a.changeset is not None and not a.changeset.empty]

    @property
    def failed(self) -> list[AppResult]:
        return [a for a in self.apps if a.error]

    def by_env(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for a in self.apps:
            e = out.setdefault(a.env, {"apps": 0, "changed": 0, "failed": 0, "kinds": {}, "rules": {}})
            e["apps"] += 1
            if a.error:
                e["failed"] += 1
            if a.changeset is not None and not a.changeset.empty:
                e["changed"] += 1
                for kind, n in a.changeset.counts().items():
                    k = e["kinds"].setdefault(kind, {"added": 0, "changed": 0, "removed": 0})
                    for s in k:
                        k[s] += n[s]
                for r in a.rules_changed:
                    e["rules"][r] = e["rules"].get(r, 0) + 1
        return dict(sorted(out.items()))


def matches(ctx: dict[str, str], select: dict[str, str]) -> bool:
    return all(fnmatch.fnmatchcase(ctx.get(k, ""), v) for k, v in select.items())


def parse_select(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise UserError(
                f"--select {part!r} is not key=value", file="--select", hint="e.g. --select env=production,app=shop"
            )
        out[key.strip()] = value.strip()
    return out


def recorded(root: Path, select: dict[str, str]) -> list[tuple[str, bytes]]:
    base = root / RECORD_DIR
    found = []
    for path in sorted(base.glob("*/*.json")) if base.is_dir() else []:
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        try:
            ctx = load_record(data).get("context", {})
        except ValueError:
            raise UserError("recorded inputs are not valid JSON", file=rel) from None
        if matches(ctx, select):
            found.append((rel, data))
    return found


# Worker state: each process loads and compiles the rules once.
_RULES: dict[str, Any] = {}


def _init(rules_dir: str | None) -> None:
    from generator.match.rules import load_rules

    _RULES["dir"] = Path(rules_dir) if rules_dir else None
    load_rules(_RULES["dir"])


def render_one(job: tuple[str, bytes, str, bool, bool]) -> AppResult:
    """Re-render one recorded app and compare it with what the checkout holds (runs in a worker). With `write`,
    the worker also writes the app's new files into the work tree (its own paths only), so that no file
    contents travel back to the main process."""
    from generator.create.render import render
    from generator.pipeline import inputs_from_record

    label, data, root, write, diffs = job
    parts = label.split("/")
    env, app = parts[-2], parts[-1].removesuffix(".json")
    result = AppResult(env, app)
    try:
        record = load_record(data)
        inputs = inputs_from_record(record, label, _RULES.get("dir"))
        tree = render(inputs.plan(), inputs.files)
        source = record.get("source") or {}
        used = tree.plan.rules_used()
        before = record.get("rules") or {}
        result.rules_changed = sorted(r for r, d in used.items() if before.get(r) != d)
        new_record = make_record(
            tree.plan.context, inputs.workloads, source.get("time"), inputs.files, used, tree.owned
        )
        want = desired(tree, new_record)
        current = read_owned(Path(root), tree.owned, [record_path(tree.env, tree.app)])
        result.changeset = compare(tree.env, tree.app, current, want, provenance_paths(tree), with_diffs=diffs)
        result.owned = [*tree.owned, record_path(tree.env, tree.app)]
        if not result.changeset.empty:
            if write:
                clear_owned(Path(root), result.owned)
                write_files(Path(root), want)
            else:
                result.files = want
    except PlatoError as exc:
        result.error = exc.render()
    return result


def render_all(
    root: Path,
    jobs: list[tuple[str, bytes]],
    rules_dir: Path | None,
    workers: int | None,
    write: bool = False,
    diffs: bool = True,
    progress: Callable[[Iterable[AppResult], int], Iterator[AppResult]] | None = None,
) -> Impact:
    args = [(label, data, str(root), write, diffs) for label, data in jobs]
    workers = workers or min(os.cpu_count() or 1, 8)
    if workers > 1 and len(args) >= PARALLEL_THRESHOLD:
        chunk = max(1, len(args) // (workers * 8))
        with ProcessPoolExecutor(workers, initializer=_init, initargs=(str(rules_dir) if rules_dir else None,)) as ex:
            it: Iterable[AppResult] = ex.map(render_one, args, chunksize=chunk)
            results = list(progress(it, len(args)) if progress else it)
    else:
        _init(str(rules_dir) if rules_dir else None)
        it = map(render_one, args)
        results = list(progress(it, len(args)) if progress else it)
    return Impact(results)


@dataclass
class Published:
    impact: Impact
    commits: dict[str, str] = field(default_factory=dict)  # env -> commit
    branches: dict[str, str] = field(default_factory=dict)  # env -> branch pushed
    attempts: int = 0


def rerender(
    opts: Options,
    rules_dir: Path | None,
    select: dict[str, str],
    dry_run: bool,
    workers: int | None = None,
    progress: Any = None,
    digest: str = "",
) -> Published:
    with Checkout(opts.repo, opts.branch) as co:
        for attempt in range(1, opts.max_retries + 2):
            if attempt > 1:
                co.sync()
            jobs = recorded(co.dir, select)
            if not jobs:
                raise UserError(
                    "no recorded apps" + (f" match --select {select}" if select else " in the repository"),
                    file=opts.repo,
                    hint="apps are recorded when they are published with plato",
                )
            # Push mode writes in the workers and needs no diffs; pr mode writes per environment on its branch,
            # with diffs for the PR bodies.
            in_workers = opts.mode != "pr" and not dry_run
            impact = render_all(
                co.dir, jobs, rules_dir, workers, in_workers, opts.mode == "pr", progress if attempt == 1 else None
            )
            if impact.failed:
                first = impact.failed[0]
                raise UserError(
                    f"{len(impact.failed)} of {len(impact.apps)} apps fail to render with these rules; nothing was "
                    f"written. First: {first.app} in {first.env}: {first.error}",
                    hint="`plato preview --rules` on one app shows the whole error",
                )
            result = Published(impact, attempts=attempt)
            if dry_run or not impact.changed:
                return result
            base = co.git.out("rev-parse", "HEAD") if co.tip else None
            envs = sorted({a.env for a in impact.changed})
            try:
                for env in envs:
                    apps = [a for a in impact.changed if a.env == env]
                    if opts.mode == "pr":
                        co.git.run(
                            "checkout", "-q", "--force", "-B", f"plato-rerender-{env}", *([base] if base else [])
                        )
                    for a in apps:
                        if a.files:
                            clear_owned(co.dir, a.owned)
                            write_files(co.dir, a.files)
                    # Stage this environment's apps only (the workers wrote every environment's files): each owned
                    # path that exists now or existed before (git refuses a pathspec that matches nothing).
                    known = _tracked_dirs(co)
                    paths = [p.rstrip("/") for a in apps for p in a.owned]
                    paths = [p for p in paths if (co.dir / p).exists() or p in known]
                    specs = co.dir / ".git" / "PLATO_PATHS"
                    specs.write_text("".join(p + "\n" for p in paths), encoding="utf-8")
                    co.git.run("add", "-A", f"--pathspec-from-file={specs}")
                    _check_ownership(co, [p for a in apps for p in a.owned])
                    _commit_env(co, env, apps, digest)
                    sha = co.git.out("rev-parse", "HEAD")
                    result.commits[env] = sha
                    if opts.mode == "pr":
                        branch = f"plato/rerender/{env}"
                        _push(co, branch, force=True)
                        result.branches[env] = branch
                if opts.mode != "pr":
                    _push(co, opts.branch, force=False)  # one push: every environment's commit or none
                    result.branches = {env: opts.branch for env in envs}
                return result
            except PushRejected:
                if attempt > opts.max_retries:
                    break
                delay = min(opts.backoff_cap, opts.backoff * (1.5 ** (attempt - 1)))
                opts.sleep(delay * (0.5 + random.random()))
    raise RepoError(
        f"gave up after {opts.max_retries + 1} attempts: every push lost a race with another publisher",
        hint="the repository is as it was; run the re-render again",
    )


def _tracked_dirs(co: Checkout) -> set[str]:
    """Every tracked file and folder of the checkout's index."""
    out: set[str] = set()
    for name in co.git.run("ls-files", "-z")[1].split("\0"):
        while name and name not in out:
            out.add(name)
            name = name.rpartition("/")[0]
    return out


def _commit_env(co: Checkout, env: str, apps: list[AppResult], digest: str) -> None:
    rules = sorted({r for a in apps for r in a.rules_changed})
    lines = [
        f"plato: re-render {len(apps)} app{'s' if len(apps) != 1 else ''} in {env} with rules {digest}".strip(),
        "",
    ]
    lines += [
        f"- {a.app}: " + ", ".join(f"{k} {sum(v.values())}" for k, v in a.changeset.counts().items())
        for a in apps
        if a.changeset
    ]
    if rules:
        lines += ["", "Rules that changed: " + ", ".join(rules)]
    lines += ["", f"Plato-Env: {env}", f"Plato-Rules: {digest}", "Plato-Rerender: true"]
    msg = co.dir / ".git" / "PLATO_COMMIT_MSG"
    msg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    co.git.run("commit", "-q", "--no-verify", "--no-gpg-sign", "-F", str(msg))
