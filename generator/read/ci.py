"""The context a CI system hands over in its own variables: one table row per CI, detected the same way.

Each CI names the same few facts differently: the git ref that triggered the run, the commit, the source
repository, the run's URL, and an owner and project name that make good defaults for `org` and `app`. A row
says how to detect the CI and how to read each fact; `read` returns the context keys of the first CI detected.
A CI that no row knows passes the same keys as `PLATO_CONTEXT_GIT_REF`, `PLATO_CONTEXT_SOURCE_SHA`, ... (the
generic set, documented in the README).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Env = Mapping[str, str]
DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class Facts:
    """What one CI says about the run, in plato's terms; None where that CI does not say."""

    git_ref: str | None = None
    git_ref_name: str | None = None
    source_sha: str | None = None
    source_repo: str | None = None
    run_url: str | None = None
    owner: str | None = None  # the default for `org`
    project: str | None = None  # the default for `app`


@dataclass(frozen=True)
class Provider:
    name: str
    detect: Callable[[Env], bool]
    facts: Callable[[Env], Facts]


def _ref(branch: str | None, tag: str | None) -> str | None:
    """A full git ref from a CI's separate branch and tag variables (context rules match refs/heads/... and
    refs/tags/...)."""
    if tag:
        return f"refs/tags/{tag}"
    if branch:
        return branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    return None


def _github(env: Env) -> Facts:
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repo = env.get("GITHUB_REPOSITORY", "")
    owner, _, name = repo.partition("/")
    run = env.get("GITHUB_RUN_ID")
    return Facts(
        git_ref=env.get("GITHUB_REF"),
        git_ref_name=env.get("GITHUB_REF_NAME"),
        source_sha=env.get("GITHUB_SHA"),
        source_repo=f"{server}/{repo}" if repo else None,
        run_url=f"{server}/{repo}/actions/runs/{run}" if repo and run else None,
        owner=owner or None,
        project=name or None,
    )


def _gitlab(env: Env) -> Facts:
    # https://docs.gitlab.com/ci/variables/predefined_variables/ : a tag pipeline has CI_COMMIT_TAG, a branch
    # pipeline CI_COMMIT_BRANCH; a merge request pipeline has neither, only the source branch of the request.
    branch = env.get("CI_COMMIT_BRANCH") or env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
    path = env.get("CI_PROJECT_PATH", "")
    return Facts(
        git_ref=_ref(branch, env.get("CI_COMMIT_TAG")),
        git_ref_name=env.get("CI_COMMIT_REF_NAME"),
        source_sha=env.get("CI_COMMIT_SHA"),
        source_repo=env.get("CI_PROJECT_URL"),
        run_url=env.get("CI_PIPELINE_URL"),
        # A project in a subgroup (acme/payments/shop) belongs to its top-level group for `org`.
        owner=env.get("CI_PROJECT_ROOT_NAMESPACE") or path.split("/")[0] or None,
        project=env.get("CI_PROJECT_NAME") or path.rsplit("/", 1)[-1] or None,
    )


def _bitbucket(env: Env) -> Facts:
    workspace, slug = env.get("BITBUCKET_WORKSPACE", ""), env.get("BITBUCKET_REPO_SLUG", "")
    build = env.get("BITBUCKET_BUILD_NUMBER")
    origin = env.get("BITBUCKET_GIT_HTTP_ORIGIN")
    return Facts(
        git_ref=_ref(env.get("BITBUCKET_BRANCH"), env.get("BITBUCKET_TAG")),
        git_ref_name=env.get("BITBUCKET_TAG") or env.get("BITBUCKET_BRANCH"),
        source_sha=env.get("BITBUCKET_COMMIT"),
        source_repo=origin,
        run_url=f"{origin}/pipelines/results/{build}" if origin and build else None,
        owner=workspace or None,
        project=slug or None,
    )


def _named(branch: str, tag: str, sha: str, repo: str, run: str, owner: str, project: str) -> Callable[[Env], Facts]:
    """The facts of a CI that has one variable for each (Buildkite, CircleCI): the variables' names."""

    def facts(env: Env) -> Facts:
        return Facts(
            git_ref=_ref(env.get(branch), env.get(tag)),
            git_ref_name=env.get(tag) or env.get(branch),
            source_sha=env.get(sha),
            source_repo=env.get(repo),
            run_url=env.get(run),
            owner=env.get(owner),
            project=env.get(project),
        )

    return facts


_buildkite = _named(
    "BUILDKITE_BRANCH",
    "BUILDKITE_TAG",
    "BUILDKITE_COMMIT",
    "BUILDKITE_REPO",
    "BUILDKITE_BUILD_URL",
    "BUILDKITE_ORGANIZATION_SLUG",
    "BUILDKITE_PIPELINE_SLUG",
)
_circleci = _named(
    "CIRCLE_BRANCH",
    "CIRCLE_TAG",
    "CIRCLE_SHA1",
    "CIRCLE_REPOSITORY_URL",
    "CIRCLE_BUILD_URL",
    "CIRCLE_PROJECT_USERNAME",
    "CIRCLE_PROJECT_REPONAME",
)


def _azure(env: Env) -> Facts:
    collection, project = env.get("SYSTEM_COLLECTIONURI", ""), env.get("SYSTEM_TEAMPROJECT", "")
    build = env.get("BUILD_BUILDID")
    return Facts(
        git_ref=env.get("BUILD_SOURCEBRANCH"),  # already a full ref: refs/heads/main, refs/tags/v1.4.0
        git_ref_name=env.get("BUILD_SOURCEBRANCHNAME"),
        source_sha=env.get("BUILD_SOURCEVERSION"),
        source_repo=env.get("BUILD_REPOSITORY_URI"),
        run_url=f"{collection.rstrip('/')}/{project}/_build/results?buildId={build}" if collection and build else None,
        owner=project or None,
        project=env.get("BUILD_REPOSITORY_NAME"),
    )


def _jenkins(env: Env) -> Facts:
    # The git plugin's GIT_BRANCH is origin/main; a multibranch pipeline also sets BRANCH_NAME and TAG_NAME.
    branch = env.get("BRANCH_NAME") or (env.get("GIT_BRANCH", "").removeprefix("origin/") or None)
    return Facts(
        git_ref=_ref(branch, env.get("TAG_NAME")),
        git_ref_name=env.get("TAG_NAME") or branch,
        source_sha=env.get("GIT_COMMIT"),
        source_repo=env.get("GIT_URL"),
        run_url=env.get("BUILD_URL"),
    )


PROVIDERS: tuple[Provider, ...] = (
    Provider("GitHub Actions", lambda e: e.get("GITHUB_ACTIONS") == "true" or "GITHUB_REPOSITORY" in e, _github),
    Provider("GitLab CI", lambda e: e.get("GITLAB_CI") == "true", _gitlab),
    Provider("Bitbucket Pipelines", lambda e: "BITBUCKET_BUILD_NUMBER" in e, _bitbucket),
    Provider("Buildkite", lambda e: e.get("BUILDKITE") == "true", _buildkite),
    Provider("CircleCI", lambda e: e.get("CIRCLECI") == "true", _circleci),
    Provider("Azure Pipelines", lambda e: e.get("TF_BUILD", "").lower() == "true", _azure),
    Provider("Jenkins", lambda e: "JENKINS_URL" in e, _jenkins),
)


def detect(env: Env) -> Provider | None:
    return next((p for p in PROVIDERS if p.detect(env)), None)


def read(env: Env) -> dict[str, str]:
    """The context keys the detected CI gives, or none outside CI."""
    provider = detect(env)
    if provider is None:
        return {}
    facts = provider.facts(env)
    ctx = {
        key: value
        for key in ("git_ref", "git_ref_name", "source_sha", "source_repo", "run_url")
        if (value := getattr(facts, key))
    }
    # Owner and project become `org` and `app` only when they already are valid names: a CI's display name
    # ("Payments Team") is no guess plato should make.
    for key, value in (("org", facts.owner), ("app", facts.project)):
        if value and DNS_LABEL.fullmatch(value.lower()):
            ctx[key] = value.lower()
    return ctx
