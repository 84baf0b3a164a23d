"""The match stage: context rules, the Environment, profiles, one rule per resource, and the resource graph."""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any

from generator.errors import Collector, PlatoError, UserError, did_you_mean
from generator.match.engine import Decision, choose
from generator.match.rules import Rule, RuleSet
from generator.match.templates import Tpl, dns_label, leaves, render_tree, short_hash
from generator.read import context as ctxmod
from generator.read.ci import DNS_LABEL
from generator.read.models import ResourceRequest, Where, Workload
from generator.read.placeholders import Ref, Template

DEFAULT_PATHS = {
    "manifests": "{env}/{app}",
    "terraform": "terraform/{env}/{app}",
    "cd": "cd/{cluster}/{env}-{app}.yaml",
}


@dataclass
class ResourceNode:
    """One resource to provision: declared by workloads (private or shared by id) or required by a rule."""

    key: str
    name: str  # a unique DNS-1123 name for the objects it creates
    type: str
    class_: str
    id: str | None
    rule: Rule
    params: dict[str, Any]  # may hold Template values that refer to other resources
    declared_by: list[tuple[str, str]]  # (workload, resource name); empty when required by a rule
    requires: dict[str, str] = field(default_factory=dict)  # rule's requires name -> node key
    refs: dict[str, str] = field(default_factory=dict)  # resource name in the declaring workload -> node key
    where: Where | None = None  # the declaring resource in a spec, or the rule whose `requires` made it
    required_by: str = ""  # the rule whose `requires` created this node
    target: dict[str, Any] | None = None  # for a rule with `dependency: workload`: the workload it reaches

    @property
    def variables(self) -> dict[str, Any]:
        """What templates see as `resource`: `ref` is the id, else the name in the declaring workload (Score's
        resource key)."""
        ref = self.id or (self.declared_by[0][1] if self.declared_by else self.name)
        return {"name": self.name, "type": self.type, "class": self.class_, "id": self.id, "key": self.key, "ref": ref}

    @property
    def label(self) -> str:
        if self.declared_by:
            w, r = self.declared_by[0]
            return f"resource '{r}' ({self.type}) of workload '{w}'"
        return f"resource '{self.key}' ({self.type}, required by rule '{self.required_by}')"


@dataclass
class Plan:
    context: dict[str, str]
    environment: Rule
    env: dict[str, Any]  # the rendered Environment spec, with defaults filled in
    workloads: list[Workload]
    profiles: dict[str, Rule | None]
    resources: dict[str, ResourceNode]  # in dependency order
    bindings: dict[tuple[str, str], str]  # (workload, resource name) -> node key
    decisions: list[Decision]
    rules: RuleSet
    errors: list[PlatoError] = field(default_factory=list)  # with make_plan(partial=True): what did not match

    def rules_used(self) -> dict[str, str]:
        """Every rule that shaped this plan, with its digest: what a later rule change is compared against."""
        used = [self.environment, *(p for p in self.profiles.values() if p), *(n.rule for n in self.resources.values())]
        return {r.ref: r.digest for r in sorted(used, key=lambda r: r.ref)}

    def rules_digest(self) -> str:
        """The digest of the rules this plan used (what an app's README names): its Environment, Profiles and
        Resource rules, and the Context rules, any of which may set its context. A change to another rule leaves
        the app's files byte for byte as they are, so a rule change elsewhere in the fleet makes no change here
        (no file and no record to rewrite, check and commit). The rule set's own digest names the whole set in
        commits and pull requests."""
        used = {**self.rules_used(), **{r.ref: r.digest for r in self.rules.contexts}}
        text = "".join(f"{ref} {digest}\n" for ref, digest in sorted(used.items()))
        return short_hash(text, 12)


def derive_context(ctx: Mapping[str, str], rules: RuleSet) -> tuple[dict[str, str], list[str]]:
    """Apply Context rules: keys they set fill gaps only, never override what CI passed."""
    out = dict(ctx)
    notes: list[str] = []
    setters: dict[str, tuple[str, Rule]] = {}
    for rule in rules.contexts:
        if rule.failed_criterion(ctx) is not None:
            continue
        rule.ensure_valid()
        values = render_tree(rule.spec["set"], dict(ctx), f"Context rule '{rule.name}'")
        for key, value in values.items():
            if key in ctx:
                continue
            prev = setters.get(key)
            if prev and prev[0] != value:
                raise UserError.at(
                    rule,
                    f"Context rules '{prev[1].name}' ({prev[1].where}) and '{rule.name}' ({rule.where}) both set "
                    f"{key}, to {prev[0]!r} and {value!r}",
                    hint="narrow their match so only one applies, or pass the key with -c",
                )
            setters[key] = (value, rule)
            out[key] = value
            notes.append(f"{key}={value} from Context rule '{rule.name}' ({rule.where})")
    for key, (_, rule) in setters.items():
        ctxmod.validate({key: out[key]}, origin=f"{rule.where} (Context rule '{rule.name}')")
    return dict(sorted(out.items())), notes


def resolve_environment(ctx: dict[str, str], rules: RuleSet) -> tuple[Rule, dict[str, Any], Decision, dict[str, str]]:
    ctxmod.require(ctx, ("env", "app"))
    decision = choose(
        f"environment for env={ctx['env']} app={ctx['app']}", "Environment", rules.environments, ctx, rules.dimensions
    )
    rule = decision.winner
    assert rule is not None
    env = render_tree(rule.spec, dict(ctx), f"Environment rule '{rule.name}'")
    env_type = env.get("env_type")
    if env_type:
        if ctx.get("env_type") and ctx["env_type"] != env_type:
            raise UserError.at(
                rule,
                f"context env_type={ctx['env_type']} but Environment rule '{rule.name}' says {env_type}",
                hint="drop -c env_type, or fix the rule",
            )
        ctx = {**ctx, "env_type": env_type}
    ctxmod.require(ctx, env.get("require", []))
    env.setdefault("cluster", "default")
    ctxmod.validate(
        {"namespace": env["namespace"], "cluster": env["cluster"]}, origin=f"{rule.where} (Environment '{rule.name}')"
    )
    paths = {**DEFAULT_PATHS, **env.get("paths", {})}
    fill = {**ctx, "cluster": env["cluster"], "namespace": env["namespace"]}
    env["paths"] = {k: _format_path(v, fill, rule, k) for k, v in paths.items()}
    return rule, env, decision, dict(sorted(ctx.items()))


def _format_path(pattern: str, values: Mapping[str, str], rule: Rule, key: str) -> str:
    def refuse(message: str, hint: str | None = None) -> UserError:
        # The line of paths.<key> is looked up only for a message (a second, slow parse of the rule file).
        return UserError(f"paths.{key} '{pattern}' {message}", file=rule.file, line=_line_of(rule, key), hint=hint)

    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(pattern) if name is not None]
    except ValueError as exc:
        raise refuse(
            f"is not a path pattern: {exc}", "write fields as {env}, {app}; a literal brace as {{ or }}"
        ) from None
    for name, spec, conv in fields:
        if not name.isidentifier() or spec or conv:
            field_text = f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
            raise refuse(
                f"has '{field_text}', which is not a plain field",
                "path fields are context keys only, e.g. {env}, {app}, {cluster}, {namespace}",
            )
        if name not in values:
            raise refuse(f"uses {{{name}}}, which the context does not have", did_you_mean(name, values))
        if not DNS_LABEL.fullmatch(values[name]):
            # A value becomes one folder name, as env and app do: '.git', '..', 'a/b' or '' would put the files
            # into the clone's git folder, outside the app's paths, or into someone else's.
            raise refuse(
                f"uses {{{name}}}, and {name}={values[name]!r} is not a valid name for a folder",
                f"context values used in paths are names: lower case letters, digits and '-', at most 63 "
                f"characters, starting and ending with a letter or digit (fix -c {name}=..., or the rule that "
                "derives it)",
            )
    if "{env}" not in pattern or "{app}" not in pattern:
        # Every (env, app) owns its own paths: a pattern without both would be shared, and a publish of one app
        # would replace another's files.
        raise refuse(
            "must contain both {env} and {app}",
            "each (env, app) owns its paths, e.g. '{env}/{app}' or 'cd/{cluster}/{env}-{app}.yaml'",
        )
    path = pattern.format(**values)
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in path:
        raise refuse(f"gives '{path}': a path must be relative, without '..' or empty parts")
    dotted = next((p for p in parts if p.startswith(".")), None)
    if dotted:
        # Dot folders belong to tools (.git, .github) or to plato itself (.plato holds the records).
        raise refuse(f"gives '{path}', inside the dot folder '{dotted}'", "paths may not enter a dot folder")
    return path


def _line_of(rule: Rule, key: str) -> int | None:
    """The line of paths.<key> inside a rule's document, else the rule's first line."""
    if rule.doc is not None:
        line = rule.doc.where(("spec", "paths", key))[0]
        if line is not None:
            return int(line)
    return rule.line


def make_plan(workloads: list[Workload], ctx: dict[str, str], rules: RuleSet, partial: bool = False) -> Plan:
    """The plan for an app. Every resource, param and placeholder is checked, and every user error found is
    reported together; with `partial` (explain) the plan of what did match is returned with those errors."""
    ctx, _ = derive_context(ctx, rules)
    env_rule, env, env_decision, ctx = resolve_environment(ctx, rules)
    found = Collector()
    decisions: list[Decision] = [env_decision]
    profiles: dict[str, Rule | None] = {w.name: None for w in workloads}
    for w in workloads:
        with found.attempt():
            need = f"profile for workload '{w.name}'"
            d = choose(need, "Profile", rules.profiles, ctx, rules.dimensions, required=False)
            decisions.append(d)
            profiles[w.name] = d.winner
    graph = _Graph(ctx, rules, found)
    graph.build(workloads)
    decisions += graph.decisions
    _check_params(graph.nodes, workloads, found)
    found.errors.extend(_image_errors(workloads, ctx, env))
    _resolve_targets(graph.nodes, workloads, ctx, env, rules, found)
    found.errors.extend(_target_port_errors(graph.nodes, workloads, graph.bindings))
    _check_outputs(workloads, graph.nodes, graph.bindings, found)
    ordered = graph.nodes if found else _order(graph.nodes)
    if not partial:
        found.check()
    return Plan(ctx, env_rule, env, workloads, profiles, ordered, graph.bindings, decisions, rules, found.errors)


def _attrs(ctx: Mapping[str, str], type_: str, class_: str, id_: str | None) -> dict[str, str | None]:
    return {**ctx, "type": type_, "class": class_, "id": id_}


class _Graph:
    """The resource graph of an app: a node per declared resource (one per id when shared), the references
    between them through params, then the resources their rules require. A resource that fails is reported
    and left out; the rest are still matched, so one run finds every problem."""

    def __init__(self, ctx: dict[str, str], rules: RuleSet, found: Collector) -> None:
        self.ctx, self.rules, self.found = ctx, rules, found
        self.nodes: dict[str, ResourceNode] = {}
        self.bindings: dict[tuple[str, str], str] = {}  # (workload, resource name) -> node key
        self.decisions: list[Decision] = []
        self._names: dict[str, str] = {}

    def build(self, workloads: list[Workload]) -> None:
        pending: list[ResourceNode] = []
        for w in workloads:
            for r in w.resources:
                with self.found.attempt():
                    self._declare(w, r, pending)
        for w in workloads:
            for r in w.resources:
                with self.found.attempt():
                    self._bind_refs(w, r)
        while pending:
            node = pending.pop(0)
            for req_name, req in sorted((node.rule.spec.get("requires") or {}).items()):
                with self.found.attempt():
                    self._require(node, req_name, req, pending)

    def _node(
        self, key: str, type_: str, class_: str, id_: str | None, need: str, where: Where, base: str
    ) -> ResourceNode:
        d = choose(
            need,
            "Resource",
            self.rules.for_type(type_),
            _attrs(self.ctx, type_, class_, id_),
            self.rules.dimensions,
            where=where,
        )
        self.decisions.append(d)
        assert d.winner is not None
        name = dns_label(base)
        if name in self._names and self._names[name] != key:
            # Two resources would share a name ("api" + "cache-db" and "api-cache" + "db"): a stable suffix.
            name = dns_label(f"{base[:54]}-{short_hash(key)}")
        self._names[name] = key
        return ResourceNode(
            key=key, name=name, type=type_, class_=class_, id=id_, rule=d.winner, params={}, declared_by=[], where=where
        )

    def _declare(self, w: Workload, r: ResourceRequest, pending: list[ResourceNode]) -> None:
        key = _key(w, r)
        node = self.nodes.get(key)
        if node is None:
            # Shared resources are named by type, class (when not default) and id: a read-only view of a bucket
            # and the bucket itself share the id, never the name.
            parts = [r.type, r.class_, r.id] if r.class_ != "default" else [r.type, r.id]
            base = "-".join(str(p) for p in parts) if r.id else f"{w.name}-{r.name}"
            need = f"resource '{r.name}' ({r.type}) of workload '{w.name}'"
            node = self._node(key, r.type, r.class_, r.id, need, r.where, base)
            node.params = dict(r.params)
            self.nodes[key] = node
            pending.append(node)
        elif _plain(node.params) != _plain(r.params):
            first_w, first_r = node.declared_by[0]
            raise UserError.at(
                r.where,
                f"shared resource '{r.id}' ({r.type}) is declared with different params by workload "
                f"'{first_w}' (resource '{first_r}', {_at(node.where)}) and workload '{w.name}' "
                f"(resource '{r.name}')",
                hint="a shared resource is provisioned once per app: give it the same params everywhere",
            )
        self.bindings[(w.name, r.name)] = key
        node.declared_by.append((w.name, r.name))

    def _bind_refs(self, w: Workload, r: ResourceRequest) -> None:
        node = self.nodes.get(self.bindings.get((w.name, r.name), ""))
        if node is None:
            return  # the resource itself failed, and was reported
        for ref in _refs_in(r.params):
            target = w.resource(ref.path[1])
            assert target is not None  # checked at read
            bound = self.bindings.get((w.name, target.name))
            if bound is not None and node.refs.setdefault(target.name, bound) != bound:
                raise UserError.at(
                    r.where,
                    f"shared resource '{r.id}' ({r.type}): its params refer to {ref.text}, which means a "
                    f"different resource in workload '{w.name}' than in workload '{node.declared_by[0][0]}'",
                    hint="a shared resource is provisioned once: give the referenced resource an id too, so "
                    "both workloads mean the same one",
                )

    def _require(self, node: ResourceNode, req_name: str, req: Any, pending: list[ResourceNode]) -> None:
        if req.get("unlessParam") in node.params:
            return  # the resource was given what the requirement would provide (a route its host)
        # A required resource can be named after what asks for it: the resource (its name, class and id, or its
        # name in the declaring workload) and that workload, e.g. one `dns` per workload for its routes.
        declared = node.declared_by[0] if node.declared_by else None
        variables = {**self.ctx, "resource": node.variables, "workload": {"name": declared[0]} if declared else None}
        req = render_tree(req, variables, f"rule '{node.rule.name}' requires")
        type_, class_ = req["type"], req.get("class", "default")
        id_ = req.get("id") or req_name
        key = f"{type_}.{class_}.{id_}"
        node.requires[req_name] = key
        if key in self.nodes:
            return
        need = f"resource '{req_name}' ({type_}) required by rule '{node.rule.name}'"
        child = self._node(key, type_, class_, id_, need, Where(node.rule.file, node.rule.line), f"{type_}-{id_}")
        child.params = dict(req.get("params", {}))
        child.required_by = node.rule.name
        self.nodes[key] = child
        pending.append(child)


def _resolve_targets(
    nodes: Mapping[str, ResourceNode],
    workloads: list[Workload],
    ctx: dict[str, str],
    env: Mapping[str, Any],
    rules: RuleSet,
    found: Collector,
) -> None:
    """Resources whose rule says `dependency: workload` stand for another workload: the one their param
    `workload` names, else their id, else their name in the declaring workload (Score's convention: the
    resource key names the workload). In the same app it must exist (its ports are known), unless the rule says
    `workload-or-external`; with param `app` it is a workload of another app in the same environment, reached in
    that app's namespace."""
    by_name = {w.name: w for w in workloads}
    for node in nodes.values():
        mode = node.rule.spec.get("dependency")
        if mode in ("workload", "workload-or-external"):
            with found.attempt():
                _resolve_target(node, mode, by_name, ctx, env, rules)


def _resolve_target(
    node: ResourceNode,
    mode: str,
    by_name: Mapping[str, Workload],
    ctx: dict[str, str],
    env: Mapping[str, Any],
    rules: RuleSet,
) -> None:
    declared = node.declared_by[0] if node.declared_by else (node.key, node.key)
    name = _plain(node.params.get("workload")) or node.id or declared[1]
    other_app = _plain(node.params.get("app"))
    if other_app and other_app != ctx["app"]:
        _, other_env, _, _ = resolve_environment({**ctx, "app": str(other_app)}, rules)
        node.target = {"name": name, "app": other_app, "namespace": other_env["namespace"], "ports": None}
        return
    target = by_name.get(name)
    if target is None and mode == "workload-or-external":
        return  # not a workload of the app: the rule serves it another way (an endpoint's URL or mock)
    if target is None:
        where = node.where
        raise UserError(
            f"{node.label} depends on workload '{name}', which is not part of app '{ctx['app']}' "
            f"(its workloads: {', '.join(sorted(by_name))})",
            file=where.file if where else None,
            line=where.line if where else None,
            hint="the resource's name (or its id, or params.workload) names the workload: "
            + did_you_mean(str(name), by_name)
            + "; render the app's workloads together, or add params.app for a workload of another app",
        )
    ports = {p.name: {"port": p.port, "targetPort": p.target_port, "protocol": p.protocol} for p in target.ports}
    node.target = {"name": name, "app": ctx["app"], "namespace": env["namespace"], "ports": ports}


def _target_port_errors(
    nodes: Mapping[str, ResourceNode], workloads: list[Workload], bindings: Mapping[tuple[str, str], str]
) -> Iterator[UserError]:
    """An output of a workload dependency that its rule does not name is a port of that workload, by name: one
    it lacks is the spec's mistake, told at the spec's line (not as a template failure in the rule)."""
    for w in workloads:
        for where, ref, _ in _workload_refs(w):
            node = nodes.get(bindings.get((w.name, ref.path[1]), "")) if ref.path[0] == "resources" else None
            if node is None or len(ref.path) < 3:
                continue  # not a resource's output, or a resource that failed to match (reported)
            target, out = node.target, ref.path[2]
            if target is None or out in outputs_of(node.rule) or out in (target["ports"] or {}):
                continue
            if target["ports"] is None:
                message = (
                    f"workload '{w.name}': {ref.text}: the ports of workload '{target['name']}' of app "
                    f"'{target['app']}' are not known when rendering this app"
                )
                hint = "give the port as params.port and read ${resources.<name>.port} or .url"
            else:
                message = f"workload '{w.name}': {ref.text}: workload '{target['name']}' has no port '{out}' in its "
                message += "service.ports"
                hint = did_you_mean(out, [*target["ports"], *(o for o in outputs_of(node.rule) if o != "*")])
            yield UserError.at(where, message, hint=hint)


def dependencies(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    """(declaring workload, target) for every workload-to-workload dependency: what network policy allows."""
    return [(w, n.target) for n in plan.resources.values() if n.target for w, _ in n.declared_by]


def _image_errors(workloads: list[Workload], ctx: Mapping[str, str], env: Mapping[str, Any]) -> Iterator[UserError]:
    """Production runs only images that cannot change under it: a `:latest` tag (from the spec or from CI) is
    refused, a digest pins any tag. Known from the spec and the context alone, so validate finds it too."""
    if env.get("env_type") != "production":
        return
    for w in workloads:
        for c in w.containers:
            name = c.image if c.image != "." else ctx.get("image")
            if name and _mutable_latest(name):
                given = "the image CI passed" if c.image == "." else "the spec"
                yield UserError.at(
                    c.where,
                    f"workload '{w.name}', container '{c.name}': image {name!r} (from {given}) is the mutable tag "
                    "'latest'; production runs only images that cannot change under it",
                    hint="name a version tag (nginx:1.27.3) or a digest (repo:tag@sha256:...); CI passes its build "
                    "as --image REGISTRY/NAME:TAG@sha256:DIGEST",
                )


def _mutable_latest(name: str) -> bool:
    """An explicit `:latest` (an image with no tag is left to the bundled image policy, which a platform can
    relax; it is denied there in production)."""
    if "@" in name:
        return False  # a digest pins the image whatever the tag says
    last = name.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] == "latest"


def _at(where: Where | None) -> str:
    if where is None:
        return ""
    return f"{where.file}:{where.line}" if where.line else where.file


def _key(w: Workload, r: ResourceRequest) -> str:
    # Same type, class and id across the workloads of an app are one resource (Score's rule for `id`).
    return f"{r.type}.{r.class_}.{r.id}" if r.id else f"{w.name}.{r.name}"


def _plain(value: Any) -> Any:
    if isinstance(value, Template):
        return value.source()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _refs_in(value: Any) -> Iterable[Ref]:
    """The placeholders to other resources in params (`${metadata...}` ones are the workload's own metadata,
    filled in when the params are resolved)."""
    for template in leaves(value, Template):
        yield from (ref for ref in template.refs if ref.path[0] == "resources")


def _check_params(nodes: Mapping[str, ResourceNode], workloads: list[Workload], found: Collector) -> None:
    by_name = {w.name: w for w in workloads}
    for node in nodes.values():
        accepted = node.rule.spec.get("params") or {}
        origin = by_name[node.declared_by[0][0]].resource(node.declared_by[0][1]) if node.declared_by else None

        def error(message: str, hint: str, origin: ResourceRequest | None = origin, node: ResourceNode = node) -> None:
            # The spec line is looked up only now: positions cost a second parse of the file.
            where = origin.where if origin else Where(node.rule.file, node.rule.line)
            found.errors.append(UserError.at(where, f"{node.label}: {message}", hint=hint))

        for p in node.params:
            if p not in accepted:
                error(
                    f"param '{p}' is not accepted by rule '{node.rule.name}' ({node.rule.where})",
                    did_you_mean(p, accepted),
                )
        for p, decl in accepted.items():
            if decl.get("required") and p not in node.params:
                error(
                    f"rule '{node.rule.name}' ({node.rule.where}) requires param '{p}'",
                    str(decl.get("description") or f"add params: {{{p}: ...}}"),
                )


def outputs_of(rule: Rule) -> dict[str, Any]:
    outs: dict[str, Any] = rule.spec.get("outputs") or {}
    return outs


def _check_outputs(
    workloads: list[Workload],
    nodes: Mapping[str, ResourceNode],
    bindings: Mapping[tuple[str, str], str],
    found: Collector,
) -> None:
    found.errors.extend(_placeholder_errors(workloads, nodes, bindings))
    found.errors.extend(_param_ref_errors(workloads, nodes))


def _placeholder_errors(
    workloads: list[Workload], nodes: Mapping[str, ResourceNode], bindings: Mapping[tuple[str, str], str]
) -> Iterator[UserError]:
    """Workload placeholders ${resources.<name>.<output>} that the matched rule cannot fill."""
    for w in workloads:
        for where, ref, whole_ok in _workload_refs(w):
            node = nodes.get(bindings.get((w.name, ref.path[1]), "")) if ref.path[0] == "resources" else None
            if node is None:
                continue  # not a resource, or one that failed to match (reported)
            if len(ref.path) == 2:
                if whole_ok:
                    continue
                yield UserError.at(
                    where,
                    f"workload '{w.name}': {ref.text} refers to a whole resource; name one of its outputs",
                    hint="outputs of rule " + f"'{node.rule.name}': " + ", ".join(sorted(outputs_of(node.rule))),
                )
                continue
            out = ref.path[2]
            offered = outputs_of(node.rule)
            if out not in offered and "*" not in offered:
                yield UserError.at(
                    where,
                    f"workload '{w.name}': {ref.text}: resource '{ref.path[1]}' ({node.type}) has no output '{out}' "
                    f"in rule '{node.rule.name}' ({node.rule.where})",
                    hint=did_you_mean(out, offered),
                )


def _param_ref_errors(workloads: list[Workload], nodes: Mapping[str, ResourceNode]) -> Iterator[UserError]:
    """Params that refer to another resource's output it does not offer, or to a secret one."""
    for node in nodes.values():
        if not node.declared_by:
            continue
        w = next(x for x in workloads if x.name == node.declared_by[0][0])
        for ref in _refs_in(node.params):
            dep = nodes.get(node.refs.get(ref.path[1], ""))
            if dep is None:
                continue  # the referenced resource failed to match (reported)
            if len(ref.path) < 3 or (ref.path[2] not in outputs_of(dep.rule) and "*" not in outputs_of(dep.rule)):
                r = w.resource(node.declared_by[0][1])
                yield UserError(
                    f"{node.label}: param placeholder {ref.text}: rule '{dep.rule.name}' ({dep.rule.where}) offers "
                    + (", ".join(sorted(outputs_of(dep.rule))) or "no outputs"),
                    file=r.where.file if r else None,
                    line=r.where.line if r else None,
                    hint=did_you_mean(ref.path[2], outputs_of(dep.rule)) if len(ref.path) > 2 else None,
                )
                continue
            spec = outputs_of(dep.rule).get(ref.path[2], outputs_of(dep.rule).get("*"))
            if isinstance(spec, dict) and "secret" in spec:
                r = w.resource(node.declared_by[0][1])
                yield UserError(
                    f"{node.label}: param placeholder {ref.text} is a secret output; params take plain values only",
                    file=r.where.file if r else None,
                    line=r.where.line if r else None,
                    hint="secrets reach containers by reference; pass them to the workload's variables instead",
                )


def _workload_refs(w: Workload) -> Iterable[tuple[Where, Ref, bool]]:
    for c in w.containers:
        for name, t in c.variables:
            for r in t.refs:
                yield c.lines.get(f"variables.{name}", c.where), r, False
        for part in ("command", "args"):
            for i, t in enumerate(getattr(c, part) or ()):
                for r in t.refs:
                    yield c.lines.get(f"{part}.{i}", c.where), r, False
        for f in c.files:
            if f.content is not None:
                for r in f.content.refs:
                    yield f.where, r, False
        for v in c.volumes:
            for r in v.source.refs:
                yield v.where, r, True


def _order(nodes: dict[str, ResourceNode]) -> dict[str, ResourceNode]:
    graph = {k: set(n.refs.values()) | set(n.requires.values()) for k, n in nodes.items()}
    sorter = TopologicalSorter({k: sorted(v) for k, v in sorted(graph.items())})
    try:
        order = list(sorter.static_order())
    except CycleError as exc:
        cycle = list(reversed(exc.args[1]))
        path = " -> ".join(f"{nodes[k].label}" for k in cycle)
        first = nodes[cycle[0]]
        raise UserError(
            f"resources depend on each other in a cycle: {path}",
            file=first.where.file if first.where else None,
            line=first.where.line if first.where else None,
            hint="break the cycle: one of these params or requires must not refer back",
        ) from None
    return {k: nodes[k] for k in order}


def rendered(value: Any) -> Any:
    """For explain: a rule spec with templates shown as their source."""
    if isinstance(value, Tpl):
        return value.source
    if isinstance(value, dict):
        return {k: rendered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rendered(v) for v in value]
    return value
