"""The CI table (generator/read/ci.py): each CI's documented variable names give the same context keys."""

from __future__ import annotations

import pytest

from generator.read import ci
from generator.read.context import build

SHA = "0123456789abcdef0123456789abcdef01234567"

# Variable names as GitLab documents them (docs.gitlab.com/ci/variables/predefined_variables/).
GITLAB_BRANCH = {
    "CI": "true",
    "GITLAB_CI": "true",
    "CI_SERVER_URL": "https://gitlab.example.com",
    "CI_PROJECT_PATH": "acme/payments/shop",
    "CI_PROJECT_NAMESPACE": "acme/payments",
    "CI_PROJECT_ROOT_NAMESPACE": "acme",
    "CI_PROJECT_NAME": "shop",
    "CI_PROJECT_URL": "https://gitlab.example.com/acme/payments/shop",
    "CI_COMMIT_REF_NAME": "main",
    "CI_COMMIT_BRANCH": "main",
    "CI_COMMIT_SHA": SHA,
    "CI_PIPELINE_ID": "981",
    "CI_PIPELINE_URL": "https://gitlab.example.com/acme/payments/shop/-/pipelines/981",
}


def test_gitlab_branch_pipeline() -> None:
    assert build(environ=GITLAB_BRANCH) == {
        "app": "shop",
        "git_ref": "refs/heads/main",
        "git_ref_name": "main",
        "org": "acme",
        "run_url": "https://gitlab.example.com/acme/payments/shop/-/pipelines/981",
        "source_repo": "https://gitlab.example.com/acme/payments/shop",
        "source_sha": SHA,
    }


def test_gitlab_tag_pipeline_is_a_tag_ref() -> None:
    env = {k: v for k, v in GITLAB_BRANCH.items() if k != "CI_COMMIT_BRANCH"}
    env |= {"CI_COMMIT_TAG": "v1.4.0", "CI_COMMIT_REF_NAME": "v1.4.0"}
    ctx = build(environ=env)
    assert (ctx["git_ref"], ctx["git_ref_name"]) == ("refs/tags/v1.4.0", "v1.4.0")


def test_gitlab_merge_request_pipeline_names_its_source_branch() -> None:
    env = {k: v for k, v in GITLAB_BRANCH.items() if k != "CI_COMMIT_BRANCH"}
    env |= {"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/x", "CI_COMMIT_REF_NAME": "feature/x"}
    assert build(environ=env)["git_ref"] == "refs/heads/feature/x"


def test_bundled_context_rules_send_a_gitlab_tag_to_production(tmp_path: object) -> None:
    from generator.match.plan import derive_context
    from generator.match.rules import load_rules

    env = {k: v for k, v in GITLAB_BRANCH.items() if k != "CI_COMMIT_BRANCH"} | {"CI_COMMIT_TAG": "v2.0.0"}
    derived, _ = derive_context(build(environ=env), load_rules(None))
    assert derived["env"] == "production"
    derived, _ = derive_context(build(environ=GITLAB_BRANCH), load_rules(None))
    assert derived["env"] == "development"


def test_a_display_name_is_not_guessed_into_a_name() -> None:
    env = GITLAB_BRANCH | {"CI_PROJECT_NAME": "Shop Front", "CI_PROJECT_ROOT_NAMESPACE": "Acme_Corp"}
    ctx = build(environ=env)
    assert "app" not in ctx and "org" not in ctx


def test_flags_win_over_the_ci() -> None:
    assert build(["app=api", "org=other"], GITLAB_BRANCH)["app"] == "api"


@pytest.mark.parametrize(
    ("name", "env", "ref", "sha"),
    [
        (
            "Bitbucket Pipelines",
            {
                "BITBUCKET_BUILD_NUMBER": "7",
                "BITBUCKET_TAG": "v1.0.0",
                "BITBUCKET_COMMIT": SHA,
                "BITBUCKET_WORKSPACE": "acme",
                "BITBUCKET_REPO_SLUG": "shop",
                "BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/acme/shop",
            },
            "refs/tags/v1.0.0",
            SHA,
        ),
        (
            "Buildkite",
            {"BUILDKITE": "true", "BUILDKITE_BRANCH": "main", "BUILDKITE_COMMIT": SHA},
            "refs/heads/main",
            SHA,
        ),
        (
            "CircleCI",
            {"CIRCLECI": "true", "CIRCLE_BRANCH": "main", "CIRCLE_SHA1": SHA, "CIRCLE_PROJECT_REPONAME": "shop"},
            "refs/heads/main",
            SHA,
        ),
        (
            "Azure Pipelines",
            {"TF_BUILD": "True", "BUILD_SOURCEBRANCH": "refs/tags/v3", "BUILD_SOURCEVERSION": SHA},
            "refs/tags/v3",
            SHA,
        ),
        (
            "Jenkins",
            {"JENKINS_URL": "http://ci/", "GIT_BRANCH": "origin/main", "GIT_COMMIT": SHA},
            "refs/heads/main",
            SHA,
        ),
    ],
)
def test_other_cis(name: str, env: dict[str, str], ref: str, sha: str) -> None:
    provider = ci.detect(env)
    assert provider is not None and provider.name == name
    ctx = build(environ=env)
    assert (ctx["git_ref"], ctx["source_sha"]) == (ref, sha)


def test_outside_ci_only_the_generic_keys_count() -> None:
    env = {"PLATO_CONTEXT_GIT_REF": "refs/heads/main", "PLATO_CONTEXT_SOURCE_SHA": SHA, "HOME": "/root"}
    assert ci.detect(env) is None
    assert build(environ=env) == {"git_ref": "refs/heads/main", "source_sha": SHA}
