"""The last line of defence before anything is written: no Secret with data, no credential-looking value.

plato never knows a secret value (outputs are references), so a value that looks like a credential in the
rendered tree came from a rule or a spec by mistake: refuse, and say where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from generator.credentials import high_entropy, looks_like_credential
from generator.errors import UserError


def check_objects(objects: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """Objects with the file they go to: refuse Secrets with data and credential-looking values."""
    for path, obj in objects:
        kind = obj.get("kind")
        name = (obj.get("metadata") or {}).get("name")
        if kind == "Secret" and (obj.get("data") or obj.get("stringData")):
            raise UserError(
                f"refusing to write Secret '{name}' with data into the deployment repository",
                file=path,
                hint="secrets reach the cluster by reference: ExternalSecret, an operator's "
                "Secret, or a password generator",
            )
        _scan(obj, path, f"{kind} '{name}'", "")
        for key, value in (obj.get("binaryData") or {}).items() if kind == "ConfigMap" else ():
            text = _decoded(value)
            found = looks_like_credential(text) if text else None
            if found:
                raise UserError(
                    f"ConfigMap '{name}' binaryData {key} contains {found}; refusing to write it",
                    file=path,
                    hint="no secret value may reach the deployment repository",
                )


def _decoded(value: Any) -> str:
    import base64
    import binascii

    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8", errors="ignore")
    except (binascii.Error, ValueError):
        return ""


def _scan(value: Any, path: str, what: str, loc: str) -> None:
    if isinstance(value, dict):
        env_var = "name" in value and "value" in value and loc.endswith("]") and ".env[" in loc
        if env_var:
            loc = f"{loc} ({value['name']})"
        for k, v in value.items():
            _scan(v, path, what, f"{loc}.{k}" if loc else str(k))
        # After the patterns above, which name what was found more precisely:
        if env_var and isinstance(value["value"], str) and high_entropy(value["value"]):
            raise UserError(
                f"{what}: variable {value['name']} holds a high-entropy value that looks like a credential",
                file=path,
                hint="declare it as a secret output of a resource instead",
            )
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _scan(item, path, what, f"{loc}[{i}]")
    elif isinstance(value, str):
        found = looks_like_credential(value)
        if found:
            raise UserError(
                f"{what} at {loc} contains {found}; refusing to write it",
                file=path,
                hint="no secret value may reach the deployment repository: use a secret output",
            )


def check_text(path: str, text: str) -> None:
    found = looks_like_credential(text)
    if found:
        raise UserError(
            f"contains {found}; refusing to write it",
            file=path,
            hint="no secret value may reach the deployment repository: use a secret output",
        )
