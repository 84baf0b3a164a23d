"""`plato publish --mode pr`: a branch per (env, app) for a pull request, main untouched, and a PR body that fits
GitHub's 65,536-character limit however large the change."""

from __future__ import annotations

import re
import textwrap

import pytest

BRANCH = "plato/development/shop"
MARKER = "<!-- plato:pr env=development app=shop -->"
LIMIT = 65_536


@pytest.mark.parametrize("filters", [False, True], ids=["no-filters", "filtered-fetches"])
def test_pr_mode_pushes_a_branch_from_main_and_leaves_main_alone(
    tmp_path, remote, run_plato, shop_args, filters
) -> None:
    if filters:  # the remote serves filtered fetches: plato downloads the trees on the way to its paths only
        remote.git("config", "uploadpack.allowFilter", "true")
    base = remote.commit({"other/keep.txt": "x\n"}, workdir=tmp_path / "seed")
    body = tmp_path / "out" / "body.md"

    first = run_plato(shop_args("publish", remote.path, extra=["--mode", "pr", "--pr-body", str(body)]))

    assert first.returncode == 0, first.explain()
    assert remote.tip() == base and remote.count() == 1
    assert remote.has(BRANCH)
    assert remote.git("rev-parse", f"{BRANCH}~1").strip() == base
    assert remote.count(BRANCH) == 2
    assert "development/shop/manifest.yaml" in remote.files(BRANCH)
    assert "other/keep.txt" in remote.files(BRANCH)
    assert f"on {BRANCH}" in first.stderr
    text = body.read_text(encoding="utf-8")
    assert text.startswith(MARKER + "\n")
    assert "| Environment | App | Added | Changed | Removed | Infrastructure |" in text
    assert re.search(r"^\| development \| shop \| [1-9]\d* \| 0 \| 0 \| .+ \|$", text, re.M)
    assert text.count("<details>") == text.count("</details>") > 0
    assert "```diff" in text
    assert "### Provenance" in text
    assert len(text) < LIMIT
    first_tip = remote.tip(BRANCH)

    # A re-run with another image replaces the branch: still one commit on top of main's tip.
    second = run_plato(
        shop_args("publish", remote.path, image="ghcr.io/acme/shop:2.0", extra=["--mode", "pr", "--pr-body", str(body)])
    )

    assert second.returncode == 0, second.explain()
    assert remote.tip() == base and remote.count() == 1
    assert remote.tip(BRANCH) != first_tip
    assert remote.git("rev-parse", f"{BRANCH}~1").strip() == base
    assert remote.count(BRANCH) == 2
    assert "ghcr.io/acme/shop:2.0" in remote.show("development/shop/manifest.yaml", BRANCH)
    assert "ghcr.io/acme/shop:2.0" in body.read_text(encoding="utf-8")

    # main moves on (another app lands): the next PR run starts from the new tip.
    moved = remote.commit({"other/later.txt": "y\n"}, workdir=tmp_path / "seed2")
    third = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:3.0", extra=["--mode", "pr"]))

    assert third.returncode == 0, third.explain()
    assert remote.tip() == moved
    assert remote.git("rev-parse", f"{BRANCH}~1").strip() == moved
    assert "other/later.txt" in remote.files(BRANCH)


SPEC = textwrap.dedent(
    """\
    apiVersion: score.dev/v1b1
    metadata:
      name: w{i:03d}
    containers:
      main:
        image: .
        variables:
          N: "{i}"
    service:
      ports:
        http:
          port: 80
          targetPort: 8080
    """
)


def test_a_huge_change_gets_a_pr_body_under_the_limit(tmp_path, remote, run_plato, shop_args) -> None:
    specs = tmp_path / "big"
    specs.mkdir()
    for i in range(300):
        (specs / f"w{i:03d}.score.yaml").write_text(SPEC.format(i=i), encoding="utf-8")
    body = tmp_path / "body.md"

    r = run_plato(
        shop_args("publish", remote.path, app="big", workloads=[specs], extra=["--mode", "pr", "--pr-body", str(body)])
    )

    assert r.returncode == 0, r.explain()
    assert remote.has("plato/development/big") and not remote.has("main")
    text = body.read_text(encoding="utf-8")
    assert len(text) < LIMIT
    assert text.startswith("<!-- plato:pr env=development app=big -->")
    assert "| development | big |" in text
    note = re.search(r"(\d+) of (\d+) diffs are not shown", text)
    assert note, text[-2000:]
    hidden, total = int(note.group(1)), int(note.group(2))
    assert 0 < hidden < total
    assert text.count("<details>") == total - hidden
    assert "### Provenance" in text  # the footer survives the cut


NEWER = {"source_sha": "b" * 40, "source_time": "2000"}
OLDER = {"source_sha": "a" * 40, "source_time": "1000"}


def test_an_older_source_commit_never_replaces_a_newer_ones_pr_branch(tmp_path, remote, run_plato, shop_args) -> None:
    """Regression test: in --mode pr an older source commit force-pushed over the PR branch of a newer one. As in
    push mode, the older run reports why and exits 0, and the branch keeps the newer commit."""
    remote.commit({"other/keep.txt": "x\n"}, workdir=tmp_path / "seed")
    pr = ["--mode", "pr"]
    newer = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:new", context=NEWER, extra=pr))
    assert newer.returncode == 0, newer.explain()
    tip = remote.tip(BRANCH)

    older = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:old", context=OLDER, extra=pr))

    assert older.returncode == 0, older.explain()
    assert "not published" in older.stderr and "newer source commit" in older.stderr, older.stderr
    assert "b" * 12 in older.stderr
    assert remote.tip(BRANCH) == tip
    assert "ghcr.io/acme/shop:new" in remote.show("development/shop/manifest.yaml", BRANCH)

    # The newer one again, or a newer still, does replace the branch.
    newest = {"source_sha": "c" * 40, "source_time": "3000"}
    again = run_plato(shop_args("publish", remote.path, image="ghcr.io/acme/shop:3", context=newest, extra=pr))
    assert again.returncode == 0, again.explain()
    assert "ghcr.io/acme/shop:3" in remote.show("development/shop/manifest.yaml", BRANCH)
    assert remote.count(BRANCH) == 2  # still one commit on top of main
