#!/usr/bin/env python3
"""Publish benchmarks, run by hand (they report figures, they assert nothing):

    python bench/publish.py sizes [--sizes 100,1000,10000] [--reps 5]   # one publish into fleets of N apps
    python bench/publish.py soak [--publishers 20] [--rounds 10]        # N publishers x M rounds over git daemon

`sizes` times one `plato publish` (start-up included, a new image for app0000 in development) into a deployment
repository of N apps x 3 environments, served by `git daemon` on 127.0.0.1 without filters (a self-hosted git's
default) and with `uploadpack.allowFilter`, beside a plain-git floor that fetches the tip shallowly (without blobs
where the server allows it), writes the files of one app with `fast-import` and pushes. Rounds are interleaved
(floor, plato, floor, ...); the table gives medians, the spread (fastest-slowest) and the ratios. The fleet is
made from one app rendered by plato and copied with its name replaced (rendering 30,000 apps would take longer
than the benchmark).

`soak` runs the publishers side by side with plato's default retry settings (`--retry-for`, backoff), each its
rounds one after another, against one repository served by `git daemon` on 127.0.0.1, and reports lost
publishes (any exit other than 0), p50/p99/max publish time and the retries seen. `PLATO=path/to/tree` runs the
plato of another source tree (a `git archive` of an older commit) instead; `PLATO_BEFORE=path/to/tree` times
that tree too, in the same interleaved rounds, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import fleet  # noqa: E402

OTHER = os.environ.get("PLATO")  # another source tree to time, for a before/after run
ENV = {**os.environ, **({"PYTHONPATH": OTHER} if OTHER else {}), "GIT_CONFIG_NOSYSTEM": "1"}
BEFORE = os.environ.get("PLATO_BEFORE")  # a second source tree timed in the same rounds (interleaved)
ENV_BEFORE = {**ENV, "PYTHONPATH": BEFORE or ""}
PLATO = [sys.executable, "-m", "generator"]
IDENT = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def git(*args: str, input: bytes | None = None, cwd: Path | None = None) -> str:
    out = subprocess.run(["git", *IDENT, *args], input=input, cwd=cwd, capture_output=True, check=True)
    return out.stdout.decode()


def app_files(specs: list[Path], rules: Path) -> dict[str, bytes]:
    """Everything a publish of app0000 writes, in each environment (its files and its record)."""
    from generator.commands.deploy import rendered
    from generator.deploy.record import record_path
    from generator.pipeline import Inputs

    out: dict[str, bytes] = {}
    for env in fleet.ENVS:
        inputs = Inputs.load(specs, context=fleet.context(0, env), image="ghcr.io/acme/app0000:1.0.0", rules_dir=rules)
        tree, record = rendered(inputs)
        out.update({**tree.files, record_path(env, "app0000"): record})
    return out


def make_fleet(n: int, template: dict[str, bytes], bare: Path) -> None:
    """A bare repository holding n copies of app0000 (renamed), in one commit written by fast-import."""
    git("init", "-q", "--bare", "-b", "main", str(bare))
    stream = bytearray(b"commit refs/heads/main\ncommitter bench <bench@example.com> 1700000000 +0000\ndata 5\nfleet\n")
    stream += b"M 100644 inline .gitattributes\ndata 0\n\n"
    for i in range(n):
        name = fleet.app_name(i).encode()
        for path, data in template.items():
            body = data.replace(b"app0000", name)
            stream += b"M 100644 inline " + path.encode().replace(b"app0000", name) + b"\n"
            stream += b"data %d\n" % len(body) + body + b"\n"
    git("--git-dir", str(bare), "fast-import", "--quiet", input=bytes(stream))
    git("--git-dir", str(bare), "gc", "-q")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """`git daemon` on 127.0.0.1 serving `base` (pushes allowed)."""

    def __init__(self, base: Path) -> None:
        self.base, self.port = base, free_port()
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", "--listen=127.0.0.1",
             f"--port={self.port}", f"--base-path={base}", "--max-connections=0", str(base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise SystemExit("git daemon did not start")

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def publish_cmd(specs: list[Path], rules: Path, repo: str, app: str, image: str) -> list[str]:
    ctx = [a for c in fleet.context(0, "development") for a in ("-c", c)]
    ctx = [c.replace("app0000", app) for c in ctx]
    return [*PLATO, "publish", *map(str, specs), *ctx, "--image", image, "--rules", str(rules), "--repo", repo]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run from a folder that holds no plato: `python -m` puts the working folder first on sys.path, before
    PYTHONPATH, so from the project's root PLATO and PLATO_BEFORE would time the working tree instead."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env or ENV, capture_output=True, text=True, check=False, cwd=tempfile.gettempdir())
    return time.perf_counter() - start, proc.returncode, proc.stderr


def floor(repo: str, work: Path, r: int, files: dict[str, bytes]) -> float:
    """Plain git, the minimum a publish must do: a shallow fetch of the tip (without blobs where the server allows
    filters), the files of one app written by fast-import on it, one push."""
    if work.exists():
        shutil.rmtree(work)
    start = time.perf_counter()
    git("init", "-q", "--bare", str(work))
    git("--git-dir", str(work), "fetch", "-q", "--depth=1", "--filter=blob:none", repo, "+main:refs/heads/main")
    stream = bytearray(
        b"commit refs/heads/main\ncommitter f <f@x> 1700000000 +0000\ndata 1\nx\nfrom refs/heads/main^0\n"
    )
    for path, data in files.items():
        body = data + f"# floor {r}\n".encode()
        stream += b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(body), body)
    git("--git-dir", str(work), "fast-import", "--quiet", input=bytes(stream))
    git("--git-dir", str(work), "push", "-q", repo, "main")
    return time.perf_counter() - start


def compile_trees() -> None:
    """Bytecode for the plato timed, and for the other trees timed beside it (see fleet.compile_plato)."""
    import compileall

    fleet.compile_plato()
    for tree in filter(None, (OTHER, BEFORE)):
        compileall.compile_dir(Path(tree) / "generator", quiet=1)


def sizes(args: argparse.Namespace) -> None:
    from generator.resources import bundled_dir

    compile_trees()
    with tempfile.TemporaryDirectory(prefix="plato-bench-publish-") as tmp:
        work = Path(tmp)
        specs = fleet.write_specs(work / "specs")
        rules = fleet.write_rules(bundled_dir("rules"), work / "rules")
        template = app_files(specs, rules)
        served = work / "served"
        served.mkdir()
        daemon = Daemon(served)
        try:
            before = " | before (median) |" if BEFORE else " |"
            print(f"| apps | served by git daemon{before} plato publish (median, spread) | plain-git floor (median, "
                  "spread) | plato / floor | plato / plato at the first size |")  # fmt: skip
            print("|--:|---|" + ("--:|" if BEFORE else "") + "--:|--:|--:|--:|")
            first: dict[str, float] = {}
            one_app = {p: d for p, d in template.items() if "development" in p}
            for n in [int(s) for s in args.sizes.split(",")]:
                bare = served / f"fleet-{n}.git"
                t0 = time.perf_counter()
                make_fleet(n, template, bare)
                built = time.perf_counter() - t0
                print(f"(fleet of {n}: {len(template) * n} files, built in {built:.1f} s)", file=sys.stderr)
                served_as = (
                    ("no filter", daemon.url(bare.name), "false"),
                    ("allowFilter", daemon.url(bare.name), "true"),
                )
                for label, repo, allow in served_as:
                    git("--git-dir", str(bare), "config", "uploadpack.allowFilter", allow)
                    base = git("--git-dir", str(bare), "rev-parse", "main").strip()
                    runs, olds, floors = [], [], []
                    for r in range(args.reps):  # interleaved: floor, plato (, the other tree), floor, ...
                        floors.append(floor(repo, work / "floor.git", r, one_app))
                        git("--git-dir", str(bare), "update-ref", "refs/heads/main", base)
                        for env, out in ((ENV, runs), *(((ENV_BEFORE, olds),) if BEFORE else ())):
                            cmd = publish_cmd(specs, rules, repo, "app0000", f"ghcr.io/acme/app0000:2.{r}.0")
                            t, code, err = timed(cmd, env)
                            if code != 0:
                                raise SystemExit(f"publish failed ({code}):\n{err}")
                            out.append(t)
                            git("--git-dir", str(bare), "update-ref", "refs/heads/main", base)
                    med, fl = statistics.median(runs), statistics.median(floors)
                    spread, fspread = f"{min(runs):.3f}-{max(runs):.3f}", f"{min(floors):.3f}-{max(floors):.3f}"
                    old = f" | {statistics.median(olds):.3f} s" if olds else ""
                    growth = f"{med / first.setdefault(label, med):.2f}x"
                    print(f"| {n} | {label}{old} | {med:.3f} s ({spread}) | {fl:.3f} s ({fspread}) | {med / fl:.2f}x "
                          f"| {growth} |", flush=True)  # fmt: skip
        finally:
            daemon.stop()


def soak(args: argparse.Namespace) -> None:
    """Publishers side by side, default settings: how many publishes are lost, and how long they take."""
    compile_trees()
    with tempfile.TemporaryDirectory(prefix="plato-bench-soak-") as tmp:
        work = Path(tmp)
        served = work / "served"
        served.mkdir()
        git("init", "-q", "--bare", "-b", "main", str(served / "deploy.git"))
        daemon = Daemon(served)
        specs = fleet.write_specs(work / "specs")
        from generator.resources import bundled_dir

        rules = fleet.write_rules(bundled_dir("rules"), work / "rules")
        results: list[tuple[int, int, int, float, str]] = []
        lock = threading.Lock()

        def publisher(i: int) -> None:
            for rnd in range(args.rounds):
                cmd = publish_cmd(specs, rules, daemon.url("deploy.git"), f"app{i:04d}", f"ghcr.io/acme/a{i}:r{rnd}")
                t, code, err = timed(cmd)
                with lock:
                    results.append((i, rnd, code, t, err))

        begin = time.perf_counter()
        try:
            with ThreadPoolExecutor(args.publishers) as pool:
                list(pool.map(publisher, range(args.publishers)))
        finally:
            daemon.stop()
        wall = time.perf_counter() - begin
        lost = [r for r in results if r[2] != 0]
        times = sorted(r[3] for r in results)
        retries = sum(int(m.group(1)) for r in results for m in re.finditer(r"after (\d+) retr", r[4]))
        log = git("--git-dir", str(served / "deploy.git"), "log", "--format=%s", "main").splitlines()
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        print(
            f"soak: {args.publishers} publishers x {args.rounds} rounds = {len(results)} publishes in {wall:.1f} s; "
            f"lost {len(lost)}; publish time p50 {statistics.median(times):.2f} s, p99 {p99:.2f} s, max "
            f"{times[-1]:.2f} s; {retries} retries; {sum(s.startswith('plato:') for s in log)} plato commits"
        )
        for i, rnd, code, _, err in lost[:5]:
            print(f"  lost: app{i:04d} round {rnd}: exit {code}: {err.strip()[-400:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("sizes")
    s.add_argument("--sizes", default="100,1000,10000")
    s.add_argument("--reps", type=int, default=5)
    k = sub.add_parser("soak")
    k.add_argument("--publishers", type=int, default=20)
    k.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    sizes(args) if args.what == "sizes" else soak(args)


if __name__ == "__main__":
    main()
