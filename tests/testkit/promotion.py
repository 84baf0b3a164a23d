"""A rules folder with three stages for the promotion tests: the bundled rules, plus a `staging` Environment made
from the bundled production one (its own cluster and project), and promotion settings on staging and production.
Written into tmp_path; the bundled rules stay as they are."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

from testkit.git import REPO


def promotion_rules(dest: Path, layout: str | None = None, active_path: bool = False) -> Path:
    shutil.copytree(REPO / "rules", dest)
    envs_file = dest / "10-environments.yaml"
    docs: list[dict[str, Any]] = list(yaml.safe_load_all(envs_file.read_text(encoding="utf-8")))
    production = next(d for d in docs if d["kind"] == "Environment" and d["name"] == "production")
    staging = copy.deepcopy(production)
    staging.update(name="staging", description="Staging: production's platform, its own cluster.")
    staging["match"] = {"env": "staging"}
    staging["spec"].update(cluster="staging-eu-west-1", domain="staging.example.com")
    staging["spec"]["cd"] = {**staging["spec"]["cd"], "project": "staging"}
    staging["spec"]["promotion"] = {"from": "development"}
    production["spec"]["promotion"] = {"from": "staging", "requireDigest": True}
    docs.append(staging)
    for d in docs:
        if d["kind"] == "Environment" and layout:
            d["spec"]["layout"] = layout
            if active_path:
                d["spec"]["activePath"] = "{{ app }}"
    envs_file.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    return dest
