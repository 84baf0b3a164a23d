"""Real Score files written elsewhere (../shared/conformance/score/) must all load."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from generator.read.models import Workload
from generator.read.workload import Options, load_workloads

EXPECTED_FILES = 42
CONFORMANCE = ("conformance", "score")
SharedDir = Callable[..., Path]


def _load_one(path: Path) -> Workload:
    workloads = load_workloads([path], Options(require_sources=False))
    assert len(workloads) == 1
    return workloads[0]


def test_conformance_file_count(shared_dir: SharedDir) -> None:
    conformance_dir = shared_dir(*CONFORMANCE)
    files = sorted(conformance_dir.rglob("*.yaml"))
    assert len(files) == EXPECTED_FILES, [str(f.relative_to(conformance_dir)) for f in files]


def test_conformance_file_loads(shared_dir: SharedDir, conformance_file: str | None) -> None:
    conformance_dir = shared_dir(*CONFORMANCE)
    assert conformance_file is not None, f"no .yaml files under {conformance_dir}"
    path = conformance_dir / conformance_file
    workloads = load_workloads([path], Options(require_sources=False))
    assert workloads, f"{conformance_file}: no workload"
    for w in workloads:
        assert w.containers
        assert w.where.file == str(path)
        assert w.where.line is not None


def test_score_full(shared_dir: SharedDir) -> None:
    conformance_dir = shared_dir(*CONFORMANCE)
    w = _load_one(conformance_dir / "score-spec" / "score-full.yaml")
    assert w.name == "example-workload-name123"
    assert [c.name for c in w.containers] == ["container-one1", "container-two2"]
    assert [r.name for r in w.resources] == ["resource-one1", "resource-three", "resource-two2"]
    three = w.resource("resource-three")
    assert three is not None
    assert (three.type, three.class_, three.id) == ("Type-Three", "default", "shared-type-three")
    assert [(p.name, p.port, p.target_port, p.protocol) for p in w.ports] == [
        ("port-one", 1000, 10000, "TCP"),
        ("port-two2", 8000, 8000, "TCP"),
    ]

    one = w.containers[0]
    files = {f.target: f for f in one.files}
    assert sorted(files) == ["/my/file", "/my/other/binaryfile", "/my/other/file"]

    binary = files["/my/other/binaryfile"]
    assert binary.binary == "ADBgwpA="
    assert base64.b64decode(binary.binary) == b"\x000`\xc2\x90"
    assert binary.content is None and binary.missing_source is None

    missing = files["/my/file"]
    assert missing.source == "file.txt"
    assert missing.mode == "0600"
    assert missing.content is None and missing.binary is None
    assert missing.missing_source is not None
    assert Path(missing.missing_source) == (conformance_dir / "score-spec" / "file.txt").resolve()
    assert missing.where.line == 30  # the target key

    text = files["/my/other/file"]
    assert text.content is not None and text.content.literal == "some multiline\ncontent\n"

    assert w.containers[1].image == "."
    # What gets recorded carries no private marker of the missing source.
    assert "__missing__" not in w.raw["containers"]["container-one1"]["files"]["/my/file"]


def _list_form_to_map_form(data: dict) -> dict:
    for c in data["containers"].values():
        for key in ("files", "volumes"):
            if isinstance(c.get(key), list):
                c[key] = {item.pop("target"): item for item in c[key]}
    return data


def test_deprecated_lists_equal_map_form(shared_dir: SharedDir, tmp_path: Path) -> None:
    conformance_dir = shared_dir(*CONFORMANCE)
    listed = conformance_dir / "score-spec" / "score-deprecated-files-and-volumes.yaml"
    data = yaml.safe_load(listed.read_text(encoding="utf-8"))
    assert isinstance(data["containers"]["main"]["files"], list)  # the sample still uses the old form
    mapped = tmp_path / "score.yaml"
    mapped.write_text(yaml.safe_dump(_list_form_to_map_form(data)), encoding="utf-8")

    old, new = _load_one(listed), _load_one(mapped)
    (old_c,), (new_c,) = old.containers, new.containers
    assert [f.target for f in old_c.files] == ["/mnt/some-path"]
    assert [v.target for v in old_c.volumes] == ["/mnt/vol"]
    assert [f.model_dump(exclude={"where"}) for f in old_c.files] == [
        f.model_dump(exclude={"where"}) for f in new_c.files
    ]
    assert [v.model_dump(exclude={"where"}) for v in old_c.volumes] == [
        v.model_dump(exclude={"where"}) for v in new_c.volumes
    ]
    assert old.raw == new.raw  # recorded in the current (map) form either way
    # Positions still point into the original file: the list item of each target.
    assert (old_c.files[0].where.line, old_c.volumes[0].where.line) == (11, 14)


def test_cli_validates_multi_workload_app(shared_dir: SharedDir) -> None:
    conformance_dir = shared_dir(*CONFORMANCE)
    app = conformance_dir / "score-compose" / "examples" / "04-multiple-workloads"
    env = {k: v for k, v in os.environ.items() if k != "PLATO_DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "validate", str(app)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok: 2 workloads valid" in proc.stderr
    assert "Traceback" not in proc.stderr
