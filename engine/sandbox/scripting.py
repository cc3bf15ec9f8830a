"""The restricted environment every model expression and script runs in.

SpiffWorkflow evaluates gateway conditions, timers, DMN cells and script tasks with
plain ``eval``/``exec`` and full builtins: a model could ``__import__("os")``. Here code
is compiled with RestrictedPython (no names or attributes starting with ``_``, guarded
attribute/item/iteration access), imports and a few dangerous names are rejected, and
only a whitelist of builtins plus the bureau's helpers is visible.

Name resolution: task data < Spiff's external context < helpers. A helper always wins,
so a form field that happens to be called ``date`` neither breaks Spiff's
``check_for_overwrite`` (we do not call it) nor shadows the helper; the field stays in
task data. A script that *assigns* a helper name is rejected at run time.

Every evaluation runs under a time and size budget (``engine/sandbox/limits.py``): the
compilation adds deadline checks to loops, comprehensions and calls and size checks to the
operations that can build large values, so an endless loop or ``9**(9**9)`` fails the
action with a Chinese message instead of holding a worker and the database.
"""
from __future__ import annotations

import ast
import operator
import re
import string
import textwrap
import traceback
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from types import CodeType
from typing import Any
from zoneinfo import ZoneInfo

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence,
                                     safer_getattr, safer_getattr_raise)
from RestrictedPython.transformer import INSPECT_ATTRIBUTES
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.sandbox import limits
from engine.sandbox.limits import BudgetExceeded

TZ = ZoneInfo("Asia/Shanghai")

# Names that must never be reachable; RestrictedPython alone lets some of them compile
# (e.g. ``import os`` or ``open``) and only fails at run time with an obscure error.
FORBIDDEN_NAMES = frozenset({
    "open", "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr",
    "globals", "locals", "vars", "dir", "type", "input", "breakpoint", "help", "memoryview",
    "object", "super", "classmethod", "staticmethod", "property", "exit", "quit",
})


class ScriptRejected(Exception):
    """A model expression or script that is not allowed or does not compile."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"脚本/表达式不被允许 (script rejected): {reason}")


def today() -> date:
    return datetime.now(TZ).date()


def now() -> datetime:
    return datetime.now(TZ)


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "<<=": operator.ilshift, ">>=": operator.irshift, "&=": operator.iand,
    "^=": operator.ixor, "|=": operator.ior, "@=": operator.imatmul,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op not in _INPLACE:
        raise ScriptRejected(f"operator {op} is not supported")
    limits.before_binop(op[:-1], x, y)
    return limits.check_value(_INPLACE[op](x, y))


class _SafeFormatter(string.Formatter):
    """str.format without the ``'{0.__class__}'`` attribute walk, within the size budget
    (one instance per call: it adds up the size of what it formats)."""

    def __init__(self) -> None:
        self.size = 0

    def convert_field(self, value, conversion):
        if conversion and limits.text_size(value, limits.LIMITS.max_bytes) > limits.LIMITS.max_bytes:
            limits.refuse("字符串")
        return super().convert_field(value, conversion)

    def format_field(self, value, format_spec):
        text = limits.format_value(value, -1, format_spec)
        self.size += len(text)
        if self.size > limits.LIMITS.max_bytes:
            limits.refuse("字符串")
        return text

    def get_field(self, field_name, args, kwargs):
        first, rest = _field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            if is_attr:
                obj = _getattr(obj, key)
            else:
                obj = default_guarded_getitem(obj, key)
        return obj, first


def _field_name_split(field_name: str):
    import _string  # the parser str.format itself uses
    return _string.formatter_field_name_split(field_name)


_MISSING = object()


class _KeepMissing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def format_text(template: str, values: Mapping[str, Any]) -> str:
    """A model's message with ``{variable}`` filled from case data; unknown names stay as written."""
    try:
        return _SafeFormatter().vformat(template, (), _KeepMissing(values))
    except (ValueError, AttributeError, LookupError, TypeError, ScriptRejected):
        return template


def _getattr(obj: Any, name: str, default: Any = _MISSING) -> Any:
    if name.startswith("_") or name in INSPECT_ATTRIBUTES:
        raise ScriptRejected(f"attribute {name!r} is not accessible")
    if name in ("format", "format_map") and (isinstance(obj, str) or obj is str):
        if obj is str:
            raise ScriptRejected("str.format is not accessible; use 'text'.format(...)")
        if name == "format":
            return lambda *a, **k: _SafeFormatter().vformat(obj, a, k)
        return lambda mapping: _SafeFormatter().vformat(obj, (), mapping)
    if isinstance(obj, str) and (guarded := limits.guarded_str_method(obj, name)) is not None:
        return guarded
    if isinstance(obj, dict) and name in obj and not hasattr(dict, name):
        return obj[name]  # JUEL property access on maps: ${violation.party_name}
    if default is _MISSING:
        return safer_getattr_raise(obj, name)
    return safer_getattr(obj, name, default)


_BUILTIN_NAMES = (
    "abs all any bool dict divmod enumerate filter float frozenset int isinstance len list "
    "map max min range repr reversed round set slice sorted str sum tuple zip "
    "ArithmeticError Exception IndexError KeyError LookupError TypeError ValueError "
    "ZeroDivisionError"
).split()


def _builtins() -> dict[str, Any]:
    import builtins
    names = {n: getattr(builtins, n) for n in _BUILTIN_NAMES}
    names.update(limits.REPLACED_BUILTINS)
    names.update({"None": None, "True": True, "False": False})
    return names


def _guards() -> dict[str, Any]:
    return {
        "__builtins__": _builtins(),
        "_getattr_": _getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplacevar,
        **limits.GUARDS,  # _apply_, _tick_, _binop_, … and a print() that discards
    }


_PRIVATE_FIELD = re.compile(r"\{[^{}]*[.\[]_")


class _Checker(ast.NodeVisitor):
    """What RestrictedPython lets through but we never want in a model."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def visit_Import(self, node: ast.AST) -> None:
        self.errors.append(f"line {node.lineno}: import is not allowed")

    visit_ImportFrom = visit_Import

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES:
            self.errors.append(f"line {node.lineno}: {node.id!r} is not allowed")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in ("format", "format_map") and isinstance(node.value, ast.Name) \
                and node.value.id == "str":
            self.errors.append(f"line {node.lineno}: str.{node.attr} is not allowed")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("format", "format_map") \
                and isinstance(func.value, ast.Constant) and isinstance(func.value.value, str) \
                and _PRIVATE_FIELD.search(func.value.value):
            self.errors.append(f"line {node.lineno}: format fields must not access names starting with '_'")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.errors.append(f"line {node.lineno}: class definitions are not allowed")

    def visit_Global(self, node: ast.AST) -> None:
        self.errors.append(f"line {node.lineno}: global/nonlocal is not allowed")

    visit_Nonlocal = visit_Global
    visit_AsyncFunctionDef = visit_ClassDef  # type: ignore[assignment]


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> CodeType | str:
    """Code object, or the error message (cached either way: the same cells run often)."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if source is None or not str(source).strip():
        return "empty expression" if mode == "eval" else compile("", "<script>", "exec")
    # modeler XML often indents the whole script; keep line numbers, drop the margin
    source = source.strip() if mode == "eval" else textwrap.dedent(source)
    try:
        tree = ast.parse(source, "<script>", mode)
    except SyntaxError as exc:  # Spiff's formatter crashes on lineno None: keep it a string
        return f"syntax error at line {exc.lineno or 1}: {exc.msg}"
    checker = _Checker()
    checker.visit(tree)
    if checker.errors:
        return "; ".join(checker.errors)
    result = (compile_restricted_eval if mode == "eval" else compile_restricted_exec)(
        source, "<script>", policy=limits.BoundedTransformer)
    if result.errors:
        return "; ".join(result.errors)
    return result.code


def check_source(source: str, mode: str) -> str | None:
    """The reason ``source`` would be rejected (``mode`` 'eval' or 'exec'), else None."""
    code = _compile(source, mode)
    return code if isinstance(code, str) else None


def compile_checked(source: str, mode: str) -> CodeType:
    code = _compile(source, mode)
    if isinstance(code, str):
        raise ScriptRejected(code)
    return code


_PLAIN_SCALARS = (type(None), bool, int, float, str, Decimal, date, datetime, time, timedelta)


def is_plain(value: Any) -> bool:
    """Data that may live in task data (and survives the serializer)."""
    if isinstance(value, _PLAIN_SCALARS):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def _droppable(value: Any) -> bool:
    """Script-local functions (and lambdas) vanish silently, as in Spiff."""
    return callable(value) and not isinstance(value, type)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Spiff script environment running everything through RestrictedPython."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None):
        env: dict[str, Any] = {
            "date": date, "datetime": datetime, "timedelta": timedelta, "Decimal": Decimal,
            "today": today, "now": now,
        }
        env.update(helpers or {})
        for name in env:
            if name.startswith("_") or not name.isidentifier():
                raise ValueError(f"helper name {name!r} is not usable in scripts")
        self.helpers = env
        super().__init__({**_guards(), **env})

    def _namespace(self, context: Mapping, external_context: Mapping | None) -> dict[str, Any]:
        namespace = dict(context)
        namespace.update(external_context or {})
        namespace.update(self.globals)
        return namespace

    def evaluate(self, expression: str, context: dict, external_context: Mapping | None = None) -> Any:
        code = compile_checked(expression, "eval")
        with limits.budget():
            return eval(code, self._namespace(context, external_context))

    def execute(self, script: str, context: dict, external_context: Mapping | None = None) -> bool:
        code = compile_checked(script, "exec")
        namespace = self._namespace(context, external_context)
        with limits.budget():
            exec(code, namespace)
        self._copy_back(namespace, context, external_context or {})
        return True

    def _copy_back(self, namespace: dict, context: dict, external: Mapping) -> None:
        updates: dict[str, Any] = {}
        for key, value in namespace.items():
            if key.startswith("_"):
                continue
            if key in self.globals:
                if value is not self.globals[key]:
                    raise ScriptRejected(f"{key!r} is a helper name and cannot be assigned")
                continue
            if key in external and value is external[key]:
                continue
            if _droppable(value):
                continue
            if not is_plain(value):
                raise ScriptRejected(
                    f"variable {key!r} holds a {type(value).__name__}, which cannot be stored in "
                    "task data (use plain values: numbers, strings, dates, lists, dicts with string keys)")
            updates[key] = value
        for key in [k for k in context if k not in namespace]:  # `del x` in the script
            del context[key]
        context.update(updates)

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service tasks are not run by the script environment")


def _reason(err: BaseException) -> str:
    return str(err) if isinstance(err, (ScriptRejected, BudgetExceeded)) else f"{type(err).__name__}: {err}"


class RestrictedScriptEngine(PythonScriptEngine):
    """Keeps the cause in the message: Spiff's own wrapper drops it for expressions and
    crashes (TypeError) on exceptions whose first argument is not a string."""

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Error evaluating expression '{expression}': {_reason(err)}",
                                        task=task, exception=err) from err

    def create_task_exec_exception(self, task, script, err):
        if isinstance(err, SpiffWorkflowException):
            return super().create_task_exec_exception(task, script, err)
        line_number, error_line = self._line_of(script, err)
        wte = WorkflowTaskException(_reason(err), task=task, exception=err,
                                    line_number=line_number, error_line=error_line)
        wte.__cause__ = err
        return wte

    @staticmethod
    def _line_of(script: str, err: BaseException) -> tuple[int, str]:
        line = 0
        for frame in traceback.extract_tb(err.__traceback__):
            if frame.filename == "<script>":
                line = frame.lineno or 0
        lines = script.splitlines()
        return line, (lines[line - 1] if 0 < line <= len(lines) else "")

    def call_service(self, task, **kwargs):
        raise WorkflowTaskException("service tasks are not supported by the script engine", task=task)


def make_script_engine(helpers: Mapping[str, Callable[..., Any]]) -> PythonScriptEngine:
    """A Spiff script engine whose every expression and script is restricted."""
    return RestrictedScriptEngine(environment=RestrictedEnvironment(helpers))
