"""NetworkPolicy from the resource graph (generator/create/network.py), on small rule folders built for each
fact the module reads: Terraform dependencies reached on their port (else 443), a Job that is a client and never
a destination, a rule's declared operator pods and peers, routes and the Gateway's namespace, and a dependency
reached through the one it requires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testkit.build import dump, env_rule, resource_rule, score, yaml_text
from testkit.objects import docs

from generator.pipeline import Inputs

DEPLOYMENT = """\
apiVersion: apps/v1
kind: {kind}
metadata:
  name: {{{{ resource.name }}}}
spec:
  selector: {{matchLabels: {{app: "{{{{ resource.name }}}}"}}}}
  template:
    metadata: {{labels: {{app: "{{{{ resource.name }}}}"}}}}
    spec:
      containers: [{{name: c, image: "busybox:1.36"}}]
"""
JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ resource.name }}-migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1.36"}]
"""


def _pods(kind: str = "Deployment") -> str:
    return DEPLOYMENT.format(kind=kind)


def _policies(tmp_path: Path, rules: list[Any], resources: dict[str, str], **env: Any) -> dict[str, dict[str, Any]]:
    """The NetworkPolicies (name -> spec) of workload `web` using `resources` (name -> type)."""
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "10.yaml").write_text(yaml_text([env_rule(**env), *rules]), encoding="utf-8")
    variables = {f"V_{n.upper()}": f"${{resources.{n}.host}}" for n in resources}
    spec = score("web", {n: {"type": t} for n, t in resources.items()}, variables, image="nginx:1.27")
    spec["service"] = {"ports": {"http": {"port": 80, "targetPort": 8080}}}
    path = tmp_path / "score.yaml"
    path.write_text(dump(spec), encoding="utf-8")
    tree = Inputs.load([path], context=["env=development", "app=shop"], rules_dir=folder).render(quiet=True)
    objects = docs(tree.files["development/shop/manifest.yaml"])
    return {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}


def test_a_terraform_dependency_is_reached_on_its_port_output_else_on_443(tmp_path: Path) -> None:
    tf = {"terraform": {"modules": {"db": {"source": "terraform-aws-modules/rds/aws", "version": "6.10.0"}}}}
    rules = [
        resource_rule("pg", "postgres", {"outputs": {"host": "db.example.com", "port": "5432"}, **tf}),
        resource_rule("api", "partner-api", {"outputs": {"host": "api.example.com"}, **tf}),
    ]
    terraform = {
        "backend": {"type": "local"},
        "providers": {"aws": {"source": "hashicorp/aws", "version": "~> 5.80"}},
        "storeWriter": "aws-secretsmanager",
    }
    policies = _policies(tmp_path, rules, {"db": "postgres", "partner": "partner-api"}, terraform=terraform)
    egress = policies["web"]["egress"]
    assert {"ports": [{"protocol": "TCP", "port": 5432}]} in egress
    assert {"ports": [{"protocol": "TCP", "port": 443}]} in egress
    assert len(egress) == 2  # nothing else: no pod in the namespace to reach


def test_a_job_is_a_client_never_a_destination(tmp_path: Path) -> None:
    rules = [resource_rule("seed", "seed", {"outputs": {"host": "x"}, "manifests": JOB})]
    policies = _policies(tmp_path, rules, {"seed": "seed"})
    job = policies["web-seed"]
    assert job["podSelector"] == {"matchLabels": {"plato.dev/resource": "web-seed"}}
    assert "ingress" not in job and job["policyTypes"] == ["Ingress", "Egress"]  # admits nothing
    assert "egress" not in policies["web"]  # the workload does not reach a Job


def test_a_dependency_admits_its_users_and_the_peers_its_rule_names(tmp_path: Path) -> None:
    operator = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "operators"}}}
    network = {"pods": {"cluster-name": "{{ resource.name }}"}, "from": [operator]}
    rules = [resource_rule("pg", "postgres", {"outputs": {"host": "x"}, "manifests": _pods(), "network": network})]
    policies = _policies(tmp_path, rules, {"db": "postgres"})
    db = policies["web-db"]
    assert db["podSelector"] == {"matchLabels": {"cluster-name": "web-db"}}  # as the rule declares them
    users = db["ingress"][0]["from"]
    assert users[-1] == operator and len(users) == 2
    assert users[0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "web"
    assert {"to": [{"podSelector": {"matchLabels": db["podSelector"]["matchLabels"]}}]} in policies["web"]["egress"]


def test_a_dependency_is_reached_through_what_it_requires(tmp_path: Path) -> None:
    topic = {"outputs": {"host": "{{ resource.name }}"}, "requires": {"broker": {"type": "broker"}}}
    rules = [
        resource_rule("topic", "topic", topic),  # only names a thing: no pods, no Terraform
        resource_rule("broker", "broker", {"outputs": {"host": "b"}, "manifests": _pods("StatefulSet")}),
    ]
    policies = _policies(tmp_path, rules, {"events": "topic"})
    broker = next(name for name in policies if name not in ("web", "default-deny", "allow-dns"))
    selector = policies[broker]["podSelector"]
    assert policies["web"]["egress"] == [{"to": [{"podSelector": selector}]}]


def test_a_routed_workload_admits_the_gateway_namespace_on_its_pod_port(tmp_path: Path) -> None:
    route = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ resource.name }}
spec:
  rules:
    - backendRefs: [{name: web, port: 80}]
"""
    rules = [resource_rule("route", "route", {"outputs": {"host": "shop.example.com"}, "manifests": route})]
    for gateway, namespace in (({"name": "gw", "namespace": "edge"}, "edge"), ({"name": "gw"}, "shop-development")):
        web = _policies(tmp_path, rules, {"site": "route"}, gateway=gateway)["web"]
        selector = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
        assert web["ingress"] == [{"from": [selector], "ports": [{"protocol": "TCP", "port": 8080}]}]
    assert "ingress" not in _policies(tmp_path, rules, {"site": "route"})["web"]  # no Gateway: no way in
