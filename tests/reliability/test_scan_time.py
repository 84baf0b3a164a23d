"""The secret check ends promptly on any text: no pattern of it backtracks without bound.

Python's regular expressions backtrack, and a pattern that can try every start of a long run, and scan the run
from each, takes the square of its length (an adversarial review found values of 100,000 characters that took 10
to 143 s each, in a CI step). Each text below is 100,000 characters or more, built to pump one such pattern: what
ran in 20 s to 143 s takes a few milliseconds when the pattern is linear. Besides the shapes found, texts are made
from every word the check's patterns name, glued by every separator they treat specially, so that a new pattern
meets its own pumps. The whole battery runs in a child process given 60 s (linear, it takes a few seconds).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import textwrap

import pytest
from testkit.shared import REPO

N = 100_000
FOUND = {
    "spaces": " " * N,
    "word-and-hex": "g-" + "0123456789abcdef" * (N // 16) + "-x",
    "urls-without-at": "a://:" * (N // 5) + " @",
    "colons": "a:" * (N // 2),
    "a client named again and again": "mysql " * (N // 6),
    "a pgpass line padded with spaces": "h:1:d:u:p" + " " * N + "x",
    "user-password pairs without a host": ",x:" * (N // 3) + " @",
    "sshpass": "sshpass " * (N // 8),
    "redis-cli": "redis-cli " * (N // 10),
    "open templates": "x" + "{{x" * (N // 3),
    "open placeholders": "x" + "${x" * (N // 3),
    "certificates never ended": "-----BEGIN CERTIFICATE-----" * (N // 27),
    "tabs and quotes": "\t'" * (N // 2),
    "assignments": "a=" * (N // 2),
    "flags": "--a " * (N // 4),
    "elements": "<a>" * (N // 3),
    "netrc": "login x " * (N // 8),
    # found by the second pass: a flag of letters, a client's name glued to a long word
    "htpasswd flags": "htpasswd -" + "b" * N,
    "a client's name in a long word": "ldap" + "a" * N,
    "mysql in a long word": "mysql" + "a" * N,
    "elements never closed": "<password>" + "x" * N,
    # the credential stores' lines (session 11)
    "acl rules": "user " * (N // 5),
    "acl rules never given a password": "user x " + "~k " * (N // 3) + ">",
    "password schemes": "{PLAIN}" * (N // 7),
    "quotes": '"' * N,
    "doubled quotes": '"' + '""' * (N // 2) + ' "x',
    "unicode spaces": "password\u00a0=\u3000" * (N // 11),
}
SEPARATORS = [" ", ":", "=", "@", "/", "-", "_", ".", ",", "'", '"', "{", "}", "$", "<", ">", "#", "\t", "://", "\\"]


def _pattern_words() -> list[str]:
    """The literal words in the secret check's patterns (client names, keys, schemes, markers)."""
    from generator import credentials
    from generator.check import guard

    words: set[str] = set()
    for module in (credentials, guard):
        for value in vars(module).values():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                source = re.sub(r"\[[^\]]*\]|\\.", " ", value.pattern)  # character classes and escapes are no words
                words.update(w for w in re.findall(r"[A-Za-z][A-Za-z0-9_-]{2,}", source) if not w.startswith("P"))
    return sorted(words)


def _generated(count: int) -> dict[str, str]:
    rng = random.Random(13)
    words = _pattern_words()
    out = {}
    for _ in range(count):
        word, sep = rng.choice(words), rng.choice(SEPARATORS)
        shape = rng.randrange(3)
        unit = word + sep if shape == 0 else sep if shape == 1 else word + sep + word[:3] + sep
        head = word + sep if shape == 1 else ""
        out[f"{head}{unit}..."] = head + unit * (N // len(unit))
    return out


CHILD = textwrap.dedent(
    """
    import json, sys, time
    from generator import credentials
    from generator.check import guard
    texts = json.loads(sys.stdin.read())
    slow = {}
    for name, text in texts.items():
        started = time.perf_counter()
        credentials.scan(text)
        credentials.scan(text, "terraform")
        guard.find_in({"DB_PASSWORD": text, "NOTE": text, "args": [text, "mysql", text]})
        took = time.perf_counter() - started
        if took > 2:
            slow[name[:60]] = round(took, 1)
    print(json.dumps(slow))
    """
)


@pytest.mark.parametrize("battery", ["found", "generated"])
def test_every_text_built_to_make_a_pattern_backtrack_is_scanned_promptly(battery: str) -> None:
    texts = FOUND if battery == "found" else _generated(120)
    if battery == "generated":
        assert len(_pattern_words()) > 40  # the patterns' words were found: the battery is theirs
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(texts), capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == {}, "these took over 2 s: " + proc.stdout
