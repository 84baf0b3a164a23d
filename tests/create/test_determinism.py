"""The same inputs give the same bytes: run to run, process to process, whatever order the files come in and
wherever plato runs from. Output is plain: LF line ends, one final newline, no YAML anchors, YAML 1.1 look-alike
strings quoted, objects in apply order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from generator.create.render import RenderedTree

if TYPE_CHECKING:
    from testkit.render import RenderKit

REPO = Path(__file__).resolve().parents[2]

FEATURES = """
apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    example.com/team: payments
containers:
  main:
    image: .
    variables:
      REDIS_URL: "redis://${resources.cache.username}:${resources.cache.password}@${resources.cache.host}"
      GREETING: "hello $(NAME) $$HOME"
    files:
      /etc/app/app.conf:
        content: |
          name=${metadata.name}
          port=${resources.cache.port}
      /etc/app/logo.bin:
        binaryContent: aGVsbG8gd29ybGQ=
        mode: "0600"
    volumes:
      /data:
        source: ${resources.data}
  sidecar:
    image: envoyproxy/envoy:v1.31.0
    before:
      main: {ready: started}
service:
  ports:
    http:
      port: 80
      targetPort: 8080
resources:
  cache:
    type: redis
  data:
    type: volume
    class: shared
  route:
    type: route
    params:
      host: ${resources.dns.host}
      port: http
  dns:
    type: dns
"""

WORKER = """
apiVersion: score.dev/v1b1
metadata:
  name: worker
containers:
  main:
    image: busybox:1.36
    variables:
      WEB: ${resources.web.hostname}
resources:
  web:
    type: service-port
    params:
      workload: web
      port: http
"""

LOOKALIKES = {
    "V_YES": "yes",
    "V_ON": "on",
    "V_OFF": "off",
    "V_NO": "NO",
    "V_TRUE": "true",
    "V_NULL": "null",
    "V_TILDE": "~",
    "V_MODE": "0755",
    "V_HEX": "0x1F",
    "V_UNDERSCORE": "1_000",
    "V_SEXAGESIMAL": "12:30",
    "V_DATE": "2024-01-01",
    "V_INF": ".inf",
    "V_FLOAT": "1.5",
    "V_Y": "y",
    "V_EXP": "1e3",
    "V_EMPTY": "",
    "V_COLON": "a: b",
    "V_HASH": "#not a comment",
    "V_STAR": "*alias",
}
# YAML 1.1 reads y/Y/n/N as booleans; YAML 1.2 and Go's yaml (sigs.k8s.io/yaml, kubectl, Argo CD) read 1e3 as a
# number. PyYAML's resolver knows neither: plato's emitter quotes them itself.


def two_file_app(kit: RenderKit) -> list[Path]:
    return [kit.spec(FEATURES, "web.yaml"), kit.spec(WORKER, "worker.yaml")]


def assert_same(a: RenderedTree, b: RenderedTree, skip: tuple[str, ...] = ()) -> None:
    assert sorted(a.files) == sorted(b.files)
    differ = [p for p in a.files if a.files[p] != b.files[p] and not p.endswith(skip)]
    assert not differ, f"files differ: {differ}"
    assert a.owned == b.owned


# -- the examples -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["development", "production"])
def test_example_renders_twice_to_the_same_bytes(kit: RenderKit, example: str | None, env: str) -> None:
    example_dir = kit.example_path(example)
    files = kit.spec_files(example_dir)
    assert_same(kit.render(files, env), kit.render(files, env))


@pytest.mark.parametrize("env", ["development", "production"])
def test_example_files_in_reverse_order_render_the_same_objects(kit: RenderKit, example: str | None, env: str) -> None:
    example_dir = kit.example_path(example)
    files = kit.spec_files(example_dir)
    # README.md lists the files as given: see test_readme_does_not_depend_on_file_order.
    assert_same(kit.render(files, env), kit.render(files[::-1], env), skip=("README.md",))


@pytest.mark.parametrize("env", ["development", "production"])
def test_example_files_are_plain_text(kit: RenderKit, example: str | None, env: str) -> None:
    example_dir = kit.example_path(example)
    tree = kit.example(example_dir, env)
    for path, data in tree.files.items():
        text = data.decode("utf-8")
        assert "\r" not in text, path
        assert text.endswith("\n") and not text.endswith("\n\n"), f"{path} must end with exactly one newline"
        assert "\t" not in text or path.endswith(".md"), path
        assert not any(line != line.rstrip() for line in text.split("\n")), f"{path}: trailing spaces"


@pytest.mark.parametrize("env", ["development", "production"])
def test_example_yaml_has_no_anchors_or_aliases(kit: RenderKit, example: str | None, env: str) -> None:
    example_dir = kit.example_path(example)
    tree = kit.example(example_dir, env)
    for path in (p for p in tree.files if p.endswith(".yaml")):
        for event in yaml.parse(tree.files[path].decode("utf-8"), Loader=yaml.SafeLoader):
            assert not isinstance(event, yaml.AliasEvent), f"{path}: alias *{event.anchor}"
            assert getattr(event, "anchor", None) is None, f"{path}: anchor &{event.anchor}"


@pytest.mark.parametrize("env", ["development", "production"])
def test_example_manifest_is_in_apply_order(kit: RenderKit, example: str | None, env: str) -> None:
    example_dir = kit.example_path(example)
    tree = kit.example(example_dir, env)
    order = kit.kinds(kit.manifest(tree))
    assert order[0] == "Namespace" and order.count("Namespace") == 1, order

    def before(first: set[str], then: set[str]) -> None:
        a = [i for i, k in enumerate(order) if k in first]
        b = [i for i, k in enumerate(order) if k in then]
        if a and b:
            assert max(a) < min(b), f"{sorted(first)} must all come before {sorted(then)}: {order}"

    pods = {"Deployment", "StatefulSet", "Job"}
    before({"Password"}, {"ExternalSecret"})
    before({"ExternalSecret", "ConfigMap", "PersistentVolumeClaim"}, pods)
    before({"Service"}, {"Deployment", "HTTPRoute"})
    before(pods, {"HorizontalPodAutoscaler", "PodDisruptionBudget", "HTTPRoute"})


# -- self-contained apps ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["development", "production"])
def test_feature_app_is_stable(kit: RenderKit, env: str) -> None:
    files = two_file_app(kit)
    first = kit.render(files, env)
    assert_same(first, kit.render(files, env))
    assert_same(first, kit.render(files[::-1], env), skip=("README.md",))
    objects = kit.manifest(first)
    assert kit.kinds(objects)[0] == "Namespace"
    for path, data in first.files.items():
        text = data.decode("utf-8")
        assert "\r" not in text and text.endswith("\n") and not text.endswith("\n\n"), path


def test_readme_does_not_depend_on_file_order(kit: RenderKit) -> None:
    files = two_file_app(kit)
    assert_same(kit.render(files), kit.render(files[::-1]))


def test_render_does_not_depend_on_the_working_directory(kit: RenderKit, monkeypatch: pytest.MonkeyPatch) -> None:
    files = two_file_app(kit)
    monkeypatch.chdir(kit.tmp)
    here = kit.render(files, "production")
    monkeypatch.chdir(REPO)
    there = kit.render(files, "production")
    monkeypatch.chdir("/")
    root = kit.render(files, "production")
    assert_same(here, there)
    assert_same(here, root)


def test_yaml11_lookalikes_read_back_as_the_same_strings(kit: RenderKit) -> None:
    variables = "".join(f"      {k}: {json.dumps(v)}\n" for k, v in LOOKALIKES.items())
    spec = kit.spec(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx:1.27\n"
        "    variables:\n" + variables
    )
    tree = kit.render(spec)
    main = kit.container(kit.find(kit.manifest(tree), "Deployment", "web"), "main")
    got = {e["name"]: e["value"] for e in kit.env_list(main)}
    assert got == LOOKALIKES


@pytest.mark.parametrize(
    "value",
    ["yes", "on", "0755", "y", "1e3", "true", "null", "12:30"],
)
def test_yaml11_lookalikes_are_quoted(kit: RenderKit, value: str) -> None:
    spec = kit.spec(
        f"""
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx:1.27
            variables:
              LOOKALIKE: "{value}"
        """
    )
    text = kit.render(spec).files["development/demo/manifest.yaml"].decode("utf-8")
    lines = text.split("\n")
    at = lines.index("        - name: LOOKALIKE")
    assert lines[at + 1] in (f"          value: '{value}'", f'          value: "{value}"'), lines[at + 1]


def test_context_value_cannot_put_a_carriage_return_in_the_tree(kit: RenderKit) -> None:
    from generator.errors import UserError

    files = two_file_app(kit)
    try:
        tree = kit.render(files, extra=["ticket=a\rb"])
    except UserError:
        return
    assert not [p for p, data in tree.files.items() if b"\r" in data]


COLLIDING = {
    # Workload "ab" resource "cd-ef" and workload "ab-cd" resource "ef" both want the name ab-cd-ef.
    "ab.yaml": """
        apiVersion: score.dev/v1b1
        metadata:
          name: ab
        containers:
          main:
            image: nginx:1.27
            variables:
              H: ${resources.cd-ef.host}
        resources:
          cd-ef:
            type: redis
        """,
    "ab-cd.yaml": """
        apiVersion: score.dev/v1b1
        metadata:
          name: ab-cd
        containers:
          main:
            image: nginx:1.27
            variables:
              H: ${resources.ef.host}
        resources:
          ef:
            type: redis
        """,
}


def _render_in_process(kit: RenderKit, folder: Path, seed: str, out: Path) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PLATO_"))}
    env["PYTHONHASHSEED"] = seed
    cmd = [sys.executable, "-m", "generator", "render", str(folder), "-c", "env=development", "-c", "app=demo"]
    proc = subprocess.run([*cmd, "-o", str(out)], env=env, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return (out / "development" / "demo" / "manifest.yaml").read_bytes()


def test_colliding_resource_names_are_the_same_in_every_process(kit: RenderKit) -> None:
    """Regression: the suffix that separates colliding names once came from hash(), salted per process."""
    for name, text in COLLIDING.items():
        kit.spec(text, name, folder="colliding")
    folder = kit.tmp / "colliding"
    first = _render_in_process(kit, folder, "1", kit.tmp / "out-a")
    second = _render_in_process(kit, folder, "2", kit.tmp / "out-b")
    assert first == second


def test_a_successful_render_never_parses_a_file_a_second_time_for_positions(monkeypatch, kit: RenderKit) -> None:
    """Line numbers come from a second, round-trip parse of a file (ruamel's pure-Python parser, ~50 ms for the
    bundled rules). Only a message may ask for one: a render that succeeds, in every environment, never does."""
    from generator.read import yamlfile

    calls: list[str] = []
    real = yamlfile._positions_of

    def counting(path: str, text: str) -> dict:
        calls.append(path)
        return real(path, text)

    monkeypatch.setattr(yamlfile, "_positions_of", counting)
    shop = REPO / "examples" / "shop"
    for env in ("development", "production"):
        written = len(kit.render(sorted(shop.glob("*.yaml")), env).files)  # (an assert on the tree would repr it)
        assert written > 0
    # Resources whose rules render manifests (a StatefulSet for redis, minio and rabbitmq in development): the
    # rule's line is looked up for a message about them only (it once was for every render).
    spec = kit.spec(REDIS_MINIO_RABBIT, "cache.score.yaml", folder="with-manifests")
    tree = kit.render([spec], "development")
    assert "kind: StatefulSet" in tree.files[f"{tree.plan.env['paths']['manifests']}/manifest.yaml"].decode()
    assert calls == []


REDIS_MINIO_RABBIT = """
    apiVersion: score.dev/v1b1
    metadata:
      name: worker
    containers:
      worker:
        image: .
        variables:
          REDIS: ${resources.cache.host}
          BUCKET: ${resources.bucket.bucket}
          QUEUE: ${resources.queue.host}
    resources:
      cache:
        type: redis
      bucket:
        type: s3
      queue:
        type: amqp
"""
