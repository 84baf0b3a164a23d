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
    record: dict[str, Any] = json.loads(data)
    return record
