"""Mistakes found while matching and creating are user errors: `plato render` exits 2 with one message that names
the workload (or resource), the spec and the rule file with its line, and never shows a traceback."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from testkit.render import RenderKit

REDIS_DEV = re.compile(r"rules/40-development\.yaml:\d+")

BROKEN_RULES = """
apiVersion: plato.dev/v1
kind: Resource
name: broken-output
match:
  type: broken-output
spec:
  outputs:
    x: "{{ params.nope.deeper }}"
---
apiVersion: plato.dev/v1
kind: Resource
name: broken-manifest
match:
  type: broken-manifest
spec:
  outputs:
    x: ok
  manifests: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: {{ resource.name }}
    data:
      a: "{{ params.nope.deeper }}"
---
apiVersion: plato.dev/v1
kind: Resource
name: broken-type
match:
  type: broken-type
spec:
  outputs:
    x: "{{ 1 + 'a' }}"
---
apiVersion: plato.dev/v1
kind: Resource
name: broken-yaml
match:
  type: broken-yaml
spec:
  outputs:
    x: ok
  manifests: |
    apiVersion: v1
    kind: ConfigMap
    metadata: [name: {{ resource.name }}
"""


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def document_lines(path: Path, marker: str) -> tuple[int, int]:
    """First and last line of the YAML document holding `marker`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line == marker)
    first = max((i for i in range(at) if lines[i] == "---"), default=-1) + 2
    last = next((i for i in range(at, len(lines)) if lines[i] == "---"), len(lines))
    return first, last


def test_placeholder_to_an_output_the_rule_does_not_give(kit: RenderKit) -> None:
    spec = kit.resource_spec(output="nope")
    out = kit.assert_user_error(
        kit.cli_render(spec),
        f"{spec}:",
        "workload 'web'",
        "${resources.thing.nope}",
        "no output 'nope'",
        "rule 'redis-dev'",
    )
    assert REDIS_DEV.search(out), out
    assert "host" in out and "password" in out  # the outputs it does give


def test_placeholder_error_points_at_the_variable(kit: RenderKit) -> None:
    spec = kit.resource_spec(output="nope")
    kit.assert_user_error(kit.cli_render(spec), f"{spec}:{line_of(spec, 'VALUE:')}")


def test_param_the_rule_does_not_accept(kit: RenderKit) -> None:
    spec = kit.resource_spec(params="params:\n  size: 3\n")
    out = kit.assert_user_error(
        kit.cli_render(spec),
        f"{spec}:{line_of(spec, 'thing:')}",
        "resource 'thing' (redis) of workload 'web'",
        "param 'size' is not accepted by rule 'redis-dev'",
    )
    assert REDIS_DEV.search(out), out


@pytest.mark.parametrize(
    ("type_", "rule", "needles"),
    [
        ("broken-output", "broken-output", ("output 'x'", "has no attribute 'nope'")),
        ("broken-manifest", "broken-manifest", ("has no attribute 'nope'",)),
        ("broken-type", "broken-type", ("TypeError",)),
        ("broken-yaml", "broken-yaml", ("manifests template does not render to valid YAML",)),
    ],
)
def test_rule_template_failing_at_render(kit: RenderKit, type_: str, rule: str, needles: tuple[str, ...]) -> None:
    rules = kit.rules(extra={"60-broken.yaml": BROKEN_RULES})
    out = kit.assert_user_error(
        kit.cli_render(kit.resource_spec(type_, output="x"), rules=rules),
        f"rule '{rule}'",
        "resource 'thing'",
        "workload 'web'",
        *needles,
    )
    where = re.search(r"60-broken\.yaml:(\d+)", out)
    assert where, out
    first, last = document_lines(rules / "60-broken.yaml", f"name: {rule}")
    assert first <= int(where.group(1)) <= last, f"line {where.group(1)} is outside lines {first}-{last}:\n{out}"


def test_image_dot_without_an_image(kit: RenderKit) -> None:
    spec = kit.spec(
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: .
        """
    )
    kit.assert_user_error(
        kit.cli_render(spec),
        f"{spec}:{line_of(spec, 'main:')}",
        "workload 'web', container 'main'",
        "image '.'",
        "--image",
    )
    result = kit.cli_render(spec, "development", "--image", "registry.example.com/web:2.0")
    assert result.exit_code == 0, result.output


UNPINNED_RULES = """
apiVersion: plato.dev/v1
kind: Resource
name: postgres-unpinned
description: More specific than postgres-prod (names the app), with a module that is not pinned.
match:
  type: postgres
  app: demo
  env_type: production
spec:
  outputs:
    host: db.example.com
  terraform:
    modules:
      db:
        source: %s
"""


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ('terraform-aws-modules/rds/aws\n        version: "~> 6.10"', "version '~> 6.10' is a range, not a pin"),
        ("git::https://example.com/modules/rds.git", "is not pinned"),
    ],
)
def test_unpinned_terraform_module(kit: RenderKit, module: str, message: str) -> None:
    rules = kit.rules(extra={"60-unpinned.yaml": UNPINNED_RULES % module})
    out = kit.assert_user_error(
        kit.cli_render(kit.resource_spec("postgres"), "production", rules=rules),
        "rule 'postgres-unpinned'",
        "module 'db'",
        message,
    )
    assert re.search(r"60-unpinned\.yaml:\d+", out), out


def test_volume_source_that_is_not_a_volume(kit: RenderKit) -> None:
    spec = kit.spec(
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx:1.27
            volumes:
              /data:
                source: ${resources.cache}
        resources:
          cache:
            type: redis
        """
    )
    out = kit.assert_user_error(
        kit.cli_render(spec), f"{spec}:", "workload 'web'", "resource 'cache' (redis) is not a volume", "redis-dev"
    )
    assert REDIS_DEV.search(out), out


def test_store_outputs_without_a_secret_store(kit: RenderKit) -> None:
    rules = kit.rules(edit={("Environment", "production"): lambda rule: rule["spec"].pop("secretStore")})
    out = kit.assert_user_error(
        kit.cli_render(kit.resource_spec("redis"), "production", rules=rules),
        "Environment 'production' names none",
        "spec.secretStore",
    )
    assert re.search(r"10-environments\.yaml:\d+", out), out


def test_debug_shows_the_traceback_only_when_asked(kit: RenderKit) -> None:
    spec = kit.resource_spec(output="nope")
    assert "Traceback" not in kit.cli_render(spec).output
    kit.monkeypatch.setenv("PLATO_DEBUG", "1")
    from click.testing import CliRunner

    from generator.cli import main

    result = CliRunner().invoke(
        main, ["render", str(spec), "-c", "env=development", "-c", "app=demo", "-o", str(kit.tmp / "o")]
    )
    assert result.exit_code == 2
    assert "no output 'nope'" in result.output
    assert "Traceback" in result.output


def test_undefined_name_in_manifests_is_reported_at_its_line(kit: RenderKit) -> None:
    rules = kit.rules(extra={"60-broken.yaml": BROKEN_RULES})
    out = kit.assert_user_error(kit.cli_render(kit.resource_spec("broken-manifest", output="x"), rules=rules))
    line = line_of(rules / "60-broken.yaml", 'a: "{{ params.nope.deeper }}"')
    assert f"60-broken.yaml:{line}:" in out
