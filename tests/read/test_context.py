"""The deployment context: GitHub env < PLATO_CONTEXT_* < -c pairs < --image, validated."""

from __future__ import annotations

import pytest

from generator.errors import UserError
from generator.read.ci import read as from_ci
from generator.read.context import build, from_env, parse_pairs, require, validate

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "Acme/Shop",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_REF_NAME": "main",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_RUN_ID": "4242",
}


def test_github_environment_mapping() -> None:
    assert build(environ=GITHUB) == {
        "app": "shop",
        "git_ref": "refs/heads/main",
        "git_ref_name": "main",
        "org": "acme",
        "run_url": "https://github.com/Acme/Shop/actions/runs/4242",
        "source_repo": "https://github.com/Acme/Shop",
        "source_sha": "0123456789abcdef0123456789abcdef01234567",
    }


def test_github_enterprise_server_url() -> None:
    env = {**GITHUB, "GITHUB_SERVER_URL": "https://ghe.example.com/"}
    ctx = from_ci(env)
    assert ctx["source_repo"] == "https://ghe.example.com/Acme/Shop"
    assert ctx["run_url"] == "https://ghe.example.com/Acme/Shop/actions/runs/4242"


def test_no_github_outside_actions() -> None:
    assert from_ci({"GITHUB_SHA": "abc", "HOME": "/root"}) == {}
    assert build(environ={"GITHUB_SHA": "abc"}) == {}


def test_github_repository_alone_is_enough() -> None:
    ctx = from_ci({"GITHUB_REPOSITORY": "acme/shop"})
    assert ctx == {"source_repo": "https://github.com/acme/shop", "org": "acme", "app": "shop"}


def test_github_names_that_are_not_dns_labels_are_not_guessed() -> None:
    # A repository name with '_' or '.' is no Kubernetes name: leave app unset rather than fail the build.
    ctx = build(environ={**GITHUB, "GITHUB_REPOSITORY": "acme/my_shop.web"})
    assert "app" not in ctx
    assert ctx["org"] == "acme"


def test_no_run_url_without_run_id() -> None:
    env = {k: v for k, v in GITHUB.items() if k != "GITHUB_RUN_ID"}
    assert "run_url" not in from_ci(env)


def test_plato_context_variables() -> None:
    env = {"PLATO_CONTEXT_ENV": "staging", "PLATO_CONTEXT_ENV_TYPE": "test", "PLATO_CONTEXT_": "x", "OTHER": "y"}
    assert from_env(env) == {"env": "staging", "env_type": "test"}


@pytest.mark.parametrize(
    ("environ", "pairs", "image", "expected_app", "expected_image"),
    [
        (GITHUB, [], None, "shop", None),
        ({**GITHUB, "PLATO_CONTEXT_APP": "web"}, [], None, "web", None),
        ({**GITHUB, "PLATO_CONTEXT_APP": "web"}, ["app=api"], None, "api", None),
        ({"PLATO_CONTEXT_IMAGE": "env:1"}, [], None, None, "env:1"),
        ({"PLATO_CONTEXT_IMAGE": "env:1"}, ["image=flag:2"], None, None, "flag:2"),
        ({"PLATO_CONTEXT_IMAGE": "env:1"}, ["image=flag:2"], "ci:3", None, "ci:3"),
    ],
)
def test_precedence(
    environ: dict[str, str],
    pairs: list[str],
    image: str | None,
    expected_app: str | None,
    expected_image: str | None,
) -> None:
    ctx = build(pairs, environ, image)
    assert ctx.get("app") == expected_app
    assert ctx.get("image") == expected_image


def test_later_pair_wins_and_result_is_sorted() -> None:
    ctx = build(["env=dev", "region=eu-west-1", "env=prod"], {})
    assert ctx == {"env": "prod", "region": "eu-west-1"}
    assert list(ctx) == sorted(ctx)


def test_pair_value_may_hold_equals_signs() -> None:
    assert parse_pairs(["note=a=b"]) == {"note": "a=b"}


def test_pair_without_equals() -> None:
    with pytest.raises(UserError) as info:
        build(["env"], {})
    assert "context 'env' is not key=value" in info.value.message
    assert info.value.hint is not None and "-c env=development" in info.value.hint


@pytest.mark.parametrize("key", ["env", "app", "org"])
@pytest.mark.parametrize(
    "value",
    ["Dev", "my..app", "a/b", "a" * 64, "-dev", "dev-", "my_app", "dev.eu", ""],
    ids=["upper", "dotdot", "slash", "64chars", "leading-dash", "trailing-dash", "underscore", "dot", "empty"],
)
def test_name_keys_must_be_dns_labels(key: str, value: str) -> None:
    with pytest.raises(UserError) as info:
        build([f"{key}={value}"], {})
    assert f"context {key}={value!r} is not a valid name" in info.value.message
    assert info.value.hint is not None and "lower case" in info.value.hint


@pytest.mark.parametrize("key", ["env", "app", "org"])
def test_dns_label_edges_are_accepted(key: str) -> None:
    for value in ["a", "a" * 63, "dev-1", "0"]:
        assert build([f"{key}={value}"], {})[key] == value


def test_name_keys_from_environment_are_validated_too() -> None:
    with pytest.raises(UserError, match="is not a valid name"):
        build(environ={"PLATO_CONTEXT_ENV": "Prod"})


def test_non_name_keys_accept_any_single_line_value() -> None:
    ctx = build(["git_ref=refs/heads/Feature/X", "note=Hello World.."], {})
    assert ctx["note"] == "Hello World.."


@pytest.mark.parametrize("key", ["Env", "1env", "env-type", "env.type", "", "_env", "a" * 64, "env type", "é"])
def test_invalid_key_names(key: str) -> None:
    with pytest.raises(UserError) as info:
        build([f"{key}=x"], {})
    assert f"context key {key!r} is not valid" in info.value.message
    assert info.value.hint is not None and "lower case letters, digits and _" in info.value.hint


def test_key_names_at_the_limit() -> None:
    assert build([f"{'k' * 63}=x", "env_type=dev", "a1_b2=x"], {})["k" * 63] == "x"


def test_key_with_trailing_newline_is_invalid() -> None:
    with pytest.raises(UserError, match="is not valid"):
        validate({"env\n": "dev"})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\nb", "control character"),
        ("a\rb", "control character"),
        ("a\x00b", "control character"),
        ("x" * 1025, "over the limit of 1024"),
    ],
)
def test_values_are_single_line_and_bounded(value: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        build([f"note={value}"], {})


def test_errors_name_their_origin() -> None:
    with pytest.raises(UserError) as info:
        validate({"env": "Prod"}, origin="rules/context.yaml")
    assert info.value.render().startswith("rules/context.yaml: error: context env='Prod' is not a valid name")


def test_require_lists_every_missing_key() -> None:
    with pytest.raises(UserError) as info:
        require({"env": "dev", "app": ""}, ["env", "app", "org"])
    assert info.value.message == "missing context keys: app, org"
    assert info.value.hint is not None and "-c app=... -c org=..." in info.value.hint
    assert "PLATO_CONTEXT_" in info.value.hint


def test_require_one_missing_key() -> None:
    with pytest.raises(UserError) as info:
        require({}, ["env"])
    assert info.value.message == "missing context key: env"


def test_require_passes_when_present() -> None:
    require({"env": "dev", "app": "shop"}, ["env", "app"])
