"""The jinja2 environment rule templates run in: immutable sandbox, strict undefined, and every bound of
generator/match/bounds.py wired into the places where a template builds values, loops or calls.

Imported only when a template is compiled (jinja2 is heavy; `--help` must not pay for it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_context

from generator.match import bounds
from generator.match.bounds import MAX_DEPTH, TemplateLimit


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

    def _output_const_repr(self, group: Any) -> str:
        return f"environment.bounded_text({super()._output_const_repr(group)})"


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
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            estimate = bounds.METHOD_ESTIMATES.get(name, bounds._plain)
            bounds._expect(estimate(owner, args, kwargs), f"str.{name}()")
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
        bounds.current().spend(len(text))
        return text


def _written(value: Any) -> Any:
    """finalize: what `{{ ... }}` writes is paid for like a built value."""
    bounds.current().spend(bounds.size_of(value))
    return value


# Filters that are not deterministic have no place in a GitOps render (same inputs, same bytes).
_DROPPED = {"random"}


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with the bounds: a step, lazy arguments materialized under the budget, the result estimated
    before and measured after. Marked pass_context, which also keeps jinja2 from running it at compile time."""
    pass_arg = _PassArg.from_obj(func)
    estimate = bounds.FILTER_ESTIMATES.get(name, bounds._plain)

    @pass_context
    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        bounds.current().step()
        value = bounds.materialized(value)
        args = tuple(bounds.materialized(a) for a in args)
        bounds._expect(estimate(value, args, kwargs), f"the filter '{name}'")
        if pass_arg is _PassArg.context:
            result = func(context, value, *args, **kwargs)
        elif pass_arg is _PassArg.eval_context:
            result = func(context.eval_ctx, value, *args, **kwargs)
        elif pass_arg is _PassArg.environment:
            result = func(context.environment, value, *args, **kwargs)
        else:
            result = func(value, *args, **kwargs)
        if isinstance(result, Iterator):
            return bounds.counted(result)
        return bounds.built(result)

    bounded.__name__ = getattr(func, "__name__", name)
    return bounded


def make_environment(filters: dict[str, Callable[..., Any]], globals_: dict[str, Any]) -> BoundedEnvironment:
    from jinja2 import StrictUndefined

    env = BoundedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_written,
        optimized=False,  # no constant folding: every operation runs, and is checked, at render time
    )
    every = {k: v for k, v in {**env.filters, **filters}.items() if k not in _DROPPED}
    env.filters = {k: bounded_filter(k, v) for k, v in every.items()}
    env.globals.clear()
    env.globals.update(globals_)
    return env
