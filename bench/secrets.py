"""What the secret check costs a publish: examples/shop rendered in each environment, then the check stage
(context, specs, every file read back), the choke point a publish passes (every blob again, the record
included: already-clean blobs are only hashed), the commit message, and masking a PR body the size of the
shop's. Also whether detect-secrets was imported (it is only when a line could hold a token it knows).

    .venv/bin/python bench/secrets.py [--reps 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def best(fn: Callable[[], object], reps: int) -> float:
    """Median CPU milliseconds (process time: the machine is shared, wall time says more about the others)."""
    times = []
    for _ in range(reps):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times) * 1000


def measure(env: str, reps: int) -> str:
    from generator import credentials as secrets
    from generator.check import guard
    from generator.create.render import render
    from generator.credentials import mask
    from generator.deploy.record import make_record, record_path
    from generator.pipeline import Inputs

    ctx = [f"env={env}", "app=shop", "org=acme"]
    inputs = Inputs.load([ROOT / "examples" / "shop"], context=ctx, image="ghcr.io/acme/shop:1.0")
    plan = inputs.plan()
    tree = render(plan, inputs.files)
    record = make_record(plan.context, inputs.workloads, None, inputs.files, plan.rules_used(), tree.owned)
    files = {**tree.files, record_path(tree.env, tree.app): record}
    body = "\n".join(b.decode() for b in files.values())
    message = f"plato: shop in {env}\n\nPlato-Context: {' '.join(ctx)}\n"

    def stage() -> None:
        guard._CLEAN.clear()
        secrets._scan_short.cache_clear()
        guard.check_rendered(tree, inputs.workloads)

    def publish() -> None:
        stage()
        guard.check_outgoing(files)
        guard.check_outgoing(files)  # the second attempt of a publish that lost a race
        guard.check_message("the commit message", message)

    return (
        f"{env}: {len(files)} files, {sum(len(b) for b in files.values())} bytes: check stage "
        f"{best(stage, reps):.1f} ms CPU, a whole publish's checks {best(publish, reps):.1f} ms, "
        f"masking a {len(body)}-character PR body {best(lambda: mask(body), reps):.1f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    for env in ("development", "production"):
        print(measure(env, args.reps))
    print(f"detect-secrets imported: {'detect_secrets' in sys.modules}")
    t = time.perf_counter()
    from generator.credentials import _plugins

    _plugins()
    print(f"importing detect-secrets and building its plugins: {(time.perf_counter() - t) * 1000:.0f} ms (wall)")


if __name__ == "__main__":
    main()
