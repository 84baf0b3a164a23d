"""Handing results to GitHub Actions: step outputs and the job summary."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from generator.errors import mask_secrets

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub rejects a larger job summary


def write_outputs(path: str | None, values: Mapping[str, str]) -> None:
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as f:
        for key, raw in values.items():
            value = mask_secrets(raw)  # handed to later steps, which may print it
            if "\n" in value:
                delim = f"plato_{secrets.token_hex(8)}"  # a value cannot end the block early
                f.write(f"{key}<<{delim}\n{value}\n{delim}\n")
            else:
                f.write(f"{key}={value}\n")


def write_summary(path: str | None, markdown: str) -> None:
    if not path:
        return
    text = mask_secrets(markdown)
    if len(text.encode()) > STEP_SUMMARY_LIMIT - 1024:
        text = text.encode()[: STEP_SUMMARY_LIMIT - 4096].decode("utf-8", "ignore") + "\n\n(summary cut at 1 MiB)\n"
    with Path(path).open("a", encoding="utf-8") as f:
        f.write(text + "\n")
