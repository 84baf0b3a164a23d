"""`plato render`: the files the deployment repository would hold, written to a folder."""

from __future__ import annotations

from pathlib import Path

import click

from generator.errors import UserError
from generator.pipeline import Inputs


def run(inputs: Inputs, out: Path) -> None:
    from generator.deploy.tree import write_tree

    tree = inputs.render()
    try:
        write_tree(out, tree)
    except OSError as exc:  # a folder that cannot be made or written: the user's flag, not a bug
        raise UserError(
            f"cannot write the rendered files: {exc.strerror or exc}",
            file=str(out),
            hint="give -o a folder you can write",
        ) from None
    click.echo(f"rendered {len(tree.files)} files for {tree.app} in {tree.env} into {out}/", err=True)
    for path in tree.files:
        click.echo(f"  {path}", err=True)
