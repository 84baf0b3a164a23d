"""Reading Score workloads (generator/read/workload.py) when they are right: sources inlined into what is
recorded, the deprecated list forms, the workspace, placeholders parsed, and the spec's order where it counts.
The refusals are the corpus of tests/read/test_bad_inputs.py."""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

import pytest
from testkit.git import git

from generator.errors import Errors, UserError
from generator.read.placeholders import Template
from generator.read.workload import Options, find_workspace, load_workloads

SPEC = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  zeta:
    image: nginx:1.27
    variables:
      B: ${metadata.name}
      A: plain
    files:
      /etc/app.conf:
        source: conf/app.conf
      /etc/logo.png:
        source: conf/logo.png
  alpha:
    image: busybox:1.36
    before:
      zeta: {ready: complete}
service:
  ports:
    www: {port: 80, targetPort: 8080}
    api: {port: 9090}
resources:
  db:
    type: postgres
    params: {name: "${metadata.name}-db", size: 3, plain: text}
"""
PNG = b"\x89PNG\r\n\x1a\n\x00\xff"


def _write(folder: Path, text: str = SPEC, name: str = "score.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    (folder / "conf").mkdir(exist_ok=True)
    (folder / "conf" / "app.conf").write_text("port=8080\n", encoding="utf-8")
    (folder / "conf" / "logo.png").write_bytes(PNG)
    return path


def line_of_text(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(needle))


def test_file_sources_are_read_into_the_recorded_spec_as_text_or_base64(tmp_path: Path) -> None:
    [w] = load_workloads([_write(tmp_path)])
    files = w.raw["containers"]["zeta"]["files"]
    assert files["/etc/app.conf"] == {"content": "port=8080\n"}  # no private keys, no source: self-contained
    assert base64.b64decode(files["/etc/logo.png"]["binaryContent"]) == PNG  # not UTF-8: kept as bytes
    zeta = next(c for c in w.containers if c.name == "zeta")
    by_target = {f.target: f for f in zeta.files}
    assert by_target["/etc/app.conf"].source == "conf/app.conf"  # named in messages as the spec wrote it
    assert by_target["/etc/logo.png"].binary == files["/etc/logo.png"]["binaryContent"]


def test_the_spec_s_order_is_kept_for_containers_and_sorted_elsewhere(tmp_path: Path) -> None:
    [w] = load_workloads([_write(tmp_path)])
    assert [c.name for c in w.containers] == ["zeta", "alpha"]  # the first is the pod's default container
    zeta = w.containers[0]
    assert [k for k, _ in zeta.variables] == ["A", "B"]
    assert [(p.name, p.port, p.target_port, p.protocol) for p in w.ports] == [
        ("api", 9090, 9090, "TCP"),
        ("www", 80, 8080, "TCP"),
    ]
    assert w.containers[1].before == {"zeta": "complete"}


def test_placeholders_are_parsed_and_literal_params_stay_plain(tmp_path: Path) -> None:
    [w] = load_workloads([_write(tmp_path)])
    db = w.resource("db")
    assert db is not None and (db.type, db.class_, db.id) == ("postgres", "default", None)
    assert isinstance(db.params["name"], Template) and db.params["size"] == 3 and db.params["plain"] == "text"
    assert isinstance(dict(w.containers[0].variables)["B"], Template)
    assert w.where.line == 3 and db.where.line == line_of_text(SPEC, "  db:")
    assert w.resource("nope") is None


def test_the_deprecated_list_forms_read_as_the_map_form(tmp_path: Path) -> None:
    listed = SPEC.replace(
        "    files:\n      /etc/app.conf:\n        source: conf/app.conf\n      /etc/logo.png:\n"
        "        source: conf/logo.png\n",
        "    files:\n      - target: /etc/app.conf\n        source: conf/app.conf\n      - target: /etc/logo.png\n"
        "        source: conf/logo.png\n    volumes:\n      - target: /data\n        source: ${resources.db.host}\n",
    )
    [w] = load_workloads([_write(tmp_path, listed)])
    [m] = load_workloads([_write(tmp_path / "m", SPEC)])
    assert w.raw["containers"]["zeta"]["files"] == m.raw["containers"]["zeta"]["files"]
    assert [v.target for v in w.containers[0].volumes] == ["/data"]


def test_the_workspace_is_the_git_work_tree_and_sources_stay_inside_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    git("init", "-q", "-b", "main", str(repo))
    spec = _write(repo / "services" / "web")
    assert find_workspace(spec.parent) == repo
    assert find_workspace(tmp_path / "elsewhere") == tmp_path / "elsewhere"  # no work tree: its own folder
    (tmp_path / "secret.conf").write_text("outside\n", encoding="utf-8")
    outside = spec.read_text().replace("source: conf/app.conf", "source: ../../../secret.conf")
    spec.write_text(outside, encoding="utf-8")
    with pytest.raises(UserError, match="lies outside the workspace"):
        load_workloads([spec])
    [w] = load_workloads([spec], Options(allow_outside_workspace=True))
    assert w.raw["containers"]["zeta"]["files"]["/etc/app.conf"] == {"content": "outside\n"}


def test_a_missing_source_is_kept_for_later_when_sources_are_not_required(tmp_path: Path) -> None:
    spec = _write(tmp_path)
    (tmp_path / "conf" / "app.conf").unlink()
    with pytest.raises(UserError, match=r"file source 'conf/app\.conf' does not exist"):
        load_workloads([spec])
    [w] = load_workloads([spec], Options(require_sources=False))
    f = next(f for f in w.containers[0].files if f.target == "/etc/app.conf")
    assert f.missing_source == str(tmp_path / "conf" / "app.conf")
    assert "__missing__" not in str(w.raw)  # never recorded


def test_several_files_and_documents_are_one_app_sorted_by_name_with_every_error_at_once(tmp_path: Path) -> None:
    two = SPEC.replace("name: web", "name: b-worker") + "---\n" + SPEC.replace("name: web", "name: a-api")
    workloads = load_workloads([_write(tmp_path, two, "two.yaml"), _write(tmp_path, SPEC, "web.yaml")])
    assert [w.name for w in workloads] == ["a-api", "b-worker", "web"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: score.dev/v1b1\nmetadata: {name: x1}\n", encoding="utf-8")
    with pytest.raises(Errors) as caught:
        load_workloads([bad, _write(tmp_path, SPEC, "again.yaml"), tmp_path / "web.yaml"])
    messages = [e.message for e in caught.value.errors]
    assert len(messages) == 2 and any("defined twice" in m for m in messages)


QUANTITIES = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx:1.27
    resources:
      limits: {memory: "MEMORY", cpu: "CPU"}
"""


@pytest.mark.parametrize(("memory", "cpu"), [("1.5Gi", "0.5"), ("125M", "125m"), ("0.5Gi", "2"), ("64Mi", ".25")])
def test_memory_and_cpu_are_read_as_kubernetes_reads_them(memory: str, cpu: str, tmp_path: Path) -> None:
    path = _write(tmp_path, QUANTITIES.replace("MEMORY", memory).replace("CPU", cpu))
    (w,) = load_workloads([path], Options())
    assert w.raw["containers"]["main"]["resources"]["limits"] == {"memory": memory, "cpu": cpu}


@pytest.mark.parametrize(("memory", "cpu", "wrong"), [("1Gi", "", "cpu"), ("1Gi", "m", "cpu"), ("0", "1", "memory"),
                                                      ("1.5.0Gi", "1", "memory"), ("1Gi", "1.5m", "cpu")])  # fmt: skip
def test_a_quantity_kubernetes_would_refuse_is_refused_at_its_line(memory, cpu, wrong, tmp_path: Path) -> None:
    path = _write(tmp_path, QUANTITIES.replace("MEMORY", memory).replace("CPU", cpu))
    with pytest.raises(UserError) as caught:
        load_workloads([path], Options())
    assert wrong in caught.value.message and caught.value.line == 8, caught.value.message


def test_a_file_source_larger_than_a_configmap_holds_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A 30 MB source ran a publish past any patience (read, base64-encoded, scanned) into a ConfigMap Kubernetes
    would refuse."""
    text = SPEC.replace("source: conf/app.conf", "source: conf/big.bin")
    path = _write(tmp_path, text)
    with (tmp_path / "conf" / "big.bin").open("wb") as big:
        big.truncate(1024 * 1024 + 1)  # sparse: the size is all that is looked at
    with pytest.raises(UserError) as caught:
        load_workloads([path], Options())
    err = caught.value
    assert "over the limit of 1,048,576" in err.message and "big.bin" in err.message
    assert err.line == line_of_text(text, "        source: conf/big.bin")
    (tmp_path / "conf" / "big.bin").write_bytes(b"x" * 1024 * 1024)  # at the limit
    assert load_workloads([path], Options())


@pytest.mark.parametrize("written", ["${hunter2x9}", "${hunter2x9", "${.hunter2x9}", "${resources}"])
def test_a_mistyped_placeholder_under_a_credential_name_is_refused_without_its_text(
    tmp_path: Path, written: str
) -> None:
    """A malformed placeholder is quoted where it stands (`B`); under a credential's name (`DB_PASSWORD`) it may be
    the password itself, and the message says what is wrong without it."""
    for key, shown in (("B", True), ("DB_PASSWORD", False)):
        path = _write(tmp_path, SPEC.replace("B: ${metadata.name}", f"{key}: {json.dumps(written)}"))
        with pytest.raises(UserError) as caught:
            load_workloads([path], Options())
        err = caught.value
        assert err.line == line_of_text(path.read_text(), f"      {key}:") and "placeholder" in err.message
        assert (written.strip("${}.") in err.message) is shown, err.message
