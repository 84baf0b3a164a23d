"""Property tests: whatever a spec, a context or a rule folder says, plato either succeeds or raises its own error.

Generated Score-like specs (valid fields mixed with junk, placeholders, odd unicode), raw YAML-ish text, contexts
and rule fragments are thrown at the read, context, rule-loading, matching and creating stages. The only failure
allowed is `generator.errors.PlatoError` (a message for the user, exit 2 or 3): any other exception is a bug that
the command line would report as "internal error" (exit 1).

Bounded: about 200 examples per property, no deadline (a slow machine must not fail them), no example database
(nothing is written into the repository).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator.create.render import render
from generator.errors import PlatoError
from generator.match.plan import make_plan
from generator.match.rules import load_rules
from generator.read import context as ctxmod
from generator.read.workload import Options, load_workloads

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture(autouse=True)
def _no_assertion_pass_hook() -> Iterator[None]:
    """pyproject.toml enables pytest's assertion pass hook (for pytest-golden), and pytest rewrites the asserts of
    every plugin's package, hypothesis among them: each passing assert inside hypothesis then formats an
    explanation, which makes these tests about six times slower. They use no golden files: switch it off here."""
    from _pytest.assertion import util

    if not hasattr(util, "_assertion_pass"):  # a pytest that works differently: leave it alone
        yield
        return
    saved = util._assertion_pass
    util._assertion_pass = None
    try:
        yield
    finally:
        util._assertion_pass = saved


# -- building blocks ----------------------------------------------------------------------------------------------

WEIRD = [
    "",
    " ",
    "-",
    "..",
    "../x",
    "a/b",
    "/etc/passwd",
    "x\\y",
    "0755",
    "yes",
    "on",
    "~",
    "null",
    "*",
    "?",
    "[a]",
    "é",
    "𝔘𝔫𝔦",
    "\u202eevil",
    "\ufeffbom",
    "\u200b",
    "a\x00b",
    "tab\there",
    "line\nbreak",
    "$",
    "$$",
    "${",
    "${}",
    "${metadata}",
    "${metadata.name}",
    "${metadata.nope}",
    "${metadata.annotations.a\\.b}",
    "${resources.db}",
    "${resources.db.host}",
    "${resources.db.password}",
    "${resources.nope.x}",
    "${resources.db.host.extra}",
    "${resources.}",
    "${resources..x}",
    "$${resources.db.host}",
    "prefix-${resources.cache.port}-suffix",
    "{{ app }}",
    "{{ nope }}",
    "{% if %}",
    "{{",
    "}}",
    "{env}",
    "{0}",
    "%s",
    "a" * 70,
    "A" * 64,
    "web",
    "db",
    "x-y",
    "9abc",
]

TEXT = st.one_of(st.text(max_size=6), st.sampled_from(WEIRD))
NAMEISH = st.one_of(st.sampled_from(["web", "api", "db", "cache", "x", "a-b", "main", "worker"]), TEXT)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
KEY = st.one_of(NAMEISH, st.integers(min_value=-3, max_value=3))
JUNK = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(KEY, inner, max_size=2),
    max_leaves=4,
)


def maybe(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes junk."""
    return st.one_of(plausible, plausible, plausible, plausible, JUNK)


def fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping with any subset of the given fields, plus now and then an unknown one."""
    return st.fixed_dictionaries(
        {}, optional={**strategies, "unknownField": JUNK}
    )  # optional keys are independently present or absent


RESOURCE_TYPES = ["postgres", "redis", "s3", "dns", "route", "volume", "mysql", "kafka-topic", "mongodb", "amqp"]

RESOURCE = fields(
    type=maybe(st.sampled_from([*RESOURCE_TYPES, "evil", "nope"])),
    **{"class": maybe(st.sampled_from(["default", "large", "Big"]))},
    id=maybe(NAMEISH),
    params=maybe(st.dictionaries(NAMEISH, maybe(TEXT), max_size=3)),
    metadata=maybe(st.dictionaries(NAMEISH, TEXT, max_size=2)),
)

FILE = fields(
    target=maybe(st.sampled_from(["/etc/x.conf", "/a", "relative", ""])),
    content=maybe(TEXT),
    binaryContent=maybe(st.sampled_from(["aGVsbG8=", "not base64!", ""])),
    source=maybe(st.sampled_from(["missing.txt", "../../etc/passwd", "/etc/hostname", "."])),
    mode=maybe(st.sampled_from(["0644", "0777", "999", "rw"])),
    noExpand=maybe(st.booleans()),
)

CONTAINER = fields(
    image=maybe(st.sampled_from([".", "nginx", "nginx:1.27", "", "UPPER/Case:tag"])),
    command=maybe(st.lists(TEXT, max_size=3)),
    args=maybe(st.lists(TEXT, max_size=3)),
    variables=maybe(st.dictionaries(NAMEISH, maybe(TEXT), max_size=4)),
    files=maybe(st.one_of(st.dictionaries(st.sampled_from(["/etc/a", "/b", "c"]), FILE, max_size=2), st.lists(FILE))),
    volumes=maybe(
        st.dictionaries(
            st.sampled_from(["/data", "/x"]),
            fields(source=maybe(TEXT), path=maybe(TEXT), readOnly=maybe(st.booleans())),
            max_size=2,
        )
    ),
    resources=maybe(
        fields(
            requests=maybe(st.dictionaries(st.sampled_from(["cpu", "memory"]), TEXT, max_size=2)),
            limits=maybe(st.dictionaries(st.sampled_from(["cpu", "memory"]), TEXT, max_size=2)),
        )
    ),
    livenessProbe=maybe(st.just({"httpGet": {"path": "/", "port": 8080}})),
    readinessProbe=JUNK,
    before=maybe(st.dictionaries(NAMEISH, fields(ready=maybe(st.sampled_from(["started", "complete", "ready"]))))),
)

SPEC = st.fixed_dictionaries(
    {
        "apiVersion": maybe(st.just("score.dev/v1b1")),
        "metadata": maybe(
            st.fixed_dictionaries(
                {"name": maybe(NAMEISH)},
                optional={"annotations": maybe(st.dictionaries(NAMEISH, TEXT, max_size=3)), "extra": JUNK},
            )
        ),
        "containers": maybe(st.dictionaries(NAMEISH, CONTAINER, min_size=1, max_size=3)),
    },
    optional={
        "resources": maybe(st.dictionaries(NAMEISH, RESOURCE, max_size=3)),
        "service": maybe(
            st.just({"ports": {"http": {"port": 80, "targetPort": 8080}}})
            | st.builds(lambda p: {"ports": {"p": {"port": p}}}, st.integers(-5, 70000))
        ),
        "unknownTopLevel": JUNK,
    },
)


def dump(docs: list[Any]) -> str:
    return yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)


def only_plato_errors(call: Callable[[], Any]) -> Any:
    """Run `call`: a PlatoError is an accepted outcome (returns None); anything else fails the property."""
    try:
        return call()
    except PlatoError as exc:
        assert exc.render(), "a PlatoError with no message"
        return None


# -- read ---------------------------------------------------------------------------------------------------------


@SETTINGS
@given(docs=st.lists(st.one_of(SPEC, SPEC, SPEC, JUNK), min_size=1, max_size=2), require=st.booleans())
def test_any_spec_document_is_read_or_refused_with_a_plato_error(docs, require) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "score.yaml"
        path.write_text(dump(docs), encoding="utf-8")
        only_plato_errors(lambda: load_workloads([path], Options(require_sources=require)))


YAMLISH = st.text(alphabet=st.sampled_from(list("ab:-?&*!|>'\"[]{},#%@`\\ \n\t$.0é\ufeff")), max_size=80)


@SETTINGS
@given(head=st.sampled_from(["", "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n"]), text=YAMLISH)
def test_any_yaml_ish_text_is_read_or_refused_with_a_plato_error(head, text) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "score.yaml"
        path.write_text(head + text, encoding="utf-8")
        only_plato_errors(lambda: load_workloads([path]))


# -- context ------------------------------------------------------------------------------------------------------

CONTEXT_KEY = st.one_of(
    st.sampled_from(["env", "app", "org", "region", "namespace", "cluster", "env_type", "image", "source_time", "x"]),
    TEXT,
)
CONTEXT_VALUE = st.one_of(
    st.sampled_from(["development", "production", "web", "shop", "ghcr.io/acme/web:1.0", "123", "refs/heads/main"]),
    TEXT,
    st.sampled_from(["ghp_" + "a" * 36, "postgres://u:hunter2pass@h/db", "AKIA" + "A" * 16, "x" * 1025]),
)


@SETTINGS
@given(
    pairs=st.lists(st.tuples(CONTEXT_KEY, CONTEXT_VALUE).map(lambda kv: f"{kv[0]}={kv[1]}") | TEXT, max_size=6),
    environ=st.dictionaries(
        st.sampled_from(
            ["GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITHUB_REF", "GITHUB_SHA", "GITHUB_RUN_ID", "PLATO_CONTEXT_APP"]
        )
        | st.builds(lambda k: "PLATO_CONTEXT_" + k, TEXT),
        CONTEXT_VALUE,
        max_size=5,
    ),
    image=st.none() | CONTEXT_VALUE,
)
def test_any_context_is_built_or_refused_with_a_plato_error(pairs, environ, image) -> None:
    ctx = only_plato_errors(lambda: ctxmod.build(pairs, environ, image))
    if ctx is not None:
        ctxmod.validate(ctx)  # what build returned is valid by its own rules
        only_plato_errors(lambda: ctxmod.require(ctx, ("env", "app")))


# -- rules --------------------------------------------------------------------------------------------------------

GOOD_TEMPLATES = ["{{ app }}-{{ env }}", "{{ app }}", "{{ app | dns_label }}", "plain", "{{ env }}-x"]
BAD_TEMPLATES = [
    "{{ nope }}",
    "{{ resource.name }}",
    "{{ params.size }}",
    "{% if env %}x{% endif %}",
    "{% if %}",
    "{{ app",
    "{{ 1/0 }}",
    "{{ app.upper() }}",
    "{{ [1,2][5] }}",
    "{{ {}['x'] }}",
    "{{ 'a' ~ 1 }}",
    "{{ app | int }}",
    "{{ none.x }}",
    "{{ app[0:2] }}",
    "{{ ''.__class__ }}",
    "UPPER",
    "a/b",
]
TEMPLATE = st.one_of(st.sampled_from(GOOD_TEMPLATES), st.sampled_from(GOOD_TEMPLATES), st.sampled_from(BAD_TEMPLATES))
RESOURCE_TEMPLATES = ["{{ resource.name }}", "{{ resource.name }}.{{ namespace }}", "{{ params.size }}", "x"]
PATH_PATTERN = st.sampled_from(
    [
        "{env}/{app}",
        "apps/{env}/{app}",
        "{app}/{env}",
        "{env}-{app}",
        "{env}/{app}/{cluster}",
        "{env}/{app}/{namespace}",
        "{env}/{app}/{nope}",
        "{env}/{app}/{0}",
        "{env}/{app}/{",
        "{env}}/{app}",
        "{env}/{app}/{env!r}",
        "{env}/{app}/{env:>3}",
        "{env}/{app}/{env[99]}",
        "{env}/{app}/{env.nope}",
        "{env}/{app}/{env[x]}",
        "{env}/{app}/{app.__class__.__name__}",
        "../{env}/{app}",
        "/{env}/{app}",
        "{env}/{app}/../x",
        "{env}//{app}",
        "shared",
        "",
        "{env}\\{app}",
        "{env}/{app}/x.yaml",
    ]
)
CRITERION = st.one_of(
    st.sampled_from(["development", "production", "*", "dev*", "web", "shop", "acme", "default", "refs/heads/main"]),
    st.lists(st.sampled_from(["development", "web", "*", "x"]), min_size=0, max_size=3),
    SCALAR,
)
MATCH_KEYS = st.sampled_from(["env", "app", "env_type", "org", "region", "class", "id", "git_ref", "nope"])
MATCH = st.dictionaries(
    MATCH_KEYS,
    CRITERION,
    max_size=3,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside nested dicts and lists."""
    out: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for k, v in items:
        out.append((*prefix, k))
        out += _paths(v, (*prefix, k))
    return out


@st.composite
def corrupted(draw: st.DrawFn, plausible: st.SearchStrategy[Any], odds: int = 3) -> Any:
    """A plausible value; one time in `odds`, one place inside it replaced by junk or removed. Documents stay
    mostly valid, so that matching and creating get exercised, not only the schema check."""
    value = draw(plausible)
    paths = _paths(value)
    # sampled_from, not integers(0, n): hypothesis favours 0, and here the simplest case is "left alone"
    if not paths or not draw(st.sampled_from([False] * (odds - 1) + [True])):
        return value
    path = draw(st.sampled_from(paths))
    parent = value
    for k in path[:-1]:
        parent = parent[k]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JUNK)
    return value


ENV_SPEC = st.fixed_dictionaries(
    {
        "namespace": TEMPLATE,
        "cd": st.fixed_dictionaries(
            {"tool": st.sampled_from(["argocd", "flux"])},
            optional={"project": TEXT, "repoURL": TEXT, "revision": st.sampled_from(["main", ""])},
        ),
    },
    optional={
        "env_type": st.sampled_from(["development", "production", "Dev"]),
        "cluster": st.sampled_from(["dev", "prod", "Bad_Cluster", "{{ env }}"]),
        "paths": st.fixed_dictionaries(
            {}, optional={"manifests": PATH_PATTERN, "terraform": PATH_PATTERN, "cd": PATH_PATTERN}
        ),
        "secretStore": st.fixed_dictionaries(
            {"name": st.sampled_from(["store", ""])},
            optional={"kind": st.sampled_from(["ClusterSecretStore", "SecretStore"])},
        ),
        "createNamespace": st.booleans(),
        "require": st.lists(st.sampled_from(["org", "region", "nope"]), max_size=2),
        "labels": st.dictionaries(NAMEISH, TEXT, max_size=2),
        "domain": st.sampled_from(["example.com", "", "UPPER.example"]),
    },
)
SECRET_OUTPUT = st.fixed_dictionaries(
    {"secret": st.fixed_dictionaries({"name": st.sampled_from(RESOURCE_TEMPLATES), "key": TEXT})}
)
RESOURCE_SPEC = st.fixed_dictionaries(
    {},
    optional={
        "params": st.dictionaries(
            st.sampled_from(["size", "version", "host", "x"]),
            st.fixed_dictionaries({}, optional={"default": TEXT, "required": st.booleans()}),
            max_size=2,
        ),
        "outputs": st.dictionaries(
            st.sampled_from(["host", "port", "password", "*", "url", "name"]),
            st.one_of(st.sampled_from(RESOURCE_TEMPLATES), TEMPLATE, st.integers(), SECRET_OUTPUT),
            max_size=3,
        ),
        "manifests": st.sampled_from(
            [
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ resource.name }}\n",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fixed\ndata:\n  a: '{{ params | tojson }}'\n",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: b\n",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ resource.name }}\n---\n- list\n",
                "not: [valid",
                "- a list\n",
                "kind: NoApiVersion\n",
                "{{ nope }}",
                "",
            ]
        ),
        "requires": st.dictionaries(
            st.sampled_from(["broker", "dns"]),
            st.fixed_dictionaries({"type": st.sampled_from(["dns", "evil", "nope"])}),
            max_size=1,
        ),
    },
)
PROFILE_SPEC = st.fixed_dictionaries(
    {},
    optional={
        "replicas": st.integers(-1, 5),
        "labels": st.dictionaries(NAMEISH, TEXT, max_size=2),
        "manifests": st.sampled_from(["", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"]),
    },
)


@st.composite
def plausible_rule(draw: st.DrawFn, kinds: tuple[str, ...]) -> dict[str, Any]:
    kind = draw(st.sampled_from(kinds))
    match = draw(MATCH)
    spec: Any
    if kind == "Environment":
        spec = draw(ENV_SPEC)
    elif kind == "Resource":
        spec = draw(RESOURCE_SPEC)
        match["type"] = draw(st.sampled_from(["evil", "postgres", "dns", "ev*", "*"]))
    elif kind == "Context":
        spec = {"set": draw(st.dictionaries(CONTEXT_KEY, TEMPLATE, max_size=2))}
    elif kind == "Dimensions":
        match = {}
        spec = {"order": draw(st.lists(st.sampled_from(["id", "env", "app", "org", "team", "Bad"]), max_size=5))}
    else:
        spec = draw(PROFILE_SPEC)
    return {
        "apiVersion": "plato.dev/v1",
        "kind": kind,
        "name": draw(st.sampled_from(["a", "b", "development", "x.y"])),
        "match": match,
        "spec": spec,
    }


def rule_documents(kinds: tuple[str, ...] = ("Environment", "Resource", "Profile", "Context"), odds: int = 3) -> Any:
    return corrupted(plausible_rule(kinds), odds)


ENVIRONMENT_RULE = corrupted(plausible_rule(("Environment",)).map(lambda d: {**d, "match": {}}), 6)


def _write_rules(folder: Path, files: list[list[dict[str, Any]]]) -> None:
    folder.mkdir()
    for i, docs in enumerate(files):
        (folder / f"{i:02d}.yaml").write_text(dump(docs), encoding="utf-8")


@SETTINGS
@given(
    files=st.lists(
        st.lists(
            st.one_of(
                rule_documents(("Environment", "Resource", "Profile", "Context", "Dimensions")), rule_documents(), JUNK
            ),
            min_size=1,
            max_size=3,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_any_rule_folder_is_loaded_or_refused_with_a_plato_error(files) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules"
        _write_rules(folder, files)
        only_plato_errors(lambda: load_rules(folder))


# -- match and create ---------------------------------------------------------------------------------------------

BUNDLED_TYPES = ["postgres", "redis", "s3", "dns", "route", "volume", "mysql", "kafka-topic", "mongodb", "amqp"]
OUTPUT_NAMES = ["host", "port", "password", "username", "url", "name", "bucket", "region", "nope"]


@st.composite
def plausible_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid-looking workload: placeholders refer to resources it declares (mostly), so reading succeeds and
    matching and creating get exercised."""
    resources = draw(
        st.dictionaries(
            st.sampled_from(["db", "cache", "files", "dns"]),
            st.fixed_dictionaries(
                {"type": st.sampled_from([*BUNDLED_TYPES, "evil"])},
                optional={"id": st.sampled_from(["shared", "db"]), "class": st.sampled_from(["default", "large"])},
            ),
            max_size=3,
        )
    )
    names = sorted(resources)

    def ref() -> str:
        if not names:
            return "${metadata.name}"
        return "${resources." + draw(st.sampled_from(names)) + "." + draw(st.sampled_from(OUTPUT_NAMES)) + "}"

    for r in resources.values():
        if draw(st.integers(0, 3)) == 0:
            r["params"] = {
                draw(st.sampled_from(["size", "version", "host", "nope"])): draw(
                    st.sampled_from(["1Gi", "16", "x", ref()])
                )
            }
    variables = {
        key: draw(st.sampled_from(["plain", "${metadata.name}", ref(), f"x-{ref()}-y", f"postgres://{ref()}"]))
        for key in draw(st.sets(st.sampled_from(["A", "B", "C_D"]), max_size=3))
    }
    return {
        "apiVersion": "score.dev/v1b1",
        "metadata": {"name": draw(st.sampled_from(["web", "api", "worker"]))},
        "containers": {"main": {"image": ".", "variables": variables}},
        "resources": resources,
    }


PLAUSIBLE_SPEC = plausible_specs()
PLAN_CONTEXT = st.fixed_dictionaries(
    {
        "env": st.sampled_from(["development", "production", "staging", "dev"]),
        "app": st.sampled_from(["shop", "web", "a"]),
    },
    optional={
        "org": st.sampled_from(["acme", "other"]),
        "region": st.sampled_from(["eu-west-1"]),
        "env_type": st.sampled_from(["development", "production"]),
        "image": st.sampled_from(["ghcr.io/acme/web:1.0", "x"]),
        "source_time": st.sampled_from(["1700000000", "soon"]),
    },
)


def _plan_and_render(workload_docs: list[dict[str, Any]], ctx: dict[str, str], rules: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, doc in enumerate(workload_docs):
            path = Path(tmp) / f"w{i}.yaml"
            path.write_text(dump([doc]), encoding="utf-8")
            paths.append(path)

        stage = ["read"]

        def run() -> None:
            workloads = load_workloads(paths, Options(require_sources=False))
            stage[0] = "load rules"
            rs = load_rules(rules)
            stage[0] = "plan"
            plan = make_plan(workloads, dict(ctx), rs)
            stage[0] = "render"
            render(plan, [p.name for p in paths])
            stage[0] = "rendered"

        only_plato_errors(run)
        event(f"reached: {stage[0]}")  # `pytest --hypothesis-show-statistics` shows how deep examples get


@SETTINGS
@given(
    docs=st.lists(PLAUSIBLE_SPEC, min_size=1, max_size=2, unique_by=lambda d: d["metadata"]["name"]), ctx=PLAN_CONTEXT
)
def test_plausible_specs_with_the_bundled_rules_plan_or_fail_with_a_plato_error(docs, ctx) -> None:
    _plan_and_render(docs, ctx, None)


@SETTINGS
@given(
    environment=ENVIRONMENT_RULE,
    others=st.lists(rule_documents(odds=6), max_size=3),
    docs=st.lists(PLAUSIBLE_SPEC, min_size=1, max_size=2, unique_by=lambda d: d["metadata"]["name"]),
    ctx=PLAN_CONTEXT,
)
def test_generated_rules_plan_or_fail_with_a_plato_error(environment, others, docs, ctx) -> None:
    """An Environment rule that matches everything (with a generated spec) and a few generated rules of any
    kind: loaded, matched against plausible workloads, rendered."""
    for i, doc in enumerate(others):
        if isinstance(doc, dict) and doc.get("name") in ("a", "b", "development", "x.y"):
            doc["name"] = f"rule-{i}"  # unique: a duplicate name would stop most examples at loading
    files = [[environment], others] if others else [[environment]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules"
        _write_rules(folder, files)
        _plan_and_render(docs, ctx, folder)


ENV_RULE = {
    "apiVersion": "plato.dev/v1",
    "kind": "Environment",
    "name": "development",
    "match": {"env": "development"},
    "spec": {"env_type": "development", "namespace": "{{ app }}-{{ env }}", "cd": {"tool": "argocd"}},
}


@SETTINGS
@given(env_spec=corrupted(ENV_SPEC), ctx=PLAN_CONTEXT)
def test_generated_environment_specs_plan_or_fail_with_a_plato_error(env_spec, ctx) -> None:
    """Environment rules that match: their specs (paths, namespace templates, CD settings) are always used."""
    doc = {**ENV_RULE, "match": {}, "spec": env_spec}
    spec = {"apiVersion": "score.dev/v1b1", "metadata": {"name": "web"}, "containers": {"web": {"image": "."}}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules"
        _write_rules(folder, [[doc]])
        _plan_and_render([spec], ctx, folder)


@pytest.mark.parametrize("pattern", ["{env}/{app}/{env.nope}", "{env}/{app}/{env[x]}"])
def test_a_path_pattern_with_a_format_attribute_is_a_user_error(pattern) -> None:
    """Regression test: generator/match/plan.py _format_path caught KeyError/IndexError/ValueError from str.format
    but not the AttributeError/TypeError of '{env.nope}' or '{env[x]}': they were an internal error (exit 1)
    instead of exit 2."""
    doc = {**ENV_RULE, "spec": {**ENV_RULE["spec"], "paths": {"manifests": pattern}}}
    spec = {"apiVersion": "score.dev/v1b1", "metadata": {"name": "web"}, "containers": {"web": {"image": "."}}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules"
        _write_rules(folder, [[doc]])
        path = Path(tmp) / "w.yaml"
        path.write_text(dump([spec]), encoding="utf-8")
        with pytest.raises(PlatoError):
            make_plan(load_workloads([path]), {"env": "development", "app": "web"}, load_rules(folder))


@pytest.mark.parametrize("match", [{}, {"env": "development"}, None])
def test_a_resource_rule_without_a_type_is_a_user_error(match) -> None:
    """Regression test: generator/match/rules.py _build indexed Resource rules by rule.match['type'] before the (now
    lazy) schema check: a Resource rule without match.type made render/publish fail with 'internal error:
    KeyError: type' (exit 1); `plato validate` reports it properly."""
    rule = {"apiVersion": "plato.dev/v1", "kind": "Resource", "name": "typeless", "spec": {}}
    if match is not None:
        rule["match"] = match
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules"
        _write_rules(folder, [[ENV_RULE, rule]])
        with pytest.raises(PlatoError):
            load_rules(folder)


# -- template bounds ----------------------------------------------------------------------------------------------

SIZES = st.sampled_from(["0", "1", "3", "1000", "100000", "10**6", "10**9", "-5"])
ATOMS = st.one_of(
    st.sampled_from(["'x'", "'ab\\n'", "'%s{0}'", "'\\t'", "app", "params", "[1, 'a']", "{'k': 'v'}", "range(5)"]),
    SIZES,
    st.builds(lambda n: f"('y' * {n})", SIZES),
    st.builds(lambda n: f"(range({n})|list)", st.sampled_from(["3", "1000", "100000"])),
)
GROWING = [
    "center({n})",
    "indent({n})",
    "join('--')",
    "replace('x', 'xx')",
    "replace('', 'z')",
    "format({n})",
    "wordwrap(1)",
    "truncate({n})",
    "batch({n}, 'f')",
    "slice({n}, 'f')",
    "list",
    "string",
    "tojson",
    "sum",
    "map('string')",
    "unique",
    "sort",
]


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(inner, st.sampled_from(["~", "+", "*", "%", "**"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    filtered = st.tuples(inner, st.sampled_from(GROWING), SIZES).map(lambda t: f"({t[0]}|{t[1].format(n=t[2])})")
    method = st.tuples(inner, st.sampled_from(["center", "ljust", "zfill", "expandtabs", "join", "format"]), inner)
    return st.one_of(binary, filtered, method.map(lambda t: f"({t[0]}).{t[1]}({t[2]})"))


EXPRESSION = st.recursive(ATOMS, _grow, max_leaves=6)
LOOPED = st.tuples(st.sampled_from(["", "{% for i in range(100000) %}", "{% for i in range(300) %}"]), EXPRESSION)


@settings(SETTINGS, max_examples=150)
@given(template=LOOPED)
def test_any_template_expression_renders_within_the_bounds_or_is_a_plato_error(template) -> None:
    """Expressions built from every operator, method and filter that can grow a value, with sizes up to 10**9,
    alone or in a loop: each renders within the output limit, or stops with a plato error (never a
    MemoryError, a RecursionError or an exception of jinja2's own)."""
    from generator.match import bounds
    from generator.match.templates import compile_template

    loop, expression = template
    source = f"{loop}{{{{ {expression} }}}}{'{% endfor %}' if loop else ''}"
    tpl = compile_template(source, "rules/50-test.yaml", 10)
    text = only_plato_errors(lambda: tpl.render({"app": "web", "params": {"a": 1}}, "rule 'x'"))
    if text is not None:
        assert len(text) <= bounds.MAX_OUTPUT


def test_a_filter_refusing_its_arguments_by_assertion_is_a_plato_error() -> None:
    """Found by the property above: jinja2's truncate asserts `length >= len(end)`, and the AssertionError
    escaped as an internal error (exit 1)."""
    from generator.match.templates import compile_template

    tpl = compile_template("{{ 'y'|truncate(1) }}", "rules/50-test.yaml", 10)
    with pytest.raises(PlatoError, match="expected length >= 3"):
        tpl.render({}, "rule 'x'")
