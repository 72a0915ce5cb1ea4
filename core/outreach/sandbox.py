"""The Jinja sandbox that templates render in, with a budget so no template can exhaust the host.

Jinja's sandbox stops templates reaching Python internals, but not from asking for a
2-gigabyte string (``'a'|center(2000000000)``, ``'%1000000000s'|format``), looping for ever
(nested ``range(100000)``), or recursing until Python gives up. Every render here runs under a
budget: a number of steps (loop iterations and calls), a number of characters produced, and a
time limit. Operations that could build a huge value in one go are checked before they run;
every value a call, filter or operator returns is measured after. Going over raises
``TemplateTooCostly`` (a ``SecurityError``), which the renderer reports as ``InvalidInput``.
"""

from __future__ import annotations

import functools
import operator
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_OUTPUT_CHARS = 50_000  # the longest value or rendered text a template may produce
MAX_PRODUCED_CHARS = 1_000_000  # every character built during one render, intermediate values included
MAX_STEPS = 100_000  # loop iterations plus calls in one render
MAX_SECONDS = 2.0  # CPU a render may take before it is stopped
MAX_POWER_BITS = 10_000  # the largest integer ``**`` and ``*`` may build

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?")
_WIDTH_METHODS = frozenset(["center", "ljust", "rjust", "zfill"])


class TemplateTooCostly(SecurityError):
    """A template needed more output, steps or time than one render may use."""


@dataclass
class _Budget:
    deadline: float
    steps: int = MAX_STEPS
    chars: int = MAX_PRODUCED_CHARS

    def spend(self, *, steps: int = 0, chars: int = 0) -> None:
        self.steps -= steps
        self.chars -= chars
        if self.steps < 0:
            raise TemplateTooCostly(f"it needs more than {MAX_STEPS} loop iterations and calls")
        if self.chars < 0:
            raise TemplateTooCostly(f"it builds more than {MAX_PRODUCED_CHARS} characters")
        if time.thread_time() > self.deadline:
            raise TemplateTooCostly(f"it takes longer than {MAX_SECONDS:g} seconds to render")


_BUDGET: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:  # outside render_bounded (a test poking the environment): a budget per operation
        budget = _Budget(deadline=time.thread_time() + MAX_SECONDS)
    return budget


def _printed_size_over(value: Any, limit: int) -> bool:
    """True when ``str(value)`` would be longer than ``limit``, found without building it."""
    total = 0
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            pending.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1
        else:
            total += 8
        if total > limit:
            return True
    return False


def _check_size(value: Any, what: str = "a value") -> None:
    if _printed_size_over(value, MAX_OUTPUT_CHARS):
        raise TemplateTooCostly(f"{what} would be longer than {MAX_OUTPUT_CHARS} characters")


def _account(value: Any) -> Any:
    """Measure a value a template built: refuse it when too big, and charge it to the budget."""
    if isinstance(value, str | list | tuple | dict | set | frozenset):
        _check_size(value)
        _budget().spend(chars=len(value))
    elif isinstance(value, int) and value.bit_length() > MAX_POWER_BITS:
        raise TemplateTooCostly("a number would be too large")
    elif isinstance(value, Iterator):
        return _guarded_iter(value)
    return value


def _guarded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _budget().spend(steps=1)
        yield item


def _check_width(width: Any) -> None:
    if isinstance(width, int) and width > MAX_OUTPUT_CHARS:
        raise TemplateTooCostly(f"a width of {width} is more than {MAX_OUTPUT_CHARS} characters")


def _check_percent_format(fmt: str, args: Any) -> None:
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for number in (width, precision):
            if number == "*":
                raise TemplateTooCostly("a '*' width in a format is not allowed")
            if number:
                _check_width(int(number))
    _check_size(args, "a formatted value")


def _check_brace_format(fmt: str, args: Any) -> None:
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise TemplateTooCostly(f"the format string is malformed ({exc})") from exc
    for _literal, _field, spec, _conversion in fields:
        if spec and "{" in spec:
            raise TemplateTooCostly("a nested format field is not allowed")
        for number in re.findall(r"\d+", spec or ""):
            _check_width(int(number))
    _check_size(args, "a formatted value")


def _check_str_method(name: str, text: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse a ``str`` method call whose result would be too big, before it runs."""
    if name in _WIDTH_METHODS:
        _check_width(args[0] if args else kwargs.get("width"))
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tabsize, int) and tabsize * text.count("\t") > MAX_OUTPUT_CHARS:
            raise TemplateTooCostly("expanding the tabs would be too long")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        hits = text.count(args[0]) if args[0] else len(text) + 1
        if len(text) + hits * len(args[1]) > MAX_OUTPUT_CHARS:
            raise TemplateTooCostly("the replacement would be too long")
    elif name == "join" and args:
        _check_join(text, args[0])


def _check_join(separator: str, items: Any) -> list[Any]:
    items = list(_guarded_iter(items))
    if len(separator) * len(items) > MAX_OUTPUT_CHARS:
        raise TemplateTooCostly("the joined text would be too long")
    _check_size(items, "the joined text")
    return items


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap one of Jinja's filters so its arguments are checked and its result measured."""

    passes_state = getattr(function, "jinja_pass_arg", None) is not None  # Jinja passes a context first

    @functools.wraps(function)  # keeps Jinja's pass_context / pass_environment marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _budget().spend(steps=1)
        values = list(args[1:] if passes_state else args)
        value, rest = (values[0], values[1:]) if values else (None, [])
        if name in ("center", "indent"):
            _check_width(rest[0] if rest else kwargs.get("width"))
            if name == "indent" and isinstance(value, str):
                width = rest[0] if rest and isinstance(rest[0], int) else 4
                if width * (value.count("\n") + 1) > MAX_OUTPUT_CHARS:
                    raise TemplateTooCostly("the indented text would be too long")
        elif name == "format" and isinstance(value, str):
            _check_percent_format(value, (rest, kwargs))
        elif name == "replace" and isinstance(value, str) and len(rest) >= 2:
            _check_str_method("replace", value, tuple(str(r) for r in rest[:2]), {})
        elif name in ("join", "sum", "string", "tojson", "pprint", "list", "urlize", "wordwrap"):
            if name == "join" and value is not None and not isinstance(value, str | Mapping):
                separator = rest[0] if rest and isinstance(rest[0], str) else kwargs.get("d", "")
                items = _check_join(str(separator), value)
                args = tuple(items if a is value else a for a in args)
            elif isinstance(value, Iterator):
                items = list(_guarded_iter(value))
                _check_size(items)
                args = tuple(items if a is value else a for a in args)
            else:
                _check_size(value)
        return _account(function(*args, **kwargs))

    return bounded


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with every loop, call, filter, operator and output charged to a budget."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Parse, then route every loop, ``~`` and output through the budget."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = self._hook("guarded_iterable", [cast(nodes.Expr, loop.iter)])
        for concat in list(tree.find_all(nodes.Concat)):
            concat.nodes = [self._hook("guarded_concat", list(concat.nodes))]
        for output in tree.find_all(nodes.Output):
            output.nodes = [self._hook("guarded_output", [child]) for child in output.nodes]
        return tree

    @staticmethod
    def _hook(attribute: str, args: list[nodes.Expr]) -> nodes.Call:
        return nodes.Call(nodes.EnvironmentAttribute(attribute), args, [], None, None)

    @staticmethod
    def guarded_iterable(iterable: Any) -> Iterator[Any]:
        """What a ``{% for %}`` loops over: each iteration is one step."""
        return _guarded_iter(iterable)

    @staticmethod
    def guarded_concat(*values: Any) -> str:
        """``a ~ b``, refused when the joined text would be too long."""
        _check_size(list(values), "the joined text")
        return str(_account("".join(str(v) for v in values)))

    @staticmethod
    def guarded_output(value: Any) -> Any:
        """Anything a template writes out is charged to the budget."""
        if not isinstance(value, str):
            _check_size(value, "an output")
        _budget().spend(chars=len(value) if isinstance(value, str) else 8)
        return value

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Call from sandboxed code: one step, size checks for ``str`` methods, the result measured."""
        _budget().spend(steps=1)
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            _check_str_method(getattr(obj, "__name__", ""), owner, args, kwargs)
        return _account(super().call(context, obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` / ``format_map``, refusing huge widths and values before formatting."""
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        fmt = value.__self__

        def bounded(*args: Any, **kwargs: Any) -> str:
            _check_brace_format(fmt, (args, kwargs))
            return wrapper(*args, **kwargs)

        return bounded

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        """``*``, ``**``, ``+`` and ``%`` refused when their result would be too big."""
        _budget().spend(steps=1)
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise TemplateTooCostly("an exponent above 100 is not allowed")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() * right > MAX_POWER_BITS:
                raise TemplateTooCostly("a number would be too large")
            return _account(operator.pow(left, right))
        if operator_name == "*":
            for value, count in ((left, right), (right, left)):
                if isinstance(value, str | list | tuple) and isinstance(count, int):
                    if len(value) * count > MAX_OUTPUT_CHARS:
                        raise TemplateTooCostly(f"the result would be longer than {MAX_OUTPUT_CHARS}")
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_POWER_BITS:
                    raise TemplateTooCostly("a number would be too large")
            return _account(operator.mul(left, right))
        if operator_name == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                if len(left) + len(right) > MAX_OUTPUT_CHARS:
                    raise TemplateTooCostly(f"the result would be longer than {MAX_OUTPUT_CHARS}")
            return _account(operator.add(left, right))
        if isinstance(left, str):
            _check_percent_format(left, right)
        return _account(operator.mod(left, right))


ENVIRONMENT = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def render_bounded(source: str, context: Mapping[str, Any]) -> str:
    """Compile and render ``source`` under a fresh budget; raises ``TemplateTooCostly`` when over it."""
    token = _BUDGET.set(_Budget(deadline=time.thread_time() + MAX_SECONDS))
    try:
        return ENVIRONMENT.from_string(source).render(context)
    finally:
        _BUDGET.reset(token)
