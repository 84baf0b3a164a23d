"""The one secret detector: what a credential looks like in any text plato writes, sends or prints.

A base module (like errors.py), not part of a stage: the read stage refuses a context value with it, create
names a spec's line with it, errors.py masks every message with it, and the check stage (generator/check/)
judges every file with it. Under the one-way import contract a stage module could serve none but the last.

plato never knows a secret value (outputs are references), so a value that looks like one came from a spec, a
rule or the context by mistake. Four kinds of evidence, each over the whole text (keys and values alike):

- a known token shape (GitHub, AWS, Slack, Stripe, JWT, private keys, ... two dozen): detect-secrets' plugins,
  imported only when a line holds a token-like run that one of them could match (the import costs ~200 ms; most
  publishes never pay it);
- a password in a URL's userinfo, in every shape: empty user (`redis://:pw@h`), `/`, `$` or `%` in the password,
  no scheme at all (`robot:pw@registry.example.com/app`);
- a literal under a credential-named key: `DB_PASSWORD: x`, `password = "x"`, `--api-key=x`, `Authorization:
  Bearer x`, anywhere in a line of text (the structured guard does the same for mapping keys and name/value pairs);
- a high-entropy token anywhere, and whatever base64 or hex encodes (decoded and scanned again), including tokens
  split over several lines.

A short allowlist keeps real output clean: image digests and git object ids (hex of 40 or 64), UUIDs, references
and placeholders (`$(VAR)`, `${...}`, `{{ ... }}`), public certificates, and base64 that decodes to plain text
(which is scanned instead).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal

# What reads a value decides what in it is a reference. "text": a file of unknown kind, whose reader may expand
# $VAR (a shell, envsubst) or interpolate. "terraform": HCL, where an unquoted value is an expression.
# "object": a string in a parsed YAML or JSON object (a Kubernetes manifest, a Score spec), which only a
# controller's own syntax expands: $(NAME) (Kubernetes), ${...} (Score, Flux), {{ ... }} (templates); $word there
# is the characters `$word`, and `a.b.c` no Terraform expression. "config": a file whose name says what reads it
# (app.yaml, db.properties): its reader may expand $VAR, but `a.b.c` is the characters `a.b.c` there too.
Lang = Literal["text", "terraform", "object", "config"]


@dataclass(frozen=True, slots=True)
class Finding:
    """What was found and where in the scanned text (the span is what masking hides)."""

    what: str
    start: int
    end: int
    rank: int = 3  # which to name first: 0 a known token shape, 1 a URL password, 2 a credential key, 3 entropy

    def line(self, text: str) -> int:
        return text.count("\n", 0, self.start) + 1


# -- allowlist: shapes that are never secrets --------------------------------------------------------------------

_HASH = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128}")  # git object ids, sha256/sha512 content digests
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_OBJECT_REFERENCES = (
    r"\$?\$\([A-Za-z_][A-Za-z0-9_]*\)"  # Kubernetes $(VAR), and $$(VAR) (a literal $(VAR))
    # Score placeholders, Terraform and shell interpolation; Go and jinja templates (ExternalSecret templates).
    # Neither holds the opening of another: every scan for the closing brace ends where the next one opens.
    r"|\$\{(?:[^}\n$]|\$(?!\{))*\}"
    r"|\{\{(?:[^}\n{]|\{(?!\{))*\}\}"
    # a <placeholder> standing apart (not 'x<Qv7>y'), of words: each letters, then digits (<your-password>,
    # <API_KEY_V2>; not <Kq7vRt2mXp>, which is the password in brackets)
    r"|(?<![A-Za-z0-9])<[A-Za-z]+[0-9]*(?:[ _.-]+[A-Za-z0-9]+)*>(?![A-Za-z0-9])"
)
REFERENCE = re.compile(
    _OBJECT_REFERENCES
    # $VAR standing apart, in one case (a password's '$Qv7' is no reference): what a shell or envsubst expands
    + r"|\$__(?:env|file|vault)\{[^}\n]*\}"  # Grafana's own (grafana.ini: admin_password = $__file{/run/x})
    + r"|(?<![A-Za-z0-9])\$(?:[A-Z_][A-Z0-9_]*|[a-z_][a-z0-9_]*)(?![A-Za-z0-9])"
    + r"|%\([A-Za-z_][\w.-]*\)[sd]"  # Python's and INI files' interpolation
)
OBJECT_REFERENCE = re.compile(_OBJECT_REFERENCES)  # what expands in a parsed object's string (see Lang)
_PUBLIC_BLOCK = re.compile(
    # a block ends before the next one begins: an unterminated BEGIN is not scanned to the end of the text again
    r"-----BEGIN (CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|X509 CRL|CERTIFICATE REQUEST)-----"
    r"(?:(?!-----BEGIN ).)*?-----END \1-----"
    # an SSH public key (authorized_keys, known_hosts): its type, then base64 that begins with the type's length
    r"|(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
    r"[ \t]+AAAA[A-Za-z0-9+/]+={0,3}",
    re.S,
)

# Images and fonts, base64-encoded (a Score file's binaryContent, a ConfigMap's binaryData): random-looking by
# nature, so they are judged by the text inside them (a token in a PNG's text chunk is still found), never by their
# entropy or by a detector's shape that any long base64 run ends in (Azure's 86 characters and '=='). Only formats
# known by their first bytes: other binary data (a PKCS#12 keystore, a DER private key, an archive) is judged as
# before, and refused.
# A block folded over lines goes on only over lines of base64 (or its end, and a quote or bracket): not over the
# `kind:` after a value.
_BASE64_BLOCK = re.compile(
    r"[A-Za-z0-9+/]{40,}={0,2}(?:[ \t]*\n[ \t]*[A-Za-z0-9+/]{4,}={0,2}(?=[ \t]*(?:\n|$|[\"'},\]])))*"
)
_MEDIA = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"\x00\x00\x01\x00", b"wOFF", b"wOF2", b"OTTO",
          b"\x00\x01\x00\x00\x00", b"\x00asm", b"%PDF-")  # fmt: skip
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{12,}")


# What those formats' first bytes look like in base64 (PNG, JPEG, GIF, ICO, WOFF, WOFF2, OpenType, TrueType,
# WebP): a block that starts otherwise is not decoded.
_MEDIA_BASE64 = ("iVBORw0KGgo", "/9j/", "R0lGOD", "AAABAA", "d09GR", "d09GMg", "T1RUTw", "AAEAAA", "UklGR", "AGFzbQ",
                 "JVBERi0")  # fmt: skip


def _block_bytes(block: str) -> bytes:
    """What a base64 block (maybe folded over lines) encodes; b"" when it is no base64."""
    try:
        return base64.b64decode("".join(block.split()), validate=True)
    except (binascii.Error, ValueError):
        return b""


def _media(block: str) -> bytes | None:
    """The bytes of an image or font a base64 block encodes, or None."""
    raw = _block_bytes(block) if block.startswith(_MEDIA_BASE64) else b""
    webp = raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"
    return raw if len(raw) >= 16 and (webp or raw.startswith(_MEDIA)) else None


def _der_key(block: str) -> bool:
    """A base64 block that encodes a private key or a keystore in DER (PKCS#1, PKCS#8, SEC1, PKCS#12): an ASN.1
    SEQUENCE whose first element is a small INTEGER, the version (a certificate's is another SEQUENCE). Without
    its PEM armour no detector's shape sees it."""
    raw = _block_bytes(block) if block.startswith("M") else b""
    if len(raw) < 32 or raw[0] != 0x30:
        return False
    head = 2 if raw[1] < 0x80 else 2 + (raw[1] & 0x7F)
    return raw[head : head + 2] == b"\x02\x01" and raw[head + 2 : head + 3] in (b"\x00", b"\x01", b"\x02", b"\x03")


# Every byte that may stand in a base64 block's first run as b"a", every other byte as b" ": a text with no run
# of 40 holds no block. Found by `in` over the translated bytes, ten to twenty times faster than the pattern
# itself, which tries every position of every word.
_BASE64_RUN = bytes(97 if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/") else 32 for b in range(256))


def _base64_blocks(text: str) -> Iterator[re.Match[str]]:
    if b"a" * 40 in text.encode("utf-8", "surrogatepass").translate(_BASE64_RUN):
        yield from _BASE64_BLOCK.finditer(text)


def _binary(text: str) -> bool:
    """Whether the text holds a base64 image or font, a DER key or certificate: the whole scan judges those."""
    return any(
        _media(m.group()) is not None or _der_key(m.group()) or _public_block(m.group()) for m in _base64_blocks(text)
    )


def _public_block(block: str) -> bool:
    return len(block) > 256 and _public_binary("".join(block.split()))


def _binary_blocks(text: str) -> tuple[str, list[tuple[int, str]], list[Finding]]:
    """One pass over the text's base64 blocks: the text with its images and fonts blanked out (offsets and lines
    kept), the printable runs inside them with where their block starts, and the DER keys found."""
    runs: list[tuple[int, str]] = []
    keys: list[Finding] = []

    def blank(m: re.Match[str]) -> str:
        raw = _media(m.group())
        if raw is None:
            if _der_key(m.group()):
                keys.append(Finding("a private key (base64 DER)", m.start(), m.end(), 0))
            elif _public_block(m.group()):
                # a certificate or public key: public by design, and random enough that a detector's shape
                # (AKIA and 16 capitals) turns up inside one now and then. The text inside is judged instead.
                inner = _block_bytes(m.group())
                runs.extend((m.start(), r.decode("ascii")) for r in _PRINTABLE_RUN.findall(inner))
                return re.sub(r"[^\n]", " ", m.group())
            return m.group()
        runs.extend((m.start(), r.decode("ascii")) for r in _PRINTABLE_RUN.findall(raw))
        return re.sub(r"[^\n]", " ", m.group())

    return (_BASE64_BLOCK.sub(blank, text) if any(_base64_blocks(text)) else text), runs, keys


# -- URL userinfo --------------------------------------------------------------------------------------------------

# scheme://user:password@host, with an empty user, any character but whitespace and quotes in the password.
# A scheme starts where no scheme character is before it: tried at every letter of a long word, the pattern took
# time quadratic in its length (a 250,000-character variable held a publish for minutes).
_URL_USERINFO = re.compile(
    # the password runs to the first @ and holds no other URL's :// (each scan ends at the next URL); a quote
    # may be part of it (`app:pa'ss@db`)
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^\s/@:'\"<>]*):"
    r"(?P<pw>(?:[^\s\"<>@:]|:(?!//))+(?=@)|[^\s\"<>@]{1,256}(?=@))@"
)
# scheme://TOKEN@host: a token as the user, no password (GitHub, Gitea and Forgejo take one so).
_URL_TOKEN_USER = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[A-Za-z0-9_.~-]{20,})@")
# A Sentry DSN, https://<public key>@host/<project id>: the key is public by design (it lets a client send events,
# and is shipped in every web page that reports to Sentry). A legacy DSN with `:secret` after the key is a URL
# with a password, and found as one.
_PUBLIC_DSN = re.compile(r"https?://[0-9a-f]{32}@[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[\w.-]+){0,4}/\d+(?![\w/@:])")
# user:password@host.name/... with no scheme (a registry in an image reference).
_BARE_USERINFO = re.compile(
    # the password runs to its @ holding no : or , (each scan ends at the next pair), or else at most 256
    # characters: each scan for its @ is bounded. A host with a dot, or one label and a port (`bot:pw@proxy:3128`).
    r"(?<![\w/.:@-])(?P<user>[A-Za-z0-9._~+-]+):(?P<pw>[^\s'\"@/<>:,]+(?=@)|[^\s'\"@/<>]{1,256}(?=@))@"
    r"(?P<host>[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(?=[/:\s'\"]|$)|[A-Za-z0-9-]+(?=:\d{1,5}(?:[/\s'\"]|$)))"
)

# -- credential-named keys -----------------------------------------------------------------------------------------

_FINAL_WORDS = frozenset(
    {"password", "passwd", "passphrase", "pwd", "pw", "pass", "pgpass", "secret", "secrets", "token", "apikey"}
    | {"credential", "credentials", "authorization", "requirepass", "masterauth", "dsn", "bearer", "cookie"}
    | {"privatekey", "auth", "authtoken", "hmac", "secretkey", "accesskey", "privkey", "psk", "passcode", "creds"}
    | {"sshpass", "storepass", "keypass", "srcstorepass", "deststorepass", "srckeypass", "destkeypass", "dbpass"}
)
# The words before a final "key" (or "base", "word") that make it a credential: API, access, app, license, HMAC...
# keys; Rails' SECRET_KEY_BASE; PASS_WORD.
_FINAL_PAIRS = frozenset(
    {("api", "key"), ("access", "key"), ("secret", "key"), ("private", "key"), ("signing", "key")}
    | {("encryption", "key"), ("master", "key"), ("account", "key"), ("session", "key"), ("auth", "key")}
    | {("connection", "string"), ("client", "key"), ("basic", "auth"), ("app", "key"), ("application", "key")}
    | {("license", "key"), ("licence", "key"), ("hmac", "key"), ("webhook", "key"), ("age", "key")}
    | {("key", "base"), ("pass", "word"), ("deploy", "key"), ("service", "key"), ("write", "key")}
    | {("aes", "key"), ("jwt", "key"), ("cookie", "key"), ("crypto", "key"), ("cipher", "key")}
)
# Words after the credential's name that say which one (DB_PASSWORD_2, API_KEY_V2, ROOT_PW_NEW, TOKEN_PROD): the
# name is still the credential's. Words that say something about it (_FILE, _PATH, _REF, _NAME, _TTL) are not here.
_QUALIFIERS = frozenset(
    {"ro", "rw", "new", "old", "prev", "previous", "next", "current", "curr", "primary", "secondary", "backup"}
    | {"prod", "production", "dev", "development", "stg", "staging", "stage", "test", "qa", "uat", "live"}
    | {"sandbox", "local", "main", "alt", "tmp", "temp", "default", "admin", "root", "master", "readonly", "legacy"}
)
_VERSION = re.compile(r"v?\d+")
_WORD_SUFFIXES = ("password", "passwd", "secret", "token", "apikey", "passphrase")
_PLURAL_STEMS = ("password", "passwd", "passphrase", "passcode")


@lru_cache(maxsize=4096)
def _words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def credentials_list(key: str) -> bool:
    """The key names a list of passwords (`passwords`, DB_PASSPHRASES): each item is one, never a method, a mode
    or a name, as an item under `password` or `auth` may be."""
    found = _final_words(key)
    return found is not None and _plural(found[1]) and credential_key(key)


def credential_key(key: str) -> bool:
    """The key names a credential itself (DB_PASSWORD, apiKey, x-auth-token), not something about one
    (DB_PASSWORD_FILE, secretName, tokenTTL, passwordSecretRef)."""
    found = _final_words(key)
    if found is None:
        return False
    words, last = found
    if _plural(last):
        last = last[:-1]  # passwords, DB_PASSPHRASES: a list of them (tokens and keys are often counts and names)
    return (
        last in _FINAL_WORDS or tuple(words[-2:]) in _FINAL_PAIRS or (len(last) > 6 and last.endswith(_WORD_SUFFIXES))
    )


def _final_words(key: str) -> tuple[list[str], str] | None:
    """A key's words without the qualifiers and versions after its last word (DB_PASSWORD_RO, PASSWORD_V2), and
    that word without its digits (PASSWORD2); None for the name of one (existingSecret, useSecret)."""
    words = _words(key)
    if not words or words[0] in ("existing", "use"):
        return None
    while len(words) > 1 and (words[-1] in _QUALIFIERS or _VERSION.fullmatch(words[-1])):
        words = words[:-1]
    return words, words[-1].rstrip("0123456789") or words[-1]


def _plural(word: str) -> bool:
    return word.endswith("s") and word[:-1].endswith(_PLURAL_STEMS)


_NAME_PART = re.compile(r"[\w.-]+")


def _value_start(text: str) -> tuple[int, int] | None:
    """Where the name ends and a value begins in a key or name that holds one: after the first part that names a
    credential, when anything worded follows it (`password hunter2`, `db_pass=hunter2`, `password,hunter2`,
    `password(hunter2)`, `example.com/password/hunter2`). One pass over the parts: a name costs its length."""
    for m, after in itertools.pairwise(_NAME_PART.finditer(text)):
        if credential_key(m.group()):
            return m.end(), after.start()
    return None


def shown_name(text: str) -> str:
    """A key or name a user wrote, as a message may repeat it: what follows a word that names a credential is
    hidden (see _value_start). A name has no value in it; a 'key' such as `password hunter2` (an invalid
    annotation key, an unknown field) holds one, and its message would print it to a CI log."""
    cut = _value_start(text)
    return text if cut is None else text[: cut[0]] + " ***"


def value_in_name(text: str) -> bool:
    """A key or variable name that holds a credential after its name (`DB_PASSWORD hunter2` as an environment
    variable's name, a YAML key `password=hunter2`): one token after the credential word, a literal and no plain
    word. A label that goes on in words (`Password must be 8 characters`, an i18n key) holds none."""
    cut = _value_start(text)
    if cut is None:
        return False
    rest = text[cut[0] :].strip(" \t\"'()[]<>,;:=|/\\")
    return not any(c.isspace() for c in rest) and literal(rest, "config") and not _PLAIN_WORD.fullmatch(rest)


_EXPRESSION = re.compile(r"(?:var|local|module|data|each)\.[\w.\[\]\"-]+|[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_-]*){2,}")
_HARMLESS = re.compile(
    # a number: a port, a count, a size with its unit (512Mi, 30s), a limit (MAX_TOKEN: 128000)
    r"(true|false|yes|no|on|off|null|none|nil|~|required|optional|enabled|disabled|\*+|-?\d+(\.\d+)?[a-zA-Z]{0,2}"
    # Words that say there is no credential (a local model server takes any key: `OPENAI_API_KEY: not-needed`)
    r"|not[-_ ]?(needed|required|used|set)|unused|unset|n/?a|redacted"
    # words that name a method, not a credential (AUTH_PRIMARY: ldap, AUTH_MODE: oidc)
    r"|oidc|oauth2?|ldap|saml2?|basic|bearer|digest|kerberos|ntlm|mtls|tls|iam|sigv4|jwt|apikey|session|cookie)",
    re.I,
)


# What a credential-named key may hold that is no credential: a path (no spaces, nothing a path seldom holds), a
# structure written inline, a YAML block indicator, a template. A value that merely starts like one ('/Qv7#x!',
# '{Qv7...') is judged as a value.
_NOT_A_VALUE = re.compile(
    r"(?:\.{0,2}|~)/[\w./@+-]*|\{.*\}|\[.*\]|[{\[]|[|>][-+]?[0-9]?"
    r"|\{[ \t]*[\"']?[A-Za-z_][\w.-]*[\"']?[ \t]*:.*"  # an object that opens with a key (`{"type": "string"`)
    # a template or placeholder a `key=value` match cut short (`{{` of `{{ .password }}`); a closed one with a
    # literal beside it is judged by what is beside it (_made_up_beside)
    r"|(?:\{\{|\{%)[^}]*|\$\{[^}]*",
    re.S,
)


# A URL with no password in its userinfo, under a credential name (SENTRY_DSN, DATABASE_DSN, AUTH: an endpoint):
# an address, not a credential. A password, a token as its user or in its query is found where it is, by the URL
# and assignment checks; a DSN that is no URL (Go's `user:pw@tcp(db)/x`) is still a literal.
_URL_WITHOUT_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^\s:@/]+@)?[^\s@]+")


def literal(value: Any, lang: Lang = "text") -> bool:
    """A value under a credential-named key that is a literal credential: not empty, not a reference or a
    placeholder, not a number, boolean, path or a Terraform expression."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    elif lang == "terraform":
        return text.startswith("<<")  # unquoted: an expression (var.x, random_password.x.result); <<EOT: a heredoc
    if not text or _HARMLESS.fullmatch(text) or _NOT_A_VALUE.fullmatch(text) or _URL_WITHOUT_PASSWORD.fullmatch(text):
        return False
    if any(_default_is_literal(m.group("default") or m.group("quoted")) for m in _DEFAULT.finditer(text)):
        return True  # ${DB_PASSWORD:hunter2}, ${PW:-hunter2}, {{ default "hunter2" .pw }}: used when unset
    if lang == "object":
        return not OBJECT_REFERENCE.search(text) or _made_up_beside(OBJECT_REFERENCE, text)
    if lang != "config" and value.strip() == text and _EXPRESSION.fullmatch(text):
        return False  # unquoted var.x, random_password.db.result: a Terraform expression (a diff of a .tf file)
    # Built from references (a URL of placeholders): the credential in it is a reference. A literal password
    # inside such a URL is still found by the URL check.
    return not REFERENCE.search(text) or _made_up_beside(REFERENCE, text)


# A default written inside a reference: Spring's ${a.b-c:default}, a shell's ${NAME:-default} (also -, := and =;
# a shell's name has no `.` or `-`, so ${resources.my-redis.password} holds no default),
# sprig's and Jinja's `default "x"` / `default('x')`. `${NAME:?message}` is an error message, not a default.
_DEFAULT = re.compile(
    r"\$\{(?:[A-Za-z_]\w*(?::-|:=|-|=)|[A-Za-z_][\w.-]*:(?![?]))(?P<default>[^}$\n]*)\}"
    r"|\bdefault[ \t]*\(?[ \t]*(?P<q>[\"'`])(?P<quoted>[^\"'`\n]*)(?P=q)"
)


def _default_is_literal(default: str | None) -> bool:
    return bool(default) and literal(default, "config") and not _CONSTANT_NAME.fullmatch(default or "")


_CONSTANT_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")  # ${env:DB_PASSWORD}: a name, not a default


_BETWEEN_PARTS = re.compile(r"[\s:/@,;=&?|]+")


def _made_up_beside(references: re.Pattern[str], text: str) -> bool:
    """Whether a value that holds references also holds a literal part that reads as a made-up secret: a run of
    8 or more characters that mixes letters with digits or symbols (`$(POD_NAME)Hunter2x9Harbor`). The words of
    a URL or a connection string built from references (`postgres://$(U):$(P)@db:5432/shop`) are no such run."""
    for part in _BETWEEN_PARTS.split(references.sub(" ", text)):
        part = part.strip("-_.")
        if len(part) < 8 or not any(c.isalpha() for c in part):
            continue
        mixed = any(c.isdigit() for c in part) or not part.replace("-", "").replace("_", "").replace(".", "").isalnum()
        if mixed and literal(part, "config") and not name_like(part):
            return True
    return False


def name_like(text: str) -> bool:
    """Lower-case words and numbers joined by - _ . (db_password, redis-6379-primary): a name, not a made-up
    secret (see _HARMLESS_RUN)."""
    return bool(_HARMLESS_RUN.fullmatch(text))


# A literal run beside references that is a name, not a secret: words and numbers joined by - _ . (a host,
# redis-6379-primary, amd64-linux), each piece at most one change of class (letters then digits), or a version
# (v1beta1, 1.27.3-alpine). A piece that changes class more often (kq7vrt2mxp9) is made up.
_RUN_PIECE = r"(?:[a-z]+\d*|\d+[a-z]*|v\d+(?:alpha|beta|rc)\d*)"
_HARMLESS_RUN = re.compile(rf"{_RUN_PIECE}(?:[-_.]{_RUN_PIECE})*")


# A key, `:` or `=`, and a value: in config files, shell, .env, HCL, HTTP headers, --flag=value.
_ASSIGNMENT = re.compile(  # a lookahead, so that matches overlap: --set=a.password=x holds two
    # after a query's ? or &, a path's / or : (.npmrc's //registry/:_authToken=...) too
    r"(?=(?:^|(?<=[\s{,;(\"'=?&/:]))(?:--?)?(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)[\"']?[ \t]*[:=\uff1a][ \t]*"
    # values of at most 256 characters (a longer one is still found, by its start): matches overlap, and each
    # would otherwise scan a long run to its end
    r"(?P<value>\"[^\"\n]{0,256}\"|'[^'\n]{0,256}'|[^\s,;#=\\]{1,256}(?: [^\s,;#=\\]{1,256})?))",
    re.M,
)
# A key, spaces and a value: `--password x`, and the config files that write `requirepass x`.
_SPACED = re.compile(  # a lookahead, so that matches overlap: in `--verbose --password x` the second is a key too
    r"(?=(?:^|(?<=\s))(?P<key>--?[A-Za-z][\w-]*|requirepass|masterauth)[ \t]+"
    r"(?P<value>\"[^\"\n]{0,256}\"|'[^'\n]{0,256}'|[^\s,;#]{1,256}))",
    re.M,
)
# <password>x</password> (Maven's settings.xml, any XML), and .netrc's `login USER password VALUE`.
# The element's text may stand on lines of its own, or in a CDATA section.
_ELEMENT = re.compile(
    r"<(?P<key>[A-Za-z_][\w.:-]*)(?:[ \t][^<>\n]{0,256})?>\s{0,64}(?:<!\[CDATA\[)?"
    r"(?P<value>[^<>\s](?:[^<>\n]*[^<>\s])?)(?:\]\]>)?\s{0,64}</(?P=key)>"
)
# .netrc: `login USER password VALUE`, or `machine HOST password VALUE` with the login after it or none; on one
# line or several
_NETRC = re.compile(r"\b(?:login|machine)\s+\S+\s+(?P<key>password|passwd|account)\s+(?P<value>\S+)")
# A name and a value side by side: <property name="db.password" value="x"/>, <entry key="password" value="x"/>,
# {"name": "DB_PASSWORD", "value": "x"}, and YAML's `- name: DB_PASSWORD` with `value: x` on the next line.
_NAME_VALUE = re.compile(
    r"(?<![\w-])[\"']?(?:name|key)[\"']?[ \t]{0,8}[:=][ \t]{0,8}[\"']?(?P<key>[A-Za-z_][\w.-]{0,128})[\"']?"
    r"[ \t]{0,8}[,;]?\s{0,64}?(?:-[ \t]+)?[\"']?value[\"']?[ \t]{0,8}[:=][ \t]{0,8}"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s,;#}>/\"']+)"
)
# Hadoop's and Java properties' XML: <name>fs.s3a.secret.key</name> then <value>x</value>; <entry key="password">x
_NAME_VALUE_ELEMENTS = re.compile(
    r"<name>\s{0,64}(?P<key>[A-Za-z_][\w.:-]{0,128})\s{0,64}</name>\s{0,256}"
    r"<value>\s{0,64}(?P<value>[^<\s][^<]*?)\s{0,64}</value>"
    r"|<(?P<tag>[A-Za-z_][\w.:-]*)[ \t][^<>]{0,128}?\b(?:key|name)=[\"'](?P<key2>[A-Za-z_][\w.:-]{0,128})[\"']"
    r"[^<>]{0,128}>"
    r"\s{0,64}(?P<value2>[^<\s][^<]*?)\s{0,64}</(?P=tag)>"
)
# A key that ends its line, and its value on the next line, indented deeper: YAML (`password:` then the value, a
# block scalar, a list item), pretty-printed JSON, an INI continuation.
_KEY_ENDS_LINE = re.compile(
    r"(?P<indent>[ \t]*)[\"']?(?P<key>[A-Za-z_][\w.-]{0,128})[\"']?[ \t]*[:=][ \t]*(?:[|>][-+]?[0-9]?)?[ \t]*\r?"
)
_VALUE_STARTS_LINE = re.compile(
    r"(?P<indent>[ \t]*)(?P<value>\"[^\"\n]{0,256}\"|'[^'\n]{0,256}'|[^\s,;#]{1,256})(?P<after>[ \t]*:?)"
)
# A .pgpass line (hostname:port:database:username:password, the whole line): its last field is the password.
_PGPASS = re.compile(
    r"^[ \t]*[A-Za-z0-9.*_-]+:(?:\d{1,5}|\*):[^:\s]+:[^:\s]+:(?P<value>[^\s:](?:[^\n]*[^\s])?)[ \t]*$", re.M
)
# Credential stores whose line syntax says "this is a password": a value in a password scheme (RFC 2307's
# userPassword, Dovecot's passdb, htpasswd's {SHA}, slapd's rootpw: `{PLAIN}x`, `{SSHA}x`), a Redis ACL rule's
# `>password` (users.acl, `ACL SETUSER`), and pgbouncer's userlist ("user" "password" on every line). A hash in a
# scheme is refused as the password is: a verifier in a public repository is a password to crack offline.
# A scheme is known by its name's family, not a list of names: a hash's or an encoding's stem, then digits and
# dashed parts ({SSHA384}, {PLAIN-TRUNC}, {DES-CRYPT}, {PBKDF2-SHA512}, {SHA3-512}, not {DESCRIPTION} nor
# {NOTPRESENT}), and an encoding's suffix ({SHA256.HEX}); the name is looked at only within
# 32 characters of its brace, so the search stays linear. The value ends at a space, a quote or a `:` (the next
# field of a passwd-file line, `user:{PLAIN}pw:uid:gid`).
_SCHEME_PASSWORD = re.compile(r"\{(?P<scheme>[A-Za-z0-9][A-Za-z0-9.-]{0,31})\}(?P<value>[^\s\"':]+)")
_SCHEME_STEM = re.compile(
    r"(?:s?sha|s?md|crypt|plain|clear|cleartext|argon2(?:i|d|id)?|pbkdf|scram|cram|ntlm|lanman|rpa|otp|skey|hmac|des|"
    r"scrypt|yescrypt|gost"
    r"|digest|bcrypt|blf|ldap-md)[0-9]*(?:-[A-Za-z0-9]+)*(?:\.[A-Za-z0-9]+)?",
    re.I,
)
# A hash in the modular crypt format ($6$salt$hash, $2y$10$..., $argon2id$v=19$m=65536,t=3,p=1$salt$hash): not a
# shell's `$word`, whatever a reading of references makes of it.
_MODULAR_CRYPT = re.compile(r"\$[0-9a-z]{1,16}(?:\$[^$\s]*){2,}")
# A Redis ACL rule line (users.acl, `ACL SETUSER`, its exec form): every rule after the user's name that sets or
# removes a password (`>pw`, `<pw`, quoted or not) or gives its SHA-256 (`#<64 hex>`), however many rules
# stand before it. Each line is read once, from its first `user`.
_ACL_LINE = re.compile(r"(?:^|(?<=[\s\"']))(?:user|acl[ \t]+setuser)[ \t]+[^\s>]", re.I | re.M)
_ACL_RULE = re.compile(
    r"(?<![^\s])[\"']?(?:>(?P<value>[^\s\"']+)|<(?P<removed>[^\s\"'<>]+)(?=[\s\"']|$)|#(?P<hash>[0-9a-fA-F]{64})\b)"
)
# pgbouncer reads the first two quoted fields of a userlist line and ignores the rest of it.
_USERLIST_LINE = re.compile(r'[ \t]*"(?:[^"\n]|"")+"[ \t]+"(?P<value>(?:[^"\n]|"")+)"(?:[ \t][^\n]*)?')
_HEREDOC = re.compile(r"<<-?(?P<tag>[A-Za-z_]+)\n(?P<body>.*?)\n[ \t]*(?P=tag)\b", re.S)
_HCL_STRING = re.compile(r'"(?P<body>(?:[^"\\\n]|\\.)*)"')

# -- high entropy --------------------------------------------------------------------------------------------------

TOKEN = re.compile(r"[A-Za-z0-9+/=_\-.]{20,}")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")


def entropy(text: str) -> float:
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def random_token(token: str) -> bool:
    """A random-looking token: mixed classes and an entropy close to that of random text of its length."""
    token = token.strip("=.-_")
    n = len(token)
    if n > 256:  # a long one is random where its first and its last 256 characters are (an encoded keystore)
        return random_token(token[:256]) and random_token(token[-256:])
    if n < 20 or _HASH.fullmatch(token) or _UUID.search(token):
        return False
    lower, upper, digit = (any(f(c) for c in token) for f in (str.islower, str.isupper, str.isdigit))
    if re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", token):
        return n >= 32 and digit and entropy(token) > 3.3
    if not (digit and (lower or upper)):
        return False
    if not (lower and upper):  # one case and digits: only unbroken runs (names are broken by - . _ /)
        return n >= 24 and not re.search(r"[-._/]", token) and entropy(token) > min(4.0, math.log2(n) - 0.5)
    # Random text changes class (lower, upper, digit) often inside a run; paths and names (development/a1/README,
    # PLATO_SECRET_DB_PASSWORD) change it only between words.
    segments = re.split(r"[/+=_.-]", token)
    if not any(len(seg) >= 10 and _class_changes(seg) >= 4 and not _CAMEL_WORDS.fullmatch(seg) for seg in segments):
        return False
    return entropy(token) > min(4.3, math.log2(n) - 0.6)


# A name in camel case changes class only between its words (UpstreamTlsContext, HTTPConnectionManager,
# Http2ProtocolOptions: an Envoy type URL, a Java class); random text changes it inside them.
_CAMEL_WORDS = re.compile(r"(?!(?:\D*\d){3})(?:[A-Z]?[a-z]{2,}\d?|[A-Z]{2,5}(?=[A-Z][a-z]|$))+")


def _class_changes(seg: str) -> int:
    kinds = [0 if c.islower() else 1 if c.isupper() else 2 for c in seg]
    return sum(a != b for a, b in itertools.pairwise(kinds))


# -- known token shapes: detect-secrets -----------------------------------------------------------------------------

# Every shape the library knows holds a run like this (the shortest, Artifactory's AP..., has 11 characters).
_GATE = re.compile(r"[A-Za-z0-9_\-+=.]{11,}|PRIVATE KEY|PuTTY-User-Key")
_ALNUM = re.compile(r"(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]+")
_NOT_SECRETS = frozenset({"Public IP (ipv4)", "Basic Auth Credentials"})  # not a secret; URLs are checked above


@lru_cache(maxsize=16384)
def _gate(token: str) -> bool:
    if token in ("PRIVATE KEY", "PuTTY-User-Key"):
        return True
    if _HASH.fullmatch(token):
        return False
    # Every shape the library knows has a run of ten or more letters and digits, both, between separators:
    # names (s3-shop-uploads, networking.k8s.io) and version tags (RELEASE.2024-11-07T00-52-20Z) have none, so
    # a publish that holds nothing else never imports the library. Short hex (digests plato writes) neither.
    parts = re.split(r"[-_.=+/]", token)
    return any(len(p) >= 10 and _ALNUM.fullmatch(p) and not re.fullmatch(r"[0-9a-f]{,31}", p) for p in parts)


@cache
def _plugins() -> tuple[Any, ...]:
    """detect-secrets' regex detectors, once per process (imported here: most runs never need them)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    chosen = [c for c in classes if issubclass(c, RegexBasedDetector) and c.secret_type not in _NOT_SECRETS]
    return tuple(c() for c in sorted(chosen, key=lambda c: str(c.secret_type)))


def _shapes(text: str, offset: int = 0) -> Iterator[Finding]:
    # The lines that hold a run the gate lets through (a run never spans lines), each once and in order.
    starts = sorted({text.rfind("\n", 0, m.start()) + 1 for m in _GATE.finditer(text) if _gate(m.group())})
    for begin in starts:
        end = text.find("\n", begin)
        end = len(text) if end < 0 else end
        line = text[begin:end]
        for plugin in _plugins():
            for value in plugin.analyze_string(line):
                at = line.find(value) if value else -1
                kind = plugin.secret_type
                what = f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind}"
                if kind == "Azure Storage Account access key" and _in_longer_base64(line, value):
                    continue  # the last 88 characters of any long base64 run ending in '==' (a certificate)
                if at < 0 or plugin.secret_type == "Private Key":  # hide the whole line, or the whole key
                    yield Finding(what, begin + offset, _block_end(text, end) + offset, 0)
                else:
                    start = begin + at + offset
                    yield Finding(what, start, start + len(value), 0)


def _in_longer_base64(line: str, value: str) -> bool:
    """Whether a detector's match is part of a longer run of base64 characters than the shape it looks for."""
    core = value.strip("\"'")
    return any(core in m.group() and len(m.group()) > len(core) + 2 for m in re.finditer(r"[A-Za-z0-9+/=]+", line))


_KIND_SECRET = re.compile(r"^(?P<indent>[ \t]*)kind:[ \t]*[\"']?[ \t]*secret[ \t]*[\"']?[ \t]*(?:#.*)?$", re.M | re.I)
# The same in JSON (or a YAML flow mapping): a Secret and a data object that is not empty.
_JSON_SECRET = re.compile(r"(?<![\w-])[\"']?kind[\"']?[ \t]*:[ \t]*[\"']?secret[\"']?(?=[\s,}])", re.I)
_JSON_DATA = re.compile(r"(?<![\w-])[\"']?(?:string)?[dD]ata[\"']?[ \t]*:[ \t]*\{[ \t\n]*[\"'\w]")
# Each of the three is searched for by its part from the word `kind` (or `data`) on, then matched whole where
# that part begins, or at most `lead` characters before it (a quote, `string`), or at its line's start: a pattern
# that opens with a look-behind, or with `^` under MULTILINE, is tried at every position of the text (four to
# eight times slower in a manifest of 18 KB, where the whole scan of a file took a millisecond).
_KIND_SECRET_CORE = re.compile(_KIND_SECRET.pattern.removeprefix("^(?P<indent>[ \\t]*)"), re.M | re.I)
_JSON_SECRET_CORE = re.compile(_JSON_SECRET.pattern.removeprefix("(?<![\\w-])[\\\"']?"), re.I)
_JSON_DATA_CORE = re.compile(_JSON_DATA.pattern.removeprefix("(?<![\\w-])[\\\"']?(?:string)?"))


def _matches(text: str, whole: re.Pattern[str], core: re.Pattern[str], lead: int) -> Iterator[re.Match[str]]:
    """Every match of `whole`, as its own finditer would give them, found by way of `core` (its end part):
    `lead` is the most characters that may stand before the core part (-1: from the start of the line)."""
    at = 0  # matches do not overlap, as finditer's do not
    for c in core.finditer(text):
        begin = text.rfind("\n", 0, c.start()) + 1 if lead < 0 else max(0, c.start() - lead)
        for start in range(max(begin, at), c.start() + 1) if lead >= 0 else [begin] if begin >= at else []:
            m = whole.match(text, start)
            if m:
                yield m
                at = m.end()
                break


# A PEM private key by its armour, found here whatever the detector library's state: the one shape that must
# never depend on a gate or a plugin list (certificates and public keys were blanked out above).
_PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----")


def _private_keys(text: str) -> list[Finding]:
    # Named as detect-secrets names it, so a message reads the same whichever of the two found it first.
    return [Finding("a Private Key", m.start(), _block_end(text, m.end()), 0) for m in _PRIVATE_KEY.finditer(text)]


def _embedded_secrets(text: str) -> list[Finding]:
    """A Secret manifest with data written as text (a file's content, a rule's extra file): `kind: Secret` and
    `data:` or `stringData:` at the same indentation of one YAML document."""
    out = []
    judged: set[tuple[int, str]] = set()  # each (document, indentation) once: the search is over the document
    marks = _document_marks(text)
    for m in _matches(text, _KIND_SECRET, _KIND_SECRET_CORE, -1):
        start, end = _document_around(text, m.start(), marks)
        if (start, m.group("indent")) in judged:
            continue
        judged.add((start, m.group("indent")))
        doc = text[start:end]
        indent = re.escape(m.group("indent"))
        data = re.search(rf"^{indent}(string)?[dD]ata:[ \t]*(?P<inline>\S.*)?\n?(?P<next>[ \t]*\S)?", doc, re.M)
        if not data:
            continue
        inline = (data.group("inline") or "").strip()
        block = not inline and len(data.group("next") or "") > len(m.group("indent")) + 1
        if block or inline not in ("", "{}", "null", "~"):
            out.append(Finding("a Secret with data", start + data.start(), start + data.end(), 0))
    searched = -1  # the document last searched for data: each once
    for kind in _matches(text, _JSON_SECRET, _JSON_SECRET_CORE, 1):
        start, end = _document_around(text, kind.start(), marks)
        if start == searched:
            continue
        searched = start
        if data := next(_matches(text[start:end], _JSON_DATA, _JSON_DATA_CORE, 7), None):
            at = (start + data.start(), start + data.end())
            out.append(Finding("a Secret with data", min(kind.start(), at[0]), max(kind.end(), at[1]), 0))
            break
    return out


_DOCUMENT_MARK = re.compile(r"^(?P<indent>[ \t]*)(?:---|\.\.\.)(?=[ \t\r\n]|$)", re.M)
Marks = dict[str, list[re.Match[str]]]
_INDENT = re.compile(r"[ \t]*")


def _document_marks(text: str) -> Marks:
    """Each `---` and `...` line by its indentation: a stream written into a block scalar (a manifest's
    ConfigMap holding a mounted file) has its marks at the indentation of its own documents."""
    marks: Marks = {}
    if "---" in text or "..." in text:
        for m in _DOCUMENT_MARK.finditer(text):
            marks.setdefault(m.group("indent"), []).append(m)
    return marks


def _document_around(text: str, at: int, marks: Marks) -> tuple[int, int]:
    """The bounds of the YAML document that holds `at`: from the end of the last `---` or `...` before it, at
    the indentation of `at`'s line, to the next one (a Secret and a ConfigMap's data in two documents of one
    stream are two objects)."""
    indent = _INDENT.match(text, text.rfind("\n", 0, at) + 1)
    own = marks.get(indent.group() if indent else "", [])
    i = bisect.bisect_right(own, at, key=lambda m: m.start())
    return (own[i - 1].end() if i else 0), (own[i].start() if i < len(own) else len(text))


def _block_end(text: str, at: int) -> int:
    """The end of the line that closes a PEM block begun before `at` (the end of the text if none does)."""
    close = text.find("-----END", at)
    end = text.find("\n", close) if close >= 0 else -1
    return end if end >= 0 else len(text)


# -- the scan ------------------------------------------------------------------------------------------------------


def _urls(text: str) -> Iterator[Finding]:
    if "@" not in text:  # both shapes hold one: most texts are skipped without running either pattern
        return
    for m in _URL_TOKEN_USER.finditer(text):
        user = m.group("user")
        if _PUBLIC_DSN.match(text, m.start()):
            continue
        if REFERENCE.sub("", user) == user and (random_token(user) or (len(user) >= 32 and _HEX.fullmatch(user))):
            yield Finding("a token in a URL", m.start("user"), m.end("user"), 1)
    for pattern in (_URL_USERINFO, _BARE_USERINFO):
        for m in pattern.finditer(text):
            pw = m.group("pw")
            if pattern is _BARE_USERINFO and (m.group("host").startswith("sha") or pw.isdigit()):
                continue  # an image digest (name:tag@sha256:...), a port
            if REFERENCE.sub("", pw):
                yield Finding("a password in a URL", m.start("pw"), m.end("pw"), 1)


def _assignments(text: str, lang: Lang, offset: int = 0) -> Iterator[Finding]:
    if lang == "terraform":  # heredocs and strings hold literal text, whatever the file around them is
        for doc in _HEREDOC.finditer(text):
            yield from _assignments(doc.group("body"), "text", offset + doc.start("body"))
        for s in _HCL_STRING.finditer(text):
            if "\\n" in s.group("body"):  # a file's content in a string: its lines, each where the string is
                for f in _assignments(s.group("body").replace("\\n", "\n").replace('\\"', '"'), "text"):
                    yield Finding(f.what, offset + s.start(), offset + s.end(), f.rank)
    found = [*_ASSIGNMENT.finditer(text), *_SPACED.finditer(text), *_paired(text)]
    yield from _judged(found, text, lang, offset)
    yield from _next_line_findings(text, lang, offset)
    for start, end in client_passwords(text):
        yield Finding("a password on a command line", offset + start, offset + end, 2)
    for m in _PGPASS.finditer(text) if text.count(":") >= 4 else ():
        if _pgpass_password(m.group("value")):
            yield Finding("a password in a .pgpass line", offset + m.start("value"), offset + m.end("value"), 2)
    yield from store_lines(text, offset)


# What stands before a default on its line: a credential's key, then the template or reference that holds it
# (`password: {{ default "x" .Env.PW }}`, `PW=${PW:-x}`), however the value's spaces cut an assignment's match.
_BEFORE_DEFAULT = re.compile(r"(?P<key>[A-Za-z_][\w.-]*)[\"']?[ \t]*[:=][ \t]*[\"']?(?:\{\{|\{%|\$\{)[^\n]{0,256}$")


def _defaults(text: str, offset: int) -> Iterator[Finding]:
    """A literal default inside a template or reference under a credential's key (see _DEFAULT)."""
    if "default" not in text and "${" not in text:
        return  # most texts hold neither
    for m in _DEFAULT.finditer(text):
        default = m.group("default") or m.group("quoted")
        if not _default_is_literal(default):
            continue
        start = text.rfind("\n", 0, m.start()) + 1
        window = text[max(start, m.start() - 300) : m.start() + 2]
        if "{{" not in window and "{%" not in window and "${" not in window:
            continue  # no template or reference holds it (the search below would try every start for nothing)
        before = _BEFORE_DEFAULT.search(window)
        if before and credential_key(before.group("key")):
            at = m.start("default") if m.group("default") else m.start("quoted")
            yield Finding(f"a literal default for '{before.group('key')}'", offset + at, offset + at + len(default), 2)


# A config file's directive line: a name, then words (nginx, HAProxy, Redis Sentinel, Squid, stunnel: no `=`).
_DIRECTIVE = re.compile(
    r"^[ \t]*(?P<line>[A-Za-z][\w.-]*(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)){1,8})[ \t]*;?[ \t]*$", re.M
)
_DIRECTIVE_WORD = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+")
_DIRECTIVE_NAME = re.compile(r"[A-Za-z][\w.-]*")
_ADDRESS = re.compile(r"(?:[\w.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}/?|unix:\S+|[A-Za-z][A-Za-z0-9+.-]*://\S+")


def directives(text: str, offset: int = 0) -> Iterator[Finding]:
    """A directive line whose words name a credential and end with its literal value: `sentinel auth-pass
    mymaster x`, HAProxy's `user admin insecure-password x` and `stats auth admin:x`, nginx's
    `proxy_set_header Authorization "Basic x"`. The value is the line's last word, judged as an assignment's."""
    for m in _DIRECTIVE.finditer(text) if " " in text or "\t" in text else ():
        words = [w.group() for w in _DIRECTIVE_WORD.finditer(m.group("line"))]
        if words[0].endswith(":") or "=" in words[0] or words[1].startswith(("=", ":")):
            continue  # `key: value`, `key=value`, `key = a query`: an assignment, judged as one
        while len(words) > 1 and words[-1].strip("{};") == "":
            words.pop()  # nginx's `location / { proxy_pass x; }`: the braces are no value
        at = next((i for i, w in enumerate(words[:-1]) if _DIRECTIVE_NAME.fullmatch(w) and credential_key(w)), None)
        if at is None:
            continue
        key, value = words[at], words[-1].rstrip(";")
        if _ADDRESS.fullmatch(value):
            continue  # nginx's proxy_pass and fastcgi_pass, an upstream: where to connect (a URL's password is
            # found by the URL check)
        if literal(value, "config") and not _PLAIN_WORD.fullmatch(value.strip("\"'")) and not _value_is_key(key, value):
            last = m.start("line") + m.group("line").rfind(words[-1])
            yield Finding(f"a literal value for '{key}'", offset + last, offset + last + len(value), 2)


def store_lines(text: str, offset: int = 0) -> Iterator[Finding]:
    """The credential stores' lines (see _SCHEME_PASSWORD, _ACL_LINE): each run only where the text holds what it
    needs."""
    what = "a password in a credential store's line"
    for m in _SCHEME_PASSWORD.finditer(text) if "{" in text else ():
        value = m.group("value")
        if _SCHEME_STEM.fullmatch(m.group("scheme")) and (literal(value) or _MODULAR_CRYPT.fullmatch(value)):
            yield Finding(what, offset + m.start("value"), offset + m.end("value"), 2)
    for rule in _acl_rules(text) if ">" in text or "<" in text or "#" in text else ():
        which = next(g for g in ("value", "removed", "hash") if rule.group(g) is not None)
        if which == "hash" or literal(rule.group(which)):
            yield Finding(what, offset + rule.start(which), offset + rule.end(which), 2)
    if '"' in text and text.lstrip(" \t\n")[:1] in ('"', "#", ";"):  # a userlist begins so; most texts do not
        yield from _userlist(text, offset)


def _acl_rules(text: str) -> Iterator[re.Match[str]]:
    line_end = -1
    for m in _ACL_LINE.finditer(text):
        if m.start() < line_end:
            continue  # a second `user` on a line already read
        line_end = text.find("\n", m.end())
        while line_end > 0 and text[line_end - 1] == "\\":  # a command continued over lines: one line
            line_end = text.find("\n", line_end + 1)
        line_end = len(text) if line_end < 0 else line_end
        yield from _ACL_RULE.finditer(text, m.end(), line_end)


def _userlist(text: str, offset: int) -> Iterator[Finding]:
    """A pgbouncer userlist: every line that is not blank or a comment is `"user" "password"`."""
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith(("#", ";"))]
    if not lines or text.count('"') < 4 * len(lines) or not all(_USERLIST_LINE.fullmatch(ln) for ln in lines):
        return
    at = 0
    for line in text.split("\n"):
        pair = _USERLIST_LINE.fullmatch(line)
        if pair and literal(pair.group("value")):
            start, end = offset + at + pair.start("value"), offset + at + pair.end("value")
            yield Finding("a password in a userlist line", start, end, 2)
        at += len(line) + 1


def _paired(text: str) -> list[re.Match[str]]:
    """The key and value pairs that may span lines: elements, .netrc entries, names beside values (each pattern
    run only where the text holds the literal it needs)."""
    found = [*_ELEMENT.finditer(text)] if "<" in text else []
    found += _NETRC.finditer(text) if "login" in text or "machine" in text else ()
    found += _NAME_VALUE.finditer(text) if "value" in text else ()
    found += _NAME_VALUE_ELEMENTS.finditer(text) if "</" in text else ()
    return found


def _judged(found: Iterable[re.Match[str]], text: str, lang: Lang, offset: int) -> Iterator[Finding]:
    line: list[Any] = []  # the last line's bounds and references (see _in_reference)
    for m in found:
        names = m.groupdict()
        which = "value" if names.get("value") is not None else "value2"  # _NAME_VALUE_ELEMENTS' second form
        key, value = names.get("key") or names.get("key2") or "", m.group(which)
        if key == "secretKey" and "remoteRef" in text[max(0, m.start() - 200) : m.end() + 200]:
            continue  # an ExternalSecret data item (a diff of one): the key of the Secret it makes
        at = m.start("key" if names.get("key") is not None else "key2")
        if (
            credential_key(key)
            and literal(value, lang)
            and not _value_is_key(key, value)
            and not _in_reference(text, at, line)
        ):
            yield Finding(f"a literal value for '{key}'", offset + m.start(which), offset + m.end(which), 2)


def _in_reference(text: str, at: int, line: list[Any]) -> bool:
    """Whether `at` lies inside a reference on its line: `${DB_PASSWORD:}` (Spring's empty default) holds no
    assignment, its key is a variable's name. Asked only of what would be a finding, in the order of the text:
    `line` keeps the last line's bounds and references, so a line of many findings is read once."""
    if not line or not line[0] <= at < line[1]:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = end if end >= 0 else len(text)
        line[:] = [start, end, [m.span() for m in REFERENCE.finditer(text, start, end)]]
    spans = line[2]
    i = bisect.bisect_right(spans, at, key=lambda span: span[0]) - 1
    return i >= 0 and spans[i][0] < at < spans[i][1]


def _next_line_findings(text: str, lang: Lang, offset: int) -> Iterator[Finding]:
    for key, value, start, end in _next_line_values(text):
        # `key:` is a key of its own; a short plain word (a scope, a mode, a name) says nothing of a password there
        if (
            credential_key(key)
            and literal(value, lang)
            and not value.endswith(":")
            and not _PLAIN_WORD.fullmatch(value)
        ):
            yield Finding(f"a literal value for '{key}'", offset + start, offset + end, 2)


def _spans_lines(text: str, lang: Lang) -> bool:
    """Whether an assignment in the text spans lines, which judging it line by line cannot see: a value on the
    line after its key, a name and its value on two lines, an element's text or a .netrc entry over lines, a
    command continued with a backslash."""
    if "\n" not in text:
        return False
    over_lines = [m for m in _paired(text) if "\n" in m.group()]
    if any(_judged(over_lines, text, lang, 0)) or any(_next_line_findings(text, lang, 0)):
        return True
    if "\\\n" in text or "\\\r\n" in text:  # a store's rule on a command continued over lines (ACL SETUSER \)
        for f in store_lines(text):
            start, end = text.rfind("\n", 0, f.start) + 1, text.find("\n", f.start)
            if not any(store_lines(text[start : end if end >= 0 else len(text)])):
                return True
    return any(client_passwords(text, spanning=True))


# Lines shaped a:1:b:c:d are also IPv6 addresses and colon-joined labels (host:port:job:name:state): a .pgpass
# password escapes its colons (\:), and a short plain word (a label's state: healthy, instance, prod) or a number
# says nothing of a password file. A longer word (correcthorse) is judged a password.
_UNESCAPED_COLON = re.compile(r"(?<!\\):")
_PLAIN_WORD = re.compile(r"[A-Z]?[a-z]{1,9}|[0-9]+")


def _pgpass_password(value: str) -> bool:
    return literal(value) and not _UNESCAPED_COLON.search(value) and not _PLAIN_WORD.fullmatch(value)


# Clients that take a password on their command line: glued to a flag (mysql's -pSECRET: a space after -p makes it
# ask), as a flag's next word (sshpass -p SECRET, redis-cli -a SECRET, ldapsearch -w SECRET), after a user and a
# separator (curl -u user:SECRET, smbclient -U user%SECRET), or as a positional argument (htpasswd -b file user
# SECRET, rabbitmqctl add_user user SECRET). Between the client and its flag: the rest of the command (a line
# continued with a backslash included), at most 512 characters, so that each client named is one bounded scan. A
# value may be a reference, or what the shell expands ($VAR, $(cat file)).
# What stands between a client's name and its password flag: at most 512 characters of its command, and never the
# client's name again (where a later attempt begins: a text of `mysql://` repeated is then read once, not 512
# characters from each of its names).
_CLIENT_GAP = r"(?:(?!{client})(?:[^\n;|&\\]|\\\r?\n|\\(?!\r?\n))){{0,512}}?"
_QUOTE = r"(?:\\?[\"'])?"  # a quote may stand before the value, escaped in JSON
_NEXT = r"(?P<value>[^\s\"'`;|&\\-][^\s\"'`;|&\\]*)"
_GLUED = r"(?P<value>[^\s\"'`;|&\\]+)"
_CLIENT_LINES = tuple(
    re.compile(rf"(?<![\w.-])(?:{client}){_CLIENT_GAP.format(client=client)}[ \t]{then}")
    for client, then in (
        (r"mysql[a-z]{0,16}(?![a-z])|mariadb(?:-[a-z]{1,16})?(?![a-z])", rf"-p{_QUOTE}{_GLUED}"),
        ("sshpass", rf"-p[ \t]*{_QUOTE}{_NEXT}"),
        (r"(?:redis|valkey|keydb)-(?:cli|benchmark)", rf"(?:-a|--pass|AUTH)[ \t]*{_QUOTE}{_NEXT}"),
        (r"(?:docker|podman|nerdctl|buildah|helm|oras)(?:[ \t]+registry)?[ \t]+login", rf"-p[ \t=]*{_QUOTE}{_NEXT}"),
        (r"mongo(?:sh|dump|restore|export|import|stat|top|files)?", rf"-p[ \t]+{_QUOTE}{_NEXT}"),
        (r"ldap[a-z]{1,16}(?![a-z])", rf"-w[ \t]*{_QUOTE}{_NEXT}"),
        (r"zip|unzip|zipcloak", rf"-P[ \t]*{_QUOTE}{_NEXT}"),
        (r"7z[ar]?", rf"-p{_QUOTE}{_GLUED}"),
        ("smbclient", rf"(?:-U|--user)[ \t=]*{_QUOTE}[^\s%\"']+%{_NEXT}"),
        (r"curl|wget", rf"(?:-[A-Za-z]{{0,8}}u|--user|--proxy-user)[ \t=]*{_QUOTE}[^\s:\"'-][^\s:\"']*:{_NEXT}"),
        (
            "htpasswd",
            rf"-(?![A-Za-z]{{0,15}}n)(?=[A-Za-z]{{0,15}}b)[A-Za-z]{{1,16}}[ \t]+(?:[^\s]+[ \t]+){{2}}{_QUOTE}{_NEXT}",
        ),
        ("htpasswd", rf"-(?=[A-Za-z]{{0,15}}n)(?=[A-Za-z]{{0,15}}b)[A-Za-z]{{1,16}}[ \t]+[^\s]+[ \t]+{_QUOTE}{_NEXT}"),
        ("rabbitmqctl", rf"(?:add_user|change_password|authenticate_user)[ \t]+[^\s]+[ \t]+{_QUOTE}{_NEXT}"),
    )
)
_CLIENTS = re.compile(r"mysql|mariadb|sshpass|redis-|valkey-|keydb-|login|mongo|ldap|zip|7z|smbclient|curl|wget"
                      r"|htpasswd|rabbitmqctl")  # fmt: skip
# What a shell reads when it runs the line: $VAR, ${VAR}, $(command), $1, `command`, and printf's %s (a container's
# command writes $ as $$, which Kubernetes turns back into $).
_SHELL_VALUE = re.compile(r"\$\$?[A-Za-z_{(0-9@*#?]|`|%(?:\([\w.-]+\))?[sd]")


def client_passwords(text: str, spanning: bool = False, shell: bool = True) -> Iterator[tuple[int, int]]:
    """Where a command line in the text gives a client its password (see _CLIENT_LINES): each literal one (only
    those on a command continued over lines, if `spanning`). `shell`: a shell reads the line, and expands $VAR
    and $(command); an argument list run without one (a container's exec form) passes them on as they are."""
    if not _CLIENTS.search(text) or (spanning and "\\\n" not in text and "\\\r\n" not in text):
        return  # the patterns open with a look-behind: most texts never run them
    for pattern in _CLIENT_LINES:
        for m in pattern.finditer(text):
            value = m.group("value")
            if spanning and "\n" not in m.group():
                continue
            if literal(value) and not (shell and _SHELL_VALUE.match(value)):  # $X is a shell's to expand
                yield m.start("value"), m.end("value")


_TRAILING_COMMENT = re.compile(r"[ \t]+#[^\n]*$")


def _next_line_values(text: str) -> Iterator[tuple[str, str, int, int]]:
    """Each key that ends its line with its value on the next line that is not blank, indented deeper: the key,
    the value, and where the value is. Only lines that end with `:`, `=`, `|` or `>` are looked at."""
    if "\n" not in text:
        return
    lines = text.split("\n")
    at = 0
    for i, line in enumerate(lines):
        at += len(line) + 1
        line = _TRAILING_COMMENT.sub("", line)  # `password: # rotated` ends with its colon
        if not line.rstrip().endswith((":", "=", "|", ">", "|-", ">-", "|+", ">+")):
            continue
        key = _KEY_ENDS_LINE.fullmatch(line)
        j, offset = i + 1, at
        while key and j < len(lines) and j <= i + 4 and (not lines[j].strip() or lines[j].lstrip().startswith("#")):
            offset += len(lines[j]) + 1
            j += 1
        if key is None or j >= len(lines):
            continue
        m = _VALUE_STARTS_LINE.match(lines[j])
        listed = lines[j].lstrip().startswith("- ")  # a list under the key (scopes, names of secrets): no value
        if (
            m
            and len(m.group("indent")) > len(key.group("indent"))
            and not m.group("after").endswith(":")
            and not listed
        ):
            yield key.group("key"), m.group("value"), offset + m.start("value"), offset + m.end("value")


def _value_is_key(key: str, value: str) -> bool:
    """`Authorization: Bearer $(TOKEN)`, `password: ${resources.db.password}`: what follows is a reference. And
    a label, which is the key's own name in words: `password: Password`, `apiKey: "API key"` (a form's or a
    translation's text)."""
    parts = value.strip("\"'").split()
    bearer = len(parts) == 2 and parts[0].lower() in ("bearer", "basic", "token") and not literal(parts[1])
    return bearer or label(key, value)


def label(key: str, value: Any) -> bool:
    """The value is its key's name written as words (`password: Password`, `confirm_password: Confirm
    password:`), or the key's last words (`login.form.password: Password`): a label, not the credential."""
    text = value.strip("\"' ") if isinstance(value, str) and not key.isupper() else ""  # DB_PASSWORD: a variable
    if not text or len(text) > 64 or not (text[0].isupper() or " " in text or text.endswith(":")):
        return False  # `password: password` is written as a person types a password, not as a label
    said = _words(text.strip(" :.!?*"))
    words = _words(key)
    named = tuple(w for w in words if credential_key(w)) or tuple(words[-1:])
    if " " in text and text[0].isupper() and len(said) <= 8 and any(w.startswith(named) for w in said):
        return all(w.isalnum() for w in said)  # a sentence about it: `forgot_password: Forgot your password?`
    return bool(said) and said == words[-len(said) :] and said[-1] == words[-1]


# Digests in their standard notations: Subresource Integrity and CSP hashes (sha256-<base64>), go.sum's h1:.
_INTEGRITY = re.compile(r"sha256-[A-Za-z0-9+/]{43}=|sha384-[A-Za-z0-9+/]{64}|sha512-[A-Za-z0-9+/]{86}==")
_GO_SUM = re.compile(r"[A-Za-z0-9+/]{43}=")


def _tokens(text: str, depth: int) -> Iterator[Finding]:
    for m in TOKEN.finditer(text):
        token = m.group()
        go_sum = text[max(0, m.start() - 3) : m.start()] == "h1:" and _GO_SUM.fullmatch(token)
        if go_sum or _INTEGRITY.fullmatch(token):
            continue
        judged = _token(token, depth) if len(token) <= 128 else _token.__wrapped__(token, depth)
        if judged:
            yield Finding(judged[0], m.start(), m.end(), judged[1])


# A word (a vendor's prefix: dop_v1_, shpat_, key-, dapi) glued to a hex body of 32 or more: the body is judged as
# a bare hex run would be, and a digest's length (64, 128) does not excuse it unless the word names a digest. A
# git id (40) never counts: branch-and-commit names (main-<sha>) are everywhere in image tags.
# The word: letters and digits in parts joined by _ or -, a letter first, and perhaps a _ or - before the body.
_HEX_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)*[_-]?")
_HEX_LOWER, _HEX_UPPER = frozenset("0123456789abcdef"), frozenset("0123456789ABCDEF")
_HEX_RUN = re.compile(r"[0-9a-fA-F]+")
_DIGEST_WORDS = frozenset(
    ["md5", "sha", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3", "blake2b", "blake2s", "blake3", "xxh3",
     "xxh64", "crc32", "h1", "hash", "digest", "checksum", "sum", "md5sum", "sha1sum", "sha256sum", "etag", "commit",
     "rev", "revision", "git", "tree", "blob", "oid"]
)  # fmt: skip


def _prefixed_hex(token: str) -> bool:
    token = token.strip("=.-_")
    if _HEX_RUN.fullmatch(token):
        return False  # bare hex: judged as such
    split = _hex_body(token)
    if split is None or len(token) - split == 40:
        return False
    word, body = token[:split].lower(), token[split:]
    if re.split(r"[_-]", word.rstrip("_-"))[-1] in _DIGEST_WORDS:
        return False
    return any(c.isdigit() for c in body) and not body.isdigit() and entropy(body) > 3.3


def _hex_body(token: str) -> int | None:
    """Where the hex body of a word glued to one begins: the longest run of hex digits of one case (32 or more)
    that ends the token and leaves a word before it; None if there is none. Found from the end, in one pass."""
    best = None
    for digits in (_HEX_LOWER, _HEX_UPPER):
        start = len(token)
        while start > 0 and token[start - 1] in digits:
            start -= 1
        for at in (start, start + 1):  # the whole run, or all but its first digit (a word may end with a letter)
            if len(token) - at >= 32 and at > 0 and _HEX_WORD.fullmatch(token, 0, at):
                best = at if best is None else min(best, at)
                break
    return best


@lru_cache(maxsize=16384)
def _token(token: str, depth: int) -> tuple[str, int] | None:
    """What one token is (an encoded credential, a random-looking string) and its rank, or None. Judged once
    per process (short ones): names, labels and image references repeat in every file of every app."""
    raw = _token_bytes(token)
    if raw is not None and _archive(raw):
        text = _unpacked(raw)
        if text is None:
            return "an archive plato cannot read within 1 MB (it may hold a credential)", 3
        inner = first(text, depth=depth + 1) if depth < 2 and text else None
        return (f"{inner.what} (inside an encoded archive)", inner.rank) if inner else None
    decoded = _decoded(raw) if raw is not None else None
    if decoded is not None:
        inner = first(decoded, depth=depth + 1) if depth < 2 else None
        return (f"{inner.what} (base64 or hex encoded)", inner.rank) if inner else None
    if len(token) > 256 and _public_binary(token):
        return None
    if any(random_token(part) for part in re.split(r"[.]{2,}|(?<=[a-z])\.(?=[a-z])", token)):
        return "a high-entropy string", 3
    if _prefixed_hex(token):
        return "a token (a word and a random hex string)", 3
    return None


def _public_binary(token: str) -> bool:
    """A long base64 token that encodes what is public by design: a certificate, a CSR or CRL, or a public key in
    DER (an ASN.1 SEQUENCE whose first element is another SEQUENCE; a private key's is its version, an INTEGER),
    or an OpenPGP public key. Any other binary (a keystore, a secret key ring) is as random as it looks; archives
    are judged by the text files inside them (_unpacked)."""
    raw = _block_bytes(token[:1024] + "=" * (-len(token[:1024]) % 4)) if _BASE64.fullmatch(token[:1024]) else b""
    if len(raw) < 8:
        return False
    if raw[0] == 0x30:
        head = 2 if raw[1] < 0x80 else 2 + (raw[1] & 0x7F)
        return raw[head : head + 1] == b"\x30"
    return raw[0] in (0x98, 0x99, 0x9A, 0xC6)  # an OpenPGP public-key packet (old and new formats)


_ARCHIVE_MAX = 1 << 20  # what of an archive is read to judge it: one that holds more is refused, unread
# Compression methods a zip reader knows (stored, deflate, deflate64, bzip2, lzma, zstd, xz, ppmd).
_ZIP_METHODS = frozenset({0, 8, 9, 12, 14, 93, 95, 98})


def _archive(raw: bytes) -> bool:
    """Bytes that an archive reader opens: a gzip header (deflate, the one method gzip defines, and no reserved
    flag), a zip entry with a method its readers know, a tar (`ustar` at byte 257). Two or four magic bytes are
    not enough: one sha256 digest in 65,536 begins with gzip's `1f8b`, and no reader opens it."""
    if raw.startswith(b"\x1f\x8b"):
        return len(raw) > 3 and raw[2] == 8 and not raw[3] & 0xE0
    if raw.startswith(b"PK\x03\x04"):
        return len(raw) >= 30 and int.from_bytes(raw[8:10], "little") in _ZIP_METHODS
    return raw[257:262] == b"ustar"


def _unpacked(raw: bytes) -> str | None:
    """The text files of an archive (a .tar.gz's or a zip's members, the one file of a .gz, a tar's members),
    joined; binary members (a jar's classes) are left out. None if it cannot be read within _ARCHIVE_MAX bytes
    in all (a bomb, a corrupt or nested stream is read no further)."""
    try:
        members = _members(raw)
    except Exception:  # hostile bytes: any failure of the readers means it cannot be read
        return None
    if members is None:
        return None
    texts = []
    for data in members:
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return "\n".join(texts)


def _members(raw: bytes) -> list[bytes] | None:
    import gzip
    import io
    import tarfile
    import zipfile

    if raw.startswith(b"PK\x03\x04"):
        out, left = [], _ARCHIVE_MAX
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            for info in archive.infolist():
                with archive.open(info) as f:
                    data = f.read(left + 1)
                left -= len(data)
                if left < 0:
                    return None
                out.append(data)
        return out
    if raw.startswith(b"\x1f\x8b"):
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            raw = f.read(_ARCHIVE_MAX + 1)
        if len(raw) > _ARCHIVE_MAX:
            return None
        if raw[257:262] != b"ustar":
            return [raw]  # a .gz of one file
    out, left = [], _ARCHIVE_MAX
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:  # no compression detected inside: no nesting
        for member in tar:
            handle = tar.extractfile(member) if member.isfile() else None
            data = handle.read(left + 1) if handle else b""
            left -= len(data)
            if left < 0:
                return None
            out.append(data)
    return out


def _token_bytes(token: str) -> bytes | None:
    """What a base64 or hex token encodes (8 bytes or more), or None."""
    raw: bytes | None = None
    if _HEX.fullmatch(token):  # a git id or a digest decodes to bytes that are not text
        raw = bytes.fromhex(token)
    elif _BASE64.fullmatch(token) and len(token.rstrip("=")) % 4 != 1:
        try:
            raw = base64.b64decode(
                token + "=" * (-len(token) % 4), altchars=b"-_" if "-" in token or "_" in token else None
            )
        except (binascii.Error, ValueError):
            raw = None
    return raw if raw is not None and len(raw) >= 8 else None


def _decoded(raw: bytes) -> str | None:
    """The text a base64 or hex token encodes, when it encodes text (a credential written encoded)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\n\t\r" for ch in text)
    return text if printable >= 0.95 * len(text) else None


# Spaces on either side are taken by one group each (a quote or a + between them): a line of spaces is no search.
_FRAGMENT_LINE = re.compile(r"[ \t]*(?:[\"'+][ \t]*)?(?P<frag>[A-Za-z0-9+/=_-]{4,})[\"']?[ \t]*(?:[+\\][ \t]*)?")


def _split_runs(text: str) -> Iterator[tuple[int, str]]:
    """Tokens cut over several lines (wrapped base64, a token folded by hand, HCL string concatenation): runs of
    consecutive lines that each hold one token-like fragment and nothing else, joined. Each line is matched on its
    own (a pattern anchored at every line start tries every position of the text: several times slower)."""
    run: list[tuple[int, str]] = []  # (offset of the fragment, fragment) of the lines of the current run
    at, last = 0, -2
    for number, line in enumerate(text.split("\n")):
        m = _FRAGMENT_LINE.fullmatch(line)
        if m:
            if number != last + 1:
                yield from _joined(run)
                run = []
            run.append((at + m.start("frag"), m.group("frag")))
            last = number
        at += len(line) + 1
    yield from _joined(run)


_LINE_MAX = 256  # lines up to this long are judged once per process (most lines of a fleet's files repeat)


def _clean_by_lines(text: str, lang: Lang, assignments: bool, depth: int) -> bool:
    """True only where the whole scan finds nothing, judged line by line with each line judged once per process:
    URLs, tokens, known shapes and `key: value` assignments never span a line, so each line alone finds what the
    whole text finds there. False sends the text to the whole scan, which then says what and where: a text with
    PEM armour (public blocks are blanked out first, private keys extend over lines) or a Terraform heredoc, a line
    with a finding, a Secret with data, a token split over lines. A fleet's files differ from app to app in a few
    lines: the rest is judged once for all of them."""
    if "-----BEGIN" in text or (lang == "terraform" and "<<" in text) or (assignments and _spans_lines(text, lang)):
        return False
    run: list[str] = []  # the fragments of consecutive token-like lines: a token split over them is joined
    for line in [*text.split("\n"), ""]:  # a last empty line ends the last run
        key = (line, lang, assignments, depth)
        verdict = _line_verdict(*key) if len(line) <= _LINE_MAX else _line_verdict.__wrapped__(*key)
        if verdict is None:
            return False
        if verdict:
            run.append(verdict)
        elif run:
            if len(run) > 1 and first("".join(run), lang, depth=2):
                return False
            run = []
    if _binary(text):
        return False  # an image or font (the whole scan judges the text inside it), or a key
    return not _embedded_secrets(text)


@lru_cache(maxsize=16384)  # a fleet's lines in common are a few thousand; the rest name one app and churn
def _line_verdict(line: str, lang: Lang, assignments: bool, depth: int) -> str | None:
    """None if the line holds something; else its token-like fragment if it is one (see _split_runs), or ''."""
    said = _assignments(line, lang) if assignments else ()
    found = (_urls(line), said, _tokens(line, depth), _shapes(line), _defaults(line, 0))
    if any(itertools.chain(*found)):
        return None
    m = _FRAGMENT_LINE.fullmatch(line)
    return m.group("frag") if m else ""


def _joined(run: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    if len(run) > 1:
        yield run[0][0], "".join(frag for _, frag in run)


# Characters that print as nothing: Unicode's Default_Ignorable_Code_Point, whole (DerivedCoreProperties.txt):
# the soft hyphen, the combining grapheme joiner, Hangul fillers, Khmer and Mongolian invisible vowels and
# selectors, zero-width spaces and joiners, bidirectional controls, the word joiner and invisible operators,
# variation selectors, the BOM, tag characters. One inside a token hides it from every shape and from its entropy,
# and what it hides is still the credential to whoever reads the file. The scan reads the text without them.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


# Unicode's other spaces (Zs: no-break, the em and en spaces, the ideographic space, ...), and the ASCII controls
# that C's isspace() and str.split() take for blanks (VT, FF, the file, group, record and unit separators): to a
# reader that splits words on whitespace (redis.conf, a shell, a tokenizer), each separates `password` from `=` and
# from its value as an ASCII space does; the patterns spell only ' ' and tab.
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\x0b\x0c\x1c-\x1f]")
# The line breaks of Unicode-aware readers (YAML reads NEL, LS and PS as breaks; most readers a lone CR): each is
# read as "\n", so that a line's patterns end where its reader ends the line. A CR before "\n" is read as a space
# (a CRLF file's lines end where an LF file's do, its .pgpass and userlist lines included).
_BREAKS = re.compile("[\x85\u2028\u2029\r]")
_ASCII_BLANKS = re.compile("[\r\x0b\x0c\x1c-\x1f]")  # what of the two above an ASCII text can hold


def _normalized(text: str) -> str:
    """The text with every space a space and every line break "\n", one character for one (spans stay put)."""
    if text.isascii() and not _ASCII_BLANKS.search(text):
        return text  # the common case, decided in one pass
    if "\r" in text:
        text = text.replace("\r\n", " \n")
    if _BREAKS.search(text):
        text = _BREAKS.sub("\n", text)
    return _SPACES.sub(" ", text) if _SPACES.search(text) else text


def scan(text: str, lang: Lang = "text", *, assignments: bool = True, depth: int = 0) -> list[Finding]:
    """Every credential found in the text, in order. Without `assignments`, `key: value` lines are not judged by
    their key (YAML that the structured guard has read object by object, knowing which keys are references)."""
    if len(text) < 6:  # nothing that short is a credential plato could tell from a name
        return []
    text = _normalized(text)  # one character for one: every finding's span stays where it was
    if not text.isascii() and _INVISIBLE.search(text):
        return _scan_visible(text, lang, assignments, depth)
    if len(text) <= 512:  # names, labels and values repeat across a manifest: each is judged once
        return list(_scan_short(text, lang, assignments, depth))
    if _clean_by_lines(text, lang, assignments, depth):
        return []
    return _scan(text, lang, assignments, depth)


def _scan_visible(text: str, lang: Lang, assignments: bool, depth: int) -> list[Finding]:
    """scan() of the text with its invisible characters left out, each finding placed back in the text itself
    (its span covers the invisible characters inside it)."""
    kept: list[int] = []  # the index in `text` of each character of `visible`
    at = 0
    for m in _INVISIBLE.finditer(text):
        kept.extend(range(at, m.start()))
        at = m.end()
    kept.extend(range(at, len(text)))
    visible = _INVISIBLE.sub("", text)
    out = []
    for f in scan(visible, lang, assignments=assignments, depth=depth):
        start = kept[f.start] if f.start < len(kept) else len(text)
        end = kept[f.end - 1] + 1 if 0 < f.end <= len(kept) else start
        out.append(Finding(f.what, start, end, f.rank))
    return out


@lru_cache(maxsize=8192)
def _scan_short(text: str, lang: Lang, assignments: bool, depth: int) -> tuple[Finding, ...]:
    return tuple(_scan(text, lang, assignments, depth))


def _scan(text: str, lang: Lang, assignments: bool, depth: int) -> list[Finding]:
    text = _PUBLIC_BLOCK.sub(lambda m: " " * len(m.group()), text)  # keep offsets: certificates are public
    text, media, keys = _binary_blocks(text)
    found = [*_urls(text), *(_assignments(text, lang) if assignments else ()), *_tokens(text, depth), *_shapes(text)]
    found += _defaults(text, 0)  # parsed files' templates too
    found += keys
    for start, run in media:
        inner = first(run, depth=min(depth + 1, 2))
        if inner:
            what = f"{inner.what} (inside a base64-encoded image, font or certificate)"
            found.append(Finding(what, start, start + 1, inner.rank))
    found += _embedded_secrets(text) + _private_keys(text)
    if "\n" in text.strip():
        for start, token in _split_runs(text):
            inner = first(token, lang, depth=2)
            if inner:
                found.append(Finding(f"{inner.what} (split over lines)", start, _run_end(text, start), inner.rank))
    if not found and len(text) <= 256 and 1 < len(text.split()) <= 3:  # a token folded at spaces (YAML plain)
        found += [
            Finding(f"{f.what} (split at spaces)", 0, len(text), f.rank) for f in _shapes(re.sub(r"\s+", "", text))
        ]
    return sorted(found, key=lambda f: (f.start, -f.end))


def _run_end(text: str, start: int) -> int:
    """Where the run of token lines that begins at `start` ends (what masking hides)."""
    m = re.compile(r"(?:[A-Za-z0-9+/=_\-\"'\\ \t]*\n)*[A-Za-z0-9+/=_\-\"' \t]*").match(text, start)
    return m.end() if m else len(text)


def first(text: str, lang: Lang = "text", *, assignments: bool = True, depth: int = 0) -> Finding | None:
    """The finding to name in a message: the most specific kind, then the earliest."""
    if len(text) <= 512:  # names, labels and values repeat across a manifest: each is judged once
        return _first_short(text, lang, assignments, depth)
    return _first(scan(text, lang, assignments=assignments, depth=depth))


@lru_cache(maxsize=16384)
def _first_short(text: str, lang: Lang, assignments: bool, depth: int) -> Finding | None:
    return _first(scan(text, lang, assignments=assignments, depth=depth))


def _first(found: list[Finding]) -> Finding | None:
    return min(found, key=lambda f: (f.rank, f.start)) if found else None


def mask(text: str) -> str:
    """The text with every credential found in it replaced by ***."""
    found = scan(text)
    if not found:
        return text
    out, at = [], 0
    for f in found:
        if f.end <= at:
            continue
        out.append(text[at : max(at, f.start)] + "***")
        at = max(f.end, f.start + 1) if f.end > f.start else f.start
    return "".join(out) + text[at:]


def high_entropy(value: str) -> bool:
    """Some token in the value is random-looking."""
    return any(random_token(token) for token in TOKEN.findall(value))


def looks_like_credential(value: str) -> str | None:
    """What the value looks like (`a password in a URL`, `a GitHub Token`...) if it looks like a credential."""
    found = first(value, assignments=False)
    return found.what if found else None
