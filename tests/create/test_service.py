"""The Service in front of a workload's `service.ports` (generator/create/service.py): its ports as the spec
declares them and a selector that picks this workload's pods and no other's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testkit.build import dump, env_rule, score, yaml_text
from testkit.objects import docs, find

from generator.pipeline import Inputs


def _objects(tmp_path: Path, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "10.yaml").write_text(yaml_text([env_rule()]), encoding="utf-8")
    paths = []
    for spec in specs:
        path = tmp_path / f"{spec['metadata']['name']}.yaml"
        path.write_text(dump(spec), encoding="utf-8")
        paths.append(path)
    tree = Inputs.load(paths, context=["env=development", "app=shop"], rules_dir=rules).render(quiet=True)
    return docs(tree.files["development/shop/manifest.yaml"])


def _with_ports(name: str, ports: dict[str, Any]) -> dict[str, Any]:
    spec = score(name, image="nginx:1.27")
    spec["service"] = {"ports": ports}
    return spec


def test_ports_keep_their_protocol_and_a_missing_target_port_is_the_port(tmp_path: Path) -> None:
    ports = {"dns": {"port": 53, "protocol": "UDP"}, "http": {"port": 80, "targetPort": 8080}}
    service = find(_objects(tmp_path, [_with_ports("web", ports)]), "Service", "web")
    assert service["metadata"]["namespace"] == "shop-development"
    assert service["spec"]["ports"] == [
        {"name": "dns", "port": 53, "targetPort": 53, "protocol": "UDP"},
        {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
    ]


def test_each_service_selects_its_own_workload_s_pods_only(tmp_path: Path) -> None:
    objects = _objects(
        tmp_path, [_with_ports("web", {"http": {"port": 80}}), _with_ports("api", {"grpc": {"port": 9090}})]
    )
    pods = {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"] for o in objects if o["kind"] == "Deployment"
    }
    for name in ("web", "api"):
        selector = find(objects, "Service", name)["spec"]["selector"]
        chosen = [w for w, labels in pods.items() if selector.items() <= labels.items()]
        assert chosen == [name], (name, selector)


def test_a_workload_without_ports_has_no_service(tmp_path: Path) -> None:
    objects = _objects(tmp_path, [score("worker", image="nginx:1.27"), _with_ports("web", {"http": {"port": 80}})])
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Service"] == ["web"]


def test_a_service_carries_its_workload_s_labels_so_the_cd_tool_tracks_it_with_the_app(tmp_path: Path) -> None:
    objects = _objects(tmp_path, [_with_ports("web", {"http": {"port": 80}})])
    service, deployment = find(objects, "Service", "web"), find(objects, "Deployment", "web")
    # Every label but the image's version: a new image rewrites the Deployment, never the Service.
    labels = {k: v for k, v in deployment["metadata"]["labels"].items() if k != "app.kubernetes.io/version"}
    assert service["metadata"]["labels"] == labels
    assert service["metadata"]["labels"]["app.kubernetes.io/part-of"] == "shop"
