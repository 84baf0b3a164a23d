"""Rule files: loaded, validated against schemas/rules.schema.json, compiled once, indexed by kind and type."""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import Errors, PlatoError, UserError
from generator.match.documents import is_policy_document
from generator.match.templates import compile_template, is_template
from generator.read.schema import check
from generator.read.yamlfile import Document, Loc, iter_yaml_files, load_documents
from generator.resources import bundled_dir

MAX_RULES_BYTES = 16 * 2**20  # the whole rules folder (each file is also limited on its own, see read/yamlfile.py)

# Most specific first. `id` is the resource id; the others are context keys. Lexicographic over presence:
# a rule that names the resource id beats one that names env, app and env_type together.
DEFAULT_DIMENSIONS: tuple[str, ...] = ("id", "env", "app", "region", "org", "env_type")
RESOURCE_FILTERS = ("type", "class")  # exact filters, not dimensions: they never make a rule more specific
KINDS = ("Environment", "Resource", "Profile", "Context", "Dimensions")


@dataclass(frozen=True)
class Rule:
    kind: str
    name: str
    match: Mapping[str, tuple[str, ...]]
    spec: Any  # dicts/lists with Tpl where a string was a template
    file: str
    line: int | None
    description: str = ""
    digest: str = ""  # a hash of the rule's document: a re-render names the rules that changed
    doc: Any = field(default=None, repr=False, compare=False)
    _checked: list[bool] = field(default_factory=lambda: [False], repr=False, compare=False)

    def ensure_valid(self) -> Rule:
        """Check the whole document against the rules schema, once (see _rule)."""
        if not self._checked[0] and self.doc is not None:
            check(self.doc, "rules")
            self._checked[0] = True
        return self

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def classes(self) -> tuple[str, ...]:
        return self.match.get("class", ("default",))

    def failed_criterion(self, attrs: Mapping[str, str | None]) -> tuple[str, tuple[str, ...], str | None] | None:
        """None when every criterion holds, else the first that fails: (key, wanted, actual)."""
        for key, wanted in self.match.items():
            actual = attrs.get(key)
            if key == "class":
                actual = actual or "default"
            if actual is None or not any(_value_matches(w, actual) for w in wanted):
                return key, wanted, actual
        if self.kind == "Resource" and "class" not in self.match and (attrs.get("class") or "default") != "default":
            return "class", ("default",), attrs.get("class")
        return None

    def vector(self, dims: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(1 if d in self.match else 0 for d in dims)


def _criterion(value: Any) -> str:
    """Criteria compare as context values do: text (YAML `true` is the context value "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_glob(text: str) -> bool:
    return "*" in text or "?" in text or "[" in text


def _value_matches(wanted: str, actual: str) -> bool:
    if _is_glob(wanted):
        return fnmatch.fnmatchcase(actual, wanted)
    return wanted == actual


@dataclass
class RuleSet:
    dimensions: tuple[str, ...] = DEFAULT_DIMENSIONS
    environments: list[Rule] = field(default_factory=list)
    profiles: list[Rule] = field(default_factory=list)
    contexts: list[Rule] = field(default_factory=list)
    resources: dict[str, list[Rule]] = field(default_factory=dict)  # by type
    origin: str = ""
    digest: str = ""  # a hash of every rule file's bytes: identifies the rule set in provenance
    policy_docs: list[Document] = field(default_factory=list)  # admission policies: generator/check/load.py

    def all_rules(self) -> list[Rule]:
        return [*self.environments, *self.profiles, *self.contexts, *(r for rs in self.resources.values() for r in rs)]

    glob_types: list[tuple[str, Rule]] = field(default_factory=list)  # rules whose type criterion is a glob

    def for_type(self, type_: str) -> list[Rule]:
        exact = self.resources.get(type_, [])
        if not self.glob_types:
            return exact
        extra = [r for pattern, r in self.glob_types if fnmatch.fnmatchcase(type_, pattern) and r not in exact]
        return exact + extra


_CACHE: dict[tuple[str, bool, tuple[tuple[str, float, int], ...]], RuleSet] = {}


def load_rules(directory: Path | None = None, full: bool = False) -> RuleSet:
    """The rule set of a folder (default: the bundled rules). Cached per process by files and mtimes."""
    directory = directory or bundled_dir("rules")
    if not directory.exists():
        raise UserError(
            "rules folder not found", file=directory, hint="pass --rules DIR, or omit it for the bundled rules"
        )
    if not directory.is_dir():
        raise UserError("--rules must be a folder of YAML files", file=directory)
    files = list(iter_yaml_files([directory]))
    stats = [(str(f), f.stat().st_mtime, f.stat().st_size) for f in files]
    total = sum(size for _, _, size in stats)
    if total > MAX_RULES_BYTES:  # each file has its own limit; together they bound a publish's memory too
        raise UserError(
            f"rules folder holds {total // 2**20} MiB of YAML, over the limit of {MAX_RULES_BYTES // 2**20} MiB",
            file=directory,
            hint="a platform's rules are a few hundred KiB: is --rules pointing at the right folder?",
        )
    key = (str(directory.resolve()), full, tuple(stats))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    ruleset = _build(directory, files, full)
    _CACHE[key] = ruleset
    return ruleset


def _build(directory: Path, files: list[Path], full: bool = False) -> RuleSet:
    if not files:
        raise UserError("rules folder has no .yaml files", file=directory)
    errors: list[PlatoError] = []
    rules: list[Rule] = []
    dims: list[tuple[Rule, tuple[str, ...]]] = []
    policy_docs: list[Document] = []
    digest = hashlib.sha256()
    for path in files:
        shown = _shown(path, directory)
        try:
            text = path.read_bytes()
            digest.update(str(path.relative_to(directory)).encode() + b"\0" + text + b"\0")
            for doc in load_documents(path, fast=True):
                doc.path = Path(shown)
                if is_policy_document(doc.data):
                    policy_docs.append(doc)
                    continue
                rule = _rule(doc)
                if full:
                    rule.ensure_valid()
                if rule.kind == "Dimensions":
                    dims.append((rule, tuple(rule.spec["order"])))
                else:
                    rules.append(rule)
        except UserError as exc:
            errors.extend(exc.errors if isinstance(exc, Errors) else [exc])
    errors += _duplicates(rules, dims)
    if errors:
        raise errors[0] if len(errors) == 1 else Errors(errors)
    rs = RuleSet(origin=str(directory), digest=digest.hexdigest()[:12], policy_docs=policy_docs)
    if dims:
        rs.dimensions = dims[0][1]
    _file(rs, rules)
    _check_dimensions(rs)
    return rs


def _duplicates(rules: list[Rule], dims: list[tuple[Rule, tuple[str, ...]]]) -> list[PlatoError]:
    """A rule name used twice within a kind, and a second Dimensions document."""
    errors: list[PlatoError] = []
    seen: dict[tuple[str, str], Rule] = {}
    for rule in rules:
        other = seen.get((rule.kind, rule.name))
        if other:
            errors.append(
                UserError.at(
                    rule,
                    f"{rule.kind} rule name '{rule.name}' is used twice (also at {other.where})",
                    hint="rule names must be unique per kind",
                )
            )
        seen[(rule.kind, rule.name)] = rule
    if len(dims) > 1:
        errors.append(UserError.at(dims[1][0], f"more than one Dimensions document (also at {dims[0][0].where})"))
    return errors


def _file(rs: RuleSet, rules: list[Rule]) -> None:
    """Each rule into its place in the rule set, in name order; resource rules by type (globs apart)."""
    for rule in sorted(rules, key=lambda r: (r.kind, r.name)):
        if rule.kind == "Environment":
            rs.environments.append(rule)
        elif rule.kind == "Profile":
            rs.profiles.append(rule)
        elif rule.kind == "Context":
            rs.contexts.append(rule)
        else:
            for t in rule.match["type"]:
                if _is_glob(t):
                    rs.glob_types.append((t, rule))
                else:
                    rs.resources.setdefault(t, []).append(rule)


def _shown(path: Path, directory: Path) -> str:
    """How messages name a rule file: bundled rules as plato:rules/<file> (the same in every installation, and
    never mistaken for a rules/ folder of the current directory); others relative to the working directory."""
    if directory.resolve() == bundled_dir("rules").resolve():
        return "plato:rules/" + path.resolve().relative_to(directory.resolve()).as_posix()
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _rule(doc: Document) -> Rule:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error("a rule must be a mapping with apiVersion, kind, name, match and spec")
    if data.get("kind") not in KINDS and "kind" in data:
        from generator.errors import did_you_mean

        raise doc.error(f"unknown rule kind {data['kind']!r}", ("kind",), hint=did_you_mean(str(data["kind"]), KINDS))
    # The whole document is checked when the rule is first used (it wins a match, or `plato validate` runs):
    # a publish reads every rule file but uses a handful of rules. What matching itself reads is checked now.
    check(doc, "rules:head" if data.get("kind") != "Dimensions" else "rules")
    match = {
        k: tuple(_criterion(x) for x in (v if isinstance(v, list) else [v]))
        for k, v in (data.get("match") or {}).items()
    }
    line = doc.start_line
    kind = data["kind"]
    if kind == "Resource" and "type" not in match:
        raise doc.error(
            f"Resource rule '{data['name']}' has no match.type",
            ("match",),
            hint="a Resource rule serves one resource type (or a list of them): match: {type: postgres}",
        )
    if kind == "Resource":
        manifest_loc: Loc = ("spec", "manifests")
        spec = _compile(doc, data.get("spec", {}), ("spec",), whole={manifest_loc})
    elif kind == "Profile":
        spec = _compile(doc, data.get("spec", {}), ("spec",), whole={("spec", "manifests")})
    else:
        spec = _compile(doc, data.get("spec", {}), ("spec",), whole=set())
    return Rule(
        kind=kind,
        name=data["name"],
        match=match,
        spec=spec,
        file=str(doc.path),
        line=line,
        description=data.get("description", ""),
        digest=hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12],
        doc=doc,
    )


def _compile(doc: Document, value: Any, loc: Loc, whole: set[Loc]) -> Any:
    if isinstance(value, str):
        if loc in whole or is_template(value):
            return compile_template(value, str(doc.path), locate=lambda: doc.where(loc)[0])
        return value
    if isinstance(value, dict):
        return {k: _compile(doc, v, (*loc, k), whole) for k, v in value.items()}
    if isinstance(value, list):
        return [_compile(doc, v, (*loc, i), whole) for i, v in enumerate(value)]
    return value


def _check_dimensions(rs: RuleSet) -> None:
    allowed = set(rs.dimensions)
    for rule in rs.all_rules():
        if rule.kind == "Context":
            continue
        extra = [k for k in rule.match if k not in allowed and not (rule.kind == "Resource" and k in RESOURCE_FILTERS)]
        if rule.kind != "Resource" and "id" in rule.match:
            extra.append("id")
        if extra:
            raise UserError.at(
                rule,
                f"{rule.kind} rule '{rule.name}' matches on {', '.join(extra)}, which is not a dimension",
                hint="dimensions are "
                + ", ".join(rs.dimensions)
                + (" (plus type and class for Resource rules)" if rule.kind == "Resource" else "")
                + "; add a Dimensions document to declare more",
            )


def compile_all(rs: RuleSet) -> list[UserError]:
    """Check every rule against the whole schema and compile every template (a publish does both lazily, only
    for the rules it uses)."""
    from generator.match.templates import Tpl

    errors: list[UserError] = []
    for rule in rs.all_rules():
        try:
            rule.ensure_valid()
        except UserError as exc:
            errors.append(exc)

    def walk(value: Any) -> None:
        if isinstance(value, Tpl):
            try:
                _ = value.template
            except UserError as exc:
                errors.append(exc)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for rule in rs.all_rules():
        walk(rule.spec)
    return errors


def indistinguishable(rs: RuleSet) -> list[tuple[Rule, Rule]]:
    """Pairs of rules that some deployment would match equally: same kind (and type), same presence vector,
    criteria that overlap. Matching would refuse to choose between them, so validate reports them up front."""
    pairs: list[tuple[Rule, Rule]] = []
    groups: list[list[Rule]] = [rs.environments, rs.profiles, *rs.resources.values()]
    for group in groups:
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.vector(rs.dimensions) != b.vector(rs.dimensions):
                    continue
                keys = set(a.match) | set(b.match)
                if a.kind == "Resource":
                    keys |= {"class"}
                if all(_overlap(a, b, k) for k in keys) and (a, b) not in pairs:
                    pairs.append((a, b))
    return pairs


def _overlap(a: Rule, b: Rule, key: str) -> bool:
    wa = a.classes if key == "class" else a.match.get(key)
    wb = b.classes if key == "class" else b.match.get(key)
    if wa is None or wb is None:
        return True
    return any(_value_matches(x, y) or _value_matches(y, x) for x in wa for y in wb)


def iter_rules(rs: RuleSet, kinds: Iterable[str]) -> Iterable[Rule]:
    wanted = set(kinds)
    return (r for r in rs.all_rules() if r.kind in wanted)


def _covers(a: Rule, b: Rule, key: str) -> bool:
    """Every value `b` accepts for `key` is accepted by `a` (a criterion `b` lacks is covered only by '*')."""
    wa = a.classes if key == "class" else a.match.get(key)
    wb = b.classes if key == "class" else b.match.get(key)
    if wa is None or "*" in wa:
        return True
    if wb is None:
        return False
    return all(any(x == y or (not _is_glob(y) and _value_matches(x, y)) for x in wa) for y in wb)


def shadowed(rs: RuleSet) -> list[tuple[Rule, Rule]]:
    """(loser, winner) pairs: `winner` matches wherever `loser` does and is more specific, so `loser` can never
    win (typically a '*' criterion on a dimension the loser does not name)."""
    out: list[tuple[Rule, Rule]] = []
    dims = rs.dimensions
    for group in [rs.environments, rs.profiles, *rs.resources.values()]:
        for b in group:
            for a in group:
                if a is b or a.vector(dims) <= b.vector(dims):
                    continue
                keys = set(a.match) | ({"class"} if a.kind == "Resource" else set())
                if all(_covers(a, b, k) for k in keys):
                    out.append((b, a))
                    break
    return out


def uncovered(rs: RuleSet) -> list[tuple[str, str, Rule]]:
    """(type, env, Environment rule): resource types that have rules, and environments where no rule of the type
    matches a workload in general (any app, org and region; the default class). A workload asking for that type
    there fails to publish, with a clear error; `validate` warns before anyone tries."""
    gaps = []
    for env_rule in rs.environments:
        spec = env_rule.spec if isinstance(env_rule.spec, dict) else {}
        env_type = spec.get("env_type")
        context = {"env_type": env_type if isinstance(env_type, str) else None}
        for env in env_rule.match.get("env", ()):
            if _is_glob(env):
                continue
            context["env"] = env
            for type_ in sorted(rs.resources):
                if not any(_general(r, type_, context) for r in rs.for_type(type_)):
                    gaps.append((type_, env, env_rule))
    return gaps


def _general(rule: Rule, type_: str, context: Mapping[str, str | None]) -> bool:
    """The rule matches a workload's `type_` resource in this context whatever its app, org, region and id."""
    for key, wanted in rule.match.items():
        if "*" in wanted:
            continue
        if key == "type":
            actual: str | None = type_
        elif key == "class":
            actual = "default"
        else:
            actual = context.get(key)
        if actual is None or not any(_value_matches(w, actual) for w in wanted):
            return False
    return True
