"""Pod Security Standards "restricted" for every workload, in every environment, and a read-only root file
system where the profile asks for one (production), with a writable /tmp.

The restricted fields are set here rather than left to each profile, so a platform that writes its own profiles
still gets them; a profile's `securityContext` is laid over them (it may add, say, runAsUser).
"""

from __future__ import annotations

from typing import Any

from generator.errors import UserError
from generator.read.models import Workload

# Workload annotation: the root file system stays writable, for the reason given as its value (recorded on the
# Deployment or StatefulSet, where a reviewer reads it).
WRITABLE_ROOT = "plato.dev/writable-root-filesystem"
TMP_VOLUME = "plato-tmp"

RESTRICTED_POD: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod_security(prof: dict[str, Any]) -> dict[str, Any]:
    return {**RESTRICTED_POD, **(prof.get("securityContext", {}).get("pod") or {})}


def container_security(w: Workload, prof: dict[str, Any]) -> dict[str, Any]:
    out = {**RESTRICTED_CONTAINER, **(prof.get("securityContext", {}).get("container") or {})}
    reason = writable_root_reason(w)  # checked in every environment: a spec valid in one is valid in all
    if out.get("readOnlyRootFilesystem") and reason:
        out["readOnlyRootFilesystem"] = False
    return out


def writable_root_reason(w: Workload) -> str | None:
    if WRITABLE_ROOT not in w.annotations:
        return None
    reason = w.annotations[WRITABLE_ROOT].strip()
    if not reason:
        raise UserError.at(
            w.where,
            f"workload '{w.name}': annotation {WRITABLE_ROOT} needs a reason as its value",
            hint=f'write why the root file system must stay writable, e.g. {WRITABLE_ROOT}: "writes its cache '
            'under /var/cache"',
        )
    return reason


def read_only_root(w: Workload, prof: dict[str, Any]) -> bool:
    return bool(container_security(w, prof).get("readOnlyRootFilesystem"))


def tmp_mount(mounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A writable /tmp for a read-only root, unless the spec already mounts something there."""
    if any(m["mountPath"].rstrip("/") == "/tmp" for m in mounts):
        return []
    return [{"name": TMP_VOLUME, "mountPath": "/tmp"}]


def tmp_volume() -> dict[str, Any]:
    return {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "1Gi"}}
