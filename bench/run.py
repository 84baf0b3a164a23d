#!/usr/bin/env python3
"""plato's benchmark: run by hand (or by CI as a report, never as a gate).

    python bench/run.py                 # N = 100 and 1000, plato vs the floor vs Kapitan, 5 interleaved rounds
    python bench/run.py --quick         # N = 20 and 100, 2 rounds, no Kapitan (the CI report)

Measures, in one run on one machine, medians and spread of interleaved rounds (floor, plato, plato --dry-run,
Kapitan, floor, ...):
- `plato --help`, and a single-app publish into a local bare repository (the CI step, start-up included);
- the whole-fleet re-render after a rule change (`plato rerender --full`: every app rendered, the production
  apps change, one commit) for each N, and its peak memory (the whole process tree, sampled);
- the floor (bench/lower_bound.py): the same objects written by plato's own writer, hashed, the changed blobs
  written as git objects in one commit; its tree is compared with plato's, path by path, and any difference shown;
- Kapitan compiling an equivalent inventory (one target per app and environment, jinja2 templates of the same
  files), when a Kapitan is installed in its own virtual environment (--kapitan PATH, default
  bench/.kapitan-venv/bin/kapitan or `pip install kapitan` there with --install-kapitan). Its files are compared
  with plato's tree, and the report says whether they are identical (they are not: see kapitan_inventory).

Publish into repositories of 100 to 10,000 apps, served by `git daemon` with and without filters: bench/publish.py.
"""

from __future__ import annotations

import argparse
import hashlib
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
FLOOR_IMPORTS = "import click, ruamel.yaml, jinja2, jinja2.sandbox, yaml, cel_expr_python"  # what a publish imports
PLATO_BIN = Path(sys.executable).with_name("plato")


class PeakRSS:
    """Peak resident memory of a process and all its descendants, sampled every 20 ms from /proc: all of it
    (VmRSS, which counts the pages of git's packs that its `cat-file` and `fast-import` processes map, each
    process again), the anonymous part alone (RssAnon: what the processes allocated, the memory a limit takes
    away first; a forked worker counts the pages it still shares with its parent too), and PSS (each shared page
    divided among the processes sharing it: the tree's memory counted once).

    The remote's side is left out: when the deployment repository is a local path, git runs the server's
    `receive-pack` (with its `index-pack`, 120 MB at 5,000 apps) and `upload-pack` (with its `pack-objects`) as
    descendants of plato's push and fetch; with a real remote they run on the git server, not in the CI job."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.peak_anon, self.peak_pss, self._stop = pid, 0, 0, 0, threading.Event()
        self._remote: dict[int, bool] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self, pid: int) -> list[int]:
        """The process and its descendants, but for the remote's processes and theirs."""
        if self._is_remote(pid):
            return []
        out = [pid]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                kids = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                for k in kids:
                    out += self._tree(int(k))
        except OSError:
            pass
        return out

    def _is_remote(self, pid: int) -> bool:
        # Read again until it says so: between fork and exec a process still shows its parent's command line.
        if not self._remote.get(pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                return False
            self._remote[pid] = b"receive-pack" in cmdline or b"upload-pack" in cmdline
        return self._remote[pid]

    def _rss(self, pid: int) -> tuple[int, int]:
        """(VmRSS, RssAnon) in bytes."""
        found = {"VmRSS:": 0, "RssAnon:": 0}
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key = line.split(maxsplit=1)[0] if line else ""
                if key in found:
                    found[key] = int(line.split()[1]) * 1024
        except OSError:
            pass
        return found["VmRSS:"], found["RssAnon:"]

    def _pss(self, pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        rounds = 0
        while not self._stop.is_set():
            tree = self._tree(self.pid)
            sizes = [self._rss(p) for p in tree]
            self.peak = max(self.peak, sum(r for r, _ in sizes))
            self.peak_anon = max(self.peak_anon, sum(a for _, a in sizes))
            if rounds % 5 == 0:  # every 0.1 s: the kernel walks each process's pages to tell
                self.peak_pss = max(self.peak_pss, sum(self._pss(p) for p in tree))
            rounds += 1
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, memory: bool = False
) -> tuple[float, tuple[int, int, int]]:
    """(seconds, (peak RSS, peak anonymous RSS, peak PSS) of the process tree when `memory`)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = PeakRSS(proc.pid) if memory else None
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    peak = (sampler.stop(), sampler.peak_anon, sampler.peak_pss) if sampler else (0, 0, 0)
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


def floor_spec(bare: Path, work: Path) -> Path:
    """What plato's re-render wrote for app0000 in each environment (its files and record), read from the tree it
    pushed: the objects the floor and Kapitan write for every app (with its name and source commit put in)."""
    ls = subprocess.run(["git", "--git-dir", str(bare), "ls-tree", "-r", "--name-only", "main"], capture_output=True,
                        text=True, check=True).stdout.split()  # fmt: skip
    envs: dict[str, Any] = {env: {} for env in fleet.ENVS}
    for path in ls:
        env = next((e for e in fleet.ENVS if f"{e}/app0000" in path or f"{e}-app0000" in path), None)
        if env:
            show = ["git", "--git-dir", str(bare), "show", f"main:{path}"]
            envs[env][path] = subprocess.run(show, capture_output=True, text=True, check=True).stdout
    spec = work / "floor.json"
    spec.write_text(json.dumps({"app": "app0000", "envs": envs}))
    return spec


def differing(bare: Path, a: str, b: str) -> list[str]:
    """The paths whose entries differ between two commits (git compares the trees)."""
    out = subprocess.run(
        ["git", "--git-dir", str(bare), "diff-tree", "-r", "--name-only", "--no-renames", a, b],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.split()


def spread(xs: list[float]) -> str:
    return f"{min(xs):.2f}-{max(xs):.2f}"


def rounds(
    n: int, bare: Path, base: str, cmd: list[str], env: dict[str, str], rules: Path,
    kapitan: Path | None, work: Path, reps: int, jobs: int,
) -> dict[str, Any]:  # fmt: skip
    """Interleaved rounds (floor, plato, plato --dry-run, Kapitan, floor, ...): each round sees the same machine.
    The first round also compares the trees: the floor's and Kapitan's files with plato's, path by path."""
    times: dict[str, list[float]] = {"floor": [], "plato": [], "dry": [], "kapitan": []}
    row: dict[str, Any] = {"peak_mb": 0.0, "peak_anon_mb": 0.0, "peak_pss_mb": 0.0}
    kroot = work / f"kapitan-{n}"
    spec = work / "floor.json"
    for r in range(reps):
        scratch = work / f"floor-{n}-{r}.git"
        floor = [sys.executable, str(HERE / "lower_bound.py"), str(spec), str(bare), str(n), str(jobs), str(scratch)]
        if r > 0:  # the first round runs plato first: the floor writes the objects plato's re-render wrote
            times["floor"].append(timed(floor)[0])
        # --full: every app rendered, as the floor and Kapitan render every app (without it, the apps the rule
        # change does not reach are skipped: bench/scale.py measures that against --full)
        full = [*cmd, "rerender", "--full", "--repo", str(bare), "--rules", str(rules)]
        t, peak = timed(full, env=env, memory=True)
        times["plato"].append(t)
        row["peak_mb"] = max(row["peak_mb"], peak[0] / 2**20)
        row["peak_anon_mb"] = max(row["peak_anon_mb"], peak[1] / 2**20)
        row["peak_pss_mb"] = max(row["peak_pss_mb"], peak[2] / 2**20)
        if r == 0:
            plato_tip = head(bare)
            floor_spec(bare, work)
            if kapitan:
                kapitan_inventory(kroot, spec, n)
            reset(bare, base)
            times["floor"].append(timed(floor)[0])
            floor_commit = subprocess.run(["git", "--git-dir", str(scratch), "rev-parse", "floor"], capture_output=True,
                                          text=True, check=True).stdout.strip()  # fmt: skip
            row["floor_vs_plato_differing"] = differing(scratch, floor_commit, plato_tip)[:2000]
        shutil.rmtree(scratch)
        reset(bare, base)
        t, _ = timed([*full, "--dry-run"], env=env)
        times["dry"].append(t)
        if kapitan:
            try:
                t, _ = timed([str(kapitan), "compile", "--parallelism", str(jobs)], cwd=kroot)
            except SystemExit as exc:  # a broken Kapitan install is a note in the report, not a lost run
                row["kapitan_error"], kapitan = str(exc)[:300], None
                continue
            times["kapitan"].append(t)
            if r == 0:
                row["kapitan_vs_plato"] = compare_kapitan(kroot / "compiled", bare, plato_tip, n)
            shutil.rmtree(kroot / "compiled", ignore_errors=True)
    for key, xs in times.items():
        if xs:
            row[f"{key}_s"], row[f"{key}_spread"] = median(xs), spread(xs)
    # Each round's own ratios: the two runs of a round are minutes apart at most, where the machine's speed drifts
    # less than between rounds (on a shared machine the medians' ratio can move more than a change does).
    for key, over, of in (("plato", "floor", "plato"), ("dry", "floor", "dry"), ("kapitan", "plato", "kapitan")):
        if times[of] and len(times[of]) == len(times[over]):
            ratios = [a / b for a, b in zip(times[of], times[over], strict=True)]
            row[f"{key}_ratio"], row[f"{key}_ratio_spread"] = median(ratios), spread(ratios)
    return row


def compare_kapitan(compiled: Path, bare: Path, rev: str, n: int) -> dict[str, int]:
    """Kapitan's files against plato's tree after a re-render: same bytes, other bytes, or a path plato does not
    have; and plato's files Kapitan did not write."""
    ls = subprocess.run(["git", "--git-dir", str(bare), "ls-tree", "-r", rev], capture_output=True, text=True,
                        check=True).stdout  # fmt: skip
    plato = {line.split("\t", 1)[1]: line.split()[2] for line in ls.splitlines()}
    seen, same, other, extra = set(), 0, 0, 0
    for path in compiled.rglob("*"):
        if not path.is_file():
            continue
        target, _, rel = path.relative_to(compiled).as_posix().partition("/")
        app = target.split("-", 1)[1]
        rel = rel.replace("APP", app).replace("/__dot__", "/.")
        data = path.read_bytes()
        oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        seen.add(rel)
        if rel not in plato:
            extra += 1
        elif plato[rel] == oid:
            same += 1
        else:
            other += 1
    apps = {fleet.app_name(i) for i in range(n)}
    missing = sum(1 for p in plato if p not in seen and any(a in p for a in apps))
    return {"identical": same, "different": other, "not_in_plato": extra, "missing": missing}


def kapitan_inventory(root: Path, spec: Path, n: int) -> None:
    """One Kapitan target per app and environment; jinja2 templates of the same files plato writes, with the app's
    name and source commit as inventory parameters. Kapitan cannot name a file from a parameter, skips files whose
    names begin with a dot and drops each file's final newline (jinja2's default): the templates carry 'APP' in
    their paths and '__dot__' for a leading dot (compare_kapitan maps both back) and one more final newline. A
    record's digests (of the app's specs, of its inputs, of the files it leaves) are parameters of each target,
    computed here as the floor computes them (Kapitan's jinja2 has no canonical JSON nor the digests)."""
    data = json.loads(spec.read_text())
    import lower_bound
    import yaml

    lower_bound._init(str(spec))
    (root / "inventory" / "targets").mkdir(parents=True)
    (root / "inventory" / "classes").mkdir()  # reclass needs the folder, even empty
    (root / "templates").mkdir()
    for env, files in data["envs"].items():
        tdir = root / "templates" / env
        for path, text in files.items():
            target = tdir / path.replace("app0000", "APP").replace("/.", "/__dot__")
            target.parent.mkdir(parents=True, exist_ok=True)
            digests = _record_digests(text) if path.startswith(".plato/inputs/") else {}
            for name, value in digests.items():  # the record's digests are parameters of each target
                text = text.replace(value, f"DIGEST_{name.upper()}")
            body = text.replace("{{", "{{ '{{' }}").replace("app0000", "{{ inventory.parameters.app }}")
            for name in digests:  # after escaping the text's own braces
                body = body.replace(f"DIGEST_{name.upper()}", "{{ inventory.parameters." + name + " }}")
            target.write_text(body.replace("0" * 40, "{{ inventory.parameters.sha }}") + "\n")
    for i in range(n):
        app, sha = fleet.app_name(i), f"{i:040x}"
        for env in data["envs"]:
            rendered = lower_bound.render_app((env, i))
            record = next(d for p, d, _ in rendered if p.startswith(".plato/inputs/"))
            compile_items = [{"input_type": "jinja2", "input_paths": [f"templates/{env}"], "output_path": "."}]
            params = {"app": app, "sha": sha, "env": env, **_record_digests(record.decode())}
            params["kapitan"] = {"vars": {"target": f"{env}-{app}"}, "compile": compile_items}
            (root / "inventory" / "targets" / f"{env}-{app}.yml").write_text(yaml.safe_dump({"parameters": params}))


def _record_digests(text: str) -> dict[str, str]:
    """The digests in a record that depend on the app: of its specs, its inputs and the files its write leaves."""
    rec = json.loads(text)
    out = {"specs": rec["pinned"]["specs"]}
    for name in ("inputs", "output"):
        if isinstance(rec.get("digests"), dict) and name in rec["digests"]:
            out[name] = rec["digests"][name]
    return out


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
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="N = 20 and 100, 2 repetitions, no Kapitan")
    ap.add_argument("--kapitan", default=None, help="path to a kapitan executable in its own venv")
    ap.add_argument("--install-kapitan", action="store_true", help="pip install kapitan into bench/.kapitan-venv")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    sizes = [20, 100] if args.quick else [int(s) for s in args.sizes.split(",")]
    reps = 2 if args.quick else args.reps
    kapitan = None if args.quick else find_kapitan(args.kapitan, args.install_kapitan)

    from generator.resources import bundled_dir

    fleet.compile_plato()

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
        # built on and a publish imports (click, ruamel.yaml, jinja2, PyYAML, the CEL library of the policies).
        floor = [timed([sys.executable, "-c", FLOOR_IMPORTS])[0] for _ in range(max(reps, 5))]
        results["import_floor_s"] = median(floor)
        results["python_s"] = median([timed([sys.executable, "-c", "pass"])[0] for _ in range(max(reps, 5))])

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
            row.update(rounds(n, bare, base, cmd, env, rules_v2, kapitan, work, reps, args.jobs))
            results[f"n{n}"] = row
            print(f"N={n}: {json.dumps(row)}", file=sys.stderr)
    report(results, sizes)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def line(what: str, value: str, spread: str = "", target: str = "", ratio: str = "") -> None:
    print(f"| {what} | {value} | {spread} | {target} | {ratio} |")


def report(r: dict[str, Any], sizes: list[int]) -> None:
    print(
        f"\nplato benchmark, {r['date']}, {r['machine']}; medians of {r['reps']} interleaved rounds, {r['jobs']} jobs"
    )
    print("(spread: the fastest and the slowest round)\n")
    print("| measurement | median | spread | target | ratio |")
    print("|---|--:|--:|---|---|")
    line("`plato --help`", f"{r['help_s']:.3f} s", target="< 0.15 s")
    line("`python -c pass` (the interpreter alone)", f"{r['python_s']:.3f} s")
    line("the interpreter importing what a publish imports (no plato)", f"{r['import_floor_s']:.3f} s")
    for n in sizes:
        row = r[f"n{n}"]
        if "publish_s" in row:
            line(f"single-app publish into a bare repo (fleet of {n})", f"{row['publish_s']:.3f} s", target="< 0.6 s")
    for n in sizes:
        fleet_rows(n, r[f"n{n}"])
    if len(sizes) >= 2:
        a, b = r[f"n{sizes[0]}"], r[f"n{sizes[-1]}"]
        growth = f"{b['plato_s'] / a['plato_s']:.2f}x"
        line(f"growth N={sizes[0]} -> N={sizes[-1]} ({sizes[-1] // sizes[0]}x apps)", growth,
             target=f"<= {1.1 * sizes[-1] / sizes[0]:.0f}x")  # fmt: skip


def ratio(row: dict[str, Any], key: str, value: float, suffix: str = "") -> str:
    """The medians' ratio, and the median and range of each round's own ratio."""
    if f"{key}_ratio" not in row:
        return f"{value:.2f}x{suffix}"
    low, _, high = row[f"{key}_ratio_spread"].partition("-")
    return f"{value:.2f}x{suffix} (by round: {row[f'{key}_ratio']:.2f}x, {low}-{high}x)"


def fleet_rows(n: int, row: dict[str, Any]) -> None:
    fl, pl = row["floor_s"], row["plato_s"]
    what = f"N={n}: floor (plato's writer, hash, git objects, one commit; {row['renders']} app-envs)"
    line(what, f"{fl:.2f} s", row["floor_spread"], ratio="1.00x")
    what = f"N={n}: `plato rerender --full` (render every app, diff, commit, push)"
    line(what, f"{pl:.2f} s", row["plato_spread"], "<= 3x floor", ratio(row, "plato", pl / fl))
    what = f"N={n}: `plato rerender --full --dry-run`"
    line(what, f"{row['dry_s']:.2f} s", row["dry_spread"], ratio=ratio(row, "dry", row["dry_s"] / fl))
    line(f"N={n}: peak memory of `plato rerender` (process tree)", f"{row['peak_mb']:.0f} MB", target="< 300 MB")
    line(f"N={n}: of it anonymous (allocated; the rest is git's packs mapped)", f"{row['peak_anon_mb']:.0f} MB")
    line(f"N={n}: PSS of the process tree (shared pages counted once)", f"{row['peak_pss_mb']:.0f} MB")
    if "kapitan_s" in row:
        k = row["kapitan_vs_plato"]
        same = "identical" if k["different"] == k["not_in_plato"] == k["missing"] == 0 else "NOT identical"
        what = (
            f"N={n}: Kapitan compile ({same} to plato's tree: {k['identical']} files equal, {k['different']} differ, "
            f"{k['not_in_plato']} not in plato's, {k['missing']} of plato's missing)"
        )
        by = ratio(row, "kapitan", row["kapitan_s"] / pl, " plato")
        line(what, f"{row['kapitan_s']:.2f} s", row["kapitan_spread"], ">= 5x plato on identical output", by)
    elif "kapitan_error" in row:
        line(f"N={n}: Kapitan", f"failed: {row['kapitan_error'][:120]}")
    diff = row["floor_vs_plato_differing"]
    shown = f"{len(diff)} files differ" + (": " + ", ".join(diff[:3]) if diff else "")
    line(f"N={n}: the floor's tree against plato's", shown, target="0")


if __name__ == "__main__":
    main()
