"""Where the bundled schemas/ and rules/ are (generator/resources.py): the folders the loaders read when no
--rules is given, from a source checkout or an installation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.match.rules import load_rules
from generator.resources import bundled_dir

REPO = Path(__file__).resolve().parents[1]


def test_the_bundled_folders_are_the_repository_s_in_a_source_checkout() -> None:
    assert bundled_dir("rules").resolve() == (REPO / "rules").resolve()
    assert bundled_dir("schemas").resolve() == (REPO / "schemas").resolve()
    for name in ("workload", "rules"):
        assert json.loads((bundled_dir("schemas") / f"{name}.schema.json").read_text(encoding="utf-8"))


def test_the_rules_loader_reads_the_bundled_rules_when_given_no_folder() -> None:
    default, bundled = load_rules(None), load_rules(bundled_dir("rules"))
    assert default.digest == bundled.digest and default.digest
    assert [r.name for r in default.environments] == [r.name for r in bundled.environments]


def test_a_missing_bundled_folder_says_the_installation_is_incomplete() -> None:
    with pytest.raises(FileNotFoundError, match="bundled folder 'templates-v9' is missing from the plato installation"):
        bundled_dir("templates-v9")
