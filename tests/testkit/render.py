"""`RenderKit`: what a create or check test needs. Renders the score-compose examples and small specs in this
process, copies the bundled rules into a temporary folder and changes them, runs `plato render` through click's
CliRunner.

The shared folder (score-compose examples, CRD schemas) comes from the `shared_dir` fixture of tests/conftest.py,
called in the test's body through RenderKit.shared/example_path/crd_dir: the test fails when PLATO_SHARED names a
folder without the files, and skips when PLATO_SHARED is unset and the default ../shared is absent.
Tests that do not need the shared folder write their own specs and never skip.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from generator.create.render import RenderedTree
from generator.pipeline import Inputs
from testkit.asserts import assert_user_error
from testkit.objects import cd_path, container, docs, env_list, env_var, find, kinds, manifest_path, pod_spec

REPO = Path(__file__).resolve().parents[2]
BUNDLED_RULES = REPO / "rules"
EXAMPLES = ("conformance", "score", "score-compose", "examples")
CRDS = ("schemas", "crds")
IMAGE = "registry.example.com/app:1.0"
CONTEXTS: dict[str, tuple[str, ...]] = {
    "development": ("env=development", "app=demo"),
    "production": ("env=production", "app=demo", "org=acme"),
}
ENVS = tuple(CONTEXTS)

SharedDir = Callable[..., Path]


_EXAMPLE_CACHE: dict[tuple[str, str], RenderedTree] = {}
_ACCEPTED: dict[Path, Path] = {}


def accepted_example(folder: Path) -> Path:
    """The example, or a copy changed only as production requires: images named ':latest' pinned, volumes of the
    class every replica can mount (golden/ keeps the originals and shows why production refuses them)."""
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    changed = {name: _production_ready(data) for name, data in files.items()}
    if changed == files:
        return folder
    if folder not in _ACCEPTED:
        root = Path(tempfile.mkdtemp(prefix="plato-example-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        (root / folder.name).mkdir()
        for name, data in changed.items():
            (root / folder.name / name).write_bytes(data)
        _ACCEPTED[folder] = root / folder.name
    return _ACCEPTED[folder]


_UNTAGGED = re.compile(rb"(?m)^(\s+image:\s*)([A-Za-z0-9._/-]*[A-Za-z0-9_-])[ \t]*$")


def _production_ready(data: bytes) -> bytes:
    data = re.sub(rb":latest\b", b":1.0.0", data)
    # An image with no tag is `latest` too: the bundled image policy denies it in production.
    data = _UNTAGGED.sub(
        lambda m: m.group(0) if b":" in m.group(2).rsplit(b"/", 1)[-1] else m.group(1) + m.group(2) + b":1.0.0", data
    )
    return re.sub(rb"\n( +)type: volume\n", rb"\n\1type: volume\n\1class: shared\n", data)


def production_ready_copy(source: Path, dest: Path) -> Path:
    """A spec file or folder, changed only as production requires (images that are not ':latest', volumes every
    replica can mount: see accepted_example), for tests of other things than those refusals. The files
    beside the specs (file sources) are copied as they are."""
    folder = source if source.is_dir() else source.parent
    copy = dest / folder.name
    copy.mkdir(parents=True)
    for f in sorted(p for p in folder.iterdir() if p.is_file()):
        data = f.read_bytes()
        (copy / f.name).write_bytes(_production_ready(data) if f.suffix in (".yaml", ".yml") else data)
    return copy if source.is_dir() else copy / source.name


def spec_files(folder: Path) -> list[Path]:
    """Every .yaml file of an example folder: together they are one app."""
    files = sorted(folder.glob("*.yaml"))
    assert files, f"{folder}: no .yaml files"
    return files


def render(
    paths: Iterable[Path],
    env: str = "development",
    *,
    rules: Path | None = None,
    image: str | None = IMAGE,
    extra: Sequence[str] = (),
) -> RenderedTree:
    """Render through the pipeline with no environment variables (no GitHub or PLATO_CONTEXT_ keys). The create
    stage only: the admission-policy gate after it (which denies the conformance examples' untagged images in
    production) is tested in tests/check and tests/deploy/test_policy_publish.py."""
    from generator.create.render import render as create

    context = [*CONTEXTS[env], *extra]
    inputs = Inputs.load(list(paths), context=context, image=image, rules_dir=rules, environ={})
    return create(inputs.plan(), inputs.files)


class RenderKit:
    """What a create test needs, bound to its tmp_path and monkeypatch (helpers are reachable from it so that
    test modules never import this conftest by name)."""

    IMAGE = IMAGE
    CONTEXTS = CONTEXTS
    ENVS = ENVS
    EXAMPLES = EXAMPLES
    BUNDLED_RULES = BUNDLED_RULES
    docs = staticmethod(docs)
    find = staticmethod(find)
    kinds = staticmethod(kinds)
    pod_spec = staticmethod(pod_spec)
    container = staticmethod(container)
    env_list = staticmethod(env_list)
    env_var = staticmethod(env_var)
    manifest_path = staticmethod(manifest_path)
    cd_path = staticmethod(cd_path)
    spec_files = staticmethod(spec_files)
    assert_user_error = staticmethod(assert_user_error)

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_dir: SharedDir) -> None:
        self.tmp = tmp_path
        self.monkeypatch = monkeypatch
        self._shared_dir = shared_dir
        self._n = 0
        self.out = tmp_path / "out"  # the folder the last cli_render wrote to

    # -- the shared folder (called in a test's body: a missing folder fails or skips the test, never its setup) --

    def shared(self, *parts: str) -> Path:
        return self._shared_dir(*parts)

    def example_path(self, example: str | None) -> Path:
        """The folder of one score-compose example (`example` is the parametrised name), as production accepts
        it (see accepted_example), so that every example renders in both environments."""
        root = self.shared(*EXAMPLES)
        if example is None:
            pytest.fail(f"no example folders with .yaml files under {root}", pytrace=False)
        return accepted_example(self.shared(*EXAMPLES, example))

    def crd_dir(self) -> Path:
        return self.shared(*CRDS)

    # -- inputs -------------------------------------------------------------------------------------------------

    def spec(self, text: str, name: str = "score.yaml", folder: str = "specs") -> Path:
        """Write a workload spec (dedented) into the test's tmp folder."""
        path = self.tmp / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def resource_spec(
        self, type_: str = "redis", output: str = "host", params: str = "", name: str = "score.yaml"
    ) -> Path:
        """A workload `web` with one resource `thing` of `type_` whose `output` a variable reads; `params` is YAML
        text for the resource's own fields (e.g. "params:\n  size: 3")."""
        text = (
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx:1.27\n"
            f"    variables:\n      VALUE: ${{resources.thing.{output}}}\nresources:\n  thing:\n    type: {type_}\n"
            + textwrap.indent(params, "    ")
        )
        return self.spec(text, name)

    def rules(
        self,
        extra: Mapping[str, str] | None = None,
        edit: Mapping[tuple[str, str], Callable[[dict[str, Any]], None]] | None = None,
    ) -> Path:
        """A copy of the bundled rules with extra files added and rules edited as data:
        `edit={("Environment", "development"): fn}` calls fn(document) on that rule (which must exist)."""
        self._n += 1
        folder = self.tmp / f"rules-{self._n}"
        shutil.copytree(BUNDLED_RULES, folder)
        todo = dict(edit or {})
        for path in sorted(folder.glob("*.yaml")):
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
            hits = [d for d in documents if isinstance(d, dict) and (d.get("kind"), d.get("name")) in todo]
            for d in hits:
                todo.pop((d["kind"], d["name"]))(d)
            if hits:
                path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
        assert not todo, f"no such rules in {BUNDLED_RULES}: {sorted(todo)}"
        for name, text in (extra or {}).items():
            (folder / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return folder

    # -- rendering ----------------------------------------------------------------------------------------------

    def render(
        self,
        paths: Path | Iterable[Path],
        env: str = "development",
        *,
        rules: Path | None = None,
        image: str | None = IMAGE,
        extra: Sequence[str] = (),
    ) -> RenderedTree:
        return render([paths] if isinstance(paths, Path) else paths, env, rules=rules, image=image, extra=extra)

    def example(self, folder: Path, env: str) -> RenderedTree:
        """An example rendered with the bundled rules, once per session (trees are not modified by tests)."""
        key = (str(folder), env)
        if key not in _EXAMPLE_CACHE:
            _EXAMPLE_CACHE[key] = render(spec_files(folder), env)
        return _EXAMPLE_CACHE[key]

    def manifest(self, tree: RenderedTree) -> list[dict[str, Any]]:
        return docs(tree.files[manifest_path(tree)])

    # -- the command line ---------------------------------------------------------------------------------------

    def cli(self, *args: str | Path) -> Result:
        """`plato <args>` in-process, with no GitHub, PLATO_CONTEXT_ or PLATO_DEBUG variables around."""
        from generator.cli import main

        for key in list(os.environ):
            if key.startswith(("GITHUB_", "PLATO_CONTEXT_")) or key == "PLATO_DEBUG":
                self.monkeypatch.delenv(key)
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)

    def cli_render(
        self, paths: Path | Iterable[Path], env: str = "development", *more: str, rules: Path | None = None
    ) -> Result:
        self._n += 1
        files = [paths] if isinstance(paths, Path) else list(paths)
        ctx = [a for kv in CONTEXTS[env] for a in ("-c", kv)]
        extra = ["--rules", str(rules)] if rules else []
        self.out = self.tmp / f"out-{self._n}"
        return self.cli("render", *files, *ctx, *extra, *more, "-o", self.out)
