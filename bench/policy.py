#!/usr/bin/env python3
"""What the admission-policy gate costs: run by hand, never as a gate.

    python bench/policy.py              # N = 100, 3 repetitions
    python bench/policy.py --sizes 100,1000 --reps 5

A/B on the same machine in one run: the bundled rules as shipped (with rules/90-policies.yaml) against the same
rules without that file, for
- a publish of examples/shop into a local bare repository (the CI step, start-up included), development and
  production;
- the whole-fleet re-render of N apps after a rule change (bench/fleet.py's fleet, `plato rerender`);
and, in process, the share of policy evaluation in rendering examples/shop (create vs evaluate, medians).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import fleet  # noqa: E402
from run import PLATO, PLATO_BIN, head, reset, timed  # noqa: E402

SHOP = REPO / "examples" / "shop"
POLICY_FILE = "90-policies.yaml"


def in_process(rules: Path, env: str, reps: int) -> dict[str, float]:
    """Medians of create and of policy evaluation for examples/shop, in one process (no start-up)."""
    from generator.check.admission import evaluate_tree
    from generator.create.render import render
    from generator.pipeline import Inputs

    ctx = [f"env={env}", "app=shop", "org=acme"]
    inputs = Inputs.load(sorted(SHOP.glob("*.yaml")), context=ctx, image="ghcr.io/acme/shop:1.0", rules_dir=rules)
    create, check = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        tree = render(inputs.plan(), inputs.files)
        t1 = time.perf_counter()
        report = evaluate_tree(tree, inputs.workloads)
        check.append(time.perf_counter() - t1)
        create.append(t1 - t0)
    return {
        "create_ms": statistics.median(create) * 1e3,
        "policies_ms": statistics.median(check) * 1e3,
        "results": float(len(report.results)),
    }


def publish_times(cmd: list[str], rules: Path, env: str, work: Path, reps: int) -> float:
    out = []
    for r in range(reps):
        bare = work / f"shop-{rules.name}-{env}-{r}.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
        args = [*cmd, "publish", str(SHOP), "-c", f"env={env}", "-c", "app=shop", "-c", "org=acme"]
        t, _ = timed([*args, "--image", "ghcr.io/acme/shop:1.0", "--rules", str(rules), "--repo", str(bare)])
        out.append(t)
    return statistics.median(out)


def without_policies(rules: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(rules, target)
    (target / POLICY_FILE).unlink()
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    from generator.resources import bundled_dir

    cmd = [str(PLATO_BIN)] if PLATO_BIN.exists() else PLATO
    env = {**os.environ, "PLATO_RETRY_BACKOFF": "0.05"}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="plato-bench-policy-") as tmp:
        work = Path(tmp)
        rules = {"with": bundled_dir("rules"), "without": without_policies(bundled_dir("rules"), work / "no-pol")}
        for e in ("development", "production"):
            results[f"in_process_{e}"] = in_process(rules["with"], e, max(args.reps, 20))
            for k, r in rules.items():
                results[f"publish_{e}_{k}_s"] = publish_times(cmd, r, e, work, args.reps)
        v1 = fleet.write_rules(bundled_dir("rules"), work / "rules-v1")
        v2 = {
            "with": fleet.write_rules(bundled_dir("rules"), work / "rules-v2", memory="320Mi"),
            "without": fleet.write_rules(rules["without"], work / "rules-v2-np", memory="320Mi"),
        }
        for n in [int(s) for s in args.sizes.split(",")]:
            bare = work / f"fleet-{n}.git"
            fleet.build_repo(n, v1, work / f"fleet-{n}-work", bare)
            base = head(bare)
            for k, r in v2.items():
                times = []
                for _ in range(args.reps):
                    t, _ = timed([*cmd, "rerender", "--repo", str(bare), "--rules", str(r)], env=env)
                    times.append(t)
                    reset(bare, base)
                results[f"rerender_n{n}_{k}_s"] = statistics.median(times)
    report(results)


def report(r: dict[str, Any]) -> None:
    print(json.dumps(r, indent=2, sort_keys=True))
    for key in sorted(k for k in r if k.endswith("_with_s")):
        base = r[key.replace("_with_s", "_without_s")]
        print(f"{key[:-7]}: {r[key]:.3f}s with policies, {base:.3f}s without: {100 * (r[key] / base - 1):+.1f}%")
    for e in ("development", "production"):
        p = r[f"in_process_{e}"]
        print(f"in process, shop {e}: create {p['create_ms']:.1f} ms, policies {p['policies_ms']:.1f} ms")


if __name__ == "__main__":
    main()
