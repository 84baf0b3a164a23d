"""What a credential looks like: shared by the context check (read) and the guard before writing (create).

plato never knows a secret value (outputs are references), so a value that looks like one came from a spec, a
rule or the context by mistake.
"""

from __future__ import annotations

import math
import re

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


# One pass over the text finds whether any pattern may match; only then is the culprit named. Values shorter
# than the shortest pattern cannot match at all (most values in a manifest are short names and numbers).
_ANY = re.compile("|".join(f"(?:{p.pattern})" for _, p in PATTERNS))
_SHORTEST = 10  # "s://u:pwd@", the shortest a password in a URL can be


# Every pattern contains one of these: a plain substring test rules out almost every value before any regex.
_MARKERS = ("-----BEGIN", "AKIA", "ASIA", "gh", "github_pat", "xox", "glpat-", "AIza", "eyJ", "://")


_MARKER = re.compile("|".join(re.escape(m) for m in _MARKERS))  # one C-level scan instead of ten `in` tests


def looks_like_credential(value: str) -> str | None:
    if len(value) < _SHORTEST or not _MARKER.search(value) or not _ANY.search(value):
        return None
    for what, pattern in PATTERNS:
        if pattern.search(value):
            return what
    return None


def high_entropy(value: str) -> bool:
    return bool(_ENTROPY_CANDIDATE.match(value)) and not _HEX.match(value) and entropy(value) > 4.5
