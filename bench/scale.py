#!/usr/bin/env python3
"""The fleet re-render at scale: peak memory in N, and an incremental re-render against a full one.

    python bench/scale.py --memory 1000,5000 --incremental 2000 --reps 3

- memory: a rule change that touches every app (the default requests of both profiles), `plato rerender` with
  one commit per environment, its peak resident memory of the whole process tree (sampled, bench/run.py's
  PeakRSS) for each N;
- incremental: a fleet of N apps x 3 environments where a Profile rule is used by 1% of the (env, app) pairs; that
  rule changes; `plato rerender` (renders, commits and pushes that 1%) against `plato rerender --full` (renders all,
  commits the same), rounds interleaved, medians and the ratio.
Fleets are built once into --cache (building renders every app in one process, which takes a while at 10,000).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import fleet  # noqa: E402
from run import PLATO, PeakRSS  # noqa: E402

HOT = """---
apiVersion: plato.dev/v1
kind: Profile
name: hot
description: A profile a few apps use (the rule the benchmark changes).
match:
  app: {apps}
spec:
  replicas: 1
  resources:
    requests:
      cpu: 50m
      memory: {memory}
    limits:
      memory: 512Mi
"""


def rules(bundled: Path, target: Path, n: int, hot: str = "64Mi", everyone: str = "") -> Path:
    """The fleet's rules with a Profile for 1% of the apps (`hot` its memory request); `everyone` changes both
    default profiles' CPU requests (a change every app sees)."""
    if target.exists():
        shutil.rmtree(target)
    fleet.write_rules(bundled, target)
    apps = [fleet.app_name(i) for i in range(0, n, 100)]
    (target / "21-hot.yaml").write_text(HOT.format(apps=json.dumps(apps), memory=hot))
    if everyone:
        p = target / "20-profiles.yaml"
        p.write_text(p.read_text().replace("cpu: 50m", f"cpu: {everyone}").replace("cpu: 250m", f"cpu: {everyone}"))
    return target


def _publish_range(args: tuple[range, Path, Path]) -> None:
    """What fleet.build_repo does for some of the apps (in a worker process: the fleet is built on every core)."""
    from generator.commands.deploy import rendered
    from generator.deploy.publish import desired
    from generator.deploy.tree import write_files
    from generator.pipeline import Inputs

    apps, rules_dir, work = args
    for i in apps:
        specs = fleet.write_specs(work.parent / f"{work.name}-specs" / fleet.app_name(i), fleet.app_name(i))
        for env in fleet.ENVS:
            image = f"ghcr.io/acme/{fleet.app_name(i)}:1.0.0"
            inputs = Inputs.load(specs, context=fleet.context(i, env), image=image, rules_dir=rules_dir)
            write_files(work, desired(*rendered(inputs)))


def build(n: int, rules_dir: Path, work: Path, bare: Path) -> None:
    from multiprocessing import Pool

    from generator.deploy.publish import GITATTRIBUTES

    work.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    cores = os.cpu_count() or 1
    with Pool(cores) as pool:
        pool.map(_publish_range, [(range(k, n, cores), rules_dir, work) for k in range(cores)])
    (work / ".gitattributes").write_bytes(GITATTRIBUTES)
    g = ["git", "-C", str(work), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*g, "add", "-A"], check=True)
    subprocess.run([*g, "commit", "-q", "-m", f"fleet of {n}"], check=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run([*g, "push", "-q", str(bare), "main"], check=True)


def built(cache: Path, n: int, v1: Path) -> tuple[Path, str]:
    bare = cache / f"fleet-{n}.git"
    if not (bare / "HEAD").exists():
        t0 = time.perf_counter()
        shutil.rmtree(cache / f"fleet-{n}-work", ignore_errors=True)
        shutil.rmtree(bare, ignore_errors=True)
        build(n, v1, cache / f"fleet-{n}-work", bare)
        shutil.rmtree(cache / f"fleet-{n}-work", ignore_errors=True)
        shutil.rmtree(cache / f"fleet-{n}-work-specs", ignore_errors=True)
        print(f"built N={n} in {time.perf_counter() - t0:.0f} s", flush=True)
    return bare, git(bare, "rev-parse", "main")


def git(bare: Path, *args: str) -> str:
    out = subprocess.run(["git", "--git-dir", str(bare), *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def run(args: list[str], memory: bool = False) -> tuple[float, tuple[int, int, int], str]:
    """(seconds, (peak RSS, peak anonymous RSS, peak PSS) of the process tree, stdout)."""
    env = {**os.environ, "PLATO_RETRY_BACKOFF": "0.05"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([*PLATO, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    sampler = PeakRSS(proc.pid) if memory else None
    out, err = proc.communicate()
    took = time.perf_counter() - t0
    peak = (sampler.stop(), sampler.peak_anon, sampler.peak_pss) if sampler else (0, 0, 0)
    if proc.returncode != 0:
        raise SystemExit(f"plato {' '.join(args)} failed: {err.decode()[-2000:]}")
    return took, peak, out.decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memory", default="1000,5000")
    ap.add_argument("--incremental", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=3, help="rounds of the incremental comparison")
    ap.add_argument("--memory-reps", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/plato-scale-cache"))
    a = ap.parse_args()
    from generator.resources import bundled_dir

    a.cache.mkdir(parents=True, exist_ok=True)
    bundled = bundled_dir("rules")
    for n in [int(s) for s in a.memory.split(",") if s]:
        v1 = rules(bundled, a.cache / f"rules-{n}-v1", n)
        v2 = rules(bundled, a.cache / f"rules-{n}-all", n, everyone="75m")
        bare, base = built(a.cache, n, v1)
        peaks, anon, pss, times = [], [], [], []
        for _ in range(a.memory_reps):
            git(bare, "update-ref", "refs/heads/main", base)
            took, peak, out = run(["rerender", "--repo", str(bare), "--rules", str(v2), "--format", "json"], True)
            changed = len(json.loads(out)["changed"])
            peaks.append(peak[0] / 2**20)
            anon.append(peak[1] / 2**20)
            pss.append(peak[2] / 2**20)
            times.append(took)
        git(bare, "update-ref", "refs/heads/main", base)
        print(f"memory N={n} x 3 envs: {changed} apps change; peak RSS of the process tree median "
              f"{statistics.median(peaks):.0f} MB (max {max(peaks):.0f}), of it anonymous (allocated) "
              f"{statistics.median(anon):.0f} MB, PSS {statistics.median(pss):.0f} MB; "
              f"{statistics.median(times):.1f} s", flush=True)  # fmt: skip
    n = a.incremental
    if not n:
        return
    v1 = rules(bundled, a.cache / f"rules-{n}-v1", n)
    v2 = rules(bundled, a.cache / f"rules-{n}-hot", n, hot="96Mi")
    bare, base = built(a.cache, n, v1)
    inc, full = [], []
    for _ in range(a.reps):
        for label, extra, into in (("incremental", [], inc), ("full", ["--full"], full)):
            git(bare, "update-ref", "refs/heads/main", base)
            took, _, out = run(["rerender", "--repo", str(bare), "--rules", str(v2), "--format", "json", *extra])
            data = json.loads(out)
            into.append(took)
            print(f"  {label}: {took:.2f} s, {len(data['changed'])} changed, rendered {data['rendered']}, "
                  f"skipped {data['skipped']}", flush=True)  # fmt: skip
    git(bare, "update-ref", "refs/heads/main", base)
    mi, mf = statistics.median(inc), statistics.median(full)
    print(f"incremental N={n} x 3 envs: {mi:.2f} s (spread {min(inc):.2f}-{max(inc):.2f}) vs full {mf:.2f} s "
          f"(spread {min(full):.2f}-{max(full):.2f}): 1/{mf / mi:.1f} of a full re-render", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
