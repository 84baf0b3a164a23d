"""Policy documents (from the rules folder or --policies DIR) -> a compiled PolicySet, with file:line kept.

Every expression is compiled here, so a policy that does not compile stops the run (exit 2) at its line
before anything is rendered or committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, get_args

from generator.check.cel import CelCompileError, compile_expression
from generator.check.policy import Action, Binding, Expr, Params, Policy, PolicySet, Validation
from generator.check.positions import Positions
from generator.check.selectors import OPERATORS
from generator.errors import Errors, PlatoError, UserError, did_you_mean
from generator.match.documents import is_policy_document
from generator.read.models import Where
from generator.read.yamlfile import Document, Loc, iter_yaml_files, load_documents

GROUP = "admissionregistration.k8s.io"
KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
# A binding annotation `match.plato.dev/<context key>: glob[,glob]` limits it to those deployments (the binding
# is applied to those clusters); the cluster itself ignores the annotation.
ENV_PREFIX = "match.plato.dev/"


def read_policy_documents(directory: Path) -> list[Document]:
    """The YAML documents of a --policies folder (every document in it must be a policy, binding or params)."""
    if not directory.is_dir():
        raise UserError("--policies must be a folder of YAML files", file=directory)
    docs: list[Document] = []
    for path in iter_yaml_files([directory]):
        for doc in load_documents(path, fast=True):
            if not is_policy_document(doc.data):
                raise doc.error(
                    "not a Kubernetes object (apiVersion, kind, metadata)",
                    hint="a policies folder holds ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding and "
                    "their params objects",
                )
            docs.append(doc)
    return docs


_LOADED: dict[tuple[int, ...], tuple[list[Document], PolicySet]] = {}


def load_policies(docs: Iterable[Document]) -> PolicySet:
    """Compile policies and bindings; every other Kubernetes object is a candidate params object. Cached per
    process by the documents themselves (the rules cache hands out the same ones): a fleet re-render compiles
    the rule set's policies once, not once per app."""
    docs = list(docs)
    key = tuple(id(d) for d in docs)
    hit = _LOADED.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], docs, strict=True)):
        return hit[1]
    policies = _load(docs)
    _LOADED[key] = (docs, policies)
    return policies


def _load(docs: list[Document]) -> PolicySet:
    errors: list[PlatoError] = []
    policies: dict[str, Policy] = {}
    bindings: list[Binding] = []
    params: list[Params] = []
    for doc in docs:
        data = doc.data
        group = str(data["apiVersion"]).rpartition("/")[0]
        try:
            if group == GROUP and data.get("kind") == KINDS[0]:
                policy = _policy(doc)
                if policy.name in policies:
                    raise doc.error(f"policy {policy.name!r} is defined twice (also at {policies[policy.name].where})")
                policies[policy.name] = policy
            elif group == GROUP and data.get("kind") == KINDS[1]:
                bindings.append(_binding(doc))
            elif group == GROUP:
                raise doc.error(
                    f"{data.get('kind')} is not evaluated by plato", ("kind",), hint=f"supported: {', '.join(KINDS)}"
                )
            else:
                params.append(Params(data, _where(doc, ())))
        except UserError as exc:
            errors.extend(exc.errors if isinstance(exc, Errors) else [exc])
    for b in bindings:
        if b.policy not in policies and not errors:  # not when the policy itself failed to load
            errors.append(
                UserError(
                    f"binding {b.name!r} names policy {b.policy!r}, which is not defined",
                    file=b.where.file,
                    line=b.where.line,
                    hint=did_you_mean(b.policy, policies),
                )
            )
    kinds = {p.param_kind for p in policies.values()}
    for p in params:
        if (p.obj.get("apiVersion"), p.obj.get("kind")) not in kinds and not errors:
            errors.append(
                UserError(
                    f"{p.obj.get('kind')} {(p.obj.get('metadata') or {}).get('name')!r} is not a plato rule, and no "
                    "policy takes it as params (paramKind)",
                    file=p.where.file,
                    line=p.where.line,
                    hint="rule files hold plato.dev/v1 rules, admission policies and bindings, and their params",
                )
            )
    if errors:
        raise errors[0] if len(errors) == 1 else Errors(errors)
    return PolicySet(policies, tuple(sorted(bindings, key=lambda b: b.name)), tuple(params))


def _where(doc: Document, loc: Loc) -> Where:
    return Where(str(doc.path), doc=Positions(doc) if doc.text else doc, loc=loc)


def _expr(doc: Document, loc: Loc, text: Any) -> Expr:
    if not isinstance(text, str) or not text.strip():
        raise doc.error("an expression must be a non-empty string of CEL", loc)
    try:
        return Expr(compile_expression(text), _where(doc, loc))
    except CelCompileError as exc:
        raise doc.error(
            f"CEL expression does not compile: {exc}",
            loc,
            hint="see https://kubernetes.io/docs/reference/using-api/cel/ for the language and its functions",
        ) from None


def _name(doc: Document) -> str:
    name = (doc.data.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise doc.error("metadata.name is missing", ("metadata",))
    return name


def _spec(doc: Document) -> Mapping[str, Any]:
    spec = doc.data.get("spec")
    if not isinstance(spec, dict):
        raise doc.error("spec is missing or not a mapping", ("spec",))
    return spec


def _policy(doc: Document) -> Policy:
    spec = _spec(doc)
    at: Loc = ("spec",)
    variables: dict[str, Expr] = {}
    for i, v in enumerate(spec.get("variables") or []):
        variables[str(v.get("name"))] = _expr(doc, (*at, "variables", i, "expression"), v.get("expression"))
    conditions = tuple(
        (str(c.get("name")), _expr(doc, (*at, "matchConditions", i, "expression"), c.get("expression")))
        for i, c in enumerate(spec.get("matchConditions") or [])
    )
    rules = spec.get("validations") or []
    validations = tuple(_validation(doc, (*at, "validations", i), v) for i, v in enumerate(rules))
    audit = tuple(
        (str(a.get("key")), _expr(doc, (*at, "auditAnnotations", i, "valueExpression"), a.get("valueExpression")))
        for i, a in enumerate(spec.get("auditAnnotations") or [])
    )
    if not validations and not audit:
        raise doc.error("a policy needs validations or auditAnnotations", ("spec",))
    if not isinstance(spec.get("matchConstraints"), dict):
        raise doc.error("spec.matchConstraints is required (resourceRules)", ("spec",))
    _selectors(doc, (*at, "matchConstraints"), spec["matchConstraints"])
    kind = spec.get("paramKind")
    failure = spec.get("failurePolicy", "Fail")
    if failure not in ("Fail", "Ignore"):
        raise doc.error(f"failurePolicy must be Fail or Ignore, not {failure!r}", (*at, "failurePolicy"))
    return Policy(
        name=_name(doc),
        where=_where(doc, ()),
        match=spec["matchConstraints"],
        failure_policy=failure,
        param_kind=(str(kind.get("apiVersion")), str(kind.get("kind"))) if isinstance(kind, dict) else None,
        conditions=conditions,
        variables=variables,
        validations=validations,
        audit=audit,
    )


def _validation(doc: Document, loc: Loc, v: Any) -> Validation:
    if not isinstance(v, dict):
        raise doc.error("a validation is a mapping with expression (and message, messageExpression, reason)", loc)
    message_expr = v.get("messageExpression")
    return Validation(
        expr=_expr(doc, (*loc, "expression"), v.get("expression")),
        message=str(v.get("message") or ""),
        message_expr=_expr(doc, (*loc, "messageExpression"), message_expr) if message_expr is not None else None,
        reason=str(v.get("reason") or "Invalid"),
    )


def _binding(doc: Document) -> Binding:
    spec = _spec(doc)
    actions = spec.get("validationActions")
    allowed = get_args(Action)
    if not isinstance(actions, list) or not actions or any(a not in allowed for a in actions):
        raise doc.error(
            f"validationActions must be a non-empty list of {', '.join(allowed)}",
            ("spec", "validationActions") if "validationActions" in spec else ("spec",),
            hint="Deny fails the publish; Warn and Audit are reported",
        )
    if "Deny" in actions and "Warn" in actions:
        raise doc.error("validationActions cannot hold both Deny and Warn", ("spec", "validationActions"))
    if not isinstance(spec.get("policyName"), str):
        raise doc.error("spec.policyName is required", ("spec",))
    if isinstance(spec.get("matchResources"), dict):
        _selectors(doc, ("spec", "matchResources"), spec["matchResources"])
    if isinstance(spec.get("paramRef"), dict) and "selector" in spec["paramRef"]:
        _selector(doc, ("spec", "paramRef", "selector"), spec["paramRef"]["selector"])
    annotations = (doc.data.get("metadata") or {}).get("annotations") or {}
    envs = {
        k.removeprefix(ENV_PREFIX): tuple(p.strip() for p in str(v).split(",") if p.strip())
        for k, v in annotations.items()
        if k.startswith(ENV_PREFIX)
    }
    return Binding(
        name=_name(doc),
        where=_where(doc, ()),
        policy=spec["policyName"],
        actions=tuple(actions),
        match=spec.get("matchResources"),
        param_ref=spec.get("paramRef"),
        envs=envs,
    )


def _selectors(doc: Document, loc: Loc, match: Mapping[str, Any]) -> None:
    for key in ("namespaceSelector", "objectSelector"):
        if key in match:
            _selector(doc, (*loc, key), match[key])


def _selector(doc: Document, loc: Loc, selector: Any) -> None:
    """A metav1.LabelSelector as the API server validates it: an operator it does not know would otherwise
    select everything here, where the cluster refuses the binding."""
    if selector is None:
        return
    if not isinstance(selector, dict):
        raise doc.error("a label selector is a mapping of matchLabels and matchExpressions", loc)
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise doc.error("matchExpressions is a list of {key, operator, values}", (*loc, "matchExpressions"))
    for i, expr in enumerate(expressions):
        at: Loc = (*loc, "matchExpressions", i)
        op = expr.get("operator") if isinstance(expr, dict) else None
        if op not in OPERATORS or not isinstance(expr.get("key"), str):
            raise doc.error(
                f"a selector expression needs a key and an operator of {', '.join(OPERATORS)}, not {op!r}",
                (*at, "operator") if isinstance(expr, dict) and "operator" in expr else at,
                hint="the API server refuses this binding: operators are case-sensitive",
            )
        values = expr.get("values")
        if op in ("In", "NotIn") and (not isinstance(values, list) or not values):
            raise doc.error(f"operator {op} needs a non-empty list of values", at)
        if op in ("Exists", "DoesNotExist") and values:
            raise doc.error(f"operator {op} takes no values", (*at, "values"))


def compile_folders(rules_dir: Path | None, policies_dir: Path | None) -> str:
    """`plato validate`: load and compile every policy of the rules folder and of --policies; a summary line."""
    from generator.match.rules import load_rules

    docs = list(load_rules(rules_dir).policy_docs) + (read_policy_documents(policies_dir) if policies_dir else [])
    ps = load_policies(docs)
    count = sum(len(p.validations) + len(p.variables) + len(p.conditions) + len(p.audit) for p in ps.policies.values())
    return f"policies: {len(ps.policies)} policies, {len(ps.bindings)} bindings, {count} expressions compile"
