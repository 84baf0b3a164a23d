"""Choosing one rule: precedence by the dimensions, class, ties, no match, and Context rules."""

from __future__ import annotations

import json

import pytest

from generator.errors import Errors, UserError
from generator.match.rules import DEFAULT_DIMENSIONS, load_rules

# A context in which every default dimension has a value, so a rule may name any of them.
FULL = ("env=development", "app=demo", "region=eu", "org=acme")
VALUES = {"env": "development", "app": "demo", "region": "eu", "org": "acme", "env_type": "development"}


def winner(project, build, *rules, resource=None, context=FULL):
    """Write an Environment rule plus `rules`, one workload with resource `db`, and return the chosen rule."""
    project.write_rules(build.env_rule(), build.prod_env(), *rules)
    project.write_workload(build.workload("api", {"db": resource or {"type": "postgres"}}))
    plan = project.plan(*context)
    return plan.resources[plan.bindings[("api", "db")]].rule.name


def rule(build, name, **match):
    return build.resource_rule(name, "postgres", **match)


# --- precedence ---------------------------------------------------------------------------------------------


def test_id_alone_beats_env_app_and_env_type(project, build):
    by_id = rule(build, "by-id", id="main-db")
    by_context = rule(build, "by-context", env="development", app="demo", env_type="development")
    project.write_rules(build.env_rule(), by_id, by_context)
    project.write_workload(
        build.workload("api", {"shared": {"type": "postgres", "id": "main-db"}, "own": {"type": "postgres"}})
    )
    plan = project.plan()
    chosen = {r: plan.resources[plan.bindings[("api", r)]].rule.name for r in ("shared", "own")}
    assert chosen == {"shared": "by-id", "own": "by-context"}


def test_env_beats_app(project, build):
    chosen = winner(project, build, rule(build, "by-env", env="development"), rule(build, "by-app", app="demo"))
    assert chosen == "by-env"


def test_app_beats_env_type(project, build):
    chosen = winner(project, build, rule(build, "by-app", app="demo"), rule(build, "by-type", env_type="development"))
    assert chosen == "by-app"


@pytest.mark.parametrize("position", range(len(DEFAULT_DIMENSIONS) - 1), ids=DEFAULT_DIMENSIONS[:-1])
def test_each_dimension_beats_all_later_ones_together(project, build, position):
    """Lexicographic, not a count: one earlier dimension outweighs every later one named at once."""
    dim, later = DEFAULT_DIMENSIONS[position], DEFAULT_DIMENSIONS[position + 1 :]
    values = {**VALUES, "id": "main-db"}
    high = rule(build, "high", **{dim: values[dim]})
    low = rule(build, "low", **{d: values[d] for d in later})
    assert winner(project, build, low, high, resource={"type": "postgres", "id": "main-db"}) == "high"


@pytest.mark.parametrize("dim", DEFAULT_DIMENSIONS)
def test_a_rule_without_dimensions_loses_to_any_with_one(project, build, dim):
    values = {**VALUES, "id": "main-db"}
    catch_all = rule(build, "catch-all")
    specific = rule(build, "specific", **{dim: values[dim]})
    assert winner(project, build, catch_all, specific, resource={"type": "postgres", "id": "main-db"}) == "specific"


def test_catch_all_serves_when_nothing_more_specific_matches(project, build):
    chosen = winner(project, build, rule(build, "catch-all"), rule(build, "other-app", app="other"))
    assert chosen == "catch-all"


def test_a_list_criterion_means_any_of(project, build):
    project.write_rules(build.env_rule(), build.prod_env(), rule(build, "some-envs", env=["staging", "development"]))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    plan = project.plan("env=development", "app=demo")
    assert plan.resources["api.db"].rule.name == "some-envs"
    with pytest.raises(UserError) as err:
        project.plan("env=production", "app=demo")
    assert "env is 'production', rule wants one of staging, development" in err.value.message


def test_an_absent_criterion_means_any(project, build):
    project.write_rules(build.env_rule(), build.prod_env(), rule(build, "anywhere"))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    for ctx in (("env=development", "app=demo"), ("env=production", "app=other", "org=acme", "region=us")):
        assert project.plan(*ctx).resources["api.db"].rule.name == "anywhere"


def test_glob_criteria_in_resource_rules(project, build):
    chosen = winner(project, build, rule(build, "dev-star", env="dev*"), rule(build, "catch-all"))
    assert chosen == "dev-star"


def test_a_criterion_on_an_unset_key_does_not_match(project, build):
    project.write_rules(build.env_rule(), rule(build, "eu-only", region="eu"))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    with pytest.raises(UserError) as err:
        project.plan("env=development", "app=demo")
    assert "region is not set, rule wants eu" in err.value.message


def test_custom_dimensions_change_the_order(make_project, build):
    rules = (build.env_rule(), rule(build, "by-env", env="development"), rule(build, "by-app", app="demo"))
    default = make_project("default")
    default.write_rules(*rules)
    default.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    assert default.plan().resources["api.db"].rule.name == "by-env"

    custom = make_project("custom")
    custom.write_rules(build.dimensions("id", "app", "env", "region", "org", "env_type"), *rules)
    custom.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    plan = custom.plan()
    assert plan.rules.dimensions == ("id", "app", "env", "region", "org", "env_type")
    assert plan.resources["api.db"].rule.name == "by-app"


def test_custom_dimensions_declare_new_keys(project, build):
    project.write_rules(
        build.dimensions("id", "team", "env", "app", "env_type"),
        build.env_rule(),
        rule(build, "by-team", team="payments"),
        rule(build, "by-env", env="development", app="demo"),
    )
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    assert project.plan("env=development", "app=demo", "team=payments").resources["api.db"].rule.name == "by-team"
    assert project.plan("env=development", "app=demo", "team=search").resources["api.db"].rule.name == "by-env"


@pytest.mark.parametrize("declared", [None, ("id", "env", "app")], ids=["default", "custom"])
def test_matching_on_an_undeclared_key_is_rejected_at_load(project, build, declared):
    docs = [build.dimensions(*declared)] if declared else []
    path = project.write_rules(*docs, build.env_rule(), rule(build, "by-team", team="payments"))
    with pytest.raises(UserError) as err:
        load_rules(project.rules)
    assert err.value.file == str(path)
    assert err.value.line == build.rule_line(path, "by-team")
    assert "'by-team' matches on team, which is not a dimension" in err.value.message
    assert "Dimensions" in (err.value.hint or "")


def test_id_is_not_a_criterion_of_environment_rules(project, build):
    env = build.env_rule()
    env["match"]["id"] = "x1"
    path = project.write_rules(env)
    with pytest.raises(UserError) as err:
        load_rules(project.rules)
    assert "matches on id" in err.value.message
    assert err.value.location() == f"{path}:1"


# --- class ----------------------------------------------------------------------------------------------------


def test_a_resource_without_class_has_class_default(project, build):
    project.write_rules(build.env_rule(), rule(build, "explicit-default", class_="default"))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    node = project.plan().resources["api.db"]
    assert (node.class_, node.rule.name) == ("default", "explicit-default")


def test_a_rule_without_class_serves_only_class_default(project, build):
    project.write_rules(build.env_rule(), rule(build, "plain"))
    spec = project.write_workload(build.workload("api", {"db": {"type": "postgres", "class": "large"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "no Resource rule matches class 'large'" in err.value.message
    assert "class=large" in err.value.message
    assert err.value.message.endswith("the classes of postgres served here are default")
    assert err.value.file == str(spec)


def test_a_class_rule_serves_only_its_class(project, build):
    project.write_rules(build.env_rule(), rule(build, "plain"), rule(build, "big", class_="large"))
    project.write_workload(
        build.workload("api", {"small": {"type": "postgres"}, "huge": {"type": "postgres", "class": "large"}})
    )
    plan = project.plan()
    assert plan.resources["api.small"].rule.name == "plain"
    assert plan.resources["api.huge"].rule.name == "big"


def test_only_a_class_rule_does_not_serve_class_default(project, build):
    project.write_rules(build.env_rule(), rule(build, "big", class_="large"))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert err.value.message.endswith(
        "no Resource rule matches class 'default' (app=demo, env=development, "
        "env_type=development, type=postgres, class=default); the classes of postgres served here are large"
    )


def test_no_rule_for_a_class_is_a_no_match_error(project, build):
    project.write_rules(build.env_rule(), rule(build, "plain"), rule(build, "small", class_="small"))
    project.write_workload(build.workload("api", {"db": {"type": "postgres", "class": "large"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    msg = err.value.message
    assert "resource 'db' (postgres) of workload 'api': no Resource rule matches class 'large'" in msg
    assert msg.endswith("the classes of postgres served here are default, small")  # default first, then by name


def test_class_is_a_filter_not_a_dimension(project, build):
    """Naming the class does not make a rule more specific: same dimensions, both serve default -> a tie."""
    project.write_rules(build.env_rule(), rule(build, "plain"), rule(build, "classy", class_=["default", "large"]))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    with pytest.raises(UserError, match="match equally"):
        project.plan()


# --- ties -----------------------------------------------------------------------------------------------------


def test_equal_vectors_among_matching_rules_are_an_error_naming_both(project, build):
    path = project.write_rules(
        build.env_rule(), rule(build, "first", env="development"), rule(build, "second", env=["development", "dev"])
    )
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    msg = err.value.message
    assert f"'first' ({path}:{build.rule_line(path, 'first')})" in msg
    assert f"'second' ({path}:{build.rule_line(path, 'second')})" in msg
    assert "match equally" in msg and "both name env" in msg
    assert "resource 'db' (postgres) of workload 'api'" in msg


def test_tie_across_files_names_both_files(project, build):
    project.write_rules(build.env_rule(), file="00-env.yaml")
    a = project.write_rules(rule(build, "team-a", app="demo"), file="10-a.yaml")
    b = project.write_rules(rule(build, "team-b", app=["demo", "other"]), file="20-b.yaml")
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert f"'team-a' ({a}:1)" in err.value.message
    assert f"'team-b' ({b}:1)" in err.value.message


def test_tie_between_environment_rules(project, build):
    project.write_rules(build.env_rule("dev-a"), build.env_rule("dev-b", env=["development", "dev"]))
    project.write_workload(build.workload("api"))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "environment for env=development app=demo" in err.value.message
    assert "'dev-a'" in err.value.message and "'dev-b'" in err.value.message


def test_a_more_specific_rule_settles_a_tie_below_it(project, build):
    chosen = winner(
        project,
        build,
        rule(build, "first", env="development"),
        rule(build, "second", env="development"),
        rule(build, "by-id", id="main-db"),
        resource={"type": "postgres", "id": "main-db"},
    )
    assert chosen == "by-id"


def test_same_vector_with_disjoint_values_is_no_tie(project, build):
    project.write_rules(
        build.env_rule(),
        build.prod_env(),
        rule(build, "for-dev", env="development"),
        rule(build, "for-prod", env="production"),
    )
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    assert project.plan().resources["api.db"].rule.name == "for-dev"
    assert project.plan("env=production", "app=demo").resources["api.db"].rule.name == "for-prod"
    result = project.cli("validate", "--rules", str(project.rules))
    assert result.exit_code == 0, result.output
    assert "are valid" in result.output


def test_validate_reports_indistinguishable_rules_without_workloads(project, build):
    path = project.write_rules(
        build.env_rule(), rule(build, "first", env="development"), rule(build, "second", env=["development", "dev"])
    )
    result = project.cli("validate", "--rules", str(project.rules))
    assert result.exit_code == 2, result.output
    first, second = build.rule_line(path, "first"), build.rule_line(path, "second")
    assert f"{path}:{first}: error: Resource rules 'first' and 'second' ({path}:{second})" in result.output
    assert "can never be told apart" in result.output
    assert "Traceback" not in result.output


def test_validate_reports_overlapping_globs(project, build):
    project.write_rules(build.env_rule(), rule(build, "dev-star", env="dev*"), rule(build, "exact", env="develop"))
    result = project.cli("validate", "--rules", str(project.rules))
    assert result.exit_code == 2
    assert "'dev-star' and 'exact'" in result.output


# --- no match -------------------------------------------------------------------------------------------------


def test_no_match_lists_the_closest_rules_and_the_failed_criterion(project, build):
    path = project.write_rules(
        build.env_rule(),
        build.prod_env(),
        rule(build, "pg-dev", env_type="development"),
        rule(build, "pg-other", app="other", env_type="production"),
    )
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    with pytest.raises(UserError) as err:
        project.plan("env=production", "app=demo")
    msg = err.value.message
    assert "resource 'db' (postgres) of workload 'api': no Resource rule matches" in msg
    assert "env=production" in msg and "env_type=production" in msg
    assert f"'pg-dev' ({path}:{build.rule_line(path, 'pg-dev')}): env_type is 'production', rule wants development" in (
        msg
    )
    assert "'pg-other'" in msg and "app is 'demo', rule wants other" in msg
    assert err.value.hint


def test_no_match_shows_at_most_three_candidates(project, build):
    project.write_rules(build.env_rule(), *(rule(build, f"pg-{i}", app=f"other{i}") for i in range(5)))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    shown = [i for i in range(5) if f"'pg-{i}'" in err.value.message]
    assert len(shown) == 3


def test_unknown_resource_type_says_there_is_no_rule_for_it(project, build):
    project.write_rules(build.env_rule(), rule(build, "pg"))
    spec = project.write_workload(build.workload("api", {"queue": {"type": "carrier-pigeon"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    msg = err.value.message
    assert "resource 'queue' (carrier-pigeon) of workload 'api'" in msg
    assert "no Resource rule matches" in msg and "type=carrier-pigeon" in msg
    assert "there is no Resource rule for it at all" in msg
    assert (err.value.file, err.value.line) == (str(spec), build.line_of(spec, "queue:"))


def test_no_match_points_at_the_workload_resource(project, build):
    project.write_rules(build.env_rule(), rule(build, "pg-other", app="other"))
    spec = project.write_workload(
        build.workload("api", {"cache": {"type": "postgres", "class": "default"}, "db": {"type": "postgres"}})
    )
    with pytest.raises(Errors) as err:
        project.plan()
    # Both resources fail, and both are reported, in the order of their lines.
    assert [e.location() for e in err.value.errors] == [
        f"{spec}:{build.line_of(spec, 'cache:')}",
        f"{spec}:{build.line_of(spec, 'db:')}",
    ]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_explain_no_match_exits_2_without_traceback(project, build, fmt):
    project.write_rules(build.env_rule(), build.prod_env(), rule(build, "pg-dev", env_type="development"))
    spec = project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    result = project.explain("env=production", "app=demo", fmt=fmt)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "internal error" not in result.output
    # The table of what did match is shown, and what did not is marked in it and reported on stderr.
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["target"]["environment"] == "production"
        assert len(data["unmatched"]) == 1 and "no Resource rule matches" in data["unmatched"][0]
    else:
        assert "target: environment 'production'" in result.stdout
        assert "not matched (1;" in result.stdout and "x " in result.stdout
    assert result.stderr.startswith(f"{spec}:{build.line_of(spec, 'db:')}: error: ")
    assert "env_type is 'production', rule wants development" in result.stderr


def test_explain_unknown_type_exits_2(project, build):
    project.write_rules(build.env_rule())
    project.write_workload(build.workload("api", {"queue": {"type": "carrier-pigeon"}}))
    result = project.explain()
    assert result.exit_code == 2
    assert "no Resource rule" in result.stderr and "carrier-pigeon" in result.stderr
    assert "Traceback" not in result.output


def test_explain_shows_every_candidate_and_why(project, build):
    project.write_rules(
        build.env_rule(),
        rule(build, "catch-all"),
        rule(build, "by-env", env="development"),
        rule(build, "other-app", app="other"),
    )
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    result = project.explain(fmt="json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (decision,) = [d for d in data["decisions"] if d["kind"] == "Resource"]
    status = {c["rule"]: c["status"] for c in decision["candidates"]}
    assert decision["winner"] == "by-env"
    assert status == {"by-env": "won", "catch-all": "lost", "other-app": "no-match"}
    reasons = {c["rule"]: c.get("reason") for c in decision["candidates"]}
    assert reasons["catch-all"] == "less specific than by-env"
    assert reasons["other-app"] == "app is 'demo', rule wants other"
    spec = {c["rule"]: c["specificity"] for c in decision["candidates"]}
    assert spec == {"by-env": "010000", "catch-all": "000000", "other-app": "001000"}

    text = project.explain().stdout
    assert "+ by-env" in text and "- catch-all" in text and "x other-app" in text


# --- Context rules --------------------------------------------------------------------------------------------


def test_context_rule_derives_env_from_git_ref(project, build):
    project.write_rules(
        build.env_rule(),
        build.prod_env(),
        build.context_rule("main-to-dev", {"env": "development"}, git_ref="refs/heads/main"),
    )
    project.write_workload(build.workload("api"))
    plan = project.plan("app=demo", "git_ref=refs/heads/main")
    assert plan.context["env"] == "development"
    assert plan.environment.name == "development"


def test_context_rule_glob_on_release_tags(project, build):
    project.write_rules(
        build.env_rule(),
        build.prod_env(),
        build.context_rule("tags-to-prod", {"env": "production"}, git_ref="refs/tags/v*"),
    )
    project.write_workload(build.workload("api"))
    plan = project.plan("app=demo", "git_ref=refs/tags/v1.4.0")
    assert (plan.context["env"], plan.context["env_type"], plan.environment.name) == (
        "production",
        "production",
        "production",
    )
    # fnmatch semantics: `*` matches the empty string too.
    assert project.plan("app=demo", "git_ref=refs/tags/v").context["env"] == "production"
    for ref in ("refs/heads/v1", "refs/tags/release-1", "refs/tags/xv1"):
        with pytest.raises(UserError, match="missing context key: env"):
            project.plan("app=demo", f"git_ref={ref}")


def test_context_rule_values_are_templates(project, build):
    project.write_rules(
        build.env_rule(env="review-feature"),
        build.context_rule("branch-env", {"env": "review-{{ git_ref_name }}"}, git_ref="refs/heads/*"),
    )
    project.write_workload(build.workload("api"))
    plan = project.plan("app=demo", "git_ref=refs/heads/feature", "git_ref_name=feature")
    assert plan.context["env"] == "review-feature"


def test_a_key_given_with_c_wins_over_a_context_rule(project, build):
    project.write_rules(
        build.env_rule(),
        build.prod_env(),
        build.context_rule("main-to-dev", {"env": "development"}, git_ref="refs/heads/main"),
    )
    project.write_workload(build.workload("api"))
    plan = project.plan("app=demo", "env=production", "git_ref=refs/heads/main")
    assert plan.context["env"] == "production"
    result = project.explain("app=demo", "env=production", "git_ref=refs/heads/main", fmt="json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["derived"] == []
    assert data["target"]["environment"] == "production"


def test_explain_lists_derived_keys(project, build):
    path = project.write_rules(
        build.env_rule(),
        build.context_rule("main-to-dev", {"env": "development"}, git_ref="refs/heads/main"),
    )
    project.write_workload(build.workload("api"))
    result = project.explain("app=demo", "git_ref=refs/heads/main", fmt="json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    where = f"{path}:{build.rule_line(path, 'main-to-dev')}"
    assert data["derived"] == [f"env=development from Context rule 'main-to-dev' ({where})"]


def test_two_context_rules_setting_different_values_is_an_error_naming_both(project, build):
    path = project.write_rules(
        build.env_rule(),
        build.prod_env(),
        build.context_rule("by-app", {"env": "development"}, app="demo"),
        build.context_rule("by-branch", {"env": "production"}, git_ref="refs/heads/*"),
    )
    project.write_workload(build.workload("api"))
    with pytest.raises(UserError) as err:
        project.plan("app=demo", "git_ref=refs/heads/main")
    msg = err.value.message
    assert f"'by-app' ({path}:{build.rule_line(path, 'by-app')})" in msg
    assert f"'by-branch' ({path}:{build.rule_line(path, 'by-branch')})" in msg
    assert "both set env, to 'development' and 'production'" in msg
    assert "-c" in (err.value.hint or "")
    # Passing the key settles it.
    assert project.plan("app=demo", "git_ref=refs/heads/main", "env=production").context["env"] == "production"


def test_two_context_rules_agreeing_is_fine(project, build):
    project.write_rules(
        build.env_rule(),
        build.context_rule("by-app", {"env": "development"}, app="demo"),
        build.context_rule("by-branch", {"env": "development"}, git_ref="refs/heads/*"),
    )
    project.write_workload(build.workload("api"))
    assert project.plan("app=demo", "git_ref=refs/heads/main").context["env"] == "development"


def test_context_rule_setting_an_invalid_name_is_an_error(project, build):
    project.write_rules(build.env_rule(), build.context_rule("bad", {"env": "Not A Name"}, app="demo"))
    project.write_workload(build.workload("api"))
    with pytest.raises(UserError, match="is not a valid name"):
        project.plan("app=demo")


def test_environment_env_type_conflicting_with_context_is_an_error(project, build):
    project.write_rules(build.env_rule())
    project.write_workload(build.workload("api"))
    with pytest.raises(UserError) as err:
        project.plan("env=development", "app=demo", "env_type=production")
    assert "env_type=production but Environment rule 'development' says development" in err.value.message


def test_boolean_criterion_matches_context_true(project, build):
    project.write_rules(build.env_rule(), build.context_rule("canary", {"env": "development"}, canary=True))
    project.write_workload(build.workload("api"))
    assert project.plan("app=demo", "canary=true").context["env"] == "development"


def test_validate_reports_a_rule_that_can_never_win(project, build):
    """'everywhere' names env with '*': it matches wherever 'by-app' does and is more specific (env ranks above
    app), so 'by-app' is dead; 'narrow' names a value 'everywhere' also accepts but adds nothing: not dead."""
    path = project.write_rules(
        build.env_rule(),
        rule(build, "everywhere", env="*", app="shop"),
        rule(build, "by-app", app="shop"),
        rule(build, "other-app", app="other"),
    )
    result = project.cli("validate", "--rules", str(project.rules))
    assert result.exit_code == 2, result.output
    line = build.rule_line(path, "by-app")
    assert f"{path}:{line}: error: Resource rule 'by-app' can never win: 'everywhere'" in result.output
    assert "'other-app'" not in result.output
    assert "Traceback" not in result.output


def test_a_more_specific_rule_that_matches_less_does_not_make_the_general_one_dead(project, build):
    project.write_rules(
        build.env_rule(),
        build.prod_env(),
        rule(build, "default"),
        rule(build, "dev", env="development"),
        rule(build, "dev-shop", env="development", app="shop"),
    )
    result = project.cli("validate", "--rules", str(project.rules))
    assert result.exit_code == 0, result.output
    assert "never win" not in result.output and "warning" not in result.output


def test_validate_warns_about_environments_a_resource_type_has_no_general_rule_for(project, build):
    path = project.write_rules(
        build.env_rule(),
        build.prod_env(),
        rule(build, "pg-dev", env_type="development"),
        rule(build, "pg-prod-shop", env_type="production", app="shop"),
        build.resource_rule("redis", "redis"),
    )
    result = project.cli("validate", "--rules", str(project.rules))
    assert result.exit_code == 0, result.output  # a warning: the rules are valid, one context is not served
    prod = build.rule_line(path, "production")
    assert f"{path}:{prod}: warning: no postgres rule covers env=production in general" in result.output
    assert "env=development" not in result.output and "no redis rule" not in result.output
