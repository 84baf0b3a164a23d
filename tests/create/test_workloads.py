"""The Kubernetes objects of one workload: Deployment or StatefulSet, containers that start first, files,
variables, Service, autoscaling and disruption budget per profile, and the labels that tie them together."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from testkit.render import RenderKit

SELECTOR_KEYS = {"app.kubernetes.io/name", "app.kubernetes.io/instance"}
COMMON_KEYS = SELECTOR_KEYS | {"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

WEB = """
apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    example.com/team: payments
containers:
  main:
    image: .
    args: ["--greeting", "$(NOT_A_VAR)"]
    variables:
      LITERAL: "cost $(FOO) and $$HOME"
      NAME: ${metadata.name}
    files:
      /etc/app/app.conf:
        content: "name=${metadata.name} $(KEEP)"
      /etc/app/raw.tmpl:
        noExpand: true
        content: "hello ${metadata.name} $${x}"
      /etc/app/key.txt:
        content: "private"
        mode: "0600"
      /etc/app/logo.png:
        binaryContent: iVBORw0KGgo=
      /etc/app/notes.txt:
        source: notes.txt
service:
  ports:
    http:
      port: 80
      targetPort: 8080
    metrics:
      port: 9090
      protocol: TCP
"""


def web(kit: RenderKit, text: str = WEB, folder: str = "specs") -> Path:
    spec = kit.spec(text, "web.yaml", folder=folder)
    (spec.parent / "notes.txt").write_text("from a file\n", encoding="utf-8")
    return spec


def workload(objects: list[dict[str, Any]], name: str = "web") -> dict[str, Any]:
    found = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] == name]
    assert len(found) == 1, [(o["kind"], o["metadata"]["name"]) for o in objects]
    return found[0]


def mounted_item(
    obj: dict[str, Any], container: str, path: str, kit: RenderKit
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The volume behind a file mount, and the volume's item for it (None when the volume lists no items)."""
    mount = next(m for m in kit.container(obj, container)["volumeMounts"] if m["mountPath"] == path)
    volume = next(v for v in kit.pod_spec(obj)["volumes"] if v["name"] == mount["name"])
    source = volume.get("configMap") or volume.get("secret") or {}
    items = [i for i in source.get("items", []) if i["key"] == mount["subPath"]]
    return mount, {"volume": volume, "item": items[0] if items else None}


# -- Deployment or StatefulSet ----------------------------------------------------------------------------------


def test_a_workload_is_a_deployment(kit: RenderKit) -> None:
    objects = kit.manifest(kit.render(web(kit)))
    assert [o["kind"] for o in objects if o["metadata"]["name"] == "web"] == [
        "NetworkPolicy",
        "ServiceAccount",
        "Service",
        "Deployment",
    ]
    deployment = workload(objects)
    assert deployment["apiVersion"] == "apps/v1" and deployment["kind"] == "Deployment"
    assert deployment["metadata"]["annotations"] == {"example.com/team": "payments"}
    assert deployment["metadata"]["namespace"] == "demo-development"
    assert kit.container(deployment, "main")["image"] == kit.IMAGE


def test_the_workloads_annotations_reach_its_pods_but_plato_s_own_do_not(kit: RenderKit) -> None:
    """Dapr's sidecar injector, Prometheus' scrape and Istio read the pod's annotations: on the Deployment alone
    they did nothing (a Dapr workload rendered with its Components and never got a sidecar)."""
    spec = kit.spec(
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
          annotations:
            dapr.io/enabled: "true"
            dapr.io/app-id: web
            plato.dev/kind: StatefulSet
        containers:
          main:
            image: .
        """
    )
    for env in ("development", "production"):
        sts = workload(kit.manifest(kit.render(spec, env)))
        pod = sts["spec"]["template"]["metadata"]["annotations"]
        assert pod["dapr.io/enabled"] == "true" and pod["dapr.io/app-id"] == "web", pod
        assert not [k for k in pod if k.startswith("plato.dev/")], pod
        assert sts["kind"] == "StatefulSet"


STATEFUL = """
apiVersion: score.dev/v1b1
metadata:
  name: db
  annotations:
    plato.dev/kind: StatefulSet
    example.com/team: payments
containers:
  main:
    image: postgres:16.4
    volumes:
      /var/lib/postgresql/data:
        source: ${resources.data}
        path: pgdata
service:
  ports:
    pg:
      port: 5432
resources:
  data:
    type: volume
    params:
      size: 5Gi
"""


@pytest.mark.parametrize("env", ["development", "production"])
def test_the_statefulset_annotation_makes_a_statefulset_with_claim_templates(kit: RenderKit, env: str) -> None:
    objects = kit.manifest(kit.render(kit.spec(STATEFUL), env))
    sts = workload(objects, "db")
    assert sts["kind"] == "StatefulSet" and sts["apiVersion"] == "apps/v1"
    assert sts["spec"]["serviceName"] == "db"
    assert sts["metadata"]["annotations"] == {"example.com/team": "payments"}  # plato's own annotation is dropped
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    if env == "production":
        assert claim["spec"]["storageClassName"] == "gp3"
        hpa = kit.find(objects, "HorizontalPodAutoscaler", "db")
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}
    mount = next(m for m in kit.container(sts, "main")["volumeMounts"] if m["mountPath"] != "/tmp")
    assert mount == {"name": claim["metadata"]["name"], "mountPath": "/var/lib/postgresql/data", "subPath": "pgdata"}
    # The claim comes from the template: no pod volume of that name.
    assert claim["metadata"]["name"] not in {v["name"] for v in kit.pod_spec(sts).get("volumes", [])}
    assert not [o for o in objects if o["kind"] == "Deployment"]


def test_a_claim_template_volume_makes_no_standalone_claim(kit: RenderKit) -> None:
    objects = kit.manifest(kit.render(kit.spec(STATEFUL), "production"))
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"] == []


def test_a_volume_of_a_deployment_is_a_persistent_volume_claim(kit: RenderKit) -> None:
    text = STATEFUL.replace("    plato.dev/kind: StatefulSet\n", "")
    objects = kit.manifest(kit.render(kit.spec(text)))
    deployment = workload(objects, "db")
    assert deployment["kind"] == "Deployment"
    assert "volumeClaimTemplates" not in deployment["spec"]
    mount = kit.container(deployment, "main")["volumeMounts"][0]
    volume = next(v for v in kit.pod_spec(deployment)["volumes"] if v["name"] == mount["name"])
    claim = kit.find(objects, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"


# -- containers that start first --------------------------------------------------------------------------------

ORDERED = """
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  app:
    image: nginx:1.27
  migrate:
    image: migrate/migrate:v4.17.1
    before:
      app: {ready: complete}
  proxy:
    image: envoyproxy/envoy:v1.31.0
    before:
      migrate: {ready: started}
  logs:
    image: fluent/fluent-bit:3.1
    before:
      app: {}
"""


def test_containers_that_start_first_are_init_containers_and_native_sidecars(kit: RenderKit) -> None:
    deployment = workload(kit.manifest(kit.render(kit.spec(ORDERED))))
    spec = kit.pod_spec(deployment)
    assert [c["name"] for c in spec["containers"]] == ["app"]
    init = {c["name"]: c for c in spec["initContainers"]}
    assert set(init) == {"migrate", "proxy", "logs"}
    order = [c["name"] for c in spec["initContainers"]]
    assert order.index("proxy") < order.index("migrate"), order  # proxy starts before migrate
    assert "restartPolicy" not in init["migrate"]  # ready: complete runs to completion
    assert init["proxy"]["restartPolicy"] == "Always"  # ready: started keeps running (native sidecar)
    assert init["logs"]["restartPolicy"] == "Always"  # started is the default
    assert init["migrate"]["image"] == "migrate/migrate:v4.17.1"


def test_a_run_to_completion_container_has_no_probes(kit: RenderKit) -> None:
    text = ORDERED.replace(
        "      app: {ready: complete}\n",
        "      app: {ready: complete}\n    livenessProbe:\n      httpGet: {port: 8080, path: /healthz}\n",
    )
    from generator.errors import UserError

    try:
        deployment = workload(kit.manifest(kit.render(kit.spec(text))))
    except UserError:
        return
    migrate = kit.container(deployment, "migrate")
    assert "livenessProbe" not in migrate and "readinessProbe" not in migrate


# -- files ------------------------------------------------------------------------------------------------------


def test_files_become_configmap_items(kit: RenderKit) -> None:
    objects = kit.manifest(kit.render(web(kit)))
    deployment = workload(objects)
    configmap = kit.find(objects, "ConfigMap", "web-files")

    def content(path: str) -> tuple[str, Any]:
        mount, found = mounted_item(deployment, "main", path, kit)
        assert mount["readOnly"] is True
        assert found["volume"]["configMap"]["name"] == "web-files"
        key = mount["subPath"]
        return key, found["item"]

    key, _ = content("/etc/app/app.conf")
    assert configmap["data"][key] == "name=web $(KEEP)"  # files are not expanded by Kubernetes: no $$ escaping
    key, _ = content("/etc/app/raw.tmpl")
    assert configmap["data"][key] == "hello ${metadata.name} $${x}"  # noExpand: literal, $$ kept
    key, _ = content("/etc/app/notes.txt")
    assert configmap["data"][key] == "from a file\n"
    key, _ = content("/etc/app/logo.png")
    assert configmap["binaryData"][key] == "iVBORw0KGgo="
    assert key not in configmap["data"]
    assert base64.b64decode(configmap["binaryData"][key]) == b"\x89PNG\r\n\x1a\n"
    key, item = content("/etc/app/key.txt")
    assert item is not None and item["mode"] == 0o600 == 384
    assert configmap["data"][key] == "private"


@pytest.mark.parametrize("name", ["api-secret", "w" + "x" * 61])
def test_file_volumes_are_valid_whatever_the_workload_is_called(kit: RenderKit, name: str) -> None:
    """Regression: a workload called *-secret, or with a 63-character name, once got a Secret volume for its
    ConfigMap, and volume names longer than 63 characters."""
    text = WEB.replace("  name: web\n", f"  name: {name}\n", 1)
    objects = kit.manifest(kit.render(web(kit, text)))
    deployment = workload(objects, name)
    spec = kit.pod_spec(deployment)
    volumes = {v["name"]: v for v in spec["volumes"]}
    configmaps = {o["metadata"]["name"] for o in objects if o["kind"] == "ConfigMap"}
    for v in volumes.values():
        assert DNS_LABEL.match(v["name"]), v["name"]
        assert "secret" not in v, v
        assert v["configMap"]["name"] in configmaps
    for m in kit.container(deployment, "main")["volumeMounts"]:
        assert m["name"] in volumes
    _, found = mounted_item(deployment, "main", "/etc/app/key.txt", kit)
    assert found["item"]["mode"] == 384


# -- variables --------------------------------------------------------------------------------------------------


def test_kubernetes_variable_references_in_literal_text_are_escaped(kit: RenderKit) -> None:
    main = kit.container(workload(kit.manifest(kit.render(web(kit)))), "main")
    assert kit.env_var(main, "LITERAL") == {"name": "LITERAL", "value": "cost $$(FOO) and $HOME"}
    assert kit.env_var(main, "NAME") == {"name": "NAME", "value": "web"}
    assert main["args"] == ["--greeting", "$$(NOT_A_VAR)"]


def test_a_literal_dollar_before_a_secret_stays_literal(kit: RenderKit) -> None:
    spec = kit.spec(
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx:1.27
            variables:
              PRICE: "$$${resources.cache.password}"
        resources:
          cache:
            type: redis
        """
    )
    main = kit.container(workload(kit.manifest(kit.render(spec))), "main")
    assert kit.env_var(main, "PRICE")["value"] == "$$$(PLATO_SECRET_WEB_CACHE_PASSWORD)"


# -- Service ----------------------------------------------------------------------------------------------------


def test_service_ports_make_a_service(kit: RenderKit) -> None:
    objects = kit.manifest(kit.render(web(kit)))
    service = kit.find(objects, "Service", "web")
    deployment = workload(objects)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
        {"name": "metrics", "port": 9090, "targetPort": 9090, "protocol": "TCP"},
    ]


def test_no_ports_no_service(kit: RenderKit) -> None:
    objects = kit.manifest(kit.render(kit.spec(ORDERED)))
    assert not [o for o in objects if o["kind"] == "Service"]


# -- profiles ---------------------------------------------------------------------------------------------------


def test_production_autoscales_and_keeps_a_disruption_budget(kit: RenderKit) -> None:
    objects = kit.manifest(kit.render(web(kit), "production"))
    deployment = workload(objects)
    assert "replicas" not in deployment["spec"]  # the HPA owns the replica count
    hpa = kit.find(objects, "HorizontalPodAutoscaler", "web")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
    ]
    pdb = kit.find(objects, "PodDisruptionBudget", "web")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {"minAvailable": 2, "selector": deployment["spec"]["selector"]}
    spec = kit.pod_spec(deployment)
    assert spec["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    main = kit.container(deployment, "main")
    assert main["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}
    assert main["securityContext"]["readOnlyRootFilesystem"] is True


def test_development_runs_one_replica_without_autoscaling(kit: RenderKit) -> None:
    objects = kit.manifest(kit.render(web(kit), "development"))
    deployment = workload(objects)
    assert deployment["spec"]["replicas"] == 1
    assert not [o for o in objects if o["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget")]
    main = kit.container(deployment, "main")
    assert main["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}


def test_container_resources_override_the_profile_per_resource(kit: RenderKit) -> None:
    # The spec's CPU request wins; the memory it does not name is the profile's (tests/create/test_containers.py).
    text = WEB.replace("    image: .\n", "    image: .\n    resources:\n      requests: {cpu: '1'}\n")
    main = kit.container(workload(kit.manifest(kit.render(web(kit, text)))), "main")
    assert main["resources"]["requests"] == {"cpu": "1", "memory": "64Mi"}


# -- labels -----------------------------------------------------------------------------------------------------


def selectors(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, str]]]:
    out = []
    for o in objects:
        spec = o.get("spec") or {}
        if o["kind"] in ("Deployment", "StatefulSet", "PodDisruptionBudget"):
            out.append((f"{o['kind']} {o['metadata']['name']}", spec["selector"]["matchLabels"]))
        if o["kind"] == "Service":
            out.append((f"Service {o['metadata']['name']}", spec["selector"]))
    return out


@pytest.mark.parametrize("env", ["development", "production"])
def test_labels_and_selectors(kit: RenderKit, env: str) -> None:
    objects = kit.manifest(kit.render(web(kit), env))
    deployment = workload(objects)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    expected = {
        "app.kubernetes.io/name": "web",
        "app.kubernetes.io/instance": "demo-web",
        "app.kubernetes.io/part-of": "demo",
        "app.kubernetes.io/managed-by": "plato",
    }
    assert pod_labels == {**expected, "app.kubernetes.io/version": "1.0"}  # the tag of --image
    assert deployment["metadata"]["labels"] == pod_labels
    assert deployment["spec"]["selector"]["matchLabels"] == {k: expected[k] for k in SELECTOR_KEYS}
    for o in objects:
        if o["metadata"]["name"].startswith("web"):
            assert expected.items() <= o["metadata"]["labels"].items(), f"{o['kind']} {o['metadata']['name']}"
    for what, selector in selectors(objects):
        assert "app.kubernetes.io/version" not in selector, what


def test_no_version_label_when_containers_use_different_images(kit: RenderKit) -> None:
    deployment = workload(kit.manifest(kit.render(kit.spec(ORDERED))))
    assert "app.kubernetes.io/version" not in deployment["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("env", ["development", "production"])
def test_example_labels_and_selectors(kit: RenderKit, example: str | None, env: str) -> None:
    example_dir = kit.example_path(example)
    objects = kit.manifest(kit.example(example_dir, env))
    names = {w.name for w in kit.example(example_dir, env).plan.workloads}
    for o in objects:
        labels = o["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/part-of") == "demo", f"{o['kind']} {o['metadata']['name']}"
        assert labels.get("app.kubernetes.io/managed-by") == "plato", f"{o['kind']} {o['metadata']['name']}"
        if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] in names:
            pod = o["spec"]["template"]["metadata"]["labels"]
            assert set(pod) >= COMMON_KEYS, pod
            assert set(o["spec"]["selector"]["matchLabels"]) == SELECTOR_KEYS
    for what, selector in selectors(objects):
        assert "app.kubernetes.io/version" not in selector, what
