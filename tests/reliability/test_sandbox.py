"""Rule templates run in a sandbox: no Python internals, no files, no environment variables, no undefined names.

Rules are written by platform teams but run in CI with a token that can write every environment. A template
that reaches for Python internals, a file or the environment must stop the run with exit 2 and one message naming
the rule file and line, and never print what it tried to read. Cases run in-process (click's runner) for
speed; one runs as a real process to prove the exit code and the absence of a traceback end to end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

CANARY = "canary-env-value-7c1e5a"  # set in the environment of every run: no template may print it

EXPRESSIONS = {
    "str-mro": "{{ ''.__class__.__mro__ }}",
    "subclasses": "{{ ().__class__.__base__.__subclasses__() }}",
    "cycler-globals": "{{ cycler.__init__.__globals__ }}",
    "self-context": "{{ self._TemplateReference__context }}",
    "include-passwd": "{% include '/etc/passwd' %}",
    "import": "{% import 'x' as y %}",
    "extends-passwd": "{% extends '/etc/passwd' %}",
    "lipsum": "{{ lipsum }}",
    "range-globals": "{{ range.__globals__ }}",
    "range-init-globals": "{{ range.__init__.__globals__ }}",
    "undefined-name": "{{ no_such_name }}",
    "config": "{{ config }}",
    "environ": "{{ environ }}",
    "environ-via-namespace": "{{ namespace.__init__.__globals__.os.environ }}",
    "request-environ": "{{ request.environ }}",
    "attr-filter": "{{ ''|attr('__class__') }}",
    "format-attribute": "{{ '{0.__class__}'.format(params) }}",
    "mutate-params": "{{ params.update({'x': 1}) }}",
    "tojson-globals": "{{ tojson.__globals__ }}",
}

# Text that must never appear in any output: /etc/passwd, the environment, Python object dumps.
NEVER = [CANARY, "root:x:0:0", "/bin/bash", "<module ", "<function ", "__builtins__", "PATH="]


def _rules(kit, expression: str, place: str) -> tuple[Path, int, int]:
    """A rules folder whose Resource rule (type `evil`) carries `expression` in its manifests (a block scalar, as
    rule authors write them) or an output, or whose Environment rule carries it in the namespace; returns the
    folder and the line range the error may point at."""
    quoted = json.dumps(expression)
    text = f"""apiVersion: plato.dev/v1
kind: Environment
name: development
match:
  env: development
spec:
  env_type: development
  namespace: {quoted if place == "environment" else '"{{ app }}-{{ env }}"'}
  cd:
    tool: argocd
---
apiVersion: plato.dev/v1
kind: Resource
name: evil
match:
  type: evil
spec:
  outputs:
    host: {quoted if place == "output" else '"{{ resource.name }}.svc"'}
  manifests: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: {{{{ resource.name }}}}
    data:
      x: |
        {expression if place == "manifests" else "fine"}
"""
    rules = kit.rules(text)
    lines = text.splitlines()
    key = {"environment": "namespace:", "output": "host:", "manifests": "manifests:"}[place]
    first = next(i for i, line in enumerate(lines, 1) if line.strip().startswith(key))
    return rules, first, len(lines) if place == "manifests" else first


def _workload(kit) -> Path:
    return kit.workload(
        "app/score.yaml",
        kit.score(variables={"HOST": "${resources.thing.host}"}, resources={"thing": {"type": "evil"}}),
    )


def _check(kit, run, first: int, last: int) -> None:
    err = kit.assert_refused(run, 2, names=["rules/50-test.yaml"], never=NEVER)
    m = re.search(r"rules/50-test\.yaml:(\d+)", err)
    assert m, f"the message names no line of the rule file: {err}"
    assert first <= int(m.group(1)) <= last, f"line {m.group(1)} is not in the template (lines {first}-{last}): {err}"
    assert len(run.output) < 4000, f"a suspiciously long message:\n{run.explain()}"
    assert not (kit.tmp / "out").exists()


# Every expression in manifests and in outputs; in an Environment rule, a few (it renders before any resource).
PLACES = [
    *(("manifests", name) for name in sorted(EXPRESSIONS)),
    *(("output", name) for name in sorted(EXPRESSIONS)),
    *(("environment", name) for name in ["cycler-globals", "environ", "include-passwd", "str-mro"]),
]


@pytest.mark.parametrize(("place", "name"), PLACES, ids=[f"{place}-{name}" for place, name in PLACES])
def test_a_template_reaching_outside_the_sandbox_is_refused(place, name, kit) -> None:
    _workload(kit)
    rules, first, last = _rules(kit, EXPRESSIONS[name], place)

    run = kit.cli(
        kit.args("render", Path("app/score.yaml"), rules=Path(rules.name), out=Path("out")), env={"CANARY": CANARY}
    )

    _check(kit, run, first, last)


@pytest.mark.parametrize("name", ["include-passwd", "cycler-globals"])
def test_sandbox_refusals_exit_2_from_a_real_process_and_publish_nothing(name, kit) -> None:
    _workload(kit)
    rules, first, last = _rules(kit, EXPRESSIONS[name], "manifests")
    remote = kit.bare()
    before = remote.snapshot()

    run = kit.run(
        kit.args("publish", Path("app/score.yaml"), rules=Path(rules.name), repo=remote.path), env={"CANARY": CANARY}
    )

    _check(kit, run, first, last)
    assert remote.snapshot() == before
    assert kit.leftovers() == []


def test_the_sandbox_leaves_ordinary_templates_alone(kit) -> None:
    """The control case: a template using what rules may use renders (so the refusals above are not an
    artefact of the test's rule folder)."""
    _workload(kit)
    rules, _, _ = _rules(
        kit,
        "v{% for i in range(3) %}{{ i }}{% endfor %} {{ resource.name | dns_label }} {{ params | tojson }}",
        "manifests",
    )

    run = kit.cli(kit.args("render", Path("app/score.yaml"), rules=Path(rules.name), out=Path("out")))

    assert run.returncode == 0, run.explain()
    assert "v012 web-thing {}" in (kit.tmp / "out/development/web/manifest.yaml").read_text()


def test_a_huge_range_loop_is_stopped_promptly(kit) -> None:
    """Jinja has no step limit, but its sandbox caps range() at 100,000 items. A rule that loops 10**9 times must
    fail fast (exit 2), not hang the CI job. Run under a 5 s limit; never unbounded.

    Regression test: environment() used to replace the sandbox's `range` (safe_range) with the builtin, and this
    render then ran for minutes."""
    _workload(kit)
    rules, _, _ = _rules(kit, "{% for i in range(10**9) %}{% endfor %}", "manifests")
    proc = kit.start(kit.args("render", Path("app/score.yaml"), rules=Path(rules.name), out=Path("out")))
    started = time.monotonic()
    try:
        _, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        pytest.fail(f"render was still running after {time.monotonic() - started:.1f} s: the loop was not stopped")
    assert proc.returncode == 2, err
    assert "rules/50-test.yaml" in err
