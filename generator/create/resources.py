"""Provisioning each resource node of the plan with its rule: outputs, manifests, volume, Terraform."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from generator.create.pods import label_resource_pods
from generator.create.values import SecretRef, resolve_params
from generator.errors import Collector, UserError
from generator.match.plan import Plan, ResourceNode
from generator.match.templates import RuleRefused, TemplateLimitError, Tpl, render_tree

SECRET_LIKE = (
    "password",
    "passwd",
    "secret",
    "token",
    "private_key",
    "api_key",
    "apikey",
    "secret_key",
    "access_key",
    "credentials",
    "connection_string",
    "connection",
)


@dataclass
class Provisioned:
    node: ResourceNode
    outputs: dict[str, Any]
    manifests: list[dict[str, Any]] = field(default_factory=list)
    volume: dict[str, Any] | None = None
    claim_template: dict[str, Any] | None = None
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    store: dict[str, Any] = field(default_factory=dict)
    store_path: str = ""
    tf_resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)  # the rule's `workload` settings (autoscaling)
    # What the workloads using this resource need of their ServiceAccount: annotations, the API token.
    service_account: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)  # cloud permissions, granted per workload
    network: dict[str, Any] = field(default_factory=dict)  # pods an operator runs for it, peers it admits


def base_variables(plan: Plan) -> dict[str, Any]:
    ctx = plan.context
    workloads = {
        w.name: {
            "name": w.name,
            "ports": {p.name: {"port": p.port, "targetPort": p.target_port, "protocol": p.protocol} for p in w.ports},
            "annotations": dict(w.annotations),
        }
        for w in plan.workloads
    }
    return {
        **ctx,
        "ctx": dict(ctx),
        "environment": plan.env,
        "namespace": plan.env["namespace"],
        "cluster": plan.env["cluster"],
        "workloads": workloads,
    }


def provision(plan: Plan) -> dict[str, Provisioned]:
    """Every resource, provisioned by its rule. A resource whose templates fail is reported with every other one
    that fails (a rule author fixes them in one go); one that needs a failed resource is not tried (the error of
    what it needs is the one to fix). A template that hits a limit ends the run at once: the others would each
    spend their own bounds first."""
    done: dict[str, Provisioned] = {}
    failed: set[str] = set()
    errors = Collector()
    scope = _Scope(plan)
    for key, node in plan.resources.items():
        if not failed.isdisjoint([*node.refs.values(), *node.requires.values()]):
            failed.add(key)
            continue
        with errors.attempt():
            try:
                done[key] = _provision(scope, key, node, done)
            except RuleRefused as exc:  # the rule says what the spec must change: pointed at the spec
                raise _at_spec(scope, node, exc) from None
        if key not in done:
            failed.add(key)
            if isinstance(errors.errors[-1], TemplateLimitError):
                break
    errors.check()
    return done


def _at_spec(scope: _Scope, node: ResourceNode, exc: RuleRefused) -> UserError:
    request = scope.by_workload[node.declared_by[0][0]].resource(node.declared_by[0][1]) if node.declared_by else None
    if request is None or not request.where.file:
        return exc
    return UserError.at(request.where, exc.message, hint=f"said by the rule at {exc.file}:{exc.line}")


@dataclass
class _Scope:
    """What every resource of one plan is provisioned with."""

    plan: Plan
    base: dict[str, Any] = field(init=False)
    prefix: str = field(init=False)
    by_workload: dict[str, Any] = field(init=False)
    wanted: dict[str, set[str]] = field(init=False)

    def __post_init__(self) -> None:
        plan = self.plan
        self.base = base_variables(plan)
        store = plan.env.get("secretStore") or {}
        self.prefix = store.get("pathPrefix") or f"{plan.context['env']}/{plan.context['app']}"
        self.by_workload = {w.name: w for w in plan.workloads}
        self.wanted = requested_outputs(plan)


def _provision(scope: _Scope, key: str, node: ResourceNode, done: dict[str, Provisioned]) -> Provisioned:
    rule = node.rule
    what = f"rule '{rule.name}' for {node.label}"
    deps_by_name = {name: done[k].outputs for name, k in node.refs.items()}
    metadata = scope.by_workload[node.declared_by[0][0]].metadata if node.declared_by else {}
    params = resolve_params(node.params, deps_by_name, metadata, node.label)
    for pname, decl in (rule.spec.get("params") or {}).items():
        if pname not in params and "default" in decl:
            params[pname] = decl["default"]
    workload = scope.base["workloads"].get(node.declared_by[0][0]) if node.declared_by else None
    store_path = f"{scope.prefix}/{node.name}"
    variables = {
        **scope.base,
        "resource": node.variables,
        "params": params,
        "deps": {name: done[k].outputs for name, k in node.requires.items()},
        "workload": workload,
        "target": node.target,
        "store_path": store_path,
    }
    variables["tf"] = re.sub(r"[^A-Za-z0-9_]", "_", node.name)
    outputs = _outputs(
        rule.spec.get("outputs") or {}, variables, what, scope.wanted.get(key, set()), rule.file, rule.line
    )
    prov = Provisioned(node=node, outputs=outputs, store_path=store_path)
    variables["outputs"] = {k: v for k, v in outputs.items() if not isinstance(v, SecretRef)}
    if "manifests" in rule.spec:
        prov.manifests = parse_manifests(rule.spec["manifests"], variables, what)
        label_resource_pods(node, prov.manifests)
    if "volume" in rule.spec:
        vol = render_tree(rule.spec["volume"], variables, what)
        prov.claim_template = vol.pop("claimTemplate", None)
        prov.volume = vol or None
    if "workload" in rule.spec:
        prov.workload = render_tree(rule.spec["workload"], variables, what)
    if "serviceAccount" in rule.spec:
        prov.service_account = render_tree(rule.spec["serviceAccount"], variables, what)
    if "network" in rule.spec:
        prov.network = render_tree(rule.spec["network"], variables, what)
    if "identity" in rule.spec:
        prov.identity = render_tree(rule.spec["identity"], variables, what)
    tf = rule.spec.get("terraform")
    if tf:
        prov.modules = {name: render_tree(m, variables, what) for name, m in (tf.get("modules") or {}).items()}
        prov.tf_resources = {name: render_tree(r, variables, what) for name, r in (tf.get("resources") or {}).items()}
        prov.store = render_tree(tf.get("store") or {}, variables, what)
    return prov


def requested_outputs(plan: Plan) -> dict[str, set[str]]:
    """Output names each node is asked for (what a wildcard `*` output must produce)."""
    from generator.match.plan import _refs_in, _workload_refs

    wanted: dict[str, set[str]] = {}
    for w in plan.workloads:
        for _, ref, _ok in _workload_refs(w):
            if ref.path[0] == "resources" and len(ref.path) > 2:
                wanted.setdefault(plan.bindings[(w.name, ref.path[1])], set()).add(ref.path[2])
    for node in plan.resources.values():
        for ref in _refs_in(node.params):
            if len(ref.path) > 2:
                wanted.setdefault(node.refs[ref.path[1]], set()).add(ref.path[2])
    return wanted


def _outputs(
    spec: dict[str, Any],
    variables: dict[str, Any],
    what: str,
    wanted: set[str],
    rule_file: str | None = None,
    rule_line: int | None = None,
) -> dict[str, Any]:
    """The rule's outputs, rendered; every output that fails is reported (up to a template limit)."""
    out: dict[str, Any] = {}
    items = [(n, d, variables) for n, d in spec.items() if n != "*"]
    if "*" in spec:
        items += [(n, spec["*"], {**variables, "output": n}) for n in sorted(wanted) if n not in spec]
    errors = Collector()
    for name, decl, variables in items:
        with errors.attempt():
            out[name] = _output(name, decl, variables, f"{what}, output '{name}'", rule_file, rule_line)
        if errors and isinstance(errors.errors[-1], TemplateLimitError):
            break
    errors.check()
    return out


def _output(name: str, decl: Any, variables: dict[str, Any], what: str, rule_file: str | None,
            rule_line: int | None) -> Any:  # fmt: skip
    if isinstance(decl, dict) and "secret" in decl:
        s = render_tree(decl["secret"], variables, what)
        store = render_tree(decl.get("store") or {}, variables, what)
        return SecretRef(
            name=s["name"],
            key=s["key"],
            store_key=store.get("key"),
            store_property=store.get("property", name) if store else None,
        )
    value = decl["value"] if isinstance(decl, dict) and "value" in decl else decl
    rendered = render_tree(value, variables, what)
    if _looks_secret(name) and rendered not in ("", None):
        raise UserError(
            f"{what}: named like a credential but is a plain value; plain outputs are written into the deployment "
            "repository",
            file=value.file if isinstance(value, Tpl) else rule_file,
            line=value.line if isinstance(value, Tpl) else rule_line,
            hint=f"declare it secret: {name}: {{secret: {{name: <Secret name>, key: <key>}}}}",
        )
    return rendered


def _looks_secret(name: str) -> bool:
    n = name.lower()
    return any(s in n for s in SECRET_LIKE)


def parse_manifests(template: Any, variables: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """The documents a manifests template renders, each checked to be a Kubernetes object plato can write."""
    if not isinstance(template, Tpl):
        return _parse_documents(str(template), None, what)
    marked = template.render_marked(variables, what)
    if marked is None:
        return _parse_documents(template.render(variables, what), template, what)
    docs, text = skeleton_documents(template.source, *marked)
    if docs is not None:
        return _checked(docs, template, what)
    return _parse_documents(text if text is not None else template.render(variables, what), template, what)


# The skeleton of each marked text a manifests template has rendered (read/skeleton.py), or None where it has
# none. Bounded: a template whose control flow differs from app to app makes a marked text of each.
_SKELETONS: dict[tuple[str, str], Any] = {}
SKELETONS_MAX = 2048


def skeleton_documents(source: str, marked: str, values: list[str]) -> tuple[list[Any] | None, str | None]:
    """The documents of a marked render filled with its values, or None and the text to parse: the marked text
    with each mark replaced by its value, or None when the text holds private-use characters that are no marks
    (the template's own: it is rendered again as text)."""
    from generator.read import skeleton

    key = (source, marked)
    if key not in _SKELETONS:
        if len(_SKELETONS) >= SKELETONS_MAX:
            _SKELETONS.clear()
        _SKELETONS[key] = skeleton.build(marked, len(values))
    found = _SKELETONS[key]
    docs = found.fill(values) if found is not None else None
    if docs is not None:
        return docs, ""
    return None, skeleton.filled(marked, values) if skeleton.marked_in_order(marked, len(values)) else None


def _parse_documents(text: str, template: Tpl | None, what: str) -> list[dict[str, Any]]:
    import yaml

    from generator.read import plainyaml

    file = template.file if template is not None else None

    def line() -> int | None:  # only for a message: looking the line up parses the rules file again
        return template.line if isinstance(template, Tpl) else None

    try:
        docs = list(plainyaml.load_all(text))  # the empty ones are left out by _checked
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UserError(
            f"{what}: manifests template does not render to valid YAML: "
            f"{getattr(exc, 'problem', exc)}" + (f" (rendered line {mark.line + 1})" if mark else ""),
            file=file,
            line=line(),
        ) from None
    except ValueError as exc:  # an integer past Python's digit limit, a date that does not exist
        raise UserError(
            f"{what}: manifests template renders a value YAML cannot hold: {exc}", file=file, line=line()
        ) from None
    return _checked(docs, template, what)


def _checked(docs: list[Any], template: Tpl | None, what: str) -> list[dict[str, Any]]:
    docs = [d for d in docs if d is not None]
    for d in docs:
        problem = _manifest_problem(d)
        if problem:
            raise UserError(
                f"{what}: {problem}",
                file=template.file if template is not None else None,
                line=template.line if template is not None else None,
            )
    return docs


_INT_LIMIT = 2**63  # what a Kubernetes integer (int64) holds
MAX_NODES = 200_000  # values in one manifest once aliases are expanded, as for the files users write


def _manifest_problem(doc: Any) -> str | None:
    """Why a rendered document is no Kubernetes object plato can write, or None."""
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
        return "every manifest needs apiVersion, kind and metadata.name"
    if not all(isinstance(doc.get(k), str) and doc[k] for k in ("apiVersion", "kind")) or not doc["metadata"].get(
        "name"
    ):
        return "every manifest needs apiVersion, kind and metadata.name, apiVersion and kind as text"
    stack: list[Any] = [doc]
    nodes = 0
    while stack:
        value = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:  # also where an alias refers to the node it is in: the walk would never end
            return f"a manifest expands to more than {MAX_NODES:,} values (an alias bomb, or an alias inside itself)"
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                return f"a manifest's keys are text, not {sorted(repr(k) for k in value if not isinstance(k, str))[0]}"
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, int) and not isinstance(value, bool) and not -_INT_LIMIT <= value < _INT_LIMIT:
            return "a manifest's integers fit in 64 bits (Kubernetes' int64)"
    return None
