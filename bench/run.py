#!/usr/bin/env python3
"""plato's benchmark: run by hand (or by CI as a report, never as a gate).

    python bench/run.py                 # N = 100 and 1000, plato vs the lower bound vs Kapitan, 3 repetitions
    python bench/run.py --quick         # N = 20 and 100, 2 repetitions, no Kapitan (the CI report)

Measures, in one run on one machine, medians of several repetitions:
- `plato --help`, and a single-app publish into a local bare repository (the CI step, start-up included);
- the whole-fleet re-render after a rule change (`plato rerender`, every app changes, one commit per
  environment) for each N, and its peak memory (the whole process tree, sampled);
- the lower bound: the same objects' text rendered with jinja2, emitted with libyaml, written to files;
- Kapitan compiling an equivalent inventory (one target per app and environment, jinja2 templates of the same
  objects), when a Kapitan is installed in its own virtual environment (--kapitan PATH, default
  bench/.kapitan-venv/bin/kapitan or `pip install kapitan` there with --install-kapitan).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import fleet  # noqa: E402

PLATO = [sys.executable, "-m", "generator"]
FLOOR_IMPORTS = "import click, ruamel.yaml, pydantic, jinja2, jinja2.sandbox, jsonschema, yaml"
PLATO_BIN = Path(sys.executable).with_name("plato")


class PeakRSS:
    """Peak resident memory of a process and all its descendants, sampled every 20 ms from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self, pid: int) -> list[int]:
        out = [pid]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                kids = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                for k in kids:
                    out += self._tree(int(k))
        except OSError:
            pass
        return out

    def _rss(self, pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(self._rss(p) for p in self._tree(self.pid)))
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, memory: bool = False
) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = PeakRSS(proc.pid) if memory else None
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    peak = sampler.stop() if sampler else 0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return elapsed, peak


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def reset(bare: Path, sha: str) -> None:
    subprocess.run(["git", "--git-dir", str(bare), "update-ref", "refs/heads/main", sha], check=True)


def head(bare: Path) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "main"], capture_output=True, text=True, check=True
    ).stdout.strip()


def lower_bound_spec(work: Path, specs: list[Path], rules: Path) -> Path:
    """plato's output for app0000 in each environment: what the lower bound and Kapitan make templates of."""
    from generator.pipeline import Inputs

    envs: dict[str, Any] = {}
    for env in fleet.ENVS:
        inputs = Inputs.load(specs, context=fleet.context(0, env), image="ghcr.io/acme/app0000:1.0.0", rules_dir=rules)
        tree = inputs.render()
        envs[env] = {path: data.decode() for path, data in tree.files.items()}
    spec = work / "lower-bound.json"
    spec.write_text(json.dumps({"app": "app0000", "envs": envs}))
    return spec


def kapitan_inventory(root: Path, spec: Path, n: int) -> None:
    """One Kapitan target per app and environment; jinja2 templates of the same files plato writes."""
    data = json.loads(spec.read_text())
    import yaml

    (root / "inventory" / "targets").mkdir(parents=True)
    (root / "inventory" / "classes").mkdir()  # reclass needs the folder, even empty
    (root / "templates").mkdir()
    for env, files in data["envs"].items():
        tdir = root / "templates" / env
        for path, text in files.items():
            target = tdir / path.replace("app0000", "APP")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text.replace("{{", "{{ '{{' }}").replace("app0000", "{{ inventory.parameters.app }}"))
    for i in range(n):
        app = fleet.app_name(i)
        for env in data["envs"]:
            compile_items = [{"input_type": "jinja2", "input_paths": [f"templates/{env}"], "output_path": "."}]
            target = {
                "parameters": {
                    "app": app,
                    "env": env,
                    "kapitan": {"vars": {"target": f"{env}-{app}"}, "compile": compile_items},
                }
            }
            (root / "inventory" / "targets" / f"{env}-{app}.yml").write_text(yaml.safe_dump(target))


def find_kapitan(arg: str | None, install: bool) -> Path | None:
    candidate = Path(arg) if arg else HERE / ".kapitan-venv" / "bin" / "kapitan"
    if candidate.exists():
        return candidate
    if install:
        venv = HERE / ".kapitan-venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "kapitan"], check=True)
        return venv / "bin" / "kapitan"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="N = 20 and 100, 2 repetitions, no Kapitan")
    ap.add_argument("--kapitan", default=None, help="path to a kapitan executable in its own venv")
    ap.add_argument("--install-kapitan", action="store_true", help="pip install kapitan into bench/.kapitan-venv")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    sizes = [20, 100] if args.quick else [int(s) for s in args.sizes.split(",")]
    reps = 2 if args.quick else args.reps
    kapitan = None if args.quick else find_kapitan(args.kapitan, args.install_kapitan)

    import compileall

    import generator
    from generator.resources import bundled_dir

    # plato's bytecode, as `pip install` writes it (an editable install under PYTHONDONTWRITEBYTECODE, as on some
    # machines, would otherwise compile every module on every run and measure the compiler).
    compileall.compile_dir(Path(generator.__file__).parent, quiet=1)

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()}",
        "reps": reps,
        "jobs": args.jobs,
    }
    with tempfile.TemporaryDirectory(prefix="plato-bench-") as tmp:
        work = Path(tmp)
        specs = fleet.write_specs(work / "specs")
        rules_v1 = fleet.write_rules(bundled_dir("rules"), work / "rules-v1")
        rules_v2 = fleet.write_rules(bundled_dir("rules"), work / "rules-v2", memory="320Mi")
        env = {**os.environ, "PLATO_RETRY_BACKOFF": "0.05"}
        cmd = [str(PLATO_BIN)] if PLATO_BIN.exists() else PLATO

        help_times = [timed([*cmd, "--help"])[0] for _ in range(max(reps, 5))]
        results["help_s"] = median(help_times)
        # What no publish can go below on this machine: the interpreter, and importing the libraries plato is
        # built on (click, ruamel.yaml, pydantic, jinja2, jsonschema, PyYAML).
        floor = [timed([sys.executable, "-c", FLOOR_IMPORTS])[0] for _ in range(max(reps, 5))]
        results["import_floor_s"] = median(floor)
        results["python_s"] = median([timed([sys.executable, "-c", "pass"])[0] for _ in range(max(reps, 5))])

        spec = lower_bound_spec(work, specs, rules_v1)
        for n in sizes:
            t0 = time.perf_counter()
            bare = work / f"fleet-{n}.git"
            fleet.build_repo(n, rules_v1, work / f"fleet-{n}-work", bare)
            base = head(bare)
            row: dict[str, Any] = {"setup_s": time.perf_counter() - t0, "renders": n * len(fleet.ENVS)}
            if n == sizes[0] or n == 100:
                pub = []
                for r in range(reps):
                    ctx = [a for c in fleet.context(0, "development") for a in ("-c", c)]
                    image = f"ghcr.io/acme/app0000:2.{r}.0"
                    publish = [
                        *cmd,
                        "publish",
                        *map(str, specs),
                        *ctx,
                        "--image",
                        image,
                        "--rules",
                        str(rules_v1),
                        "--repo",
                        str(bare),
                    ]
                    t, _ = timed(publish, env=env)
                    pub.append(t)
                reset(bare, base)
                row["publish_s"] = median(pub)
            full, dry, peaks = [], [], []
            for _ in range(reps):
                t, _ = timed([*cmd, "rerender", "--repo", str(bare), "--rules", str(rules_v2), "--dry-run"], env=env)
                dry.append(t)
                t, peak = timed([*cmd, "rerender", "--repo", str(bare), "--rules", str(rules_v2)], env=env, memory=True)
                full.append(t)
                peaks.append(peak)
                reset(bare, base)
            row["rerender_s"], row["rerender_dry_s"], row["peak_mb"] = median(full), median(dry), max(peaks) / 2**20
            lows = []
            for r in range(reps):
                out = work / f"lower-{n}-{r}"
                t, _ = timed(
                    [sys.executable, str(HERE / "lower_bound.py"), str(spec), str(out), str(n), str(args.jobs)]
                )
                lows.append(t)
                shutil.rmtree(out)
            row["lower_bound_s"] = median(lows)
            if kapitan:
                kroot = work / f"kapitan-{n}"
                kapitan_inventory(kroot, spec, n)
                ks = []
                try:
                    for _ in range(max(1, reps - 1)):
                        t, _ = timed([str(kapitan), "compile", "--parallelism", str(args.jobs)], cwd=kroot)
                        ks.append(t)
                        shutil.rmtree(kroot / "compiled", ignore_errors=True)
                    row["kapitan_s"] = median(ks)
                except SystemExit as exc:  # a broken Kapitan install is a note in the report, not a lost run
                    row["kapitan_error"] = str(exc)[:300]
            results[f"n{n}"] = row
            print(f"N={n}: {json.dumps(row)}", file=sys.stderr)
    report(results, sizes)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def report(r: dict[str, Any], sizes: list[int]) -> None:
    print(f"\nplato benchmark, {r['date']}, {r['machine']}; medians of {r['reps']} runs, {r['jobs']} workers\n")
    print("| measurement | median | target | ratio |")
    print("|---|--:|---|---|")
    print(f"| `plato --help` | {r['help_s']:.3f} s | < 0.15 s | |")
    print(f"| `python -c pass` (the interpreter alone) | {r['python_s']:.3f} s | | |")
    print(
        f"| start-up floor: the interpreter importing click, ruamel.yaml, pydantic, jinja2, jsonschema, PyYAML | "
        f"{r['import_floor_s']:.3f} s | | |"
    )
    for n in sizes:
        row = r[f"n{n}"]
        if "publish_s" in row:
            print(f"| single-app publish into a bare repo (fleet of {n}) | {row['publish_s']:.3f} s | < 0.6 s | |")
    for n in sizes:
        row = r[f"n{n}"]
        lb = row["lower_bound_s"]
        print(f"| N={n}: lower bound (jinja2 + libyaml + write, {row['renders']} app-envs) | {lb:.2f} s | | 1.00x |")
        print(
            f"| N={n}: `plato rerender` (render, diff, commit, push) | {row['rerender_s']:.2f} s | <= 2x lower bound "
            f"| {row['rerender_s'] / lb:.2f}x |"
        )
        print(
            f"| N={n}: `plato rerender --dry-run` | {row['rerender_dry_s']:.2f} s | "
            f"| {row['rerender_dry_s'] / lb:.2f}x |"
        )
        print(f"| N={n}: peak memory of `plato rerender` | {row['peak_mb']:.0f} MB | < 500 MB | |")
        if "kapitan_s" in row:
            print(
                f"| N={n}: Kapitan compile | {row['kapitan_s']:.2f} s | >= 4x plato | "
                f"{row['kapitan_s'] / row['rerender_s']:.2f}x plato |"
            )
    if len(sizes) >= 2:
        a, b = r[f"n{sizes[0]}"], r[f"n{sizes[-1]}"]
        growth = b["rerender_s"] / a["rerender_s"]
        print(
            f"| growth N={sizes[0]} -> N={sizes[-1]} ({sizes[-1] // sizes[0]}x apps) | {growth:.2f}x | "
            f"<= {1.1 * sizes[-1] / sizes[0]:.0f}x | |"
        )


if __name__ == "__main__":
    main()
