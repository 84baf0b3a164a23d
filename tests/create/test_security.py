"""What every workload gets without asking: Pod Security Standards "restricted", a read-only root in production
(with a writable /tmp and an opt-out that records its reason), its own ServiceAccount without the API token,
NetworkPolicy derived from the resource graph, workload identity instead of cloud keys, pinned images, and the
refusals that keep a rollout from stalling."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from testkit.render import RenderKit

DIGEST = "sha256:" + "ab" * 32
TWO_CONTAINERS = """
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  zeta:
    image: .
  alpha:
    image: nginx:1.27
  migrate:
    image: .
    before:
      zeta: {ready: complete}
service:
  ports:
    http: {port: 80, targetPort: 8080}
"""
CALLER = """
apiVersion: score.dev/v1b1
metadata:
  name: caller
containers:
  main:
    image: ghcr.io/acme/caller:1.0.0
    variables:
      WEB: ${resources.web.hostname}
resources:
  web:
    type: service-port
    params: {workload: web, port: http}
  cache:
    type: redis
  route:
    type: route
    params: {host: caller.example.com, port: 9000}
service:
  ports:
    api: {port: 9000}
"""


def workload(objects: list[dict[str, Any]], name: str = "web") -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] == name]
    return found


def all_containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("env", ["development", "production"])
def test_every_container_runs_restricted(kit: RenderKit, env: str) -> None:
    objects = kit.manifest(kit.render(kit.spec(TWO_CONTAINERS), env))
    deployment = workload(objects)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert len(all_containers(deployment)) == 3
    for c in all_containers(deployment):
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["capabilities"] == {"drop": ["ALL"]}, c["name"]
        assert sc["runAsNonRoot"] is True, c["name"]
        # Development relaxes only the read-only root (images write caches and pid files where they like).
        assert sc.get("readOnlyRootFilesystem", False) is (env == "production"), c["name"]
        tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        assert (tmp == [{"name": "plato-tmp", "mountPath": "/tmp"}]) is (env == "production"), c["name"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    assert ("plato-tmp" in volumes) is (env == "production")
    if env == "production":
        assert "emptyDir" in volumes["plato-tmp"]


def test_a_spec_mounting_tmp_keeps_its_own_volume(kit: RenderKit) -> None:
    text = (
        TWO_CONTAINERS.replace(
            "  alpha:\n    image: nginx:1.27\n",
            "  alpha:\n    image: nginx:1.27\n    volumes:\n      /tmp:\n        source: ${resources.scratch}\n",
        )
        + "resources:\n  scratch:\n    type: volume\n    class: shared\n"
    )
    deployment = workload(kit.manifest(kit.render(kit.spec(text), "production")))
    alpha = next(c for c in all_containers(deployment) if c["name"] == "alpha")
    assert [m["name"] for m in alpha["volumeMounts"] if m["mountPath"] == "/tmp"] == ["web-scratch"]


def test_opting_out_of_the_read_only_root_records_the_reason(kit: RenderKit) -> None:
    reason = "the vendored renderer unpacks fonts under /opt at start"
    text = TWO_CONTAINERS.replace(
        "  name: web\n", f'  name: web\n  annotations:\n    plato.dev/writable-root-filesystem: "{reason}"\n'
    )
    deployment = workload(kit.manifest(kit.render(kit.spec(text), "production")))
    assert deployment["metadata"]["annotations"]["plato.dev/writable-root-filesystem"] == reason
    for c in all_containers(deployment):
        assert c["securityContext"]["readOnlyRootFilesystem"] is False
        assert c["securityContext"]["runAsNonRoot"] is True  # the rest of "restricted" stays


def test_opting_out_without_a_reason_is_refused(kit: RenderKit) -> None:
    text = TWO_CONTAINERS.replace(
        "  name: web\n", '  name: web\n  annotations:\n    plato.dev/writable-root-filesystem: " "\n'
    )
    for env in ("production", "development"):
        result = kit.cli_render(kit.spec(text), env, "--image", kit.IMAGE)
        kit.assert_user_error(result, "score.yaml:", "needs a reason")


def test_the_first_container_is_the_default_one(kit: RenderKit) -> None:
    deployment = workload(kit.manifest(kit.render(kit.spec(TWO_CONTAINERS))))
    pod = deployment["spec"]["template"]
    assert len(pod["spec"]["containers"]) == 2
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["migrate"]
    first = pod["spec"]["containers"][0]["name"]
    assert pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"] == first
    one = TWO_CONTAINERS.split("  alpha:")[0].replace("    before:\n      zeta: {ready: complete}\n", "")
    single = workload(kit.manifest(kit.render(kit.spec(one, "one.yaml"))))
    assert "annotations" not in single["spec"]["template"]["metadata"]


def test_containers_keep_the_spec_order(kit: RenderKit) -> None:
    deployment = workload(kit.manifest(kit.render(kit.spec(TWO_CONTAINERS))))
    assert [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]] == ["zeta", "alpha"]
    annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    assert annotations.get("kubectl.kubernetes.io/default-container") == "zeta"


def test_a_record_keeps_the_spec_order(kit: RenderKit) -> None:
    """The record's JSON sorts keys; a re-render from it still puts the containers in the spec's order."""
    import json

    from generator.deploy.record import make_record
    from generator.pipeline import inputs_from_record

    tree = kit.render(kit.spec(TWO_CONTAINERS))
    record = json.loads(make_record(tree.plan.context, tree.plan.workloads, None, []))
    again = inputs_from_record(record, "record.json", None)
    assert [c.name for c in again.workloads[0].containers] == [c.name for c in tree.plan.workloads[0].containers]
    assert [c.name for c in again.workloads[0].containers][:2] == ["zeta", "alpha"]


@pytest.mark.parametrize("env", ["development", "production"])
def test_each_workload_has_its_own_service_account_without_the_token(kit: RenderKit, env: str) -> None:
    objects = kit.manifest(kit.render([kit.spec(TWO_CONTAINERS), kit.spec(CALLER, "caller.yaml")], env))
    for name in ("web", "caller"):
        pod = workload(objects, name)["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == name
        assert pod["automountServiceAccountToken"] is False
        account = kit.find(objects, "ServiceAccount", name)
        assert account["automountServiceAccountToken"] is False


def test_a_rule_that_needs_the_token_gets_it_for_its_workloads_only(kit: RenderKit) -> None:
    def needs_token(rule: dict[str, Any]) -> None:
        rule["spec"]["serviceAccount"] = {"automountToken": True, "annotations": {"example.com/role": "reader"}}

    rules = kit.rules(edit={("Resource", "redis-dev"): needs_token})
    objects = kit.manifest(kit.render([kit.spec(TWO_CONTAINERS), kit.spec(CALLER, "caller.yaml")], rules=rules))
    assert workload(objects, "caller")["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    account = kit.find(objects, "ServiceAccount", "caller")
    assert account["automountServiceAccountToken"] is True
    assert account["metadata"]["annotations"] == {"example.com/role": "reader"}
    assert workload(objects, "web")["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def policies(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}


def selects(peer: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = peer.get("podSelector", {}).get("matchLabels")
    return wanted is not None and "namespaceSelector" not in peer and wanted.items() <= labels.items()


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["spec"]["template"]["metadata"]["labels"])


@pytest.mark.parametrize("env", ["development", "production"])
def test_network_policy_denies_by_default_and_allows_the_graph(kit: RenderKit, env: str) -> None:
    objects = kit.manifest(kit.render([kit.spec(TWO_CONTAINERS), kit.spec(CALLER, "caller.yaml")], env))
    p = policies(objects)
    assert p["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = p["allow-dns"]["egress"][0]
    assert {"protocol": "UDP", "port": 53} in dns["ports"]
    web, caller = workload(objects, "web"), workload(objects, "caller")
    assert p["web"]["podSelector"]["matchLabels"].items() <= pod_labels(web).items()
    # caller depends on web (a service-port resource naming it): web admits caller on its pod port, and only it.
    (admit,) = p["web"]["ingress"]
    assert [selects(peer, pod_labels(caller)) for peer in admit["from"]] == [True]
    assert admit["ports"] == [{"protocol": "TCP", "port": 8080}]
    reach = [e for e in p["caller"]["egress"] if any(selects(t, pod_labels(web)) for t in e.get("to", []))]
    assert reach and reach[0]["ports"] == [{"protocol": "TCP", "port": 8080}]
    # caller's route: ingress from the Gateway's namespace on the port the route sends to.
    gateway = [i for i in p["caller"]["ingress"] if "namespaceSelector" in i["from"][0]]
    assert gateway[0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "gateway-system"
    }
    assert gateway[0]["ports"] == [{"protocol": "TCP", "port": 9000}]
    assert "egress" not in p["web"]  # web uses nothing: only DNS (from allow-dns)


def test_in_cluster_dependency_admits_its_users_and_cloud_dependency_is_reached_on_its_port(kit: RenderKit) -> None:
    spec = kit.spec(CALLER, "caller.yaml")
    dev = kit.manifest(kit.render([kit.spec(TWO_CONTAINERS), spec], "development"))
    p = policies(dev)
    redis = next(o for o in dev if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "caller-cache")
    caller = workload(dev, "caller")
    assert any(selects(t, pod_labels(redis)) for e in p["caller"]["egress"] for t in e.get("to", []))
    assert [selects(peer, pod_labels(caller)) for peer in p["caller-cache"]["ingress"][0]["from"]] == [True]
    prod = kit.manifest(kit.render([kit.spec(TWO_CONTAINERS, "web2.yaml"), spec], "production"))
    assert {"ports": [{"protocol": "TCP", "port": 6379}]} in policies(prod)["caller"]["egress"]


def test_a_new_type_gets_its_policy_from_the_same_facts(kit: RenderKit) -> None:
    """A type plato has never heard of, whose rule runs a Deployment: its pods are labelled and admit their
    users, with no code or rule field about networking."""
    rule = """
    apiVersion: plato.dev/v1
    kind: Resource
    name: search-dev
    match: {type: search}
    spec:
      outputs:
        host: "{{ resource.name }}"
      manifests: |
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ resource.name }}
        spec:
          selector: {matchLabels: {app: "{{ resource.name }}"}}
          template:
            metadata: {labels: {app: "{{ resource.name }}"}}
            spec:
              containers: [{name: search, image: "opensearch:2.17.1"}]
    """
    rules = kit.rules(extra={"60-search.yaml": rule})
    objects = kit.manifest(kit.render(kit.resource_spec("search"), rules=rules))
    search = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "web-thing")
    assert pod_labels(search)["plato.dev/resource"] == "web-thing"
    p = policies(objects)
    assert p["web-thing"]["podSelector"] == {"matchLabels": {"plato.dev/resource": "web-thing"}}
    assert selects(p["web-thing"]["ingress"][0]["from"][0], pod_labels(workload(objects)))


def test_production_refuses_latest_and_accepts_a_digest(kit: RenderKit) -> None:
    spec = kit.spec(TWO_CONTAINERS)
    result = kit.cli_render(spec, "production", "--image", "registry.example.com/web:latest")
    kit.assert_user_error(result, "score.yaml:", "'registry.example.com/web:latest'", "mutable", "@sha256:")
    assert not kit.out.exists()
    assert kit.cli_render(spec, "development", "--image", "registry.example.com/web:latest").exit_code == 0
    pinned = f"registry.example.com/web:1.4.2@{DIGEST}"
    objects = kit.manifest(kit.render(spec, "production", image=pinned))
    deployment = workload(objects)
    assert {c["image"] for c in all_containers(deployment) if c["name"] != "alpha"} == {pinned}
    latest_by_digest = kit.render(spec, "production", image=f"registry.example.com/web:latest@{DIGEST}")
    zeta = next(c for c in all_containers(workload(kit.manifest(latest_by_digest))) if c["name"] == "zeta")
    assert zeta["image"].endswith(DIGEST)  # a digest pins the image whatever its tag says


VOLUME = """
apiVersion: score.dev/v1b1
metadata:
  name: store
{annotations}containers:
  main:
    image: ghcr.io/acme/store:1.0.0
    volumes:
      /data:
        source: ${{resources.data}}
resources:
  data:
    type: volume
{klass}"""


def test_a_single_node_volume_under_several_replicas_is_refused(kit: RenderKit) -> None:
    spec = kit.spec(VOLUME.format(annotations="", klass=""))
    result = kit.cli_render(spec, "production")
    out = kit.assert_user_error(result, "score.yaml:8", "ReadWriteOnce", "StatefulSet", "ReadWriteMany")
    assert "10 replicas" in out
    assert kit.cli_render(spec, "development").exit_code == 0  # one replica: nothing to share


@pytest.mark.parametrize(
    ("annotations", "klass"),
    [("  annotations:\n    plato.dev/kind: StatefulSet\n", ""), ("", "    class: shared\n")],
    ids=["statefulset", "shared-class"],
)
def test_the_two_ways_out_render(kit: RenderKit, annotations: str, klass: str) -> None:
    objects = kit.manifest(kit.render(kit.spec(VOLUME.format(annotations=annotations, klass=klass)), "production"))
    kind = workload(objects, "store")["kind"]
    assert kind == ("StatefulSet" if annotations else "Deployment")
    if klass:
        claim = kit.find(objects, "PersistentVolumeClaim", "store-data")
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def web_using(variables: dict[str, str], resources: dict[str, str]) -> str:
    """A workload `web` whose variables read the given outputs of resources of the given types."""
    env = "".join(f"      {k}: ${{resources.{v}}}\n" for k, v in variables.items())
    res = "".join(f"  {name}:\n    type: {type_}\n" for name, type_ in resources.items())
    head = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
    return head + f"    image: ghcr.io/acme/web:1.0.0\n    variables:\n{env}resources:\n{res}"


S3 = web_using({"BUCKET": "files.bucket", "AWS_ACCESS_KEY_ID": "files.aws_access_key_id"}, {"files": "s3"})


def test_s3_in_production_is_reached_through_workload_identity(kit: RenderKit) -> None:
    tree = kit.render(kit.spec(S3), "production")
    main_tf = next(v.decode() for k, v in tree.files.items() if k.endswith("main.tf"))
    assert "aws_iam_access_key" not in main_tf and "aws_iam_user" not in main_tf
    assert 'resource "aws_eks_pod_identity_association" "workload_web"' in main_tf
    assert 'service_account = "web"' in main_tf
    assert "pods.eks.amazonaws.com" in main_tf
    actions = set(re.findall(r'"(s3:[A-Za-z*]+)"', main_tf))
    assert actions and not any(a.endswith("*") for a in actions)
    variables = {e["name"]: e for e in workload(kit.manifest(tree))["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert variables["AWS_ACCESS_KEY_ID"] == {"name": "AWS_ACCESS_KEY_ID", "value": ""}  # the SDK falls through
    egress = policies(kit.manifest(tree))["web"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]} in egress


def test_a_rule_granting_a_wildcard_action_is_refused(kit: RenderKit) -> None:
    def wildcard(rule: dict[str, Any]) -> None:
        rule["spec"]["identity"]["aws"][0]["actions"] = ["s3:*"]

    rules = kit.rules(edit={("Resource", "s3-prod"): wildcard})
    result = kit.cli_render(kit.spec(S3), "production", "--rules", str(rules))
    kit.assert_user_error(result, "50-production.yaml", "s3:*")


def test_production_terraform_keeps_secrets_out_of_state_and_encrypted(kit: RenderKit) -> None:
    spec = web_using({"DB": "db.password", "BROKER": "queue.url"}, {"db": "postgres", "queue": "amqp"})
    tree = kit.render(kit.spec(spec), "production")
    main_tf = next(v.decode() for k, v in tree.files.items() if k.endswith("main.tf"))
    assert "manage_master_user_password" in main_tf and re.search(r"manage_master_user_password\s+= true", main_tf)
    assert "random_password.web_db" not in main_tf  # RDS holds the master password, Terraform state does not
    assert 'resource "aws_kms_key" "secrets"' in main_tf and "enable_key_rotation     = true" in main_tf
    secrets = re.findall(r'resource "aws_secretsmanager_secret" "[^"]+" \{\n(.*?)\n\}', main_tf, re.S)
    assert secrets and all("kms_key_id = aws_kms_key.secrets.arn" in s for s in secrets)
    # Amazon MQ users are the provider's nested block, not an attribute.
    broker = re.search(r'resource "aws_mq_broker" "web_queue_broker" \{\n(.*?)\n\}\n', main_tf, re.S)
    assert broker and re.search(r"\n  user \{\n", broker.group(1)) and "user =" not in broker.group(1)
    objects = kit.manifest(tree)
    master = kit.find(objects, "ExternalSecret", "web-db-master")
    tags = master["spec"]["dataFrom"][0]["find"]["tags"]
    assert tags == {"aws:rds:primaryDBInstanceArn": "arn:aws:rds:eu-west-1:123456789012:db:demo-production-web-db"}
    store = json.dumps([o for o in objects if o["kind"] == "ExternalSecret"])
    assert '"property": "url"' in store  # the broker URL (amqps://, written by Terraform) comes from the store
    assert "amqps://" in main_tf and "amqp://" not in main_tf.replace("amqps://", "")


GCS_RULE = """
apiVersion: plato.dev/v1
kind: Resource
name: gcs-prod
match: {type: gcs, env_type: production}
spec:
  outputs:
    bucket: "{{ app }}-{{ resource.name }}"
  identity:
    gcp:
      - type: google_storage_bucket_iam_member
        attrs: {bucket: "{{ app }}-{{ resource.name }}", role: roles/storage.objectUser}
"""


def on_gcp(rule: dict[str, Any]) -> None:
    rule["spec"]["cloud"] = {"provider": "gcp", "project": "acme-prod"}


def test_gcp_resources_are_reached_through_workload_identity(kit: RenderKit) -> None:
    rules = kit.rules(extra={"60-gcs.yaml": GCS_RULE}, edit={("Environment", "production"): on_gcp})
    tree = kit.render(kit.spec(web_using({"BUCKET": "files.bucket"}, {"files": "gcs"})), "production", rules=rules)
    main_tf = next(v.decode() for k, v in tree.files.items() if k.endswith("main.tf"))
    assert 'resource "google_service_account" "workload_web"' in main_tf
    assert 'member             = "serviceAccount:acme-prod.svc.id.goog[demo/web]"' in main_tf
    assert 'role               = "roles/iam.workloadIdentityUser"' in main_tf
    binding = re.search(r'resource "google_storage_bucket_iam_member" "workload_web_0" \{\n(.*?)\n\}', main_tf, re.S)
    assert binding and "google_service_account.workload_web.email" in binding.group(1)
    objects = kit.manifest(tree)
    account = kit.find(objects, "ServiceAccount", "web")
    email = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert email == "demo-production-web@acme-prod.iam.gserviceaccount.com"
    assert {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"protocol": "TCP", "port": 80}]} in (
        policies(objects)["web"]["egress"]
    )


def test_a_basic_gcp_role_is_refused(kit: RenderKit) -> None:
    rules = kit.rules(
        extra={"60-gcs.yaml": GCS_RULE.replace("roles/storage.objectUser", "roles/editor")},
        edit={("Environment", "production"): on_gcp},
    )
    spec = kit.spec(web_using({"BUCKET": "files.bucket"}, {"files": "gcs"}))
    kit.assert_user_error(kit.cli_render(spec, "production", "--rules", str(rules)), "60-gcs.yaml", "roles/editor")
