"""Handing results to GitHub Actions: step outputs and the job summary."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from generator.errors import mask_secrets

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub rejects a larger job summary


def check_writable(files: Mapping[str, str | Path | None], folders: Mapping[str, Path | None] | None = None) -> None:
    """Before anything lands: every file a run writes after its push (--pr-body, GITHUB_OUTPUT,
    GITHUB_STEP_SUMMARY) and every folder (--pr-body-dir) can be written. Found after the push, the mistake was an
    internal error beside a commit that had landed."""
    for what, given, wanted_dir in [*((w, g, False) for w, g in files.items()),
                                    *((w, g, True) for w, g in (folders or {}).items())]:  # fmt: skip
        if given:
            _writable(what, Path(given), wanted_dir)


def _writable(what: str, path: Path, wanted_dir: bool) -> None:
    import os

    from generator.errors import UserError

    kind = "a folder" if wanted_dir else "a file path"
    if path.exists() and path.is_dir() != wanted_dir:
        raise UserError(f"{what} {path} is not {kind}", hint=f"give {what} {kind}; nothing was published")
    existing = path if path.exists() else next((a for a in path.parents if a.exists()), Path("."))
    if not (path.exists() and not wanted_dir and os.access(path, os.W_OK)) and not _can_create_in(existing):
        raise UserError(
            f"{what} {path} cannot be written", hint="give a path this run may write; nothing was published"
        )


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be made in this folder (tried: permissions alone do not tell, as in /proc)."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


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
