"""Everything plato renders for the score-compose examples is valid: built-in kinds against Kubernetes 1.33's
schemas (strict), custom resources against their CRD schemas, Terraform that parses with pinned modules, and a CD
registration that Argo CD (or Flux) accepts. Objects refer only to objects that exist."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hcl2
import jsonschema
import kubernetes_validate
import pytest
import yaml
from testkit.shared import REPO

if TYPE_CHECKING:
    from testkit.render import RenderKit

K8S_VERSION = "1.33"
# API groups served by Kubernetes itself (kubernetes-validate has their schemas); anything else is a custom resource
# and must have a CRD schema in shared/schemas/crds/.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
    }
)
PINNED = re.compile(r"^\d+\.\d+\.\d+$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


@cache
def _crd_validator(path: Path) -> Any:
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


_BUILTIN_SEEN: set[str] = set()


def _validate_builtin(obj: Mapping[str, Any], where: str) -> None:
    # kubernetes_validate re-reads its schema files on every call: identical objects (the Namespace of every
    # development render, say) are validated once.
    fingerprint = json.dumps(obj, sort_keys=True)
    if fingerprint in _BUILTIN_SEEN:
        return
    try:
        kubernetes_validate.validate(dict(obj), K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{where}: {obj['kind']} '{obj['metadata']['name']}' at {path}: {exc.message}", pytrace=False)
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(f"{where}: {exc.message}", pytrace=False)
    _BUILTIN_SEEN.add(fingerprint)


def validate_object(obj: Mapping[str, Any], crd_dir: Path, where: str) -> None:
    assert isinstance(obj.get("apiVersion"), str) and isinstance(obj.get("kind"), str), f"{where}: {obj}"
    group, version = split_api_version(obj["apiVersion"])
    schema = crd_dir / group / f"{obj['kind'].lower()}_{version}.json" if group else None
    if schema is not None and schema.is_file():
        errors = sorted(_crd_validator(schema).iter_errors(obj), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"  {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors[:10]]
            pytest.fail(
                f"{where}: {obj['kind']} '{obj['metadata']['name']}' is not valid against {schema.name}:\n"
                + "\n".join(lines),
                pytrace=False,
            )
    elif group in BUILTIN_GROUPS:
        _validate_builtin(obj, where)
    else:
        pytest.fail(
            f"{where}: custom resource {obj['apiVersion']} {obj['kind']} has no schema "
            f"(expected {crd_dir}/{group}/{obj['kind'].lower()}_{version}.json)",
            pytrace=False,
        )
    check_metadata(obj, where)


def check_metadata(obj: Mapping[str, Any], where: str) -> None:
    """What the API server checks beyond the OpenAPI schema: names and label syntax."""
    meta = obj["metadata"]
    name = meta.get("name", "")
    what = f"{where}: {obj['kind']} '{name}'"
    assert DNS_SUBDOMAIN.match(name) and len(name) <= 253, f"{what}: name is not a DNS-1123 subdomain"
    if obj["kind"] in ("Namespace",):
        assert DNS_LABEL.match(name), f"{what}: name is not a DNS-1123 label"
    if obj["kind"] == "Service":
        assert DNS_1035.match(name), f"{what}: a Service name must be a DNS-1035 label"
    if "namespace" in meta:
        assert DNS_LABEL.match(meta["namespace"]), f"{what}: namespace {meta['namespace']!r}"
    labels = dict(meta.get("labels") or {})
    if obj["kind"] in WORKLOAD_KINDS:
        labels.update((obj["spec"]["template"].get("metadata") or {}).get("labels") or {})
    for key, value in labels.items():
        prefix, _, label = key.rpartition("/")
        assert LABEL_NAME.match(label) and len(label) <= 63, f"{what}: label key {key!r}"
        assert not prefix or (DNS_SUBDOMAIN.match(prefix) and len(prefix) <= 253), f"{what}: label key {key!r}"
        assert isinstance(value, str), f"{what}: label {key} is {value!r}, not a string"
        assert value == "" or (LABEL_NAME.match(value) and len(value) <= 63), f"{what}: label {key}={value!r}"
    for key, value in (meta.get("annotations") or {}).items():
        assert isinstance(value, str), f"{what}: annotation {key} is {value!r}, not a string"


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def check_references(objects: list[dict[str, Any]], where: str, external_claims: frozenset[str] = frozenset()) -> None:
    """Every name an object points at is in the tree (or made on the cluster by an operator plato configures;
    `external_claims` are claims a spec names as existing volumes)."""
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for o in objects:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    secrets = {
        (es["spec"].get("target") or {}).get("name") or name for name, es in by_kind.get("ExternalSecret", {}).items()
    }
    secrets |= {f"{name}-app" for name in by_kind.get("Cluster", {})}  # CloudNativePG writes <cluster>-app
    secrets |= {f"{name}-es-elastic-user" for name in by_kind.get("Elasticsearch", {})}  # and ECK its user's
    # kube-root-ca.crt is in every namespace (the cluster's CA, published by kube-controller-manager)
    configmaps = set(by_kind.get("ConfigMap", {})) | {"kube-root-ca.crt"}
    workloads = [o for o in objects if o["kind"] in WORKLOAD_KINDS]
    pod_labels = [(o["spec"]["template"].get("metadata") or {}).get("labels") or {} for o in workloads]

    for o in workloads:
        what = f"{where}: {o['kind']} '{o['metadata']['name']}'"
        spec = o["spec"]["template"]["spec"]
        if o["kind"] != "Job":
            assert _selects(o["spec"]["selector"]["matchLabels"], pod_labels[workloads.index(o)]), what
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        assert len(volumes) == len(spec.get("volumes", [])), f"{what}: two volumes share a name"
        claims = {c["metadata"]["name"] for c in o["spec"].get("volumeClaimTemplates", [])}
        for name, v in volumes.items():
            assert DNS_LABEL.match(name), f"{what}: volume name {name!r} is not a DNS-1123 label"
            if "configMap" in v:
                assert v["configMap"]["name"] in configmaps, f"{what}: volume {name}: no ConfigMap {v['configMap']}"
            if "secret" in v:
                assert v["secret"]["secretName"] in secrets, f"{what}: volume {name}: no Secret {v['secret']}"
            if "persistentVolumeClaim" in v:
                claim = v["persistentVolumeClaim"]["claimName"]
                assert claim in by_kind.get("PersistentVolumeClaim", {}) or claim in external_claims, f"{what}: no PVC"
        containers = [*spec.get("initContainers", []), *spec["containers"]]
        names = [c["name"] for c in containers]
        assert len(names) == len(set(names)), f"{what}: container names {names}"
        for c in containers:
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes or m["name"] in claims, f"{what}: mount {m} has no volume"
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in secrets, f"{what}: {e['name']} reads Secret {ref['name']}, made by nothing"
    for name, svc in by_kind.get("Service", {}).items():
        assert any(_selects(svc["spec"]["selector"], lb) for lb in pod_labels), f"{where}: Service {name} selects none"
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        sel = pdb["spec"]["selector"]["matchLabels"]
        assert any(_selects(sel, lb) for lb in pod_labels), f"{where}: PodDisruptionBudget {name} selects no pods"
    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["name"] in by_kind.get(target["kind"], {}), f"{where}: HPA {name} scales nothing"
    for name, route in by_kind.get("HTTPRoute", {}).items():
        for rule in route["spec"]["rules"]:
            for ref in rule["backendRefs"]:
                svc = by_kind.get("Service", {}).get(ref["name"])
                assert svc is not None, f"{where}: HTTPRoute {name} routes to missing Service {ref['name']}"
                ports = [p["port"] for p in svc["spec"]["ports"]]
                assert ref["port"] in ports, f"{where}: HTTPRoute {name}: Service {ref['name']} has ports {ports}"


def hcl_module_blocks(parsed: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(label, body) of every module block in bc-python-hcl2's output (checkov's parser: each attribute's value
    in a one-item list, line markers in `__start_line__` keys)."""
    for entry in parsed.get("module", []):
        for label, body in entry.items():
            yield label, {k: v[0] for k, v in body.items() if not k.startswith("__")}


@pytest.mark.parametrize("env", ["development", "production"])
def test_example_renders_valid_files(kit: RenderKit, example: str | None, env: str) -> None:
    example_dir, crd_dir = kit.example_path(example), kit.crd_dir()
    tree = kit.example(example_dir, env)
    where = f"{example_dir.name} ({env})"
    manifest = kit.manifest_path(tree)
    assert manifest in tree.files
    yaml_files = [p for p in tree.files if p.endswith(".yaml")]
    assert manifest in yaml_files and kit.cd_path(tree) in yaml_files
    for path in yaml_files:
        objects = kit.docs(tree.files[path])
        assert objects, f"{where}: {path} holds no object"
        for obj in objects:
            validate_object(obj, crd_dir, f"{where} {path}")
    check_references(kit.docs(tree.files[manifest]), where)

    for path in (p for p in tree.files if p.endswith(".tf")):
        parsed = hcl2.loads(tree.files[path].decode("utf-8"))
        if path.endswith("/main.tf"):
            assert parsed.get("module") or parsed.get("resource"), f"{where} {path}: no module or resource"
        for label, body in hcl_module_blocks(parsed):
            source, version = body.get("source"), body.get("version")
            assert source, f"{where} {path}: module {label} has no source"
            pinned = (isinstance(version, str) and PINNED.match(version)) or (version is None and "?ref=" in source)
            assert pinned, f"{where} {path}: module {label} is not pinned: version {version!r}, source {source!r}"

    cd = kit.docs(tree.files[kit.cd_path(tree)])
    assert [(o["apiVersion"], o["kind"]) for o in cd] == [("argoproj.io/v1alpha1", "Application")]
    app = cd[0]
    assert app["spec"]["source"]["path"] == tree.plan.env["paths"]["manifests"]
    assert app["spec"]["destination"]["namespace"] == tree.plan.env["namespace"]


def test_production_terraform_pins_modules(kit: RenderKit) -> None:
    """The MySQL example in production: a root module with a pinned RDS module, providers and an S3 backend."""
    folder = kit.shared(*kit.EXAMPLES, "12-mysql-database")
    tree = kit.example(folder, "production")
    tf = {p.rsplit("/", 1)[1]: hcl2.loads(b.decode("utf-8")) for p, b in tree.files.items() if p.endswith(".tf")}
    assert set(tf) == {"main.tf", "versions.tf", "providers.tf"}
    modules = dict(hcl_module_blocks(tf["main.tf"]))
    assert list(modules) == ["hello_world_db"]
    (body,) = modules.values()
    assert body["source"] == "terraform-aws-modules/rds/aws"
    assert body["version"] == "6.10.0"
    terraform = tf["versions.tf"]["terraform"][0]
    assert "s3" in terraform["backend"][0]
    providers = {k: v[0] for k, v in terraform["required_providers"][0].items() if not k.startswith("__")}
    assert set(providers) == {"aws", "random"}
    assert {p["source"] for p in providers.values()} == {"hashicorp/aws", "hashicorp/random"}


def test_every_example_is_covered(kit: RenderKit) -> None:
    """All thirteen score-compose examples are there, so the parametrised tests above ran on each."""
    root = kit.shared(*kit.EXAMPLES)
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert len(names) == 13, names


def test_flux_environment_renders_valid_kustomization(kit: RenderKit) -> None:
    crd_dir = kit.crd_dir()
    rules = kit.rules(edit={("Environment", "development"): lambda rule: rule["spec"].update(cd={"tool": "flux"})})
    folder = kit.shared(*kit.EXAMPLES, "01-hello")
    tree = kit.render(kit.spec_files(folder), "development", rules=rules)
    cd = kit.docs(tree.files[kit.cd_path(tree)])
    assert kit.kinds(cd) == ["GitRepository", "Kustomization"]
    for obj in cd:
        validate_object(obj, crd_dir, f"flux {kit.cd_path(tree)}")
    repo, kustomization = cd
    spec = kustomization["spec"]
    assert spec["sourceRef"] == {
        "kind": "GitRepository",
        "name": repo["metadata"]["name"],
        "namespace": repo["metadata"]["namespace"],
    }
    assert spec["path"] == "./" + tree.plan.env["paths"]["manifests"]
    assert spec["targetNamespace"] == tree.plan.env["namespace"]
    assert spec["prune"] is True
    # The application's own manifests do not change with the CD tool.
    argo = kit.example(folder, "development")
    assert tree.files[kit.manifest_path(tree)] == argo.files[kit.manifest_path(argo)]


def _rendered(case: Path) -> dict[str, str]:
    outcome: dict[str, str] = yaml.safe_load(case.read_text(encoding="utf-8"))["outcome"]
    return {} if "exit" in outcome else outcome  # a case that shows a refusal renders nothing


GOLDEN_RENDERS = [p for p in sorted((REPO / "golden" / "render").glob("*.yaml")) if _rendered(p)]


@pytest.mark.parametrize("case", GOLDEN_RENDERS, ids=[p.stem for p in GOLDEN_RENDERS])
def test_golden_renders_are_valid(kit: RenderKit, case: Path) -> None:
    """Every object of every golden render (the hardened cases too) against Kubernetes strict and the CRDs."""
    outcome = _rendered(case)
    crd_dir = kit.crd_dir()
    for path, text in outcome.items():
        if path.endswith(".yaml"):
            objects = kit.docs(text)
            for obj in objects:
                validate_object(obj, crd_dir, f"{case.stem} {path}")
            if path.endswith("manifest.yaml"):
                check_references(objects, case.stem)
