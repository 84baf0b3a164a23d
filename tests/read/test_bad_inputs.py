"""Bad Score specs: each is a user error (exit 2) at the right line, with a useful message and no traceback.

Every folder under tests/corpus/bad/ is one case: `score.yaml` (plus any files the case needs) and
`expect.yaml`:

    line: 9                 # where the error must point in score.yaml (null: not checked)
    message: "..."          # a substring of the error message
    hint: "..."             # optional: a substring of the hint
    not_in: ["..."]         # optional: text the output must not contain
    files: [a.yaml, score.yaml]   # optional: the files given, in order (default: score.yaml)
    via: load               # optional: call load_workloads with `options` instead of `plato validate`
    options: {require_sources: true, workspace: case}
    write: {path: text}     # optional: files to create at test time (relative to the case folder)
    symlinks: {name: target}
    mkdirs: [name]
    reencode: latin-1       # optional: rewrite score.yaml in this encoding first
    max_seconds: 5          # optional: a time limit
    xfail: "..."            # a known bad message or bug in generator/: the case is a strict xfail

Cases run on a copy in a temporary folder, so test-time files never touch the repository.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.errors import Errors, UserError
from generator.read.workload import Options, load_workloads

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
# Run end to end in a real process, to prove exit code 2 and no traceback outside click's test runner.
SUBPROCESS_CASES = {"yaml-unclosed-bracket", "non-utf8", "duplicate-workload-two-files"}
KEYS = {
    "line",
    "message",
    "hint",
    "not_in",
    "files",
    "via",
    "options",
    "write",
    "symlinks",
    "mkdirs",
    "reencode",
    "max_seconds",
    "xfail",
}


def _expect(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CORPUS / name / "expect.yaml").read_text(encoding="utf-8"))
    return data


def _cases() -> list[Any]:
    params = []
    for name in CASES:
        reason = _expect(name).get("xfail")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@dataclass
class Reported:
    where: str
    message: str
    hint: str | None


def _errors(stderr: str) -> list[Reported]:
    """The `FILE[:LINE[:COL]]: error: MESSAGE` records of stderr, each with its `  hint:` line."""
    out: list[Reported] = []
    for line in stderr.splitlines():
        m = re.match(r"^(?P<where>.*?): error: (?P<message>.*)$", line)
        if m:
            out.append(Reported(m["where"], m["message"], None))
        elif line.startswith("  hint: ") and out and out[-1].hint is None:
            out[-1].hint = line[len("  hint: ") :]
    return out


def _prepare(name: str, tmp_path: Path, expect: dict[str, Any]) -> Path:
    case = tmp_path / name
    shutil.copytree(CORPUS / name, case, symlinks=True)
    (case / "expect.yaml").unlink()
    for rel, text in (expect.get("write") or {}).items():
        target = case / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for rel in expect.get("mkdirs") or []:
        (case / rel).mkdir(parents=True)
    for rel, target in (expect.get("symlinks") or {}).items():
        (case / rel).symlink_to(target)
    if expect.get("reencode"):
        spec = case / "score.yaml"
        spec.write_bytes(spec.read_text(encoding="utf-8").encode(expect["reencode"]))
    return case


def _run_cli(args: list[str], *, subprocess_: bool) -> tuple[int, str]:
    if subprocess_:
        env = {k: v for k, v in os.environ.items() if k != "PLATO_DEBUG"}
        proc = subprocess.run(
            [sys.executable, "-m", "generator", *args], capture_output=True, text=True, timeout=60, env=env, check=False
        )
        return proc.returncode, proc.stderr
    result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash inside the runner: show it
    return result.exit_code, result.stderr


def _check_cli(name: str, case: Path, expect: dict[str, Any]) -> None:
    files = [str(case / f) for f in expect.get("files", ["score.yaml"])]
    code, stderr = _run_cli(["validate", *files], subprocess_=name in SUBPROCESS_CASES)
    assert "Traceback" not in stderr
    assert "internal error" not in stderr
    assert code == 2, stderr
    errors = _errors(stderr)
    assert len(errors) == 1, stderr
    (err,) = errors
    spec = str(case / "score.yaml")
    line = expect.get("line")
    if line is None:
        assert err.where.startswith(spec), stderr
    else:
        assert re.fullmatch(rf"{re.escape(spec)}:{line}:\d+", err.where), stderr
    assert expect["message"] in err.message, stderr
    if "hint" in expect:
        assert err.hint is not None and expect["hint"] in err.hint, stderr
    for text in expect.get("not_in") or []:
        assert text not in stderr


def _check_load(case: Path, expect: dict[str, Any]) -> None:
    opts = dict(expect.get("options") or {})
    if opts.get("workspace") == "case":
        opts["workspace"] = case
    files = [case / f for f in expect.get("files", ["score.yaml"])]
    with pytest.raises(UserError) as info:
        load_workloads(files, Options(**opts))
    err = info.value
    assert not isinstance(err, Errors), err.render()
    assert err.file is not None and Path(err.file) == case / "score.yaml"
    assert err.line == expect.get("line"), err.render()
    assert expect["message"] in err.message, err.render()
    if "hint" in expect:
        assert err.hint is not None and expect["hint"] in err.hint, err.render()
    for text in expect.get("not_in") or []:
        assert text not in err.render()
    assert re.match(rf"^{re.escape(str(case / 'score.yaml'))}:{err.line}:\d+: error: ", err.render())


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 32
    for name in CASES:
        assert (CORPUS / name / "score.yaml").is_file(), name
        expect = _expect(name)
        assert set(expect) <= KEYS, (name, set(expect) - KEYS)
        assert {"line", "message"} <= set(expect), name
    assert set(CASES) >= SUBPROCESS_CASES


@pytest.mark.parametrize("name", _cases())
def test_bad_input(name: str, tmp_path: Path) -> None:
    expect = _expect(name)
    case = _prepare(name, tmp_path, expect)
    start = _cpu_seconds()
    if expect.get("via") == "load":
        _check_load(case, expect)
    else:
        _check_cli(name, case, expect)
    if "max_seconds" in expect:  # CPU seconds (this process and its children): the same on a loaded machine
        assert _cpu_seconds() - start < expect["max_seconds"]


def _cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


HEAD = "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: {image}\n"


def test_every_bad_file_is_reported(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(HEAD.format(name="one", image="42"), encoding="utf-8")
    two.write_text(HEAD.format(name="two", image="nginx") + "    extra: 1\n", encoding="utf-8")
    code, stderr = _run_cli(["validate", str(one), str(two)], subprocess_=False)
    assert code == 2
    assert [e.where.rsplit(":", 1)[0] for e in _errors(stderr)] == [f"{one}:6", f"{two}:7"]


def test_missing_file(tmp_path: Path) -> None:
    code, stderr = _run_cli(["validate", str(tmp_path / "nope.yaml")], subprocess_=False)
    assert code == 2
    assert f"{tmp_path / 'nope.yaml'}: error: file not found" in stderr


def test_file_over_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "score.yaml"
    big.write_text(HEAD.format(name="big", image="nginx") + "# " + "x" * (1024 * 1024) + "\n", encoding="utf-8")
    code, stderr = _run_cli(["validate", str(big)], subprocess_=False)
    assert code == 2
    assert "over the limit of 1048576" in stderr
    assert "hint: split it into several files" in stderr


def test_missing_source_is_only_a_warning_for_validate(tmp_path: Path) -> None:
    spec = tmp_path / "score.yaml"
    spec.write_text(
        HEAD.format(name="hello", image="nginx") + "    files:\n      /a:\n        source: a.txt\n", encoding="utf-8"
    )
    code, stderr = _run_cli(["validate", str(spec)], subprocess_=False)
    assert code == 0, stderr
    assert f"{spec}:8: warning: file source 'a.txt' does not exist" in stderr
    assert "ok: 1 workload valid" in stderr


def test_source_outside_workspace_is_allowed_on_request(tmp_path: Path) -> None:
    case = _prepare("file-source-outside-workspace", tmp_path, _expect("file-source-outside-workspace"))
    (w,) = load_workloads([case / "score.yaml"], Options(workspace=case, allow_outside_workspace=True))
    (f,) = w.containers[0].files
    assert f.content is not None and f.content.literal == "not yours\n"


# Valid YAML that plato must read, next to the tab and tag checks above.
VALID = {
    "tab-inside-quoted-string": ('    args: ["a\tb"]\n', None),
    "tab-inside-block-scalar": (
        "    files:\n      /app/Makefile:\n        content: |\n          all:\n          \techo hello\n",
        None,
    ),
    "standard-str-tag": ("    variables:\n      PORT: !!str 8080\n", None),
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[pytest.mark.xfail(strict=True, reason=r)] if r else [], id=n)
        for n, (_, r) in VALID.items()
    ],
)
def test_valid_yaml_is_not_rejected(name: str, tmp_path: Path) -> None:
    spec = tmp_path / "score.yaml"
    spec.write_text(HEAD.format(name="hello", image="nginx") + VALID[name][0], encoding="utf-8")
    (w,) = load_workloads([spec], Options(require_sources=False))
    assert w.name == "hello"
