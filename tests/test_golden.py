"""Golden files for rendered output: every score-compose example and the example app, in development and
production, the `plato explain` text, and a pull request body.

Each golden file holds its inputs and one output key, `outcome`: the rendered tree (path -> text) or the error a
user would see. Regenerate on purpose with `pytest tests/test_golden.py --update-goldens` and read the diff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from testkit.render import production_ready_copy
from testkit.shared import REPO, shared_dir

from generator.cli import main

GOLDEN = REPO / "golden"


def cases(kind: str) -> list[str]:
    return sorted(p.name for p in (GOLDEN / kind).glob("*.yaml"))


def workload_paths(entries: list[str], tmp: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """Inputs name files in the repository or, as `shared:...`, in the shared folder (never copied here);
    `shared-ready:...` is a copy changed only as production requires (images pinned: production denies
    ':latest' and untagged images), for the catalog's production renders."""
    paths, shown = [], {}
    for entry in entries:
        if entry.startswith("shared-ready:") and tmp is not None:
            rel = entry.removeprefix("shared-ready:")
            real = production_ready_copy(shared_dir(*rel.split("/")), tmp / f"ready-{len(paths)}")
            shown[str(real)] = f"$PLATO_SHARED/{rel} (production-ready copy)"
            paths.append(str(real))
        elif entry.startswith("shared:"):
            rel = entry.removeprefix("shared:")
            real = shared_dir(*rel.split("/"))
            shown[str(real)] = f"$PLATO_SHARED/{rel}"
            paths.append(str(real))
        else:
            paths.append(str(REPO / entry))
            shown[str(REPO / entry)] = entry
    return paths, shown


def run(args: list[str], shown: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    out, err = result.stdout, result.stderr
    for real, name in sorted(shown.items(), key=lambda kv: -len(kv[0])):
        out, err = out.replace(real, name), err.replace(real, name)
    return result.exit_code, out, err


def context_args(g: Any) -> list[str]:
    args = [a for c in g["context"] for a in ("-c", c)]
    if g.get("image"):
        args += ["--image", g["image"]]
    return args


@pytest.mark.parametrize("case", cases("render"))
def test_render(golden: Any, case: str, tmp_path: Path) -> None:
    g = golden.open(f"../golden/render/{case}")
    paths, shown = workload_paths(g["workloads"], tmp_path)
    out = tmp_path / "out"
    code, _, err = run(["render", *paths, *context_args(g), "-o", str(out)], shown)
    if code != 0:
        outcome: Any = {"exit": code, "error": err}
    else:
        files = sorted(p for p in out.rglob("*") if p.is_file())
        outcome = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in files}
    assert outcome == g.out["outcome"]


@pytest.mark.parametrize("case", cases("explain"))
def test_explain(golden: Any, case: str) -> None:
    g = golden.open(f"../golden/explain/{case}")
    paths, shown = workload_paths(g["workloads"])
    code, out, err = run(["explain", *paths, *context_args(g)], shown)
    outcome = out if code == 0 else {"exit": code, "error": err}
    assert outcome == g.out["outcome"]


@pytest.mark.parametrize("case", cases("pr"))
def test_pr_body(golden: Any, case: str, tmp_path: Path) -> None:
    """A pull request body, from a publish in pr mode over a repository holding the previous version."""
    import shutil
    import subprocess

    g = golden.open(f"../golden/pr/{case}")
    app = tmp_path / "shop"
    shutil.copytree(REPO / "examples" / "shop", app)
    repo = tmp_path / "deployments.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    base = [a for c in g["context"] for a in ("-c", c)]
    before, after = g["before"], g["after"]
    code, _, err = run(
        [
            "publish",
            str(app),
            *base,
            *[a for c in before["context"] for a in ("-c", c)],
            "--image",
            before["image"],
            "--repo",
            str(repo),
        ],
        {},
    )
    assert code == 0, err
    for name, text in after.get("append", {}).items():
        with (app / name).open("a", encoding="utf-8") as f:
            f.write(text)
    body = tmp_path / "body.md"
    code, _, err = run(
        [
            "publish",
            str(app),
            *base,
            *[a for c in after["context"] for a in ("-c", c)],
            "--image",
            after["image"],
            "--repo",
            str(repo),
            "--mode",
            "pr",
            "--pr-body",
            str(body),
        ],
        {},
    )
    assert code == 0, err
    assert body.read_text(encoding="utf-8") == g.out["outcome"]
