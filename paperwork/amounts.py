"""Amounts of money as 文书 print them: figures (50,000.00元) and Chinese capitals
(人民币伍万元整), the form the Ministry's model texts use for fines, costs and budgets."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ["", "拾", "佰", "仟"]
_BIG_UNITS = ["", "万", "亿", "万亿"]


def to_decimal(value) -> Decimal:
    """The amount as a Decimal rounded to fen; ValueError for what is not an amount."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, TypeError):
        raise ValueError(f"“{value}”不是金额") from None
    if not amount.is_finite():
        raise ValueError(f"“{value}”不是金额")
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _four_digits(n: int) -> str:
    """0 < n < 10000 in capitals, zeros between digits read once (壹仟零伍)."""
    text, zero = "", False
    for position in range(3, -1, -1):
        digit = n // 10 ** position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[digit] + _SMALL_UNITS[position]
    return text


def _integer(n: int) -> str:
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    if len(groups) > len(_BIG_UNITS):
        raise ValueError("金额过大")
    text, pending_zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or group < 1000):
            text += "零"
        text += _four_digits(group) + _BIG_UNITS[index]
        pending_zero = False
    return text


def capitals(value) -> str:
    """人民币 capitals as on a 决定书: 50000 → 伍万元整, 12345.6 → 壹万贰仟叁佰肆拾伍元陆角,
    0.05 → 伍分, 0 → 零元整."""
    amount = to_decimal(value)
    if amount < 0:
        raise ValueError("金额不能为负数")
    fen = int(amount * 100)
    yuan, jiao, fen = fen // 100, fen // 10 % 10, fen % 10
    text = _integer(yuan) + "元" if yuan else ""
    if not jiao and not fen:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text


def figures(value) -> str:
    """50000 → 50,000.00 (the figure printed beside the capitals)."""
    return f"{to_decimal(value):,.2f}"
