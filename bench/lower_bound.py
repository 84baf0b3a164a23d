"""The floor of a fleet re-render: the minimum plato must do, and nothing more.

    python bench/lower_bound.py SPEC REPO N JOBS SCRATCH

The same objects plato renders, written by plato's own writer (generator/create/emit.py), hashed as git blobs,
compared with the tip's listing (one `ls-tree -r`), and the changed blobs written as git objects in one commit
(one `fast-import`, into the new repository SCRATCH, which borrows REPO's objects). No reading of specs, no matching,
no graph, no secret or policy check, no diff report, no push.

SPEC (from bench/run.py) holds plato's output for the first app in each environment, with its record: YAML files
as their parsed documents (parsed once, at start), other files as text. Each app's objects are the first app's
with its name and source commit put in, which makes the same files plato writes for it (bench/run.py compares the
floor's tree with plato's, path by path, and reports any difference). Prints `files changed commit`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from generator.create.emit import dump_yaml  # noqa: E402

APP, SHA = "app0000", "0" * 40
_TEMPLATES: dict[str, dict[str, tuple[str, Any]]] = {}


def _init(spec: str) -> None:
    import yaml

    for env, files in json.loads(Path(spec).read_text())["envs"].items():
        _TEMPLATES[env] = {
            path: ("yaml", [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None])
            if path.endswith(".yaml") and text.startswith("---\n")
            else ("record", json.loads(text))
            if path.startswith(".plato/inputs/")
            else ("text", text)
            for path, text in files.items()
        }


def record(data: dict[str, Any], app: str, sha: str, files: dict[str, bytes]) -> str:
    """An app's record: the first app's with its name and source commit put in, and the digests that depend on
    the app computed as plato computes them (generator/deploy/record.py): its specs' digest, the digest of its
    inputs and of the files its write leaves (`files`); the rules' match digest is the fleet's."""
    from generator.deploy.record import inputs_digest, output_digest, pinned

    out = _swap(data, app, sha)
    out["pinned"] = pinned(out["pinned"]["image"], out["workloads"])
    if isinstance(out.get("digests"), dict):
        out["digests"] = {**out["digests"], "inputs": inputs_digest(out), "output": output_digest(files)}
    return json.dumps(out, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def _swap(value: Any, app: str, sha: str) -> Any:
    if isinstance(value, str):
        return value.replace(APP, app).replace(SHA, sha)
    if isinstance(value, dict):
        return {_swap(k, app, sha): _swap(v, app, sha) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, app, sha) for v in value]
    return value


def render_app(job: tuple[str, int]) -> list[tuple[str, bytes, str]]:
    """One (env, app): its files as plato's writer spells them, and their blob ids."""
    env, i = job
    app, sha = f"app{i:04d}", f"{i:040x}"
    files: dict[str, bytes] = {}
    records = []
    for path, (kind, body) in _TEMPLATES[env].items():
        if kind == "yaml":
            files[path.replace(APP, app)] = (
                "---\n" + "---\n".join(dump_yaml(_swap(d, app, sha)) for d in body)
            ).encode()
        elif kind == "record":
            records.append((path.replace(APP, app), body))
        else:
            files[path.replace(APP, app)] = body.replace(APP, app).replace(SHA, sha).encode()
    for path, body in records:  # after the files: the record holds the digest of what they are
        files[path] = record(body, app, sha, {p: d for p, d in files.items() if not p.startswith(".plato/")}).encode()
    return [(path, data, hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()) for path, data in files.items()]


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(["git", "--git-dir", str(repo), *args], input=input, capture_output=True, check=True).stdout


def listing(repo: Path) -> dict[str, str]:
    out = {}
    for entry in git(repo, "ls-tree", "-r", "-z", "main").split(b"\0"):
        if entry:
            meta, _, path = entry.partition(b"\t")
            out[path.decode()] = meta.split()[2].decode()
    return out


def main() -> None:
    spec, repo, n, jobs, scratch = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
    envs = list(json.loads(Path(spec).read_text())["envs"])
    work = [(env, i) for i in range(n) for env in envs]
    tip = git(repo, "rev-parse", "main").decode().strip()
    current = listing(repo)
    if jobs > 1:
        with ProcessPoolExecutor(jobs, initializer=_init, initargs=(spec,)) as ex:
            rendered = [f for app in ex.map(render_app, work, chunksize=max(1, len(work) // (jobs * 8))) for f in app]
    else:
        _init(spec)
        rendered = [f for job in work for f in render_app(job)]
    changed = [(p, d) for p, d, oid in rendered if current.get(p) != oid]
    stream = bytearray(b"commit refs/heads/floor\ncommitter f <f@x> 1700000000 +0000\ndata 5\nfloor\n")
    stream += b"from %s\n" % tip.encode()
    for path, data in changed:
        stream += b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)
    git(scratch, "init", "-q", "--bare")
    (scratch / "objects" / "info" / "alternates").write_text(str(repo.resolve() / "objects") + "\n")
    git(scratch, "fast-import", "--quiet", input=bytes(stream))
    print(len(rendered), len(changed), git(scratch, "rev-parse", "floor").decode().strip())


if __name__ == "__main__":
    main()
