#!/usr/bin/env python3
"""Promotion benchmark, run by hand (it reports figures, it asserts nothing):

    python bench/promote.py [--reps 5]

Times, start-up included and against a local bare repository, the commands of a promotion from development to
staging to production: a publish to development (a new image each round), the two promotions that carry it, a
repeated promotion (the no-op), a rollback, and a publish in the GitOps Promoter layout (a hydration of
`environment/development-next/shop`). Reports the median and the spread of each over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))  # the shared test kit

from testkit.promotion import promotion_rules  # noqa: E402

PLATO = [str(Path(sys.executable).parent / "plato")]
SHOP = str(REPO / "examples" / "shop")


def timed(args: list[str]) -> float:
    began = time.perf_counter()
    proc = subprocess.run([*PLATO, *args], capture_output=True, text=True, check=False)
    spent = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"plato {' '.join(args)} failed:\n{proc.stderr}")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    reps = parser.parse_args().reps
    tmp = Path(tempfile.mkdtemp(prefix="plato-bench-promote-"))
    rules, hydrate_rules = promotion_rules(tmp / "rules"), promotion_rules(tmp / "hrules", "promoter", True)
    repo = str(tmp / "deploy.git")
    base = ["-c", "app=shop", "--repo", repo, "--rules", str(rules)]
    times: dict[str, list[float]] = {}
    for i in range(reps):
        image = f"ghcr.io/acme/shop:1.{i}@sha256:{i:064x}"
        ctx = ["-c", "org=acme", "-c", f"source_sha={i + 1:040x}", "-c", f"source_time={1000 + i}"]
        steps = {
            "publish development": ["publish", SHOP, "-c", "env=development", *ctx, "--image", image, *base],
            "promote -> staging": ["promote", "--from", "development", "--to", "staging", *base],
            "promote -> production": ["promote", "--from", "staging", "--to", "production", *base],
            "promote again (no-op)": ["promote", "--from", "staging", "--to", "production", *base],
            "rollback production": ["rollback", "-c", "env=production", "--to", "HEAD~3", *base],
            "hydrate (promoter layout)": [
                *["publish", SHOP, "-c", "env=development", "-c", "app=shop", *ctx, "--image", image],
                *["--repo", str(tmp / "promoter.git"), "--rules", str(hydrate_rules)],
            ],
        }
        if i == 0:
            steps.pop("rollback production")  # nothing to go back to yet
        for name, args in steps.items():
            times.setdefault(name, []).append(timed(args))
    for name, spent in times.items():
        spread = f"{min(spent):.2f}-{max(spent):.2f}"
        print(f"{name:28s} median {statistics.median(spent):.2f} s  ({spread} s, {len(spent)} runs)")


if __name__ == "__main__":
    main()
