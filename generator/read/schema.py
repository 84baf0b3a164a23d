"""JSON schema validation with errors that name file, line, column and the allowed fields."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from typing import Any, cast

from generator.credentials import credential_key, shown_name
from generator.errors import UserError, did_you_mean
from generator.read.yamlfile import Document, Loc
from generator.resources import bundled_dir


@cache
def load_schema(name: str) -> dict[str, Any]:
    path = bundled_dir("schemas") / f"{name}.schema.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def compiled(name: str) -> Callable[[Any], Any]:
    """The schema compiled ahead of time (schemas/compile.py): raises on a document that is not valid."""
    from types import ModuleType

    module: ModuleType
    if name == "workload":
        from generator.read.validators import workload as module
    elif name == "rules":
        from generator.read.validators import rules as module
    else:
        from generator.read.validators import rules_head as module
    return cast("Callable[[Any], Any]", module.validate)


@cache
def validator(name: str) -> Any:
    # Built once per process: jsonschema.validate() would re-check the meta-schema on every call.
    from jsonschema import Draft202012Validator

    if name.endswith(":head"):
        # The top level of a document only (kind-specific parts of `spec` left out): what matching needs.
        schema = dict(load_schema(name.removesuffix(":head")))
        schema.pop("allOf", None)
        return Draft202012Validator(schema)
    return Draft202012Validator(load_schema(name))


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        name = shown_name(str(part))  # a key is repeated, a value in it never
        out += f"[{part}]" if isinstance(part, int) else (f".{name}" if out else name)
    return out or "(top level)"


# Documents this process found valid, by schema and content: a fleet re-render reads each app's workloads once
# per environment, and need not validate the same text again. Bounded.
_VALID: set[tuple[str, bytes]] = set()  # (schema, digest of the document's repr): a few dozen bytes each


def check(doc: Document, schema: str, data: Any = None, base: Loc = ()) -> None:
    """Raise the most relevant schema error of `data` (default: the whole document) as a UserError."""
    instance = doc.data if data is None else data
    # repr tells 1 from "1" and True from "true", as the schema does; its digest is kept, not the text (a fleet
    # re-render's workers would otherwise hold 20,000 whole specs each).
    key = (schema, hashlib.blake2b(repr(instance).encode("utf-8", "surrogatepass"), digest_size=16).digest())
    if key in _VALID:
        return
    if _passes(schema, instance):
        _remember(key)
        return
    # Refused: jsonschema, the reference, decides and says why (it is imported only here, off the publish path).
    from jsonschema.exceptions import best_match

    errors = list(validator(schema).iter_errors(instance))
    error = best_match(errors)
    if error is None:
        _remember(key)
        return
    if error.validator == "required":
        # A misspelled key shows up as "missing X" plus "unknown Y": naming Y (did you mean X?) helps more.
        unknown = [
            e for e in errors if e.validator == "additionalProperties" and e.absolute_path == error.absolute_path
        ]
        if unknown:
            error = unknown[0]
    raise _to_user_error(doc, error, base)


def _passes(schema: str, instance: Any) -> bool:
    from generator.read.validators._errors import JsonSchemaValueException, JsonSchemaValuesException

    try:
        compiled(schema)(instance)
    except (JsonSchemaValueException, JsonSchemaValuesException):
        return False
    return True


def _remember(key: tuple[str, bytes]) -> None:
    if len(_VALID) > 20_000:
        _VALID.clear()
    _VALID.add(key)


def _to_user_error(doc: Document, error: Any, base: Loc) -> UserError:
    loc: Loc = (*base, *error.absolute_path)
    where = dotted(loc)
    v = error.validator
    schema = error.schema
    inst = error.instance
    # A value under a credential-named key is never repeated in a message (it is printed, to a CI log).
    secret = any(isinstance(k, str) and credential_key(k) for k in loc)
    shown = "the value" if secret else repr(shown_name(inst) if isinstance(inst, str) else inst)
    if inst is None and v in ("oneOf", "type", "minProperties"):
        return doc.error(f"{where} is empty", loc, hint=_empty_hint(schema))
    if v == "minProperties" and isinstance(inst, dict) and {"httpGet", "exec"} <= set(schema.get("properties", {})):
        return doc.error(
            f"{where}: a probe needs httpGet or exec", loc, hint="e.g. httpGet: {path: /healthz, port: 8080}"
        )
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list(schema.get("properties", {}))
        unknown = sorted(k for k in inst if k not in allowed)
        key = unknown[0] if unknown else "?"
        return doc.error(f"unknown field '{shown_name(key)}' in {where}", (*loc, key), hint=did_you_mean(key, allowed))
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return doc.error(f"missing required field '{missing}' in {where}", loc, hint=_describe(schema, missing))
    if v == "type":
        want = schema.get("type")
        return doc.error(
            f"{where} must be {_a(want)}, not {_kind(inst, secret)}",
            loc,
            hint="quote the value to make it a string" if want == "string" else None,
        )
    if v == "enum":
        return doc.error(
            f"{where}: {shown} is not allowed", loc, hint=f"use one of: {', '.join(map(str, schema['enum']))}"
        )
    if v == "pattern":
        hint = schema.get("description") or f"it must match {schema['pattern']}"
        return doc.error(f"{where}: {shown} is not valid", loc, hint=hint)
    message = (
        error.message.replace(repr(inst), shown)
        if (secret and isinstance(inst, str | int | float)) or (isinstance(inst, str) and shown != repr(inst))
        else error.message
    )
    if v in ("minLength", "maxLength", "minimum", "maximum", "minProperties", "minItems"):
        return doc.error(f"{where}: {message}", loc, hint=schema.get("description"))
    if v == "propertyNames":
        return doc.error(f"{where}: invalid name {error.message}", loc)
    if v == "oneOf" and isinstance(inst, dict):
        keys = [k for k in ("content", "source", "binaryContent") if k in inst]
        if "properties" in str(schema) and keys != [] and len(keys) > 1:
            return doc.error(f"{where}: give only one of content, source, binaryContent (found {', '.join(keys)})", loc)
        if not keys and any("content" in str(s) for s in schema.get("oneOf", [])):
            return doc.error(f"{where}: a file needs one of content, source or binaryContent", loc)
    return doc.error(f"{where}: {message}", loc)


def _empty_hint(schema: dict[str, Any]) -> str:
    text = json.dumps(schema)
    if "binaryContent" in text:
        return "a file needs one of content, source or binaryContent"
    return "give it a value, or remove the key"


def _describe(schema: dict[str, Any], key: str) -> str | None:
    prop = schema.get("properties", {}).get(key, {})
    desc = prop.get("description") if isinstance(prop, dict) else None
    return desc if isinstance(desc, str) else None


def _a(kind: Any) -> str:
    if isinstance(kind, list):
        return " or ".join(_a(k) for k in kind)
    return {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "integer": "an integer",
        "boolean": "true or false",
        "number": "a number",
    }.get(str(kind), str(kind))


def _kind(value: Any, secret: bool = False) -> str:
    if secret:
        return (
            _a(
                {bool: "boolean", int: "number", float: "number", str: "string", dict: "object", list: "array"}.get(
                    type(value), "string"
                )
            )
            if value is not None
            else "empty (null)"
        )
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if value is None:
        return "empty (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"a number ({value})"
    return f"a string ({value!r})"
