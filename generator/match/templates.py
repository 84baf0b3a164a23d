"""Rule templates: compiled once in a sandboxed jinja2 environment, rendered with errors that name the rule.

Rules are written by platform teams, but plato runs them in CI with a token that can write every
environment: templates get no file system, no environment variables, no Python internals, and an undefined
name is an error rather than an empty string.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from difflib import get_close_matches
from functools import cache
from typing import Any, TypeVar

from generator.errors import UserError
from generator.match import bounds


class RuleRefusal(Exception):
    """`{{ fail("...") }}` in a rule template: the rule's author saying why it cannot serve this request."""


def fail(message: Any) -> Any:
    raise RuleRefusal(str(message))


class RuleRefused(UserError):
    """A rule template's fail(): reported at the spec's resource where there is one (see create/resources.py)."""


class TemplateLimitError(UserError):
    """A template stopped by its bounds (README: 'Limits on templates'): the run ends at the first one, where other
    mistakes are gathered (every other template would spend its own bounds first)."""


T = TypeVar("T")


class Tpl:
    """A template string and where it was written, compiled on first use (a publish renders the few rules it
    matches, not all of them; `plato validate` compiles every one). The line is looked up only for a message."""

    __slots__ = ("_at", "_locate", "file", "source")

    def __init__(
        self, source: str, file: str, line: int | None = None, locate: Callable[[], int | None] | None = None
    ) -> None:
        self.source = source
        self.file = file
        self._at = line
        self._locate = locate

    @property
    def line(self) -> int | None:
        if self._at is None and self._locate is not None:
            self._at, self._locate = self._locate(), None
        return self._at

    @property
    def template(self) -> Any:
        hit = _CACHE.get(self.source)
        return hit if hit is not None else _compiled(self)

    def __repr__(self) -> str:
        return f"Tpl({self.source!r})"

    def render(self, variables: dict[str, Any], what: str) -> str:
        pieces = _lookups(self.source)
        parts = None if pieces is None else _looked_up(pieces, variables)
        if parts is not None:  # what jinja2 would write, without a context, a budget and a generator per text
            try:
                return bounds.output(parts)
            except bounds.TemplateLimit as exc:
                raise self._limit(what, str(exc), exc) from None
        return self._run(lambda: self.template, variables, what, None)

    def render_marked(self, variables: dict[str, Any], what: str) -> tuple[str, list[str]] | None:
        """The text with each output a mark, and the outputs (read/skeleton.py); None where this template cannot
        be rendered so (it has blocks, or more outputs than marks). Errors are the ones `render` raises."""
        from generator.match.sandbox import TooManyMarks, marking, unmark

        template = _marking(self)
        if template is None:
            return None
        values: list[str] = []
        token = marking(values)
        try:
            return self._run(lambda: template, variables, what, values), values
        except TooManyMarks:
            return None
        finally:
            unmark(token)

    def _run(self, compiled: Callable[[], Any], variables: dict[str, Any], what: str, marked: list[str] | None) -> str:
        from jinja2 import TemplateError
        from jinja2.exceptions import SecurityError, UndefinedError

        token = bounds.start()
        try:
            template = compiled()
            try:  # what Template.render does, with the output counted as it is yielded
                return bounds.output(template.root_render_func(template.new_context(variables)), marked)
            except Exception:
                template.environment.handle_exception()  # re-raises with template line numbers
                raise
        except bounds.TemplateLimit as exc:
            raise self._limit(what, str(exc), exc) from None
        except RuleRefusal as exc:
            raise RuleRefused(f"{what}: {exc}", file=self.file, line=self._line(exc)) from None
        except RecursionError as exc:  # a safety net: MAX_DEPTH stops template recursion well before this
            raise self._limit(what, "the template recursed too deeply", exc) from None
        except MemoryError as exc:  # a safety net: the size bounds stop every known way to get here
            raise self._limit(what, "the template ran out of memory", exc) from None
        except UndefinedError as exc:
            raise _undefined(exc, variables, what, self.file, self._line(exc)) from None
        except SecurityError as exc:
            raise UserError(
                f"{what}: refused by the template sandbox: {exc}", file=self.file, line=self._line(exc)
            ) from None
        except TemplateError as exc:
            raise UserError(
                f"{what}: template error: {exc}",
                file=self.file,
                line=self._line(exc),
                hint="rule templates cannot include or import other files",
            ) from None
        except (
            TypeError,
            ValueError,
            KeyError,
            AttributeError,
            ZeroDivisionError,
            OverflowError,
            AssertionError,  # jinja2's filters assert on their arguments (truncate: length >= len(end))
        ) as exc:
            raise UserError(
                f"{what}: template failed: {type(exc).__name__}: {exc}", file=self.file, line=self._line(exc)
            ) from None
        finally:
            bounds.stop(token)

    def _limit(self, what: str, message: str, exc: BaseException) -> UserError:
        return TemplateLimitError(
            f"{what}: {message}",
            file=self.file,
            line=self._line(exc),
            hint="rule templates are bounded in time, size and depth (README: 'Limits on templates')",
        )

    def _line(self, exc: BaseException) -> int | None:
        """The rule file line of an error inside a multi-line template (jinja2 rewrites tracebacks so that
        template frames carry template line numbers)."""
        lineno = getattr(exc, "lineno", None)
        if not isinstance(lineno, int):
            tb = exc.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == "<template>":
                    lineno = tb.tb_lineno
                tb = tb.tb_next
        return self.file_line(lineno)

    def file_line(self, lineno: Any) -> int | None:
        """The rule file line of a template line: a multi-line template (a block scalar) starts on the line after
        its key; a one-line template is that line."""
        if self.line is not None and isinstance(lineno, int) and "\n" in self.source:
            return self.line + lineno
        return self.line


_UNDEFINED_NAME = re.compile(r"'([a-z][a-z0-9_]*)' is undefined")


def _undefined(exc: Exception, variables: Mapping[str, Any], what: str, file: str, line: int | None) -> UserError:
    """A name the template uses and nobody set. Context keys are the template's top-level names, so an unknown
    name that is no near-miss of a known one is a context key this run lacks: say which, and how to pass it."""
    message = str(getattr(exc, "message", None) or exc)
    names = sorted(k for k in variables if not k.startswith("_"))
    missing = _UNDEFINED_NAME.fullmatch(message)
    if missing and not get_close_matches(missing.group(1), names, n=1, cutoff=0.6):
        key = missing.group(1)
        return UserError(
            f"{what}: the rules need the context key '{key}', which this run does not set",
            file=file,
            line=line,
            hint=f"pass -c {key}=... (or PLATO_CONTEXT_{key.upper()}=...), or set it in CI",
        )
    return UserError(f"{what}: {message}", file=file, line=line, hint="available names: " + ", ".join(names))


_DNS_BAD = re.compile(r"[^a-z0-9-]+")


def dns_label(value: Any, limit: int = 63) -> str:
    """A DNS-1123 label from any text; long names keep a short hash so they stay unique."""
    text = _DNS_BAD.sub("-", str(value).lower()).strip("-") or "x"
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return text[: limit - 9].rstrip("-") + "-" + digest


def short_hash(value: Any, n: int = 8) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()[:n]


@cache
def environment(marks: bool = False) -> Any:
    from jinja2.sandbox import safe_range

    from generator.match.sandbox import make_environment

    filters = {
        "dns_label": dns_label,
        "hash": short_hash,
        "tojson": lambda v: json.dumps(v, sort_keys=True),
        "quote": lambda v: json.dumps(str(v)),
    }
    # safe_range refuses ranges over 100,000 items; the step budget bounds what loops over them do.
    # fail("why") ends the render with the rule author's message, at the template's line.
    return make_environment(filters, {"range": safe_range, "fail": fail}, marks)


def marking_environment() -> Any:
    """The same environment, rendering each output as a mark (read/skeleton.py)."""
    return environment(True)


# The names a rule template gets besides the context keys (filled by create/resources.py and create/workloads.py).
# `plato validate` reads every other free name of a matched rule's templates as a context key the rules need.
STAGE_NAMES = frozenset(
    {"ctx", "environment", "namespace", "cluster", "workloads", "workload", "resource", "params", "deps"}
    | {"store_path", "tf", "outputs", "output", "target"}
)


@cache
def _free_names(source: str) -> frozenset[str]:
    from jinja2 import meta, nodes

    ast = environment().parse(source)
    # jinja2's analysis counts a name set in only some branches ({% if %}{% set port = ... %}) as free; a name
    # the template sets anywhere is its own, not the context's.
    own = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    own |= {m.name for m in ast.find_all(nodes.Macro)}
    return frozenset(meta.find_undeclared_variables(ast) - own)


def free_names(value: Any) -> Iterator[tuple[str, Tpl]]:
    """Every name the templates inside a rule spec read without setting it, with the template that reads it."""
    for tpl in leaves(value, Tpl):
        for name in sorted(_free_names(tpl.source) - environment().globals.keys()):
            yield name, tpl


# Most rule templates are text and names: `{{ resource.name }}-app`, `{{ app }}-{{ env }}`. Such a template is
# rendered by looking its names up, as jinja2 would (see _looked_up); anything else, and any lookup that is not
# plainly a key of a dict holding a string or an integer, goes through jinja2.
_LOOKUP = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*) *\}\}")
# Names jinja2 reads as constants or as its own objects, never as the variables of that name.
_NOT_LOOKED_UP = frozenset({"true", "false", "none", "True", "False", "None", "self", "loop", "caller", "varargs",
                            "kwargs"})  # fmt: skip
_LOOKUPS: dict[str, tuple[tuple[str, tuple[str, ...]], ...] | None] = {}


def _lookups(source: str) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """The template as (text, name path) pieces when it holds nothing but text and `{{ a.b.c }}` lookups; else
    None. Text with a tag, a comment or a carriage return (jinja2 writes its line breaks as "\n") is no such
    template. Cut once per source."""
    if source not in _LOOKUPS:
        found = _cut(source)
        if len(_LOOKUPS) >= 4096:
            return found
        _LOOKUPS[source] = found
    return _LOOKUPS[source]


def _cut(source: str) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    pieces: list[tuple[str, tuple[str, ...]]] = []
    at = 0
    for m in _LOOKUP.finditer(source):
        path = tuple(m.group(1).split("."))
        if path[0] in _NOT_LOOKED_UP:
            return None
        pieces.append((source[at : m.start()], path))
        at = m.end()
    pieces.append((source[at:], ()))
    if len(pieces) == 1 or any(mark in text for text, _ in pieces for mark in ("{{", "{%", "{#", "\r")):
        return None
    return tuple(pieces)


def _looked_up(pieces: tuple[tuple[str, tuple[str, ...]], ...], variables: dict[str, Any]) -> list[str] | None:
    """The text of a lookup template, or None where jinja2 must say: a name that is not a variable (a global, or
    undefined: its error), an attribute jinja2 would find first (a dict's `items`), a value that is not a string
    or an integer (its str() is jinja2's to make)."""
    out = []
    for text, path in pieces:
        out.append(text)
        if not path:
            continue
        value: Any = variables
        for name in path:
            if type(value) is not dict or name not in value or (value is not variables and hasattr(dict, name)):
                return None
            value = value[name]
        if type(value) is str:
            out.append(value)
        elif type(value) is int:
            out.append(str(value))
        else:
            return None
    return out


def leaves(value: Any, kind: type[T]) -> Iterator[T]:
    """The values of one kind inside a structure of dicts and lists, in order."""
    if isinstance(value, kind):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from leaves(v, kind)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v, kind)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def compile_template(
    source: str, file: str, line: int | None = None, eager: bool = False, locate: Callable[[], int | None] | None = None
) -> Tpl:
    tpl = Tpl(source, file, line, locate)
    if eager:
        _ = tpl.template
    return tpl


_CACHE: dict[str, Any] = {}


def _compiled(tpl: Tpl) -> Any:
    """One compiled template per distinct source text, shared by every rule that spells it the same way."""
    source = tpl.source
    hit = _CACHE.get(source)
    if hit is not None:
        return hit
    from jinja2 import TemplateSyntaxError

    try:
        template = environment().from_string(source)
    except TemplateSyntaxError as exc:
        raise UserError(
            f"template does not compile: {exc.message}",
            file=tpl.file,
            line=tpl.file_line(exc.lineno),
            hint="jinja2 syntax: {{ name }}, {% if %}...{% endif %}; write {{ '{{' }} for a literal",
        ) from None
    except (RecursionError, SyntaxError, MemoryError):
        # jinja2's parser recurses per nesting level and Python's compiler caps nested brackets (about 200).
        raise UserError.at(
            tpl,
            "template does not compile: its expressions are nested too deeply",
            hint="split the expression with {% set %}",
        ) from None
    if _REACHES_OUT.search(source):
        _refuse_other_templates(tpl, source)
    _CACHE[source] = template
    return template


_MARKING: dict[str, Any] = {}


def _marking(tpl: Tpl) -> Any:
    """The template compiled to render marks (see Tpl.render_marked), once per source; None if it cannot: a
    template that writes marks of its own, or has blocks (`self.name()` reads a block's text back)."""
    source = tpl.source
    if source not in _MARKING:
        from jinja2 import nodes

        from generator.read.skeleton import MARKS

        _ = tpl.template  # compiled the usual way first: its errors, its refusals
        env = marking_environment()
        plain = MARKS.search(source) is None and not any(env.parse(source).find_all(nodes.Block))
        _MARKING[source] = env.from_string(source) if plain else None
    return _MARKING[source]


_REACHES_OUT = re.compile(r"\{%[-+]?\s*(include|import|from|extends)\b")


def _refuse_other_templates(tpl: Tpl, source: str) -> None:
    """include, import and extends need a loader, which the sandbox has none of: say so when compiling, with the
    line, instead of failing at render with jinja2's 'no loader for this environment specified'."""
    from jinja2 import nodes

    kinds = {
        nodes.Include: "include",
        nodes.Import: "import",
        nodes.FromImport: "from ... import",
        nodes.Extends: "extends",
    }
    for node in environment().parse(source).find_all(tuple(kinds)):
        raise UserError(
            f"template uses {{% {kinds[type(node)]} %}}: rule templates cannot include, import or extend other "
            "templates (or read files)",
            file=tpl.file,
            line=tpl.file_line(node.lineno),
            hint="each rule's template stands alone: write the text into the rule (a YAML anchor shares it within "
            "one file)",
        )


def render_tree(value: Any, variables: dict[str, Any], what: str) -> Any:
    """Render every compiled template inside a structure of dicts and lists."""
    if isinstance(value, Tpl):
        return value.render(variables, what)
    if isinstance(value, dict):
        return {k: render_tree(v, variables, what) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, variables, what) for v in value]
    return value
