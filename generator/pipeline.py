"""Read -> Match -> Create, composed once for the commands that need all three."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.read import context as ctxmod
from generator.read.models import Workload
from generator.read.workload import Options, load_workloads
from generator.read.yamlfile import iter_yaml_files


@dataclass
class Inputs:
    workloads: list[Workload]
    context: dict[str, str]
    rules_dir: Path | None

    @classmethod
    def load(
        cls,
        paths: list[Path],
        *,
        context: tuple[str, ...] | list[str] = (),
        image: str | None = None,
        rules_dir: Path | None = None,
        allow_outside_workspace: bool = False,
        environ: Mapping[str, str] | None = None,
        require_sources: bool = True,
    ) -> Inputs:
        ctx = ctxmod.build(context, environ or {}, image)
        files = list(iter_yaml_files(paths))
        opts = Options(allow_outside_workspace=allow_outside_workspace, require_sources=require_sources)
        return cls(load_workloads(files, opts), ctx, rules_dir)

    def plan(self) -> Any:
        from generator.match.plan import make_plan
        from generator.match.rules import load_rules

        return make_plan(self.workloads, self.context, load_rules(self.rules_dir))

    def render(self) -> Any:
        from generator.create.render import render

        return render(self.plan())
