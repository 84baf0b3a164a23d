"""No false positive: every conformance Score file that rendered with the bundled rules before the secret check
existed still renders, and publishes into a real bare repository, with the check in place.

RENDERED lists the (env, file) pairs that rendered on main before this check (56 of the 84): the others fail
for reasons of their own (a resource type the bundled rules do not cover), which this test does not judge.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from testkit.git import git, init_bare
from testkit.render import production_ready_copy
from testkit.shared import shared_dir

from generator.cli import main

RENDERED = [
    "development:community-provisioners/dns/score.yaml",
    "development:community-provisioners/environment/score.yaml",
    "development:community-provisioners/redis/score.yaml",
    "development:community-provisioners/route/score.yaml",
    "development:community-provisioners/service/score-backend.yaml",
    "development:score-compose/examples/01-hello/score.yaml",
    "development:score-compose/examples/02-environment/score.yaml",
    "development:score-compose/examples/03-files/score.yaml",
    "development:score-compose/examples/04-multiple-workloads/score.yaml",
    "development:score-compose/examples/04-multiple-workloads/score2.yaml",
    "development:score-compose/examples/05-volume-mounts/score.yaml",
    "development:score-compose/examples/06-resource-provisioning/score.yaml",
    "development:score-compose/examples/06-resource-provisioning/score2.yaml",
    "development:score-compose/examples/07-overrides/score.yaml",
    "development:score-compose/examples/08-service-port-resource/scoreA.yaml",
    "development:score-compose/examples/09-dns-and-route/score.yaml",
    "development:score-compose/examples/10-amqp-rabbitmq/score.yaml",
    "development:score-compose/examples/11-mongodb-document-database/score.yaml",
    "development:score-compose/examples/12-mysql-database/score.yaml",
    "development:score-compose/examples/13-kafka-topic/score.yaml",
    "development:score-compose/init-default-sample.score.yaml",
    "development:score-k8s/01-generate-example.score.yaml",
    "development:score-k8s/02-generate-example.score.yaml",
    "development:score-k8s/04-generate-example-a.score.yaml",
    "development:score-k8s/05-generate-example-b.score.yaml",
    "development:score-k8s/07-generate-example.score.yaml",
    "development:score-k8s/08-resources-example.score.yaml",
    "development:score-k8s/init-default-sample.score.yaml",
    "production:community-provisioners/dns/score.yaml",
    "production:community-provisioners/environment/score.yaml",
    "production:community-provisioners/redis/score.yaml",
    "production:community-provisioners/route/score.yaml",
    "production:community-provisioners/service/score-backend.yaml",
    "production:score-compose/examples/01-hello/score.yaml",
    "production:score-compose/examples/02-environment/score.yaml",
    "production:score-compose/examples/03-files/score.yaml",
    "production:score-compose/examples/04-multiple-workloads/score.yaml",
    "production:score-compose/examples/04-multiple-workloads/score2.yaml",
    "production:score-compose/examples/05-volume-mounts/score.yaml",
    "production:score-compose/examples/06-resource-provisioning/score.yaml",
    "production:score-compose/examples/06-resource-provisioning/score2.yaml",
    "production:score-compose/examples/07-overrides/score.yaml",
    "production:score-compose/examples/08-service-port-resource/scoreA.yaml",
    "production:score-compose/examples/09-dns-and-route/score.yaml",
    "production:score-compose/examples/10-amqp-rabbitmq/score.yaml",
    "production:score-compose/examples/11-mongodb-document-database/score.yaml",
    "production:score-compose/examples/12-mysql-database/score.yaml",
    "production:score-compose/examples/13-kafka-topic/score.yaml",
    "production:score-compose/init-default-sample.score.yaml",
    "production:score-k8s/01-generate-example.score.yaml",
    "production:score-k8s/02-generate-example.score.yaml",
    "production:score-k8s/04-generate-example-a.score.yaml",
    "production:score-k8s/05-generate-example-b.score.yaml",
    "production:score-k8s/07-generate-example.score.yaml",
    "production:score-k8s/08-resources-example.score.yaml",
    "production:score-k8s/init-default-sample.score.yaml",
]


@pytest.mark.parametrize("case", RENDERED)
def test_a_conformance_file_still_publishes(case: str, tmp_path: Path) -> None:
    env, rel = case.split(":", 1)
    spec = shared_dir("conformance", "score", *rel.split("/"))
    if env == "production":  # production refuses ':latest' images: a copy with them pinned (the only change)
        spec = production_ready_copy(spec, tmp_path / "ready")
    remote = init_bare(tmp_path / "remote.git")
    args = ["-c", f"env={env}", "-c", "app=conf", "-c", "org=acme", "--image", "ghcr.io/acme/x:1"]

    result = CliRunner().invoke(main, ["publish", str(spec), *args, "--repo", str(remote.path)])

    assert result.exit_code == 0, result.output
    assert remote.count() == 1
    assert "***" not in git("log", "-p", "main", cwd=remote.path), "the mask hid part of a clean publish"
