"""Who a workload is (generator/create/identity.py): its own ServiceAccount or the Environment's shared one,
annotations its resources' rules ask for, and one cloud identity per workload (an EKS Pod Identity role, a GKE
Workload Identity service account) built from the rules' grants, on small rule folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testkit.build import dump, env_rule, resource_rule, score, yaml_text
from testkit.objects import docs, find, pod_spec

from generator.create.hcl import Block
from generator.create.identity import gcp_account, identity_blocks, service_account_name
from generator.create.render import RenderedTree
from generator.create.resources import provision
from generator.match.plan import Plan
from generator.pipeline import Inputs

TERRAFORM = {
    "backend": {"type": "local"},
    "providers": {"aws": {"source": "hashicorp/aws", "version": "~> 5.80"}},
    "storeWriter": "aws-secretsmanager",
}


def _grant(name: str, type_: str, actions: list[str], arn: str) -> dict[str, Any]:
    spec = {"outputs": {"host": "x"}, "identity": {"aws": [{"actions": actions, "resources": [arn]}]}}
    return resource_rule(name, type_, spec)


def _app(
    tmp_path: Path, rules: list[Any], workloads: dict[str, dict[str, str]], **env: Any
) -> tuple[Plan, RenderedTree]:
    """Workloads (name -> {resource: type}) of app `shop` in development, rendered with these rules."""
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "10.yaml").write_text(yaml_text([env_rule(**env), *rules]), encoding="utf-8")
    paths = []
    for name, resources in workloads.items():
        path = tmp_path / f"{name}.yaml"
        spec = score(name, {r: {"type": t} for r, t in resources.items()}, image="nginx:1.27")
        path.write_text(dump(spec), encoding="utf-8")
        paths.append(path)
    inputs = Inputs.load(paths, context=["env=development", "app=shop"], rules_dir=folder)
    return inputs.plan(), inputs.render(quiet=True)


def _blocks(plan: Plan) -> dict[tuple[str, ...], Block]:
    return {b.labels: b for b in identity_blocks(plan, provision(plan))}


def test_each_workload_gets_its_own_account_unless_the_environment_shares_one(tmp_path: Path) -> None:
    _, tree = _app(tmp_path, [], {"web": {}, "worker-2": {}})
    objects = docs(tree.files["development/shop/manifest.yaml"])
    assert sorted(o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount") == ["web", "worker-2"]
    assert pod_spec(find(objects, "Deployment", "worker-2"))["serviceAccountName"] == "worker-2"
    plan, shared = _app(tmp_path, [], {"web": {}}, serviceAccount="platform-runner")
    objects = docs(shared.files["development/shop/manifest.yaml"])
    assert [o for o in objects if o["kind"] == "ServiceAccount"] == []  # the platform's own, not plato's
    assert pod_spec(find(objects, "Deployment", "web"))["serviceAccountName"] == "platform-runner"
    assert service_account_name(plan, plan.workloads[0]) == "platform-runner"


def test_the_annotations_every_resource_asks_for_are_merged(tmp_path: Path) -> None:
    rules = [
        resource_rule("aa", "aa", {"outputs": {"host": "x"}, "serviceAccount": {"annotations": {"x.io/a": "1"}}}),
        resource_rule("bb", "bb", {"outputs": {"host": "x"}, "serviceAccount": {"annotations": {"x.io/b": "2"}}}),
    ]
    _, tree = _app(tmp_path, rules, {"web": {"one": "aa", "two": "bb"}, "other": {}})
    objects = docs(tree.files["development/shop/manifest.yaml"])
    assert find(objects, "ServiceAccount", "web")["metadata"]["annotations"] == {"x.io/a": "1", "x.io/b": "2"}
    assert "annotations" not in find(objects, "ServiceAccount", "other")["metadata"]


def test_an_aws_role_per_workload_holds_only_its_own_resources_grants(tmp_path: Path) -> None:
    rules = [
        _grant("s3", "s3", ["s3:PutObject", "s3:GetObject"], "arn:aws:s3:::files/*"),
        _grant("sqs", "sqs", ["sqs:SendMessage"], "arn:aws:sqs:eu-west-1:1:q"),
    ]
    plan, _ = _app(tmp_path, rules, {"web": {"files": "s3", "queue": "sqs"}, "worker": {"queue": "sqs"}, "idle": {}},
                   terraform=TERRAFORM, cluster="dev-eks")  # fmt: skip
    blocks = _blocks(plan)
    assert sorted(ident for _, ident in blocks) == ["workload_web"] * 3 + ["workload_worker"] * 3  # idle: none
    web = blocks[("aws_iam_role_policy", "workload_web")].attrs["policy"]["expr"]
    assert web.index("s3:GetObject") < web.index("s3:PutObject") < web.index("sqs:SendMessage")  # sorted
    worker = blocks[("aws_iam_role_policy", "workload_worker")].attrs["policy"]["expr"]
    assert "sqs:SendMessage" in worker and "s3:" not in worker
    association = blocks[("aws_eks_pod_identity_association", "workload_web")].attrs
    assert association["cluster_name"] == "dev-eks" and association["service_account"] == "web"
    assert association["namespace"] == "shop-development"
    assert blocks[("aws_iam_role", "workload_web")].attrs["name"] == "shop-development-web"


def test_a_long_role_name_stays_within_aws_limits_and_apart(tmp_path: Path) -> None:
    rules = [_grant("s3", "s3", ["s3:GetObject"], "arn:aws:s3:::files/*")]
    long_names = {"a" * 55 + "-one": {"files": "s3"}, "a" * 55 + "-two": {"files": "s3"}}
    plan, _ = _app(tmp_path, rules, long_names, terraform=TERRAFORM, cluster="dev-eks")
    roles = [b.attrs["name"] for b in identity_blocks(plan, provision(plan)) if b.labels[0] == "aws_iam_role"]
    assert len(roles) == 2 and len(set(roles)) == 2 and all(len(r) <= 64 for r in roles)


def test_a_google_service_account_id_is_at_most_30_characters_and_stays_valid(tmp_path: Path) -> None:
    plan, _ = _app(tmp_path, [], {"wx": {}})
    assert gcp_account(plan, plan.workloads[0]) == "shop-development-wx"  # in range: as it is
    long_plan, _ = _app(tmp_path, [], {"a-rather-long-workload-name": {}, "a-rather-long-workload-name-2": {}})
    accounts = [gcp_account(long_plan, w) for w in long_plan.workloads]
    assert all(len(a) == 30 and a[0].isalpha() and a[-1].isalnum() for a in accounts)
    assert len(set(accounts)) == 2  # a shared prefix keeps them apart by the hash
