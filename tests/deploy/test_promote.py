"""`plato promote` and `plato rollback` against real git: production gets exactly what staging ran (image digest
and specs), nothing is written on a refusal, a promotion repeated is a no-op, and a rollback is a new commit.

Three stages (development -> staging -> production) come from a rules folder in tmp_path (promotion_rules.py):
staging takes promotions from development, production from staging only and with a pinned image."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from testkit.promotion import promotion_rules

DIGEST = "sha256:" + "4f" * 32
PINNED = f"ghcr.io/acme/shop:1.0@{DIGEST}"
SHA_A, SHA_B = "a" * 40, "b" * 40


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return promotion_rules(tmp_path / "rules")


@pytest.fixture
def publish(remote, run_plato, shop_args, rules) -> Callable[..., None]:
    def run(env: str = "development", image: str = PINNED, sha: str = SHA_A, time: str = "100") -> None:
        ctx = {"org": "acme", "source_sha": sha, "source_time": time}
        r = run_plato(shop_args("publish", remote.path, env=env, image=image, context=ctx, extra=["--rules", rules]))
        assert r.returncode == 0, r.explain()

    return run


@pytest.fixture
def promote(remote, run_plato, rules) -> Callable[..., object]:
    def run(source: str, target: str, *extra: str) -> object:
        args = ["promote", "--from", source, "--to", target, "-c", "app=shop", "--repo", str(remote.path)]
        return run_plato([*args, "--rules", str(rules), *extra])

    return run


def record(remote, env: str, ref: str = "main") -> dict:
    return json.loads(remote.show(f".plato/inputs/{env}/shop.json", ref))


def images(remote, env: str) -> set[str]:
    text = remote.show(f"{env}/shop/manifest.yaml")
    return {ln.split("image:", 1)[1].strip() for ln in text.splitlines() if ln.strip().startswith("image:")}


def test_a_publish_records_the_image_digest_and_a_digest_of_the_specs(remote, publish) -> None:
    publish(image=PINNED)
    pinned = record(remote, "development")["pinned"]
    assert pinned["image"] == PINNED and pinned["digest"] == DIGEST
    assert pinned["specs"].startswith("sha256:") and len(pinned["specs"]) == 71
    assert "promoted" not in record(remote, "development")


def test_an_image_by_tag_is_recorded_unpinned(remote, publish) -> None:
    publish(image="ghcr.io/acme/shop:1.0")
    assert record(remote, "development")["pinned"]["digest"] is None


def test_production_runs_the_digest_and_specs_staging_ran(remote, publish, promote) -> None:
    publish()
    r = promote("development", "staging")
    assert r.returncode == 0, r.explain()
    staging_commit = remote.tip()
    r = promote("staging", "production")
    assert r.returncode == 0, r.explain()
    assert "promote shop from staging (source aaaaaaaaaaaa, image " + DIGEST + ")" in r.stderr

    dev, stg, prod = (record(remote, e) for e in ("development", "staging", "production"))
    assert prod["pinned"] == stg["pinned"] == dev["pinned"]
    assert prod["promoted"] == {"by": "promote", "from": "staging", "commit": staging_commit}
    assert prod["context"]["env"] == "production" and prod["context"]["env_type"] == "production"
    assert prod["source"]["sha"] == SHA_A
    assert PINNED in images(remote, "production") and PINNED in images(remote, "staging")
    assert "cd/prod-eu-west-1/production-shop.yaml" in remote.files()
    trailers = remote.git("log", "-1", "--format=%(trailers:only=true,unfold=true)")
    assert f"Plato-Image-Digest: {DIGEST}" in trailers
    assert f"Plato-Spec-Digest: {prod['pinned']['specs']}" in trailers
    assert f"Plato-Promoted-From: staging {staging_commit}" in trailers


def test_promoting_twice_makes_no_second_commit(remote, publish, promote) -> None:
    publish()
    assert promote("development", "staging").returncode == 0
    before = remote.count()
    r = promote("development", "staging")
    assert r.returncode == 0, r.explain()
    assert remote.count() == before
    assert "no commit made" in r.stderr


@pytest.mark.parametrize(
    ("source", "target", "says"),
    [
        ("staging", "production", "shop in staging has no recorded inputs"),
        ("development", "production", "production takes promotions from staging only"),
        ("development", "development", "--from and --to are both development"),
    ],
)
def test_a_refused_promotion_exits_2_and_writes_nothing(remote, publish, promote, source, target, says) -> None:
    publish()
    before = remote.blobs()
    r = promote(source, target)
    assert r.returncode == 2, r.explain()
    assert says in r.stderr and "Traceback" not in r.output
    assert remote.blobs() == before and remote.count() == 1


def test_production_refuses_an_image_not_pinned_by_digest(remote, publish, promote) -> None:
    publish(image="ghcr.io/acme/shop:1.0")
    assert promote("development", "staging").returncode == 0  # staging does not require a digest
    before = remote.tip()
    r = promote("staging", "production")
    assert r.returncode == 2, r.explain()
    assert "requires an image pinned by digest" in r.stderr
    assert remote.tip() == before


def test_promote_in_pr_mode_pushes_the_app_branch_with_the_promotion_in_the_body(
    remote, publish, promote, tmp_path
) -> None:
    publish()
    main = remote.tip()
    r = promote("development", "staging", "--mode", "pr", "--pr-body-dir", str(tmp_path / "bodies"))
    assert r.returncode == 0, r.explain()
    assert remote.tip() == main
    assert record(remote, "staging", "plato/staging/shop")["pinned"]["digest"] == DIGEST
    body = (tmp_path / "bodies" / "staging-shop.md").read_text(encoding="utf-8")
    assert f"promote shop from development (source aaaaaaaaaaaa, image {DIGEST})" in body
    assert "```diff" in body


def test_rollback_restores_a_past_render_as_a_new_commit(remote, publish, run_plato) -> None:
    publish(image=PINNED, sha=SHA_A, time="100")
    first = remote.tip()
    old_manifest = remote.show("development/shop/manifest.yaml")
    publish(image="ghcr.io/acme/shop:2.0@sha256:" + "9e" * 32, sha=SHA_B, time="200")
    assert remote.show("development/shop/manifest.yaml") != old_manifest
    history = remote.subjects()

    args = ["rollback", "-c", "env=development", "-c", "app=shop", "--to", first, "--repo", str(remote.path)]
    r = run_plato(args)
    assert r.returncode == 0, r.explain()
    assert remote.show("development/shop/manifest.yaml") == old_manifest
    assert remote.subjects()[1:] == history, "history was rewritten"
    assert record(remote, "development")["source"]["sha"] == SHA_A
    assert record(remote, "development")["promoted"] == {"by": "rollback", "from": "development", "commit": first}
    assert "shop:2.0" in r.stderr  # the diff is shown
    assert f"Plato-Rolled-Back-To: {first}" in remote.git("log", "-1", "--format=%(trailers:only=true)")
    again = run_plato(args)
    assert again.returncode == 0 and remote.subjects()[1:] == history


def test_rollback_with_rules_at_rev_refuses_rules_that_changed(remote, publish, run_plato, rules) -> None:
    publish()
    first = remote.tip()
    before = remote.blobs()
    args = ["rollback", "-c", "env=development", "-c", "app=shop", "--to", first, "--repo", str(remote.path)]
    ok = run_plato([*args, "--rules", str(rules), "--rules-at-rev"])
    assert ok.returncode == 0, ok.explain()  # the same rules: nothing to change
    assert remote.blobs() == before
    tmpl = rules / "40-development.yaml"
    tmpl.write_text(tmpl.read_text(encoding="utf-8").replace("redis:7.4.1-alpine", "redis:7.4.2-alpine"), "utf-8")
    r = run_plato([*args, "--rules", str(rules), "--rules-at-rev"])
    assert r.returncode == 2, r.explain()
    assert "the rules differ from those shop in development was rendered with" in r.stderr
    assert remote.blobs() == before


@pytest.mark.parametrize(("rev", "says"), [("f" * 40, "is not a commit of main"), ("--all", "is not a revision")])
def test_rollback_to_a_commit_that_is_not_there_is_exit_2(remote, publish, run_plato, rev, says) -> None:
    publish()
    tip = remote.tip()
    r = run_plato(["rollback", "-c", "env=development", "-c", "app=shop", "--to", rev, "--repo", str(remote.path)])
    assert r.returncode == 2, r.explain()
    assert says in r.stderr and remote.tip() == tip


def test_a_rerender_keeps_what_promoted_an_app_and_the_keys_ci_gave(remote, publish, promote, run_plato, rules) -> None:
    publish()
    assert promote("development", "staging").returncode == 0
    before = record(remote, "staging")
    envs = rules / "10-environments.yaml"
    envs.write_text(envs.read_text(encoding="utf-8").replace("staging.example.com", "stage.example.com"), "utf-8")
    r = run_plato(["rerender", "--repo", str(remote.path), "--rules", str(rules), "--select", "env=staging"])
    assert r.returncode == 0, r.explain()
    after = record(remote, "staging")
    assert after["rules"] != before["rules"], "the rule change did not reach the record"
    assert after["promoted"] == before["promoted"] and after["given"] == before["given"]
    assert after["pinned"] == before["pinned"]


def test_select_promotes_several_apps_and_a_selection_of_none_writes_nothing(
    remote, run_plato, shop_args, rules
) -> None:
    for app in ("shop", "cart", "blog"):
        ctx = {"org": "acme", "source_sha": SHA_A, "source_time": "100"}
        args = shop_args("publish", remote.path, app=app, image=PINNED, context=ctx, extra=["--rules", rules])
        assert run_plato(args).returncode == 0
    base = ["promote", "--from", "development", "--to", "staging", "--repo", str(remote.path), "--rules", str(rules)]
    before = remote.count()
    r = run_plato([*base, "--select", "app=s*,org=acme"])
    assert r.returncode == 0, r.explain()
    assert remote.count() == before + 1
    staged = {f.split("/")[1] for f in remote.files() if f.startswith("staging/")}
    assert staged == {"shop"}
    r = run_plato([*base, "--select", "app=c*"])
    assert r.returncode == 0 and "cart" in {f.split("/")[1] for f in remote.files() if f.startswith("staging/")}
    tip = remote.tip()
    r = run_plato([*base, "--select", "app=nothing-*"])
    assert r.returncode == 2 and "no app recorded in development matches --select" in r.stderr
    assert "recorded in development: blog, cart, shop" in r.stderr and remote.tip() == tip


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from", "development", "--to", "Prod!", "-c", "app=shop"], "is not a valid name"),
        (["--from", "development", "--to", "staging"], "name the app (-c app=APP)"),
        (["--from", "development", "--to", "staging", "--select", "app"], "is not key=value"),
    ],
)
def test_bad_promote_arguments_exit_2(remote, publish, run_plato, args, says) -> None:
    publish()
    tip = remote.tip()
    r = run_plato(["promote", *args, "--repo", str(remote.path)])
    assert r.returncode == 2, r.explain()
    assert says in r.stderr and "Traceback" not in r.output and remote.tip() == tip


def test_a_selection_the_remote_refuses_partway_names_the_apps_that_landed(remote, run_plato, shop_args, rules) -> None:
    """Every app is checked before the first lands, but the remote's own hook can refuse a later one: the first
    had landed, and the message said "nothing was published"."""
    for app in ("s1", "s2", "s3"):
        ctx = {"org": "acme", "source_sha": SHA_A, "source_time": "100"}
        args = shop_args("publish", remote.path, app=app, image=PINNED, context=ctx, extra=["--rules", rules])
        assert run_plato(args).returncode == 0
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\nwhile read old new ref; do\n"
        '  if git diff --name-only "$old" "$new" 2>/dev/null | grep -q "^staging/s2/"; then\n'
        '    echo "s2 may not be staged today" >&2; exit 1\n  fi\ndone\nexit 0\n',
        encoding="utf-8",
    )
    hook.chmod(0o755)
    base = ["promote", "--from", "development", "--to", "staging", "--repo", str(remote.path), "--rules", str(rules)]

    r = run_plato([*base, "--select", "app=s*"])

    assert r.returncode == 3, r.explain()
    assert "promoted before it, and landed: staging/s1" in r.stderr, r.stderr
    assert "nothing was published" not in r.stderr
    assert {f.split("/")[1] for f in remote.files() if f.startswith("staging/")} == {"s1"}


def test_a_key_the_target_needs_and_the_source_did_not_record_is_taken_from_promote(remote, run_plato) -> None:
    """The message said "pass -c org=..." and promote dropped it: an app published without org could never be
    promoted to production. A key the source recorded stays as it was."""
    shop = str(Path(__file__).resolve().parents[2] / "examples" / "shop")
    published = run_plato(["publish", shop, "-c", "env=development", "-c", "app=shop", "--image",
                           "ghcr.io/acme/shop:1.0.0", "--repo", str(remote.path)])  # fmt: skip
    assert published.returncode == 0, published.explain()
    base = ["promote", "--from", "development", "--to", "production", "-c", "app=shop", "--repo", str(remote.path)]

    refused = run_plato(base)
    assert refused.returncode == 2 and "-c org=..." in refused.stderr, refused.explain()
    promoted = run_plato([*base, "-c", "org=acme"])
    assert promoted.returncode == 0, promoted.explain()
    assert record(remote, "production")["context"]["org"] == "acme"
