"""No secret value reaches the deployment repository, the logs, an error message or the PR body.

A scan of the rendered tree refuses anything that looks like a credential and names the place (the rendered file
and the variable); the value itself is never printed. A token in `--repo` never appears in any output, and a
context value that looks like a token is refused before anything runs.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"

GHP = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
AWS = "AKIAIOSFODNN7REALKEY"
PASSWORD = "hunter2pass"
ENTROPIC = "q9Zt3Lx8VbN2mK7pR4sW1yH6jF0dG5cA+E/uTiOo"  # 40 characters of random base64
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "-----END RSA PRIVATE KEY-----\n"
)

# Credential shapes, checked independently of plato's own scanner.
LEAKS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9_]{20,}"),
    re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@$]+:(?!\$\()[^/\s@$]{3,}@"),
]


def _container(**fields) -> dict:
    return {"image": ".", **fields}


CASES = {
    # name: (container fields, the secret, what the message must name; its first item is on the spec line named)
    "password-in-url": (
        {"variables": {"DB_URL": f"postgres://u:{PASSWORD}@h/db"}},
        PASSWORD,
        ["DB_URL", "password in a URL"],
    ),
    "aws-access-key-id": ({"variables": {"AWS_KEY": AWS}}, AWS, ["AWS_KEY", "AWS Access Key"]),
    "github-token": ({"variables": {"TOKEN": GHP}}, GHP, ["TOKEN", "GitHub Token"]),
    "github-token-in-args": ({"args": [f"--token={GHP}"]}, GHP, ["args[0]", "GitHub Token"]),
    "high-entropy-variable": ({"variables": {"API_KEY": ENTROPIC}}, ENTROPIC, ["API_KEY", "high-entropy"]),
    "private-key-in-a-file": ({"files": {"/etc/tls/key.pem": {"content": PEM}}}, "MIIEow", ["Private Key"]),
}


def _spec(kit, fields: dict) -> Path:
    return kit.workload("app/score.yaml", {**kit.score(), "containers": {"main": _container(**fields)}})


def _nowhere(kit, secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text, f"the secret appears in output:\n{text}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_credential_in_a_spec_is_refused_naming_the_place_and_never_printed(name, kit) -> None:
    fields, secret, named = CASES[name]
    _spec(kit, fields)
    remote = kit.bare()
    remote.commit({"README.md": "seed\n"}, workdir=kit.tmp / "seed")
    before = remote.snapshot()

    render = kit.cli([*kit.args("render", Path("app/score.yaml")), "-o", "out"])
    publish = kit.run(
        [*kit.args("publish", Path("app/score.yaml"), repo=remote.path), "--pr-body", "pr.md", "--mode", "pr"]
    )

    # The spec's own line is named (not the rendered file the value would have gone to).
    key = {"args[0]": "- --token", "Private Key": "/etc/tls/key.pem:"}.get(named[0], named[0] + ":")
    lines = (kit.tmp / "app" / "score.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip().startswith(key))
    for run in (render, publish):
        kit.assert_refused(run, 2, names=["app/score.yaml", *named], line=line, never=[secret])
    assert not (kit.tmp / "out").exists()
    assert not (kit.tmp / "pr.md").exists()
    assert remote.snapshot() == before
    assert kit.leftovers() == []


def test_a_credential_written_by_a_rule_is_refused_naming_the_file(kit) -> None:
    kit.workload(
        "app/score.yaml", kit.score(variables={"H": "${resources.thing.host}"}, resources={"thing": {"type": "evil"}})
    )
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaky\ndata:\n  key: {AWS}\n"
    kit.rules(kit.env_rule(), kit.resource_rule("evil", "evil", {"outputs": {"host": "x"}, "manifests": manifest}))

    run = kit.cli([*kit.args("render", Path("app/score.yaml"), rules=Path("rules")), "-o", "out"])

    kit.assert_refused(run, 2, names=["development/web/manifest.yaml", "ConfigMap 'leaky'"], never=[AWS])
    assert not (kit.tmp / "out").exists()


def test_a_secret_with_data_from_a_rule_is_refused(kit) -> None:
    kit.workload(
        "app/score.yaml", kit.score(variables={"H": "${resources.thing.host}"}, resources={"thing": {"type": "evil"}})
    )
    manifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: plain-text-pw\n"
    kit.rules(kit.env_rule(), kit.resource_rule("evil", "evil", {"outputs": {"host": "x"}, "manifests": manifest}))

    run = kit.cli([*kit.args("render", Path("app/score.yaml"), rules=Path("rules")), "-o", "out"])

    kit.assert_refused(run, 2, names=["development/web/manifest.yaml", "Secret 'creds'"], never=["plain-text-pw"])


def test_a_private_key_in_binary_content_is_refused(kit) -> None:
    """Regression test: the credential scan (generator/create/guard.py) did not look inside binaryContent: a PEM
    private key given base64-encoded as a file's binaryContent landed in the ConfigMap's binaryData in the
    deployment repository."""
    _spec(kit, {"files": {"/etc/tls/key.pem": {"binaryContent": base64.b64encode(PEM.encode()).decode()}}})

    run = kit.cli([*kit.args("render", Path("app/score.yaml")), "-o", "out"])

    assert run.returncode == 2, run.explain()
    assert not (kit.tmp / "out").exists()


# -- the token in --repo ---------------------------------------------------------------------------------------------

TOKEN = "ghs_FAKE" + "x7Yw2Qp9Lm4Rt8Zk3Nv6Bc1Hd5Jf0Gs2"


@pytest.mark.parametrize(
    "url",
    [
        "https://x-access-token:{token}@127.0.0.1:{port}/acme/deployments.git",
        "https://{token}@127.0.0.1:{port}/acme/deployments.git",
        "http://x-access-token:{token}@127.0.0.1:{port}/acme/deployments.git",
    ],
)
@pytest.mark.parametrize("command", ["publish", "preview"])
def test_a_token_in_the_repository_url_never_reaches_the_output(command, url, kit, closed_port) -> None:
    repo = url.format(token=TOKEN, port=closed_port)
    extra = ["--pr-body", "pr.md", "--format", "json"] if command == "publish" else ["--format", "json"]

    run = kit.run([*kit.args(command, SHOP, app="shop", repo=repo), *extra], timeout=60)

    kit.assert_refused(run, 3, says=["unreachable"], never=[TOKEN, TOKEN[:12]])
    assert not (kit.tmp / "pr.md").exists()
    assert kit.leftovers() == []


def test_a_token_in_the_repository_url_is_not_printed_with_debug_either(kit, closed_port) -> None:
    repo = f"https://x-access-token:{TOKEN}@127.0.0.1:{closed_port}/acme/deployments.git"

    run = kit.run(["--debug", *kit.args("publish", SHOP, app="shop", repo=repo)], timeout=60)

    assert run.returncode == 3, run.explain()
    _nowhere(kit, TOKEN, run.stdout, run.stderr)
    _nowhere(kit, TOKEN[:12], run.stdout, run.stderr)


# -- the context -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "value", "what"),
    [
        ("flag", GHP, "GitHub Token"),
        ("flag", f"postgres://u:{PASSWORD}@db/app", "password in a URL"),
        ("flag", AWS, "AWS Access Key"),
        ("environment", GHP, "GitHub Token"),
        ("image", f"https://robot:{PASSWORD}@registry.example.com/acme/web:1.0", "password in a URL"),
    ],
)
def test_a_context_value_that_looks_like_a_credential_is_refused(how, value, what, kit) -> None:
    kit.workload()
    remote = kit.bare()
    before = remote.snapshot()
    argv = kit.args("publish", Path("app/score.yaml"), repo=remote.path)
    env = {}
    if how == "flag":
        argv += ["-c", f"note={value}"]
    elif how == "environment":
        env["PLATO_CONTEXT_NOTE"] = value
    else:
        argv[argv.index("--image") + 1] = value

    run = kit.run(argv, env=env)

    kit.assert_refused(run, 2, names=["--context"], says=[what], never=[value, PASSWORD])
    assert remote.snapshot() == before


# -- what a successful publish writes ------------------------------------------------------------------------------


def test_a_published_repository_holds_no_credential_looking_value(kit) -> None:
    """The bundled rules and the example app, in both environments: every file and every commit message."""
    from generator.credentials import high_entropy, looks_like_credential

    remote = kit.bare()
    for env in ("development", "production"):
        run = kit.run(
            [*kit.args("publish", SHOP, env=env, app="shop", repo=remote.path, context={"org": "acme"})],
        )
        assert run.returncode == 0, run.explain()
        _nowhere(kit, "hunter2", run.stdout, run.stderr)
    texts = {path: remote.show(path) for path in remote.files()}
    texts["(commit messages)"] = remote.git("log", "--format=%B", "main")
    for path, text in texts.items():
        for pattern in LEAKS:
            assert not pattern.search(text), f"{path}: {pattern.pattern}"
        assert looks_like_credential(text) is None, path
        for value in re.findall(r"value: (\S{32,})", text):
            assert not high_entropy(value), f"{path}: {value}"


# -- the fleet re-render ---------------------------------------------------------------------------------------------


def test_a_rerender_whose_new_rules_write_a_credential_writes_nothing(kit) -> None:
    """The re-render composes the stages itself (in its workers): the check stage and the commit-message check
    hold there too, and no worker's error quotes the value."""
    spec = kit.score(variables={"H": "${resources.thing.host}"}, resources={"thing": {"type": "evil"}})
    kit.workload("app/score.yaml", spec)
    clean = kit.resource_rule("evil", "evil", {"outputs": {"host": "x"}})
    leaky = kit.resource_rule(
        "evil",
        "evil",
        {
            "outputs": {"host": "x"},
            "manifests": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: {GHP}\n",
        },
    )
    remote = kit.bare()
    rules = kit.rules(clean, bundled=True)
    published = kit.run(kit.args("publish", Path("app/score.yaml"), rules=rules, repo=remote.path))
    assert published.returncode == 0, published.explain()
    before = remote.snapshot()

    rules = kit.rules(leaky, bundled=True)
    run = kit.run(["rerender", "--repo", str(remote.path), "--rules", str(rules), "--jobs", "1"])

    kit.assert_refused(run, 2, names=["development/web/manifest.yaml"], says=["GitHub Token"], never=[GHP])
    assert remote.snapshot() == before
