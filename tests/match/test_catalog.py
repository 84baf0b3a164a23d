"""The bundled catalog: which types and classes it serves in each environment, what `class` means in a rule (an
exact value, a list, or a glob; no class means `default`), the message that lists the classes there are, and the
resource graph behind `service` dependencies and routes without a host."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from generator.errors import UserError
from generator.match.plan import Plan, dependencies
from generator.match.rules import load_rules
from generator.pipeline import Inputs
from tests.match.conftest import Build, Project

CATALOG = {
    "service": ["default"],
    "service-port": ["default"],
    "endpoint": ["default"],
    "environment": ["default"],
    "dns": ["default"],
    "route": ["default"],
    "horizontal-pod-autoscaler": ["default"],
    "llm-model": ["default"],
    "gcp-pubsub-emulator": ["default"],
    "dapr-pubsub": ["default"],
    "dapr-state-store": ["default"],
    "dapr-subscription": ["default"],
    "postgres": ["default"],
    "postgres-instance": ["default"],
    "mysql": ["default"],
    "mssql": ["default"],
    "redis": ["default"],
    "mongodb": ["default"],
    "elasticsearch": ["default"],
    "amqp": ["default"],
    "kafka": ["default"],
    "kafka-topic": ["default"],
    "s3": ["default", "admin", "read-only"],
    "volume": ["default", "persistent", "ephemeral", "config", "projected"],
}
ENVS = {"development": "development", "production": "production"}


def bundled_plan(project: Project, *context: str) -> Plan:
    ctx = list(context) or ["env=development", "app=demo"]
    return Inputs.load(project.workload_files, context=ctx, rules_dir=None, environ={}).plan()


def _served() -> dict[tuple[str, str], dict[str, set[str]]]:
    """(type, class) -> env_type -> the output names its rule offers ('any' for a rule of every environment)."""
    out: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(dict)
    for type_, rules in load_rules().resources.items():
        for rule in rules:
            for class_ in rule.classes:
                for env_type in rule.match.get("env_type", ("any",)):
                    out[(type_, class_)][env_type] = set(rule.spec.get("outputs") or {})
    return out


def test_the_catalog_is_served_in_both_environments() -> None:
    served = _served()
    for type_, classes in CATALOG.items():
        for class_ in classes:
            envs = served.get((type_, class_), {})
            assert "any" in envs or {"development", "production"} <= set(envs), (type_, class_, sorted(envs))
    assert {t for t, _ in served} == set(CATALOG), "a bundled type is missing from this test's catalog"


def test_a_type_offers_the_same_outputs_in_every_environment() -> None:
    """A Score file is environment-agnostic: an output development gives, production must give too."""
    for (type_, class_), envs in _served().items():
        if "any" not in envs:
            assert envs["development"] == envs["production"], (type_, class_)


# The outputs Score files written for the ecosystem's provisioners read (the `expected_outputs` of score-compose's
# and score-k8s's default provisioners and of the community provisioners): a file written for them renders here.
ECOSYSTEM_OUTPUTS = {
    "service": {"name"},
    "service-port": {"hostname", "port"},
    "endpoint": {"url"},
    "dns": {"host"},
    "redis": {"host", "port", "username", "password"},
    "postgres": {"host", "port", "name", "database", "username", "password"},
    "postgres-instance": {"host", "port", "username", "password"},
    "mysql": {"host", "port", "name", "database", "username", "password"},
    "mssql": {"server", "port", "connection", "database", "username", "password"},
    "mongodb": {"host", "port", "username", "password", "connection"},
    "amqp": {"host", "port", "vhost", "username", "password"},
    "kafka-topic": {"host", "port", "name", "num_partitions"},
    "elasticsearch": {"host", "port", "username", "password"},
    "s3": {"bucket", "access_key_id", "secret_key", "endpoint", "region", "aws_access_key_id", "aws_secret_key"},
    "llm-model": {"model", "url", "api-key"},
    "dapr-pubsub": {"name"},
    "dapr-state-store": {"name"},
    "dapr-subscription": {"name", "topic"},
    "gcp-pubsub-emulator": {"host", "port", "project_id", "emulator_host"},
}


def test_outputs_cover_what_the_ecosystem_gives() -> None:
    served = _served()
    for type_, wanted in ECOSYSTEM_OUTPUTS.items():
        for env_type, offered in served[(type_, "default")].items():
            assert wanted <= offered or "*" in offered, (type_, env_type, sorted(wanted - offered))


@pytest.mark.parametrize(
    ("type_", "class_", "listed"),
    [
        ("volume", "nfs", "default, config, ephemeral, persistent, projected, shared"),
        ("s3", "write-only", "default, admin, read-only"),
        ("mysql", "large", "default"),
    ],
)
@pytest.mark.parametrize("env", ENVS)
def test_a_class_nobody_serves_is_refused_with_the_classes_there_are(
    project: Project, build: type[Build], type_: str, class_: str, listed: str, env: str
) -> None:
    spec = project.write_workload(build.workload("api", {"thing": {"type": type_, "class": class_}}))
    with pytest.raises(UserError) as err:
        bundled_plan(project, f"env={env}", "app=demo")
    assert f"no Resource rule matches class '{class_}'" in err.value.message
    assert err.value.message.endswith(f"the classes of {type_} served here are {listed}")
    assert err.value.file == str(spec) and err.value.line == build.line_of(spec, "thing:")
    assert f"class: {class_}" in (err.value.hint or "")


def test_class_globs_and_lists(project: Project, build: type[Build]) -> None:
    """A rule's class is a value, a list (any of) or a glob ('*' any class); without one it serves 'default'."""
    project.write_rules(
        build.env_rule(),
        build.resource_rule("reader", "bucket", class_="read-*"),
        build.resource_rule("writer", "bucket", class_=["write", "admin"]),
        build.resource_rule("anything", "queue", class_="*"),
        build.resource_rule("plain", "cache"),
    )
    resources = {
        "rr": {"type": "bucket", "class": "read-only"},
        "ww": {"type": "bucket", "class": "admin"},
        "q1": {"type": "queue", "class": "fifo"},
        "q2": {"type": "queue"},
        "cc": {"type": "cache"},
    }
    project.write_workload(build.workload("api", resources))
    rules = {k.split(".")[1]: n.rule.name for k, n in project.plan().resources.items()}
    assert rules == {"rr": "reader", "ww": "writer", "q1": "anything", "q2": "anything", "cc": "plain"}


def test_glob_class_appears_as_written_in_the_list(project: Project, build: type[Build]) -> None:
    project.write_rules(build.env_rule(), build.resource_rule("reader", "bucket", class_="read-*"))
    project.write_workload(build.workload("api", {"bb": {"type": "bucket", "class": "write"}}))
    with pytest.raises(UserError) as err:
        project.plan()
    assert err.value.message.endswith("the classes of bucket served here are read-*")


def _two_workloads(project: Project, build: type[Build], dependency: dict[str, Any]) -> None:
    backend = build.workload("backend")
    backend["service"] = {"ports": {"http": {"port": 80, "targetPort": 8080}, "grpc": {"port": 9090}}}
    project.write_workload(backend)
    project.write_workload(build.workload("frontend", {"backend": dependency}))


def test_service_names_the_workload_by_its_key(project: Project, build: type[Build]) -> None:
    _two_workloads(project, build, {"type": "service"})
    plan = bundled_plan(project)
    node = plan.resources["frontend.backend"]
    assert node.target is not None and node.target["name"] == "backend"
    assert node.target["namespace"] == "demo-development"
    assert sorted(node.target["ports"]) == ["grpc", "http"]
    assert dependencies(plan) == [("frontend", node.target)]


def test_service_by_id_and_by_param(project: Project, build: type[Build]) -> None:
    _two_workloads(project, build, {"type": "service", "id": "backend"})
    assert bundled_plan(project).resources["service.default.backend"].target["name"] == "backend"  # type: ignore[index]


def test_service_of_another_app_lives_in_that_apps_namespace(project: Project, build: type[Build]) -> None:
    dep = {"type": "service", "params": {"app": "billing", "workload": "invoices", "port": 8443}}
    project.write_workload(build.workload("frontend", {"backend": dep}))
    target = bundled_plan(project, "env=production", "app=shop").resources["frontend.backend"].target
    assert target == {"name": "invoices", "app": "billing", "namespace": "billing", "ports": None}


def test_service_to_a_workload_the_app_lacks_is_refused(project: Project, build: type[Build]) -> None:
    spec = project.write_workload(build.workload("frontend", {"backnd": {"type": "service"}}))
    project.write_workload(build.workload("backend"))
    with pytest.raises(UserError) as err:
        bundled_plan(project)
    assert "depends on workload 'backnd', which is not part of app 'demo' (its workloads: backend, frontend)" in (
        err.value.message
    )
    assert "did you mean 'backend'?" in (err.value.hint or "")
    assert err.value.file == str(spec)


def test_endpoint_is_a_dependency_only_on_a_workload_of_the_app(project: Project, build: type[Build]) -> None:
    _two_workloads(project, build, {"type": "endpoint", "params": {"port": 80}})
    project.write_workload(build.workload("mailer", {"smtp-api": {"type": "endpoint"}}))
    plan = bundled_plan(project)
    assert plan.resources["frontend.backend"].target["name"] == "backend"  # type: ignore[index]
    assert plan.resources["mailer.smtp-api"].target is None  # no such workload: mocked in development
    assert [(w, t["name"]) for w, t in dependencies(plan)] == [("frontend", "backend")]


def test_route_without_host_requires_the_workloads_dns(project: Project, build: type[Build]) -> None:
    w = build.workload("web", {"route": {"type": "route", "params": {"port": 80}}})
    w["service"] = {"ports": {"http": {"port": 80}}}
    project.write_workload(w)
    plan = bundled_plan(project)
    assert plan.resources["web.route"].requires == {"dns": "dns.default.web"}
    assert plan.resources["dns.default.web"].rule.name == "dns"


def test_route_with_host_requires_no_dns(project: Project, build: type[Build]) -> None:
    w = build.workload("web", {"route": {"type": "route", "params": {"port": 80, "host": "shop.example.org"}}})
    w["service"] = {"ports": {"http": {"port": 80}}}
    project.write_workload(w)
    plan = bundled_plan(project)
    assert plan.resources["web.route"].requires == {}
    assert [n.type for n in plan.resources.values()] == ["route"]


def test_delegating_classes_share_the_bucket_of_their_id(project: Project, build: type[Build]) -> None:
    project.write_workload(build.workload("writer", {"bucket": {"type": "s3", "id": "media"}}))
    project.write_workload(build.workload("reader", {"bucket": {"type": "s3", "id": "media", "class": "read-only"}}))
    plan = bundled_plan(project, "env=production", "app=demo")
    assert plan.resources["s3.read-only.media"].requires == {"bucket": "s3.default.media"}
    assert sorted(k for k in plan.resources if k.startswith("s3.")) == ["s3.default.media", "s3.read-only.media"]
    # named by type, class and id: never the bucket's name with a hash added for whichever came second
    names = {n.name for k, n in plan.resources.items() if k.startswith("s3.")}
    assert names == {"s3-media", "s3-read-only-media"}


def test_catalog_rules_validate() -> None:
    """The bundled rules pass `plato validate` (schema, templates, no ties, nothing shadowed)."""
    from click.testing import CliRunner

    from generator.cli import main

    result = CliRunner().invoke(main, ["validate", "--rules", str(Path(__file__).parents[2] / "rules")])
    assert result.exit_code == 0, result.output


def test_a_class_glob_beside_a_plain_rule_is_reported_by_validate(project: Project, build: type[Build]) -> None:
    """'*' serves 'default' too: with the same dimensions the two rules tie there, and validate says so up front."""
    project.write_rules(
        build.env_rule(), build.resource_rule("any-queue", "queue", class_="*"), build.resource_rule("queue", "queue")
    )
    result = project.cli("validate", "--rules", str(project.rules))
    assert result.exit_code == 2, result.output
    assert "'any-queue'" in result.output and "'queue'" in result.output
