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
