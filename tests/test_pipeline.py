"""The one composition of the stages (generator/pipeline.py): Inputs.load, plan and render on a tiny spec and a
rules folder built with testkit.build, the admission-policy point after create, and inputs read back from a
record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from testkit.build import dump, env_rule, resource_rule, score, yaml_text
from testkit.git import git
from testkit.objects import container, docs, env_var, find

from generator.check.admission import repo_path
from generator.errors import Errors, UserError
from generator.match.rules import load_rules
from generator.pipeline import Inputs, inputs_from_record

CONTEXT = ["env=development", "app=shop"]


def _deny_nginx(action: str = "Deny") -> list[dict[str, Any]]:
    """A policy and its binding: no Deployment runs an nginx image (the spec's)."""
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "no-nginx"},
            "spec": {
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["apps"],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["deployments"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "object.spec.template.spec.containers.all(c, !c.image.startsWith('nginx:'))",
                        "message": "no nginx images",
                    }
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "no-nginx"},
            "spec": {"policyName": "no-nginx", "validationActions": [action]},
        },
    ]


def _project(tmp_path: Path, *extra: dict[str, Any], redis: bool = True) -> tuple[Path, Path]:
    """A source repository (a git work tree) with services/web/score.yaml, and a rules folder."""
    src = tmp_path / "src"
    git("init", "-q", "-b", "main", str(src))
    spec = src / "services" / "web" / "score.yaml"
    spec.parent.mkdir(parents=True)
    resources = {"cache": {"type": "redis"}} if redis else None
    variables = {"HOST": "${resources.cache.host}"} if redis else None
    spec.write_text(dump(score("web", resources, variables, image="nginx:1.27")), encoding="utf-8")
    rules = tmp_path / "rules"
    rules.mkdir()
    docs = [env_rule(), resource_rule("redis-dev", "redis", {"outputs": {"host": "{{ resource.name }}.cache"}})]
    (rules / "10-rules.yaml").write_text(yaml_text([*docs, *extra]), encoding="utf-8")
    return spec, rules


def test_load_builds_the_context_and_names_files_as_their_workspace_does(tmp_path: Path, monkeypatch) -> None:
    spec, rules = _project(tmp_path)
    monkeypatch.chdir(tmp_path)  # the files are named the same from anywhere
    inputs = Inputs.load([spec.parent.parent], context=CONTEXT, image="ghcr.io/acme/web:1.0", rules_dir=rules)
    assert inputs.files == ["services/web/score.yaml"]
    assert [w.name for w in inputs.workloads] == ["web"]
    assert inputs.context["env"] == "development" and inputs.context["image"] == "ghcr.io/acme/web:1.0"
    assert not inputs.annotate
    assert Inputs.load([spec], context=CONTEXT, environ={"GITHUB_ACTIONS": "true"}).annotate
    assert repo_path(str(spec)) == "services/web/score.yaml"
    assert repo_path(".plato/inputs/development/shop.json (workload web)") == (
        ".plato/inputs/development/shop.json (workload web)"  # a recorded label is not a file: kept as it is
    )


def test_plan_and_render_use_the_rules_folder(tmp_path: Path) -> None:
    spec, rules = _project(tmp_path)
    inputs = Inputs.load([spec], context=CONTEXT, rules_dir=rules)
    plan = inputs.plan()
    assert plan.bindings == {("web", "cache"): "web.cache"}
    assert sorted(plan.rules_used()) == ["Environment/development", "Resource/redis-dev"]
    tree = inputs.render()
    assert (tree.env, tree.app) == ("development", "shop")
    deployment = find(docs(tree.files["development/shop/manifest.yaml"]), "Deployment", "web")
    assert env_var(container(deployment, "main"), "HOST") == {"name": "HOST", "value": "web-cache.cache"}
    assert inputs.policy_report is not None and not inputs.policy_report.results  # no policies in this folder


def test_a_rule_set_already_loaded_is_used_instead_of_the_folder(tmp_path: Path) -> None:
    spec, rules = _project(tmp_path)
    other = tmp_path / "other-rules"
    other.mkdir()
    (other / "10.yaml").write_text(yaml_text([env_rule(), resource_rule("redis-other", "redis")]), encoding="utf-8")
    inputs = Inputs.load([spec], context=CONTEXT, rules_dir=rules)
    preloaded = load_rules(other)
    assert "Resource/redis-other" in inputs.plan(rules=preloaded).rules_used()
    assert "Resource/redis-other" in inputs.render(rules=preloaded).plan.rules_used()
    assert "Resource/redis-dev" in inputs.plan().rules_used()


def test_a_plan_with_errors_reports_them_together_or_partially_for_explain(tmp_path: Path) -> None:
    spec, rules = _project(tmp_path)
    text = spec.read_text().replace("type: redis", "type: postgres")  # no rule for it, nor for kafka below
    spec.write_text(text + "  queue:\n    type: kafka\n")
    inputs = Inputs.load([spec], context=CONTEXT, rules_dir=rules)
    with pytest.raises(Errors) as caught:
        inputs.plan()
    assert [e.file for e in caught.value.errors] == [str(spec), str(spec)]
    assert "postgres" in caught.value.errors[0].message and "kafka" in caught.value.errors[1].message
    partial = inputs.plan(partial=True)  # explain: what did match, with the same errors
    assert [e.message for e in partial.errors] == [e.message for e in caught.value.errors]


def test_a_denying_admission_policy_stops_the_render_at_the_spec(tmp_path: Path) -> None:
    spec, rules = _project(tmp_path, *_deny_nginx())
    inputs = Inputs.load([spec], context=CONTEXT, rules_dir=rules)
    with pytest.raises(UserError) as caught:
        inputs.render()
    assert "no nginx images" in caught.value.message
    assert caught.value.file == str(spec) and caught.value.line is not None  # the Score line, not the policy's
    assert "no-nginx" in (caught.value.hint or "")
    report = inputs.policy_results()  # check and explain: every result, without stopping
    assert [r.policy.name for r in report.denials] == ["no-nginx"]


def test_a_warning_policy_is_printed_unless_quiet_and_as_an_annotation_in_github_actions(tmp_path, capsys) -> None:
    spec, rules = _project(tmp_path, *_deny_nginx("Warn"))
    Inputs.load([spec], context=CONTEXT, rules_dir=rules).render()
    assert "no nginx images" in capsys.readouterr().err
    Inputs.load([spec], context=CONTEXT, rules_dir=rules).render(quiet=True)
    assert capsys.readouterr().err == ""
    Inputs.load([spec], context=CONTEXT, rules_dir=rules, environ={"GITHUB_ACTIONS": "true"}).render()
    err = capsys.readouterr().err
    assert "::warning file=services/web/score.yaml," in err  # the path as the repository names it


def test_a_secret_in_the_rendered_objects_is_refused_before_the_policies(tmp_path: Path) -> None:
    spec, rules = _project(tmp_path, *_deny_nginx(), redis=False)
    spec.write_text(spec.read_text() + "    variables:\n      API_TOKEN: ghp_" + "a1B2" * 9 + "\n")
    with pytest.raises(UserError) as caught:
        Inputs.load([spec], context=CONTEXT, rules_dir=rules).render()
    # The secret guard, at the spec's line, before the policy (which would deny this nginx image) ran.
    assert "variable API_TOKEN of container 'main' contains a GitHub Token" in caught.value.message
    assert caught.value.file == str(spec) and caught.value.line is not None
    assert "ghp_a1B2" not in caught.value.render()


def test_inputs_from_a_record_sort_workloads_and_refuse_an_incomplete_record(tmp_path: Path) -> None:
    record = {
        "context": {"env": "development", "app": "shop"},
        "files": ["b.yaml", "a.yaml"],
        "workloads": [score("zeta", image="nginx:1.27"), score("alpha", image="nginx:1.27")],
    }
    inputs = inputs_from_record(record, "rec.json", tmp_path)
    assert [w.name for w in inputs.workloads] == ["alpha", "zeta"] and inputs.files == ["b.yaml", "a.yaml"]
    assert inputs.rules_dir == tmp_path
    for broken in ({**record, "workloads": [{"containers": {}}]}, {k: v for k, v in record.items() if k != "context"}):
        with pytest.raises(UserError, match="recorded inputs are incomplete") as caught:
            inputs_from_record(broken, ".plato/inputs/development/shop.json", None)
        assert caught.value.file == ".plato/inputs/development/shop.json"
    with pytest.raises(UserError) as caught:
        inputs_from_record({**record, "context": {"env": "development", "app": "Shop Two!"}}, "rec.json", None)
    assert caught.value.render().startswith("rec.json")
