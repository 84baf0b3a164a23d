"""The one detector (generator/credentials.py) alone: what it finds, what it lets pass, what masking hides.

The end-to-end corpus (tests/reliability/secret_corpus.yaml) holds it to whole publishes; this table pins the
judgements themselves, including the allowlist that keeps real output clean.
"""

from __future__ import annotations

import base64
import io
import json
import random
import string
import unicodedata
from pathlib import Path

import pytest

from generator import credentials
from generator.credentials import credential_key, first, mask, scan
from generator.errors import MaskedStream, mask_secrets

GHP = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
AWS_ID = "AKIA" + "IOSFODNN7REALKEY"
AWS_SECRET = "q9Zt3Lx8VbN2mK7pR4sW1" + "yH6jF0dG5cA+E/uTiOo"

FOUND = {
    "url password": ("postgres://app:hunter2pass@db/app", "a password in a URL"),
    "url empty user": ("redis://:hunter2pass@cache:6379", "a password in a URL"),
    "url slash": ("redis://u:pa/ss@cache", "a password in a URL"),
    "url no scheme": ("robot:hunter2pass@registry.example.com/web:1", "a password in a URL"),
    "github token": (f"token {GHP}", "GitHub Token"),
    "aws key id": (AWS_ID, "AWS Access Key"),
    "aws secret": (AWS_SECRET, "a high-entropy string"),
    "env literal": ("DB_PASSWORD=correcthorse", "a literal value for 'DB_PASSWORD'"),
    "yaml literal": ("auth:\n  password: correcthorse\n", "a literal value for 'password'"),
    "terraform literal": ('password = "correcthorse"', "a literal value for 'password'"),
    "header": ("Authorization: Bearer correcthorse", "a literal value for 'Authorization'"),
    "flag": ("--api-key correcthorse", "a literal value for '--api-key'"),
    "base64 of a url": (base64.b64encode(b"postgres://u:hunter2pass@h/db").decode(), "(base64 or hex encoded)"),
    "hex of a key id": (AWS_ID.encode().hex(), "(base64 or hex encoded)"),
    "split over lines": (f"{AWS_ID[:8]}\n{AWS_ID[8:]}\n", "(split over lines)"),
    "split at a space": (f"{AWS_ID[:9]} {AWS_ID[9:]}", "(split at spaces)"),
    "embedded secret": ("kind: secret\nmetadata: {name: x}\nstringData:\n  a: b\n", "a Secret with data"),
    # Passwords that begin like a path, a structure or hold a '$' or '<': judged as values, not references
    "dollar inside": ("DB_PASSWORD: Tr0ub4dor$Qv7xY9pLm42", "a literal value for 'DB_PASSWORD'"),
    "brace first": ('DB_PASSWORD: "{Qv7xY9#x!"', "a literal value for 'DB_PASSWORD'"),
    "slash first": ('DB_PASSWORD: "/Qv7xY9#x!"', "a literal value for 'DB_PASSWORD'"),
    "angle inside": ("ADMIN_PASSWORD: x<Qv7xY9>y", "a literal value for 'ADMIN_PASSWORD'"),
    # Keys that name a credential in other words
    "pw": ("DB_PW: BlueHarbor2024", "a literal value for 'DB_PW'"),
    "auth": ("REDIS_AUTH: BlueHarbor2024", "a literal value for 'REDIS_AUTH'"),
    "pass word": ("SMTP_PASS_WORD: BlueHarbor2024", "a literal value for 'SMTP_PASS_WORD'"),
    "app key in hex": ("DD_APP_KEY: " + "9f" * 20, "a literal value for 'DD_APP_KEY'"),
    "license key in hex": ("NEW_RELIC_LICENSE_KEY: " + "0a" * 20, "a literal value"),
    "rails key base": ("SECRET_KEY_BASE: " + "c4" * 64, "a literal value for 'SECRET_KEY_BASE'"),
    "go mysql dsn": ("MYSQL_DSN: app:hunter2pass@tcp(db:3306)/shop", "a literal value for 'MYSQL_DSN'"),
    "url dsn with a password": ("DATABASE_DSN: postgres://app:hunter2pass@db/app", "a password in a URL"),
    "token in a dsn's query": ("SENTRY_DSN: https://sentry.example.com/1?token=Qv7xLm2pZw9", "'token'"),
    "legacy sentry dsn": ("https://3f9a1c7e5b2d8f4a:" + "9f" * 16 + "@sentry.io/42", "a password in a URL"),
    "token as a dsn's user, not a dsn": ("https://" + "9f" * 16 + "@gitea.example.com/acme/shop.git", "a token"),
    "token as url user": ("https://" + "9f" * 20 + "@gitea.example.com/acme/shop.git", "a token in a URL"),
    # Config files that spell an assignment their own way
    "xml element": ("<server><username>deploy</username><password>BlueHarbor2024</password></server>", "'password'"),
    "netrc": ("machine git.example.com login deploy password BlueHarbor2024\n", "a literal value for 'password'"),
    "npmrc": ("//registry.npmjs.org/:_authToken=123e4567-e89b-12d3-a456-426614174000\n", "'_authToken'"),
    "query string": ("jdbc:postgresql://db/app?user=u&password=correcthorse", "a literal value for 'password'"),
    "docker auth": ('{"auths": {"ghcr.io": {"auth": "Ym9iOnB3"}}}', "a literal value for 'auth'"),
    # Clients given a password on their command line
    "mysql glued": ("mysql -h db -uroot -pcorrecthorse shop", "a password on a command line"),
    "mysqldump quoted": ("/usr/bin/mysqldump -u app -p'correcthorse' shop > x.sql", "a password on a command line"),
    "sshpass": ("sshpass -p correcthorse ssh deploy@host", "a password on a command line"),
    "redis-cli": ("redis-cli -h cache -a correcthorse ping", "a password on a command line"),
    "pgpass": ("db.internal:5432:shop:app:correcthorse\n*:*:*:replica:hunter2pass\n", "a .pgpass line"),
    # Credential stores whose line syntax says what a password is
    "password scheme": ("admin:{PLAIN}BlueHarbor2024x\n", "a credential store's line"),
    "slapd rootpw": ("rootdn cn=admin\nrootpw {SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", "credential store"),
    "dovecot passdb": ("bob:{SHA512-CRYPT}$6$rounds=5000$x$y:1000:1000::/home/bob\n", "a credential store's line"),
    "redis acl file": ("user default off\nuser app on >BlueHarbor2024x ~app:* +@read\n", "credential store"),
    "acl setuser": ("redis-cli ACL SETUSER alice on >hunter2pass ~cached:* +get", "a credential store's line"),
    "pgbouncer userlist": ('"app" "BlueHarbor2024x"\n"admin" "md5a3556571e93b0d20722ba62be61e8c2d"\n', "userlist"),
    # schemes by their name's family, a value that ends at its field, rules however many and however quoted
    "a salted sha-384": ("rootpw {SSHA384}W6ph5Mm5Pz8GgiULbPgzG37mj9gQ\n", "credential store"),
    "a truncated plain": ("bob:{PLAIN-TRUNC}10-BlueHarbor2024x:1000:1000\n", "credential store"),
    "des-crypt": ("bob:{DES-CRYPT}hunter2pass\n", "credential store"),
    "sha3 and its encoding": ("dn: uid=b\nx {SHA3-512.HEX}9f86d081884c7d659a2feaa0c55ad015\n", "credential store"),
    "an acl rule on a continued line": ("redis-cli ACL SETUSER alice on \\\n  '>hunter2pass' '~cache:*'\n", "store"),
    "a made-up value in angle brackets": ('password = "<Kq7vRt2mXp>"\n', "a literal value for 'password'"),
    "scrypt": ("alice:{SCRYPT}Kq7vRt2mXpAbCdEf:1000:1000::/home/alice\n", "credential store"),
    "cleartext": ("bob:{CLEARTEXT}BlueHarbor2024x\n", "credential store"),
    "a value before its user's other fields": ("bob:{SHA256}q8Jx2Lm:$user:1000\n", "credential store"),
    "an argon2 hash": ("bob:{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\n", "credential store"),
    "a quoted acl rule": ('user app on ">hunter2pass" ~app:* +@read\n', "credential store"),
    "an acl rule after many": ("user app on " + "~k:* " * 40 + ">hunter2pass\n", "credential store"),
    "an acl password removed": ("user app on <hunter2pass ~app:*\n", "credential store"),
    "a userlist line with more fields": ('"app" "BlueHarbor2024x" ""\n"ro" "md5a3556571e93b0d20722b" x\n', "userlist"),
    "an acl password's hash": ("user app on #" + "9f" * 32 + " ~app:*\n", "credential store"),
}

CLEAN = {
    "digest": "nginx:1.27@sha256:" + "0f" * 32,
    "git id": "9fceb02d0ae598e95dc970b74767f19372d61af8",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "k8s reference": "redis://default:$(PLATO_SECRET_CACHE_PASSWORD)@$(HOST):6379/0",
    "placeholder url": "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/x",
    "terraform expression": ("password = random_password.db.result", "terraform"),
    "names of secrets": "secretName: app-db\nDB_PASSWORD_FILE: /run/secrets/db\nexistingSecret: db\n",
    "booleans and numbers": "automountServiceAccountToken: false\ntoken_ttl: 3600\n",
    "paths": "development/a1/README.md and terraform/production/shop/main.tf",
    "identifiers": "PLATO_SECRET_WEB_CACHE_OUTPUTS_PASSWORD someLongFeatureFlagNameWithV2Beta1",
    "certificate": "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0B\n-----END CERTIFICATE-----\n",
    "base64 of text": base64.b64encode(b"hello world, a plain message of the day").decode(),
    "version tag": "quay.io/minio/minio:RELEASE.2024-11-07T00-52-20Z",
    "eso data item": "- remoteRef:\n    key: plato/prod/db\n  secretKey: db_password\n",
    "shell reference": "DB_PASSWORD: $DB_PASSWORD\nAPI_TOKEN: ${API_TOKEN}\n",
    "path": "DB_PASSWORD: /run/secrets/db-password\n",
    "angle placeholder": "DB_PASSWORD: <your-password>\n",
    "auth switch": "REDIS_AUTH: enabled\nauth: true\n",
    "url user names": "https://git@github.com/acme/x.git https://x-access-token@github.com/acme/y",
    "xml reference": "<password>${DB_PASSWORD}</password>",
    "query without credentials": "https://host/path?page=2&sort=name&user=alice",
    "csp hash": "script-src 'sha256-B2yPHKaXnvFWtRChIbabYmUBFZdVfKKXHbWtWidDVF8='",
    "subresource integrity": 'integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"',
    "go.sum": "github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n",
    "template in a connection string": "Server=db;User Id={{ .username }};Password={{ .password }};",
    "mysql asks": "mysql -h db -uroot -p shop",
    "mysql reference": 'mysql -uroot -p$MYSQL_ROOT_PASSWORD; sshpass -p "$SSHPASS" ssh h; redis-cli -a ${REDIS_PW}',
    "colons that are no pgpass": "PATH=/usr/bin:/bin:/a:/b:/c\nfe80::1:2:3:4\ntime: 12:30:45\nurn:x:y:z:w:v\n",
    "pgpass reference": "db:5432:shop:app:${DB_PASSWORD}\n",
    "ports": "docker run -p 8080:80 nginx; mysql -P 3306 -h db; ssh -p 2222 host",
    "sentry dsn": "SENTRY_DSN=https://3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e@o123456.ingest.sentry.io/4504\n",
    "self-hosted sentry dsn": "dsn: https://3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e@sentry.acme.internal:9000/sentry/12\n",
    "addresses under credential names": "AUTH: https://auth.example.com/oauth/token\nDATABASE_DSN: postgres://app@db/app\n",
    "acl without a password": "user default on nopass ~* +@all\nuser app on >$APP_PASSWORD ~app:*\n",
    "userlist of references": '"app" "${DB_PASSWORD}"\n',
    "quoted words in a script": 'echo "a" "b"\nprintf "%s" "x"\nexit 0\n',
    "comparisons": "if a > b { c } else { d > e }\nuser_count > 10",
    "a template's braces": "{{ .Values.password }} {sha} {PLAIN}",
    "a placeholder to a resource with a dash": "REDIS_PASSWORD: ${resources.my-redis.password}\n",
    "braces that name no scheme": "title: {DESCRIPTION}Shop\nmsg: {NOTPRESENT}none {RPATH}lib\n",
    "angle brackets after a user": "the user name goes here: <name>\nuser alice on <$OLD_PW >${NEW_PW}\n",
    "ssh public key": "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_a_credential_is_found_and_masked(name: str) -> None:
    text, what = FOUND[name]
    found = first(text)
    assert found is not None, name
    assert what in found.what, found.what
    masked = mask(text)
    assert "***" in masked
    for secret in ("hunter2pass", "correcthorse", GHP, AWS_ID, AWS_SECRET, "pa/ss"):
        assert secret not in masked


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_a_known_non_secret_shape_is_let_through(name: str) -> None:
    case = CLEAN[name]
    text, lang = case if isinstance(case, tuple) else (case, "text")
    assert scan(text, lang) == [], [(f.what, text[f.start : f.end]) for f in scan(text, lang)]


@pytest.mark.parametrize(
    ("key", "names_a_credential"),
    [
        ("DB_PASSWORD", True),
        ("apiKey", True),
        ("x-auth-token", True),
        ("aws_secret_access_key", True),
        ("requirepass", True),
        ("passwords", True),
        ("ADMIN_PASSPHRASES", True),
        ("dbPasswords", True),
        ("max_tokens", False),
        ("password_rules", False),
        ("DB_PASSWORD_FILE", False),
        ("secretName", False),
        ("passwordSecretRef", False),
        ("tokenTTL", False),
        ("existingSecret", False),
    ],
)
def test_a_key_names_a_credential_by_its_last_word(key: str, names_a_credential: bool) -> None:
    assert credential_key(key) is names_a_credential


def test_printing_masks_every_write_and_never_offers_the_bytes_beneath() -> None:
    out = io.StringIO()
    stream = MaskedStream(out)

    stream.write(f"error: could not parse {GHP} near postgres://u:hunter2pass@db\n")

    assert GHP not in out.getvalue() and "hunter2pass" not in out.getvalue()
    assert "error: could not parse" in out.getvalue()
    with pytest.raises(AttributeError):
        stream.buffer  # noqa: B018 - writing bytes underneath would skip the mask
    assert mask_secrets("https://x-access-token:abc@h/x and redis://u:$(PW)@h") == (
        "https://***@h/x and redis://u:$(PW)@h"
    )


# -- the line-by-line verdict (credentials._clean_by_lines) ---------------------------------------------------------
#
# A long text is first judged line by line, each line once per process; only a text that may hold something goes to
# the whole scan. That is sound only if "clean by lines" never says clean where the whole scan finds something.
# Texts are built from the lines of every golden file (real output) with secrets of every family put in: one line,
# and the shapes that span lines (a token wrapped over lines, a Secret with data, a PEM key, a heredoc).

_ROOT = Path(__file__).resolve().parents[1]
_RANDOM = "Zx8Qp2Lm7Vt4Ks9Wd1Rf6Hy3Nb5Jc0Ga"


def _secret_pieces(rng: random.Random) -> list[str]:
    """One hostile piece of text (one or more lines) per family, varied by `rng`."""
    word = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(rng.randint(6, 12)))
    token = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(rng.randint(24, 40)))
    b64 = base64.b64encode(f"postgres://u:{word}@h/db".encode()).decode()
    return [
        *(text for text, _ in FOUND.values()),
        f"  - name: DB_PASSWORD\n    value: {word}",
        f"    url: redis://:{word}@cache.{word}.svc:6379/0",
        f"  image: robot:{word}@registry.example.com/app:1.0",
        f'  password = "{word}"',
        f"  args: [--api-key, {word}]",
        f"    token: {token}",
        f"    {GHP}",
        f"    aws: {AWS_ID} {AWS_SECRET}",
        f"  data: {b64}",
        f"  data: {b64[:20]}\n  {b64[20:]}",
        f"    {token[:12]}\n    {token[12:]}",
        f"kind: Secret\nmetadata:\n  name: {word}\ndata:\n  k: {b64}",
        f"  key: |\n    -----BEGIN RSA PRIVATE KEY-----\n    {token}\n    -----END RSA PRIVATE KEY-----",
        "  key: |\n    -----BEGIN ENCRYPTED PRIVATE KEY-----\n    -----END ENCRYPTED PRIVATE KEY-----",  # no plugin's
        f"  cert: |\n    -----BEGIN CERTIFICATE-----\n    {_RANDOM}\n    -----END CERTIFICATE-----",
        f"  content = <<EOT\npassword={word}\nEOT",
        f"- remoteRef:\n    key: plato/{word}\n  secretKey: db_password",
        f"  {word}: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.{token}",
    ]


def test_a_text_judged_clean_line_by_line_is_one_the_whole_scan_finds_clean() -> None:
    from generator import credentials

    lines = sorted(
        {line for path in (_ROOT / "golden").rglob("*") if path.is_file() for line in path.read_text().splitlines()}
    )
    rng = random.Random(13)
    judged = clean = fast = 0
    for _ in range(3000):
        parts = [rng.choice(lines) for _ in range(rng.randint(12, 60))]
        if rng.random() < 0.6:
            pieces = _secret_pieces(rng)
            for _ in range(rng.randint(1, 3)):
                parts.insert(rng.randrange(len(parts) + 1), rng.choice(pieces))
        text = "\n".join(parts) + rng.choice(["", "\n"])
        if len(text) <= 512:
            continue
        for lang, assignments in (("text", True), ("text", False), ("terraform", True)):
            judged += 1
            whole = credentials._scan(text, lang, assignments, 0)
            by_lines = credentials._clean_by_lines(text, lang, assignments, 0)
            assert not (by_lines and whole), (lang, assignments, [(f.what, text[f.start : f.end]) for f in whole])
            clean += not whole
            fast += by_lines
            assert scan(text, lang, assignments=assignments) == whole  # what a caller gets is the whole scan's
    # The shortcut is taken for most clean texts (else it would cost without serving): golden lines hold a few
    # that the whole scan blanks out (certificates) or lets through in context, which go the long way.
    assert judged > 5000 and clean > 1500 and fast >= 0.9 * clean, (judged, clean, fast)


# -- binary data in base64: images and fonts by the text inside them; keys in DER refused -----------------------


def _png(extra: bytes = b"", size: int = 16) -> bytes:
    """A real PNG of random pixels (random-looking once compressed, as any photo or icon is), with `extra` as a
    tEXt chunk."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + random.Random(size).randbytes(size * 3) for _ in range(size))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
    png += chunk(b"tEXt", b"Comment\x00" + extra) if extra else b""
    return png + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [16, 32, 64])
@pytest.mark.parametrize("wrapped", [False, True])
def test_an_image_in_base64_is_not_a_credential(size: int, wrapped: bool) -> None:
    """A favicon as a Score binaryContent was refused as an Azure Storage key (the shape any long base64 run ending
    in '==' has) or as a high-entropy string (each line of `base64` output alone)."""
    data = _png(size=size)
    text = base64.encodebytes(data).decode() if wrapped else base64.b64encode(data).decode()
    assert first(text) is None, first(text)
    assert first(f'{{"binaryContent": "{text.strip()}"}}') is None


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_credential_inside_a_base64_image_is_still_found(wrapped: bool) -> None:
    data = _png(extra=f"token={GHP}".encode())
    text = base64.encodebytes(data).decode() if wrapped else base64.b64encode(data).decode()
    found = first(text)
    assert found is not None and "GitHub Token" in found.what and "image" in found.what, found


def _openssl(*args: str, stdin: bytes = b"") -> bytes:
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed: it makes the keys")
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=True).stdout


KEYS = [("RSA", "rsa_keygen_bits:1024"), ("EC", "ec_paramgen_curve:P-256"), ("ED25519",)]


@pytest.mark.parametrize("algorithm", KEYS)
def test_a_private_key_in_base64_der_is_found_and_its_certificate_is_not(algorithm: tuple[str, ...]) -> None:
    """Without its PEM armour no shape saw a key: one line of base64 was too long to be judged by its entropy."""
    options = ["-pkeyopt", algorithm[1]] if len(algorithm) > 1 else []
    pem = _openssl("genpkey", "-algorithm", algorithm[0], *options)
    der = _openssl("pkey", "-outform", "DER", stdin=pem)
    for text in (base64.b64encode(der).decode(), base64.encodebytes(der).decode()):
        found = first(text)
        assert found is not None, text
    cert = _openssl("req", "-x509", "-key", "/dev/stdin", "-subj", "/CN=plato", "-days", "1", "-outform", "DER",
                    stdin=pem)  # fmt: skip
    assert first(base64.b64encode(cert).decode()) is None


def test_a_certificate_is_public_whatever_shape_turns_up_in_its_base64() -> None:
    """A certificate's base64 is random enough to hold a detector's shape now and then (CI met AKIA and 16 capitals
    inside one): a block that is a certificate is judged by the text inside it, not by its base64."""
    pem = _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024")
    cert = base64.b64encode(_openssl("req", "-x509", "-key", "/dev/stdin", "-subj", "/CN=plato", "-days", "1",
                                     "-outform", "DER", stdin=pem)).decode()  # fmt: skip
    shaped = cert[:400] + "AKIA" + "IOSFODNN7REALKEY" + cert[420:]  # the same length: still a certificate's block
    assert first(shaped) is None and first(f"ca.der: {shaped}\nkind: ConfigMap\n") is None
    inside = base64.b64encode(base64.b64decode(cert)[:300] + GHP.encode() + base64.b64decode(cert)[300:]).decode()
    found = first(inside)
    assert found is not None and "certificate" in found.what, found


@pytest.mark.parametrize(
    "text",
    [
        "a" * 250_000 + "@x",  # every letter was tried as the start of a URL scheme
        "kind: secret\n" * 15_000,  # every line searched its whole document for data
    ],
    ids=["long word", "many kind lines"],
)
def test_a_long_text_is_scanned_in_time_proportional_to_its_length(text: str) -> None:
    """Each took minutes (a variable under the 256 KiB string limit held a publish for 5 minutes). A bound on a
    pathological input, not a speed target: the old patterns took 30 s and more here."""
    import time

    start = time.process_time()
    assert first(text) is None
    assert time.process_time() - start < 5


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: v1\nkind: Secret   # dev only\nmetadata: {name: x}\ndata:\n  api: aGVsbG8=\n",
        '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {"api": "aGVsbG8="}}',
        "{kind: 'Secret', stringData: {api: hello}}",
    ],
    ids=["commented kind", "json", "flow"],
)
def test_a_secret_with_data_is_found_in_any_spelling(text: str) -> None:
    found = first(text)
    assert found is not None and found.what == "a Secret with data", found


@pytest.mark.parametrize("mark", ["---", "--- # next", "...", "...\n---"])
@pytest.mark.parametrize(
    "secret, config_map",
    [
        ("kind: Secret\nmetadata: {name: x}\n", "kind: ConfigMap\ndata:\n  api: hello\n"),
        ('{"kind": "Secret", "metadata": {}}\n', '{"kind": "ConfigMap", "data": {"api": "hello"}}\n'),
    ],
    ids=["yaml", "json"],
)
def test_a_secret_and_another_documents_data_are_two_objects(mark: str, secret: str, config_map: str) -> None:
    """A data-less Secret beside a ConfigMap's data in the next (or the last) document of a stream holds nothing;
    the same Secret with the data, in any document of the stream, is one."""
    for docs in ([secret, config_map], [config_map, secret]):
        assert first(f"{mark}\n".join(docs)) is None
    if secret.startswith("{"):
        with_data = secret.replace('"metadata"', '"stringData": {"api": "hello"}, "metadata"')
    else:
        with_data = secret + "stringData:\n  api: hello\n"
    for docs in ([config_map, with_data], [with_data, config_map], [config_map] * 3 + [with_data]):
        found = first(f"{mark}\n".join(docs))
        assert found is not None and found.what == "a Secret with data", docs


def test_a_secret_without_data_and_an_external_secret_are_not_one() -> None:
    assert first('{"kind": "Secret", "metadata": {"name": "x"}, "data": {}}') is None
    external = {"kind": "ExternalSecret", "spec": {"data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}}
    assert first(json.dumps(external)) is None
    assert first("kind: SecretStore\nspec: {provider: {vault: {server: 'https://vault'}}}\n") is None


@pytest.mark.parametrize(
    "whole, core, lead",
    [
        (credentials._KIND_SECRET, credentials._KIND_SECRET_CORE, -1),
        (credentials._JSON_SECRET, credentials._JSON_SECRET_CORE, 1),
        (credentials._JSON_DATA, credentials._JSON_DATA_CORE, 7),
    ],
)
def test_a_secret_manifest_is_found_from_its_kind_word_exactly_where_the_whole_pattern_is(whole, core, lead) -> None:
    """The Secret-in-text patterns are searched for from their `kind`/`data` word (fast), then matched whole: the
    same matches as the whole pattern's own search, on texts made of the pieces that decide them."""
    pieces = ["kind", "Kind", "KIND", "K", ": ", ":", '"', "'", "secret", "Secret", "ſecret", " ", "\n", "\t", "data",
              "Data", "stringData", "string", "{", "}", ",", "x", "-", "#c", "metadata", "é"]  # fmt: skip
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        expected = [(m.start(), m.end()) for m in whole.finditer(text)]
        assert [(m.start(), m.end()) for m in credentials._matches(text, whole, core, lead)] == expected, text


def test_a_base64_block_is_found_whatever_surrounds_it_and_only_from_forty_characters() -> None:
    block = base64.b64encode(bytes(range(60))).decode()
    for text in (block, f"é{block}é", f"x: {block[:40]}", f"{block[:39]}", "ü" * 50, "a+/" * 13 + "a"):
        expected = [m.group() for m in credentials._BASE64_BLOCK.finditer(text)]
        assert [m.group() for m in credentials._base64_blocks(text)] == expected, text


_RNG = random.Random(13)


def _hex(n: int) -> str:
    return "".join(_RNG.choice("0123456789abcdef") for _ in range(n))


# Vendors' tokens of this family (DigitalOcean, Shopify, Mailgun, Databricks, ...) and words of no vendor: the
# word says nothing, the hex after it is the secret.
GLUED_WORDS = ["dop_v1_", "shpat_", "shpss_", "key-", "dapi", "pat_", "tok-", "sk_", "acme_live_", "Xq"]


@pytest.mark.parametrize("word", GLUED_WORDS)
@pytest.mark.parametrize("length", [32, 48, 64, 128])
def test_a_word_glued_to_a_random_hex_string_is_a_token_under_any_name(word: str, length: int) -> None:
    token = word + _hex(length)
    for text in (f"NOTES: {token}\n", f"- {token}", f'{{"x": "{token}"}}'):
        found = first(text)
        assert found is not None and "token" in found.what, (text, found)
        assert token not in mask(text)


@pytest.mark.parametrize(
    "text",
    [
        "image: ghcr.io/acme/shop:main-" + _hex(40),  # a branch and its commit
        "release-" + _hex(40),
        "sha256-" + _hex(64),
        "checksum_" + _hex(64),
        "md5-" + _hex(32),
        "etag-" + _hex(32),
        "blake2b-" + _hex(128),
        "pod-template-hash: web-" + _hex(10),
        "name: config-" + "0" * 32,  # no letters: a counter, not random
        '"output": "sha256:de0d' + _hex(60) + '"',  # a digest that begins with letters is not a word and its hex
        "fade" + _hex(60),
    ],
)
def test_a_digest_or_a_commit_after_a_word_is_no_token(text: str) -> None:
    assert first(text) is None, first(text)


# One of each run of Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt), the last of a run too.
INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\U000e0020", "\u034f", "\u061c", "\u115f",
    "\u1160", "\u17b4", "\u180b", "\u180e", "\u202a", "\u202e", "\u206f", "\u3164", "\ufe00", "\ufe0f", "\uffa0",
    "\ufff0", "\U0001bca0", "\U0001d173", "\U000e0100", "\U000e0fff",
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(FOUND))
def test_an_invisible_character_inside_a_credential_hides_nothing(name: str) -> None:
    """A zero-width space in a token breaks every shape and halves its entropy, and hides nothing from whoever
    reads the file: the scan reads the text without such characters, and masks the whole span in the text."""
    text, what = FOUND[name]
    found = first(text)
    assert found is not None
    secret = text[found.start : found.end]
    for ch in INVISIBLE:
        at = found.start + max(1, (found.end - found.start) // 2)
        hidden = text[:at] + ch + text[at:]
        again = first(hidden)
        assert again is not None and what in again.what, (name, repr(ch), again)
        masked = mask(hidden)
        assert secret not in masked.replace(ch, ""), (name, repr(ch), masked)


def _blob(head: bytes, n: int = 600) -> str:
    import base64

    rng = random.Random(len(head) + n)
    return base64.b64encode(head + bytes(rng.randrange(256) for _ in range(n))).decode()


def _targz(name: str, data: bytes) -> str:
    import base64
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize(
    ("blob", "refused"),
    [
        (_blob(b"\xfe\xed\xfe\xed"), True),  # a Java keystore
        (_blob(b"\x95\x03\xc6"), True),  # an OpenPGP secret key
        (_blob(b""), True),  # openssl rand -base64 (one line)
        (_targz(".env", b"DB_PASSWORD=Blue" + b"Harbor2024x\n"), True),  # an archive of a file with a password
        (_targz("app.conf", b"listen 8080\nworkers 4\n" * 30), False),  # an archive of plain text
        (_blob(b"\x30\x82\x03\x00\x30\x82\x02\x00"), False),  # a certificate in DER
        (_blob(b"\x99\x01\x0d"), False),  # an OpenPGP public key
    ],
    ids=["keystore", "pgp-secret", "random", "targz-with-password", "targz-plain", "der-certificate", "pgp-public"],
)
def test_a_long_encoded_binary_is_judged_by_what_it_is(blob: str, refused: bool) -> None:
    # Over 256 characters a token used to be judged by nothing at all (a keystore went through), and an archive
    # by nothing inside it.
    assert (first(f'binaryContent: "{blob}"') is not None) is refused


def _gz(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def _tar(name: str, data: bytes, compression: str = "") -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


PASSWORD_LINE = b"DB_PASSWORD=Blue" + b"Harbor2024x\n"
KEY_FILE = (
    b"-----BEGIN OPENSSH PRIVATE"
    + b" KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    + b"-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.mark.parametrize(
    ("raw", "refused"),
    [
        (_tar("keys/id_ed25519", KEY_FILE), True),  # a plain tar: read too
        (_zip({".env": PASSWORD_LINE, "pad.txt": b"x" * 2000}), True),  # a zip
        (_zip({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "A.class": b"\xca\xfe" + bytes(500)}), False),
        (_gz(_tar("app.env", PASSWORD_LINE) + _tar("pad", bytes(1_200_000))), True),  # past 1 MB: not read, refused
        (_gz(_tar("big.txt", b"y" * 50_000_000, "xz")), False),  # an xz inside: not unpacked (a bomb), not random
        (_gz(_tar("c", b"z" * 100_000, "xz")[:-200] + bytes(64)), False),  # a corrupt stream inside: no crash
        (b"%PDF-1.5\n" + bytes(random.Random(1).randbytes(900)), False),  # a PDF: judged by the text inside
        (b"\x00asm\x01\x00\x00\x00" + bytes(random.Random(2).randbytes(900)), False),  # a WebAssembly module
    ],
    ids=["tar-with-key", "zip-with-password", "jar", "tar-gz-past-the-limit", "xz-bomb-inside-gzip", "corrupt-xz",
         "pdf", "wasm"],
)  # fmt: skip
def test_an_encoded_archive_is_read_within_bounds_and_judged_by_its_text(raw: bytes, refused: bool) -> None:
    import base64

    text = base64.b64encode(raw).decode()
    assert (first(f'binaryContent: "{text}"') is not None) is refused


def test_a_digest_that_begins_like_an_archive_is_a_digest() -> None:
    # One sha256 digest in 65,536 begins with gzip's magic bytes (a fleet of 5,000 apps met one in a record). An
    # archive is known by a header its readers open; a hex-encoded gzip of a password is still read and refused.
    import gzip
    import hashlib

    digests = (hashlib.sha256(str(i).encode()).hexdigest() for i in range(10**6))
    gzip_like = [d for d in digests if d.startswith("1f8b")][:3]
    zip_like = "504b0304" + "1400" + "0000" + "d204" + "ab" * 26  # an unknown compression method
    for digest in [*gzip_like, zip_like]:
        assert first(f'  "output": "sha256:{digest}",\n') is None, digest
        assert first(f"image: ghcr.io/acme/shop@sha256:{digest}") is None, digest
    found = first(f"blob: {gzip.compress(PASSWORD_LINE, mtime=0).hex()}")
    assert found is not None and "inside an encoded archive" in found.what, found


PW10 = "Blue" + "Harbor2024x"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"ldapsearch -x -w{PW10}", True),  # a short flag with its value glued to it
        (f"zip -P{PW10} a.zip f", True),
        (f"curl -u{'bob'}:{PW10} https://api.internal", True),
        (f"curl -su bob:{PW10} https://api.internal", True),  # short flags combined, -u last
        (f"smbclient //h/s -Ubob%{PW10}", True),
        (f"smbclient //h/s --user=bob%{PW10}", True),
        (f"docker login -p={PW10} ghcr.io", True),
        (f"htpasswd -nb bob {PW10}", True),  # -n: no file, one positional before the password
        (f"machine api.internal password {PW10} login bot", True),  # .netrc with the password first
        (f"machine api.internal\n  password {PW10}\n", True),  # and with no login, over lines
        ("x: 1\n" * 30 + f"machine api.internal\n  password {PW10}\n", True),  # in a text judged line by line
        (f"password\uff1a{PW10}", True),  # a full-width colon
        ("curl -u bob https://api.internal", False),  # curl asks for the password
        ("curl -sSL -o /tmp/x https://api.internal", False),
        ("htpasswd -nB bob", False),
        ("ldapsearch -W -x", False),  # -W: ask
        ("zip -r a.zip dir", False),
        ("machine api.internal login bot", False),
    ],
)
def test_glued_short_flags_and_netrc_orders_are_read(text: str, found: bool) -> None:
    assert (first(text) is not None) is found, first(text)


# Every Unicode space (category Zs) a writer may put where an ASCII one stands.
UNICODE_SPACES = [c for c in map(chr, range(0x3001)) if unicodedata.category(c) == "Zs" and c != " "]
# Every other character str.split() splits on that is no line break of Unicode-aware readers: VT, FF, FS..US
BLANK_CONTROLS = [c for c in map(chr, range(0x80)) if c.isspace() and c not in " \t\n\r"]
LINE_BREAKS = ["\r", "\r\n", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("space", UNICODE_SPACES + BLANK_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize(
    "template",
    [
        "password{s}={s}BlueHarbor2024x",
        "DB_PASSWORD:{s}BlueHarbor2024x",
        "--password{s}BlueHarbor2024x",
        "mysql -uroot{s}-pBlueHarbor2024x",
    ],
)
def test_a_unicode_space_separates_as_an_ascii_one_does(space: str, template: str) -> None:
    text = template.format(s=space)
    assert first(template.format(s=" ")) is not None  # the ASCII form is found
    found = first(text)
    assert found is not None, text
    assert "BlueHarbor2024x" not in mask(text)  # the span is in the text as written


@pytest.mark.parametrize("brk", LINE_BREAKS, ids=lambda c: "+".join(f"U+{ord(x):04X}" for x in c))
@pytest.mark.parametrize(
    "template",
    [
        "db.internal:5432:shop:app:BlueHarbor2024x{b}*:*:*:replica:${{PW}}{b}",  # .pgpass: the line is the field
        '"app" "BlueHarbor2024x"{b}"admin" "${{PW}}"{b}',  # a pgbouncer userlist: every line is a pair
        "log: on{b}password:{b}  BlueHarbor2024x{b}",  # YAML: the value on the next line
        "x = 1{b}requirepass BlueHarbor2024x",
    ],
)
def test_a_line_break_of_any_spelling_ends_a_line_as_newline_does(brk: str, template: str) -> None:
    assert first(template.format(b="\n")) is not None  # the LF form is found
    text = template.format(b=brk)
    assert first(text) is not None, repr(text)
    assert "BlueHarbor2024x" not in mask(text)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("password BlueHarbor2024x", "password ***"),
        ("example.com/db_password=BlueHarbor2024x", "example.com/db_password ***"),
        ("API_KEY: BlueHarbor2024x", "API_KEY ***"),
        ("auth.token\tBlueHarbor2024x", "auth.token ***"),
        ("DB_PASSWORD", "DB_PASSWORD"),  # a name alone is repeated: it says where, and holds no value
        ("password_file /run/secrets/db", "password_file /run/secrets ***"),  # a word's end, not its meaning
        ("password_file", "password_file"),  # names no credential
        ("password,BlueHarbor2024x", "password ***"),
        ("password(BlueHarbor2024x)", "password ***"),
        ("example.com/password/BlueHarbor2024x", "example.com/password ***"),
        ("token|BlueHarbor2024x", "token ***"),
        ("x" * 50_000 + " password", "x" * 50_000 + " password"),
        ("my key", "my key"),
        ("password =", "password ="),
    ],
)
def test_a_name_in_a_message_never_carries_the_value_written_after_it(name: str, shown: str) -> None:
    assert credentials.shown_name(name) == shown


@pytest.mark.parametrize(
    ("name", "holds"),
    [
        ("DB_PASSWORD BlueHarbor2024x", True),
        ("api_key=BlueHarbor2024x", True),
        ("token:(BlueHarbor2024x)", True),
        ("DB_PASSWORD", False),
        ("Password must be at least 8 characters", False),  # a label (an i18n key) that goes on in words
        ("password reset", False),
        ("password ${DB_PASSWORD}", False),
        ("password_file /run/secrets/db", False),
    ],
)
def test_a_name_that_goes_on_with_a_value_holds_one(name: str, holds: bool) -> None:
    assert credentials.value_in_name(name) is holds


@pytest.mark.parametrize(
    "value, found",
    [
        ("$(POD_NAME)Hunter2x9Harbor", True),
        ("${resources.db.password}Hunter2x9", True),
        ("{{ .prefix }}Secret2024", True),
        ("$(PREFIX)2024Q3x9Z", True),
        ("$(POD_NAME)kq7vrt2mxp9", True),
        ("$(POD_NAME)-kq7v-rt2m-xp9q", True),
        ("$(A)-1.27.3-alpine", False),
        ("$(X)redis-6379-primary", False),
        ("$(PLATO_SECRET_DB_PASSWORD)", False),
        ("postgres://$(U):$(P)@db:5432/shop", False),
        ("jdbc:postgresql://$(HOST):5432/$(DB)?user=$(U)&password=$(P)", False),
        ("$(A)-$(B)", False),
        ("$(X).svc.cluster.local", False),
        ("$(NS)/app-v1beta1", False),
        ("${DB}_readonly_2024", False),
        ("{{ .Values.prefix }}-suffix-2", False),
    ],
)
def test_a_reference_excuses_only_itself_not_a_made_up_secret_beside_it(value: str, found: bool) -> None:
    """A value that holds a reference is a reference only where nothing beside it reads as a made-up secret."""
    from generator.check import guard

    assert (guard.find_in({"DB_PASSWORD": value}) is not None) is found
    assert (first(f'DB_PASSWORD="{value}"\n') is not None) is found  # quoted: a template holds spaces


@pytest.mark.parametrize(
    "name",
    [
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "com.example.server.v2.Http2ProtocolOptionsHTTPServer",
        "io.k8s.api.core.v1.PersistentVolumeClaimTemplate",
    ],
)
def test_a_dotted_name_of_camel_case_words_is_no_random_string(name: str) -> None:
    """An Envoy type URL, a Java class: the case changes between words only."""
    assert first(f'"@type": {name}\n', "config") is None
    assert first(f"class: {name}\n") is None


def test_random_tokens_are_still_found_beside_the_camel_case_names() -> None:
    """The camel-case rule excuses names, not random text: of 4,000 random base62 tokens (20 to 40 characters,
    fixed seed) as many are found as without the rule, give or take 0.1%."""
    import random
    import string

    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits
    tokens = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(20, 41))) for _ in range(4000)]
    found = sum(credentials.random_token(t) for t in tokens)
    excused = [t for t in tokens if credentials._CAMEL_WORDS.fullmatch(t)]
    assert len(excused) <= 4, excused
    assert found >= 0.94 * len(tokens)
