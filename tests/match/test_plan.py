"""The resource graph: shared resources, rule `requires`, params, outputs, order and cycles, and scale."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from generator.errors import UserError
from generator.match.rules import indistinguishable, load_rules
from generator.pipeline import Inputs

HOST = {"outputs": {"host": "{{ resource.name }}"}}


def pg_rule(build, name="pg", spec=None, **match):
    return build.resource_rule(name, "postgres", spec or {"params": {"size": {}}, **HOST}, **match)


def node_of(plan, workload, resource):
    return plan.resources[plan.bindings[(workload, resource)]]


# --- shared resources -------------------------------------------------------------------------------------


def test_same_type_and_id_in_two_files_is_one_node(project, build):
    project.write_rules(build.env_rule(), pg_rule(build))
    shared = {"type": "postgres", "id": "main-db", "params": {"size": "10Gi"}}
    project.write_workload(build.workload("api", {"db": shared}))
    project.write_workload(build.workload("worker", {"store": shared, "own": {"type": "postgres"}}))
    plan = project.plan()
    node = node_of(plan, "api", "db")
    assert node is node_of(plan, "worker", "store")
    assert node.key == "postgres.default.main-db"
    assert node.declared_by == [("api", "db"), ("worker", "store")]
    assert sorted(plan.resources) == ["postgres.default.main-db", "worker.own"]
    assert node.name == "postgres-main-db"


def test_shared_resource_in_explain_lists_both_declarers(project, build):
    project.write_rules(build.env_rule(), pg_rule(build))
    project.write_workload(build.workload("api", {"db": {"type": "postgres", "id": "main-db"}}))
    project.write_workload(build.workload("worker", {"db": {"type": "postgres", "id": "main-db"}}))
    import json

    result = project.explain(fmt="json")
    assert result.exit_code == 0, result.output
    (res,) = json.loads(result.stdout)["resources"]
    assert res["declared_by"] == ["api/db", "worker/db"]
    assert res["rule"] == "pg"


def test_same_id_with_different_params_is_an_error_naming_both_workloads(project, build):
    project.write_rules(build.env_rule(), pg_rule(build))
    first = project.write_workload(
        build.workload("api", {"db": {"type": "postgres", "id": "main-db", "params": {"size": "10Gi"}}})
    )
    second = project.write_workload(
        build.workload("worker", {"store": {"type": "postgres", "id": "main-db", "params": {"size": "20Gi"}}})
    )
    with pytest.raises(UserError) as err:
        project.plan()
    msg = err.value.message
    assert "shared resource 'main-db' (postgres) is declared with different params" in msg
    assert "workload 'api' (resource 'db'" in msg and "workload 'worker' (resource 'store')" in msg
    assert str(first) in msg
    assert err.value.location() == f"{second}:{build.line_of(second, 'store:')}"


def test_shared_params_referring_to_private_resources_are_not_silently_bound_to_one(project, build):
    project.write_rules(
        build.env_rule(),
        build.resource_rule("dns", "dns"),
        build.resource_rule("pg", "postgres", {"params": {"host": {}}, **HOST}),
    )
    shared = {"type": "postgres", "id": "main-db", "params": {"host": "${resources.dns.host}"}}
    project.write_workload(build.workload("api", {"dns": {"type": "dns"}, "db": shared}))
    project.write_workload(build.workload("worker", {"dns": {"type": "dns"}, "db": shared}))
    try:
        plan = project.plan()
    except UserError as err:
        assert "api" in err.message and "worker" in err.message
    else:
        # Without an error, the shared node would have to depend on both workloads' dns resources.
        assert set(plan.resources["postgres.default.main-db"].refs.values()) == {"api.dns", "worker.dns"}


def test_same_id_but_different_class_is_two_nodes(project, build):
    project.write_rules(build.env_rule(), pg_rule(build), pg_rule(build, "pg-large", class_="large"))
    project.write_workload(build.workload("api", {"db": {"type": "postgres", "id": "main-db"}}))
    project.write_workload(build.workload("worker", {"db": {"type": "postgres", "id": "main-db", "class": "large"}}))
    plan = project.plan()
    assert sorted(plan.resources) == ["postgres.default.main-db", "postgres.large.main-db"]
    assert node_of(plan, "worker", "db").rule.name == "pg-large"


def test_resources_without_id_are_private_per_workload(project, build):
    project.write_rules(build.env_rule(), pg_rule(build))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}))
    project.write_workload(build.workload("worker", {"db": {"type": "postgres"}}))
    plan = project.plan()
    assert sorted(plan.resources) == ["api.db", "worker.db"]
    assert len({n.name for n in plan.resources.values()}) == 2


def kafka_rules(build, topic_requires=None):
    topic = {
        "params": {"partitions": {"default": 3}},
        "requires": topic_requires or {"broker": {"type": "kafka", "id": "main"}},
        "outputs": {"name": "{{ resource.name }}"},
    }
    return (
        build.env_rule(),
        build.resource_rule("topic", "kafka-topic", topic),
        build.resource_rule("kafka", "kafka", HOST),
    )


def test_rule_requires_creates_one_shared_node_per_app(project, build):
    project.write_rules(*kafka_rules(build))
    project.write_workload(
        build.workload("api", {"orders": {"type": "kafka-topic"}, "events": {"type": "kafka-topic"}})
    )
    project.write_workload(build.workload("worker", {"jobs": {"type": "kafka-topic"}}))
    plan = project.plan()
    brokers = [n for n in plan.resources.values() if n.type == "kafka"]
    assert len(brokers) == 1
    (broker,) = brokers
    assert (broker.key, broker.declared_by, broker.rule.name) == ("kafka.default.main", [], "kafka")
    topics = [n for n in plan.resources.values() if n.type == "kafka-topic"]
    assert len(topics) == 3
    assert all(t.requires == {"broker": "kafka.default.main"} for t in topics)
    order = list(plan.resources)
    assert all(order.index("kafka.default.main") < order.index(t.key) for t in topics)


def test_required_id_defaults_to_the_requires_name(project, build):
    project.write_rules(*kafka_rules(build, {"cluster": {"type": "kafka"}}))
    project.write_workload(build.workload("api", {"orders": {"type": "kafka-topic"}}))
    plan = project.plan()
    assert "kafka.default.cluster" in plan.resources
    assert plan.resources["kafka.default.cluster"].id == "cluster"


def test_required_resource_is_shared_with_a_declared_one(project, build):
    project.write_rules(*kafka_rules(build))
    project.write_workload(
        build.workload("api", {"orders": {"type": "kafka-topic"}, "broker": {"type": "kafka", "id": "main"}})
    )
    plan = project.plan()
    assert [n.key for n in plan.resources.values() if n.type == "kafka"] == ["kafka.default.main"]
    assert plan.resources["kafka.default.main"].declared_by == [("api", "broker")]


def test_requires_are_followed_transitively(project, build):
    project.write_rules(
        *kafka_rules(build),
        file="a.yaml",
    )
    project.write_rules(
        build.resource_rule(
            "kafka-zk", "kafka", {"requires": {"zk": {"type": "zookeeper"}}, **HOST}, env="development"
        ),
        build.resource_rule("zookeeper", "zookeeper", HOST),
        file="b.yaml",
    )
    project.write_workload(build.workload("api", {"orders": {"type": "kafka-topic"}}))
    plan = project.plan()
    order = list(plan.resources)
    assert order == ["zookeeper.default.zk", "kafka.default.main", "api.orders"]
    assert plan.resources["kafka.default.main"].rule.name == "kafka-zk"


def test_required_resource_without_rule_points_at_the_requiring_rule(project, build):
    path = project.write_rules(
        build.env_rule(),
        build.resource_rule("topic", "kafka-topic", {"requires": {"broker": {"type": "kafka"}}, **HOST}),
    )
    project.write_workload(build.workload("api", {"orders": {"type": "kafka-topic"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "resource 'broker' (kafka) required by rule 'topic'" in err.value.message
    assert "there is no Resource rule for it at all" in err.value.message
    assert err.value.location() == f"{path}:{build.rule_line(path, 'topic')}"


def test_requires_templates_see_the_context(project, build):
    topic = {"requires": {"broker": {"type": "kafka", "id": "{{ app }}-bus"}}, **HOST}
    project.write_rules(
        build.env_rule(),
        build.resource_rule("topic", "kafka-topic", topic),
        build.resource_rule("kafka", "kafka", HOST),
    )
    project.write_workload(build.workload("api", {"orders": {"type": "kafka-topic"}}))
    assert "kafka.default.demo-bus" in project.plan().resources


# --- order and cycles -----------------------------------------------------------------------------------------


def route_dns_rules(build):
    return (
        build.env_rule(),
        build.resource_rule("dns", "dns", {"params": {"target": {}}, "outputs": {"host": "h", "url": "u"}}),
        build.resource_rule("route", "route", {"params": {"host": {"required": True}}, "outputs": {"host": "h"}}),
    )


def test_dependencies_come_first(project, build):
    project.write_rules(*route_dns_rules(build))
    project.write_workload(
        build.workload(
            "web",
            {"route": {"type": "route", "params": {"host": "${resources.dns.host}"}}, "dns": {"type": "dns"}},
        )
    )
    plan = project.plan()
    assert list(plan.resources) == ["web.dns", "web.route"]
    assert plan.resources["web.route"].refs == {"dns": "web.dns"}


def cycle_parts(message):
    path = message.split("cycle: ", 1)[1]
    parts = path.split(" -> ")
    assert len(parts) >= 2 and parts[0] == parts[-1], f"not a closed cycle: {path}"
    return parts


def test_param_cycle_error_shows_the_whole_path(project, build):
    project.write_rules(*route_dns_rules(build))
    spec = project.write_workload(
        build.workload(
            "web",
            {
                "dns": {"type": "dns", "params": {"target": "${resources.route.host}"}},
                "route": {"type": "route", "params": {"host": "${resources.dns.host}"}},
            },
        )
    )
    with pytest.raises(UserError) as err:
        project.plan()
    assert "resources depend on each other in a cycle" in err.value.message
    parts = cycle_parts(err.value.message)
    assert set(parts) == {"resource 'dns' (dns) of workload 'web'", "resource 'route' (route) of workload 'web'"}
    assert len(parts) == 3
    assert err.value.file == str(spec)


def test_three_node_cycle_lists_every_step(project, build):
    spec = {"params": {"upstream": {}}, **HOST}
    project.write_rules(build.env_rule(), build.resource_rule("hop", "hop", spec))
    project.write_workload(
        build.workload(
            "web",
            {
                "aa": {"type": "hop", "params": {"upstream": "${resources.bb.host}"}},
                "bb": {"type": "hop", "params": {"upstream": "${resources.cc.host}"}},
                "cc": {"type": "hop", "params": {"upstream": "${resources.aa.host}"}},
            },
        )
    )
    with pytest.raises(UserError) as err:
        project.plan()
    parts = cycle_parts(err.value.message)
    assert len(parts) == 4
    assert {re.search(r"resource '(\w+)'", p).group(1) for p in parts} == {"aa", "bb", "cc"}
    # Each step depends on the next: aa -> bb -> cc -> aa, in some rotation and direction.
    names = [re.search(r"resource '(\w+)'", p).group(1) for p in parts[:-1]]
    rotations = {tuple(names[i:] + names[:i]) for i in range(3)}
    assert ("aa", "bb", "cc") in rotations or ("aa", "cc", "bb") in rotations


def test_cycle_through_rule_requires(project, build):
    project.write_rules(
        build.env_rule(),
        build.resource_rule("alpha", "alpha", {"requires": {"partner": {"type": "beta"}}, **HOST}),
        build.resource_rule("beta", "beta", {"requires": {"back": {"type": "alpha", "id": "x1"}}, **HOST}),
    )
    project.write_workload(build.workload("api", {"first": {"type": "alpha"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    parts = cycle_parts(err.value.message)
    assert set(parts) == {
        "resource 'alpha.default.x1' (alpha, required by rule 'beta')",
        "resource 'beta.default.partner' (beta, required by rule 'alpha')",
    }


def test_cycle_mixing_a_param_and_a_requires(project, build):
    project.write_rules(
        build.env_rule(),
        build.resource_rule("alpha", "alpha", {"params": {"peer": {}}, **HOST}),
        build.resource_rule("beta", "beta", {"requires": {"back": {"type": "alpha", "id": "x1"}}, **HOST}),
    )
    project.write_workload(
        build.workload(
            "api",
            {
                "first": {"type": "alpha", "id": "x1", "params": {"peer": "${resources.second.host}"}},
                "second": {"type": "beta"},
            },
        )
    )
    with pytest.raises(UserError) as err:
        project.plan()
    parts = cycle_parts(err.value.message)
    assert set(parts) == {"resource 'first' (alpha) of workload 'api'", "resource 'second' (beta) of workload 'api'"}


def test_a_rule_requiring_its_own_type_and_id_is_a_cycle(project, build):
    project.write_rules(
        build.env_rule(),
        build.resource_rule("alpha", "alpha", {"requires": {"me": {"type": "alpha", "id": "self"}}, **HOST}),
    )
    project.write_workload(build.workload("api", {"first": {"type": "alpha"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert cycle_parts(err.value.message) == ["resource 'alpha.default.self' (alpha, required by rule 'alpha')"] * 2


# --- params and outputs ---------------------------------------------------------------------------------------


def test_placeholder_to_an_undeclared_output_names_everything(project, build):
    path = project.write_rules(
        build.env_rule(), build.resource_rule("pg", "postgres", {"outputs": {"host": "h", "port": 5432}})
    )
    spec = project.write_workload(
        build.workload("api", {"db": {"type": "postgres"}}, variables={"DB": "${resources.db.hots}"})
    )
    with pytest.raises(UserError) as err:
        project.plan()
    msg = err.value.message
    assert "workload 'api'" in msg
    assert "resource 'db' (postgres) has no output 'hots'" in msg
    assert f"in rule 'pg' ({path}:{build.rule_line(path, 'pg')})" in msg
    assert err.value.hint == "did you mean 'host'? allowed: host, port"
    assert err.value.file == str(spec)
    assert err.value.line == build.line_of(spec, "DB:")  # the variable that holds the placeholder


def test_placeholder_to_an_undeclared_output_without_close_match_lists_all(project, build):
    project.write_rules(build.env_rule(), build.resource_rule("pg", "postgres", {"outputs": {"host": "h", "port": 1}}))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}, variables={"DB": "${resources.db.zzz}"}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert err.value.hint == "allowed: host, port"


def test_placeholder_to_a_whole_resource_in_a_variable_is_an_error(project, build):
    project.write_rules(build.env_rule(), build.resource_rule("pg", "postgres", {"outputs": {"host": "h"}}))
    project.write_workload(build.workload("api", {"db": {"type": "postgres"}}, variables={"DB": "${resources.db}"}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "refers to a whole resource" in err.value.message
    assert "host" in (err.value.hint or "")


def test_param_placeholder_to_an_undeclared_output_is_an_error(project, build):
    project.write_rules(*route_dns_rules(build))
    spec = project.write_workload(
        build.workload(
            "web",
            {"dns": {"type": "dns"}, "route": {"type": "route", "params": {"host": "${resources.dns.hostname}"}}},
        )
    )
    with pytest.raises(UserError) as err:
        project.plan()
    msg = err.value.message
    assert "resource 'route' (route) of workload 'web'" in msg
    assert "${resources.dns.hostname}" in msg
    assert "offers host, url" in msg
    assert err.value.location() == f"{spec}:{build.line_of(spec, 'route:', build.line_of(spec, 'resources:'))}"


def test_param_placeholder_to_an_undeclared_output_hints_the_closest(project, build):
    project.write_rules(*route_dns_rules(build))
    project.write_workload(
        build.workload(
            "web",
            {"dns": {"type": "dns"}, "route": {"type": "route", "params": {"host": "${resources.dns.hots}"}}},
        )
    )
    with pytest.raises(UserError) as err:
        project.plan()
    assert "did you mean 'host'" in (err.value.hint or "")


def test_a_param_the_rule_does_not_accept_is_an_error(project, build):
    project.write_rules(build.env_rule(), pg_rule(build))
    spec = project.write_workload(build.workload("api", {"db": {"type": "postgres", "params": {"sise": "1Gi"}}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "resource 'db' (postgres) of workload 'api': param 'sise' is not accepted by rule 'pg'" in err.value.message
    assert err.value.hint == "did you mean 'size'? allowed: size"
    assert err.value.location() == f"{spec}:{build.line_of(spec, 'db:')}"


def test_a_rule_without_params_accepts_none(project, build):
    project.write_rules(build.env_rule(), build.resource_rule("pg", "postgres"))
    project.write_workload(build.workload("api", {"db": {"type": "postgres", "params": {"size": "1Gi"}}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "param 'size' is not accepted" in err.value.message
    assert err.value.hint == "allowed: (none)"


def test_a_missing_required_param_is_an_error(project, build):
    spec_ = {"params": {"host": {"required": True, "description": "the public host name"}}, **HOST}
    project.write_rules(build.env_rule(), build.resource_rule("route", "route", spec_))
    spec = project.write_workload(build.workload("web", {"route": {"type": "route"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "resource 'route' (route) of workload 'web': rule 'route'" in err.value.message
    assert "requires param 'host'" in err.value.message
    assert err.value.hint == "the public host name"
    assert err.value.file == str(spec)


def test_required_resource_params_are_checked_against_its_rule(project, build):
    path = project.write_rules(
        build.env_rule(),
        build.resource_rule(
            "topic", "kafka-topic", {"requires": {"broker": {"type": "kafka", "params": {"tier": "gold"}}}, **HOST}
        ),
        build.resource_rule("kafka", "kafka", HOST),
    )
    project.write_workload(build.workload("api", {"orders": {"type": "kafka-topic"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert "param 'tier' is not accepted by rule 'kafka'" in err.value.message
    assert "required by rule 'topic'" in err.value.message
    assert err.value.file == str(path)


def test_wildcard_output_accepts_any_name(project, build):
    env = {"outputs": {"*": {"secret": {"name": "{{ app }}-env", "key": "{{ output }}"}}}}
    project.write_rules(build.env_rule(), build.resource_rule("environment", "environment", env))
    project.write_workload(
        build.workload(
            "api",
            {"env": {"type": "environment"}},
            variables={"A": "${resources.env.ANY_NAME}", "B": "${resources.env.another-one}"},
        )
    )
    assert project.plan().resources["api.env"].rule.name == "environment"


def test_wildcard_output_in_a_param_placeholder(project, build):
    project.write_rules(
        *route_dns_rules(build),
        build.resource_rule("values", "values", {"outputs": {"*": "{{ output }}"}}),
    )
    project.write_workload(
        build.workload(
            "web",
            {"vals": {"type": "values"}, "route": {"type": "route", "params": {"host": "${resources.vals.whatever}"}}},
        )
    )
    assert list(project.plan().resources) == ["web.vals", "web.route"]


def test_secret_output_in_a_param_is_an_error(project, build):
    secret = {"outputs": {"password": {"secret": {"name": "s", "key": "k"}}, "host": "h"}}
    project.write_rules(*route_dns_rules(build), build.resource_rule("pg", "postgres", secret))
    project.write_workload(
        build.workload(
            "web",
            {"db": {"type": "postgres"}, "route": {"type": "route", "params": {"host": "${resources.db.password}"}}},
        )
    )
    with pytest.raises(UserError, match="is a secret output; params take plain values only"):
        project.plan()


# --- names ----------------------------------------------------------------------------------------------------


def test_node_names_are_dns_labels(project, build):
    project.write_rules(build.env_rule(), build.resource_rule("one", "Resource-One", HOST))
    project.write_workload(build.workload("api", {"thing": {"type": "Resource-One", "id": "main.part"}}))
    (node,) = project.plan().resources.values()
    assert node.name == "resource-one-main-part"


def test_colliding_node_names_are_stable_across_processes(project, build):
    project.write_rules(build.env_rule(), build.resource_rule("pg", "postgres", HOST))
    project.write_workload(build.workload("api", {"cache-db": {"type": "postgres"}}))
    project.write_workload(build.workload("api-cache", {"db": {"type": "postgres"}}))
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from generator.pipeline import Inputs
        files = [Path(p) for p in {[str(f) for f in project.workload_files]!r}]
        plan = Inputs.load(files, context=["env=development", "app=demo"], rules_dir=Path({str(project.rules)!r}),
                           environ={{}}).plan()
        print(sorted(n.name for n in plan.resources.values()))
        """
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        outputs.add(out.stdout)
    assert len(outputs) == 1, outputs


def test_colliding_node_names_are_made_unique(project, build):
    project.write_rules(build.env_rule(), build.resource_rule("pg", "postgres", HOST))
    project.write_workload(build.workload("api", {"cache-db": {"type": "postgres"}}))
    project.write_workload(build.workload("api-cache", {"db": {"type": "postgres"}}))
    names = [n.name for n in project.plan().resources.values()]
    assert len(set(names)) == 2
    assert "api-cache-db" in names


# --- scale ----------------------------------------------------------------------------------------------------

TYPES = 50
PER_TYPE = 10


def type_rules(build, t):
    """Ten rules for one type, no two of which can tie."""
    type_ = f"svc{t:02d}"
    variants = [
        ("any", {}),
        ("dev", {"env_type": "development"}),
        ("acme", {"org": "acme"}),
        ("eu", {"region": "eu"}),
        ("demo", {"app": "demo"}),
        ("other", {"app": "other"}),
        ("env", {"env": "development"}),
        ("prod", {"env": "production"}),
        ("id", {"id": "special"}),
        ("large", {"class_": "large"}),
    ]
    return [build.resource_rule(f"{type_}-{suffix}", type_, HOST, **match) for suffix, match in variants]


@pytest.fixture(scope="module")
def scale_rules(tmp_path_factory, build):
    """500 Resource rules over 50 types, in 50 files: written once, as load_rules caches a parsed folder."""
    project = build.Project(tmp_path_factory.mktemp("scale"))
    project.write_rules(build.env_rule(), file="00-env.yaml")
    for t in range(TYPES):
        project.write_rules(*type_rules(build, t), file=f"svc{t:02d}.yaml")
    return project.rules


def test_scale_500_rules_and_40_resources(scale_rules, build, tmp_path):
    project = build.Project(tmp_path)
    resources = {}
    expected = {}
    for i in range(40):
        type_ = f"svc{i:02d}"
        if i % 4 == 0:
            resources[f"res{i:02d}"] = {"type": type_, "id": "special"}
            expected[f"res{i:02d}"] = f"{type_}-id"
        elif i % 4 == 1:
            resources[f"res{i:02d}"] = {"type": type_, "class": "large"}
            expected[f"res{i:02d}"] = f"{type_}-large"
        else:
            resources[f"res{i:02d}"] = {"type": type_}
            expected[f"res{i:02d}"] = f"{type_}-env"
    project.write_workload(build.workload("api", resources))

    rs = load_rules(scale_rules)
    assert sum(len(v) for v in rs.resources.values()) == TYPES * PER_TYPE
    assert indistinguishable(rs) == []

    context = ["env=development", "app=demo", "org=acme", "region=eu"]
    plan = Inputs.load(project.workload_files, context=context, rules_dir=scale_rules, environ={}).plan()
    assert len(plan.resources) == 40
    assert {r: node_of(plan, "api", r).rule.name for r in resources} == expected
    decisions = [d for d in plan.decisions if d.kind == "Resource"]
    assert len(decisions) == 40
    assert all(len(d.candidates) == PER_TYPE for d in decisions)


def test_for_type_returns_only_that_types_rules(scale_rules):
    rs = load_rules(scale_rules)
    assert sorted(rs.resources) == [f"svc{t:02d}" for t in range(TYPES)]
    for t in (0, 17, 49):
        rules = rs.for_type(f"svc{t:02d}")
        assert len(rules) == PER_TYPE
        assert all(r.match["type"] == (f"svc{t:02d}",) for r in rules)
    assert rs.for_type("nothing") == []


def test_a_rule_for_several_types_is_indexed_under_each(project, build):
    project.write_rules(build.env_rule(), build.resource_rule("sql", ["postgres", "mysql"], HOST))
    rs = load_rules(project.rules)
    assert [r.name for r in rs.for_type("postgres")] == ["sql"]
    assert [r.name for r in rs.for_type("mysql")] == ["sql"]
    assert rs.for_type("redis") == []
