"""The lower bound for a fleet render: the same objects' text from jinja2 templates, emitted with libyaml and
written to files, with no plato logic (no reading, matching, graph, secrets, diff or git).

The templates are made from plato's own output for the first app (every string that names the app becomes a
jinja2 template), so both produce the same bytes for the same objects.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import jinja2
import yaml

_ENV = jinja2.Environment(autoescape=False, keep_trailing_newline=True)
_TEMPLATES: dict[str, Any] = {}


def templatize(value: Any, app: str) -> Any:
    if isinstance(value, str):
        return _ENV.from_string(value.replace(app, "{{ app }}")) if app in value else value
    if isinstance(value, dict):
        return {k: templatize(v, app) for k, v in value.items()}
    if isinstance(value, list):
        return [templatize(v, app) for v in value]
    return value


def render(value: Any, app: str) -> Any:
    if isinstance(value, jinja2.Template):
        return value.render(app=app)
    if isinstance(value, dict):
        return {k: render(v, app) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, app) for v in value]
    return value


def _init(spec: str) -> None:
    # spec: {env: {path-with-app0000: [objects...] or text}}
    data = json.loads(Path(spec).read_text())
    for env, files in data["envs"].items():
        _TEMPLATES[env] = {path: templatize(content, data["app"]) for path, content in files.items()}
    _TEMPLATES["_app"] = data["app"]


def write_app(job: tuple[str, str, str]) -> int:
    out, env, app = job
    root = Path(out)
    dumper = yaml.CSafeDumper
    n = 0
    for path, content in _TEMPLATES[env].items():
        target = root / path.replace(_TEMPLATES["_app"], app)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, list):  # YAML documents
            docs = render(content, app)
            text = "---\n" + "---\n".join(yaml.dump(d, Dumper=dumper, sort_keys=True, width=1_000_000) for d in docs)
        else:
            text = content.render(app=app) if isinstance(content, jinja2.Template) else content
        target.write_text(text)
        n += 1
    return n


def main() -> None:
    spec, out, n, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    envs = json.loads(Path(spec).read_text())["envs"]
    work = [(out, env, f"app{i:04d}") for i in range(n) for env in envs]
    if jobs > 1:
        with ProcessPoolExecutor(jobs, initializer=_init, initargs=(spec,)) as ex:
            total = sum(ex.map(write_app, work, chunksize=max(1, len(work) // (jobs * 8))))
    else:
        _init(spec)
        total = sum(map(write_app, work))
    print(total)


if __name__ == "__main__":
    main()
