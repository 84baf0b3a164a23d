"""What the catalog's volume classes put into the pod, in both environments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from testkit.render import RenderKit

SPEC = """
apiVersion: score.dev/v1b1
metadata: {name: web}
containers:
  main:
    image: nginx:1.27
    volumes:
      /scratch: {source: "${resources.scratch}"}
      /ram: {source: "${resources.ram}"}
      /etc/app: {source: "${resources.settings}", readOnly: true}
      /etc/shared: {source: "${resources.shared}"}
      /var/run/identity: {source: "${resources.token}"}
      /data: {source: "${resources.data}"}
resources:
  scratch: {type: volume, class: ephemeral}
  ram:
    type: volume
    class: ephemeral
    params: {size: 64Mi, medium: Memory}
  settings:
    type: volume
    class: config
    params:
      data: {app.properties: "a=1", retries: 3, enabled: true}
  shared:
    type: volume
    class: config
    params: {configMap: platform-settings}
  token: {type: volume, class: projected}
  data: {type: volume, class: persistent}
"""


@pytest.mark.parametrize("env", ["development", "production"])
def test_volume_classes(kit: RenderKit, env: str) -> None:
    # Production autoscales the Deployment, so its shared volume must be ReadWriteMany (class shared): a
    # ReadWriteOnce (persistent) one is refused there (tests/create/test_security.py).
    spec = SPEC if env == "development" else SPEC.replace("class: persistent}", "class: shared}")
    objects = kit.manifest(kit.render(kit.spec(spec), env))
    pod = kit.pod_spec(kit.find(objects, "Deployment", "web"))
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["web-scratch"]["emptyDir"] == {"sizeLimit": "1Gi", "medium": ""}
    assert volumes["web-ram"]["emptyDir"] == {"sizeLimit": "64Mi", "medium": "Memory"}
    assert volumes["web-settings"]["configMap"] == {"name": "web-settings"}
    # ConfigMap data are strings, whatever type the spec wrote
    data = kit.find(objects, "ConfigMap", "web-settings")["data"]
    assert data == {"app.properties": "a=1", "retries": "3", "enabled": "true"}  # as YAML and JSON spell them
    assert volumes["web-shared"]["configMap"] == {"name": "platform-settings"}
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "ConfigMap"] == ["web-settings"]
    sources = volumes["web-token"]["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}
    assert volumes["web-data"] == {"name": "web-data", "persistentVolumeClaim": {"claimName": "web-data"}}
    claim = kit.find(objects, "PersistentVolumeClaim", "web-data")["spec"]
    assert claim["resources"]["requests"]["storage"] == ("1Gi" if env == "development" else "10Gi")
    mounts = {m["mountPath"]: m for m in kit.container(kit.find(objects, "Deployment", "web"), "main")["volumeMounts"]}
    assert mounts["/etc/app"]["readOnly"] is True
