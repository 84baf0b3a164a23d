"""Soak: 20 concurrent publishers, up to 10 rounds each, against one repository served by `git daemon` on 127.0.0.1.

Publisher i publishes app `app{i}` in development with image tag `r{round}`, one `plato publish` process per
publish, its rounds one after another; the 20 publishers run side by side (threads, each starting its processes in
turn). Every publish must land (exit 0), each app must end at the last round it published, the history must hold
exactly one plato commit per publish with each app's images in order (no lost or reordered update), and
`git fsck` must be clean. Run with `pytest -s` to see the figures (publishes, retries, failures, wall time).

Time box: every publish lands as its own commit on one branch, and each landing is a serialized fetch, commit and
push of roughly 0.75 s on a busy 2-core machine, so the full 20 x 10 = 200 publishes take about 160-220 s there
(measured: 166 s idle). To stay inside the 120 s bound, no publisher starts a round after START_BUDGET seconds
(every publisher runs at least MIN_ROUNDS); in-flight publishes then finish, and a single unlucky publish can take
over a minute of retries, hence the margin. A fast machine runs all 10 rounds;
`PLATO_SOAK_START_BUDGET=400 PLATO_SOAK_SECONDS=600` runs the full 200 anywhere.

Retries: plato's defaults (no --max-retries, the production backoff, `--retry-for` 300 s). A lost race re-anchors
the already-rendered edit on the new tip (no second render), so the critical section is a fetch, a fast-import and
a push; the full 20 x 10 with the defaults is `python bench/publish.py soak` (0 lost is the claim it checks).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from generator.deploy.transaction import BACKOFF as DEFAULT_BACKOFF

PUBLISHERS = int(os.environ.get("PLATO_SOAK_PUBLISHERS", "20"))
ROUNDS = int(os.environ.get("PLATO_SOAK_ROUNDS", "10"))
MIN_ROUNDS = int(os.environ.get("PLATO_SOAK_MIN_ROUNDS", "1"))
START_BUDGET = float(os.environ.get("PLATO_SOAK_START_BUDGET", "50"))  # no new round starts after this
WALL_LIMIT = float(os.environ.get("PLATO_SOAK_SECONDS", "120"))  # seconds, for the whole soak
BACKOFF = os.environ.get("PLATO_SOAK_BACKOFF", str(DEFAULT_BACKOFF))  # plato's production default


@pytest.mark.slow
def test_twenty_concurrent_publishers_publishing_round_after_round(kit, serve) -> None:
    daemon = serve()
    remote = kit.bare("deploy.git", parent=daemon.base)
    url = daemon.url("deploy.git")
    spec = kit.workload("app/score.yaml", kit.score("web"))
    rules = kit.rules(kit.env_rule())  # small rules: the soak measures publishing, not rendering
    begin = time.monotonic()
    deadline = begin + WALL_LIMIT
    lock = threading.Lock()
    results: list[tuple[int, int, int, float, str]] = []  # publisher, round, exit code, seconds, stderr

    def publisher(i: int) -> None:
        for rnd in range(ROUNDS):
            started = time.monotonic()
            if rnd >= MIN_ROUNDS and started - begin > START_BUDGET:
                return  # the time box: later rounds are not started
            argv = kit.args("publish", spec, app=f"app{i}", image=f"ghcr.io/acme/app{i}:r{rnd}", rules=rules, repo=url)
            try:
                run = kit.run(
                    argv,
                    env={"PLATO_RETRY_BACKOFF": BACKOFF},
                    timeout=max(1.0, deadline - started),
                )
                code, err = run.returncode, run.stderr
            except subprocess.TimeoutExpired:
                code, err = -2, f"killed: still running at the {WALL_LIMIT:.0f} s bound"
            with lock:
                results.append((i, rnd, code, time.monotonic() - started, err))
            if code != 0:
                return

    with ThreadPoolExecutor(PUBLISHERS) as pool:
        list(pool.map(publisher, range(PUBLISHERS)))
    wall = time.monotonic() - begin

    failures = [r for r in results if r[2] != 0]
    retried = [r for r in results if "retr" in r[4]]
    retries = sum(int(m.group(1)) for r in results for m in re.finditer(r"after (\d+) retr", r[4]))
    durations = sorted(r[3] for r in results if r[2] == 0)
    rounds = {i: sorted(rnd for p, rnd, code, _, _ in results if p == i and code == 0) for i in range(PUBLISHERS)}
    subjects = remote.subjects()
    plato_commits = [s for s in subjects if s.startswith("plato:")]
    print(
        f"\nsoak: {len(results)} publishes by {PUBLISHERS} publishers (rounds each: min "
        f"{min(len(r) for r in rounds.values())}, max {max(len(r) for r in rounds.values())} of {ROUNDS}; backoff "
        f"{BACKOFF} s, default retries) in {wall:.1f} s wall; {len(failures)} failed; {len(retried)} "
        f"publishes retried, {retries} retries in all; publish time median "
        f"{durations[len(durations) // 2] if durations else 0:.2f} s, max {durations[-1] if durations else 0:.2f} s; "
        f"{len(plato_commits)} plato commits"
    )

    assert not failures, "\n\n".join(f"app{i} round {rnd}: exit {rc}\n{err}" for i, rnd, rc, _, err in failures[:5])
    assert all(len(r) >= MIN_ROUNDS for r in rounds.values()), rounds
    assert len(plato_commits) == len(results), f"{len(plato_commits)} plato commits for {len(results)} publishes"
    assert len(subjects) == len(plato_commits)
    remote.fsck()
    for i, done in rounds.items():
        assert done == list(range(len(done))), f"app{i}: rounds {done}"
        path = f"development/app{i}/manifest.yaml"
        last = f"r{len(done) - 1}"
        assert f"image: ghcr.io/acme/app{i}:{last}" in remote.show(path), f"app{i} does not end at {last}"
        # Every round of the app is in the history, in order: none was lost, none overwrote a later one.
        shas = remote.git("log", "--reverse", "--format=%H", "main", "--", path).split()
        images = [re.findall(r"image: (\S+)", remote.show(path, sha)) for sha in shas]
        assert images == [[f"ghcr.io/acme/app{i}:r{r}"] for r in done], f"app{i}: {images}"
    assert wall < WALL_LIMIT, f"the soak took {wall:.0f} s"
    assert kit.leftovers() == []
