"""Every resource's template mistakes in one run (generator/create/resources.py provision): a rule author fixes
them in one go. A resource that needs a failed one is not tried (the error to fix is what it needs), and a template
that hits a limit ends the run at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from testkit.build import dump, env_rule, resource_rule, score, yaml_text

from generator.errors import Errors, UserError
from generator.pipeline import Inputs


def _render(tmp_path: Path, rules: list[Any], resources: dict[str, str]) -> Any:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "10.yaml").write_text(yaml_text([env_rule(), *rules]), encoding="utf-8")
    variables = {f"V_{n.upper()}": f"${{resources.{n}.host}}" for n in resources}
    path = tmp_path / "score.yaml"
    path.write_text(dump(score("web", {n: {"type": t} for n, t in resources.items()}, variables)), encoding="utf-8")
    return Inputs.load([path], context=["env=development", "app=shop"], rules_dir=folder).render(quiet=True)


def _errors(tmp_path: Path, rules: list[Any], resources: dict[str, str]) -> list[UserError]:
    with pytest.raises(UserError) as caught:
        _render(tmp_path, rules, resources)
    return list(caught.value.errors) if isinstance(caught.value, Errors) else [caught.value]


def _broken(name: str, type_: str, template: str, **spec: Any) -> dict[str, Any]:
    return resource_rule(name, type_, {"outputs": {"host": template, "port": "{{ 1 // 0 }}"}, **spec})


def test_each_failing_resource_and_each_failing_output_is_reported(tmp_path: Path) -> None:
    rules = [
        _broken("a-rule", "alpha", "{{ resource.name | nosuchfilter }}"),
        _broken("b-rule", "beta", "{{ resource.name.upper(1, 2) }}"),
        resource_rule("c-rule", "gamma"),
    ]

    errors = _errors(tmp_path, rules, {"aa": "alpha", "bb": "beta", "cc": "gamma"})

    said = sorted((e.line, e.message) for e in errors)
    assert len(said) == 4, said  # two outputs of each broken rule; the good rule adds nothing
    assert [m for _, m in said if "nosuchfilter" in m] and [m for _, m in said if "upper" in m]
    assert sum("output 'port'" in m and "ZeroDivisionError" in m for _, m in said) == 2
    assert all(e.file and e.file.endswith("10.yaml") and e.line for e in errors)


def test_a_resource_that_needs_a_failed_one_is_not_tried(tmp_path: Path) -> None:
    needed = _broken("base-rule", "base", "{{ nosuchname }}")
    needing = resource_rule(
        "top-rule", "top", {"requires": {"bb": {"type": "base"}}, "outputs": {"host": "{{ deps.bb.host ~ 1 // 0 }}"}}
    )

    errors = _errors(tmp_path, [needed, needing], {"tt": "top"})

    assert all("base-rule" in e.message for e in errors), [e.message for e in errors]


def test_a_template_that_hits_a_limit_ends_the_run_at_its_first_error(tmp_path: Path) -> None:
    spin = "{% for i in range(10**5) %}{% for j in range(10**5) %}{% endfor %}{% endfor %}"
    rules = [_broken("a-rule", "alpha", spin), _broken("b-rule", "beta", spin)]

    errors = _errors(tmp_path, rules, {"aa": "alpha", "bb": "beta"})

    assert len(errors) == 1 and "Limits on templates" in (errors[0].hint or ""), [e.message for e in errors]
    assert "a-rule" in errors[0].message


# -- fail(): a rule says why it cannot serve the request, at the spec's line -----------------------------------


def test_a_rule_template_that_calls_fail_is_reported_at_the_specs_resource(tmp_path: Path) -> None:
    refusing = resource_rule(
        "picky", "alpha", {"outputs": {"host": "{{ fail('size ' ~ params.size ~ ' is too big') if params.size > 3 }}"}}
    )
    refusing["spec"]["params"] = {"size": {"default": 1}}
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "10.yaml").write_text(yaml_text([env_rule(), refusing]), encoding="utf-8")
    spec = score("web", {"big": {"type": "alpha", "params": {"size": 5}}}, {"V": "${resources.big.host}"})
    path = tmp_path / "score.yaml"
    path.write_text(dump(spec), encoding="utf-8")

    with pytest.raises(UserError) as caught:
        Inputs.load([path], context=["env=development", "app=shop"], rules_dir=folder).render(quiet=True)

    err = caught.value
    assert err.file == str(path) and err.line == path.read_text().splitlines().index("  big:") + 1, (err.file, err.line)
    assert err.message.endswith("size 5 is too big") and "rule 'picky'" in err.message
    assert err.hint and "10.yaml:" in err.hint


ROUTED = """
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx:1.27
SERVICE
resources:
  route:
    type: route
    params: {host: web.example.com, path: /, port: PORT}
"""


SERVED = "service:\n  ports:\n    www: {port: 8080}"


@pytest.mark.parametrize(
    ("service", "port", "says"),
    [
        ("", "80", "declares no service port"),
        (SERVED, "80", "port 80 is not a service port of workload 'web' (it has 8080)"),
        (SERVED, "api", "port api is not a service port"),
    ],
)
def test_a_route_to_a_port_the_workload_does_not_serve_is_refused(service, port, says, kit) -> None:
    """The HTTPRoute was written, pointing at a Service (or a Service port) that does not exist."""
    spec = kit.spec(ROUTED.replace("SERVICE", service).replace("PORT", port))
    kit.assert_user_error(kit.cli_render(spec), f"{spec}:", says, "rule 'route'")


@pytest.mark.parametrize("port", ["8080", "www"])
def test_a_route_to_a_served_port_by_number_or_name_renders(port, kit) -> None:
    spec = kit.spec(ROUTED.replace("SERVICE", "service:\n  ports:\n    www: {port: 8080}").replace("PORT", port))
    (route,) = [o for o in kit.manifest(kit.render(spec)) if o["kind"] == "HTTPRoute"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "web", "port": 8080}]


CALLER = """
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx:1.27
    variables:
      BILLING: ${resources.billing.url}
resources:
  billing:
    type: service
    params: {app: billing, workload: api, port: PORT}
"""


def test_a_port_name_in_another_app_cannot_be_looked_up_and_says_to_give_its_number(kit) -> None:
    """It was written into the URL as it stood: http://api.billing-development.svc.cluster.local:http."""
    spec = kit.spec(CALLER.replace("PORT", "http"))
    kit.assert_user_error(kit.cli_render(spec), f"{spec}:", "port 'http'", "give params.port its number")
    tree = kit.render(kit.spec(CALLER.replace("PORT", "8080"), name="ok.yaml"))
    assert b"api.billing-development.svc.cluster.local:8080" in b"".join(tree.files.values())
