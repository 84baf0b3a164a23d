"""The lower bound for a fleet render: the same objects' text from jinja2 templates, emitted with libyaml and
written to files, with no plato logic (no reading, matching, graph, secrets, diff or git).

The templates are plato's own output for the first app with the app's name made a template variable: one
jinja2 template per file, compiled once per worker. Each app's YAML text is rendered, loaded and emitted by
libyaml (C loader and emitter), and written; other files are rendered and written.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import jinja2
import yaml

# Delimiters that plato's output never contains (it holds Go templates such as {{ .password }}).
_ENV = jinja2.Environment(
    autoescape=False,
    keep_trailing_newline=True,
    variable_start_string="@@{",
    variable_end_string="}@@",
    block_start_string="@@%",
    block_end_string="%@@",
    comment_start_string="@@#",
    comment_end_string="#@@",
)
_TEMPLATES: dict[str, Any] = {}


def _init(spec: str) -> None:
    data = json.loads(Path(spec).read_text())
    app = data["app"]
    for env, files in data["envs"].items():
        _TEMPLATES[env] = {path: _ENV.from_string(text.replace(app, "@@{ app }@@")) for path, text in files.items()}
    _TEMPLATES["_app"] = app


def write_app(job: tuple[str, str, str]) -> int:
    out, env, app = job
    root = Path(out)
    loader, dumper = yaml.CSafeLoader, yaml.CSafeDumper
    n = 0
    for path, template in _TEMPLATES[env].items():
        target = root / path.replace(_TEMPLATES["_app"], app)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = template.render(app=app)
        if path.endswith(".yaml"):
            docs = [d for d in yaml.load_all(text, Loader=loader) if d is not None]
            text = "---\n" + "---\n".join(yaml.dump(d, Dumper=dumper, sort_keys=True, width=1_000_000) for d in docs)
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
