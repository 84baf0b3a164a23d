"""Placeholders in a resource's params (generator/create/values.py resolve_params): to the workload's own metadata
as well as to other resources' outputs. `${metadata.name}` there was an internal error (exit 1): every walk over
the params took each placeholder for one to a resource."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from testkit.render import RenderKit

SPEC = """
apiVersion: score.dev/v1b1
metadata:
  name: accounts
containers:
  app:
    image: .
    variables:
      DB_HOST: ${resources.db.host}
resources:
  db:
    type: postgres
    params:
      database: ${metadata.name}_main
"""


@pytest.mark.parametrize("env", ["development", "production"])
def test_a_metadata_placeholder_in_params_is_the_workloads_metadata(kit: RenderKit, env: str) -> None:
    tree = kit.render(kit.spec(SPEC), env, extra=["org=acme"])
    text = b"".join(tree.files.values()).decode()
    assert "accounts_main" in text
    assert "${metadata" not in text


def test_a_metadata_placeholder_in_params_to_a_missing_field_is_bad_input(kit: RenderKit) -> None:
    spec = kit.spec(SPEC.replace("${metadata.name}", "${metadata.team}"))
    kit.assert_user_error(kit.cli_render(spec), f"{spec}:", "${metadata.team}", "metadata has no 'team'")


MYSQL = """
apiVersion: score.dev/v1b1
metadata:
  name: crm
containers:
  app:
    image: .
    variables:
      DB_HOST: ${resources.db.host}
resources:
  db:
    type: mysql
    params:
      version: "8.0"
"""


def test_mysql_takes_a_version_as_postgres_does(kit: RenderKit) -> None:
    """A spec written for another platform (params: {version: "8.0"}) was refused: the param was not accepted."""
    dev = b"".join(kit.render(kit.spec(MYSQL), "development").files.values()).decode()
    assert "image: mysql:8.0" in dev
    prod = kit.render(kit.spec(MYSQL), "production", extra=["org=acme"]).files
    main_tf = next(v.decode() for k, v in prod.items() if k.endswith("main.tf"))
    assert 'engine_version                      = "8.0"' in main_tf and '"mysql8.0"' in main_tf, main_tf
