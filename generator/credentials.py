"""Moved: the one secret detector is `generator/check/secrets.py`. These names stay for the read stage's early
context check and the create stage's spec-line refusals, which use the same detector."""

from __future__ import annotations

from generator.check import secrets
from generator.check.secrets import entropy, first

__all__ = ["entropy", "high_entropy", "looks_like_credential"]


def looks_like_credential(value: str) -> str | None:
    """What the value looks like (`a password in a URL`, ...) if it looks like a credential."""
    found = first(value, assignments=False)
    return found.what if found else None


def high_entropy(value: str) -> bool:
    """Some token in the value is random-looking (see secrets.high_entropy)."""
    return any(secrets.high_entropy(token) for token in secrets.TOKEN.findall(value))
