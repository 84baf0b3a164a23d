"""The last line of defence before anything is written: no Secret with data, no credential-looking value.

plato never knows a secret value (outputs are references), so a value that looks like a credential in the
rendered tree came from a rule or a spec by mistake: refuse, and say where.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from generator.errors import UserError

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("a private key", re.compile(r"-----BEGIN ((RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED) )?PRIVATE KEY( BLOCK)?-----")),
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}\b")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("a password in a URL", re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@$]+:(?!\$\()[^/\s@$]{3,}@")),
]
_ENTROPY_CANDIDATE = re.compile(r"^[A-Za-z0-9+/=_-]{32,}$")
_HEX = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")  # git and content hashes are not secrets


def entropy(text: str) -> float:
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_like_credential(value: str) -> str | None:
    for what, pattern in PATTERNS:
        if pattern.search(value):
            return what
    return None


def high_entropy(value: str) -> bool:
    return bool(_ENTROPY_CANDIDATE.match(value)) and not _HEX.match(value) and entropy(value) > 4.5


def check_objects(objects: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """Objects with the file they go to: refuse Secrets with data and credential-looking values."""
    for path, obj in objects:
        kind = obj.get("kind")
        name = (obj.get("metadata") or {}).get("name")
        if kind == "Secret" and (obj.get("data") or obj.get("stringData")):
            raise UserError(
                f"refusing to write Secret '{name}' with data into the deployment repository",
                file=path,
                hint="secrets reach the cluster by reference: ExternalSecret, an operator's "
                "Secret, or a password generator",
            )
        if kind == "ExternalSecret":
            continue  # templates and remote keys only; its values are references by construction
        _scan(obj, path, f"{kind} '{name}'", (), kind == "ConfigMap")


def _scan(value: Any, path: str, what: str, loc: tuple[str, ...], configmap: bool) -> None:
    if isinstance(value, dict):
        is_env = "name" in value and "value" in value and loc and loc[-1] == "env"
        for k, v in value.items():
            _scan(v, path, what, (*loc, str(k)), configmap)
        if is_env and isinstance(value["value"], str) and high_entropy(value["value"]):
            raise UserError(
                f"{what}: variable {value['name']} holds a high-entropy value that looks like a credential",
                file=path,
                hint="declare it as a secret output of a resource instead",
            )
    elif isinstance(value, list):
        for item in value:
            _scan(item, path, what, (*loc, "env") if loc and loc[-1] == "env" else loc, configmap)
    elif isinstance(value, str):
        found = looks_like_credential(value)
        if found:
            raise UserError(
                f"{what} at {'.'.join(loc)} contains {found}; refusing to write it",
                file=path,
                hint="no secret value may reach the deployment repository: use a secret output",
            )


def check_text(path: str, text: str) -> None:
    found = looks_like_credential(text)
    if found:
        raise UserError(
            f"contains {found}; refusing to write it",
            file=path,
            hint="no secret value may reach the deployment repository: use a secret output",
        )
