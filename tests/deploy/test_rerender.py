"""plato rerender: every recorded app re-rendered from the deployment repository alone, after a rule change."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.commands.deploy import rendered
from generator.deploy.publish import GITATTRIBUTES, desired
from generator.deploy.tree import write_files
from generator.pipeline import Inputs
from generator.resources import bundled_dir

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"


def fleet(tmp_path: Path, apps: list[str], envs: tuple[str, ...] = ("development", "production")) -> Path:
    """A deployment repository holding `apps` in `envs`, as published with the bundled rules (built in-process:
    the same files and records a publish writes)."""
    work, bare = tmp_path / "work", tmp_path / "deployments.git"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    for app in apps:
        for env in envs:
            ctx = [f"env={env}", f"app={app}", "org=acme", "source_sha=" + "a" * 40, "source_time=1000"]
            tree, record = rendered(Inputs.load([SHOP], context=ctx, image=f"ghcr.io/acme/{app}:1.0"))
            write_files(work, desired(tree, record))
    (work / ".gitattributes").write_bytes(GITATTRIBUTES)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fleet"], check=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run([*git, "push", "-q", str(bare), "main"], check=True)
    return bare


def new_rules(tmp_path: Path, memory: str = "320Mi") -> Path:
    rules = tmp_path / f"rules-{memory}"
    shutil.copytree(bundled_dir("rules"), rules)
    profiles = rules / "20-profiles.yaml"
    text = profiles.read_text()
    assert "memory: 256Mi\n    limits:\n      memory: 512Mi" in text
    profiles.write_text(
        text.replace(
            "memory: 256Mi\n    limits:\n      memory: 512Mi", f"memory: {memory}\n    limits:\n      memory: 512Mi"
        )
    )
    return rules


def git(bare: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(bare), *args], capture_output=True, text=True, check=True).stdout


def plato(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_dry_run_reports_the_impact_and_writes_nothing(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1", "a2"])
    refs = git(bare, "for-each-ref")
    code, out, err = plato(
        "rerender", "--repo", str(bare), "--rules", str(new_rules(tmp_path)), "--dry-run", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    # Only production's profile changed (its default memory request): development is untouched.
    assert sorted(data["changed"]) == ["production/a1", "production/a2"]
    prod = data["by_env"]["production"]
    assert prod["changed"] == 2 and prod["kinds"]["Deployment"]["changed"] == 4
    assert prod["rules"] == {"Profile/production": 2}
    assert data["by_env"]["development"]["changed"] == 0
    assert git(bare, "for-each-ref") == refs


def test_rerender_commits_once_per_environment_and_only_the_apps_paths(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1", "a2"])
    rules = tmp_path / "rules"
    shutil.copytree(bundled_dir("rules"), rules)
    (rules / "20-profiles.yaml").write_text(
        (rules / "20-profiles.yaml").read_text().replace("cpu: 50m", "cpu: 60m").replace("cpu: 250m", "cpu: 300m")
    )
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules))
    assert code == 0, err
    log = git(bare, "log", "--format=%s", "main").splitlines()
    assert log[:2] == [
        "plato: re-render 2 apps in production with rules " + log[0].rsplit(" ", 1)[1],
        "plato: re-render 2 apps in development with rules " + log[1].rsplit(" ", 1)[1],
    ]
    for rev, env in (("main", "production"), ("main~1", "development")):
        changed = git(bare, "diff", "--name-only", f"{rev}~1", rev).split()
        assert changed and all(env in path for path in changed), changed
    assert "cpu: 300m" in git(bare, "show", "main:production/a1/manifest.yaml")
    record = json.loads(git(bare, "show", "main:.plato/inputs/production/a1.json"))
    assert record["source"] == {"sha": "a" * 40, "repo": None, "time": 1000}  # provenance kept
    # Again: nothing to do.
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules))
    assert code == 0 and "no changes" in err
    assert len(git(bare, "log", "--format=%s", "main").splitlines()) == len(log)


def test_select_and_parallel_workers(tmp_path: Path) -> None:
    apps = [f"app{i:02d}" for i in range(30)]  # above the threshold where worker processes start
    bare = fleet(tmp_path, apps, envs=("production",))
    code, out, err = plato(
        "rerender", "--repo", str(bare), "--rules", str(new_rules(tmp_path)), "--jobs", "2", "--format", "json"
    )
    assert code == 0, err
    assert len(json.loads(out)["changed"]) == 30
    assert all("memory: 320Mi" in git(bare, "show", f"main:production/{a}/manifest.yaml") for a in apps[::7])
    code, out, err = plato(
        "rerender",
        "--repo",
        str(bare),
        "--rules",
        str(new_rules(tmp_path, "400Mi")),
        "--select",
        "app=app0*",
        "--dry-run",
        "--format",
        "json",
    )
    assert code == 0, err
    assert sorted(json.loads(out)["changed"]) == [f"production/app0{i}" for i in range(10)]


def test_a_rule_change_that_breaks_an_app_writes_nothing(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1"])
    rules = tmp_path / "rules"
    shutil.copytree(bundled_dir("rules"), rules)
    (rules / "40-development.yaml").write_text(
        (rules / "40-development.yaml")
        .read_text()
        .replace("name: redis-dev", "name: redis-dev\ndescription: x", 1)
        .replace("port: 6379\n    username: default", 'port: 6379\n    username: "{{ nope }}"')
    )
    refs = git(bare, "for-each-ref")
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules))
    assert code == 2
    assert "fail to render with these rules; nothing was written" in err and "a1 in development" in err
    assert "Traceback" not in err
    assert git(bare, "for-each-ref") == refs


def test_pr_mode_pushes_a_branch_per_environment_with_a_body(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1", "a2"])
    bodies = tmp_path / "bodies"
    tip = git(bare, "rev-parse", "main")
    code, out, err = plato(
        "rerender",
        "--repo",
        str(bare),
        "--rules",
        str(new_rules(tmp_path)),
        "--mode",
        "pr",
        "--pr-body-dir",
        str(bodies),
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["branches"] == {"production": "plato/rerender/production"}
    assert git(bare, "rev-parse", "main") == tip
    assert git(bare, "rev-parse", "plato/rerender/production~1") == tip
    body = (bodies / "production.md").read_text()
    assert "<!-- plato:pr rerender env=production -->" in body and "<details>" in body and len(body) < 65536


def test_preview_of_one_recorded_app_with_new_rules(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1"])
    code, out, err = plato(
        "preview",
        "-c",
        "env=production",
        "-c",
        "app=a1",
        "--repo",
        str(bare),
        "--rules",
        str(new_rules(tmp_path)),
        "--format",
        "json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["changed"] and data["apps"][0]["counts"]["Deployment"]["changed"] == 2
    code, _, err = plato("preview", "-c", "env=staging", "-c", "app=a1", "--repo", str(bare))
    assert code == 2 and "no recorded inputs" in err


@pytest.mark.parametrize("select", ["env", "=x", "env=production,,app"])
def test_bad_select_is_a_clear_error(tmp_path: Path, select: str) -> None:
    code, _, err = plato("rerender", "--repo", str(tmp_path / "none.git"), "--select", select, "--dry-run")
    assert code == 2 and "--select" in err and "Traceback" not in err


def with_paths(tmp_path: Path, env: str, paths: str) -> Path:
    """The bundled rules with `paths:` added to one Environment rule (a layout change by the platform team)."""
    rules = tmp_path / f"rules-paths-{env}"
    if rules.exists():
        shutil.rmtree(rules)
    shutil.copytree(bundled_dir("rules"), rules)
    envs = rules / "10-environments.yaml"
    text = envs.read_text()
    anchor = f"name: {env}\n"
    assert anchor in text
    head, tail = text.split(anchor, 1)
    spec_at = tail.index("spec:\n") + len("spec:\n")
    envs.write_text(head + anchor + tail[:spec_at] + paths + tail[spec_at:])
    return rules


def tree_files(bare: Path, rev: str = "main") -> set[str]:
    return set(git(bare, "ls-tree", "-r", "--name-only", rev).split())


def test_a_rule_that_moves_apps_removes_their_old_paths_in_the_same_commit(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1", "a2"])
    before = tree_files(bare)
    rules = with_paths(tmp_path, "development", "  paths:\n    manifests: apps/{env}/{app}\n")
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules))
    assert code == 0, err
    after = tree_files(bare)
    assert not any(p.startswith("development/") for p in after), sorted(after)
    moved = {p for p in before if p.startswith("development/")}
    assert {"apps/" + p for p in moved} <= after  # every file at its new place, the marker included
    assert git(bare, "show", "main:apps/development/a1/.plato-owner").strip() == "development/a1"
    assert {p for p in before if not p.startswith(("development/", ".plato/inputs/development"))} <= after
    assert len(git(bare, "log", "--format=%H", "main").split()) == 2  # one commit: development only
    record = json.loads(git(bare, "show", "main:.plato/inputs/development/a1.json"))
    assert "apps/development/a1/" in record["owned"] and "development/a1/" not in record["owned"]
    assert git(bare, "fsck", "--no-progress").strip() == ""


def test_old_paths_that_are_not_marked_as_the_apps_own_are_left_alone(tmp_path: Path) -> None:
    """The record says where the app was; only the marker in that folder makes it the app's to remove."""
    bare = fleet(tmp_path, ["a1"], envs=("development",))
    work = tmp_path / "edit"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    (work / "development" / "a1" / ".plato-owner").write_text("development/someone-else\n")
    g = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*g, "commit", "-qam", "hand edit"], check=True)
    subprocess.run([*g, "push", "-q", "origin", "main"], check=True)
    rules = with_paths(tmp_path, "development", "  paths:\n    manifests: apps/{env}/{app}\n")
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules))
    assert code == 0, err
    after = tree_files(bare)
    assert "development/a1/manifest.yaml" in after and "apps/development/a1/manifest.yaml" in after


def test_rules_that_would_share_paths_between_apps_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1", "a2"])
    head = git(bare, "rev-parse", "main")
    for paths in ("    cd: cd/{env}.yaml\n", "    manifests: 'shared/{env}'\n"):
        rules = with_paths(tmp_path, "development", "  paths:\n" + paths)
        code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules))
        assert code == 2, err
        assert "owns its paths" in err and "Traceback" not in err, err
        assert git(bare, "rev-parse", "main") == head


def test_two_apps_writing_one_file_or_an_app_writing_outside_its_paths_is_caught_before_any_commit() -> None:
    """The last line of defence behind the path rules and the ownership markers."""
    from generator.deploy.rerender import Changed, _check_paths
    from generator.errors import RepoError, UserError

    a = Changed("dev", "a", written={"dev/x/m.yaml": "1" * 40}, owned=["dev/x/"])
    b = Changed("dev", "b", written={"dev/x/m.yaml": "2" * 40}, owned=["dev/x/"])
    with pytest.raises(UserError, match=re.escape("dev/a and dev/b would both write dev/x/m.yaml")):
        _check_paths([a, b])
    c = Changed("dev", "c", removes=["dev/other/m.yaml"], owned=["dev/c/", "cd/dev-c.yaml"])
    with pytest.raises(RepoError, match="outside the paths dev/c owns"):
        _check_paths([c])
    _check_paths([a, Changed("dev", "d", removes=["dev/x/m.yaml"], owned=["dev/x/"])])  # a swap is fine


def test_a_folder_marked_as_another_apps_stops_the_rerender(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1"], envs=("development",))
    work = tmp_path / "edit"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    (work / "apps" / "development" / "a1").mkdir(parents=True)
    (work / "apps" / "development" / "a1" / ".plato-owner").write_text("development/other\n")
    g = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*g, "add", "-A"], check=True)
    subprocess.run([*g, "commit", "-qm", "other app"], check=True)
    subprocess.run([*g, "push", "-q", "origin", "main"], check=True)
    head = git(bare, "rev-parse", "main")
    rules = with_paths(tmp_path, "development", "  paths:\n    manifests: apps/{env}/{app}\n")
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules))
    assert code == 2
    assert "apps/development/a1/ belongs to development/other" in err, err
    assert git(bare, "rev-parse", "main") == head


def test_a_symlink_on_an_owned_path_is_refused_without_a_checkout(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1"], envs=("development",))
    work = tmp_path / "edit"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "mv", "development", "real-development"], check=True)
    (work / "development").symlink_to("real-development")
    g = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*g, "add", "-A"], check=True)
    subprocess.run([*g, "commit", "-qm", "symlink"], check=True)
    subprocess.run([*g, "push", "-q", "origin", "main"], check=True)
    head = git(bare, "rev-parse", "main")
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(new_rules(tmp_path, "300Mi")))
    assert code == 2
    assert "symlink development" in err, err
    assert git(bare, "rev-parse", "main") == head


def test_a_submodule_on_an_owned_path_is_refused_naming_it(tmp_path: Path) -> None:
    """As in a publish: a gitlink where the app's folder is would be kept beside the new files, which never land."""
    bare = fleet(tmp_path, ["a1", "a2"], envs=("development",))
    work = tmp_path / "edit"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    g = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*g, "rm", "-rq", "development/a2"], check=True)
    head = git(bare, "rev-parse", "main").strip()
    subprocess.run([*g, "update-index", "--add", "--cacheinfo", f"160000,{head},development/a2"], check=True)
    subprocess.run([*g, "commit", "-qm", "submodule"], check=True)
    subprocess.run([*g, "push", "-q", "origin", "main"], check=True)
    head = git(bare, "rev-parse", "main")
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(new_rules(tmp_path, "300Mi")))
    assert code == 2
    assert "development/a2 is a submodule" in err, err
    assert git(bare, "rev-parse", "main") == head


@pytest.mark.parametrize(
    "text",
    ['{"context": ', "[1, 2]", '{"context": {"env": "development"}, "source": [], "workloads": []}'],
    ids=["not-json", "not-an-object", "source-not-an-object"],
)
def test_a_hand_broken_record_is_a_clear_error_naming_it(text: str, tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1"], envs=("development",))
    work = tmp_path / "edit"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    (work / ".plato" / "inputs" / "development" / "a1.json").write_text(text)
    g = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*g, "commit", "-qam", "hand edit"], check=True)
    subprocess.run([*g, "push", "-q", "origin", "main"], check=True)
    head = git(bare, "rev-parse", "main")
    for args in (
        ["rerender", "--repo", str(bare), "--dry-run"],
        ["preview", "-c", "env=development", "-c", "app=a1", "--repo", str(bare)],
    ):
        code, _, err = plato(*args)
        assert code == 2, err
        assert ".plato/inputs/development/a1.json" in err and "not a valid record" in err, err
        assert "internal error" not in err and "Traceback" not in err
    assert git(bare, "rev-parse", "main") == head


def test_a_rerender_judges_policies_against_the_objects_the_repository_holds(tmp_path: Path) -> None:
    # An immutable-field policy in the rules folder: the re-render is an UPDATE of each app's objects as the tip
    # holds them. Unchanged selectors pass; a selector changed in the repository is refused, and nothing is written.
    from tests.deploy.test_policy_publish import IMMUTABLE, MANIFEST, selector_changed

    bare = fleet(tmp_path, ["shop"], envs=("development",))
    rules = new_rules(tmp_path)
    (rules / "91-immutable.yaml").write_text(IMMUTABLE)
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules), "--dry-run")
    assert code == 0, err

    work = tmp_path / "edit"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    manifest = work / MANIFEST
    manifest.write_text(selector_changed(manifest.read_text()))
    git_ = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git_, "commit", "-q", "-am", "edit the selector"], check=True)
    subprocess.run([*git_, "push", "-q", "origin", "main"], check=True)
    refs = git(bare, "for-each-ref")

    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules))

    assert code == 2, err
    assert "spec.selector is immutable" in err
    assert git(bare, "for-each-ref") == refs


DENY_DEPLOYMENTS = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-deployments.example.com}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}]
  validations: [{expression: "false", message: "no more Deployments here"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-deployments}
spec: {policyName: no-deployments.example.com, validationActions: [Deny]}
"""


def test_a_policy_added_since_the_last_write_judges_the_objects_the_repository_holds(tmp_path: Path) -> None:
    # The apps render to the very bytes their last write left, under the policies that admitted them: --full
    # finds no change. A policy added since changes the rule set's match digest, and judges those same objects.
    bare = fleet(tmp_path, ["a1"])
    code, _, err = plato("rerender", "--full", "--repo", str(bare))
    assert code == 0 and "no changes" in err, err
    rules = tmp_path / "rules-deny"
    shutil.copytree(bundled_dir("rules"), rules)
    (rules / "95-no-deployments.yaml").write_text(DENY_DEPLOYMENTS)
    refs = git(bare, "for-each-ref")
    for args in (["--full"], []):
        code, _, err = plato("rerender", *args, "--repo", str(bare), "--rules", str(rules))
        assert code == 2, err
        assert "no more Deployments here" in err, err
        assert git(bare, "for-each-ref") == refs


def push_edit(tmp_path: Path, bare: Path, edit: Callable[[Path], None], name: str = "edit") -> None:
    work = tmp_path / name
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    edit(work)
    g = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*g, "commit", "-qam", "hand edit"], check=True)
    subprocess.run([*g, "push", "-q", "origin", "main"], check=True)


def test_unchanged_apps_are_skipped_and_a_hand_edit_is_found_and_restored(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1", "a2"])
    code, out, err = plato("rerender", "--repo", str(bare), "--format", "json")  # the rules it was published with
    assert code == 0, err
    data = json.loads(out)
    assert data["skipped"] == {"unchanged": 4} and data["rendered"] == {} and not data["commits"]
    manifest = "production/a2/manifest.yaml"
    original = git(bare, "show", f"main:{manifest}")

    def edit(work: Path) -> None:
        (work / manifest).write_text(original + "# a hand edit\n")

    push_edit(tmp_path, bare, edit)
    code, out, err = plato("rerender", "--repo", str(bare), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["skipped"] == {"unchanged": 3} and data["rendered"] == {"hand-edited": 1}
    assert data["changed"] == ["production/a2"]
    assert git(bare, "show", f"main:{manifest}") == original  # restored
    code, _, err = plato("rerender", "--repo", str(bare))
    assert code == 0 and "skipped 2 (2 unchanged)" in err and "no changes" in err, err


def test_a_hand_made_chmod_is_found_and_restored_though_the_bytes_are_plato_s(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1"])
    manifest = "production/a1/manifest.yaml"
    original = git(bare, "show", f"main:{manifest}")

    def edit(work: Path) -> None:
        (work / manifest).chmod(0o755)

    push_edit(tmp_path, bare, edit)
    assert git(bare, "ls-tree", "main", manifest).startswith("100755")
    code, out, err = plato("rerender", "--repo", str(bare), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["rendered"] == {"hand-edited": 1} and data["changed"] == ["production/a1"]
    assert git(bare, "ls-tree", "main", manifest).startswith("100644")  # restored
    assert git(bare, "show", f"main:{manifest}") == original
    assert git(bare, "show", "--stat", "--format=", "main").count("|") == 1  # that one file
    code, _, err = plato("rerender", "--repo", str(bare))
    assert code == 0 and "no changes" in err, err


def test_a_rule_change_renders_only_the_apps_that_used_the_rule_and_full_renders_all(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1", "a2"])
    rules = new_rules(tmp_path)  # production's profile: only production's apps used it
    code, out, err = plato("rerender", "--repo", str(bare), "--rules", str(rules), "--dry-run", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["rendered"] == {"rules changed": 2} and data["skipped"] == {"unchanged": 2}
    assert data["by_env"]["development"]["skipped"] == {"unchanged": 2}
    code, out, err = plato(
        "rerender", "--repo", str(bare), "--rules", str(rules), "--dry-run", "--full", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["rendered"] == {"--full": 4} and data["skipped"] == {}
    assert sorted(data["changed"]) == ["production/a1", "production/a2"]
    code, _, err = plato("rerender", "--repo", str(bare), "--rules", str(rules))
    assert code == 0, err
    code, out, err = plato("rerender", "--repo", str(bare), "--rules", str(rules), "--format", "json")
    assert code == 0 and json.loads(out)["skipped"] == {"unchanged": 4}, err  # the new records say so


def test_a_rule_an_app_does_not_use_leaves_its_files_and_record_byte_for_byte(tmp_path: Path) -> None:
    """The README names the digest of the rules its app used, not of the whole rule set: production's profile
    changes production's files and records, and development's stay as they were (nothing to rewrite, check or
    commit there), while the rule set's own digest still names the new rules in the commit."""
    old, new = bundled_dir("rules"), new_rules(tmp_path)

    def files(env: str, rules: Path) -> dict[str, bytes]:
        ctx = [f"env={env}", "app=a1", "org=acme", "source_sha=" + "a" * 40, "source_time=1000"]
        tree, record = rendered(Inputs.load([SHOP], context=ctx, image="ghcr.io/acme/a1:1.0", rules_dir=rules))
        return desired(tree, record)

    assert files("development", new) == files("development", old)
    context = tmp_path / "rules-context"  # a Context rule may set any app's context: the README names it too
    shutil.copytree(bundled_dir("rules"), context)
    text = (context / "01-context.yaml").read_text()
    (context / "01-context.yaml").write_text(text.replace("deploys to development.", "deploys to development!"))
    readme = "development/a1/README.md"
    assert files("development", context)[readme] != files("development", old)[readme]
    before, after = files("production", old), files("production", new)
    changed = sorted(p for p in after if after[p] != before.get(p))
    assert changed == [".plato/inputs/production/a1.json", "production/a1/README.md", "production/a1/manifest.yaml"]
    bare = fleet(tmp_path, ["a1"])
    code, out, err = plato("rerender", "--repo", str(bare), "--rules", str(new), "--full", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["changed"] == ["production/a1"]
    head = git(bare, "log", "-1", "--format=%B", "main")
    assert git(bare, "diff", "--name-only", "main~1", "main").split() == changed
    assert re.search(r"rules [0-9a-f]{12}", head), head


def _age_records(work: Path) -> Path:
    """In a clone of the fleet: development's a1 record loses its digests, a2's names another plato version."""
    inputs = work / ".plato" / "inputs" / "development"
    old = json.loads((inputs / "a1.json").read_text())
    del old["digests"]
    (inputs / "a1.json").write_text(json.dumps(old))
    other = json.loads((inputs / "a2.json").read_text())
    other["plato"] = "0.0.1"
    (inputs / "a2.json").write_text(json.dumps(other))
    return inputs


def test_records_without_digests_or_from_another_version_or_edited_are_rendered(tmp_path: Path) -> None:
    bare = fleet(tmp_path, ["a1", "a2", "a3"], envs=("development",))

    def edit(work: Path) -> None:
        inputs = _age_records(work)
        edited = json.loads((inputs / "a3.json").read_text())
        edited["context"]["org"] = "other"
        (inputs / "a3.json").write_text(json.dumps(edited))

    push_edit(tmp_path, bare, edit)
    code, out, err = plato("rerender", "--repo", str(bare), "--dry-run", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["rendered"] == {
        "no digests recorded": 1,
        "plato version changed": 1,
        "record edited": 1,
    }


def test_files_this_version_wrote_are_not_scanned_again_and_all_others_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The secret check of a file is judged by its path and bytes: a re-render that renders the bytes the tree holds
    # at that path, written there by this version with its record intact, writes nothing new and scans nothing
    # again. A record of another version, without digests, or a hand edit anywhere in the app: all scanned.
    from generator.check import guard

    bare = fleet(tmp_path, ["a1", "a2", "a3", "a4"], envs=("development",))

    def edit(work: Path) -> None:
        _age_records(work)
        manifest = work / "development" / "a3" / "manifest.yaml"
        manifest.write_text(manifest.read_text() + "# a hand edit\n")

    push_edit(tmp_path, bare, edit)
    scanned: list[str] = []
    check_blob = guard.check_blob
    monkeypatch.setattr(guard, "check_blob", lambda path, *a: (scanned.append(path), check_blob(path, *a))[1])
    monkeypatch.setattr(guard, "_CLEAN", set())  # nothing judged earlier in this process
    code, _, err = plato("rerender", "--full", "--repo", str(bare), "--jobs", "1")
    assert code == 0, err
    by_app = {app: sorted({p for p in scanned if f"/{app}/" in p or p.endswith(f"/{app}.json")}) for app in
              ("a1", "a2", "a3", "a4")}  # fmt: skip
    files = git(bare, "ls-tree", "-r", "--name-only", "main").split()
    for app in ("a1", "a2", "a3"):
        owned = sorted(f for f in files if f.startswith(f"development/{app}/") or f.endswith(f"/{app}.json"))
        assert by_app[app] == owned, app
    assert by_app["a4"] == []


def test_the_documents_a_change_leaves_as_they_were_are_not_walked_or_judged_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # production's profile changes its two Deployments; the manifest's other documents render to the text the
    # last write left them at. Only the two are walked for secrets and judged by the policies that cannot depend
    # on the deployed object (the rule set's policies are the same, so is its match digest); the file's text is
    # scanned whole, and development, whose files are what its last write left, is judged by none.
    from generator.check import guard, policy

    bare = fleet(tmp_path, ["a1"])
    walked: list[tuple[str, str]] = []
    judged: list[tuple[bool, str, str]] = []
    find_in, run = guard.find_in, policy._run

    def walk(value: object, *a: object, **kw: object) -> object:
        if isinstance(value, dict) and "kind" in value:
            walked.append((value["kind"], value["metadata"]["name"]))
        return find_in(value, *a, **kw)

    def judge(p: policy.Policy, b: policy.Binding, target: policy.Target, *a: object) -> object:
        judged.append((policy._reads_old(p, b), target.obj["kind"], target.obj["metadata"]["name"]))
        return run(p, b, target, *a)

    monkeypatch.setattr(guard, "find_in", walk)
    monkeypatch.setattr(policy, "_run", judge)
    monkeypatch.setattr(guard, "_CLEAN", set())
    code, out, err = plato("rerender", "--full", "--repo", str(bare), "--rules", str(new_rules(tmp_path)),
                           "--jobs", "1", "--format", "json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["changed"] == ["production/a1"]
    changed = {("Deployment", "api"), ("Deployment", "worker")}
    assert set(walked) == changed, walked
    assert judged and {(kind, name) for reads_old, kind, name in judged if not reads_old} == changed, judged
    manifest = git(bare, "show", "main:production/a1/manifest.yaml")
    assert manifest.count("memory: 320Mi") == 2


@pytest.mark.parametrize("shard", ["0/4", "5/4", "1/0", "a/b", "2", "1/2/3"])
def test_bad_shard_is_a_clear_error(tmp_path: Path, shard: str) -> None:
    code, _, err = plato("rerender", "--repo", str(tmp_path / "none.git"), "--shard", shard, "--dry-run")
    assert code == 2 and "--shard" in err and "I/N" in err and "Traceback" not in err, err
    assert not (tmp_path / "none.git").exists()


def test_shards_split_the_fleet_stably_and_together_cover_it(tmp_path: Path) -> None:
    from generator.deploy.rerender import in_shard

    pairs = [(e, f"app{i}") for e in ("dev", "prod") for i in range(200)]
    shares = [[p for p in pairs if in_shard(*p, (i, 4))] for i in range(1, 5)]
    assert sorted(p for s in shares for p in s) == sorted(pairs)  # each pair in exactly one shard
    assert all(60 < len(s) < 140 for s in shares), [len(s) for s in shares]
    fewer = pairs[::3]  # another listing (apps added or removed): each remaining pair stays in its shard
    assert [p for p in fewer if in_shard(*p, (2, 4))] == [p for p in shares[1] if p in fewer]


def test_four_shards_at_once_give_the_tree_of_one_unsharded_rerender(tmp_path: Path) -> None:
    import threading

    apps = [f"app{i:02d}" for i in range(12)]
    one = fleet(tmp_path / "one", apps)
    many = tmp_path / "many.git"
    shutil.copytree(one, many)
    rules = tmp_path / "rules"
    shutil.copytree(bundled_dir("rules"), rules)
    (rules / "20-profiles.yaml").write_text(
        (rules / "20-profiles.yaml").read_text().replace("cpu: 50m", "cpu: 60m").replace("cpu: 250m", "cpu: 300m")
    )
    code, _, err = plato("rerender", "--repo", str(one), "--rules", str(rules), "--jobs", "1")
    assert code == 0, err
    results: dict[int, subprocess.CompletedProcess[str]] = {}

    def shard(i: int) -> None:
        cmd = ["plato", "rerender", "--repo", str(many), "--rules", str(rules), "--shard", f"{i}/4", "--jobs", "1"]
        results[i] = subprocess.run(
            [sys.executable, "-m", "generator", *cmd[1:]], capture_output=True, text=True, check=False,
            env={**os.environ, "PLATO_RETRY_BACKOFF": "0.05"},
        )  # fmt: skip

    threads = [threading.Thread(target=shard, args=(i,)) for i in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 for r in results.values()), {i: r.stderr for i, r in results.items()}
    assert git(many, "rev-parse", "main^{tree}") == git(one, "rev-parse", "main^{tree}")
    assert git(many, "fsck", "--no-progress", "--no-dangling").strip() == ""  # (lost races leave dangling commits)
    shards = git(many, "log", "--format=%(trailers:key=Plato-Shard,valueonly)", "main").split()
    assert sorted(set(shards)) == [f"{i}/4" for i in range(1, 5)]  # each shard committed its own share


def test_a_lost_race_is_re_anchored_only_when_the_other_commit_left_the_apps_paths_alone(tmp_path: Path) -> None:
    from generator.deploy.git import Clone
    from generator.deploy.rerender import Changed, _untouched

    bare = fleet(tmp_path, ["a1", "a2"], envs=("development",))
    before = git(bare, "rev-parse", "main").strip()

    def edit(work: Path) -> None:
        (work / "development" / "a2" / "manifest.yaml").write_text("edited by another job\n")

    push_edit(tmp_path, bare, edit)
    after = git(bare, "rev-parse", "main").strip()
    records = {a: json.loads(git(bare, "show", f"main:.plato/inputs/development/{a}.json")) for a in ("a1", "a2")}
    owned = {a: r["owned"] for a, r in records.items()}
    assert "development/a2/" in owned["a2"]
    with Clone(str(bare), blobs=True) as clone:
        clone.fetch("main")
        assert clone.git.out("rev-parse", "refs/remotes/origin/main") == after
        clone.git.run("fetch", "-q", "origin", before)
        assert _untouched(clone, before, after, [Changed("development", "a1", owned["a1"])])
        assert not _untouched(clone, before, after, [Changed("development", "a2", owned["a2"])])


def test_a_criteria_change_brings_the_records_of_unchanged_apps_up_to_date_with_the_commit(tmp_path: Path) -> None:
    """A new rule changes what decides matching, so every app is rendered; the apps whose files stay the same
    get their records brought up to date in the same commit (no commit of records alone), and the next run skips
    them all."""
    bare = fleet(tmp_path, ["a1", "a2", "a3"], envs=("development",))
    rules = tmp_path / "rules-hot"
    shutil.copytree(bundled_dir("rules"), rules)
    (rules / "25-hot.yaml").write_text(
        "apiVersion: plato.dev/v1\nkind: Profile\nname: hot\nmatch:\n  app: a1\nspec:\n  replicas: 1\n"
        "  resources:\n    requests:\n      cpu: 50m\n      memory: 96Mi\n    limits:\n      memory: 512Mi\n"
    )
    before = git(bare, "rev-parse", "main").strip()
    code, out, err = plato("rerender", "--repo", str(bare), "--rules", str(rules), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["rendered"] == {"rules changed": 3} and data["changed"] == ["development/a1"]
    assert data["refreshed"] == ["development/a2", "development/a3"]
    assert git(bare, "rev-list", "--count", f"{before}..main").strip() == "1"
    files = git(bare, "diff", "--name-only", before, "main").split()
    assert ".plato/inputs/development/a2.json" in files
    assert {f for f in files if f.startswith("development/a2/")} <= {
        "development/a2/README.md",
        "development/a2/hydrator.metadata",
    }
    assert "development/a2/manifest.yaml" not in files
    code, out, err = plato("rerender", "--repo", str(bare), "--rules", str(rules), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["skipped"] == {"unchanged": 3} and not json.loads(out)["commits"], out


def test_stale_records_alone_make_no_commit(tmp_path: Path) -> None:
    """A new rule that changes no app's files: nothing is committed, not even the records (they are brought up
    to date with the next commit to that environment)."""
    bare = fleet(tmp_path, ["a1", "a2"], envs=("development",))
    rules = tmp_path / "rules-unused"
    shutil.copytree(bundled_dir("rules"), rules)
    (rules / "25-unused.yaml").write_text(
        "apiVersion: plato.dev/v1\nkind: Profile\nname: unused\nmatch:\n  app: nobody\nspec:\n  replicas: 3\n"
    )
    before = git(bare, "rev-parse", "main").strip()
    code, out, err = plato("rerender", "--repo", str(bare), "--rules", str(rules), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["rendered"] == {"rules changed": 2} and data["changed"] == [] and data["refreshed"] == []
    assert git(bare, "rev-parse", "main").strip() == before


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_stopped_rerender_stops_its_workers_and_whoever_reads_its_output_is_not_kept_waiting(
    how: str, tmp_path: Path
) -> None:
    """SIGTERM killed plato and left its forked workers holding each other's queues and plato's output: a CI log
    reader (or `| tee`) waited 12 minutes. Now it ends as Ctrl-C does (exit 130), the workers with it."""
    import signal
    import sys
    import time

    from generator.deploy.git import descendants

    bare = fleet(tmp_path, [f"app{i:03d}" for i in range(120)], envs=("production",))
    private = tmp_path / "tmp"
    private.mkdir()
    cmd = [sys.executable, "-m", "generator", "rerender", "--full", "--jobs", "2", "--repo", str(bare),
           "--rules", str(new_rules(tmp_path))]  # fmt: skip
    env = {**os.environ, "TMPDIR": str(private), "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env)

    def cmdline(pid: int) -> bytes:  # b"" for a process that ended since it was listed (a git it ran)
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""

    def workers() -> list[int]:  # forked: the command line of plato itself
        mine = cmdline(proc.pid)
        return [p for p in descendants(proc.pid) if mine and cmdline(p) == mine]

    deadline = time.monotonic() + 60
    while len(workers()) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "the rerender ended before it could be stopped"
        time.sleep(0.02)
    forked = workers()
    time.sleep(0.2)  # past the fork: an interrupt inside Python's at-fork handlers is ignored by Python itself
    proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=30)  # the output's pipes close: nothing left holds them

    time.sleep(0.2)
    alive = [p for p in forked if Path(f"/proc/{p}").exists() and ") Z " not in Path(f"/proc/{p}/stat").read_text()]
    assert alive == []
    assert list(private.iterdir()) == []
    if proc.returncode == 0:  # the interrupt was lost in a later fork: the run landed, and says so
        assert "committed production" in err.decode(), err
        return
    assert proc.returncode == 130, err
    assert "interrupted" in err.decode()
    assert git(bare, "log", "--format=%s").count("\n") == 1  # nothing landed
