"""FEEL as Camunda Modeler writes it in DMN cells, translated to Spiff-style Python.

Input entries are unary tests; the translation uses ``?`` for the input value, as
SpiffWorkflow's DMN engine does: ``[5000..50000)`` → ``5000 <= ? < 50000``. Output
entries and input expressions are FEEL expressions. Only a well-defined subset is
accepted; anything else raises ``FeelError`` rather than being guessed.

Numbers with a fraction become ``Decimal('4999.99')`` because money in task data is
``Decimal`` (a float literal would make ``Decimal('4999.99') <= 4999.99`` false).
"""
from __future__ import annotations

import ast
import keyword
import re
from datetime import date, datetime
from functools import lru_cache

INPUT_NAME = "dmninputexpr"  # what ``?`` is bound to when a cell is evaluated


class FeelError(ValueError):
    """A FEEL text outside the supported subset."""


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>\.\.|<=|>=|!=|==|[<>=,()\[\]+\-*/?.])
""", re.X)

_FEEL_RESERVED = {"between", "in", "instance", "of", "if", "then", "else", "for", "some",
                  "every", "satisfies", "function", "return"}
_LITERAL_NAMES = {"true": "True", "false": "False", "null": "None",
                  "True": "True", "False": "False", "None": "None"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise FeelError(f"unexpected character {text[pos]!r} in {text!r}")
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    # -- helpers
    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def at(self, value: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok[1] == value and tok[0] in ("op", "name")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise FeelError(f"unexpected end of {self.text!r}")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise FeelError(f"expected {value!r} but found {tok[1]!r} in {self.text!r}")

    def done(self) -> bool:
        return self.i >= len(self.toks)

    def fail(self, what: str) -> FeelError:
        return FeelError(f"{what} in {self.text!r}")

    # -- unary tests
    def unary_tests(self) -> str | None:
        if not self.toks or (len(self.toks) == 1 and self.toks[0] == ("op", "-")):
            return None
        if self.at("not") and self.at("(", 1):
            self.i += 2
            inner = self.positive_tests(closing=")")
            self.expect(")")
            if not self.done():
                raise self.fail("unexpected text after not(...)")
            return f"not ({inner})"
        return self.positive_tests()

    def positive_tests(self, closing: str | None = None) -> str:
        tests = [self.positive_test()]
        while self.at(","):
            self.i += 1
            tests.append(self.positive_test())
        if not (self.done() or (closing and self.at(closing))):
            raise self.fail(f"unexpected {self.peek()[1]!r}")
        return tests[0] if len(tests) == 1 else " or ".join(f"({t})" for t in tests)

    def positive_test(self) -> str:
        tok = self.peek()
        if tok is None:
            raise self.fail("missing test")
        if tok[1] in ("[", "]") and tok[0] == "op":
            return self.range()
        if tok == ("op", "("):
            start = self.i
            try:
                return self.range()
            except FeelError:
                self.i = start
        if tok[0] == "op" and tok[1] in ("<", "<=", ">", ">="):
            self.i += 1
            return f"? {tok[1]} {self.endpoint()}"
        if tok[0] == "op" and tok[1] in ("=", "==", "!="):
            self.i += 1
            value = self.endpoint()
            if value in ("None", "True", "False"):
                return f"? {'is not' if tok[1] == '!=' else 'is'} {value}"
            return f"? {'!=' if tok[1] == '!=' else '=='} {value}"
        value = self.endpoint()
        if value in ("None", "True", "False"):  # FEEL true matches true only, not 1
            return f"? is {value}"
        return f"? == {value}"

    def range(self) -> str:
        opening = self.take()[1]
        if opening not in ("[", "(", "]"):
            raise self.fail("expected a range")
        low = self.endpoint()
        self.expect("..")
        high = self.endpoint()
        closing = self.take()[1]
        if closing not in ("]", ")", "["):
            raise self.fail(f"a range must end with ']', ')' or '[', not {closing!r}")
        low_op = "<=" if opening == "[" else "<"
        high_op = "<=" if closing == "]" else "<"
        return f"{low} {low_op} ? {high_op} {high}"

    # -- expressions
    def endpoint(self) -> str:
        return self.additive()

    def expression(self) -> str:
        """A full FEEL expression (outputs, input expressions): or/and/comparison/arith."""
        left = self.conjunction()
        while self.at("or"):
            self.i += 1
            left = f"{left} or {self.conjunction()}"
        return left

    def conjunction(self) -> str:
        left = self.comparison()
        while self.at("and"):
            self.i += 1
            left = f"{left} and {self.comparison()}"
        return left

    def comparison(self) -> str:
        left = self.additive()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("=", "==", "!=", "<", "<=", ">", ">="):
            self.i += 1
            op = "==" if tok[1] == "=" else tok[1]
            return f"{left} {op} {self.additive()}"
        return left

    def additive(self) -> str:
        left = self.term()
        while self.peek() and self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = self.take()[1]
            left = f"{left} {op} {self.term()}"
        return left

    def term(self) -> str:
        left = self.unary()
        while self.peek() and self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            op = self.take()[1]
            left = f"{left} {op} {self.unary()}"
        return left

    def unary(self) -> str:
        if self.at("-"):
            self.i += 1
            return f"-{self.unary()}"
        return self.primary()

    def primary(self) -> str:
        kind, value = self.take()
        if kind == "num":
            return value if "." not in value else f"Decimal({value!r})"
        if kind == "str":
            return repr(ast.literal_eval(value))
        if kind == "op" and value == "(":
            inner = self.expression()
            self.expect(")")
            return f"({inner})"
        if kind == "name":
            return self.name(value)
        raise self.fail(f"unexpected {value!r}")

    def name(self, word: str) -> str:
        if word in _LITERAL_NAMES:
            return _LITERAL_NAMES[word]
        if word == "not" and self.at("("):
            self.i += 1
            inner = self.expression()
            self.expect(")")
            return f"(not {inner})"
        if word == "date" and self.at("and") and self.at("time", 1):
            self.i += 2
            return self.call("date and time")
        if word in _FEEL_RESERVED or keyword.iskeyword(word) or word.startswith("_"):
            raise self.fail(f"{word!r} is not supported")
        if self.at("("):
            return self.call(word)
        path = word
        while self.at(".") and self.peek(1) and self.peek(1)[0] == "name":
            key = self.toks[self.i + 1][1]
            if key.startswith("_"):
                raise self.fail(f"{key!r} is not supported")
            path += f"[{key!r}]"  # FEEL path on a dict: a.b → a['b']
            self.i += 2
        return path

    def call(self, function: str) -> str:
        self.expect("(")
        args: list[tuple[str, str]] = []
        while not self.at(")"):
            args.append(self.take())
            if self.at(","):
                self.i += 1
        self.expect(")")
        if function in ("today", "now") and not args:
            return f"{function}()"
        if function in ("date", "date and time") and len(args) == 1 and args[0][0] == "str":
            text = ast.literal_eval(args[0][1])
            try:
                if function == "date":
                    d = date.fromisoformat(text)
                    return f"date({d.year}, {d.month}, {d.day})"
                datetime.fromisoformat(text)
            except ValueError:
                raise self.fail(f"invalid {function} {text!r}") from None
            return f"datetime.fromisoformat({text!r})"
        if function == "date" and len(args) == 3 and all(a[0] == "num" and a[1].isdigit() for a in args):
            y, m, d = (int(a[1]) for a in args)
            try:
                date(y, m, d)
            except ValueError:
                raise self.fail("invalid date") from None
            return f"date({y}, {m}, {d})"
        raise self.fail(f"function {function}() with these arguments is not supported")


def _has_placeholder(text: str) -> bool:
    try:
        return any(tok == ("op", "?") for tok in _tokens(text))
    except FeelError:
        return "?" in text


@lru_cache(maxsize=4096)
def input_entry(text: str | None) -> str | None:
    """A unary-test cell as Python using ``?``; None means "any" (``-`` or empty).
    Cells already written Spiff-style (containing ``?``) pass through."""
    if text is None or not text.strip() or text.strip() == "-":
        return None
    if _has_placeholder(text):
        return text.strip()
    return _Parser(text.strip()).unary_tests()


def _expression(text: str) -> str:
    parser = _Parser(text.strip())
    result = parser.expression()
    if not parser.done():
        raise parser.fail(f"unexpected {parser.peek()[1]!r}")
    return result


@lru_cache(maxsize=4096)
def output_entry(text: str | None) -> str:
    """An output cell (FEEL literal or simple expression) as Python; empty → ``None``."""
    if text is None or not text.strip():
        return "None"
    return _expression(text)


def expression(text: str) -> str:
    """An input expression (usually a variable name) as Python."""
    if text is None or not text.strip():
        raise FeelError("empty input expression")
    return _expression(text)


def literal_list(text: str | None) -> list[str]:
    """``"high","medium","low"`` (outputValues/inputValues) as Python sources."""
    if text is None or not text.strip():
        return []
    parser = _Parser(text.strip())
    values = [parser.additive()]
    while parser.at(","):
        parser.i += 1
        values.append(parser.additive())
    if not parser.done():
        raise parser.fail(f"unexpected {parser.peek()[1]!r}")
    return values


def bind_input(cell: str, name: str = INPUT_NAME) -> str:
    """Replace ``?`` outside string literals by the input variable name."""
    out, i = [], 0
    while i < len(cell):
        ch = cell[i]
        if ch in "'\"":
            m = re.compile(r"%s(?:[^%s\\]|\\.)*%s" % (ch, ch, ch)).match(cell, i)
            j = m.end() if m else len(cell)
            out.append(cell[i:j])
            i = j
            continue
        out.append(f"({name})" if ch == "?" else ch)
        i += 1
    return "".join(out)


__all__ = ["FeelError", "INPUT_NAME", "input_entry", "output_entry", "expression",
           "literal_list", "bind_input"]
