"""The jinja2 environment rule templates run in: immutable sandbox, strict undefined, and every bound of
generator/match/bounds.py wired into the places where a template builds values, loops or calls.

Imported only when a template is compiled (jinja2 is heavy; `--help` must not pay for it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_context

from generator.match import bounds
from generator.match.bounds import MAX_DEPTH, TemplateLimit
from generator.read.skeleton import MARK, MAX_MARKS


class BoundedCodeGenerator(CodeGenerator):
    """Routes what the compiled template builds through the environment's checks: `~`, list/tuple/dict
    literals, for-loop iterables and the constant text it writes."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self.__dict__.setdefault("_counted_ids", set()).add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        """A for loop's iterable is iterated under the step budget (jinja2 allows no custom node types, so the
        iterable is marked here rather than wrapped in the tree)."""
        if id(node) not in self.__dict__.setdefault("_counted_ids", set()):
            return super().visit(node, *args, **kwargs)
        self.write("environment.bounded_iter(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def _wrap_literal(self, visit: Callable[[Any, Frame], None], node: Any, frame: Frame) -> None:
        if getattr(node, "ctx", "load") != "load":
            visit(node, frame)  # an assignment target, not a value
            return
        self.write("environment.bounded_value(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._wrap_literal(super().visit_List, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        self._wrap_literal(super().visit_Tuple, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._wrap_literal(super().visit_Dict, node, frame)

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        # Text written straight to the renderer is measured there before it is joined (bounds.output); text
        # gathered into a buffer (a macro, a {% set %} or {% call %} block, a filter block) is joined without
        # anyone looking, so it is paid for as it is written: a loop can fill a buffer any number of times.
        self.__dict__["_buffered"] = frame.buffer is not None
        super().visit_Output(node, frame)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        # `{{ x }}` makes new text when x is not a string (str() of a list): always paid for.
        self.write("environment.bounded_text(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")

    def _output_const_repr(self, group: Any) -> str:
        text = super()._output_const_repr(group)
        return f"environment.bounded_text({text})" if self.__dict__.get("_buffered") else text


def _method_self(obj: Any) -> Any:
    """The str a method belongs to (the sandbox hands out `str.format` wrapped)."""
    owner = getattr(obj, "__self__", None)
    if owner is None:
        owner = getattr(getattr(obj, "__wrapped__", None), "__self__", None)
    return owner


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "%", "**", "+"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        bounds._expect(bounds.binop_estimate(operator, left, right), f"'{operator}'")
        return bounds.built(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = bounds.current()
        budget.step()
        owner = _method_self(__obj)
        if owner is not None:  # a method of a value: str.center(n), bytes.zfill(n), int.to_bytes(n), ...
            name = getattr(__obj, "__name__", "")
            table = bounds.METHOD_ESTIMATES if isinstance(owner, str | bytes) else {}
            estimate = table.get(name, bounds._plain)
            bounds._expect(estimate(owner, args, kwargs), f"{type(owner).__name__}.{name}()")
        elif type(__obj).__name__ == "LoopContext" and args:
            args = (bounds.counted(args[0]), *args[1:])  # a recursive loop's next level
        if budget.depth >= MAX_DEPTH:
            raise TemplateLimit(f"calls nested more than {MAX_DEPTH} deep (a macro or loop that recurses?)")
        budget.depth += 1
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        return bounds.built(result)

    def bounded_iter(self, iterable: Any) -> Iterator[Any]:
        return bounds.counted(iterable)

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        bounds._expect(sum(bounds.size_of(p) for p in parts), "'~'")
        return str(bounds.built("".join([str(p) for p in parts])))

    def bounded_value(self, value: Any) -> Any:
        return bounds.built(value)

    def bounded_text(self, text: str) -> str:
        bounds.spend(len(text))
        return text


class MarkingCodeGenerator(BoundedCodeGenerator):
    """What a template writes straight to the renderer with `{{ ... }}` goes through `marked_text` instead (text
    gathered into a buffer, which a template may compare or filter, stays as it is): see read/skeleton.py."""

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if self.__dict__.get("_buffered"):
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("environment.marked_text(")
        CodeGenerator._output_child_pre(self, node, frame, finalize)


class TooManyMarks(Exception):
    """More outputs than there are marks: the template is rendered as text."""


_MARKED: ContextVar[list[str]] = ContextVar("plato_marked")


class MarkingEnvironment(BoundedEnvironment):
    """The rule template environment, rendering each output as a mark (read/skeleton.py) and keeping its text."""

    code_generator_class = MarkingCodeGenerator

    def marked_text(self, text: str) -> str:
        bounds.spend(len(text))
        values = _MARKED.get()
        if len(values) >= MAX_MARKS:
            raise TooManyMarks
        values.append(text)
        return chr(MARK + len(values) - 1)


def marking(values: list[str]) -> Token[list[str]]:
    """Collect the outputs of the marked renders that follow into `values` (undone with `_MARKED.reset`)."""
    return _MARKED.set(values)


def unmark(token: Token[list[str]]) -> None:
    _MARKED.reset(token)


# Filters that are not deterministic have no place in a GitOps render (same inputs, same bytes).
_DROPPED = {"random"}
# Filters that go through their input item by item in Python (a key function per item, a regex per word):
# each item is a step, so sorting a million characters is refused rather than left to run for seconds.
_PER_ITEM = {
    "sort", "unique", "groupby", "dictsort", "batch", "slice", "map", "select", "reject", "selectattr",
    "rejectattr", "wordwrap", "min", "max", "urlize", "title", "xmlattr", "pprint", "wordcount", "filesizeformat",
}  # fmt: skip


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with the bounds: lazy arguments materialized under the budget, the result estimated before and
    measured after (a filter is no step of its own: the loops and calls that apply it are). Marked
    pass_context, which also keeps jinja2 from running it at compile time."""
    estimate = bounds.FILTER_ESTIMATES.get(name)
    call = _caller(func)
    per_item = name in _PER_ITEM

    @pass_context
    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        if type(value) not in bounds.EAGER:
            value = bounds.materialized(value)
        if args:
            args = tuple(a if type(a) in bounds.EAGER else bounds.materialized(a) for a in args)
        if per_item and hasattr(value, "__len__"):
            bounds.current().steps_for(len(value))
        if estimate is not None:
            bounds._expect(estimate(value, args, kwargs), f"the filter '{name}'")
        elif args or kwargs:
            bounds._expect(bounds._plain(value, args, kwargs), f"the filter '{name}'")
        result = call(context, value, *args, **kwargs)
        if type(result) is str:
            return bounds.built(result)
        if isinstance(result, Iterator):
            return bounds.counted(result)
        return bounds.built(result)

    bounded.__name__ = getattr(func, "__name__", name)
    return bounded


def _caller(func: Callable[..., Any]) -> Callable[..., Any]:
    """Call `func` with what its jinja2 decorator asks for in front (the context, its eval context, the
    environment, or nothing)."""
    pass_arg = _PassArg.from_obj(func)
    if pass_arg is _PassArg.context:
        return func
    if pass_arg is _PassArg.eval_context:
        return lambda context, *a, **k: func(context.eval_ctx, *a, **k)
    if pass_arg is _PassArg.environment:
        return lambda context, *a, **k: func(context.environment, *a, **k)
    return lambda context, *a, **k: func(*a, **k)


def make_environment(
    filters: dict[str, Callable[..., Any]], globals_: dict[str, Any], marks: bool = False
) -> BoundedEnvironment:
    from jinja2 import StrictUndefined

    env = (MarkingEnvironment if marks else BoundedEnvironment)(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    every = {k: v for k, v in {**env.filters, **filters}.items() if k not in _DROPPED}
    env.filters = {k: bounded_filter(k, v) for k, v in every.items()}
    env.globals.clear()
    env.globals.update(globals_)
    return env
