"""Admission policies end to end: plato as a subprocess, a real bare deployment repository.

A denial exits 2 and leaves the repository exactly as it was; a warning commits and is reported (stderr, the PR
body, GitHub annotations); `validate --policies` compiles; `check --format sarif` and `explain` list results.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

DEPLOYMENTS = """\
  matchConstraints:
    resourceRules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
"""
REPLICAS = (
    """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: max-replicas.example.com
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
"""
    + DEPLOYMENTS
    + """\
  validations:
    - expression: "object.spec.replicas <= int(params.data.maxReplicas)"
      messageExpression: "'at most ' + params.data.maxReplicas + ' replicas, not ' + string(object.spec.replicas)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: max-replicas
spec:
  policyName: max-replicas.example.com
  validationActions: [ACTION]
  paramRef: {name: replica-limits, namespace: platform, parameterNotFoundAction: Deny}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: replica-limits, namespace: platform}
data: {maxReplicas: "0"}
"""
)


def policies(tmp_path: Path, action: str) -> Path:
    folder = tmp_path / f"policies-{action.lower()}"
    folder.mkdir()
    (folder / "replicas.yaml").write_text(REPLICAS.replace("ACTION", action))
    return folder


def test_a_denied_publish_writes_nothing_and_exits_2(tmp_path, remote, run_plato, shop_args):
    first = run_plato(shop_args("publish", remote.path))
    assert first.returncode == 0, first.explain()
    tip, count = remote.tip(), remote.count()

    extra = ["--policies", str(policies(tmp_path, "Deny"))]
    r = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:2.0", extra=extra))

    assert r.returncode == 2, r.explain()
    assert (remote.tip(), remote.count()) == (tip, count)
    assert "Traceback" not in r.stderr
    # one message per denial: policy file:line, object and its file, the message, the Score file:line
    line = next(ln for ln in r.stderr.splitlines() if "Deployment/api" in ln)
    assert re.search(r"denied by policy max-replicas\.example\.com \(.*replicas\.yaml:14\)", line), line
    assert "Deployment/api in development/shop/manifest.yaml: at most 0 replicas, not 1" in line
    assert re.search(r"examples/shop/api\.score\.yaml:\d+: error:", line), line


def test_a_denied_first_publish_creates_no_branch(tmp_path, remote, run_plato, shop_args):
    r = run_plato(shop_args("publish", remote.path, extra=["--policies", str(policies(tmp_path, "Deny"))]))
    assert r.returncode == 2, r.explain()
    assert not remote.has("main")


def test_a_warned_publish_commits_and_reports(tmp_path, remote, run_plato, shop_args):
    body = tmp_path / "body.md"
    extra = ["--policies", str(policies(tmp_path, "Warn")), "--pr-body", str(body)]
    r = run_plato(shop_args("publish", remote.path, extra=extra))

    assert r.returncode == 0, r.explain()
    assert remote.count() == 1
    warned = [line for line in r.stderr.splitlines() if line.startswith("warning by policy max-replicas.example.com")]
    assert sorted(warned) == sorted(set(warned)) and len(warned) == 2  # each Deployment once (policies are judged
    # quietly while the repository is fetched, then for real)
    text = body.read_text()
    assert "### Admission policies" in text
    assert "- warning by policy max-replicas.example.com" in text
    assert "(from examples/shop/api.score.yaml:" in text  # the repository's path, not this machine's


def test_bundled_image_tag_policy_denies_latest_in_production(remote, run_plato, shop_args):
    # An image with no tag (which a registry serves as latest): the bundled policy denies it. An explicit
    # ':latest' is refused earlier, by matching (tests/create/test_hardening.py).
    r = run_plato(
        shop_args("publish", remote.path, env="production", image="ghcr.io/acme/shop", context={"org": "acme"})
    )
    assert r.returncode == 2, r.explain()
    assert "denied by policy plato-immutable-image-tags (plato:rules/90-policies.yaml:" in r.stderr
    assert not remote.has("main")
    ok = run_plato(shop_args("publish", remote.path, env="development", image="ghcr.io/acme/shop:latest"))
    assert ok.returncode == 0, ok.explain()  # the binding is for env_type production only


def test_github_actions_annotations(tmp_path, remote, run_plato, shop_args):
    extra = ["--policies", str(policies(tmp_path, "Deny"))]
    r = run_plato(shop_args("publish", remote.path, extra=extra), env={"GITHUB_ACTIONS": "true"})
    assert r.returncode == 2, r.explain()
    assert re.search(
        r"^::error file=examples/shop/api\.score\.yaml,line=\d+,title=policy max-replicas\.example\.com::denied",
        r.stderr,
        re.M,
    ), r.stderr


def test_validate_compiles_policies_and_reports_a_compile_error(tmp_path, run_plato):
    good = policies(tmp_path, "Deny")
    ok = run_plato(["validate", "--policies", str(good)])
    assert ok.returncode == 0, ok.explain()
    assert "policies: 5 policies, 5 bindings" in ok.stderr  # the 4 bundled ones and this one

    (good / "replicas.yaml").write_text(REPLICAS.replace("<= int(params", "<= int(params)").replace("ACTION", "Deny"))
    bad = run_plato(["validate", "--policies", str(good)])
    assert bad.returncode == 2, bad.explain()
    assert re.search(r"replicas\.yaml:14:\d+: error: CEL expression does not compile", bad.stderr), bad.stderr


def test_check_sarif_and_explain(tmp_path, run_plato, shop_args):
    extra = ["--policies", str(policies(tmp_path, "Warn"))]
    args = shop_args("check", "unused", extra=[*extra, "--format", "sarif"])
    args = [a for a in args if a not in ("--repo", "unused")]
    r = run_plato(args)
    assert r.returncode == 0, r.explain()
    sarif = json.loads(r.stdout)
    results = [x for x in sarif["runs"][0]["results"] if x["ruleId"] == "max-replicas.example.com"]
    assert len(results) == 2  # api and worker
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("examples/shop/")
    assert results[0]["level"] == "warning"

    args = [a if a != "check" else "explain" for a in args if a not in ("--format", "sarif")]
    explained = run_plato(args)
    assert explained.returncode == 0, explained.explain()
    assert "Admission policies applied" in explained.stdout
    assert "max-replicas.example.com: 2" in explained.stdout


# An immutable field, as clusters guard them: the selector of a Deployment may not change once it exists.
IMMUTABLE = f"""\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: immutable-selector.example.com
spec:
{DEPLOYMENTS}  validations:
    - expression: "oldObject == null || object.spec.selector == oldObject.spec.selector"
      message: "spec.selector is immutable"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: immutable-selector
spec:
  policyName: immutable-selector.example.com
  validationActions: [Deny]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: operation.example.com
spec:
{DEPLOYMENTS}  validations:
    - expression: "false"
      messageExpression: "'operation ' + request.operation + ', old object ' + (oldObject == null ? 'none' : 'there')"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: operation
spec:
  policyName: operation.example.com
  validationActions: [Warn]
"""
MANIFEST = "development/shop/manifest.yaml"


def immutable(tmp_path: Path) -> list[str]:
    folder = tmp_path / "policies-immutable"
    folder.mkdir(exist_ok=True)
    (folder / "immutable.yaml").write_text(IMMUTABLE)
    return ["--policies", str(folder)]


def selector_changed(text: str) -> str:
    """The manifest with the Deployment's selector changed, as a hand edit (or another tool) would leave it."""
    docs = text.split("\n---\n")
    at = next(i for i, d in enumerate(docs) if "kind: Deployment" in d and "\n  name: api\n" in d)
    docs[at] = docs[at].replace("    matchLabels:\n", "    matchLabels:\n      tier: edited\n", 1)
    assert "tier: edited" in docs[at]
    return "\n---\n".join(docs)


def test_old_object_is_what_the_deployment_repository_holds(tmp_path, remote, run_plato, shop_args):
    first = run_plato(shop_args("publish", remote.path, extra=immutable(tmp_path)))
    assert first.returncode == 0, first.explain()  # a CREATE: oldObject is null
    assert "operation CREATE, old object none" in first.stderr
    again = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:2.0", extra=immutable(tmp_path)))
    assert again.returncode == 0, again.explain()  # an UPDATE with the same selector
    assert "operation UPDATE, old object there" in again.stderr

    remote.commit({MANIFEST: selector_changed(remote.show(MANIFEST))}, workdir=tmp_path / "edit")
    tip, count = remote.tip(), remote.count()
    r = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:3.0", extra=immutable(tmp_path)))

    assert r.returncode == 2, r.explain()
    assert "denied by policy immutable-selector.example.com" in r.stderr
    assert "Deployment/api in development/shop/manifest.yaml: spec.selector is immutable" in r.stderr
    assert "Traceback" not in r.stderr
    assert (remote.tip(), remote.count()) == (tip, count)


def test_preview_judges_against_the_repository_too(tmp_path, remote, run_plato, shop_args):
    assert run_plato(shop_args("publish", remote.path, extra=immutable(tmp_path))).returncode == 0
    remote.commit({MANIFEST: selector_changed(remote.show(MANIFEST))}, workdir=tmp_path / "edit")

    r = run_plato(shop_args("preview", remote.path, extra=immutable(tmp_path)))

    assert r.returncode == 2, r.explain()
    assert "spec.selector is immutable" in r.stderr


def test_a_lost_race_judges_the_new_tips_objects(tmp_path, remote, run_plato, shop_args, git):
    # plato's first push loses a race to a job that changed the Deployment's selector: on the new tip the
    # publish is an UPDATE of that object, and the policy denies it; the racer's commit stays the tip.
    from tests.deploy.test_concurrency import racing_git

    assert run_plato(shop_args("publish", remote.path, extra=immutable(tmp_path))).returncode == 0
    clone = tmp_path / "racer"
    git("clone", "-q", str(remote.path), str(clone))
    manifest = clone / MANIFEST
    manifest.write_text(selector_changed(manifest.read_text(encoding="utf-8")), encoding="utf-8")
    git("commit", "-q", "-am", "a faster job", cwd=clone)
    racer = git("rev-parse", "HEAD", cwd=clone).strip()
    env = racing_git(tmp_path, clone)

    r = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:2.0", extra=immutable(tmp_path)), env=env)

    assert (tmp_path / "race-done").exists(), f"test harness: the racing push did not happen\n{r.explain()}"
    assert r.returncode == 2, r.explain()
    assert "spec.selector is immutable" in r.stderr
    assert remote.tip() == racer
