"""`plato schema`: plato's JSON schemas, for editors."""

from __future__ import annotations

from typing import Literal

import click

from generator.resources import bundled_dir


def run(what: Literal["workload", "rules"] | str) -> None:
    name = "workload" if what == "workload" else "rules"
    click.echo((bundled_dir("schemas") / f"{name}.schema.json").read_text(encoding="utf-8"), nl=False)
