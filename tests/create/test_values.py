"""Placeholders to values (generator/create/values.py): plain outputs inline, secret outputs stay references
that never become text, and literal text survives Kubernetes' $(VAR) expansion unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.create.values import Resolver, SecretRef, escape_k8s, expanded, resolve_params
from generator.errors import UserError
from generator.read.placeholders import parse

DB_PASSWORD = SecretRef("web-db", "password")


def kubernetes_expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' expansion of $(VAR) in env values, command and args (third_party/forked/golang/expansion):
    `$$` is one `$`, `$(NAME)` a variable (kept as written when undefined), any other `$` kept."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2 : end]
                    out.append(env.get(name, f"$({name})"))
                    i = end + 1
                    continue
                out.append("$(")
                i += 2
                continue
            out.append("$" + nxt)
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _resolver() -> Resolver:
    outputs = {"db": {"host": "db.internal", "port": 5432, "tls": True, "password": DB_PASSWORD, "conf": {"a": 1}}}
    return Resolver("web", {"name": "web", "labels": {"team": "shop"}}, outputs, "score.yaml")


def test_a_secret_never_becomes_text_and_is_named_by_a_helper_variable() -> None:
    with pytest.raises(TypeError, match="web-db/password: it can only be used as a reference"):
        str(DB_PASSWORD)
    with pytest.raises(TypeError):
        f"{DB_PASSWORD}"  # formatting is text too
    assert DB_PASSWORD.env_name == "PLATO_SECRET_WEB_DB_PASSWORD"
    assert SecretRef("a.b--c", "x-y").env_name == "PLATO_SECRET_A_B_C_X_Y"


def test_placeholders_resolve_to_text_with_secrets_kept_apart() -> None:
    pieces = _resolver().pieces(
        parse("postgres://u:${resources.db.password}@${resources.db.host}:${resources.db.port}")
    )
    assert pieces == ["postgres://u:", DB_PASSWORD, "@db.internal:5432"]  # adjacent text merged
    plain = _resolver().plain(
        parse("${metadata.name} ${metadata.labels.team} ${resources.db.tls} ${resources.db.conf}"), "x"
    )
    assert plain == 'web shop true {"a": 1}'


def test_a_secret_where_only_plain_text_may_go_is_refused() -> None:
    with pytest.raises(UserError) as caught:
        _resolver().plain(parse("https://${resources.db.password}@x"), "the annotation example.com/url")
    err = caught.value
    assert err.file == "score.yaml" and "would contain the secret web-db/password" in err.message
    assert "variables, args, command and files" in (err.hint or "")


def test_a_path_into_an_output_that_is_not_there_names_it() -> None:
    with pytest.raises(UserError, match=r"output 'conf' has no 'b'"):
        _resolver().plain(parse("${resources.db.conf.b}"), "x")
    assert _resolver().plain(parse("${resources.db.conf.a}"), "x") == "1"


@pytest.mark.parametrize("text", ["$(HOME)", "cost $5", "$$HOME", "a$", "$", "$$(x)", "(x)", "$((x))", "100%$(", "$)"])
def test_literal_text_survives_kubernetes_expansion(text: str) -> None:
    assert kubernetes_expand(escape_k8s(text), {"HOME": "/root", "x": "X"}) == text


@settings(max_examples=200, deadline=None, database=None)  # no time limit: the machine is shared
@given(
    st.lists(
        st.one_of(st.text(alphabet="$()ab ", max_size=8), st.sampled_from([DB_PASSWORD, SecretRef("q", "url")])),
        max_size=6,
    )
)
def test_text_with_secret_references_expands_to_the_text_and_the_secrets(pieces: list) -> None:
    merged: list = []
    for p in pieces:  # as Resolver.pieces hands them: adjacent text merged
        if merged and isinstance(p, str) and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    env = {DB_PASSWORD.env_name: "s3cret", SecretRef("q", "url").env_name: "amqps://q"}
    want = "".join(p if isinstance(p, str) else env[p.env_name] for p in merged)
    assert kubernetes_expand(expanded(merged), env) == want


def test_params_take_the_plain_outputs_of_other_resources_in_nested_values() -> None:
    params = {"dsn": parse("${resources.db.host}:${resources.db.port}"), "list": [parse("${metadata.name}"), 3]}
    got = resolve_params(params, {"db": {"host": "h", "port": 1}}, {"name": "web"}, "x")
    assert got == {"dsn": "h:1", "list": ["web", 3]}
