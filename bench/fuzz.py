"""Fuzz the reader (Score files) and the rule loader for exceptions that are not plato's own: run by hand.

    python bench/fuzz.py reader --minutes 10 [--crashes DIR]
    python bench/fuzz.py rules --minutes 10

Inputs come from hypothesis: raw bytes, and YAML documents (a valid spec or rule file) mutated with fragments
from the families that broke plato before (merge keys, huge or oddly written numbers, escapes that decode to
lone surrogates or control characters, tags, anchors, complex keys, directives, deep nesting, long strings,
templates). An input the reader accepts is then rendered with the bundled rules (workloads) or compiled and
cross-checked as `plato validate` does (rules), so "accepted, then crashed later" is found too.

A crash is any exception other than `generator.errors.PlatoError`. Each distinct crash (exception type and the
innermost plato frame) is written once to the crash folder; the summary prints inputs tried and crashes found.
Regression cases for what this found live in tests/read/test_fuzz_regressions.py and tests/corpus/bad/.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORKLOAD = """apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    team: shop
containers:
  web:
    image: .
    command: ["/bin/run"]
    args: ["--port", "8080"]
    variables:
      A: "x"
      DB: "${resources.db.host}"
    files:
      /etc/app.conf:
        content: "k = ${metadata.name}"
    resources:
      limits: {cpu: "1", memory: 128Mi}
service:
  ports:
    http: {port: 80, targetPort: 8080}
resources:
  db:
    type: postgres
    params: {version: "16"}
"""

RULES = """apiVersion: plato.dev/v1
kind: Environment
name: development
match:
  env: development
spec:
  env_type: development
  namespace: "{{ app }}-{{ env }}"
  cd:
    tool: argocd
---
apiVersion: plato.dev/v1
kind: Resource
name: thing
match:
  type: postgres
spec:
  params:
    version: {default: "16"}
  outputs:
    host: "{{ resource.name }}.svc"
  manifests: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: {{ resource.name }}
    data:
      v: "{{ params.version }}"
---
apiVersion: plato.dev/v1
kind: Profile
name: p
match:
  env: development
spec:
  replicas: 2
  labels: {team: shop}
"""

FRAGMENTS = [
    "<<: *a",
    "<<: [*a, *b]",
    "<<: {x: 1}",
    "<<: 3",
    "&a {x: 1, y: [1, 2]}",
    "&b [1, 2]",
    "*a",
    "*b",
    "*nope",
    "9" * 5000,
    "-" + "9" * 4301,
    "1" * 20,
    "0x" + "f" * 40,
    "0o777",
    "0b101",
    "1_000",
    "1:30:00",
    "0777",
    "+12",
    ".inf",
    "-.inf",
    ".nan",
    "1e999",
    "-1e-999",
    "1" + "0" * 400 + ".5",
    '"\\ud800"',
    '"\\udfff"',
    '"a\\udc80b"',
    '"\\U0010ffff"',
    '"\\U00110000"',
    '"\\x00"',
    '"\\0"',
    '"\\uffff"',
    '"\\e\\a\\b"',
    '"\\N\\_\\L\\P"',
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!!pairs [{a: 1}]",
    "!!str 12",
    '!!int "12"',
    "!!int 0x1g",
    "!!float x",
    "!!bool maybe",
    "!!null x",
    "!!timestamp 2001-12-14",
    "!!python/name:os.system",
    "!local x",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14",
    "? [a, b]\n: c",
    "? a",
    "{? a}",
    "~",
    "null",
    '"": x',
    "[]",
    "{}",
    "- a\n- b",
    "|\n  block",
    ">-\n  folded",
    "|+\n\n",
    "'it''s'",
    '"multi\n  line"',
    "%YAML 1.1",
    "%TAG ! tag:x,2000:",
    "---",
    "...",
    "\ufeff",
    "\r\n",
    "\x85",
    "\u2028",
    "\t",
    "{{ app }}",
    "{% for i in range(3) %}{{ i }}{% endfor %}",
    "{{ ((((((((((1)))))))))) }}",
    "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
    "{% if %}",
    "${resources.db.host}",
    "${metadata.name}",
    "$${x}",
    "${",
    "a" * 300_000,
    "[" * 70 + "]" * 70,
    "{a: " * 70 + "1" + "}" * 70,
]

SCALAR = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12), st.integers().map(str))


@st.composite
def mutated(draw: st.DrawFn, base: str) -> bytes:
    """`base` with a few lines changed: a fragment inserted (as a value, a key, an item or a line of its own),
    a line deleted, duplicated or cut, or the indentation shifted."""
    lines = base.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        indent = line[: len(line) - len(line.lstrip(" "))]
        frag = draw(SCALAR)
        op = draw(st.sampled_from(["value", "key", "item", "line", "delete", "dup", "cut", "indent", "anchor"]))
        if op == "value" and ":" in line:
            lines[i] = line.split(":", 1)[0] + ": " + frag
        elif op == "key":
            lines.insert(i, f"{indent}{frag}: x")
        elif op == "item":
            lines.insert(i + 1, f"{indent}  - {frag}")
        elif op == "line":
            lines.insert(i, frag)
        elif op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "cut":
            lines[i] = line[: draw(st.integers(0, len(line)))]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 3)) + line
        elif op == "anchor" and ":" in line:
            key, _, rest = line.partition(":")
            lines[i] = f"{key}: &a {rest.strip() or '{}'}"
            lines.insert(draw(st.integers(i + 1, len(lines))), f"{indent}<<: *a")
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))
    return text.encode("utf-8", "surrogatepass")


def inputs(base: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated(base),
        mutated(base),
        mutated(base),
        st.binary(max_size=400),
        st.builds(lambda b, tail: b.encode() + tail, st.just(base), st.binary(max_size=40)),
    )


def read_and_render(folder: Path, data: bytes) -> None:
    from generator.pipeline import Inputs

    (folder / ".git").mkdir(exist_ok=True)
    path = folder / "score.yaml"
    path.write_bytes(data)
    inputs = Inputs.load([path], context=["env=development", "app=web"], image="ghcr.io/acme/web:1")
    inputs.render()


SMALL_WORKLOAD = (
    "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  web:\n    image: .\n"
    "    variables:\n      DB: ${resources.db.host}\nresources:\n  db:\n    type: postgres\n"
)


def load_and_check_rules(folder: Path, data: bytes) -> None:
    """Load the rules as `plato validate` does, then (if they load) render a small app with them."""
    from generator.match import rules
    from generator.pipeline import Inputs

    rules._CACHE.clear()
    folder = folder / "rules"
    folder.mkdir()
    (folder / "50-fuzz.yaml").write_bytes(data)
    rs = rules.load_rules(folder, full=True)
    for error in rules.compile_all(rs):
        error.render()
    rules.indistinguishable(rs)
    rules.shadowed(rs)
    rules.uncovered(rs)
    app = folder.parent / "app"
    (app / ".git").mkdir(parents=True)
    (app / "score.yaml").write_text(SMALL_WORKLOAD, encoding="utf-8")
    context = ["env=development", "app=web"]
    Inputs.load([app / "score.yaml"], context=context, image="ghcr.io/acme/web:1", rules_dir=folder).render()


TARGETS: dict[str, tuple[str, Callable[[Path, bytes], None]]] = {
    "reader": (WORKLOAD, read_and_render),
    "rules": (RULES, load_and_check_rules),
}


def crash_key(exc: BaseException) -> str:
    """The exception type and the innermost frame inside generator/: one crash however many inputs reach it."""
    where = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if "/generator/" in frame.filename:
            where = f"{Path(frame.filename).name}:{frame.lineno}"
    return f"{type(exc).__name__}@{where}"


def fuzz(target: str, minutes: float, crashes: Path) -> dict[str, Any]:
    from generator.errors import PlatoError

    base, run = TARGETS[target]
    found: dict[str, str] = {}
    tried = [0]
    crashes.mkdir(parents=True, exist_ok=True)

    @settings(
        max_examples=500,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=inputs(base))
    def one(data: bytes) -> None:
        tried[0] += 1
        with tempfile.TemporaryDirectory() as tmp:
            try:
                run(Path(tmp), data)
            except PlatoError as exc:
                exc.render()
            except Exception as exc:  # the point of the exercise: anything else is a crash
                key = crash_key(exc)
                if key not in found:
                    name = f"{target}-{hashlib.sha256(key.encode()).hexdigest()[:10]}.yaml"
                    (crashes / name).write_bytes(data)
                    found[key] = name
                    print(f"crash {key}: {str(exc)[:200]!r} -> {crashes / name}", flush=True)

    stop = time.monotonic() + minutes * 60
    while time.monotonic() < stop:
        one()
    return {"target": target, "inputs": tried[0], "crashes": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--crashes", type=Path, default=Path(tempfile.gettempdir()) / "plato-fuzz-crashes")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # ruamel warns about reused anchors: the fuzz reuses them on purpose
    started = time.monotonic()
    result = fuzz(args.target, args.minutes, args.crashes)
    print(
        f"{result['target']}: {result['inputs']} inputs in {time.monotonic() - started:.0f} s, "
        f"{len(result['crashes'])} distinct crashes"
    )
    for key, name in sorted(result["crashes"].items()):
        print(f"  {key}  {args.crashes / name}")


if __name__ == "__main__":
    main()
