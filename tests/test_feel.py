"""FEEL unary tests and literals, as Camunda Modeler writes them, to Python."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.sandbox.feel import FeelError, bind_input, input_entry, literal_list, output_entry
from engine.sandbox.scripting import check_source, make_script_engine

ENV = make_script_engine({}).environment


def matches(cell: str, value, data: dict | None = None) -> bool:
    python = input_entry(cell)
    if python is None:
        return True
    code = bind_input(python)
    assert check_source(code, "eval") is None, code
    return bool(ENV.evaluate(code, dict(data or {}), {"dmninputexpr": value}))


@pytest.mark.parametrize("cell, python", [
    ("[5000..50000)", "5000 <= ? < 50000"),
    ("[1..5]", "1 <= ? <= 5"),
    ("(1..5)", "1 < ? < 5"),
    ("]1..5[", "1 < ? < 5"),
    ("(1..5]", "1 < ? <= 5"),
    ('"a","b"', "(? == 'a') or (? == 'b')"),
    ('not("x")', "not (? == 'x')"),
    ('not("a", "b")', "not ((? == 'a') or (? == 'b'))"),
    ("not([1..5])", "not (1 <= ? <= 5)"),
    ("< 10", "? < 10"),
    (">= 5000", "? >= 5000"),
    ("<= 5", "? <= 5"),
    ("> 5", "? > 5"),
    ("= 5", "? == 5"),
    ('!= "x"', "? != 'x'"),
    ("< 10, > 100", "(? < 10) or (? > 100)"),
    ("true", "? is True"),
    ("false", "? is False"),
    ("null", "? is None"),
    ("= null", "? is None"),
    ("!= null", "? is not None"),
    ('date("2026-01-01")', "? == date(2026, 1, 1)"),
    ('>= date("2026-01-01")', "? >= date(2026, 1, 1)"),
    ('[date("2026-01-01")..date("2026-12-31")]', "date(2026, 1, 1) <= ? <= date(2026, 12, 31)"),
    ('"individual"', "? == 'individual'"),
    ("'individual'", "? == 'individual'"),
    ('"a,b"', "? == 'a,b'"),
    ('"x..y"', "? == 'x..y'"),
    ("5000", "? == 5000"),
    ("4999.99", "? == Decimal('4999.99')"),
    ("-5", "? == -5"),
    ("< -5.5", "? < -Decimal('5.5')"),
    ("other_var", "? == other_var"),
    ("party.type", "? == party['type']"),
    ("[limit..limit * 2]", "limit <= ? <= limit * 2"),
    ("< today()", "? < today()"),
    ("? >= 5000 and ? < 50000", "? >= 5000 and ? < 50000"),  # Spiff style passes through
    ("-", None),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_input_entry_translation(cell, python):
    assert input_entry(cell) == python


@pytest.mark.parametrize("cell, value, expected", [
    # >= 5000 with money as Decimal: the inclusive boundary
    (">= 5000", Decimal("4999.99"), False),
    (">= 5000", Decimal("5000"), True),
    (">= 5000", Decimal("5000.00"), True),
    (">= 5000", 5000, True),
    ("< 5000", Decimal("4999.99"), True),
    ("< 5000", Decimal("5000.00"), False),
    ("[5000..50000)", Decimal("4999.99"), False),
    ("[5000..50000)", Decimal("5000"), True),
    ("[5000..50000)", Decimal("49999.99"), True),
    ("[5000..50000)", Decimal("50000"), False),
    ("[5000..50000]", Decimal("50000"), True),
    ("(5000..50000]", Decimal("5000"), False),
    ("]5000..50000[", Decimal("5000"), False),
    ("]5000..50000[", Decimal("5000.01"), True),
    ("<= 4999.99", Decimal("4999.99"), True),
    ("<= 4999.99", Decimal("5000"), False),
    ("= 4999.99", Decimal("4999.99"), True),
    ('"citizen","organization"', "organization", True),
    ('"citizen","organization"', "other", False),
    ('not("citizen")', "organization", True),
    ('not("citizen")', "citizen", False),
    ('not("a","b")', "b", False),
    ("< 10, > 100", 5, True),
    ("< 10, > 100", 50, False),
    ("< 10, > 100", 101, True),
    ("true", True, True),
    ("true", 1, False),
    ("false", False, True),
    ("null", None, True),
    ("null", 0, False),
    ('date("2026-01-01")', date(2026, 1, 1), True),
    ('>= date("2026-01-01")', date(2025, 12, 31), False),
    ("-", "anything", True),
    ("", None, True),
    ('"a?b"', "a?b", True),
])
def test_input_entry_semantics(cell, value, expected):
    assert matches(cell, value) is expected


def test_names_in_cells_read_task_data():
    assert matches("[limit..limit * 2]", 150, {"limit": 100})
    assert not matches("[limit..limit * 2]", 201, {"limit": 100})
    assert matches("party.type", "org", {"party": {"type": "org"}})


@pytest.mark.parametrize("cell", [
    "in (1, 2)", "between 1 and 5", 'starts with("a")', "x y", "[1..5", "1..5]",
    "foo()", "__class__", "a.__class__", "{1: 2}", "< ", "not(", 'date("2026-02-30")',
    '"a" "b"', "not(-)", "[1..2..3]", "@", 'date and time("x")', "instance of string",
    "if a then b else c", "lambda: 1",
])
def test_unsupported_input_entries_raise(cell):
    with pytest.raises(FeelError):
        input_entry(cell)


@pytest.mark.parametrize("text, python", [
    ("true", "True"),
    ("false", "False"),
    ("null", "None"),
    ("True", "True"),
    ('"yes"', "'yes'"),
    ('"需要法制审核"', "'需要法制审核'"),
    ("5000", "5000"),
    ("0.5", "Decimal('0.5')"),
    ("-3", "-3"),
    ("fine_amount * 2", "fine_amount * 2"),
    ("(a + b) / 2", "(a + b) / 2"),
    ("a > 5 and b", "a > 5 and b"),
    ("a = 5", "a == 5"),
    ('date("2026-03-01")', "date(2026, 3, 1)"),
    ('date and time("2026-03-01T09:00:00")', "datetime.fromisoformat('2026-03-01T09:00:00')"),
    ("", "None"),
    (None, "None"),
])
def test_output_entry_translation(text, python):
    assert output_entry(text) == python
    assert check_source(python, "eval") is None


@pytest.mark.parametrize("text", ['{"a": 1}', "[1, 2]", "x.__class__", "foo(1)", "if a then 1 else 2", "a b"])
def test_unsupported_output_entries_raise(text):
    with pytest.raises(FeelError):
        output_entry(text)


def test_literal_list_and_bind_input():
    assert literal_list('"high","medium","low"') == ["'high'", "'medium'", "'low'"]
    assert literal_list("1, 2.5") == ["1", "Decimal('2.5')"]
    assert literal_list("") == []
    assert bind_input("\"a?\" == ? and ?>1") == "\"a?\" == (dmninputexpr) and (dmninputexpr)>1"
    assert bind_input("'?' == ?") == "'?' == (dmninputexpr)"


def test_feel_error_is_value_error():
    assert issubclass(FeelError, ValueError)
