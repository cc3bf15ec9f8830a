"""Time and size budgets for model code (scripts, conditions, timers, DMN cells, form defaults).

Model code runs in the server process, inside the action's transaction, and calls the
bureau's helpers (which read the database), so it cannot simply be moved to another
process. Instead the RestrictedPython compilation is extended so that every construct
that can run long or allocate much passes a guard:

* time: a deadline check (``_tick_``) at the top of every loop body, on every element of
  every comprehension or generator expression, and before every call (so recursion and
  callbacks are covered). Python code between two checks is straight-line and short.
* size: an operation whose result size is set by an operand is checked *before* it runs —
  ``**`` and ``<<`` and ``*`` on integers (result bits), ``*`` on sequences (repetition),
  ``+`` of sequences, ``%`` formatting, f-strings, ``str.format``, ``join``, ``replace``,
  ``ljust``/``rjust``/``center``/``zfill``/``expandtabs``, ``str()``/``repr()`` of
  containers, ``range`` (a C-level iteration that never reaches a check). Every call's and
  every operator's result is checked after it runs (one C call cannot amplify its bounded
  inputs much), and their sizes are added up per evaluation.

So no single C operation can hold the GIL for long (``9**(9**9)`` is refused before it is
computed) and Python-level work always reaches a check. The budget is per evaluation: the
deadline (``ZHIFA_SCRIPT_TIMEOUT``, default 1 s, of the thread's CPU time: a check looks at
it once that much wall time has passed, so a loaded machine or another request holding the
GIL does not fail a model's code, and a loop still ends; a garbage collection within it is not
counted, and code that has passed fewer than MIN_CHECKS checks, which has not looped, gets
HELPER_GRACE times as long), the largest single value
(``ZHIFA_SCRIPT_MAX_MB``, default 16 MB) and the total produced (16 × that). A budget
error is sticky: code that catches it cannot continue past the next check, and the
evaluation fails afterwards even if it returned normally.
"""
from __future__ import annotations

import ast
import gc
import os
import re
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Iterator

from RestrictedPython.transformer import RestrictingNodeTransformer


class BudgetExceeded(Exception):
    """Model code ran too long or built too large a value; the action is rolled back."""


class Limits:
    """Process-wide settings, read from the environment once (tests may replace them)."""

    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        self.seconds = float(env.get("ZHIFA_SCRIPT_TIMEOUT", "1"))
        self.max_bytes = int(float(env.get("ZHIFA_SCRIPT_MAX_MB", "16")) * 1024 * 1024)
        self.total_bytes = 16 * self.max_bytes
        self.max_int_bits = 32 * 1024      # ~9,900 digits; Python refuses int↔str past 4,300
        self.max_decimal_exponent = 4300
        self.max_range = 1_000_000         # sum(range(n)) is one C call: keep it to milliseconds


LIMITS = Limits()


@contextmanager
def configured(**overrides: Any) -> Iterator[Limits]:
    """Temporarily change the limits (tests, and ``zhifa`` commands with their own budget)."""
    saved = {k: getattr(LIMITS, k) for k in overrides}
    for key, value in overrides.items():
        setattr(LIMITS, key, value)
    try:
        yield LIMITS
    finally:
        for key, value in saved.items():
            setattr(LIMITS, key, value)


# Code that has passed fewer checks than this has not looped: its time went to the bureau's
# helpers (a deadline read from a decision table and the calendar) or to a pause of the machine,
# and it fails for time only past HELPER_GRACE × the budget.
MIN_CHECKS = 100
HELPER_GRACE = 10


class _Budget:
    __slots__ = ("deadline", "cpu_deadline", "produced", "failure", "collecting_since", "checks")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + LIMITS.seconds
        self.cpu_deadline = time.thread_time() + LIMITS.seconds  # read only once the wall deadline passed
        self.produced = 0
        self.failure: str | None = None
        self.collecting_since: tuple[float, float] | None = None
        self.checks = 0

    def out_of_time(self) -> bool:
        if time.monotonic() <= self.deadline:
            return False
        over = time.thread_time() - self.cpu_deadline
        return over > 0 and (self.checks >= MIN_CHECKS or over > (HELPER_GRACE - 1) * LIMITS.seconds)

    def fail(self, reason: str) -> None:
        self.failure = self.failure or reason
        raise BudgetExceeded(self.failure)


_local = threading.local()


def _current() -> _Budget | None:
    return getattr(_local, "budget", None)


def _collecting(phase: str, _info: dict) -> None:
    """A garbage collection that falls within model code collects the whole process's garbage,
    in the thread whose allocation set it off: its time moves that budget's deadlines on. (A full
    collection of a large heap takes up to a second, and failed a one-line timer expression.)"""
    current = _current()
    if current is None:
        return
    if phase == "start":
        current.collecting_since = (time.monotonic(), time.thread_time())
    elif current.collecting_since is not None:
        wall, cpu = current.collecting_since
        current.deadline += time.monotonic() - wall
        current.cpu_deadline += time.thread_time() - cpu
        current.collecting_since = None


gc.callbacks.append(_collecting)


@contextmanager
def budget() -> Iterator[None]:
    """Run model code under a budget; nested evaluations (a helper evaluating a cell) share it."""
    if _current() is not None:
        yield
        return
    _local.budget = current = _Budget()
    try:
        yield
        if current.failure:  # the code caught the error and returned: still a failure
            raise BudgetExceeded(current.failure)
    finally:
        _local.budget = None


def _timeout_message() -> str:
    return (f"模型代码运行超过 {LIMITS.seconds:g} 秒（ZHIFA_SCRIPT_TIMEOUT），已中止；"
            "请检查循环或递归是否能够结束")


def _size_message(what: str) -> str:
    if what == "整数":
        limit = f"约 {LIMITS.max_int_bits * 3 // 10} 位数字"
    elif what == "数值":
        limit = f"10 的 {LIMITS.max_decimal_exponent} 次方"
    elif what == "range":
        limit = f"{LIMITS.max_range} 个元素"
    elif what == "数据总量":
        limit = f"{LIMITS.total_bytes // (1024 * 1024)} MB"
    else:
        limit = f"{LIMITS.max_bytes // (1024 * 1024)} MB，ZHIFA_SCRIPT_MAX_MB"
    return f"模型代码产生的{what}超过上限（{limit}），已中止"


def tick(*_: Any) -> bool:
    current = _current()
    if current is not None:
        current.checks += 1
        if current.failure or current.out_of_time():
            current.fail(current.failure or _timeout_message())
    return True


def refuse(what: str) -> None:
    current = _current()
    if current is not None:
        current.fail(_size_message(what))
    raise BudgetExceeded(_size_message(what))


# --- sizes ------------------------------------------------------------------------

_SEQUENCES = (str, bytes, bytearray, list, tuple, set, frozenset, dict)


def flat_size(value: Any) -> int:
    """Bytes a value occupies itself (a character or a slot each counts one/eight)."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return 8 * len(value)
    return 0


def text_size(value: Any, limit: int) -> int:
    """An upper estimate of ``len(repr(value))``, walking containers until ``limit`` is passed
    (a small list referring to one large string many times has a huge repr)."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item) + 3
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 2
        else:
            total += 40
    return total


def check_value(value: Any) -> Any:
    """Refuse a result too large to keep; count it towards the evaluation's total."""
    size = flat_size(value)
    if size:
        if size > LIMITS.max_bytes:
            refuse("值")
        current = _current()
        if current is not None:
            current.produced += size
            if current.produced > LIMITS.total_bytes:
                refuse("数据总量")
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > LIMITS.max_int_bits:
            refuse("整数")
    elif isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > LIMITS.max_decimal_exponent:
        refuse("数值")
    return value


def before_binop(op: str, left: Any, right: Any) -> None:
    limit = LIMITS.max_bytes
    if op == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            if left.bit_length() * right > LIMITS.max_int_bits:
                refuse("整数")
    elif op == "<<":
        if isinstance(left, int) and isinstance(right, int) and left \
                and left.bit_length() + right > LIMITS.max_int_bits:
            refuse("整数")
    elif op == "*":
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > LIMITS.max_int_bits:
                refuse("整数")
        else:
            seq, count = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, _SEQUENCES) and isinstance(count, int) and flat_size(seq) * count > limit:
                refuse("字符串或列表")
    elif op == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES) \
                and flat_size(left) + flat_size(right) > limit:
            refuse("字符串或列表")
    elif op == "%" and isinstance(left, (str, bytes)):
        _check_printf(left)
        args = right if isinstance(right, tuple) else (right,)
        if len(left) + sum(text_size(a, limit) for a in args) > limit:
            refuse("字符串")


_BINOPS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "//": lambda a, b: a // b, "%": lambda a, b: a % b, "**": lambda a, b: a ** b, "<<": lambda a, b: a << b,
    ">>": lambda a, b: a >> b, "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "@": lambda a, b: a @ b,
}
_AST_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
            ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|",
            ast.BitXor: "^", ast.MatMult: "@"}


def binop(op: str, left: Any, right: Any) -> Any:
    before_binop(op, left, right)
    return check_value(_BINOPS[op](left, right))


# Width and precision in format specs ('{:>99999999}', '%.99999999f') allocate that much.
_SPEC_NUMBERS = re.compile(r"\d+")
_PRINTF = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_spec(spec: str) -> None:
    if any(int(n) > LIMITS.max_bytes for n in _SPEC_NUMBERS.findall(spec)):
        refuse("格式化结果")


def _check_printf(fmt: str | bytes) -> None:
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    for width, precision in _PRINTF.findall(text):
        if "*" in (width, precision):
            raise BudgetExceeded("格式中的 * 宽度不被支持，请写明数字")
        if any(n and int(n) > LIMITS.max_bytes for n in (width, precision)):
            refuse("格式化结果")


def format_value(value: Any, conversion: int = -1, spec: str = "") -> str:
    """One f-string field (``conversion`` as in ``ast.FormattedValue``)."""
    _check_spec(spec)
    if text_size(value, LIMITS.max_bytes) > LIMITS.max_bytes:
        refuse("字符串")
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("a"):
        value = ascii(value)
    elif conversion == ord("s"):
        value = str(value)
    return check_value(format(value, spec))


def join_parts(parts: tuple[str, ...]) -> str:
    """An f-string's pieces, refused before concatenating if the result would be too large."""
    if sum(len(p) for p in parts) > LIMITS.max_bytes:
        refuse("字符串")
    return check_value("".join(parts))


# --- guarded calls and str methods ------------------------------------------------

def _guarded_range(*args: int) -> range:
    result = range(*args)
    if len(result) > LIMITS.max_range:
        refuse("range")
    return result


def _guarded_sum(iterable, start=0):
    if not isinstance(start, (int, float, Decimal)) and type(start).__name__ != "timedelta":
        raise TypeError("sum() adds numbers or durations only; use ''.join(...) for strings")
    return sum(iterable, start)


def _guarded_text(func):
    def call(value: Any = "", *args: Any) -> str:
        if text_size(value, LIMITS.max_bytes) > LIMITS.max_bytes:
            refuse("字符串")
        return func(value, *args)
    return call


REPLACED_BUILTINS = {"range": _guarded_range, "sum": _guarded_sum, "repr": _guarded_text(repr)}


def apply(func: Any, *args: Any, **kwargs: Any) -> Any:
    tick()
    if func is str and args:
        if text_size(args[0], LIMITS.max_bytes) > LIMITS.max_bytes:
            refuse("字符串")
    return check_value(func(*args, **kwargs))


def _str_join(text: str):
    def join(iterable) -> str:
        items = list(iterable)
        if sum(len(i) if isinstance(i, str) else 0 for i in items) + len(text) * len(items) > LIMITS.max_bytes:
            refuse("字符串")
        return text.join(items)
    return join


def _str_replace(text: str):
    def replace(old: str, new: str, count: int = -1) -> str:
        if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
            hits = text.count(old) if old else len(text) + 1
            if count >= 0:
                hits = min(hits, count)
            if len(text) + hits * (len(new) - len(old)) > LIMITS.max_bytes:
                refuse("字符串")
        return text.replace(old, new, count)
    return replace


def _str_width(text: str, name: str):
    method = getattr(text, name)

    def pad(width: int = 8, *args: Any) -> str:
        if isinstance(width, int) and width * (1 if name != "expandtabs" else max(1, text.count("\t"))) \
                > LIMITS.max_bytes:
            refuse("字符串")
        return method(width, *args)
    return pad


def guarded_str_method(text: str | bytes, name: str):
    """The bound method ``text.name`` with a size check, or None when it needs none."""
    if name == "join":
        return _str_join(text) if isinstance(text, str) else None
    if name == "replace" and isinstance(text, str):
        return _str_replace(text)
    if name in ("ljust", "rjust", "center", "zfill", "expandtabs"):
        return _str_width(text, name)
    return None


class NullPrinter:
    """``print()`` in a model does nothing (and does not build the text it would print)."""

    def __init__(self, _getattr_=None):
        pass

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        return None

    def __call__(self) -> str:
        return ""


# --- the compile-time transformation ----------------------------------------------

def _call(func: str, args: list[ast.expr], node: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name(func, ast.Load()), args=args, keywords=[])
    ast.copy_location(call, node)
    ast.fix_missing_locations(call)
    return call


class BoundedTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus the time and size guards described above."""

    def _tick_stmt(self, node: ast.AST) -> ast.Expr:
        stmt = ast.Expr(_call("_tick_", [], node))
        ast.copy_location(stmt, node)
        return stmt

    def visit_For(self, node: ast.For) -> ast.AST:
        node = super().visit_For(node)
        node.body.insert(0, self._tick_stmt(node))
        return node

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> ast.AST:
        node = super().visit_While(node)
        node.body.insert(0, self._tick_stmt(node))
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        node = super().visit_comprehension(node)
        node.ifs.insert(0, _call("_tick_", [], node.iter))
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node = super().visit_Call(node)
        if isinstance(node.func, ast.Name) and node.func.id == "_apply_":
            return node  # already wrapped (RestrictedPython does it for *args/**kwargs)
        node.args.insert(0, node.func)
        node.func = ast.Name("_apply_", ast.Load())
        ast.copy_location(node.func, node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        op = _AST_OPS[type(node.op)]
        return _call("_binop_", [ast.Constant(op), node.left, node.right], node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        node = super().visit_JoinedStr(node)
        parts = [self._part(v) for v in node.values]
        return _call("_fjoin_", [ast.Tuple(parts, ast.Load())], node)

    def _part(self, value: ast.expr) -> ast.expr:
        if not isinstance(value, ast.FormattedValue):
            return value
        spec = value.format_spec if value.format_spec is not None else ast.Constant("")
        return _call("_fmt_", [value.value, ast.Constant(value.conversion), spec], value)


GUARDS = {"_tick_": tick, "_apply_": apply, "_binop_": binop, "_fmt_": format_value, "_fjoin_": join_parts,
          "_print_": NullPrinter}
