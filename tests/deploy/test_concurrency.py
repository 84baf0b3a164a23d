"""Concurrent publishers and push rejections, against real git.

A push that loses a race must be retried from the new remote tip (never rebased), and every publisher must land.
Rejections are produced for real: by concurrent plato processes, by another clone pushing first, and by
server-side hooks (`update`, `pre-receive`) in the bare remote.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from testkit.git import REPO

APPS = [f"app{i}" for i in range(1, 9)]

FETCH_FIRST_BUG = (
    "plato bug: _push() looks for race markers only in git's stderr, but `git push --porcelain` reports a lost "
    "race ('[rejected] (fetch first)' / '(non-fast-forward)') on stdout, so the run exits 3 instead of retrying"
)


def _publish_all(repo: str, start_plato, shop_args) -> list[tuple[str, int, str, str]]:
    procs = [(app, start_plato(shop_args("publish", repo, app=app))) for app in APPS]
    done = []
    for app, proc in procs:
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"plato publish for {app} did not finish in 120 s:\n{err}")
        done.append((app, proc.returncode, out, err))
    return done


def _check_all_landed(remote, done) -> None:
    failed = [f"{app}: exit {rc}\n{err}" for app, rc, _, err in done if rc != 0]
    assert not failed, "\n".join(failed)
    files = remote.files()
    for app in APPS:
        assert f"development/{app}/manifest.yaml" in files, app
        assert f".plato/inputs/development/{app}.json" in files, app
        assert f"cd/dev/development-{app}.yaml" in files, app
    log = remote.git("log", "--format=%an|%s", "main").splitlines()
    assert len(log) == 8, log
    assert all(line.startswith("plato|plato: ") for line in log), log
    assert sorted(line.split("plato: ")[1].split(" in ")[0] for line in log) == APPS


def _report_retries(done) -> None:
    """Eight overlapping runs on one branch should mostly lose races and retry; when timing serialises them
    (a slow machine) none may, which is no failure, only worth a warning."""
    retried = [app for app, _, _, err in done if "retr" in err]
    if not retried:
        warnings.warn("no concurrent run reported a retry: the runs did not overlap", stacklevel=2)


def test_eight_concurrent_publishers_over_git_daemon_all_land(git_daemon, make_bare, start_plato, shop_args) -> None:
    remote = make_bare("deploy.git", parent=git_daemon.base)
    done = _publish_all(git_daemon.url("deploy.git"), start_plato, shop_args)

    _check_all_landed(remote, done)
    _report_retries(done)


def test_eight_concurrent_publishers_to_a_bare_path_all_land(remote, start_plato, shop_args) -> None:
    done = _publish_all(str(remote.path), start_plato, shop_args)

    _check_all_landed(remote, done)
    _report_retries(done)


# A `git` in front of the real one on PATH: before plato's first push, another clone pushes to the remote, so
# plato's push loses a race exactly once, the way it does when a concurrent CI job is a moment faster.
RACING_GIT = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = push ] && [ ! -e "$RACE_DONE" ]; then
    : > "$RACE_DONE"
    "$REAL_GIT" -C "$RACE_CLONE" push -q origin HEAD:refs/heads/main >/dev/null 2>&1 || exit 99
    break
  fi
done
exec "$REAL_GIT" "$@"
"""


def racing_git(tmp_path: Path, clone: Path) -> dict[str, str]:
    """The environment of a plato run whose first push loses a race to `clone`'s HEAD (pushed just before)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "git").write_text(RACING_GIT, encoding="utf-8")
    (bindir / "git").chmod(0o755)
    return {
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "REAL_GIT": shutil.which("git") or "git",
        "RACE_CLONE": str(clone),
        "RACE_DONE": str(tmp_path / "race-done"),
    }


def test_a_push_that_loses_a_race_is_retried_from_the_new_tip(tmp_path, remote, run_plato, shop_args, git) -> None:
    remote.commit({"other/base.txt": "base\n"}, workdir=tmp_path / "seed")
    clone = tmp_path / "racer"
    git("clone", "-q", str(remote.path), str(clone))
    (clone / "other").mkdir(exist_ok=True)
    (clone / "other" / "racer.txt").write_text("pushed by a faster job\n", encoding="utf-8")
    git("add", "-A", cwd=clone)
    git("commit", "-q", "-m", "a faster job", cwd=clone)
    racer_sha = git("rev-parse", "HEAD", cwd=clone).strip()
    env = racing_git(tmp_path, clone)

    r = run_plato(shop_args("publish", remote.path), env=env)

    if not (tmp_path / "race-done").exists() or racer_sha not in remote.git("rev-list", "main").split():
        pytest.fail(f"test harness: the racing push did not happen\n{r.explain()}")  # not an xfail
    assert r.returncode == 0, r.explain()
    assert "after 1 retry" in r.stderr
    assert remote.count() == 3
    assert remote.git("rev-parse", "main~1").strip() == racer_sha  # on top of the racer: nothing lost
    assert "other/racer.txt" in remote.files()
    assert "development/shop/manifest.yaml" in remote.files()


# --- races repeated on demand, and a repository that refuses -----------------------------------------------------

# Before each of plato's first RACES pushes, another clone commits and pushes: plato loses that many races.
RACING_GIT_N = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = push ]; then
    n=$(cat "$RACE_COUNT" 2>/dev/null || echo 0)
    if [ "$n" -lt "$RACES" ]; then
      echo $((n + 1)) > "$RACE_COUNT"
      mkdir -p "$RACE_CLONE/other"
      echo "race $n" > "$RACE_CLONE/other/race-$n.txt"
      "$REAL_GIT" -C "$RACE_CLONE" add -A >/dev/null 2>&1
      "$REAL_GIT" -C "$RACE_CLONE" -c user.name=racer -c user.email=racer@example.com commit -qm "race $n" \
        >/dev/null 2>&1
      "$REAL_GIT" -C "$RACE_CLONE" push -q origin HEAD:refs/heads/main >/dev/null 2>&1 || exit 99
    fi
    break
  fi
done
exec "$REAL_GIT" "$@"
"""


def _racing_env(tmp_path: Path, remote, git, races: int) -> dict[str, str]:
    remote.commit({"other/base.txt": "base\n"}, workdir=tmp_path / "seed")
    clone = tmp_path / "racer"
    git("clone", "-q", str(remote.path), str(clone))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "git").write_text(RACING_GIT_N, encoding="utf-8")
    (bindir / "git").chmod(0o755)
    return {
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "REAL_GIT": shutil.which("git") or "git",
        "RACE_CLONE": str(clone),
        "RACE_COUNT": str(tmp_path / "race-count"),
        "RACES": str(races),
    }


def test_lost_races_are_retried_until_the_push_lands(tmp_path, remote, run_plato, shop_args, git) -> None:
    env = _racing_env(tmp_path, remote, git, races=2)

    r = run_plato(shop_args("publish", remote.path), env=env)

    assert r.returncode == 0, r.explain()
    assert (tmp_path / "race-count").read_text().strip() == "2"
    assert "after 2 retries" in r.stderr
    assert remote.count() == 4  # seed, two racers, plato: nothing lost
    files = remote.files()
    assert {"other/race-0.txt", "other/race-1.txt", "development/shop/manifest.yaml"} <= set(files)


def test_retries_give_up_after_max_retries_and_leave_the_remote_as_it_was(
    tmp_path, remote, run_plato, shop_args, git
) -> None:
    env = _racing_env(tmp_path, remote, git, races=5)

    r = run_plato(shop_args("publish", remote.path, extra=["--max-retries", "2"]), env=env)

    assert r.returncode == 3, r.explain()
    assert "gave up after 3 attempts" in r.stderr
    assert "Traceback" not in r.output
    assert (tmp_path / "race-count").read_text().strip() == "3"
    # Only the racers' commits: plato's never landed, and nothing of it is in the repository.
    assert remote.count() == 4
    assert not any(f.startswith("development/") or f.startswith(".plato/") for f in remote.files())


def test_a_push_the_repository_refuses_is_not_retried(tmp_path, remote, run_plato, shop_args, write_hook) -> None:
    remote.commit({"other/keep.txt": "x\n"}, workdir=tmp_path / "seed")
    counter = tmp_path / "update-count"
    write_hook(
        remote,
        "update",
        f"""#!/bin/sh
n=$(cat '{counter}' 2>/dev/null || echo 0)
echo $((n + 1)) > '{counter}'
echo "policy: deployments are frozen until Monday" >&2
exit 1
""",
    )
    refs, files = remote.refs(), remote.files()

    r = run_plato(shop_args("publish", remote.path))

    assert r.returncode == 3, r.explain()
    assert "refused the push" in r.stderr and "deployments are frozen until Monday" in r.stderr
    assert counter.read_text().strip() == "1"  # a policy is not a race: no retry
    assert "Traceback" not in r.output
    assert remote.refs() == refs and remote.files() == files


def test_a_pre_receive_rejection_exits_3_and_changes_nothing(
    tmp_path, remote, run_plato, shop_args, write_hook
) -> None:
    # A hook that says "non-fast-forward": its text reaches plato as "remote: non-fast-forward ...", which
    # plato's race detection matches (it scans all of stderr), so this is counted as a lost race; with
    # --max-retries 0 the run still stops at once with exit 3.
    remote.commit({"other/keep.txt": "x\n"}, workdir=tmp_path / "seed")
    calls = tmp_path / "pre-receive-calls"
    write_hook(remote, "pre-receive", f"#!/bin/sh\necho x >> '{calls}'\necho 'non-fast-forward' >&2\nexit 1\n")
    before, refs = remote.snapshot(), remote.refs()

    r = run_plato(shop_args("publish", remote.path, extra=["--max-retries", "0"]))

    assert r.returncode == 3, r.explain()
    assert "Traceback" not in r.output
    assert len(calls.read_text().splitlines()) == 1
    assert remote.refs() == refs
    assert remote.snapshot() == before


def test_a_policy_rejection_says_why(tmp_path, remote, run_plato, shop_args, write_hook) -> None:
    write_hook(remote, "pre-receive", "#!/bin/sh\necho 'policy: deployments are frozen' >&2\nexit 1\n")

    r = run_plato(shop_args("publish", remote.path))

    assert r.returncode == 3, r.explain()
    assert "deployments are frozen" in r.stderr or "hook declined" in r.stderr


def test_a_rerender_that_loses_a_race_renders_again_from_the_new_tip(tmp_path, remote, run_plato, shop_args, git):
    """The fleet commit is written with fast-import on the tip it fetched; when another job pushes first, the
    whole re-render starts again from the new tip, and the other job's commit stays."""
    for e in ("development", "production"):
        published = run_plato(shop_args("publish", remote.path, env=e, context={"org": "acme"}))
        assert published.returncode == 0, published.explain()
    env = _racing_env(tmp_path, remote, git, races=1)  # the racer's clone starts from the published fleet
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    profiles = rules / "20-profiles.yaml"
    profiles.write_text(profiles.read_text().replace("cpu: 50m", "cpu: 60m").replace("cpu: 250m", "cpu: 300m"))
    before = remote.count()

    r = run_plato(["rerender", "--repo", str(remote.path), "--rules", str(rules)], env=env)

    assert r.returncode == 0, r.explain()
    assert (tmp_path / "race-count").read_text().strip() == "1"
    subjects = remote.subjects()
    assert subjects[0].startswith("plato: re-render 1 app in production")
    assert subjects[1].startswith("plato: re-render 1 app in development")
    assert subjects[2] == "race 0"  # under the re-render: nothing lost
    assert remote.count() == before + 3
    assert "cpu: 300m" in remote.show("production/shop/manifest.yaml")
    remote.fsck()


def test_a_ref_the_remote_itself_refuses_gives_up_saying_what_the_remote_said(
    tmp_path, remote, run_plato, shop_args
) -> None:
    """A stale lock on the remote's branch reads like a lost race on every push: plato retried it for the whole
    --retry-for and then blamed another publisher. The message now carries the remote's words and the other
    causes."""
    (remote.path / "refs" / "heads" / "main.lock").write_text("stale\n", encoding="utf-8")

    r = run_plato(shop_args("publish", remote.path, extra=["--retry-for", "1"]), env={"PLATO_RETRY_BACKOFF": "0.05"})

    assert r.returncode == 3, r.explain()
    assert "gave up after" in r.stderr and "the last refusal:" in r.stderr and "lock" in r.stderr, r.stderr
    assert "stale .lock file" in r.stderr and "Traceback" not in r.output


def test_a_hook_that_moves_the_branch_back_after_the_push_is_no_landing(
    tmp_path, remote, run_plato, shop_args, write_hook
) -> None:
    """git reports the ref updated; a post-receive hook then resets it. plato reads the branch back after every
    push, so it reports no publish (exit 3) rather than a success the repository does not hold."""
    remote.commit({"other/keep.txt": "x\n"}, workdir=tmp_path / "seed")
    before = remote.tip()
    write_hook(remote, "post-receive", f"#!/bin/sh\ngit update-ref refs/heads/main {before}\n")

    r = run_plato(shop_args("publish", remote.path))

    assert r.returncode == 3, r.explain()
    assert "does not hold the commit plato pushed" in r.stderr and "post-receive" in r.stderr
    assert "Traceback" not in r.output
    assert remote.tip() == before


def test_a_commit_pushed_on_top_right_after_plato_is_still_a_landing(
    tmp_path, remote, run_plato, shop_args, write_hook
) -> None:
    """The branch moved past plato's commit (here a hook adds a commit on top at once, as another run could):
    plato's commit is in the branch, so the publish landed."""
    remote.commit({"other/keep.txt": "x\n"}, workdir=tmp_path / "seed")
    write_hook(
        remote,
        "post-receive",
        "#!/bin/sh\nread old new ref\n"
        'c=$(git -c user.name=t -c user.email=t@t commit-tree "$new^{tree}" -p "$new" -m on-top)\n'
        'git update-ref "$ref" "$c"\n',
    )

    r = run_plato(shop_args("publish", remote.path))

    assert r.returncode == 0, r.explain()
    assert remote.subjects()[0] == "on-top"
    assert remote.subjects()[1].startswith("plato: ")
