"""The recorded inputs of each (env, app): enough to re-render it later with no access to its source repository.

They live at `.plato/inputs/<env>/<app>.json`, outside every path a CD tool reads: the workload specs as read
(file sources inlined), the context (without per-run keys), the source commit and its time (for "latest wins"),
and the rules that shaped the output with their digests (so a re-render can name the rules that changed).
"""

from __future__ import annotations

import json
from typing import Any

from generator import __version__
from generator.read.context import RUN_KEYS
from generator.read.models import Workload

RECORD_DIR = ".plato/inputs"


def record_path(env: str, app: str) -> str:
    return f"{RECORD_DIR}/{env}/{app}.json"


def make_record(
    context: dict[str, str],
    workloads: list[Workload],
    source_time: int | None,
    workload_files: list[str],
    rules: dict[str, str] | None = None,
    owned: list[str] | None = None,
) -> bytes:
    data = {
        "apiVersion": "plato.dev/v1",
        "kind": "Inputs",
        "plato": __version__,
        "context": {k: v for k, v in sorted(context.items()) if k not in RUN_KEYS},
        "source": {"sha": context.get("source_sha"), "repo": context.get("source_repo"), "time": source_time},
        "files": workload_files,
        "rules": rules or {},
        "owned": owned or [],
        "workloads": [w.raw for w in workloads],
    }
    return (json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


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
