"""Rule templates (generator/match/templates.py): compiled once, rendered in the sandbox, and every failure a user
error at the rule file's line."""

from __future__ import annotations

import pytest

from generator.errors import UserError
from generator.match.templates import (
    Tpl,
    compile_template,
    dns_label,
    free_names,
    is_template,
    leaves,
    render_tree,
    short_hash,
)

RULE = "rules/10-envs.yaml"


def _fails(source: str, variables: dict | None = None, line: int | None = 20) -> UserError:
    with pytest.raises(UserError) as caught:
        compile_template(source, RULE, line).render(variables or {}, "Environment development")
    return caught.value


def test_a_template_renders_with_its_variables_and_plato_s_filters() -> None:
    tpl = compile_template("{{ app | dns_label }}-{{ env }}{{ {'b': 1, 'a': 2} | tojson }}{{ x | quote }}", RULE)
    assert tpl.render({"app": "My_Shop!", "env": "dev", "x": 'say "hi"'}, "w") == (
        'my-shop-dev{"a": 2, "b": 1}"say \\"hi\\""'
    )
    assert tpl.render({"app": "a", "env": "b", "x": ""}, "w") == 'a-b{"a": 2, "b": 1}""'  # compiled once, reused


def test_an_unknown_name_is_a_context_key_this_run_lacks_and_a_near_miss_lists_the_names() -> None:
    err = _fails("{{ region }}", {"env": "dev", "app": "shop"})
    assert (
        err.message == "Environment development: the rules need the context key 'region', which this run does not set"
    )
    assert err.hint == "pass -c region=... (or PLATO_CONTEXT_REGION=...), or set it in CI"
    assert (err.file, err.line) == (RULE, 20)
    typo = _fails("{{ namespce }}", {"namespace": "x", "app": "shop", "_private": 1})
    assert "'namespce' is undefined" in typo.message and typo.hint == "available names: app, namespace"


def test_an_error_in_a_multi_line_template_points_at_its_line_in_the_rule_file() -> None:
    # A block scalar starts on the line after its key (line 20): template line 3 is file line 23.
    err = _fails("first: ok\nsecond: ok\nthird: {{ 1 + 'a' }}\n")
    assert err.line == 23 and "template failed: TypeError" in err.message
    assert _fails("{{ 1 + 'a' }}").line == 20  # a one-line template is its key's line
    assert _fails("a\nb\n{{ 1 // 0 }}").line == 23


def test_a_template_that_does_not_compile_is_refused_with_its_line() -> None:
    err = _fails("ok\n{% if x %}\nunclosed\n")
    assert err.message.startswith("template does not compile:") and err.line is not None and err.line > 20
    assert "{{ '{{' }}" in (err.hint or "")
    with pytest.raises(UserError, match="template does not compile"):
        compile_template("{{ x ", RULE, 5, eager=True)  # eager: at compile time, before any render


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("a\n{% include 'x.j2' %}", "include"),
        ("a\n{% import 'm.j2' as m %}", "import"),
        ("a\n{% from 'm.j2' import f %}", "from ... import"),
        ("a\n{% extends 'base.j2' %}", "extends"),
    ],
)
def test_a_template_cannot_reach_other_templates_or_files(source: str, kind: str) -> None:
    err = _fails(source)
    assert f"template uses {{% {kind} %}}" in err.message and err.line == 22


def test_the_sandbox_refuses_python_internals_as_a_user_error() -> None:
    err = _fails("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    assert err.message.endswith(
        "refused by the template sandbox: access to attribute '__class__' of 'str' object is unsafe."
    )
    assert err.line == 20


def test_the_line_is_looked_up_only_when_a_message_needs_it_and_once() -> None:
    calls: list[int] = []

    def locate() -> int:
        calls.append(1)
        return 42

    tpl = Tpl("{{ env }}", RULE, locate=locate)
    assert tpl.render({"env": "dev"}, "w") == "dev" and calls == []
    with pytest.raises(UserError) as caught:
        tpl.render({}, "w")
    assert caught.value.line == 42 and tpl.line == 42 and calls == [1]


def test_dns_label_makes_a_valid_label_and_keeps_long_names_apart() -> None:
    assert dns_label("Shop_API v2") == "shop-api-v2"
    assert dns_label("--__--") == "x" and dns_label(7) == "7"
    one, two = dns_label("a" * 70 + "-one"), dns_label("a" * 70 + "-two")
    assert len(one) == len(two) == 63 and one != two
    assert one == dns_label("a" * 70 + "-one")  # deterministic
    assert one.endswith("-" + short_hash("a" * 70 + "-one"))
    assert len(dns_label("b" * 40, limit=20)) == 20


def test_free_names_are_what_a_rule_reads_without_setting_it() -> None:
    spec = {
        "namespace": compile_template("{{ app }}-{{ env }}", RULE),
        "list": ["plain", compile_template("{% set port = 80 %}{% for i in range(2) %}{{ i }}{% endfor %}{{ port }}",
                                           RULE)],
        "macro": compile_template("{% macro m() %}x{% endmacro %}{{ m() }}{{ region }}", RULE),
        "text": "{{ not a template: a plain string }}",
    }  # fmt: skip
    assert sorted(name for name, _ in free_names(spec)) == ["app", "env", "region"]
    sources = [t.source for t in leaves(spec, Tpl)]  # in the spec's order, plain strings left out
    assert [s[:8] for s in sources] == ["{{ app }", "{% set p", "{% macro"]
    assert is_template("a {% if x %}") and is_template("{{x}}") and not is_template("${resources.db.host}")


def test_render_tree_renders_every_template_and_keeps_the_rest() -> None:
    spec = {"a": compile_template("{{ env }}", RULE), "b": [1, compile_template("x{{ env }}", RULE), None], "c": True}
    assert render_tree(spec, {"env": "dev"}, "w") == {"a": "dev", "b": [1, "xdev", None], "c": True}


class _Named(str):
    """A str subclass: its str() is jinja2's to make."""


LOOKUP_VARIABLES = {
    "app": "shop",
    "env": "dev",
    "port": 8080,
    "flag": True,
    "none": "a variable named none",
    "nothing": None,
    "ratio": 0.5,
    "named": _Named("x"),
    "resource": {"name": "db", "items": "an items key", "id": 7, "deep": {"er": "e"}, "list": ["a"]},
    "range": "a variable named range",
}


@pytest.mark.parametrize(
    "source",
    [
        "{{ app }}-{{ env }}",
        "{{app}}.{{ resource.name }}:{{ port }}",
        "{{ resource.deep.er }}\n",
        "{{ resource.items }}",  # a dict's method, found before the key
        "{{ resource.list }} {{ flag }} {{ nothing }} {{ ratio }} {{ named }} {{ resource.id }}",
        "{{ none }} {{ true }} {{ range }}",  # constants, and a variable that shadows a global
        "a\r\n{{ app }}",  # jinja2 writes its line breaks as \n
        "{{- app }} x {# c #}{{ env -}}",
        "{{ resource.deep.er.upper }}",
        "{{ resource.name.upper }}",
        "{{ app }}}}{ {{ env }}",
    ],
)
def test_a_template_of_names_renders_what_jinja2_renders(source: str) -> None:
    # Templates of text and `{{ a.b }}` lookups are rendered by looking the names up; every other case goes through
    # jinja2. Either way the text is jinja2's, byte for byte.
    tpl = compile_template(source, RULE)
    through_jinja2 = tpl._run(lambda: tpl.template, LOOKUP_VARIABLES, "w", None)
    assert tpl.render(LOOKUP_VARIABLES, "w") == through_jinja2


@pytest.mark.parametrize("source", ["{{ resource.missing }}-{{ app }}", "{{ regoin }}", "{{ app.name }}"])
def test_a_template_of_names_fails_as_jinja2_fails(source: str) -> None:
    variables = {"resource": {"name": "db"}, "app": "a", "region": "eu"}
    tpl = compile_template(source, RULE, 3)
    with pytest.raises(UserError) as through_jinja2:
        tpl._run(lambda: tpl.template, variables, "w", None)
    with pytest.raises(UserError) as rendered:
        tpl.render(variables, "w")
    assert (rendered.value.message, rendered.value.line) == (through_jinja2.value.message, through_jinja2.value.line)
