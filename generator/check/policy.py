"""ValidatingAdmissionPolicy, evaluated on the rendered objects as the API server would admit them.

A pure function: (policies, objects with their rendered file, the objects now in the deployment repository)
-> results. No git, no files, no clock. Loading and positions are in `generator/check/load.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

from generator.check.cel import CelEvalError, Program, activation
from generator.check.selectors import (
    Where,
    env_matches,
    key_of,
    namespace_of,
    operation_blind,
    resource_of,
    rules_match,
    selector_matches,
)

Action = Literal["Deny", "Warn", "Audit"]
Outcome = Literal["passed", "failed", "skipped"]
FailurePolicy = Literal["Fail", "Ignore"]
NotFound = Literal["Allow", "Deny"]

# Who applies the rendered objects, as far as a policy can tell offline: the CI job that runs plato.
CI_USER: Mapping[str, Any] = {"username": "plato", "groups": ["system:authenticated"], "uid": "", "extra": {}}


@dataclass(frozen=True)
class Expr:
    program: Program
    where: Where

    @property
    def text(self) -> str:
        return self.program.source


@dataclass(frozen=True)
class Validation:
    expr: Expr
    message: str = ""
    message_expr: Expr | None = None
    reason: str = "Invalid"


@dataclass(frozen=True)
class Policy:
    name: str
    where: Where
    match: Mapping[str, Any]  # spec.matchConstraints
    failure_policy: FailurePolicy = "Fail"
    param_kind: tuple[str, str] | None = None  # (apiVersion, kind)
    conditions: tuple[tuple[str, Expr], ...] = ()
    variables: Mapping[str, Expr] = field(default_factory=dict)
    validations: tuple[Validation, ...] = ()
    audit: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True)
class Binding:
    name: str
    where: Where
    policy: str
    actions: tuple[Action, ...]
    match: Mapping[str, Any] | None = None  # spec.matchResources
    param_ref: Mapping[str, Any] | None = None
    envs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # context criteria (see load.py)

    @property
    def not_found(self) -> NotFound:
        return "Allow" if (self.param_ref or {}).get("parameterNotFoundAction") == "Allow" else "Deny"


@dataclass(frozen=True)
class Params:
    obj: Mapping[str, Any]
    where: Where


@dataclass(frozen=True)
class PolicySet:
    policies: Mapping[str, Policy] = field(default_factory=dict)
    bindings: tuple[Binding, ...] = ()
    params: tuple[Params, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.bindings)

    @cached_property
    def reads_deployed(self) -> bool:
        """Whether any binding's verdict can depend on the object already deployed (see evaluate's `judged`)."""
        return any(_reads_old(p, b) for b in self.bindings if (p := self.policies.get(b.policy)) is not None)


@dataclass(frozen=True)
class Target:
    """A rendered object, the file it is written to, and where in the Score spec it came from (if anywhere)."""

    obj: Mapping[str, Any]
    file: str
    source: Callable[[Mapping[str, Any]], Where | None] | None = None  # given the failing part, the spec position

    @property
    def ref(self) -> str:
        meta = self.obj.get("metadata") or {}
        return f"{self.obj.get('kind')}/{meta.get('name')}"


@dataclass(frozen=True)
class Result:
    policy: Policy
    binding: Binding
    target: Target
    outcome: Outcome
    message: str = ""
    reason: str = ""
    where: Where | None = None  # the expression that failed or was skipped
    annotations: tuple[tuple[str, str], ...] = ()
    # Finds the Score spec line the failing field came from; run only when a message shows it (a fleet
    # re-render that only needs pass or fail never pays for the narrowing).
    locate: Callable[[], Where | None] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def source(self) -> Where | None:
        return self.locate() if self.locate is not None else None

    @property
    def actions(self) -> tuple[Action, ...]:
        return self.binding.actions


@dataclass(frozen=True)
class Report:
    results: tuple[Result, ...] = ()

    def failed(self, action: Action) -> list[Result]:
        return [r for r in self.results if r.outcome == "failed" and action in r.actions]

    @property
    def denials(self) -> list[Result]:
        return self.failed("Deny")

    @property
    def warnings(self) -> list[Result]:
        return self.failed("Warn")

    @property
    def audits(self) -> list[Result]:
        return [r for r in self.results if "Audit" in r.actions and (r.outcome == "failed" or r.annotations)]

    @property
    def skipped(self) -> list[Result]:
        return [r for r in self.results if r.outcome == "skipped"]

    @property
    def passed(self) -> list[Result]:
        return [r for r in self.results if r.outcome == "passed"]

    @property
    def gate(self) -> Literal["success", "neutral", "failure"]:
        """The policy check's outcome for a gate (generator/deploy/gates.py): failure on a denial, success when
        every policy that applied passed, neutral when none applied or one only warned or was skipped."""
        if self.denials:
            return "failure"
        if not self.results or any(r.outcome != "passed" for r in self.results):
            return "neutral"
        return "success"

    def applied(self) -> dict[str, int]:
        """Each policy that applied to at least one object, with the count of objects."""
        seen: dict[str, set[tuple[str, str]]] = {}
        for r in self.results:
            seen.setdefault(r.policy.name, set()).add((r.target.file, r.target.ref))
        return {name: len(objects) for name, objects in sorted(seen.items())}


def evaluate(
    policies: PolicySet,
    targets: Sequence[Target],
    old: Mapping[tuple[str, str, str, str], Mapping[str, Any]] | None = None,
    context: Mapping[str, str] | None = None,
    user: Mapping[str, Any] = CI_USER,
    judged: Collection[int] = (),
) -> Report:
    """Every binding against every object it matches. `old` maps key_of(object) to the object now deployed.
    `judged`: the objects (by id) that, as these very objects, in this very context and Namespace, were judged by
    these very policies and admitted when this version of plato wrote them (a re-render's objects that render to
    the text the app's last write left, under the rule set's same match digest, which covers the policies: see
    deploy/rerender.py). A binding whose verdict cannot depend on the deployed object would say again what it
    said then, and is not evaluated on them; one that reads `oldObject` or the operation is, as the deployed object
    is now another. The others are judged by every binding."""
    namespaces = {(t.obj.get("metadata") or {}).get("name"): t.obj for t in targets if t.obj.get("kind") == "Namespace"}
    fresh = [t for t in targets if id(t.obj) not in judged] if judged else targets
    results: list[Result] = []
    for binding in policies.bindings:
        policy = policies.policies.get(binding.policy)
        if policy is None or not env_matches(binding.envs, context or {}):
            continue
        # `old` is looked at only where it can change the verdict (a lazy `old` is then never read).
        reads_old = _reads_old(policy, binding)
        deployed = old if old is not None and reads_old else {}
        for target in targets if reads_old else fresh:
            before = deployed.get(key_of(target.obj))
            ns_obj = _namespace_object(target.obj, namespaces)
            if not _matches(policy, binding, target.obj, ns_obj, before):
                continue
            request = _request(target.obj, before, user)
            for params in _params(policy, binding, target.obj, policies.params):
                results += _run(policy, binding, target, params, before, ns_obj, request)
    return Report(tuple(results))


_READS_OLD = re.compile(r"\b(?:oldObject|request)\b")


def _reads_old(policy: Policy, binding: Binding) -> bool:
    """Whether the object already deployed can change what this binding says: an expression reads `oldObject` or
    `request` (its operation), or the resource rules match a CREATE and an UPDATE differently. Otherwise an UPDATE
    is judged exactly as a CREATE, and the deployed object need not be known."""
    exprs = [*policy.variables.values(), *(e for _, e in policy.conditions), *(e for _, e in policy.audit)]
    exprs += [e for v in policy.validations for e in (v.expr, v.message_expr) if e is not None]
    if any(_READS_OLD.search(e.text) for e in exprs):
        return True
    matches = [m for m in (policy.match, binding.match) if m]
    return not all(operation_blind(m.get(k)) for m in matches for k in ("resourceRules", "excludeResourceRules"))


def _namespace_object(obj: Mapping[str, Any], rendered: Mapping[Any, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The Namespace an object lives in: the rendered one, else what the API server knows of any namespace."""
    ns = namespace_of(obj)
    if ns is None:
        return None
    found = rendered.get(ns) or {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    meta = dict(found.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), "kubernetes.io/metadata.name": ns}
    return {**found, "metadata": meta}


def _matches(
    policy: Policy,
    binding: Binding,
    obj: Mapping[str, Any],
    ns_obj: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None,
) -> bool:
    operation = "UPDATE" if before is not None else "CREATE"
    for match in (policy.match, binding.match):
        if match is None:
            continue
        rules = match.get("resourceRules")
        # A binding without resourceRules narrows nothing by resource; a policy without them matches nothing.
        if (rules or match is policy.match) and not rules_match(
            rules, obj, operation, match.get("matchPolicy", "Equivalent")
        ):
            return False
        if match.get("excludeResourceRules") and rules_match(match["excludeResourceRules"], obj, operation, "Exact"):
            return False
        if not _namespace_selected(match.get("namespaceSelector"), obj, ns_obj):
            return False
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if not selector_matches(match.get("objectSelector"), labels):
            return False
    return True


def _namespace_selected(selector: Any, obj: Mapping[str, Any], ns_obj: Mapping[str, Any] | None) -> bool:
    # As the API server: a Namespace is selected by its own labels; other cluster-scoped objects always match.
    if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
        name = (obj.get("metadata") or {}).get("name")
        labels = {**((obj.get("metadata") or {}).get("labels") or {}), "kubernetes.io/metadata.name": name}
        return selector_matches(selector, labels)
    if ns_obj is None:
        return True
    return selector_matches(selector, (ns_obj.get("metadata") or {}).get("labels") or {})


def _request(obj: Mapping[str, Any], before: Mapping[str, Any] | None, user: Mapping[str, Any]) -> dict[str, Any]:
    group, version, resource = resource_of(obj)
    kind = {"group": group, "version": version, "kind": obj.get("kind", "")}
    res = {"group": group, "version": version, "resource": resource}
    return {
        "uid": "",
        "kind": kind,
        "resource": res,
        "requestKind": kind,
        "requestResource": res,
        "subResource": "",
        "name": (obj.get("metadata") or {}).get("name", ""),
        "namespace": namespace_of(obj) or "",
        "operation": "UPDATE" if before is not None else "CREATE",
        "userInfo": dict(user),
        "dryRun": False,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "UpdateOptions" if before else "CreateOptions"},
    }


_NO_PARAMS = object()


def _params(policy: Policy, binding: Binding, obj: Mapping[str, Any], known: Sequence[Params]) -> list[Any]:
    """The params objects a binding gives (one evaluation each); [None] when the policy takes none; [] with
    parameterNotFoundAction Allow and nothing found; [_NO_PARAMS] (a denial) with Deny."""
    if policy.param_kind is None or binding.param_ref is None:
        return [None]
    ref = binding.param_ref
    api_version, kind = policy.param_kind
    namespace = ref.get("namespace") or namespace_of(obj)
    found = [
        p.obj
        for p in known
        if p.obj.get("apiVersion") == api_version
        and p.obj.get("kind") == kind
        and (namespace_of(p.obj) in (None, namespace))
        and ("name" not in ref or (p.obj.get("metadata") or {}).get("name") == ref["name"])
        and selector_matches(ref.get("selector"), (p.obj.get("metadata") or {}).get("labels") or {})
    ]
    if found:
        return found
    return [] if binding.not_found == "Allow" else [_NO_PARAMS]


def _run(
    policy: Policy,
    binding: Binding,
    target: Target,
    params: Any,
    before: Mapping[str, Any] | None,
    ns_obj: Mapping[str, Any] | None,
    request: Mapping[str, Any],
) -> list[Result]:
    def result(outcome: Outcome, message: str = "", where: Where | None = None, reason: str = "") -> Result:
        return Result(policy, binding, target, outcome, message, reason, where)

    if params is _NO_PARAMS:
        ref = binding.param_ref or {}
        wanted = ref.get("name") or ref.get("selector")
        return [result("failed", f"no params found for binding {binding.name} ({wanted})", binding.where, "Invalid")]
    scope = _Scope(
        policy,
        {
            "object": target.obj,
            "oldObject": before,
            "params": params,
            "namespaceObject": ns_obj,
            "request": request,
        },
    )
    for name, cond in policy.conditions:
        try:
            if scope.run(cond) is not True:
                return []  # the policy does not apply to this request
        except CelEvalError as exc:
            return [scope.failure(result, cond, f"match condition {name!r}: {exc}")]
    out = [_validate(scope, v, target, result) for v in policy.validations]
    failed = [r for r in out if r.outcome != "passed"] or [result("passed")]
    annotations = scope.annotations() if "Audit" in binding.actions else ()
    return [replace(r, annotations=annotations) for r in failed]


def _validate(scope: _Scope, v: Validation, target: Target, result: Callable[..., Result]) -> Result:
    try:
        ok = scope.run(v.expr)
    except CelEvalError as exc:
        return scope.failure(result, v.expr, f"expression {v.expr.text!r} could not be evaluated: {exc}")
    if ok is True:
        return result("passed")
    message = v.message or f"failed expression: {v.expr.text}"
    if v.message_expr is not None:
        try:
            text = scope.run(v.message_expr)
            message = text if isinstance(text, str) and text.strip() and "\n" not in text else message
        except CelEvalError:
            pass  # as the API server: the static message (or the expression) stands in
    failed: Result = result("failed", message, v.expr.where, v.reason)
    if target.source is None:
        return failed
    return replace(failed, locate=lambda: _source(scope, v, target))


def _source(scope: _Scope, v: Validation, target: Target) -> Where | None:
    """The Score line behind a failure: the first container whose own copy of the object still fails."""
    if target.source is None:
        return None
    pod = _pod_spec(target.obj)
    for container in (pod or {}).get("containers") or []:
        only = _with_containers(target.obj, [container])
        try:
            failing = scope.rerun(v.expr, only) is not True
        except CelEvalError:
            failing = True
        if failing:
            return target.source(container)
    return target.source({})


def _pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return spec
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") if isinstance(spec, Mapping) else None
    return (template or {}).get("spec") if isinstance(template, Mapping) else None


def _with_containers(obj: Mapping[str, Any], containers: list[Any]) -> dict[str, Any]:
    """A copy of the object whose pod spec has only these containers (and no init containers)."""
    if obj.get("kind") == "Pod":
        return {**obj, "spec": {**obj["spec"], "containers": containers, "initContainers": []}}
    spec = dict(obj["spec"])
    if obj.get("kind") == "CronJob":
        job = dict(spec["jobTemplate"])
        job["spec"] = _with_containers({"kind": "Job", "spec": job["spec"]}, containers)["spec"]
        return {**obj, "spec": {**spec, "jobTemplate": job}}
    tpl = dict(spec["template"])
    tpl["spec"] = {**tpl["spec"], "containers": containers, "initContainers": []}
    return {**obj, "spec": {**spec, "template": tpl}}


class _Scope:
    """The variables of one evaluation. Before the first expression runs, every variable is computed (in order,
    each from the ones it reads) and the whole scope becomes one CEL activation, so the object is converted to CEL
    once per (policy, object), not once per expression. A variable that errs is left out and its error kept: an
    expression that reads it fails with that error, the others do not see it, as with the API server's lazy
    variables."""

    def __init__(self, policy: Policy, data: dict[str, Any]) -> None:
        self.policy, self.data = policy, data
        self.values: dict[str, Any] = {}
        self.errors: dict[str, CelEvalError] = {}
        self._activation: Any = None

    def run(self, expr: Expr) -> Any:
        for n in expr.program.variables:
            if n in self.errors:
                raise self.errors[n]
        if self._activation is None:
            for name in self.policy.variables:
                with suppress(CelEvalError):  # kept in self.errors: raised above for the expressions that read it
                    self.variable(name, ())
            self._activation = activation({**self.data, "variables": self.values})
        return expr.program.run({**self.data, "variables": self.values}, self._activation)

    def rerun(self, expr: Expr, obj: Mapping[str, Any]) -> Any:
        """The expression against another object: variables are recomputed (they may read the object)."""
        return _Scope(self.policy, {**self.data, "object": obj}).run(expr)

    def variable(self, name: str, chain: tuple[str, ...]) -> Any:
        if name in self.errors:
            raise self.errors[name]
        if name not in self.values:
            if name in chain:
                raise CelEvalError(f"variable {name!r} refers to itself ({' -> '.join((*chain, name))})")
            expr = self.policy.variables[name]
            needed = {n: self.variable(n, (*chain, name)) for n in expr.program.variables if n in self.policy.variables}
            try:
                self.values[name] = expr.program.run({**self.data, "variables": needed})
            except CelEvalError as exc:
                self.errors[name] = CelEvalError(f"variable {name!r}: {exc}")
                raise self.errors[name] from None
        return self.values[name]

    def failure(self, result: Callable[..., Result], expr: Expr, message: str) -> Result:
        """An expression that errs: skipped when it needs the cluster, else as failurePolicy says."""
        if expr.program.needs_cluster:
            return result("skipped", f"needs the cluster (authorizer): {expr.text}", expr.where)
        if self.policy.failure_policy == "Ignore":
            return result("skipped", f"ignored (failurePolicy: Ignore): {message}", expr.where)
        return result("failed", message, expr.where, "InternalError")

    def annotations(self) -> tuple[tuple[str, str], ...]:
        out = []
        for key, expr in self.policy.audit:
            try:
                value = self.run(expr)
            except CelEvalError:
                continue
            if isinstance(value, str):  # null means "no annotation", as on the API server
                out.append((f"{self.policy.name}/{key}", value))
        return tuple(out)
