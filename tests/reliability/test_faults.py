"""Faults with real git: an unreachable remote, a remote that refuses pushes or authentication, runs killed at
random points, SIGTERM. The remote must always hold either its old tip or a complete new commit, a later publish
must succeed, and no private clone may outlive the run that made it (or, for runs killed outright, the next run).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from testkit.process import processes_naming

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"


def _shop(kit, repo, image: str = "ghcr.io/acme/shop:1.0", **kw) -> list[str]:
    return kit.args("publish", SHOP, app="shop", image=image, repo=repo, **kw)


# -- the remote cannot be reached or refuses --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["publish", "preview"])
def test_an_unreachable_remote_exits_3(command, kit, closed_port) -> None:
    url = f"git://127.0.0.1:{closed_port}/deploy.git"

    run = kit.run(kit.args(command, SHOP, app="shop", repo=url), timeout=60)

    kit.assert_refused(run, 3, says=["unreachable", "nothing was published"])
    assert kit.leftovers() == []


def test_a_remote_serving_fetches_only_refuses_the_push_with_exit_3(kit, serve) -> None:
    daemon = serve(receive_pack=False)
    remote = kit.bare("deploy.git", parent=daemon.base)
    remote.commit({"README.md": "seed\n"}, workdir=kit.tmp / "seed")
    before = remote.snapshot()

    run = kit.run(_shop(kit, daemon.url("deploy.git")))

    err = kit.assert_refused(run, 3, says=["refused the push", "write access", "nothing was published"])
    assert "access denied" in err or "not exported" in err or "refused" in err, err
    assert remote.snapshot() == before
    assert kit.leftovers() == []
    print(f"fetch-only daemon: {run.stderr.strip()}")


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    """Every request to this smart-HTTP 'server' is answered 401, as a host does for a token it does not accept."""

    seen: list[str] = []  # noqa: RUF012 - shared by the handler instances of one test

    def _refuse(self) -> None:
        self.seen.append(self.headers.get("Authorization") or "")
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="deployments"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = _refuse
    do_POST = _refuse

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_401() -> Iterator[int]:
    """An HTTP server on 127.0.0.1 that refuses every request with 401; yields its port."""
    _Unauthorized.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_authentication_refused_over_http_exits_3(kit, http_401) -> None:
    token = "ghs_" + "Q" * 36
    url = f"http://x-access-token:{token}@127.0.0.1:{http_401}/acme/deployments.git"

    run = kit.run(_shop(kit, url), timeout=60)

    kit.assert_refused(run, 3, says=["authentication was refused"], never=[token])
    assert _Unauthorized.seen, "the server was never asked"
    assert kit.leftovers() == []


def test_a_pre_receive_hook_refusing_authentication_exits_3_with_its_words(kit) -> None:
    remote = kit.bare()
    remote.commit({"README.md": "seed\n"}, workdir=kit.tmp / "seed")
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\necho "Authentication failed for user ci-bot" >&2\nexit 1\n', encoding="utf-8")
    hook.chmod(0o755)
    before = remote.snapshot()

    run = kit.run(_shop(kit, remote.path))

    kit.assert_refused(run, 3, says=["refused the push", "Authentication failed for user ci-bot"])
    assert remote.snapshot() == before
    assert kit.leftovers() == []


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file permissions do not stop root from writing")
def test_a_remote_whose_objects_cannot_be_written_exits_3(kit) -> None:
    remote = kit.bare()
    remote.commit({"README.md": "seed\n"}, workdir=kit.tmp / "seed")
    objects = remote.path / "objects"
    modes = {p: p.stat().st_mode for p in [objects, *objects.rglob("*")]}
    for p in modes:
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        before = remote.snapshot()
        run = kit.run(_shop(kit, remote.path))
        kit.assert_refused(run, 3, says=["nothing was published"])
        assert remote.snapshot() == before
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


# -- killed at random points ----------------------------------------------------------------------------------------


def _image_of(manifest: str) -> set[str]:
    images = set()
    for doc in yaml.safe_load_all(manifest):
        if doc and doc.get("kind") == "Deployment":
            for c in doc["spec"]["template"]["spec"]["containers"]:
                images.add(c["image"])
    return images


def _check_consistent(remote, tips: set[str], images: set[str]) -> str:
    """The remote's tip is a known tip or a complete new commit with one of the images tried; fsck is clean."""
    remote.fsck()
    tip = remote.tip()
    assert tip is not None
    if tip not in tips:
        assert remote.git("log", "-1", "--format=%s", tip).startswith("plato: "), tip
        for path in remote.git("ls-tree", "-r", "--name-only", tip).splitlines():
            remote.git("cat-file", "-e", f"{tip}:{path}")  # every blob of the tree is there
        found = _image_of(remote.show("development/shop/manifest.yaml", tip))
        assert found and found <= images, f"{found} not among the images tried"
    return tip


@pytest.mark.slow
def test_publishes_killed_at_random_points_leave_the_remote_consistent(kit, serve) -> None:
    daemon = serve()
    remote = kit.bare("deploy.git", parent=daemon.base)
    url = daemon.url("deploy.git")
    first = kit.run(_shop(kit, url, image="ghcr.io/acme/shop:0"))
    assert first.returncode == 0, first.explain()
    tips = {remote.tip()}
    images = {"ghcr.io/acme/shop:0"}

    started = time.monotonic()  # how long a publish takes here, with one change to make
    timed = kit.run(_shop(kit, url, image="ghcr.io/acme/shop:timing"))
    duration = time.monotonic() - started
    assert timed.returncode == 0, timed.explain()
    tips.add(remote.tip())
    images.add("ghcr.io/acme/shop:timing")

    rng = random.Random(20240611)
    outcomes = {"old tip": 0, "new commit": 0, "finished": 0}
    for i in range(15):
        image = f"ghcr.io/acme/shop:kill-{i}"
        images.add(image)
        before = remote.tip()
        proc = kit.start(_shop(kit, url, image=image))
        time.sleep(rng.uniform(0, duration))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            outcomes["finished"] += 1
        proc.communicate(timeout=30)
        time.sleep(0.2)  # the daemon's receive-pack may still be finishing a push it had received whole
        tip = _check_consistent(remote, tips, images)
        outcomes["old tip" if tip == before else "new commit"] += 1
        tips.add(tip)

    leftovers = kit.leftovers()
    final = kit.run(_shop(kit, url, image="ghcr.io/acme/shop:final"))

    assert final.returncode == 0, final.explain()
    assert _image_of(remote.show("development/shop/manifest.yaml")) == {"ghcr.io/acme/shop:final"}
    remote.fsck()
    assert kit.leftovers() == [], f"clones of killed runs were not swept: {kit.leftovers()}"
    print(f"publish takes {duration:.2f} s; 15 kills: {outcomes}; clones left by killed runs: {len(leftovers)}")


def test_the_clones_of_killed_runs_are_removed_by_the_next_run(kit) -> None:
    remote = kit.bare()
    # A clone of a run that no longer exists (a pid that is not running), and one of a live process (ours).
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = kit.plato_tmp / f"plato-checkout-{dead.pid}-abc123"
    (stale / ".git").mkdir(parents=True)
    live = kit.plato_tmp / f"plato-checkout-{os.getpid()}-def456"
    live.mkdir()
    unrelated = kit.plato_tmp / "plato-checkout-notapid-x"
    unrelated.mkdir()

    run = kit.run(_shop(kit, remote.path))

    assert run.returncode == 0, run.explain()
    assert not stale.exists()
    assert live.exists(), "the clone of a running process was removed"
    assert unrelated.exists()


# -- SIGTERM ----------------------------------------------------------------------------------------------------------

SLOW_GIT = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = "$SLOW_ON" ]; then
    : > "$SLOW_MARK"
    sleep 5
    break
  fi
done
exec "$REAL_GIT" "$@"
"""


def _slow_git(kit, on: str) -> dict[str, str]:
    bindir = kit.tmp / "bin"
    bindir.mkdir(exist_ok=True)
    wrapper = bindir / "git"
    wrapper.write_text(SLOW_GIT, encoding="utf-8")
    wrapper.chmod(0o755)
    return {
        "PATH": f"{bindir}{os.pathsep}{kit.hermetic_env()['PATH']}",
        "REAL_GIT": shutil.which("git") or "git",
        "SLOW_ON": on,
        "SLOW_MARK": str(kit.tmp / "slow-mark"),
    }


def _wait_for(path: Path, proc: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"plato ended before the slow point ({proc.returncode}):\n{out}{err}")
        if time.monotonic() > deadline:
            pytest.fail("the slow point was never reached")
        time.sleep(0.02)


def test_sigterm_mid_publish_exits_130_and_removes_the_clone(kit) -> None:
    remote = kit.bare()
    remote.commit({"README.md": "seed\n"}, workdir=kit.tmp / "seed")
    before = remote.snapshot()
    proc = kit.start(_shop(kit, remote.path), env=_slow_git(kit, "fetch"))
    _wait_for(kit.tmp / "slow-mark", proc)
    assert kit.leftovers(), "no clone while the publish runs"

    proc.send_signal(signal.SIGTERM)  # the process only, as a CI runner cancelling a step does first
    _, err = proc.communicate(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the slow git wrapper, still asleep in plato's process group

    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert kit.leftovers() == []
    assert remote.snapshot() == before


BAD_SPEC = "apiVersion: score.dev/v1b1\nmetadata:\n  name: bad\ncontainers: 5\n"


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the running processes from /proc")
@pytest.mark.parametrize("how", ["bad input", "SIGTERM"])
def test_a_fetch_ahead_over_https_that_never_answers_is_stopped_with_its_helper(how, kit, silent_port) -> None:
    """publish fetches while it renders (Clone.fetch_ahead). Over https git starts `git remote-https`, which holds
    git's pipes: the fetch is stopped with it, so that a mistake in the input is reported at once and a cancelled
    job ends at its first SIGTERM, with nothing left running (the helper has the URL, token and all) or on disk."""
    url = f"https://plato:tok3n@127.0.0.1:{silent_port}/deploy.git"
    spec = kit.write("bad/score.yaml", BAD_SPEC) if how == "bad input" else SHOP
    proc = kit.start(kit.args("publish", spec, app="shop", repo=url))
    if how == "SIGTERM":
        deadline = time.monotonic() + 30
        while not [c for c in processes_naming(f"127.0.0.1:{silent_port}") if "remote-http" in c]:  # git waits
            assert proc.poll() is None and time.monotonic() < deadline, "git never reached the server"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == (2 if how == "bad input" else 130), err
    assert ("containers must be a mapping" if how == "bad input" else "interrupted") in err
    assert "Traceback" not in err and "tok3n" not in err
    assert kit.leftovers() == []
    time.sleep(0.2)  # a process the stop signalled is gone a moment later
    assert processes_naming(f"127.0.0.1:{silent_port}") == []


def test_sigterm_during_the_push_does_not_claim_nothing_was_published(kit) -> None:
    """Regression test: SIGTERM while `git push` runs: plato printed 'interrupted: nothing was published' and exited
    130 at once, but its git child was neither stopped nor waited for, and the push landed a moment later."""
    remote = kit.bare()
    remote.commit({"README.md": "seed\n"}, workdir=kit.tmp / "seed")
    before = remote.tip()
    mark = kit.tmp / "in-hook"
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text(f'#!/bin/sh\n: > "{mark}"\nsleep 1\nexit 0\n', encoding="utf-8")
    hook.chmod(0o755)
    proc = kit.start(_shop(kit, remote.path))
    _wait_for(mark, proc)

    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    time.sleep(2)  # the hook finishes; git receive-pack decides

    assert proc.returncode == 130, err
    assert kit.leftovers() == []
    landed = remote.tip() != before
    assert not (landed and "nothing was published" in err), f"the push landed after plato said:\n{err}"


# -- a server that never answers, with a good spec: PLATO_GIT_TIMEOUT --------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the running processes from /proc")
@pytest.mark.parametrize("scheme", ["git", "https"])
def test_a_server_that_never_answers_ends_the_run_at_the_git_timeout(scheme, kit, silent_port) -> None:
    """Nothing is wrong with the input, so nothing stops the fetch but time: without a limit the CI job waited for
    the runner's own (six hours on GitHub Actions). Over https git's helper, which holds the URL and token, ends too."""
    url = f"{scheme}://plato:tok3n@127.0.0.1:{silent_port}/deploy.git"
    if scheme == "git":
        url = f"git://127.0.0.1:{silent_port}/deploy.git"
    began = time.monotonic()

    run = kit.run(_shop(kit, url), env={"PLATO_GIT_TIMEOUT": "1.5"}, timeout=60)

    kit.assert_refused(run, 3, says=["did not answer within 1.5 s", "nothing was published", "PLATO_GIT_TIMEOUT"])
    assert "tok3n" not in run.output
    assert time.monotonic() - began < 20, "stopped at the timeout, not at some later limit"
    assert kit.leftovers() == []
    time.sleep(0.2)  # a process the stop signalled is gone a moment later
    assert processes_naming(f"127.0.0.1:{silent_port}") == []


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the running processes from /proc")
def test_a_push_that_never_ends_is_stopped_and_not_called_a_landing(kit) -> None:
    """The fetch works and the push hangs (here a pre-receive hook that never returns): the push is stopped at
    the timeout with the processes under it, and plato says it may have landed, never that nothing was published."""
    remote = kit.bare()
    remote.commit({"README.md": "seed\n"}, workdir=kit.tmp / "seed")
    marker = f"sleep 600.{random.randrange(10**9):09d}"  # a command line no other process has
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nexec {marker}\n", encoding="utf-8")
    hook.chmod(0o755)
    before = remote.tip()

    run = kit.run(_shop(kit, remote.path), env={"PLATO_GIT_TIMEOUT": "2"}, timeout=60)

    kit.assert_refused(run, 3, says=["git push", "did not answer within 2 s", "may or may not have landed"])
    assert "nothing was published" not in run.output
    # The hook never said yes. (The stopped receive-pack leaves its quarantine, objects/tmp_objdir-incoming-*, as
    # git does for any push cut off there; no ref names anything in it.)
    assert remote.tip() == before
    assert kit.leftovers() == []
    time.sleep(0.2)
    assert processes_naming(marker) == []


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_git_timeout_that_is_no_number_of_seconds_is_bad_input(value, kit) -> None:
    remote = kit.bare()
    before = remote.snapshot()

    run = kit.run(_shop(kit, remote.path), env={"PLATO_GIT_TIMEOUT": value})

    kit.assert_refused(run, 2, says=["PLATO_GIT_TIMEOUT is not a number of seconds"])
    assert f"={value}" not in run.output and f"'{value}'" not in run.output  # not repeated: it could be anything
    assert remote.snapshot() == before
