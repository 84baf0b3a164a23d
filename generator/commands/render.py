"""`plato render`: the files the deployment repository would hold, written to a folder."""

from __future__ import annotations

from pathlib import Path

import click

from generator.pipeline import Inputs


def run(inputs: Inputs, out: Path) -> None:
    from generator.deploy.tree import write_tree

    tree = inputs.render()
    write_tree(out, tree)
    click.echo(f"rendered {len(tree.files)} files for {tree.app} in {tree.env} into {out}/", err=True)
    for path in tree.files:
        click.echo(f"  {path}", err=True)
