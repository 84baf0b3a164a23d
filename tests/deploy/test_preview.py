"""`plato preview`: what a publish would change, in text, JSON and Markdown; it never writes anything."""

from __future__ import annotations

import json
import re

import pytest

NEW_FILES = {"cd/dev/development-shop.yaml", "development/shop/manifest.yaml"}


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_preview_of_a_missing_repo_shows_everything_added_and_creates_nothing(fmt, tmp_path, run_plato, shop_args):
    target = tmp_path / "absent" / "deploy.git"

    r = run_plato(shop_args("preview", target, extra=["--format", fmt]))

    assert r.returncode == 0, r.explain()
    assert not target.exists() and not target.parent.exists()
    if fmt == "text":
        assert re.search(r"^shop in development: \d+ files would change$", r.stdout, re.M)
        assert " 0 changed " in r.stdout and " 0 removed" in r.stdout
        assert "+++ b/development/shop/manifest.yaml" in r.stdout
        assert "--- /dev/null" in r.stdout
    else:
        data = json.loads(r.stdout)
        assert data["changed"] is True
        (app,) = data["apps"]
        assert (app["env"], app["app"]) == ("development", "shop")
        assert set(app["files"]) >= NEW_FILES
        assert set(app["files"].values()) == {"added"}
        assert app["changes"] and {c["status"] for c in app["changes"]} == {"added"}
        assert all(n["changed"] == 0 and n["removed"] == 0 for n in app["counts"].values())
        assert app["counts"]["Deployment"]["added"] == 2


def test_preview_after_publish_says_no_changes_and_never_changes_the_remote(remote, run_plato, shop_args) -> None:
    published = run_plato(shop_args("publish", remote.path))
    assert published.returncode == 0, published.explain()
    refs, snapshot = remote.git("for-each-ref"), remote.snapshot()

    same = run_plato(shop_args("preview", remote.path))
    assert same.returncode == 0, same.explain()
    assert same.stdout.startswith("No changes")
    assert remote.git("for-each-ref") == refs and remote.snapshot() == snapshot

    same_json = run_plato(shop_args("preview", remote.path, extra=["--format", "json"]))
    assert same_json.returncode == 0, same_json.explain()
    data = json.loads(same_json.stdout)
    assert data["changed"] is False and data["apps"][0]["files"] == {}
    assert remote.git("for-each-ref") == refs and remote.snapshot() == snapshot

    other = run_plato(shop_args("preview", remote.path, image="ghcr.io/acme/shop:2.0", extra=["--format", "markdown"]))
    assert other.returncode == 0, other.explain()
    assert "<!-- plato:pr env=development app=shop -->" in other.stdout
    assert "| development | shop | 0 | 2 | 0 | none |" in other.stdout
    assert "+        image: ghcr.io/acme/shop:2.0" in other.stdout
    assert "<details>" in other.stdout
    assert remote.git("for-each-ref") == refs and remote.snapshot() == snapshot


def test_preview_of_an_empty_remote_changes_nothing(remote, run_plato, shop_args) -> None:
    refs, snapshot = remote.git("for-each-ref"), remote.snapshot()

    r = run_plato(shop_args("preview", remote.path, extra=["--format", "json"]))

    assert r.returncode == 0, r.explain()
    assert json.loads(r.stdout)["changed"] is True
    assert remote.git("for-each-ref") == refs == ""
    assert remote.snapshot() == snapshot
