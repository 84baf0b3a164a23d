"""The recorded inputs of each (env, app): enough to re-render it later with no access to its source repository.

They live at `.plato/inputs/<env>/<app>.json`, outside every path a CD tool reads: the workload specs as read
(file sources inlined), the context (without per-run keys), the source commit and its time (for "latest wins"),
and the rules that shaped the output with their digests (so a re-render can name the rules that changed).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from generator import __version__
from generator.read.context import RUN_KEYS
from generator.read.models import Workload

RECORD_DIR = ".plato/inputs"

Newer = Literal["theirs", "ours", "neither"]
DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


def record_path(env: str, app: str) -> str:
    return f"{RECORD_DIR}/{env}/{app}.json"


def make_record(
    context: dict[str, str],
    workloads: list[Workload],
    source_time: int | None,
    workload_files: list[str],
    rules: dict[str, str] | None = None,
    owned: list[str] | None = None,
    given: list[str] | None = None,
    promoted: dict[str, str] | None = None,
) -> bytes:
    """`given` names the context keys CI passed (the others were derived by rules, and a promotion derives them
    again for its target); `promoted` says which environment and deployment commit a promotion took these
    inputs from."""
    kept = {k: v for k, v in sorted(context.items()) if k not in RUN_KEYS}
    data = {
        "apiVersion": "plato.dev/v1",
        "kind": "Inputs",
        "plato": __version__,
        "context": kept,
        "source": {"sha": context.get("source_sha"), "repo": context.get("source_repo"), "time": source_time},
        "files": workload_files,
        "rules": rules or {},
        "owned": owned or [],
        "workloads": [w.raw for w in workloads],
        "pinned": pinned(kept.get("image"), [w.raw for w in workloads]),
    }
    order = {w.name: [c.name for c in w.containers] for w in workloads if len(w.containers) > 1}
    if order:  # the record's JSON sorts keys: the spec's container order is kept beside it
        data["containerOrder"] = order
    if given is not None:
        data["given"] = sorted(k for k in given if k in kept)
    if promoted:
        data["promoted"] = promoted
    return (json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def pinned(image: str | None, workloads: list[Any]) -> dict[str, str | None]:
    """What a promotion carries unchanged: the image (by digest when CI gave one, `repo:tag@sha256:...`) and a
    digest of the workload specs as read (canonical JSON, so key order and formatting do not count)."""
    found = DIGEST.search(image or "")
    specs = json.dumps(workloads, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return {
        "image": image,
        "digest": found.group(1) if found else None,
        "specs": "sha256:" + hashlib.sha256(specs).hexdigest(),
    }


def load_record(data: bytes) -> dict[str, Any]:
    """A record's data; ValueError when it is not JSON or not shaped as plato writes records (hand edits)."""
    record = json.loads(data)
    if not isinstance(record, dict):
        raise ValueError("a record is a JSON object")
    for key in ("context", "source", "rules"):
        if not isinstance(record.get(key, {}), dict):
            raise ValueError(f"'{key}' of a record is an object")
    if not isinstance(record.get("owned", []), list) or not isinstance(record.get("workloads", []), list):
        raise ValueError("'owned' and 'workloads' of a record are lists")
    return record


def read_record(data: bytes, file: str) -> dict[str, Any]:
    """load_record for a record plato must use: a broken one is the user's error, named with its file."""
    from generator.errors import UserError

    try:
        return load_record(data)
    except ValueError as exc:
        raise UserError(
            f"recorded inputs are not a valid record: {exc}",
            file=file,
            hint="publish the app again from its pipeline (the record is rewritten), or restore the file from git",
        ) from None


def newer_source(existing: bytes | None, ours: bytes) -> tuple[Newer, str]:
    """Which of two records of one (env, app) comes from the newer source commit, by the commit times recorded:
    "theirs" (the one in the repository, with why not to overwrite it), "ours", or "neither" (the same commit,
    no times to compare, or a record that cannot be read). The one freshness comparison of plato."""
    if not existing or existing == ours:
        return "neither", ""
    try:
        theirs = load_record(existing).get("source") or {}
        mine = load_record(ours).get("source") or {}
    except ValueError:
        return "neither", ""
    t0, t1 = theirs.get("time"), mine.get("time")
    if theirs.get("sha") == mine.get("sha") or not isinstance(t1, int):
        return "neither", ""
    if isinstance(t0, int) and t0 > t1:
        return "theirs", (
            f"the repository already holds this app from a newer source commit {str(theirs.get('sha'))[:12]} "
            f"(committed at {t0}, this run is from {str(mine.get('sha'))[:12]} at {t1}); not overwriting it"
        )
    return ("ours", "") if not isinstance(t0, int) or t1 > t0 else ("neither", "")
