"""`plato validate` with a context or --all-envs: rule coverage checked by matching, then a render checked as a
publish checks it (writing nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from testkit.shared import REPO, shared_dir

from generator.cli import main


def _validate(*args: str) -> Any:
    return CliRunner().invoke(main, ["validate", *args], catch_exceptions=False)


@pytest.fixture
def app(project: Any, build: Any) -> Any:
    """An app whose rules lack pieces: a type with no rule, a param the rule refuses, an output it does not
    offer, a required param left out, and a template that reads a context key nobody sets."""
    cache = build.resource_rule(
        "cache",
        "redis",
        {"params": {"size": {"required": True}}, "outputs": {"host": "{{ resource.name }}.{{ team }}"}},
    )
    db = build.resource_rule("db", "postgres", {"params": {"version": {}}, "outputs": {"host": "{{ resource.name }}"}})
    project.write_rules(build.env_rule(), build.prod_env(), cache, db)
    project.write_workload(
        build.workload(
            "api",
            {"db": {"type": "postgres", "params": {"versoin": "16"}}, "queue": {"type": "amqp"}},
            {"DB": "${resources.db.hostname}"},
        )
    )
    project.write_workload(build.workload("worker", {"cache": {"type": "redis"}}))
    return project


def test_every_gap_in_one_run_with_its_place(app: Any) -> None:
    result = _validate("--rules", str(app.rules), "-c", "env=development", *map(str, app.workload_files))
    assert result.exit_code == 2
    out = result.output
    assert "resource 'queue' (amqp) of workload 'api': no Resource rule matches" in out
    api = app.workload_files[0]
    assert f"{api}:" in out


def test_all_envs_matches_every_environment_the_rules_define(project: Any, build: Any) -> None:
    only_dev = build.resource_rule("db", "postgres", env_type="development")
    project.write_rules(build.env_rule(), build.prod_env(), only_dev)
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    result = _validate("--rules", str(project.rules), "--all-envs", *map(str, project.workload_files))
    assert result.exit_code == 2
    assert "ok: env=development app=api: 1 resource matched" in result.output
    assert "env=production" in result.output and "no Resource rule matches" in result.output


def test_all_envs_on_the_bundled_rules_names_the_missing_context_key() -> None:
    shop = str(REPO / "examples" / "shop")
    result = _validate(shop, "--all-envs")
    assert result.exit_code == 2
    assert "plato:rules/50-production.yaml:" in result.output
    assert "needs the context key 'org'" in result.output and "-c org=..." in result.output
    assert _validate(shop, "--all-envs", "-c", "org=acme").exit_code == 0


@pytest.mark.parametrize("env", ["development", "production"])
def test_validate_agrees_with_render_on_every_conformance_file(conformance_file: str, env: str, tmp_path: Path) -> None:
    """validate's answer is render's, exactly: ok where render succeeds, an error where it fails (the pre-merge
    check passed specs that publish then refused: an untagged image in production, a credential, a rule's own
    refusal). Also checks that STAGE_NAMES (the names rule templates get besides context keys) is complete."""
    path = shared_dir("conformance", "score", conformance_file)
    ctx = ["-c", f"env={env}", "-c", "app=x", "-c", "org=acme", "--image", "registry.example.com/x:1.0"]
    checked = _validate(str(path), *ctx)
    rendered = CliRunner().invoke(main, ["render", str(path), *ctx, "-o", str(tmp_path)], catch_exceptions=False)
    assert (checked.exit_code, rendered.exit_code) in ((0, 0), (2, 2)), (checked.output, rendered.output)


def test_validate_refuses_what_only_the_rendered_objects_show(project: Any, build: Any) -> None:
    """An untagged image passes matching; the production policy refuses the Deployment rendered from it."""
    project.write_workload(build.workload("api", {}))  # image: nginx, no tag
    result = _validate("--all-envs", "-c", "org=acme", *map(str, project.workload_files))
    assert result.exit_code == 2, result.output
    assert "ok: env=development" in result.output
    assert "plato-immutable-image-tags" in result.output


def test_a_credential_in_a_spec_fails_validate_with_no_context(tmp_path: Path) -> None:
    spec = tmp_path / "score.yaml"
    token = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
    spec.write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx:1.27\n"
        f"    variables:\n      GH: {token}\n",
        encoding="utf-8",
    )
    result = _validate(str(spec))
    assert result.exit_code == 2 and f"{spec}:8:" in result.output and token not in result.output, result.output


def test_every_gap_in_one_run_sorted(app: Any) -> None:
    """Validate reports everything matching finds, at once, sorted by file and line."""
    result = _validate("--rules", str(app.rules), "-c", "env=development", *map(str, app.workload_files))
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    expected = [
        "param 'versoin' is not accepted",
        "no Resource rule matches",  # queue (amqp)
        "has no output 'hostname'",
        "requires param 'size'",  # worker's cache
        "needs the context key 'team'",
    ]
    for text in expected:
        assert sum(text in e for e in errors) == 1, (text, errors)
    places = [
        (e.split(": error: ")[0].rsplit(":", 1)[0], int(e.split(": error: ")[0].rsplit(":", 1)[1])) for e in errors
    ]
    assert places == sorted(places)


def test_five_resources_of_three_workloads_lacking_rules_in_one_run(project: Any, build: Any) -> None:
    project.write_rules(build.env_rule(), build.resource_rule("db", "postgres"))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}, "queue": {"type": "amqp"}}))
    project.write_workload(build.workload("web", {"svc": {"type": "service"}, "cdn": {"type": "cdn"}}))
    project.write_workload(build.workload("worker", {"llm": {"type": "llm-model"}, "hpa": {"type": "hpa"}}))
    for command in (["render", "-o", str(project.root / "out")], ["validate"]):
        args = [*command, "--rules", str(project.rules), "-c", "env=development", "-c", "app=demo"]
        result = _validate_cmd(*args, *map(str, project.workload_files))
        assert result.exit_code == 2, result.output
        errors = [line for line in result.output.splitlines() if ": error: " in line]
        assert len(errors) == 5, result.output
        assert all("no Resource rule matches" in e for e in errors)
        shown = [e.split(" (")[0].split("resource '")[1] for e in errors]
        assert shown == ["queue'", "svc'", "cdn'", "llm'", "hpa'"], shown  # by file (api, web, worker), then line


def _validate_cmd(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)
