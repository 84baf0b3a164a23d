"""The adversarial secret corpus (secret_corpus.yaml): each case publishes into a real bare repository, then
everything that left plato is searched: `git log --all -p` of the remote, stdout, stderr, the PR body, the step
summary and the step outputs. A case either publishes with none of its secrets anywhere, or exits 2 with one
error line naming a file and the remote exactly as it was.

Cases are data. Secret values are written in the table as `@NAME@` (the parts of each token are joined here, so
no whole token sits in the repository), with encodings `@NAME|b64@`, `@NAME|b64url@`, `@NAME|hex@`,
`@NAME|b64b64@` and slices `@NAME|h:8@` (first 8 characters), `@NAME|t:8@` (from the 8th). Every expansion of
six characters or more is a string that must never appear in anything plato wrote or printed.

plato runs in-process (click's CliRunner) so that the corpus takes well under two minutes.
"""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

CORPUS = Path(__file__).with_name("secret_corpus.yaml")
DATA = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
TOKENS: dict[str, str] = {name: "".join(parts) for name, parts in DATA["tokens"].items()}
_EXPANSION = re.compile(r"@([A-Z0-9_]+)(?:\|([a-z0-9:]+))?@")


def _encode(value: str, how: str | None) -> str:
    raw = value.encode()
    if how is None:
        return value
    if how.startswith(("h:", "t:")):
        n = int(how[2:])
        return value[:n] if how[0] == "h" else value[n:]
    encoders = {
        "b64": lambda: base64.b64encode(raw).decode(),
        "b64url": lambda: base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "b64b64": lambda: base64.b64encode(base64.b64encode(raw)).decode(),
        "hex": lambda: raw.hex(),
    }
    return encoders[how]()


def expand(value: Any, used: set[str]) -> Any:
    """The case with every @NAME@ replaced; `used` collects the strings that must never leave plato."""
    if isinstance(value, str):

        def one(m: re.Match[str]) -> str:
            out = _encode(TOKENS[m.group(1)], m.group(2))
            if len(out) >= 6:
                used.add(out)
            return out

        return _EXPANSION.sub(one, value)
    if isinstance(value, dict):
        return {expand(k, used): expand(v, used) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, used) for v in value]
    return value


def merged(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for k, v in extra.items():
            out[k] = merged(base[k], v) if k in base else v
        return out
    return copy.deepcopy(extra)


LEAKS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9_]{20,}"),
    re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@$]*:(?![$*])[^/\s@]{3,}@"),
]
CASES = DATA["cases"]
FAMILIES = sorted({c["family"] for c in CASES})


def test_the_corpus_is_broad() -> None:
    assert len(CASES) >= 150, len(CASES)
    assert len(FAMILIES) >= 12, FAMILIES
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "case ids repeat"


@pytest.mark.parametrize("case", CASES, ids=[f"{c['family']}/{c['id']}" for c in CASES])
def test_no_secret_leaves_plato(case: dict[str, Any], kit: Any) -> None:
    used: set[str] = set()
    case = expand(case, used)
    spec = case["spec"] if isinstance(case.get("spec"), str) else merged(DATA["base_spec"], case.get("spec") or {})
    kit.workload("app/score.yaml", spec)
    image = case.get("image", "ghcr.io/acme/web:1.0")
    argv = kit.args("publish", Path("app/score.yaml"), env=case.get("env", "development"), image=image)
    if "rule" in case or "rules" in case:
        rule = merged(DATA["base_rule"], {"spec": case.get("rule", {})})
        docs = [rule, *yaml.safe_load_all(case.get("rules", ""))]
        argv += ["--rules", str(kit.rules(*[d for d in docs if d], bundled=True))]
    for pair in case.get("context", []):
        argv += ["-c", pair]
    remote = kit.bare()
    remote.commit({"README.md": "seed\n"}, workdir=kit.tmp / "seed")
    before = remote.snapshot()
    outputs = {name: kit.tmp / name for name in ("summary.md", "outputs.txt")}
    env = {"GITHUB_STEP_SUMMARY": str(outputs["summary.md"]), "GITHUB_OUTPUT": str(outputs["outputs.txt"])}
    run = kit.cli(
        [*argv, "-c", "org=acme", "--repo", str(remote.path), "--pr-body", "pr.md", "--mode", case.get("mode", "push")],
        env={**env, **case.get("environ", {})},
    )

    left = [run.stdout, run.stderr, remote.git("log", "--all", "-p", "--format=%H%n%B")]
    left += [p.read_text() for p in [kit.tmp / "pr.md", *outputs.values()] if p.exists()]
    everything = "\n".join(left)
    for secret in sorted(used):
        assert secret not in everything, f"{secret!r} left plato\n{run.explain()}"
    if case.get("expect", "refused") == "refused":
        kit.assert_refused(run, 2, names=case.get("names", []))
        assert remote.snapshot() == before, "a refused publish changed the repository"
        assert not (kit.tmp / "pr.md").exists()
    else:
        assert run.returncode == 0, run.explain()
        landed = "main" if case.get("mode", "push") == "push" else f"plato/{case.get('env', 'development')}/web"
        assert remote.count(landed) == 2, "the publish did not land"
        for pattern in LEAKS:  # credential shapes, checked independently of plato's detector
            assert not pattern.search(everything), f"{pattern.pattern} in what plato wrote\n{run.explain()}"
