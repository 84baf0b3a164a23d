"""The deployment context: an open map of keys from CI, validated.

Layers, lowest first (a later layer wins):
1. the CI system's own variables (GitHub Actions, GitLab CI and others, see `read/ci.py`): git_ref,
   git_ref_name, source_sha, source_repo, run_url, org, app;
2. `PLATO_CONTEXT_<KEY>` environment variables (KEY lower-cased);
3. `-c/--context key=value` flags, then `--image`.
Context rules (match stage) may then derive keys that none of these set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from generator.credentials import looks_like_credential
from generator.errors import UserError
from generator.read import ci
from generator.read.ci import DNS_LABEL

KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")
# Keys whose values become names or paths (namespaces, folders, Kubernetes names): DNS-1123 labels only.
NAME_KEYS = frozenset({"env", "app", "org", "env_type", "region", "cluster", "namespace"})
# Keys that change on every CI run: they go into commit trailers, never into rendered files.
RUN_KEYS = frozenset({"run_url", "run_id", "source_time"})
MAX_VALUE = 1024

Context = dict[str, str]


def from_env(environ: Mapping[str, str]) -> Context:
    prefix = "PLATO_CONTEXT_"
    return {k[len(prefix) :].lower(): v for k, v in environ.items() if k.startswith(prefix) and len(k) > len(prefix)}


def parse_pairs(pairs: Iterable[str]) -> Context:
    ctx: Context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UserError(f"context '{pair}' is not key=value", file="--context", hint="write -c env=development")
        ctx[key.strip()] = value
    return ctx


def build(pairs: Iterable[str] = (), environ: Mapping[str, str] | None = None, image: str | None = None) -> Context:
    environ = environ if environ is not None else {}
    ctx: Context = {}
    ctx.update(ci.read(environ))
    ctx.update(from_env(environ))
    ctx.update(parse_pairs(pairs))
    if image:
        ctx["image"] = image
    validate(ctx)
    return dict(sorted(ctx.items()))


# An image reference as registries read one (distribution/reference's grammar): a domain with an optional port,
# lower case path components, a tag, a digest. Anything else was written into every manifest as it stood.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])"
    rf"(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@sha256:[0-9a-f]{64})?"
)


def validate(ctx: Mapping[str, str], origin: str = "--context") -> None:
    for key, value in ctx.items():
        if not KEY.fullmatch(key):
            raise UserError(
                f"context key {key!r} is not valid",
                file=origin,
                hint="keys are lower case letters, digits and _, starting with a letter (e.g. env_type)",
            )
        if len(value) > MAX_VALUE:
            raise UserError(
                f"context value of '{key}' is {len(value)} characters, over the limit of {MAX_VALUE}", file=origin
            )
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            # argv bytes that are not UTF-8 arrive as lone surrogates: no file, name or commit can hold them
            raise UserError(
                f"context value of '{key}' is not UTF-8 text",
                file=origin,
                hint="context values are written into files and commits: pass UTF-8 text",
            )
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise UserError(
                f"context value of '{key}' contains a control character (a line break or a tab?)",
                file=origin,
                hint="context values are single-line text",
            )
        found = looks_like_credential(value)
        if found:
            raise UserError(
                f"context value of '{key}' looks like {found}",
                file=origin,
                hint="secrets never go into the context: it is written into commits and recorded inputs",
            )
        if key == "image" and not IMAGE_REFERENCE.fullmatch(value):
            raise UserError(
                f"context image={value!r} is not an image reference",
                file=origin,
                hint="an image reference: [registry[:port]/]name[:tag][@sha256:<64 hex>], the name in lower case "
                "(e.g. ghcr.io/acme/shop:1.4.0)",
            )
        if key in NAME_KEYS and not DNS_LABEL.fullmatch(value):
            raise UserError(
                f"context {key}={value!r} is not a valid name",
                file=origin,
                hint=f"'{key}' becomes a Kubernetes name and a folder: use lower case letters, digits and '-', "
                "at most 63 characters, starting and ending with a letter or digit",
            )


def require(ctx: Mapping[str, str], keys: Iterable[str]) -> None:
    missing = [k for k in keys if not ctx.get(k)]
    if missing:
        raise UserError(
            f"missing context key{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            file="--context",
            hint="pass them as " + " ".join(f"-c {k}=..." for k in missing) + " or PLATO_CONTEXT_<KEY>",
        )
