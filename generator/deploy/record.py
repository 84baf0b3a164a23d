"""The recorded inputs of each (env, app): enough to re-render it later with no access to its source repository.

They live at `.plato/inputs/<env>/<app>.json`, outside every path a CD tool reads: the workload specs as read
(file sources inlined), the context (without per-run keys), the source commit and its time (for "latest wins"),
and the rules that shaped the output with their digests (so a re-render can name the rules that changed).

`digests` make a re-render incremental: `inputs` (the workloads, context with the image, and files as recorded),
`match` (what decides which rules an app uses: every rule's kind, name and criteria, the Dimensions, the Context
rules and the policies), and `output` (every file the write left at the app's paths, by path, mode and blob id).
With the rules used (`rules`, one digest per rule document) and the plato version, an app whose digests all hold
is not rendered again; its output digest, compared with the tree's entries, finds hand edits without a read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from generator import __version__
from generator.deploy.git import blob_id
from generator.deploy.layout import RECORD_DIR as RECORD_DIR
from generator.deploy.layout import record_path as record_path
from generator.deploy.tree import REGULAR_MODE
from generator.read.context import RUN_KEYS
from generator.read.models import Workload

if TYPE_CHECKING:
    from generator.match.rules import RuleSet


Newer = Literal["theirs", "ours", "neither"]
DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


def make_record(
    context: dict[str, str],
    workloads: list[Workload],
    source_time: int | None,
    workload_files: list[str],
    rules: dict[str, str] | None = None,
    owned: list[str] | None = None,
    given: list[str] | None = None,
    promoted: dict[str, str] | None = None,
    output: str | None = None,
    match: str | None = None,
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
    if output and match:
        data["digests"] = {"inputs": inputs_digest(data), "match": match, "output": output}
    return (json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def _sha256(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return "sha256:" + hashlib.sha256(text).hexdigest()


def inputs_digest(record: dict[str, Any]) -> str:
    """What a render reads of a record: the context (the image included), the workloads as read and their
    container order, the files they came from."""
    return _sha256([record.get(k) for k in ("context", "workloads", "containerOrder", "files")])


def output_digest(files: Mapping[str, bytes]) -> str:
    """One digest over every file a write leaves at an app's paths (the record aside): mode, blob id and path,
    the way `git ls-tree` lists them, so that the tree's entries give the same digest without reading a blob."""
    return tree_digest((path, REGULAR_MODE, blob_id(data)) for path, data in files.items())


def tree_digest(entries: Iterable[tuple[str, str, str]]) -> str:
    lines = sorted(f"{mode} {oid}\t{path}\n" for path, mode, oid in entries)
    return "sha256:" + hashlib.sha256("".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


_MATCH: dict[str, str] = {}


def match_digest(rules: RuleSet) -> str:
    """What decides which rules an app uses, over the whole rule set: a change here may send any app to other
    rules (a new rule, a new criterion), a change elsewhere shows in the digests of the rules an app used."""
    if rules.digest not in _MATCH or not rules.digest:
        used = [
            [r.kind, r.name, {k: list(v) for k, v in r.match.items()}, r.digest if r.kind == "Context" else ""]
            for r in sorted(rules.all_rules(), key=lambda r: r.ref)
        ]
        _MATCH[rules.digest] = _sha256([list(rules.dimensions), used, [d.data for d in rules.policy_docs]])
    return _MATCH[rules.digest]


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
