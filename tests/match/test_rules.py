"""Rule folders: loading, and every error naming the file and line to fix."""

from __future__ import annotations

import os

import pytest

from generator.errors import Errors, UserError
from generator.match.rules import compile_all, indistinguishable, load_rules


def load_error(project):
    """The first error `plato validate` would report: loading, then compiling every template (a render
    compiles only the templates it uses)."""
    with pytest.raises(UserError) as err:
        errors = compile_all(load_rules(project.rules, full=True))
        if errors:
            raise errors[0]
    return err.value


# --- loading --------------------------------------------------------------------------------------------------


def test_rules_load_from_every_yaml_file_in_the_folder_tree(project, build):
    project.write_rules(build.env_rule(), file="env.yaml")
    project.write_rules(build.resource_rule("pg", "postgres"), file="a.yml")
    (project.rules / "more").mkdir()
    project.write_rules(build.resource_rule("redis", "redis"), file="more/b.yaml")
    (project.rules / "notes.md").write_text("not a rule", encoding="utf-8")
    rs = load_rules(project.rules)
    assert [r.name for r in rs.environments] == ["development"]
    assert sorted(rs.resources) == ["postgres", "redis"]
    assert rs.origin == str(project.rules)
    assert len(rs.digest) == 12


def test_rule_location_is_its_first_line_after_comments(project, build):
    path = project.write_rules(
        build.env_rule(),
        """
        # A comment about the rule.
        # Another one.
        apiVersion: plato.dev/v1
        kind: Resource
        name: pg
        match: {type: postgres}
        spec: {}
        """,
    )
    (pg,) = load_rules(project.rules).for_type("postgres")
    assert (pg.file, pg.line) == (str(path), build.line_of(path, "name: pg") - 2)
    assert pg.where == f"{path}:{pg.line}"


def test_editing_a_rule_file_is_seen_by_the_next_load(project, build):
    path = project.write_rules(build.env_rule(), build.resource_rule("pg", "postgres"))
    first = load_rules(project.rules)
    assert load_rules(project.rules) is first  # cached while nothing changes
    project.write_rules(build.env_rule(), build.resource_rule("pg-renamed", "postgres"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    second = load_rules(project.rules)
    assert [r.name for r in second.for_type("postgres")] == ["pg-renamed"]
    assert second.digest != first.digest


def test_match_values_are_strings_and_lists(project, build):
    project.write_rules(build.env_rule(), build.resource_rule("pg", "postgres", env=["development", "dev"]))
    (pg,) = load_rules(project.rules).for_type("postgres")
    assert pg.match == {"type": ("postgres",), "env": ("development", "dev")}
    assert pg.classes == ("default",)


# --- errors ---------------------------------------------------------------------------------------------------


def test_unknown_kind_suggests_the_closest(project, build):
    path = project.write_rules(
        build.env_rule(),
        """
        apiVersion: plato.dev/v1
        kind: Resourse
        name: pg
        match: {type: postgres}
        spec: {}
        """,
    )
    err = load_error(project)
    assert err.message == "unknown rule kind 'Resourse'"
    assert err.hint and err.hint.startswith("did you mean 'Resource'?")
    assert (err.file, err.line) == (str(path), build.line_of(path, "kind: Resourse"))


def test_unknown_kind_far_from_any_lists_the_kinds(project, build):
    project.write_rules(build.env_rule(), "apiVersion: plato.dev/v1\nkind: Zebra\nname: zz\nspec: {}\n")
    err = load_error(project)
    assert err.hint == "allowed: Context, Dimensions, Environment, Profile, Resource"


def test_unknown_field_in_spec(project, build):
    path = project.write_rules(
        build.env_rule(), build.resource_rule("pg", "postgres", {"outputs": {"host": "h"}, "manifest": "kind: X"})
    )
    err = load_error(project)
    assert err.message == "unknown field 'manifest' in spec"
    assert (err.file, err.line) == (str(path), build.line_of(path, "manifest:"))
    assert err.hint and err.hint.startswith("did you mean 'manifests'?")


def test_unknown_field_in_environment_spec(project, build):
    path = project.write_rules(build.env_rule(namspace="x"))
    err = load_error(project)
    assert err.message == "unknown field 'namspace' in spec"
    assert err.location() == f"{path}:{build.line_of(path, 'namspace:')}:3"
    assert "did you mean 'namespace'?" in (err.hint or "")


def test_unknown_top_level_field(project, build):
    rule = build.resource_rule("pg", "postgres")
    rule["labels"] = {"team": "db"}
    path = project.write_rules(build.env_rule(), rule)
    err = load_error(project)
    assert err.message == "unknown field 'labels' in (top level)"
    assert err.location() == f"{path}:{build.line_of(path, 'labels:')}:1"


def test_wrong_api_version(project, build):
    rule = build.resource_rule("pg", "postgres")
    rule["apiVersion"] = "plato.dev/v2"
    path = project.write_rules(build.env_rule(), rule)
    err = load_error(project)
    assert "'plato.dev/v2' is not allowed" in err.message
    assert err.hint == "use one of: plato.dev/v1"
    assert err.line == build.line_of(path, "plato.dev/v2")


def test_missing_name(project, build):
    rule = build.resource_rule("pg", "postgres")
    del rule["name"]
    project.write_rules(build.env_rule(), rule)
    assert "missing required field 'name'" in load_error(project).message


def test_invalid_rule_name(project, build):
    path = project.write_rules(build.env_rule(), build.resource_rule("Bad_Name", "postgres"))
    err = load_error(project)
    assert "'Bad_Name' is not valid" in err.message
    assert err.line == build.line_of(path, "name: Bad_Name")


def test_a_rule_that_is_not_a_mapping(project, build):
    path = project.write_rules(build.env_rule(), "- apiVersion: plato.dev/v1\n- kind: Resource\n")
    err = load_error(project)
    assert "a rule must be a mapping" in err.message
    assert err.line == build.line_of(path, "- apiVersion")


def test_template_that_does_not_compile_points_into_the_block(project, build):
    path = project.write_rules(
        build.env_rule(),
        """
        apiVersion: plato.dev/v1
        kind: Resource
        name: pg
        match: {type: postgres}
        spec:
          manifests: |
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: {{ resource.name }}
            data:
              broken: {{ resource.name resource.type }}
              fine: {{ resource.type }}
        """,
    )
    err = load_error(project)
    assert err.message.startswith("template does not compile:")
    assert (err.file, err.line) == (str(path), build.line_of(path, "broken:"))
    assert "jinja2 syntax" in (err.hint or "")


def test_template_that_does_not_compile_in_a_single_line_value(project, build):
    path = project.write_rules(
        build.env_rule(), build.resource_rule("pg", "postgres", {"outputs": {"host": "{{ resource.name"}})
    )
    err = load_error(project)
    assert err.message.startswith("template does not compile:")
    assert err.location() == f"{path}:{build.line_of(path, 'host:')}"


def test_template_that_does_not_compile_in_an_environment_rule(project, build):
    path = project.write_rules(build.env_rule(namespace="{% if %}x{% endif %}"))
    err = load_error(project)
    assert err.location() == f"{path}:{build.line_of(path, 'namespace:')}"


def test_template_with_an_undefined_name_fails_when_rendered(project, build):
    path = project.write_rules(build.env_rule(namespace="{{ app }}-{{ tenant }}"))
    project.write_workload(build.workload("api"))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "Environment rule 'development'" in err.value.message and "tenant" in err.value.message
    assert err.value.location() == f"{path}:{build.line_of(path, 'namespace:')}"
    # An unknown name that is no near-miss of a known one is a context key the run lacks: say how to pass it.
    assert "the rules need the context key 'tenant'" in err.value.message
    assert err.value.hint == "pass -c tenant=... (or PLATO_CONTEXT_TENANT=...), or set it in CI"


def test_template_with_a_misspelt_name_lists_the_names(project, build):
    project.write_rules(build.env_rule(namespace="{{ app }}-{{ evn }}"))
    project.write_workload(build.workload("api"))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "'evn' is undefined" in err.value.message
    assert "available names:" in (err.value.hint or "") and "env" in (err.value.hint or "")


def test_duplicate_rule_names_in_one_file(project, build):
    path = project.write_rules(
        build.env_rule(), build.resource_rule("pg", "postgres"), build.resource_rule("pg", "postgres", env="x1")
    )
    err = load_error(project)
    first = build.rule_line(path, "pg")
    second = build.line_of(path, "name: pg", first + 3) - 2
    assert err.message == f"Resource rule name 'pg' is used twice (also at {path}:{first})"
    assert (err.file, err.line) == (str(path), second)


def test_duplicate_rule_names_across_files(project, build):
    project.write_rules(build.env_rule(), file="00-env.yaml")
    a = project.write_rules(build.resource_rule("pg", "postgres"), file="10-a.yaml")
    b = project.write_rules(build.resource_rule("pg", "mysql"), file="20-b.yaml")
    err = load_error(project)
    assert f"is used twice (also at {a}:1)" in err.message
    assert err.location() == f"{b}:1"


def test_the_same_name_in_different_kinds_is_fine(project, build):
    project.write_rules(build.env_rule("pg"), build.resource_rule("pg", "postgres"))
    rs = load_rules(project.rules)
    assert [r.name for r in rs.all_rules()] == ["pg", "pg"]


def test_two_dimensions_documents(project, build):
    path = project.write_rules(build.dimensions("id", "env"), build.env_rule(), build.dimensions("id", "app"))
    err = load_error(project)
    assert err.message == f"more than one Dimensions document (also at {path}:1)"
    assert err.line == build.line_of(path, "kind: Dimensions", 3) - 1


def test_errors_in_several_files_are_all_reported(project, build):
    project.write_rules(build.env_rule(), file="00-env.yaml")
    bad_kind = project.write_rules("apiVersion: plato.dev/v1\nkind: Nope\nname: n1\nspec: {}\n", file="10-a.yaml")
    bad_field = project.write_rules(build.resource_rule("pg", "postgres", {"bogus": 1}), file="20-b.yaml")
    err = load_error(project)
    assert isinstance(err, Errors)
    assert [e.file for e in err.errors] == [str(bad_kind), str(bad_field)]

    result = project.cli("validate", "--rules", str(project.rules))
    assert result.exit_code == 2
    assert f"{bad_kind}:2:1: error: unknown rule kind 'Nope'" in result.output
    assert f"{bad_field}:" in result.output and "unknown field 'bogus' in spec" in result.output


def test_empty_rules_folder(project):
    project.rules.mkdir()
    err = load_error(project)
    assert err.message == "rules folder has no .yaml files"
    assert err.file == str(project.rules)


def test_rules_folder_without_yaml_files(project):
    project.rules.mkdir()
    (project.rules / "README.md").write_text("# rules\n", encoding="utf-8")
    assert load_error(project).message == "rules folder has no .yaml files"


def test_missing_rules_folder(project):
    err = load_error(project)
    assert err.message == "rules folder not found"
    assert "--rules" in (err.hint or "")


def test_rules_path_that_is_a_file(project, build):
    path = project.write_rules(build.env_rule())
    with pytest.raises(UserError, match="must be a folder"):
        load_rules(path)


def test_cli_reports_rule_errors_with_exit_2(project, build):
    path = project.write_rules(build.env_rule(namspace="x"))
    project.write_workload(build.workload("api"))
    result = project.explain()
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:")
    assert "Traceback" not in result.output
    empty = project.root / "empty"
    empty.mkdir()
    result = project.cli("validate", "--rules", str(empty))
    assert result.exit_code == 2
    assert "rules folder has no .yaml files" in result.output


def test_validate_without_arguments_checks_the_bundled_rules(build):
    result = build.run_cli("validate")
    assert result.exit_code == 0, result.output
    assert "are valid" in result.output


def test_bundled_rules_have_no_indistinguishable_pairs():
    assert indistinguishable(load_rules()) == []


# --- found wanting ----------------------------------------------------------------------------------------------


def test_misspelled_top_level_field_is_named(project, build):
    rule = build.resource_rule("pg", "postgres")
    rule["matches"] = rule.pop("match")
    project.write_rules(build.env_rule(), rule)
    assert "'matches'" in load_error(project).message


def test_glob_type_is_rejected_or_matches(project, build):
    path = project.write_rules(build.env_rule(), build.resource_rule("any-pg", "post*"))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    try:
        plan = project.plan()
    except UserError as err:
        assert err.file == str(path), err.render()
    else:
        assert plan.resources["api.db"].rule.name == "any-pg"


def test_indistinguishable_pair_of_multi_type_rules_is_reported_once(project, build):
    project.write_rules(
        build.env_rule(),
        build.resource_rule("one", ["postgres", "mysql"], env="development"),
        build.resource_rule("two", ["postgres", "mysql"], env="development"),
    )
    pairs = [(a.name, b.name) for a, b in indistinguishable(load_rules(project.rules))]
    assert pairs == [("one", "two")]


def test_a_rules_folder_over_its_size_limit_is_refused(project, build, monkeypatch):
    from generator.match import rules

    project.write_rules(build.env_rule())
    (project.rules / "big.yaml").write_text("# " + "x" * 4096 + "\n", encoding="utf-8")
    monkeypatch.setattr(rules, "MAX_RULES_BYTES", 4096)
    with pytest.raises(UserError) as err:
        rules.load_rules(project.rules)
    assert "over the limit of" in err.value.message and err.value.file == str(project.rules)
