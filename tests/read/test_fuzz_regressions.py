"""What the fuzzer (bench/fuzz.py) found, kept: every crashing input it wrote, and a short deterministic run of it.

tests/corpus/fuzz/reader/*.yaml are Score files and tests/corpus/fuzz/rules/*.yaml rule files, byte for byte
as the fuzzer wrote them when they crashed plato (an exception other than its own error: exit 1). Each now goes
through the same path as in the fuzzer (read and render with the bundled rules; load, compile and cross-check
the rules as `plato validate` does) and must be refused with a message naming the file and a line. The
expectations name what each input is about.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from generator.errors import PlatoError

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "fuzz"


def _fuzz_module() -> Any:
    spec = importlib.util.spec_from_file_location("plato_bench_fuzz", ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


FUZZ = _fuzz_module()

EXPECT = {
    "reader/tag-bool-maybe.yaml": "is not a valid !!bool",
    "reader/tag-bool-maybe-as-a-key.yaml": "is not a valid !!bool",
    "reader/tag-int-0x1g.yaml": "is not a valid !!int",
    "reader/int-sign-and-underscore.yaml": "is not a valid !!int",  # ruamel: IndexError on a digitless '-0x_'
    "reader/pairs-as-a-key.yaml": "keys must be strings",
    "reader/mapping-as-a-key.yaml": "keys must be strings",
    "reader/surrogate-escape.yaml": "lone surrogate",
    "reader/merge-key-into-a-mapping.yaml": "unknown field 'version'",
    "reader/escape-beyond-unicode.yaml": "an escape names no character",
    "reader/tag-str-on-a-number.yaml": "service.ports.http must be a mapping, not a string ('12')",
    "rules/tag-bool-maybe.yaml": "is not a valid !!bool",
    "rules/manifest-integer-5000-digits.yaml": "renders a value YAML cannot hold",
    "rules/manifest-integer-key.yaml": "a manifest's keys are text",
    "rules/manifest-tag-bool-maybe.yaml": "'maybe' is not a valid !!bool",  # PyYAML: KeyError
    "rules/manifest-tag-float-empty.yaml": "'' is not a valid !!float",  # PyYAML: IndexError
    "rules/manifest-tag-timestamp-word.yaml": "'someday' is not a valid !!timestamp",  # PyYAML: AttributeError
    "rules/manifest-apiversion-a-number.yaml": "apiVersion and kind as text",
    "rules/tag-float-x.yaml": "is not a valid !!float",
    "rules/pairs-as-a-key.yaml": "keys must be strings",
    "rules/mapping-as-a-key.yaml": "keys must be strings",
    "rules/merge-key-into-a-mapping.yaml": "unknown field 'team'",
}
CASES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.yaml"))


def test_every_kept_input_has_an_expectation() -> None:
    assert sorted(EXPECT) == CASES


@pytest.mark.parametrize("case", CASES)
def test_a_crashing_input_found_by_the_fuzzer_is_now_a_user_error(case: str) -> None:
    target = case.split("/")[0]
    _, run = FUZZ.TARGETS[target]
    with tempfile.TemporaryDirectory() as tmp, pytest.raises(PlatoError) as caught:
        run(Path(tmp), (CORPUS / case).read_bytes())
    error = caught.value
    errors = getattr(error, "errors", [error])
    assert any(EXPECT.get(case, "") in e.message for e in errors), error.render()
    assert all(e.file and e.line for e in errors), f"no file:line in {error.render()}"


SHORT = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("target", sorted(FUZZ.TARGETS))
def test_a_short_deterministic_fuzz_run_finds_no_crash(target: str) -> None:
    base, run = FUZZ.TARGETS[target]

    @SHORT
    @given(data=FUZZ.inputs(base))
    def one(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                run(Path(tmp), data)
            except PlatoError as exc:
                assert exc.render()

    one()
