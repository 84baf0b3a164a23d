"""Hostile input through the commands that write: `plato render -o DIR` and `plato publish --repo`.

Every case must exit 2 with ONE clear message naming the file (and the line where there is one), print no
traceback, and write nothing: the output folder of `render` and the deployment repository stay byte-identical,
a missing repository path is not created, and no private clone is left behind. tests/corpus/bad covers many of
these for `plato validate`; here they go through the commands that would write.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ANY = -1  # some line of the file, where the parser happened to stop (an alias bomb, deep nesting)

HEAD = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n"
CONTAINER = "containers:\n  web:\n    image: .\n"


def _bomb() -> str:
    lines = ['  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return HEAD + "\n".join(lines) + "\n" + CONTAINER


def _deep_block() -> str:
    lines, indent = [], "  "
    for i in range(100):
        lines.append(f"{indent}k{i}:")
        indent += "  "
    return HEAD + "\n".join(lines) + f"\n{indent}leaf: 1\n" + CONTAINER


def _deep_flow() -> str:
    return HEAD + "  x: " + "[" * 100 + "]" * 100 + "\n" + CONTAINER


def _two_mib() -> str:
    return HEAD + CONTAINER + ("# " + "x" * 98 + "\n") * (21 * 1024)


def _long_string() -> str:
    return HEAD + CONTAINER + "    variables:\n      BIG: " + "a" * (300 * 1024) + "\n"


@dataclass(frozen=True)
class Case:
    make: Callable[[], str | bytes]
    line: int | None  # None: the message has no line (the whole file is refused); ANY: some line
    says: str


WORKLOAD_CASES = {
    "yaml-bomb": Case(_bomb, ANY, "alias bomb"),
    "100-levels-block": Case(_deep_block, ANY, "nested"),
    "100-levels-flow": Case(_deep_flow, 4, "nested deeper than 64"),
    "2-mib-file": Case(_two_mib, None, "over the limit of 1048576"),
    "300-kib-string": Case(_long_string, 8, "over the limit of 262144"),
    "duplicate-key": Case(lambda: HEAD + CONTAINER + "  web:\n    image: nginx\n", 7, "duplicate key"),
    "non-utf8": Case(lambda: (HEAD + CONTAINER).encode().replace(b"image: .", b"image: \xff."), 6, "UTF-8"),
    "python-tag": Case(
        lambda: HEAD + "  x: !!python/object/apply:os.system ['touch CANARY']\n" + CONTAINER,
        4,
        "'!!python/object/apply:os.system' is not allowed",
    ),
    "custom-tag": Case(lambda: HEAD + "  x: !foo bar\n" + CONTAINER, 4, "'!foo' is not allowed"),
    "name-upper-case": Case(lambda: HEAD.replace("name: web", "name: Web") + CONTAINER, 3, "'Web' is not valid"),
    "name-64-chars": Case(lambda: HEAD.replace("name: web", "name: " + "a" * 64) + CONTAINER, 3, "too long"),
    "resource-name-dotdot": Case(
        lambda: HEAD + CONTAINER + "resources:\n  a..b:\n    type: postgres\n", 7, "'a..b' is not valid"
    ),
}

RULE_CASES = {
    "yaml-bomb": Case(
        lambda: (
            "apiVersion: plato.dev/v1\nkind: Profile\nname: bomb\nmatch:\n  env: nowhere\nspec:\n  labels:\n"
            + "\n".join("  " + line for line in _bomb().splitlines()[3:12])
        ),
        ANY,
        "alias bomb",
    ),
    "python-tag": Case(
        lambda: (
            "apiVersion: plato.dev/v1\nkind: Profile\nname: tagged\nmatch:\n  env: nowhere\nspec:\n"
            "  replicas: !!python/object/apply:os.system ['touch CANARY']\n"
        ),
        7,
        "'!!python/object/apply:os.system' is not allowed",
    ),
    "custom-tag": Case(
        lambda: (
            "apiVersion: plato.dev/v1\nkind: Profile\nname: tagged\nmatch:\n  env: nowhere\nspec:\n  replicas: !foo 3\n"
        ),
        7,
        "'!foo' is not allowed",
    ),
    "duplicate-key": Case(
        lambda: (
            "apiVersion: plato.dev/v1\nkind: Profile\nname: dup\nmatch:\n  env: nowhere\n  env: other\n"
            "spec:\n  replicas: 1\n"
        ),
        6,
        "duplicate key",
    ),
    "non-utf8": Case(
        lambda: (
            b"apiVersion: plato.dev/v1\nkind: Profile\nname: u\nmatch:\n  env: nowhere\nspec:\n"
            b'  labels:\n    a: "\xff"\n'
        ),
        8,
        "UTF-8",
    ),
    "deep-flow": Case(
        lambda: (
            "apiVersion: plato.dev/v1\nkind: Profile\nname: deep\nmatch:\n  env: nowhere\nspec:\n"
            "  labels: " + "[" * 100 + "]" * 100 + "\n"
        ),
        7,
        "nested deeper than 64",
    ),
}


# Also published to a repository path that does not exist yet (publish creates it when all went well).
MISSING = {"yaml-bomb", "python-tag", "2-mib-file"}


def _refused_everywhere(
    kit, argv_for: Callable[[str], list[str]], shown: str, case: Case, missing_repo: bool = False
) -> None:
    """render into a folder that already holds a file, publish to a repository with history (and, if asked, to
    a missing repository path): each refused the same way, none writes anything."""
    out = kit.tmp / "out"
    kit.write("out/keep.txt", "kept\n")
    remote = kit.bare()
    remote.commit({"other/keep.txt": "kept\n"}, workdir=kit.tmp / "seed")
    before_out, before_remote = kit.snapshot(out), remote.snapshot()
    missing = kit.tmp / "missing.git"

    argvs = {
        "render": [*argv_for("render"), "-o", "out"],
        "publish": [*argv_for("publish"), "--repo", str(remote.path)],
    }
    if missing_repo:
        argvs["publish-missing"] = [*argv_for("publish"), "--repo", "missing.git"]
    with ThreadPoolExecutor(len(argvs)) as pool:  # independent runs: overlap them on a small machine
        runs = dict(zip(argvs, pool.map(kit.run, argvs.values()), strict=True))

    for what, run in runs.items():
        line = None if case.line in (None, ANY) else case.line
        err = kit.assert_refused(run, 2, names=[shown], line=line, says=[case.says])
        if case.line == ANY:
            assert err.startswith(f"{shown}:") and err[len(shown) + 1].isdigit(), f"{what}: no line in {err!r}"
        elif case.line is None:
            assert err.startswith(f"{shown}: error:"), f"{what}: {err!r}"
    assert kit.snapshot(out) == before_out
    assert remote.snapshot() == before_remote
    assert not missing.exists()
    assert kit.leftovers() == []
    assert not (kit.tmp / "CANARY").exists()


@pytest.mark.parametrize("name", sorted(WORKLOAD_CASES))
def test_a_hostile_workload_file_is_refused_and_nothing_is_written(name, kit) -> None:
    case = WORKLOAD_CASES[name]
    kit.workload("app/score.yaml", "")  # the workspace
    content = case.make()
    path = kit.tmp / "app" / "score.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    _refused_everywhere(
        kit, lambda cmd: kit.args(cmd, Path("app/score.yaml")), "app/score.yaml", case, missing_repo=name in MISSING
    )


@pytest.mark.parametrize("name", sorted(RULE_CASES))
def test_a_hostile_rule_file_is_refused_and_nothing_is_written(name, kit) -> None:
    case = RULE_CASES[name]
    kit.workload()
    rules = kit.rules(bundled=True)
    content = case.make()
    bad = rules / "99-hostile.yaml"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")

    _refused_everywhere(
        kit,
        lambda cmd: kit.args(cmd, Path("app/score.yaml"), rules=Path("rules")),
        "rules/99-hostile.yaml",
        case,
        missing_repo=name in MISSING,
    )


@pytest.mark.parametrize(
    "pair",
    ["app=../x", "app=a/b", "env=Prod", "app=" + "a" * 64, "namespace=kube/system"],
)
def test_a_context_value_that_would_become_a_bad_path_or_name_is_refused(pair, kit) -> None:
    kit.workload()
    kit.write("out/keep.txt", "kept\n")
    remote = kit.bare()
    before_out, before_remote = kit.snapshot(kit.tmp / "out"), remote.snapshot()
    key, _, value = pair.partition("=")

    argvs = [
        [*kit.args(cmd, Path("app/score.yaml"), context={key: value}), *extra]
        for cmd, extra in (("render", ["-o", "out"]), ("publish", ["--repo", str(remote.path)]))
    ]
    with ThreadPoolExecutor(2) as pool:
        for run in pool.map(kit.run, argvs):
            kit.assert_refused(run, 2, names=["--context"], says=[f"context {key}=", "is not a valid name"])
    assert kit.snapshot(kit.tmp / "out") == before_out
    assert remote.snapshot() == before_remote
    assert not (kit.tmp / "x").exists() and not (kit.tmp / "a").exists()


def test_a_bad_name_from_the_environment_layer_is_refused_too(kit) -> None:
    kit.workload()
    run = kit.run(
        ["render", "app/score.yaml", "-c", "env=development", "--image", "x:1", "-o", "out"],
        env={"PLATO_CONTEXT_APP": "../../etc"},
    )

    kit.assert_refused(run, 2, names=["--context"], says=["is not a valid name"])
    assert not (kit.tmp / "out").exists()


def test_a_bad_name_derived_by_a_context_rule_is_refused_naming_the_rule(kit) -> None:
    kit.workload()
    rules = kit.rules(
        kit.env_rule(env="*"),
        {
            "apiVersion": "plato.dev/v1",
            "kind": "Context",
            "name": "escape",
            "match": {"git_ref": "refs/heads/main"},
            "spec": {"set": {"env": "../../escape"}},
        },
    )
    run = kit.run(
        ["render", "app/score.yaml", "-c", "app=web", "-c", "git_ref=refs/heads/main", "--rules", rules, "-o", "out"]
    )

    kit.assert_refused(run, 2, names=["50-test.yaml"], says=["is not a valid name"])
    assert not (kit.tmp / "out").exists()
    assert not (kit.tmp.parent / "escape").exists()


def _symlinked_source(kit) -> Path:
    """A workspace (a folder with .git) whose spec reads a file through a symlink pointing outside it."""
    outside = kit.write("outside/data.txt", "OUTSIDE-THE-WORKSPACE\n")
    spec = kit.workload("ws/score.yaml", kit.score(files={"/etc/data.txt": {"source": "link.txt"}}))
    (spec.parent / "link.txt").symlink_to(Path("..") / outside.relative_to(kit.tmp))
    return spec


def test_a_file_source_through_a_symlink_out_of_the_workspace_is_refused(kit) -> None:
    _symlinked_source(kit)
    remote = kit.bare()
    before = remote.snapshot()

    for cmd, extra in (("render", ["-o", "out"]), ("publish", ["--repo", str(remote.path)])):
        run = kit.run([*kit.args(cmd, Path("ws/score.yaml")), *extra])
        kit.assert_refused(
            run,
            2,
            names=["ws/score.yaml"],
            line=9,
            says=["lies outside the workspace", "--allow-outside-workspace"],
            never=["OUTSIDE-THE-WORKSPACE"],
        )
    assert not (kit.tmp / "out").exists()
    assert remote.snapshot() == before


def test_allow_outside_workspace_lets_the_symlinked_source_through(kit) -> None:
    _symlinked_source(kit)

    run = kit.run([*kit.args("render", Path("ws/score.yaml")), "-o", "out", "--allow-outside-workspace"])

    assert run.returncode == 0, run.explain()
    assert "OUTSIDE-THE-WORKSPACE" in (kit.tmp / "out/development/web/manifest.yaml").read_text()


def test_a_context_value_that_is_not_utf8_is_refused(kit) -> None:
    kit.workload()
    run = kit.run([*kit.args("render", Path("app/score.yaml"), context={"team": "a\udcff"}), "-o", "out"])

    kit.assert_refused(run, 2, names=["--context"])
    assert not (kit.tmp / "out").exists()
