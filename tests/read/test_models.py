"""The models are frozen dataclasses built from schema-validated data (no pydantic at import: that is 0.1-0.2 s of
a CI publish). Here pydantic validates what the reader built, so the models and the schema cannot drift apart
unnoticed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter
from testkit.shared import REPO, shared_dir

from generator.read.models import Workload
from generator.read.workload import Options, load_workloads

MODEL = TypeAdapter(Workload)


def _check(path: Path) -> int:
    count = 0
    for w in load_workloads([path], Options(require_sources=False)):
        again = MODEL.validate_python(MODEL.dump_python(w, round_trip=True))
        assert MODEL.dump_python(again, round_trip=True) == MODEL.dump_python(w, round_trip=True)
        count += 1
    return count


def test_models_validate_every_conformance_file(conformance_file: str) -> None:
    assert _check(shared_dir("conformance", "score", *conformance_file.split("/"))) >= 1


@pytest.mark.parametrize("name", ["api.score.yaml", "worker.score.yaml"])
def test_models_validate_the_example_app(name: str) -> None:
    assert _check(REPO / "examples" / "shop" / name) == 1


def test_a_wrong_type_is_caught_by_the_models_too() -> None:
    (w,) = load_workloads([REPO / "examples" / "shop" / "worker.score.yaml"])
    data = MODEL.dump_python(w, round_trip=True)
    data["ports"] = [{"name": "http", "port": "eighty", "target_port": 80}]
    with pytest.raises(ValueError, match="port"):
        MODEL.validate_python(data)
