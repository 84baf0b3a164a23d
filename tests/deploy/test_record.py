"""The recorded inputs of an (env, app) (generator/deploy/record.py): deterministic bytes, what is kept and what
is not, hand-edited records, and the one freshness comparison."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from testkit.build import score

from generator.commands.deploy import rendered
from generator.deploy.git import Git, ls_tree
from generator.deploy.record import (
    inputs_digest,
    load_record,
    make_record,
    match_digest,
    newer_source,
    output_digest,
    pinned,
    read_record,
    record_path,
    tree_digest,
)
from generator.deploy.tree import write_files
from generator.errors import UserError
from generator.match.rules import load_rules
from generator.pipeline import Inputs, inputs_from_record
from generator.read.workload import workload_from_data

DIGEST = "sha256:" + "ab" * 32
CONTEXT = {"env": "development", "app": "shop", "source_sha": "a" * 40, "source_repo": "acme/shop"}


def _two_containers() -> dict[str, Any]:
    doc = score("web", variables={"PORT": "8080"})
    # Declared out of alphabetical order: the record's sorted JSON must not lose the spec's order.
    doc["containers"] = {"zeta": {"image": "nginx:1.27"}, "alpha": {"image": "busybox:1.36"}}
    return doc


def _record(context: dict[str, str], time: int | None = 100, **kw: Any) -> dict[str, Any]:
    w = workload_from_data(score("web"), "web.yaml")
    return json.loads(make_record(context, [w], time, ["web.yaml"], **kw))


def test_a_record_is_the_same_bytes_whatever_order_its_inputs_come_in() -> None:
    w = workload_from_data(_two_containers(), "web.yaml")
    one = make_record(dict(CONTEXT), [w], 100, ["web.yaml"], {"b": "sha256:2", "a": "sha256:1"}, ["dev/shop/"])
    shuffled = dict(reversed(list(CONTEXT.items())))
    two = make_record(shuffled, [w], 100, ["web.yaml"], {"a": "sha256:1", "b": "sha256:2"}, ["dev/shop/"])
    assert one == two
    assert one.endswith(b"}\n")
    assert json.dumps(json.loads(one), sort_keys=True, indent=1, ensure_ascii=False) + "\n" == one.decode()
    assert record_path("development", "shop") == ".plato/inputs/development/shop.json"


def test_per_run_keys_stay_out_and_the_source_commit_and_time_go_in() -> None:
    ctx = {**CONTEXT, "run_url": "https://ci/run/7", "run_id": "7", "source_time": "123"}
    data = _record(ctx, time=123)
    assert set(data["context"]) == set(CONTEXT)  # a re-run of the same commit writes the same record
    assert data["source"] == {"sha": "a" * 40, "repo": "acme/shop", "time": 123}
    assert _record({**ctx, "run_id": "8", "run_url": "https://ci/run/8"}, time=123) == data


def test_given_keys_are_sorted_and_only_the_kept_ones() -> None:
    data = _record({**CONTEXT, "run_id": "7"}, given=["source_sha", "run_id", "app", "env"])
    assert data["given"] == ["app", "env", "source_sha"]
    assert "given" not in _record(CONTEXT)  # not given: a record from before the field, read the same
    assert "promoted" not in _record(CONTEXT)
    assert _record(CONTEXT, promoted={"from": "staging", "commit": "c" * 40})["promoted"]["from"] == "staging"


def test_the_spec_order_of_containers_is_kept_beside_the_sorted_json() -> None:
    w = workload_from_data(_two_containers(), "web.yaml")
    data = json.loads(make_record(CONTEXT, [w], None, ["web.yaml"]))
    assert data["containerOrder"] == {"web": ["zeta", "alpha"]}
    assert list(data["workloads"][0]["containers"]) == ["alpha", "zeta"]  # what sorted JSON alone keeps
    assert "containerOrder" not in _record(CONTEXT)  # one container: nothing to keep


def test_pinned_takes_the_image_digest_and_a_digest_of_the_specs_that_ignores_key_order() -> None:
    spec = score("web", variables={"A": "1", "B": "2"})
    reordered = json.loads(json.dumps(spec))
    reordered["containers"]["main"]["variables"] = {"B": "2", "A": "1"}
    by_digest = pinned(f"ghcr.io/acme/shop:1.0@{DIGEST}", [spec])
    assert by_digest["digest"] == DIGEST and by_digest["image"] == f"ghcr.io/acme/shop:1.0@{DIGEST}"
    assert pinned("ghcr.io/acme/shop:1.0", [spec])["digest"] is None
    assert pinned(f"ghcr.io/acme/shop@{DIGEST}x", [spec])["digest"] is None  # not a whole digest at the end
    assert pinned(None, [reordered])["specs"] == by_digest["specs"]
    changed = score("web", variables={"A": "1", "B": "3"})
    assert pinned(None, [changed])["specs"] != by_digest["specs"]
    record = _record({**CONTEXT, "image": f"ghcr.io/acme/shop:1.0@{DIGEST}"})
    assert record["pinned"]["digest"] == DIGEST


def test_a_record_read_back_for_a_re_render_makes_the_same_bytes() -> None:
    """A re-render rebuilds the workloads from the record alone: the record it then writes is byte-identical,
    the containers in the spec's order again."""
    w = workload_from_data(_two_containers(), "web.yaml")
    ctx = {**CONTEXT, "run_id": "7"}
    first = make_record(ctx, [w], 100, ["web.yaml"], {"r": "sha256:1"}, ["dev/shop/"], ["app", "env"])
    loaded = load_record(first)
    inputs = inputs_from_record(loaded, ".plato/inputs/development/shop.json", None)
    assert [c.name for c in inputs.workloads[0].containers] == ["zeta", "alpha"]
    second = make_record(
        inputs.context, inputs.workloads, 100, inputs.files, loaded["rules"], loaded["owned"], loaded["given"]
    )
    assert second == first


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (b"{not json", "Expecting property name"),
        (b"[1, 2]", "a record is a JSON object"),
        (b'{"context": ["env"]}', "'context' of a record is an object"),
        (b'{"source": "acme/shop"}', "'source' of a record is an object"),
        (b'{"owned": "dev/shop/"}', "'owned' and 'workloads' of a record are lists"),
        (b'{"workloads": {"web": {}}}', "'owned' and 'workloads' of a record are lists"),
    ],
)
def test_a_hand_edited_record_is_refused_naming_its_file(text: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        load_record(text)
    rel = ".plato/inputs/development/shop.json"
    with pytest.raises(UserError) as caught:
        read_record(text, rel)
    assert caught.value.file == rel and says in caught.value.message
    assert "publish the app again" in (caught.value.hint or "")


def test_a_minimal_record_loads_with_nothing_but_what_it_has() -> None:
    assert load_record(b'{"context": {"env": "development"}}') == {"context": {"env": "development"}}


def _source(sha: str, time: int | None) -> bytes:
    return json.dumps({"source": {"sha": sha, "time": time}}).encode()


def test_newer_source_compares_recorded_commit_times() -> None:
    old, new = _source("1" * 40, 100), _source("2" * 40, 200)
    newer, why = newer_source(new, old)
    assert newer == "theirs" and "newer source commit 222222222222" in why and "111111111111 at 100" in why
    assert newer_source(old, new) == ("ours", "")
    assert newer_source(None, new) == ("neither", "")  # nothing there yet
    assert newer_source(new, new) == ("neither", "")
    assert newer_source(_source("2" * 40, 300), new) == ("neither", "")  # the same commit, whatever its time
    assert newer_source(_source("1" * 40, 200), new) == ("neither", "")  # equal times: no order
    assert newer_source(_source("1" * 40, None), new) == ("ours", "")  # theirs has no time: ours wins
    assert newer_source(old, _source("2" * 40, None)) == ("neither", "")  # ours has no time: nothing to compare
    assert newer_source(b"{broken", new) == ("neither", "")  # an unreadable record blocks nothing


# The digests an incremental re-render compares.

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
