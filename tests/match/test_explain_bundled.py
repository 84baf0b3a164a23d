"""The bundled rules against real Score files (../shared/conformance), and the rules shipping in the wheel.

The shared folder is found by tests/conftest.py's `shared_dir` fixture: PLATO_SHARED names it (then a missing
file FAILS the test), else ../shared beside the repository (then a missing folder skips).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

EXAMPLES_DIR = ("conformance", "score", "score-compose", "examples")
# One app per folder. Listed here rather than discovered, so that a missing folder fails (or skips) its own
# test instead of silently shrinking the run; test_example_list_is_complete catches new folders.
EXAMPLES = (
    "01-hello",
    "02-environment",
    "03-files",
    "04-multiple-workloads",
    "05-volume-mounts",
    "06-resource-provisioning",
    "07-overrides",
    "08-service-port-resource",
    "09-dns-and-route",
    "10-amqp-rabbitmq",
    "11-mongodb-document-database",
    "12-mysql-database",
    "13-kafka-topic",
)
CONTEXTS = {
    "development": ("env=development", "app=demo"),
    "production": ("env=production", "app=demo", "org=acme"),
}


def example_files(shared_dir, name, production=False):
    """The example's files; for production, a copy changed only as production requires (images that are not
    ':latest', volumes every replica can mount: tests/create/conftest.py), since production refuses the rest."""
    from testkit.render import accepted_example

    folder = shared_dir(*EXAMPLES_DIR, name)
    if production:
        folder = accepted_example(folder)
    files = sorted(folder.glob("*.yaml"))
    assert files, f"{folder}: no .yaml files"
    return files


def declared(files):
    """(workload, resource) pairs as written in the Score files."""
    out = set()
    for f in files:
        for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
            if doc:
                out |= {(doc["metadata"]["name"], r) for r in doc.get("resources") or {}}
    return out


def explain_json(build, files, context):
    args = ["explain", "--format", "json"]
    for c in context:
        args += ["-c", c]
    result = build.run_cli(*args, *map(str, files))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout)


def test_example_list_is_complete(shared_dir):
    root = shared_dir(*EXAMPLES_DIR)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == list(EXAMPLES)


@pytest.mark.parametrize("ctx", list(CONTEXTS), ids=list(CONTEXTS))
@pytest.mark.parametrize("name", EXAMPLES)
def test_explain_every_example_with_bundled_rules(shared_dir, build, name, ctx):
    files = example_files(shared_dir, name, production=ctx == "production")
    data = explain_json(build, files, CONTEXTS[ctx])

    assert data["target"]["environment"] == ctx
    assert data["context"]["env_type"] == ctx
    assert data["rules"].endswith("rules")

    resource_decisions = [d for d in data["decisions"] if d["kind"] == "Resource"]
    for d in resource_decisions:
        assert d["winner"] is not None, d
        assert [c["rule"] for c in d["candidates"] if c["status"] == "won"] == [d["winner"]], d
        assert not any(c["status"] == "tie" for c in d["candidates"]), d

    # Every declared resource is in exactly one resource node; every node has a rule.
    wanted = declared(files)
    listed = [tuple(x.split("/", 1)) for r in data["resources"] for x in r["declared_by"]]
    assert sorted(listed) == sorted(wanted)
    assert all(r["rule"] for r in data["resources"])
    # One decision per node: declared ones and those required by a rule.
    assert len(resource_decisions) == len(data["resources"])
    # Provisioning order: a node comes after everything it depends on.
    seen = set()
    for r in data["resources"]:
        assert set(r["depends_on"]) <= seen, r
        seen.add(r["key"])


def test_explain_text_format_for_an_example(shared_dir, build):
    files = example_files(shared_dir, "09-dns-and-route")
    args = ["explain", "-c", "env=development", "-c", "app=demo", *map(str, files)]
    result = build.run_cli(*args)
    assert result.exit_code == 0, result.output
    assert "resources, in provisioning order:" in result.stdout
    assert "+ dns" in result.stdout and "+ route" in result.stdout


def test_shared_redis_in_example_06_is_one_node(shared_dir, build):
    files = example_files(shared_dir, "06-resource-provisioning")
    data = explain_json(build, files, CONTEXTS["development"])
    shared = [r for r in data["resources"] if r["id"] == "main-cache"]
    assert len(shared) == 1
    assert shared[0]["declared_by"] == ["workload-one/cache-a", "workload-two/cache-b"]


def test_kafka_topic_example_gets_one_broker(shared_dir, build):
    for name, context in CONTEXTS.items():
        files = example_files(shared_dir, "13-kafka-topic", production=name == "production")
        data = explain_json(build, files, context)
        brokers = [r for r in data["resources"] if r["type"] == "kafka"]
        assert len(brokers) == 1 and brokers[0]["declared_by"] == []


def test_score_full_has_no_rule_for_resource_one(shared_dir, build):
    spec = shared_dir("conformance", "score", "score-spec", "score-full.yaml")
    result = build.run_cli("explain", "-c", "env=development", "-c", "app=demo", str(spec))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "no Resource rule" in result.stderr
    assert "(Resource-One)" in result.stderr and "type=Resource-One" in result.stderr
    assert result.stderr.startswith(f"{spec}:")


# --- the bundled rules ship in the package --------------------------------------------------------------------


def build_wheel(out: Path) -> Path:
    repo = Path(__file__).resolve().parents[2]
    base = [sys.executable, "-m", "pip", "wheel", str(repo), "--no-deps", "-w", str(out), "-q"]
    done = subprocess.run([*base, "--no-build-isolation"], capture_output=True, text=True)
    if done.returncode != 0:  # hatchling is not in the venv: let pip fetch it into an isolated build env
        done = subprocess.run(base, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("plato-*.whl")
    return wheel


def test_wheel_contains_bundled_rules_and_schemas(tmp_path):
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "generator/rules/10-environments.yaml",
        "generator/schemas/workload.schema.json",
        "generator/schemas/rules.schema.json",
    ):
        assert path in names, sorted(n for n in names if not n.endswith(".py"))
    repo_rules = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "rules").glob("*.yaml"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("generator/rules/")) == repo_rules
