"""The Terraform root module of an (env, app): backend keyed by the context, providers, one module block per
provisioned resource (pinned source and version), and what writes module outputs to the secret store."""

from __future__ import annotations

import re
from typing import Any

from generator.create.hcl import Block, document
from generator.create.identity import identity_blocks
from generator.create.resources import Provisioned
from generator.errors import UserError
from generator.match.plan import Plan

_PINNED = re.compile(r"^(=\s*)?v?\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?$")


def _ident(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def terraform_files(plan: Plan, provisioned: dict[str, Provisioned]) -> dict[str, str]:
    tf_nodes = [p for p in provisioned.values() if p.modules or p.tf_resources or p.identity]
    if not tf_nodes:
        return {}
    env_tf = plan.env.get("terraform")
    if not env_tf:
        first = tf_nodes[0].node.rule
        raise UserError.at(
            plan.environment,
            f"rule '{first.name}' provisions with Terraform but Environment '{plan.environment.name}' "
            "has no terraform settings",
            hint="add spec.terraform (backend, providers, storeWriter) to the Environment rule",
        )
    versions = Block("terraform", attrs={"required_version": env_tf.get("version", ">= 1.6")})
    backend = env_tf.get("backend")
    if backend:
        versions.blocks.append(
            Block("backend", (backend["type"],), attrs=dict(sorted((backend.get("config") or {}).items())))
        )
    providers = env_tf.get("providers") or {}
    if providers:
        versions.blocks.append(
            Block(
                "required_providers",
                attrs={name: {"source": p["source"], "version": p["version"]} for name, p in sorted(providers.items())},
            )
        )
    provider_blocks = [
        Block("provider", (name,), attrs=dict(sorted((p.get("config") or {}).items())))
        for name, p in sorted(providers.items())
    ]
    writer = env_tf.get("storeWriter", "aws-secretsmanager")
    main: list[Block] = _aws_key(plan) if writer == "aws-secretsmanager" else []
    for prov in sorted(tf_nodes, key=lambda p: p.node.name):
        main += _module_blocks(prov) + _resource_blocks(prov)
        if prov.store:
            main += _store_writer(writer, prov)
    main += identity_blocks(plan, provisioned)
    files = {
        "versions.tf": document([versions]),
        "main.tf": document(main),
    }
    if provider_blocks:
        files["providers.tf"] = document(provider_blocks)
    return files


# The (env, app)'s customer-managed key: the secrets plato's Terraform writes are encrypted with it, and rules
# refer to it (storage, buckets, RDS's own master secret) as aws_kms_key.secrets.
KMS_KEY = "aws_kms_key.secrets"


def _aws_key(plan: Plan) -> list[Block]:
    account = {"expr": '"arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"'}
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": account},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    return [
        Block("data", ("aws_caller_identity", "current")),
        Block(
            "resource",
            tuple(KMS_KEY.split(".")),
            attrs={
                "description": f"plato {plan.context['env']}/{plan.context['app']}: secrets and data at rest",
                "enable_key_rotation": True,
                "deletion_window_in_days": 30,
                "policy": {"expr": "jsonencode(" + _expr(policy) + ")"},
            },
        ),
    ]


def _module_blocks(prov: Provisioned) -> list[Block]:
    """One module block per module of the rule, its source pinned to an exact version or git ref."""
    rule = prov.node.rule
    blocks = []
    for mname, module in sorted(prov.modules.items()):
        ident = _ident(f"{prov.node.name}_{mname}" if len(prov.modules) > 1 else prov.node.name)
        version = module.get("version")
        source = module["source"]
        if not version and "?ref=" not in source:
            raise UserError.at(
                rule,
                f"rule '{rule.name}': module '{mname}' source {source!r} is not pinned",
                hint="give an exact version (registry modules) or ?ref=<tag> (git sources)",
            )
        if version and not _PINNED.match(str(version)):
            raise UserError.at(
                rule,
                f"rule '{rule.name}': module '{mname}' version {version!r} is a range, not a pin",
                hint="use an exact version such as 6.10.0",
            )
        attrs: dict[str, Any] = {"source": source}
        if version:
            attrs["version"] = str(version)
        attrs.update(dict(sorted((module.get("inputs") or {}).items())))
        blocks.append(Block("module", (ident,), attrs=attrs))
    return blocks


def _resource_blocks(prov: Provisioned) -> list[Block]:
    """The rule's resources; `blocks` are the provider's nested blocks (aws_mq_broker's `user`)."""
    return [
        Block(
            "resource",
            (res["type"], _ident(f"{prov.node.name}_{rname}")),
            attrs=dict(sorted((res.get("attrs") or {}).items())),
            blocks=[
                Block(bname, attrs=dict(sorted(b.items())))
                for bname, items in sorted((res.get("blocks") or {}).items())
                for b in items
            ],
        )
        for rname, res in sorted(prov.tf_resources.items())
    ]


def _store_writer(writer: str, prov: Provisioned) -> list[Block]:
    ident = _ident(prov.node.name)
    values = {"expr": "jsonencode(" + _expr(dict(sorted(prov.store.items()))) + ")"}
    if writer == "aws-secretsmanager":
        return [
            Block(
                "resource",
                ("aws_secretsmanager_secret", ident),
                attrs={"name": prov.store_path, "kms_key_id": {"expr": f"{KMS_KEY}.arn"}},
            ),
            Block(
                "resource",
                ("aws_secretsmanager_secret_version", ident),
                attrs={"secret_id": {"expr": f"aws_secretsmanager_secret.{ident}.id"}, "secret_string": values},
            ),
        ]
    if writer == "gcp-secretmanager":
        return [
            Block(
                "resource",
                ("google_secret_manager_secret", ident),
                attrs={"secret_id": prov.store_path.replace("/", "-")},
                blocks=[Block("replication", blocks=[Block("auto")])],
            ),
            Block(
                "resource",
                ("google_secret_manager_secret_version", ident),
                attrs={"secret": {"expr": f"google_secret_manager_secret.{ident}.id"}, "secret_data": values},
            ),
        ]
    return [
        Block(
            "resource",
            ("vault_kv_secret_v2", ident),
            attrs={"mount": "secret", "name": prov.store_path, "data_json": values},
        )
    ]


def _expr(v: Any) -> str:
    from generator.create.hcl import value

    return value(v, 1)
