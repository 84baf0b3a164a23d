"""Real Score files written elsewhere (../shared/conformance/score/) must all load."""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from testkit.render import production_ready_copy

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
    assert [_fields(f) for f in old_c.files] == [_fields(f) for f in new_c.files]
    assert [_fields(v) for v in old_c.volumes] == [_fields(v) for v in new_c.volumes]
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


# Files whose resource types are made up for a test (score-spec's Resource-One..., score-k8s's provisioner tests):
# rendering them must fail with one clear message per such resource, naming the type. Every other file renders.
INVENTED = {
    "score-spec/score-full.yaml": "Resource-One",
    "score-go/score-full.deprecated-arrays.yaml": "Resource-One",
    "score-k8s/03-generate-example.score.yaml": "example-provisioner-resource",
    "score-k8s/06-generate-example-a.score.yaml": "dummy",
}
_PRODUCTION_REFUSAL = re.compile(
    r"is the mutable tag 'latest'|is ReadWriteOnce, which one node mounts at a time"
    r"|denied by policy plato-immutable-image-tags"
)


FOLDER_APPS = ("score-compose/examples/", "community-provisioners/")  # each folder's files form one app


def render_units() -> list[str]:
    """What renders as one app: a folder of score-compose examples or community provisioners, else one file."""
    from testkit.shared import conformance_files

    units = set()
    for rel in conformance_files():
        prefix = next((p for p in FOLDER_APPS if rel.startswith(p) and "/" in rel[len(p) :]), None)
        units.add(prefix + rel[len(prefix) :].split("/")[0] if prefix else rel)
    return sorted(units)


UNITS = render_units()


@pytest.mark.parametrize("env", ["development", "production"])
@pytest.mark.parametrize("unit", UNITS or [None], ids=UNITS or ["missing"])
def test_conformance_renders(shared_dir: SharedDir, unit: str | None, env: str, tmp_path: Path) -> None:
    """Each app renders with the bundled rules, every object valid (Kubernetes 1.33 strict, CRD schemas); a file of
    invented types fails with exit 2 and one message naming the type."""
    from click.testing import CliRunner

    from generator.cli import main
    from tests.create.test_valid_objects import check_references, validate_object

    conformance_dir = shared_dir(*CONFORMANCE)
    crd_dir = shared_dir("schemas", "crds")
    assert unit is not None, f"no .yaml files under {conformance_dir}"
    context = ["-c", f"env={env}", "-c", "app=demo", "-c", "org=acme", "--image", "registry.example.com/demo:1.0"]
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(conformance_dir / unit), *context, "-o", str(out)])
    if env == "production" and result.exit_code == 2 and unit not in INVENTED:
        # Production refuses what it cannot run safely (a ':latest' image, one ReadWriteOnce volume under many
        # replicas), each at its spec line; a copy changed only that way renders.
        errors = [line for line in result.output.splitlines() if ": error: " in line]
        assert errors and all(_PRODUCTION_REFUSAL.search(e) for e in errors), result.output
        ready = production_ready_copy(conformance_dir / unit, tmp_path / "ready")
        result = CliRunner().invoke(main, ["render", str(ready), *context, "-o", str(out)])
    if unit in INVENTED:
        assert result.exit_code == 2, result.output
        # One message per resource of an invented type (every problem of a run is reported), the first naming it.
        errors = [line for line in result.output.splitlines() if ": error: " in line]
        unserved = [e for e in errors if "no Resource rule matches" in e]
        assert unserved and all(e in unserved or _PRODUCTION_REFUSAL.search(e) for e in errors), result.output
        assert f"({INVENTED[unit]})" in unserved[0], errors
        assert "Traceback" not in result.output and not out.exists()
        return
    assert result.exit_code == 0, result.output
    manifests = sorted(out.rglob("manifest.yaml"))
    assert len(manifests) == 1, manifests
    for path in sorted(out.rglob("*.yaml")):
        for obj in (d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None):
            validate_object(obj, crd_dir, f"{unit} ({env}) {path.relative_to(out)}")
    # A volume whose source is a plain name (not a resource) mounts an existing claim of that name.
    source = conformance_dir / unit
    files = sorted(source.glob("*.yaml")) if source.is_dir() else [source]
    workloads = load_workloads(files, Options(require_sources=False))
    named = {v.source.literal for w in workloads for c in w.containers for v in c.volumes if not v.source.refs}
    objects = [d for d in yaml.safe_load_all(manifests[0].read_text(encoding="utf-8")) if d]
    check_references(objects, unit, frozenset(n for n in named if n))


def test_conformance_units_cover_every_file(shared_dir: SharedDir) -> None:
    """The render test above covers every conformance file (folders as apps, the rest one by one)."""
    from testkit.shared import conformance_files

    shared_dir(*CONFORMANCE)
    covered = {f for f in conformance_files() if any(f == u or f.startswith(u + "/") for u in UNITS)}
    assert covered == set(conformance_files())
    assert set(INVENTED) <= set(UNITS)
    assert len(UNITS) == 38, UNITS  # 13 score-compose and 12 community folders, 13 single files


def _fields(item: object) -> dict[str, object]:
    """A model's fields without its position (where)."""
    return {f.name: getattr(item, f.name) for f in dataclasses.fields(item) if f.name != "where"}  # type: ignore[arg-type]
