"""What a rule template may cost: steps, time, recursion, the size of every value it builds, and its output.

Rule templates come from platform teams but run in every CI job, so a template must not be able to hang a
job or exhaust its memory. jinja2's sandbox stops templates reaching Python internals; this module bounds what
they cost, by design rather than by a list of known bombs:

- Every value a template builds passes one check, where it is built: binary operators (intercepted by the
  sandbox), `~` concatenation, list/tuple/dict literals (the code generator wraps them), every filter, and
  every call (methods, macros, blocks, recursive loops). An operation whose result can be far larger than its
  inputs (`*`, `%`, `**`, `format`, `replace`, `join`, `center`, `indent`, `wordwrap`, ...) is estimated
  *before* it runs, from the sizes of its inputs and its numeric arguments, so a 10**9-character string is
  never allocated; every result is measured after, so no value over MAX_VALUE ever exists.
- Every loop iteration and call is a step, and so is every item a filter goes through in Python (sort,
  unique, groupby, wordwrap, ...); every value built or text written costs its size. Both come from one budget
  per rendering (MAX_STEPS, MAX_WORK), checked against a wall clock every 256 steps and every 64 KiB built.
  Nested loops and exponential macros therefore end, and the memory a rendering holds is bounded by what it
  may build.
- Calls nest at most MAX_DEPTH deep (macros, `caller()`, blocks, recursive loops), well before Python's own
  recursion limit.
- A rendering returns at most MAX_OUTPUT characters, and one run (every template of one app in one
  environment, see `run_budget`) at most MAX_RUN_OUTPUT.

The checks cost a few hundred nanoseconds per operation; a normal rule template makes a few dozen.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar, Token
from typing import Any

MAX_STEPS = 200_000
MAX_SECONDS = 2.0
MAX_DEPTH = 64
MAX_VALUE = 1024 * 1024
MAX_OUTPUT = 1024 * 1024
MAX_WORK = 32 * 1024 * 1024
MAX_INT_BITS = 1024
MAX_RUN_OUTPUT = 16 * 1024 * 1024
_CLOCK_EVERY = 256  # steps between two looks at the clock
_CLOCK_EVERY_WORK = 64 * 1024  # characters built between two looks at the clock


class TemplateLimit(Exception):
    """A template went over one of the bounds above (the renderer turns it into a user error with the line)."""


class Budget:
    """What one rendering may still spend."""

    __slots__ = ("deadline", "depth", "next_clock", "next_work_clock", "steps", "work")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.work = MAX_WORK
        self.depth = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self.next_clock = MAX_STEPS - _CLOCK_EVERY
        self.next_work_clock = MAX_WORK - _CLOCK_EVERY_WORK

    def step(self) -> None:
        self.steps -= 1
        if self.steps <= self.next_clock:
            self.next_clock -= _CLOCK_EVERY
            if self.steps < 0:
                raise TemplateLimit(f"the template ran more than {MAX_STEPS:,} steps (loop iterations and calls)")
            self.check_clock()

    def check_clock(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"the template ran for more than {MAX_SECONDS:g} s")

    def steps_for(self, items: int) -> None:
        """Pay one step per item for work done item by item in Python (sorting, grouping, wrapping...)."""
        self.steps -= items
        self.next_clock = min(self.next_clock, self.steps)
        self.step()

    def spend(self, size: int) -> None:
        """Pay for `size` characters built or written."""
        self.work -= size
        if self.work <= self.next_work_clock:  # building big values takes time even in a few steps
            self.next_work_clock = self.work - _CLOCK_EVERY_WORK
            if self.work < 0:
                raise TemplateLimit(
                    f"the template built more than {MAX_WORK:,} characters of values and text in one rendering"
                )
            self.check_clock()


_CURRENT: ContextVar[Budget | None] = ContextVar("plato_template_budget", default=None)


def current() -> Budget:
    """The budget of the rendering in progress (a fresh one outside a rendering: every check still applies)."""
    budget = _CURRENT.get()
    return budget if budget is not None else Budget()


def start() -> Token[Budget | None]:
    """Open a fresh budget for one rendering (a plain token, not a context manager: this runs per template)."""
    return _CURRENT.set(Budget())


def stop(token: Token[Budget | None]) -> None:
    _CURRENT.reset(token)


class _RunBudget:
    __slots__ = ("output",)

    def __init__(self) -> None:
        self.output = MAX_RUN_OUTPUT


_RUN: ContextVar[_RunBudget | None] = ContextVar("plato_run_budget", default=None)


@contextlib.contextmanager
def run_budget() -> Iterator[None]:
    """Bound the total output of every template rendered inside (one app in one environment), so a publish
    stays within a fixed amount of memory whatever its rules say."""
    token = _RUN.set(_RunBudget())
    try:
        yield
    finally:
        _RUN.reset(token)


def output(chunks: Iterable[str], marked: list[str] | None = None) -> str:
    """A rendering's text, measured before it is joined. Holding the chunks costs only references: every new
    value in them was paid for where it was built, and what repeats an existing value is counted here. `marked`:
    the outputs of a marked rendering (read/skeleton.py), which the chunks hold one character of each."""
    parts = list(chunks)
    total = sum(map(len, parts))
    if marked:
        total += sum(map(len, marked)) - len(marked)
    if total > MAX_OUTPUT:
        raise TemplateLimit(f"the template rendered {total:,} characters, over the limit of {MAX_OUTPUT:,}")
    text = "".join(parts)
    run = _RUN.get()
    if run is not None:
        run.output -= total
        if run.output < 0:
            raise TemplateLimit(f"the templates of this app rendered more than {MAX_RUN_OUTPUT:,} characters together")
    return text


# -- sizes ------------------------------------------------------------------------------------------------------


_SMALL = {bool, float, type(None)}


def size_of(value: Any, limit: int = MAX_VALUE) -> int:
    """About how many characters `str(value)` has, walked without recursion and given up past `limit` (so a
    deeply shared structure costs at most `limit` to measure)."""
    kind = type(value)
    if kind is str:
        return len(value)
    if kind in _SMALL:
        return 8
    if kind is int:
        return int(value.bit_length()) // 3 + 2
    total, stack = 0, [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is str:
            total += len(v) + 2
        elif kind in _SMALL:
            total += 5
        elif kind is int:
            total += v.bit_length() // 3 + 2
        elif kind is list or kind is tuple:
            total += 2 + 2 * len(v)
            stack.extend(v)
        elif kind is dict:
            total += 2 + 4 * len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        else:
            total += _other_size(v, stack)
        if total > limit:
            break
    return total


def _other_size(v: Any, stack: list[Any]) -> int:
    """The rarer kinds for size_of: subclasses (Markup), bytes, ranges, other mappings and collections."""
    if isinstance(v, str | bytes):
        return len(v) + 2
    if isinstance(v, int | float):
        return 5 if isinstance(v, bool | float) else v.bit_length() // 3 + 2
    if isinstance(v, range):
        return len(v) * (len(str(max(abs(v.start), abs(v.stop)))) + 2)
    if isinstance(v, Mapping):
        stack.extend(v.keys())
        stack.extend(v.values())
        return 2 + 4 * len(v)
    if isinstance(v, list | tuple | set | frozenset) or type(v).__name__.startswith("dict_"):
        stack.extend(v)
        return 2 + 2 * len(v)
    return 8  # an opaque object (a macro, undefined, a generator): its text is a short repr


def built(value: Any) -> Any:
    """The check every built value passes: at most MAX_VALUE, paid for from the rendering's budget."""
    if isinstance(value, str):
        size = len(value)
    else:
        size = size_of(value)
        if type(value) is int and value.bit_length() > MAX_INT_BITS:
            raise TemplateLimit(f"the template built an integer of over {MAX_INT_BITS} bits")
    if size > MAX_VALUE:
        raise TemplateLimit(f"the template built a value of over {MAX_VALUE:,} characters (or items)")
    spend(size)
    return value


def spend(size: int) -> None:
    """Pay `size` from the budget of the rendering in progress (nothing to pay outside one)."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.spend(size)


def _expect(size: int, what: str) -> None:
    if size > MAX_VALUE:
        raise TemplateLimit(f"{what} would build about {size:,} characters (or items), over the limit of {MAX_VALUE:,}")


# -- estimates: the result of an operation, from its inputs, before it runs --------------------------------------


def _ints(args: Iterable[Any]) -> int:
    """Numeric arguments read as widths or counts (`center(10**9)`, `batch(10**9)`)."""
    return sum(a for a in args if isinstance(a, int) and not isinstance(a, bool) and a > 0)


def _plain(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """Most operations: no bigger than their inputs (each within the bounds already) plus any width or count
    they are given; so only a numeric argument needs a look before the call."""
    widths = _ints(args) + _ints(kwargs.values())
    return size_of(value) + widths if widths else 0


_SPEC_NUMBER = re.compile(r"\d+")


def _format(fmt: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """printf (`%`, the `format` filter) and str.format: every field may repeat the largest argument, and every
    number in the format may be a width or a precision."""
    if not isinstance(fmt, str):
        return _plain(fmt, args, kwargs)
    flat: list[Any] = []
    for a in (*args, *kwargs.values()):
        flat.extend(a.values() if isinstance(a, Mapping) else a if isinstance(a, tuple) else [a])
    fields = fmt.count("%") + fmt.count("{")
    largest = max((size_of(a) for a in flat), default=0)
    widths = sum(int(n) if len(n) < 12 else MAX_VALUE + 1 for n in _SPEC_NUMBER.findall(fmt))
    return len(fmt) + fields * largest + widths + _ints(flat)


def _replace(s: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    old, new = (*args, kwargs.get("old"), kwargs.get("new"))[:2]
    if not (isinstance(s, str) and isinstance(old, str) and isinstance(new, str)):
        return _plain(s, args, kwargs)
    hits = s.count(old) if old else len(s) + 1
    return len(s) + hits * len(new)


def _join_method(sep: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    items = args[0] if args else ()
    return size_of(items) + len(str(sep)) * _count(items)


def _join_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    sep = args[0] if args else kwargs.get("d", "")
    return size_of(value) + len(str(sep)) * _count(value)


def _count(items: Any) -> int:
    try:
        return len(items)
    except TypeError:
        return 0


def _per_line(s: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """indent: every line gets the indentation (a width or a string)."""
    width = args[0] if args else kwargs.get("width", 4)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    return size_of(s) + (str(s).count("\n") + 1) * max(pad, 0)


def _per_char(s: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """wordwrap and translate: at worst every character gets the wrap string (or the longest replacement)."""
    extra = [a for a in (*args, *kwargs.values()) if isinstance(a, str)]
    table = next((a for a in args if isinstance(a, Mapping)), {})
    longest = max([len(x) for x in extra] + [size_of(v) for v in table.values()] + [1])
    return len(str(s)) * (1 + longest) + _ints((*args, *kwargs.values()))


def _tabs(s: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    tab = args[0] if args else kwargs.get("tabsize", 8)
    return len(str(s)) + str(s).count("\t") * (tab if isinstance(tab, int) else 8)


def _sum(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """Adding sequences copies the running total at every item: quadratic."""
    items = value if isinstance(value, list | tuple) else []
    if any(isinstance(i, list | tuple | str) for i in items):
        return len(items) * size_of(items)
    return _plain(value, args, kwargs)


Estimate = Callable[[Any, tuple[Any, ...], Mapping[str, Any]], int]

# By the name of the filter or the str method (the same names mean the same growth).
ESTIMATES: dict[str, Estimate] = {
    "format": _format,
    "format_map": _format,
    "replace": _replace,
    "indent": _per_line,
    "wordwrap": _per_char,
    "translate": _per_char,
    "expandtabs": _tabs,
    "sum": _sum,
}
FILTER_ESTIMATES: dict[str, Estimate] = {**ESTIMATES, "join": _join_filter}
METHOD_ESTIMATES: dict[str, Estimate] = {**ESTIMATES, "join": _join_method}


def binop_estimate(operator: str, left: Any, right: Any) -> int:
    if operator == "*":
        n, seq = (right, left) if isinstance(right, int) else (left, right)
        if isinstance(n, int) and not isinstance(seq, int | float):
            return size_of(seq) * max(n, 0)
        if isinstance(left, int) and isinstance(right, int):
            return (left.bit_length() + right.bit_length()) // 3
    if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        bits = max(left.bit_length(), 1) * right
        if bits > MAX_INT_BITS and abs(left) > 1:
            raise TemplateLimit(f"the template built an integer of over {MAX_INT_BITS} bits")
        return 0
    if operator == "%" and isinstance(left, str):
        return _format(left, (right,), {})
    return size_of(left) + size_of(right)


# -- lazy values: iterated under the step budget ----------------------------------------------------------------


def counted(iterable: Any) -> Iterator[Any]:
    """Iterate paying one step per item (for loops, recursive loops, generators from map/select/...)."""
    budget = current()
    for item in iterable:
        budget.step()
        yield item


EAGER = frozenset({str, int, float, bool, type(None), list, tuple, dict})


def materialized(value: Any) -> Any:
    """A lazy argument (a generator from `map`, `select`, ...) as a list, built item by item under the bounds,
    so the filter that consumes it (`list`, `join`, `sort`, ...) never sees more than MAX_VALUE."""
    if type(value) in EAGER or not isinstance(value, Iterator):
        return value
    budget, items, size = current(), [], 0
    for item in value:
        budget.step()
        size += size_of(item) + 2
        if size > MAX_VALUE:
            raise TemplateLimit(f"the template built a list of over {MAX_VALUE:,} characters (or items)")
        items.append(item)
    return items
