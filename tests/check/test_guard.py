"""No secret value reaches the deployment repository: outputs are references, and the guard refuses anything that
looks like a credential (saying where it would have gone). Secrets reach containers by reference only."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from generator.check import guard
from generator.check.guard import check_outgoing

if TYPE_CHECKING:
    from testkit.render import RenderKit

GITHUB_TOKEN = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF2hJ4"  # ghp_ + 36 letters and digits
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AKIA + 16 upper case letters and digits (AWS's documented example)
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\n-----END RSA PRIVATE KEY-----\n"
KEY_WITH_SECRET = "# redis ${resources.cache.password}\n"
MANIFEST = "development/demo/manifest.yaml"

LEAKY_RULES = """
apiVersion: plato.dev/v1
kind: Resource
name: leaky-password
match:
  type: leaky
spec:
  outputs:
    host: db.example.com
    password: hunter2
---
apiVersion: plato.dev/v1
kind: Resource
name: leaky-templated-password
match:
  type: leaky-templated
spec:
  outputs:
    host: db.example.com
    password: "{{ 'hunter' ~ '2' }}"
---
apiVersion: plato.dev/v1
kind: Resource
name: leaky-token
match:
  type: leaky-token
spec:
  outputs:
    token: "@TOKEN@"
---
apiVersion: plato.dev/v1
kind: Resource
name: leaky-label
match:
  type: leaky-label
spec:
  outputs:
    label: "@TOKEN@"
---
apiVersion: plato.dev/v1
kind: Resource
name: leaky-terraform
match:
  type: leaky-terraform
  env_type: production
spec:
  outputs:
    name: thing
  terraform:
    modules:
      thing:
        source: acme/thing/aws
        version: 1.2.3
        inputs:
          github: "@TOKEN@"
---
apiVersion: plato.dev/v1
kind: Resource
name: secret-with-data
match:
  type: secret-with-data
spec:
  outputs:
    name: "{{ resource.name }}"
  manifests: |
    apiVersion: v1
    kind: Secret
    metadata:
      name: {{ resource.name }}
    data:
      password: aHVudGVyMg==
---
apiVersion: plato.dev/v1
kind: Resource
name: secret-with-string-data
match:
  type: secret-with-string-data
spec:
  outputs:
    name: "{{ resource.name }}"
  manifests: |
    apiVersion: v1
    kind: Secret
    metadata:
      name: {{ resource.name }}
    stringData:
      password: hunter2
""".replace("@TOKEN@", GITHUB_TOKEN)


REDIS_VARIABLES = """
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx:1.27
    variables:
      REDIS_PASSWORD: ${resources.cache.password}
      REDIS_URL: "redis://${resources.cache.username}:${resources.cache.password}@${resources.cache.host}:6379/0"
      PLAIN: "port ${resources.cache.port}"
"""
REDIS_FILES = """\
    files:
      /etc/redis/client.conf:
        content: |
          host ${resources.cache.host}
          auth ${resources.cache.password}
          literal {{ not a template }}
      /etc/app/plain.conf:
        content: "port=${resources.cache.port}"
"""
REDIS_RESOURCES = """\
resources:
  cache:
    type: redis
"""
REDIS_SPEC = REDIS_VARIABLES + REDIS_FILES + REDIS_RESOURCES


def written(out: Path) -> str:
    """Everything a render wrote under `out`."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file())


def assert_refused(kit: RenderKit, result: Any, *needles: str) -> str:
    out: str = kit.assert_user_error(result, *needles)
    assert not kit.out.exists() or not any(kit.out.rglob("*.yaml")), "a refused render wrote files"
    return out


# -- the examples -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["development", "production"])
def test_example_trees_hold_no_secret_values(kit: RenderKit, example: str | None, env: str) -> None:
    example_dir = kit.example_path(example)
    tree = kit.example(example_dir, env)
    check_outgoing(tree.files)  # raises naming the file and line
    for path, data in tree.files.items():
        if not path.endswith(".yaml"):
            continue
        for obj in kit.docs(data):
            if obj["kind"] == "Secret":
                assert not obj.get("data") and not obj.get("stringData"), f"{path}: Secret {obj['metadata']['name']}"


# -- rules and specs that would leak ----------------------------------------------------------------------------


def test_plain_output_named_password_is_refused(kit: RenderKit) -> None:
    rules = kit.rules(extra={"60-leaky.yaml": LEAKY_RULES})
    result = kit.cli_render(kit.resource_spec("leaky", "password"), rules=rules)
    out = assert_refused(kit, result, "rule 'leaky-password'", "output 'password'", "workload 'web'")
    assert "hunter2" not in out


@pytest.mark.parametrize(
    "type_",
    ["leaky-templated", "leaky"],
)
def test_plain_password_error_names_the_rule_file(kit: RenderKit, type_: str) -> None:
    rules = kit.rules(extra={"60-leaky.yaml": LEAKY_RULES})
    result = kit.cli_render(kit.resource_spec(type_, "password"), rules=rules)
    assert_refused(kit, result, "60-leaky.yaml:")


def test_plain_output_holding_a_github_token_is_refused(kit: RenderKit) -> None:
    rules = kit.rules(extra={"60-leaky.yaml": LEAKY_RULES})
    # Named `token`, the output is refused before anything is rendered, naming the rule.
    result = kit.cli_render(kit.resource_spec("leaky-token", "token"), rules=rules)
    out = assert_refused(kit, result, "rule 'leaky-token'", "output 'token'")
    assert GITHUB_TOKEN not in out
    # Under an innocent name, the guard refuses it in the file it would have been written to.
    result = kit.cli_render(kit.resource_spec("leaky-label", "label", name="label.yaml"), rules=rules)
    out = assert_refused(kit, result, f"{MANIFEST}:", "GitHub Token", "Deployment 'web'")
    assert GITHUB_TOKEN not in out


def test_github_token_in_terraform_is_refused(kit: RenderKit) -> None:
    rules = kit.rules(extra={"60-leaky.yaml": LEAKY_RULES})
    result = kit.cli_render(kit.resource_spec("leaky-terraform", "name"), "production", rules=rules)
    out = assert_refused(kit, result, "terraform/production/demo/main.tf:", "GitHub Token")
    assert GITHUB_TOKEN not in out


def _variable_spec(kit: RenderKit, name: str, value: str) -> Path:
    """A spec whose one container has one variable (on line 8)."""
    return kit.spec(
        f"""
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx:1.27
            variables:
              {json.dumps(name)}: {json.dumps(value)}
        """
    )


def test_aws_key_id_in_a_spec_variable_is_refused(kit: RenderKit) -> None:
    spec = _variable_spec(kit, "AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    # Written in the spec itself: the spec's line is named, before anything is rendered.
    out = assert_refused(kit, kit.cli_render(spec), f"{spec}:8:", "AWS Access Key", "AWS_ACCESS_KEY_ID")
    assert AWS_KEY_ID not in out


def test_refusal_names_the_variable(kit: RenderKit) -> None:
    spec = _variable_spec(kit, "AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    out = kit.assert_user_error(kit.cli_render(spec))
    assert "env.env" not in out
    assert "AWS_ACCESS_KEY_ID" in out


def _file_spec(kit: RenderKit, target: str, content: str, no_expand: bool = True) -> Path:
    """A spec whose one container mounts one file (its target on line 8)."""
    return kit.spec(
        f"""
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx:1.27
            files:
              {target}:
                content: {json.dumps(content)}
                {"noExpand: true" if no_expand else ""}
        """
    )


def test_private_key_in_a_file_is_refused(kit: RenderKit) -> None:
    spec = _file_spec(kit, "/etc/tls/key.pem", PRIVATE_KEY, no_expand=False)
    out = assert_refused(kit, kit.cli_render(spec), f"{spec}:8:", "Private Key", "file /etc/tls/key.pem")
    assert "MIIEowIBAAKCAQEAx" not in out


def test_private_key_in_a_file_with_a_secret_is_refused(kit: RenderKit) -> None:
    spec = kit.spec(
        f"""
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx:1.27
            files:
              /etc/tls/key.pem:
                content: {json.dumps(PRIVATE_KEY + KEY_WITH_SECRET)}
        resources:
          cache:
            type: redis
        """
    )
    result = kit.cli_render(spec, "production")
    assert "BEGIN RSA PRIVATE KEY" not in written(kit.out), "the private key was written"
    assert_refused(kit, result, "Private Key")


@pytest.mark.parametrize("type_", ["secret-with-data", "secret-with-string-data"])
def test_rule_manifest_with_a_secret_holding_data_is_refused(kit: RenderKit, type_: str) -> None:
    rules = kit.rules(extra={"60-leaky.yaml": LEAKY_RULES})
    result = kit.cli_render(kit.resource_spec(type_, "name"), rules=rules)
    out = assert_refused(kit, result, f"{MANIFEST}:", "refusing to write Secret 'web-thing' with data")
    assert "aHVudGVyMg==" not in out and "hunter2" not in out


def test_credential_in_a_context_value_is_refused(kit: RenderKit) -> None:
    spec = kit.resource_spec("dns", "host")
    result = kit.cli_render(spec, "development", "-c", f"ticket={GITHUB_TOKEN}")
    assert GITHUB_TOKEN not in written(kit.out), "the token was written"
    assert_refused(kit, result, "GitHub Token")


# -- secrets by reference ---------------------------------------------------------------------------------------


def test_a_variable_that_is_one_secret_reads_it_by_reference(kit: RenderKit) -> None:
    tree = kit.render(kit.spec(REDIS_SPEC), "production")
    main = kit.container(kit.find(kit.manifest(tree), "Deployment", "web"), "main")
    assert kit.env_var(main, "REDIS_PASSWORD") == {
        "name": "REDIS_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "web-cache-outputs", "key": "password"}},
    }
    assert kit.env_var(main, "PLAIN") == {"name": "PLAIN", "value": "port 6379"}

    # In development (no file templated from the store) the password is the generator's Secret.
    dev = kit.render(kit.spec(REDIS_VARIABLES + REDIS_RESOURCES, folder="dev"), "development")
    main = kit.container(kit.find(kit.manifest(dev), "Deployment", "web"), "main")
    assert kit.env_var(main, "REDIS_PASSWORD")["valueFrom"] == {
        "secretKeyRef": {"name": "web-cache", "key": "password"}
    }


def test_a_variable_mixing_text_and_secrets_uses_helper_variables_defined_first(kit: RenderKit) -> None:
    tree = kit.render(kit.spec(REDIS_SPEC), "production")
    main = kit.container(kit.find(kit.manifest(tree), "Deployment", "web"), "main")
    names = [e["name"] for e in kit.env_list(main)]
    url = kit.env_var(main, "REDIS_URL")
    helpers = {
        "PLATO_SECRET_WEB_CACHE_OUTPUTS_HOST": "host",
        "PLATO_SECRET_WEB_CACHE_OUTPUTS_PASSWORD": "password",
    }
    assert url["value"] == (
        "redis://default:$(PLATO_SECRET_WEB_CACHE_OUTPUTS_PASSWORD)@$(PLATO_SECRET_WEB_CACHE_OUTPUTS_HOST):6379/0"
    )
    for helper, key in helpers.items():
        assert names.index(helper) < names.index("REDIS_URL"), names
        assert kit.env_var(main, helper)["valueFrom"] == {"secretKeyRef": {"name": "web-cache-outputs", "key": key}}
    assert len(names) == len(set(names)), names
    # Pods read variables at start: a rotated Secret restarts them.
    pod = kit.find(kit.manifest(tree), "Deployment", "web")["spec"]["template"]
    assert pod["metadata"]["annotations"]["reloader.stakater.com/auto"] == "true"


def test_a_file_needing_a_production_secret_is_templated_by_external_secrets(kit: RenderKit) -> None:
    tree = kit.render(kit.spec(REDIS_SPEC), "production")
    objects = kit.manifest(tree)
    es = kit.find(objects, "ExternalSecret", "web-secret-files")
    target = es["spec"]["target"]
    assert target["name"] == "web-secret-files"
    assert target["template"]["engineVersion"] == "v2"
    (template,) = target["template"]["data"].values()
    assert template == (
        "host {{ .web_cache_outputs_host }}\n"
        "auth {{ .web_cache_outputs_password }}\n"
        'literal {{ "{{" }} not a template }}\n'
    )
    remote = {d["secretKey"]: d["remoteRef"] for d in es["spec"]["data"]}
    assert remote == {
        "web_cache_outputs_host": {"key": "plato/production/demo/web-cache", "property": "host"},
        "web_cache_outputs_password": {"key": "plato/production/demo/web-cache", "property": "password"},
    }
    assert es["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}

    deployment = kit.find(objects, "Deployment", "web")
    volumes = {v["name"]: v for v in kit.pod_spec(deployment)["volumes"]}
    mounts = {m["mountPath"]: m for m in kit.container(deployment, "main")["volumeMounts"]}
    secret_mount, plain_mount = mounts["/etc/redis/client.conf"], mounts["/etc/app/plain.conf"]
    assert volumes[secret_mount["name"]]["secret"]["secretName"] == "web-secret-files"
    assert secret_mount["subPath"] in target["template"]["data"]
    assert volumes[plain_mount["name"]]["configMap"]["name"] == "web-files"

    configmap = kit.find(objects, "ConfigMap", "web-files")
    assert list(configmap["data"].values()) == ["port=6379"]
    assert "auth" not in str(configmap) and "client.conf" not in str(configmap)


def test_a_file_needing_a_secret_outside_the_store_is_an_error(kit: RenderKit) -> None:
    """In development the redis password is made on the cluster by a generator: no store to template from."""
    spec = kit.spec(REDIS_SPEC)
    kit.assert_user_error(
        kit.cli_render(spec, "development"),
        f"{spec}:",
        "workload 'web': file /etc/redis/client.conf needs secret web-cache/password",
    )


@pytest.mark.parametrize(
    "obj",
    [
        {
            "kind": "Deployment",
            "metadata": {"name": "a"},
            "spec": {"env": [{"name": "DB_PASSWORD", "value": "s3cr3t-v"}]},
        },
        {"kind": "Secret", "metadata": {"name": "a"}, "data": {"k": "dmFsdWU="}},
        {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {GITHUB_TOKEN: "x"}},
        {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"token": AWS_KEY_ID}},
        {"kind": "Job", "metadata": {"name": "a"}, "spec": {"args": ["--password", "hunter2hunter2"]}},
    ],
)
def test_objects_handed_over_with_their_file_are_judged_as_the_file_read_back(obj: dict[str, Any]) -> None:
    """The render hands the guard the objects a YAML file was written from, so it is not parsed back: the
    refusal (what, where, which line) is the one the file read back gets."""
    from generator.check import guard
    from generator.create.emit import dump_documents, ordered
    from generator.errors import UserError

    other = {"kind": "Namespace", "metadata": {"name": "b", "labels": {"team": "shop"}}}
    docs = ordered([obj, other])  # in file order, as the render hands them over
    data = dump_documents(docs).encode()
    messages = []
    for handed in (None, docs):
        guard._CLEAN.clear()
        with pytest.raises(UserError) as err:
            guard.check_blob(MANIFEST, data, handed)
        messages.append((err.value.message, err.value.line, err.value.hint))
    assert messages[0] == messages[1]
    assert messages[0][1] is not None and messages[0][1] > 4  # the second document's line, not the first's


@pytest.mark.parametrize(
    ("command", "at"),
    [
        (["redis-cli", "ACL", "SETUSER", "app", "on", ">BlueHarbor2024", "~app:*"], 5),
        (["redis-cli", "-h", "cache", "acl", "setuser", "app", "on", "~*", '">BlueHarbor2024"'], 8),
        (["redis-cli", "ACL", "SETUSER", "app", "on", ">$(PLATO_SECRET_CACHE_PASSWORD)"], None),
        (["redis-cli", "ACL", "SETUSER", "app", "on", "nopass", "~*"], None),
    ],
)
def test_a_store_s_rule_given_as_an_argument_list_is_found_at_its_argument(command: list[str], at: int | None) -> None:
    """An exec form's arguments are one command line: `ACL SETUSER` and its `>password` rule in separate items."""
    hit = guard.find_in({"args": command})
    assert (hit.loc if hit else None) == (("args", at) if at is not None else None), hit and hit.what


@pytest.mark.parametrize(
    ("command", "found"),
    [
        (["curl", "-u", "admin:BlueHarbor2024", "https://api"], True),
        (["wget", "--user", "deploy:BlueHarbor2024", "https://x"], True),
        (["curl", "-u", "admin:$(PLATO_SECRET_API_PASSWORD)", "https://api"], False),
        (["curl", "-u", "nobody", "https://api"], False),
        (["mysql", "-uroot", "-pBlueHarbor2024", "shop"], True),  # a password glued to its flag
        (["sshpass", "-p", "BlueHarbor2024", "ssh", "deploy@host"], True),
        (["mysql", "-uroot", "-p$(PLATO_SECRET_DB_PASSWORD)", "shop"], False),
        (["docker", "run", "-p", "8080:80", "nginx"], False),
    ],
)
def test_a_user_and_password_after_a_user_flag_is_found(command: list[str], found: bool) -> None:
    from generator.check.guard import find_in

    hit = find_in({"command": command})
    assert (hit is not None) == found, hit and hit.what
    if found:
        assert hit is not None and hit.loc == ("command", 2)


@pytest.mark.parametrize(
    "env",
    [
        [{"name": "E", "value": ""}, {"name": "NOTE", "value": "ghp_aB3dE6gH9j$(E)K2mN5pQ8sT1v$(E)W4yZ7bC0eF3hJ6"}],
        [{"name": "A", "value": "ghp_aB3dE6gH9jK2m"}, {"name": "B", "value": "N5pQ8sT1vW4yZ7"},
         {"name": "C", "value": "bC0eF3hJ6"}, {"name": "GITHUB_TOKEN", "value": "$(A)$(B)$(C)"}],
        [{"name": "NOTE", "value": "ghp_aB3dE6gH9j$(FROM_A_CONFIGMAP)K2mN5pQ8sT1vW4yZ7bC0eF3hJ6"}],
    ],
    ids=["split-by-an-empty-variable", "cut-into-three", "split-by-an-unknown-variable"],
)  # fmt: skip
def test_a_token_whole_again_once_kubernetes_expands_the_environment_is_found(env: list[dict[str, str]]) -> None:
    hit = guard.find_in({"containers": [{"name": "app", "env": env}]})
    assert hit is not None and "Kubernetes expands" in hit.what, hit and hit.what
    assert hit.loc[-3:-1] == ("env", len(env) - 1)


def test_an_escaped_or_a_harmless_expansion_is_left_alone() -> None:
    env = [
        {"name": "A", "value": "ghp_aB3dE6gH9jK2m"},
        {"name": "B", "value": "N5pQ8sT1vW4yZ7"},
        {"name": "C", "value": "bC0eF3hJ6"},
        {"name": "ESCAPED", "value": "$$(A)$$(B)$$(C)"},  # written $$: Kubernetes leaves $(A) as it is
        {"name": "HOST", "value": "db"},
        {"name": "URL", "value": "postgres://$(HOST):5432/app"},
    ]
    assert guard.find_in({"containers": [{"name": "app", "env": env}]}) is None


def test_an_environment_that_doubles_with_every_variable_is_judged_without_expanding_it_all() -> None:
    # Forty variables, each twice the one before: expanded, the last would be a terabyte (MemoryError, exit 1).
    env = [{"name": "A0", "value": "ab"}]
    env += [{"name": f"A{i}", "value": f"$(A{i - 1})$(A{i - 1})"} for i in range(1, 40)]
    assert guard.find_in({"containers": [{"name": "app", "env": env}]}) is None


@pytest.mark.parametrize(
    ("args", "found"),
    [
        (["mysql", "-h", "db", "-uroot", "-p$Qv7xLm2pZw"], True),  # exec form: no shell expands $Qv7xLm2pZw
        (["sshpass", "-p", "$Hunter2Qx9", "ssh", "bob@h"], True),
        (["sh", "-c", "mysql -uroot -p$MYSQL_PWD shop"], False),  # a shell reads it: a reference
        (["mysql", "-uroot", "-p$(MYSQL_PWD)"], False),  # Kubernetes expands $(VAR)
    ],
)
def test_a_dollar_is_a_reference_only_where_a_shell_reads_the_line(args: list[str], found: bool) -> None:
    assert (guard.find_in({"containers": [{"name": "app", "args": args}]}) is not None) is found


# A string in an object is read by a controller that expands only its own syntax: what a shell would expand
# ($word) and what HCL would evaluate (a.b.c) are the characters themselves there.
OBJECT_LITERALS = [
    "$ecr3tharbor",
    "$pw2024harbor",
    "$Blue_Harbor9",
    "$DB_PASSWORD",
    "$x7",
    "pre$fix",
    "blue.harbor.y2024",
    "red.fox.jumps",
    "var.db_password",
    "random_password.db.result",
    "a.b.c.d",
]
OBJECT_REFERENCES = [
    "$(DB_PASSWORD)",
    "$$(DB_PASSWORD)",
    "${resources.db.password}",
    "{{ .password }}",
    "<your-password>",
    "",
    "true",
    "not-needed",
    "/run/secrets/db",
]


def _placed(value: str) -> list[tuple[str, Any]]:
    """The value where an object puts a credential: an env pair, a mapping key, a flag's argument, a Helm
    parameter, a Score variable."""
    return [
        ("env", {"containers": [{"name": "app", "env": [{"name": "DB_PASSWORD", "value": value}]}]}),
        ("key", {"data": {"db_password": value}}),
        ("flag", {"containers": [{"name": "app", "args": ["--password", value]}]}),
        ("helm", {"helm": {"parameters": [{"name": "auth.password", "value": value}]}}),
        ("score", {"containers": {"main": {"variables": {"API_TOKEN": value}}}}),
    ]


@pytest.mark.parametrize("value", OBJECT_LITERALS)
def test_a_dollar_word_or_a_dotted_word_in_an_object_is_a_literal_credential(value: str) -> None:
    for where, obj in _placed(value):
        assert guard.find_in(obj) is not None, (where, value)


@pytest.mark.parametrize("value", OBJECT_REFERENCES)
def test_what_a_controller_expands_in_an_object_is_a_reference(value: str) -> None:
    for where, obj in _placed(value):
        assert guard.find_in(obj) is None, (where, value)


@pytest.mark.parametrize("value", ["$ecr3tharbor", "blue.harbor.y2024"])
def test_in_a_file_a_dollar_word_stays_what_its_reader_may_expand(value: str) -> None:
    """A file's reader is unknown (a shell, envsubst, HCL): there the same words stay references."""
    assert guard.find_in({"data": {"app.conf": f"password = {value}\n"}}) is None


# A config file written in the spell of its format that a line-by-line read does not see through: the file is
# judged as the objects its reader gets (YAML and JSON), and in its own format's terms (a.b.c is text there).
PW = "BlueHarbor" + "2024x"
CONFIG_LEAKS = {
    "explicit key": ("config.yaml", f"? password\n: {PW}\n"),
    "list under a plural name": ("config.yaml", f"users:\n  passwords: [{PW}]\n"),
    "list under a plural name in toml": ("app.toml", f'passphrases = ["{PW}", "x"]\n'),
    "explicit key nested": ("config.yml", f"db:\n  ? password\n  : {PW}\n"),
    "flow mapping": ("config.yaml", f"db: {{host: db, password: {PW}}}\n"),
    "escaped key": ("config.json", '{"pass\\u0077ord": "' + PW + '"}'),
    "escaped key yaml": ("config.yaml", f'"pass\\x77ord": {PW}\n'),
    "alias": ("config.yaml", f"x: &pw {PW}\ndb:\n  password: *pw\n"),
    "binary": ("config.yaml", "password: !!binary " + base64.b64encode(PW.encode()).decode() + "\n"),
    "second document": ("config.yaml", f"a: 1\n---\n? api_key\n: {PW}\n"),
    "dotted ini": ("app.ini", "[db]\npassword = blue.harbor.y2024\n"),
    "dotted properties": ("app.properties", "spring.datasource.password=blue.harbor.y2024\n"),
    "dotted env": ("app.env", "DB_PASSWORD=blue.harbor.y2024\n"),
    "dotted toml": ("app.toml", 'password = "blue.harbor.y2024"\n'),
    # what a strict read gives up on: the documents the reader gets before it are still judged
    "after a custom tag": ("config.yaml", f"cert: !vault |\n  abc\n? password\n: {PW}\n"),
    "beside a list key": ("config.yaml", f"? [a, b]\n: 1\n? password\n: {PW}\n"),
    "before a broken document": ("config.yaml", f"? password\n: {PW}\n---\n: ] [\n"),
    "in an omap": ("config.yaml", f'db: !!omap\n  - "pass\\x77ord": {PW}\n'),
    "in pairs": ("config.yaml", f'db: !!pairs\n  - "pass\\x77ord": {PW}\n'),
    "nested deep": ("config.json", "[" * 300 + '{"pass\\u0077ord": "' + PW + '"}' + "]" * 300),
    "lone surrogate beside it": ("config.yaml", f'a: "\\ud800"\n"pass\\x77ord": {PW}\n'),
    # a kind behind a template's suffix, an odd spelling of a name
    "template suffix": ("config.yaml.tmpl", f"? password\n: {PW}\n"),
    "jinja suffix": ("config.yml.j2", f'"pass\\x77ord": {PW}\n'),
    "env of a stage": (".env.production", "DB_PASSWORD=blue.harbor.y2024\n"),
    "upper-case name": ("CONFIG.YAML", f"? password\n: {PW}\n"),
    "jsonc": ("settings.jsonc", '{"pass\\u0077ord": "' + PW + '"}'),
    # each format's own reader: escapes, continuations, separators
    "toml escaped key": ("app.toml", '"pass\\u0077ord" = "' + PW + '"\n'),
    "toml multi-line string": ("app.toml", f'password = """\n{PW}"""\n'),
    "toml literal multi-line": ("app.toml", f"[db]\npassword = '''\n{PW}'''\n"),
    "ini with CR line ends": ("app.ini", f"[db]\rhost = db\rpassword = {PW}\r"),
    "properties escaped key": ("app.properties", "pass\\u0077ord=" + PW + "\n"),
    "properties space separator": ("app.properties", f"db.password {PW}\n"),
    "properties continued value": ("app.properties", f"db.password=\\\n    {PW}\n"),
    "properties continued key": ("app.properties", f"db.pass\\\n  word={PW}\n"),
    "xml entity in an attribute": ("app.xml", f'<props><entry key="pass&#119;ord">{PW}</entry></props>'),
    "xml property": ("app.xml", f'<c><property name="db.pass&#x77;ord" value="{PW}"/></c>'),
    "xml hadoop": ("core-site.xml", f"<c><property><name>fs.s3a.secret.key</name><value>{PW}</value></property></c>"),
    # a default written inside a reference is used when the variable is unset: it is the password
    "spring default inside": ("application.properties", "spring.datasource.password=${DB_PASSWORD:" + PW + "}\n"),
    "yaml default inside": ("application.yml", "db:\n  password: ${DB_PASSWORD:" + PW + "}\n"),
    "an acl rule as a key": ("users.yaml", f'users:\n  "user bob on >{PW} ~*": 1\n'),
    "template default inside": ("values.yaml.tmpl", 'db:\n  password: {{ default "' + PW + '" .Env.DB_PASSWORD }}\n'),
    "shell default inside": (".env", "DB_PASSWORD=${DB_PASSWORD:-" + PW + "}\n"),
    # what a reader drops is still in the bytes: a key given twice, a merged key given again
    "yaml key given twice": ("config.yaml", f"db:\n  password: {PW}\n  password: ${{DB_PASSWORD}}\n"),
    "yaml merged then given": ("config.yaml", f"db:\n  <<: {{password: {PW}}}\n  password: ${{DB_PASSWORD}}\n"),
    "ini key given twice": ("my.cnf", f"[client]\npassword = {PW}\npassword = %(pw)s\n"),
    # a tag whose reader gives the text as written
    "ansible unsafe": ("vars.yaml", f"db_password: !unsafe {PW}\n"),
    "cloudformation sub": ("stack.yaml", f"Properties:\n  MasterUserPassword: !Sub '{PW}'\n"),
    "python str tag": ("config.yaml", f"password: !!python/str {PW}\n"),
    # a config file's directive lines: a name, words, and the value last
    "sentinel auth-pass": ("sentinel.conf", f"sentinel monitor m 10.0.0.1 6379 2\nsentinel auth-pass m {PW}\n"),
    "haproxy user": ("haproxy.cfg", f"userlist admins\n    user admin insecure-password {PW}\n"),
    "haproxy stats auth": ("haproxy.cfg", f"listen stats\n    bind :8404\n    stats auth admin:{PW}\n"),
    "nginx basic header": (
        "default.conf",
        'location / {\n  proxy_set_header Authorization "Basic YWRtaW46'
        + base64.b64encode(PW.encode()).decode()
        + '";\n}\n',
    ),
    # XML pairs a name with a value in children of any name
    "web.xml param": (
        "web.xml",
        f"<w><context-param><param-name>db.password</param-name><param-value>{PW}</param-value></context-param></w>",
    ),
    "env entry": (
        "app.xml",
        f"<x><env-entry><env-entry-name>jdbc/password</env-entry-name><env-entry-value>{PW}"
        "</env-entry-value></env-entry></x>",
    ),
    "xml key and value children": ("map.xml", f"<map><entry><key>password</key><value>{PW}</value></entry></map>"),
    "xml empty attribute, value child": (
        "beans.xml",
        f'<b><property name="password" value=""><value>{PW}</value></property></b>',
    ),
}
CONFIG_CLEAN = {
    "placeholder": ("config.yaml", "password: ${DB_PASSWORD}\n"),
    "env reference": ("config.yaml", "password: $DB_PASSWORD\n"),
    "a file path": ("config.yaml", "password_file: /run/secrets/db\n"),
    "empty": ("config.json", '{"password": ""}'),
    "no credential": ("config.yaml", "? host\n: db.internal\nport: 5432\n"),
    "anchors everywhere": ("config.yaml", "a: &a [x, y]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nd: [*c, *c, *c]\n"),
    "code, not config": ("settings.py", "password = config.db.password\n"),
    "does not parse": ("config.yaml", "password: ${DB_PASSWORD}\n  - : ]\n"),
    # what each format's reader gets is a reference, or no credential at all
    "home assistant secret": ("configuration.yaml", "mqtt:\n  password: !secret mqtt_password\n"),
    "cloudformation ref": ("stack.yaml", "Properties:\n  MasterUserPassword: !Ref DbPassword\n"),
    "json schema": ("schema.json", '{"properties":{"password":{"type":"string","minLength":12}}}'),
    "spring default": ("application.yaml", "spring:\n  datasource:\n    password: ${DB_PASSWORD:}\n"),
    "spring properties": ("application.properties", "spring.datasource.password=${DB_PASSWORD:}\n"),
    "i18n labels": ("en.yaml", "login:\n  password: Password\n  confirm_password: Confirm password\n"),
    "i18n properties": ("messages.properties", "login.password=Password\nlogin.apiKey=API key\n"),
    "toml reference": ("app.toml", 'password = "${DB_PASSWORD}"\n'),
    "ini interpolation": ("app.ini", "[db]\npassword = %(db_password)s\n"),
    "xml placeholder": ("app.xml", "<c><password>${DB_PASSWORD}</password></c>"),
    "nginx conf": ("nginx.conf", "server {\n  listen 80;\n  auth_basic_user_file /etc/nginx/.htpasswd;\n}\n"),
    "template defaults that say nothing": (
        "values.yaml.tmpl",
        'password: {{ .Values.pw | default "" }}\ntitle: {{ default "Shop 2024x" .Values.title }}\n',
    ),
    "a reference's error message": ("application.yml", "password: ${DB_PASSWORD:?set DB_PASSWORD}\n"),
    "grafana's references": ("grafana.ini", "[security]\nadmin_password = $__file{/run/secrets/admin}\n"),
    "i18n sentence": ("en.yml", "en:\n  auth:\n    forgot_password: Forgot your password?\n"),
    "a data-less secret in a stream": (
        "all.yaml",
        "kind: Secret\nmetadata:\n  name: tls\n---\nkind: ConfigMap\ndata:\n  a: b\n",
    ),
    "web.xml references": (
        "web.xml",
        "<w><context-param><param-name>db.password</param-name><param-value>"
        "${DB_PASSWORD}</param-value></context-param></w>",
    ),
    "haproxy and nginx directives": (
        "haproxy.cfg",
        "listen stats\n    stats auth admin:${STATS_PASSWORD}\n    http-request auth realm Stats\n    auth_basic off\n",
    ),
    "nginx upstreams": (
        "default.conf",
        "location /api/ { proxy_pass http://backend:8080/; }\n"
        "location ~ \\.php$ { fastcgi_pass unix:/run/php.sock; }\nuwsgi_pass 127.0.0.1:3031;\n",
    ),
    "nginx auth directives": (
        "nginx.conf",
        'server {\n  auth_basic "Restricted Area";\n  auth_request /auth;\n'
        "  ssl_password_file /etc/keys/global.pass;\n}\n",
    ),
    "compose's secrets by name": ("compose.yaml", "services:\n  web:\n    secrets:\n      - db_password\n"),
    "an option given twice": ("my.cnf", "[client]\nport = 3306\nport = 3307\n"),
    "cloudformation sub of a reference": ("stack.yaml", "Properties:\n  MasterUserPassword: !Sub '${DbPassword}'\n"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_LEAKS))
def test_a_config_file_is_judged_as_what_its_reader_gets(kit: RenderKit, case: str) -> None:
    name, content = CONFIG_LEAKS[case]
    spec = _file_spec(kit, f"/etc/app/{name}", content)
    out = assert_refused(kit, kit.cli_render(spec), f"{spec}:", f"/etc/app/{name}")  # its line, or its content's
    assert PW not in out and "blue.harbor.y2024" not in out


@pytest.mark.parametrize("case", sorted(CONFIG_CLEAN))
def test_a_config_file_that_holds_only_references_is_written(kit: RenderKit, case: str) -> None:
    name, content = CONFIG_CLEAN[case]
    result = kit.cli_render(_file_spec(kit, f"/etc/app/{name}", content))
    assert result.exit_code == 0, result.output


def test_a_key_that_is_an_integer_too_long_to_print_is_judged_not_a_crash() -> None:
    # YAML 1.1 reads "1:59:59..." as a base-60 integer: thousands of digits, more than str() converts
    assert guard.find_in({10**5000: "x"}) is None


@pytest.mark.parametrize(
    "name", [f"DB_PASSWORD {PW}", f"DB_PASSWORD={PW}", f"api.token,{PW}", f"password({PW})", f"x/password/{PW}"]
)
def test_a_variable_name_that_goes_on_with_a_value_is_refused_and_never_printed(kit: RenderKit, name: str) -> None:
    spec = _variable_spec(kit, name, "plain")
    out = assert_refused(kit, kit.cli_render(spec), f"{spec}:", "***")  # by the guard, or the schema (`=`)
    assert PW not in out


@pytest.mark.parametrize("value, shell_like", [("$x9harbor", True), ("${x9harbor}", False), ("x9harbor.y2024", False)])
def test_a_value_written_as_a_shell_variable_is_refused_with_the_form_kubernetes_expands(
    kit: RenderKit, value: str, shell_like: bool
) -> None:
    """`$NAME` is passed to the container as written (Kubernetes expands only `$(NAME)`): the likely fix is said
    first, and the value itself, which may be the password, is never shown."""
    spec = _variable_spec(kit, "DB_PASSWORD", value)
    out = assert_refused(kit, kit.cli_render(spec), f"{spec}:")
    assert ("write it as $(NAME)" in out) is shell_like, out
    assert "x9harbor" not in out


@pytest.mark.parametrize("name, content", [("c.yaml", f'"admin:{PW}":\n  password: Zx9Wq8Ev7Rb\n'),
                                           ("c.toml", f'["bob:{PW}"]\npassword = "Zx9Wq8Ev7Rb"\n')])  # fmt: skip
def test_a_key_on_the_path_to_a_finding_is_shown_cut_at_its_colon(kit: RenderKit, name: str, content: str) -> None:
    """A parent key shaped `user:password` names the place of a finding under it, and is never printed whole."""
    spec = _file_spec(kit, f"/etc/app/{name}", content)
    out = assert_refused(kit, kit.cli_render(spec), f"{spec}:", ":***.password")
    assert PW not in out and "Zx9Wq8Ev7Rb" not in out


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16", "utf-32", "utf-32-be", "latin-1"])
def test_a_config_file_in_another_encoding_is_read_as_its_reader_decodes_it(codec: str) -> None:
    """A binary source of a config kind (a .properties saved as UTF-16 without a mark, say) is text to its
    reader: judged as that text."""
    raw = f"# café\ndb.password={PW}\n".encode(codec)
    text = guard._config_text(raw)
    assert f"db.password={PW}" in text
    assert guard._file_hit("/etc/app/app.properties", text) is not None
    assert guard._config_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") == ""  # an image is no text


def test_a_list_under_a_credential_s_name_in_a_config_file_is_judged_item_by_item() -> None:
    hit = guard.find_in({"auth": {"password": ["${PW}", PW]}}, lang="config")
    assert hit is not None and hit.loc == ("auth", "password", 1)
    assert guard.find_in({"auth": {"password": ["${PW}"], "token": ["oidc", "ldap"]}}, lang="config") is None


@pytest.mark.parametrize("key", ["passwords", "DB_PASSPHRASES", "adminPasswords", "passcodes", "DB_PASSWORDS_RO"])
@pytest.mark.parametrize("item", ["x", "hunter2", "correct-horse-battery", "db_password"])
def test_a_list_of_passwords_holds_passwords_whatever_they_look_like(key: str, item: str) -> None:
    """Under `password` an item may be a method or a name (`oidc`, `db_password`); under a key that names a list
    of passwords every literal item is one."""
    hit = guard.find_in({"db": {key: ["${PW}", item]}}, lang="config")
    assert hit is not None and hit.loc == ("db", key, 1), hit
    assert guard.find_in({"db": {key: ["${PW}"]}, "secrets": ["db_password"]}, lang="config") is None
