"""The record's digests: what an incremental re-render compares (generator/deploy/record.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from generator.commands.deploy import rendered
from generator.deploy.git import Git, ls_tree
from generator.deploy.record import inputs_digest, match_digest, output_digest, record_path, tree_digest
from generator.deploy.tree import write_files
from generator.match.rules import load_rules
from generator.pipeline import Inputs

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"
CTX = ["env=development", "app=shop", "org=acme", "source_sha=" + "b" * 40, "source_time=1000"]


def test_the_output_digest_of_a_publish_is_the_digest_of_the_tree_it_leaves(tmp_path: Path) -> None:
    tree, record = rendered(Inputs.load([SHOP], context=CTX, image="ghcr.io/acme/shop:1.0"))
    digests = json.loads(record)["digests"]
    assert digests["output"] == output_digest(tree.files)
    work = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    write_files(work, {**tree.files, record_path("development", "shop"): record})
    g = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*g, "add", "-A"], check=True)
    subprocess.run([*g, "commit", "-qm", "x"], check=True)
    listed = ls_tree(Git(work), "HEAD")
    entries = [(p, *e) for p, e in listed.items() if p != record_path("development", "shop")]
    assert tree_digest(entries) == digests["output"]  # from the tree's entries alone, no blob read
    some = sorted(tree.files)[0]
    edited = {**tree.files, some: tree.files[some] + b"# by hand\n"}
    assert output_digest(edited) != digests["output"]


def test_the_inputs_digest_covers_what_a_render_reads_from_the_record() -> None:
    _, record = rendered(Inputs.load([SHOP], context=CTX, image="ghcr.io/acme/shop:1.0"))
    data = json.loads(record)
    assert data["digests"]["inputs"] == inputs_digest(data)
    assert inputs_digest({**data, "context": {**data["context"], "image": "ghcr.io/acme/shop:2.0"}}) != inputs_digest(
        data
    )
    assert inputs_digest({**data, "source": {"sha": "c" * 40}}) == inputs_digest(data)  # provenance is not an input


def test_the_match_digest_changes_with_criteria_not_with_specs(tmp_path: Path) -> None:
    import shutil

    from generator.resources import bundled_dir

    base = match_digest(load_rules())
    spec = tmp_path / "spec"
    shutil.copytree(bundled_dir("rules"), spec)
    profiles = spec / "20-profiles.yaml"
    profiles.write_text(profiles.read_text().replace("cpu: 250m", "cpu: 300m"))
    assert match_digest(load_rules(spec)) == base
    criteria = tmp_path / "criteria"
    shutil.copytree(bundled_dir("rules"), criteria)
    profiles = criteria / "20-profiles.yaml"
    profiles.write_text(profiles.read_text().replace("env_type: production", "env_type: [production, staging]", 1))
    assert match_digest(load_rules(criteria)) != base
