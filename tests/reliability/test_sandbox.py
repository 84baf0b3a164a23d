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


# -- bounds: time, steps, recursion, the size of every value, output ---------------------------------------------

# A template bomb of every kind: each must end with exit 2 and a message naming the rule file and the template
# line, within 5 s, in a process that may not map more than LIMIT_MB of memory (a normal publish of the example
# app needs about 50 MB of address space on this stack: `prlimit --as` finds it failing at 40 MB).
LIMIT_MB = 512
BOMBS = {
    # loops and iteration
    "nested-ranges": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "triple-nested-small-ranges": "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "nested-loops-over-strings": "{% for c in 'x' * 1000000 %}{% for d in 'y' * 1000000 %}{% endfor %}{% endfor %}",
    "nested-loops-with-tests": "{% for i in range(100000) if i is odd %}{% for j in range(100000) if j %}"
    "{% endfor %}{% endfor %}",
    "nested-loops-over-generators": "{% for x in range(100000)|map('string') %}"
    "{% for y in range(100000)|map('string') %}{% endfor %}{% endfor %}",
    "slow-body-in-a-loop": "{% set s = 'x' * 1000000 %}{% for i in range(100000) %}{{ s.count('y') }}{% endfor %}",
    "recursive-loop-forever": "{% for x in range(10) recursive %}{{ loop(range(10)) }}{% endfor %}",
    "recursive-loop-exponential": "{% for x in [1,2,3,4,5,6,7,8,9,10] recursive %}{% if loop.depth < 20 %}"
    "{{ loop([1,2,3,4,5,6,7,8,9,10]) }}{% endif %}{% endfor %}",
    # macros, blocks and recursion
    "recursive-macro": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "exponential-macro": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "mutually-recursive-macros": "{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}"
    "{{ a(1) }}",
    "recursive-caller": "{% macro m() %}{{ caller() }}{% endmacro %}{% macro r() %}{% call m() %}{{ r() }}"
    "{% endcall %}{% endmacro %}{{ r() }}",
    "recursive-block": "{% block b %}{{ self.b() }}{% endblock %}",
    "macro-doubling-a-string": "{% macro d(s, n) %}{% if n %}{{ d(s ~ s, n - 1) }}{% else %}{{ s|length }}"
    "{% endif %}{% endmacro %}{{ d('x', 40) }}",
    "macro-squaring-an-integer": "{% macro sq(x, n) %}{% if n %}{{ sq(x * x, n - 1) }}{% endif %}{% endmacro %}"
    "{{ sq(2 ** 500, 30) }}",
    # strings: operators
    "string-times-1e9": "{{ 'a' * 10**9 }}",
    "string-times-1e8": "{{ 'a' * 10**8 }}",
    "int-times-string": "{{ 10**9 * 'a' }}",
    "concat-tilde": "{% set a = 'x' * 1000000 %}{{ a ~ a }}",
    "concat-plus": "{% set a = 'x' * 1000000 %}{{ a + a }}",
    "printf-width": "{{ '%1000000000s' % 'a' }}",
    "printf-precision": "{{ '%.1000000000f' % 1 }}",
    "printf-star-width": "{{ '%*s' % (1000000000, 'a') }}",
    "printf-repeated-field": "{{ ('%(a)s' * 100000) % {'a': 'x' * 100000} }}",
    # strings: methods and filters
    "format-method-width": "{{ '{:>1000000000}'.format(1) }}",
    "format-method-nested-width": "{{ '{0:{1}}'.format('a', 1000000000) }}",
    "format-method-repeated-field": "{{ ('{0}' * 100000).format('x' * 100000) }}",
    "format-filter": "{{ '%1000000000s'|format('a') }}",
    "center-filter": "{{ 'a'|center(1000000000) }}",
    "center-method": "{{ 'a'.center(1000000000) }}",
    "ljust-method": "{{ 'a'.ljust(1000000000) }}",
    "zfill-method": "{{ '1'.zfill(1000000000) }}",
    "bytes-center-method": "{{ 'x'.encode().center(1000000000) }}",
    "int-to-bytes-method": "{{ (1).to_bytes(1000000000, 'big') }}",
    "indent-filter": "{{ 'a'|indent(1000000000) }}",
    "indent-filter-string-width": "{{ ('a\\n' * 100000)|indent('x' * 100000) }}",
    "join-filter": "{{ (['x' * 1000] * 1000)|join('y' * 1000000) }}",
    "join-method": "{{ ('x' * 1000).join('y' * 1000000) }}",
    "wordwrap-filter": "{{ ('ab ' * 100000)|wordwrap(1, wrapstring='z' * 100000) }}",
    "replace-filter": "{{ ('x' * 1000000)|replace('x', 'yy') }}",
    "replace-empty-filter": "{{ ('x' * 1000)|replace('', 'y' * 10000) }}",
    "replace-method": "{{ ('x' * 1000000).replace('x', 'y' * 1000) }}",
    "truncate-filter-end": "{{ ('x' * 1000000)|truncate(999999, end='y' * 1000000) }}",
    "expandtabs-method": "{{ ('\\t' * 1000000).expandtabs(1000) }}",
    "translate-method": "{{ ('x' * 1000000).translate({120: 'y' * 1000}) }}",
    "filter-block": "{% filter center(1000000000) %}x{% endfilter %}",
    # lists and numbers
    "list-times-1e9": "{{ ([1] * 10**9)|length }}",
    "list-of-a-range-times": "{{ ((range(100000)|list) * 100)|length }}",
    "shared-nested-lists": "{% set a = ['x' * 100000] * 8 %}{% set b = [a, a, a, a, a, a, a, a] %}"
    "{% set c = [b, b, b, b, b, b, b, b] %}{{ c == c }}",
    "dict-literal": "{% set s = 'x' * 1000000 %}{{ {'a': s, 'b': s}|length }}",
    "batch-fill": "{{ ([1]|batch(10**9, 'x')|list)|length }}",
    "slice-fill": "{{ ((range(1000)|list)|slice(10**9, 'x')|list)|length }}",
    "sum-of-lists": "{{ (([[1]] * 100000)|sum(start=[]))|length }}",
    "map-to-a-big-list": "{{ (range(100000)|map('string')|map('center', 100000)|list)|length }}",
    "sort-a-million-characters": "{% for i in range(300) %}{{ ('y' * 10**6)|sort }}{% endfor %}",
    "power": "{{ 2 ** (10**10) }}",
    # output
    "output-in-a-loop": "{% set s = 'x' * 1000000 %}{% for i in range(1000) %}{{ s }}{% endfor %}",
    "literal-text-in-a-loop": "{% for i in range(100000) %}" + "x" * 1000 + "{% endfor %}",
    "output-over-the-limit": "{% for i in range(2) %}{{ 'x' * 1000000 }}{% endfor %}",
    "text-of-a-list-in-a-loop": "{% set l = ['x' * 100000] * 9 %}{% for i in range(100000) %}{{ l }}{% endfor %}",
    "macro-filling-its-buffer": "{% macro m() %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}"
    "{% endmacro %}{{ m() }}",
    "captured-block": "{% set x %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endset %}{{ x }}",
}

LIMIT_MESSAGES = ["would build", "the template built", "steps", "ran for more than", "nested more than", "rendered"]


def _limited() -> None:
    import resource

    limit = LIMIT_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run_bounded(kit, argv: list[str]) -> tuple[int, str, float, int]:
    """plato as a child process limited to LIMIT_MB of address space; returns (exit code, stderr, seconds, peak
    resident memory in MB). Killed (and the test failed) if it runs over 5 s."""
    from testkit.git import PLATO

    err_path = kit.tmp / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [*PLATO, *argv],
            cwd=kit.tmp,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=kit.environ(),
            start_new_session=True,
            preexec_fn=_limited,
        )
    started = time.monotonic()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > 5:
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            pytest.fail(f"still running after 5 s: {err_path.read_text()}")
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err_path.read_text(), time.monotonic() - started, usage.ru_maxrss // 1024


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_template_bomb_ends_in_exit_2_within_5_s_and_bounded_memory(name, kit) -> None:
    _workload(kit)
    rules, first, last = _rules(kit, BOMBS[name], "manifests")

    code, err, seconds, peak_mb = _run_bounded(
        kit, kit.args("render", Path("app/score.yaml"), rules=Path(rules.name), out=Path("out"))
    )

    assert code == 2, f"exit {code} after {seconds:.1f} s:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    assert any(m in err for m in LIMIT_MESSAGES), f"not stopped by a bound of the template: {err}"
    m = re.search(r"rules/50-test\.yaml:(\d+)", err)
    assert m and first <= int(m.group(1)) <= last, f"no line of the template ({first}-{last}) in: {err}"
    assert peak_mb < LIMIT_MB, peak_mb
    assert not (kit.tmp / "out").exists()


@pytest.mark.parametrize("name", ["string-times-1e8", "exponential-macro"])
def test_a_template_bomb_publishes_nothing(name, kit) -> None:
    _workload(kit)
    rules, first, last = _rules(kit, BOMBS[name], "manifests")
    remote = kit.bare()
    before = remote.snapshot()

    code, err, _, _ = _run_bounded(
        kit, kit.args("publish", Path("app/score.yaml"), rules=Path(rules.name), repo=remote.path)
    )

    assert code == 2, err
    m = re.search(r"rules/50-test\.yaml:(\d+)", err)
    assert m and first <= int(m.group(1)) <= last, err
    assert remote.snapshot() == before
    assert kit.leftovers() == []


@pytest.mark.parametrize("place", ["output", "environment"])
def test_a_template_bomb_in_an_output_or_an_environment_is_bounded_too(place, kit) -> None:
    _workload(kit)
    rules, first, last = _rules(kit, BOMBS["exponential-macro"], place)

    run = kit.cli(kit.args("render", Path("app/score.yaml"), rules=Path(rules.name), out=Path("out")))

    _check(kit, run, first, last)


def test_what_the_bounds_allow_still_renders(kit) -> None:
    """The control case: a template near every bound (large loops, a big string, recursion a few levels deep,
    every growing filter with sensible arguments) renders, within the memory limit."""
    _workload(kit)
    text = (
        "v {% macro depth(n) %}{% if n %}{{ depth(n - 1) }}{% else %}deep{% endif %}{% endmacro %}"
        "{% set s = 'x' * 500000 %}{% set t = 0 %}"
        "{% for i in range(300) %}{% for j in range(300) %}{% endfor %}{% endfor %}"
        "{{ depth(30) }} {{ s|length }} {{ (s ~ s)|length }} {{ ('a'|center(1000))|length }} "
        "{{ (range(1000)|map('string')|join(','))|length }} {{ ('%-10s|' % 'x') }} {{ '{:>5}'.format(1) }} "
        "{{ ('ab\\ncd'|indent(2)) == 'ab\\n  cd' }} {{ 'a b c'|replace(' ', '--') }} {{ 2 ** 64 }}"
    )
    rules, _, _ = _rules(kit, text, "manifests")

    code, err, _, peak_mb = _run_bounded(
        kit, kit.args("render", Path("app/score.yaml"), rules=Path(rules.name), out=Path("out"))
    )

    assert code == 0, err
    manifest = (kit.tmp / "out/development/web/manifest.yaml").read_text()
    assert "v deep 500000 1000000 1000 3889 x         |     1 True a--b--c 18446744073709551616" in manifest
    assert peak_mb < LIMIT_MB


def test_the_templates_of_one_app_are_bounded_together(kit) -> None:
    """Each rendering within its own bounds, but many of them: twenty resources whose manifests render 0.9 MB
    each go over the 16 MiB an app's templates may render together, and the publish stops, within the memory
    limit, naming the rule."""
    kit.workload(
        "app/score.yaml",
        kit.score(resources={f"r{i:02d}": {"type": "evil"} for i in range(20)}),
    )
    rules, first, last = _rules(kit, "{{ 'x' * 900000 }}", "manifests")

    code, err, _, peak_mb = _run_bounded(
        kit, kit.args("render", Path("app/score.yaml"), rules=Path(rules.name), out=Path("out"))
    )

    assert code == 2, err
    assert "rendered more than 16,777,216 characters together" in err, err
    assert re.search(rf"rules/50-test\.yaml:({'|'.join(map(str, range(first, last + 1)))})\b", err), err
    assert peak_mb < LIMIT_MB
    assert not (kit.tmp / "out").exists()
