"""A synthetic fleet for the benchmark: N apps, each two workloads with three resources, in three environments."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ENVS = ("development", "staging", "production")

API = """apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  api:
    image: .
    variables:
      DATABASE_URL: "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.name}"
      REDIS_HOST: ${resources.cache.host}
      REDIS_PASSWORD: ${resources.cache.password}
      PUBLIC_URL: ${resources.dns.url}
      LOG_LEVEL: info
      OTEL_SERVICE_NAME: APP-api
    files:
      /etc/app/config.yaml:
        content: |
          name: ${metadata.name}
          url: ${resources.dns.url}
    readinessProbe:
      httpGet:
        path: /ready
        port: 8080
service:
  ports:
    http:
      port: 80
      targetPort: 8080
resources:
  db:
    type: postgres
    id: main
  cache:
    type: redis
  dns:
    type: dns
"""

WORKER = """apiVersion: score.dev/v1b1
metadata:
  name: worker
containers:
  worker:
    image: .
    args: ["work"]
    variables:
      DATABASE_URL: "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.name}"
      BUCKET: ${resources.bucket.bucket}
      QUEUE: amqp://${resources.queue.host}:${resources.queue.port}
      OTEL_SERVICE_NAME: APP-worker
resources:
  db:
    type: postgres
    id: main
  bucket:
    type: s3
  queue:
    type: amqp
"""

STAGING = """---
apiVersion: plato.dev/v1
kind: Environment
name: staging
match:
  env: staging
spec:
  env_type: development
  cluster: staging
  namespace: "{{ app }}-{{ env }}"
  createNamespace: true
  domain: staging.example.com
  gateway:
    name: shared-gateway
    namespace: gateway-system
  secretStore:
    kind: ClusterSecretStore
    name: staging-secrets
    pathPrefix: "staging/{{ app }}"
  cd:
    tool: flux
"""


def app_name(i: int) -> str:
    return f"app{i:04d}"


def write_specs(folder: Path, app: str = "app0000") -> list[Path]:
    """The two workload specs of one app. Each app's specs differ (a variable holds its name), as a real fleet's
    do: no cache may treat the fleet as one app."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "api.score.yaml").write_text(API.replace("APP", app))
    (folder / "worker.score.yaml").write_text(WORKER.replace("APP", app))
    return [folder / "api.score.yaml", folder / "worker.score.yaml"]


def write_rules(bundled: Path, target: Path, memory: str = "256Mi") -> Path:
    """The bundled rules plus a staging environment; `memory` varies the production default (a rule change)."""
    shutil.copytree(bundled, target)
    (target / "11-staging.yaml").write_text(STAGING)
    profiles = target / "20-profiles.yaml"
    profiles.write_text(
        profiles.read_text().replace(
            "memory: 256Mi\n    limits:\n      memory: 512Mi", f"memory: {memory}\n    limits:\n      memory: 512Mi"
        )
    )
    return target


def context(i: int, env: str) -> list[str]:
    return [f"env={env}", f"app={app_name(i)}", "org=acme", f"source_sha={i:040x}", "source_time=1700000000"]


def compile_plato() -> None:
    """plato's bytecode, as `pip install` writes it: an editable install under PYTHONDONTWRITEBYTECODE (as on some
    machines) would otherwise compile every module on every run, and a benchmark would measure the compiler."""
    import compileall

    import generator

    compileall.compile_dir(Path(generator.__file__).parent, quiet=1)


def build_repo(n: int, rules: Path, work: Path, bare: Path) -> None:
    """The deployment repository of a fleet that was published with `rules`, written in one commit."""
    from generator.commands.deploy import rendered
    from generator.deploy.publish import GITATTRIBUTES, desired
    from generator.deploy.tree import write_files
    from generator.pipeline import Inputs

    work.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    for i in range(n):
        specs = write_specs(work.parent / f"{work.name}-specs" / app_name(i), app_name(i))
        for env in ENVS:
            inputs = Inputs.load(
                specs, context=context(i, env), image=f"ghcr.io/acme/{app_name(i)}:1.0.0", rules_dir=rules
            )
            tree, record = rendered(inputs)
            write_files(work, desired(tree, record))
    (work / ".gitattributes").write_bytes(GITATTRIBUTES)
    git = ["git", "-C", str(work), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", f"fleet of {n}"], check=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run([*git, "push", "-q", str(bare), "main"], check=True)
