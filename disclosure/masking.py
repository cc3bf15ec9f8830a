"""Personal data hidden from what the public site shows (行政处罚法 第48条: 公开 … 依法保护个人信息;
生态环境行政处罚办法 (2023) 第62—64条: what a published decision contains and what is hidden).

Hidden: a natural person's given name (李某某 keeps the surname), 身份证号码, telephone numbers,
a natural person's home address, bank account numbers. An organisation's name, 统一社会信用代码
and address are published (they are part of the decision the law says to publish).
``leaks`` is the same rule turned into a check: publishing refuses text it flags.
"""
from __future__ import annotations

import re
from typing import Iterable

# Two-character surnames; any other name keeps its first character.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 澹台 端木 独孤 南宫 西门 呼延 "
    "轩辕 万俟 百里 东郭 钟离 赫连 申屠 太史 闻人 公冶 濮阳 淳于 单于 仲孙 羊舌 微生 梁丘 左丘 拓跋 谷梁 段干".split())

_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
ID_NUMBER = re.compile(_NOT_ALNUM_BEFORE + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
                       + _NOT_ALNUM_AFTER)
MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[- ]\d{7,8}(?!\d)")
BANK_ACCOUNT = re.compile(r"(?<!\d)(?:\d{16,19}|\d{4}(?: \d{4}){3}(?: \d{1,4})?)(?!\d)")

ID_HIDDEN = "[身份证号码已隐去]"
PHONE_HIDDEN = "[电话号码已隐去]"
BANK_HIDDEN = "[银行账号已隐去]"
ADDRESS_HIDDEN = "[住址已隐去]"


def mask_name(name: str | None) -> str:
    """李四 → 李某某; 欧阳修 → 欧阳某某."""
    name = (name or "").strip()
    if not name:
        return ""
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES else name[0]
    return surname + "某某"


def mask_text(text: str | None, names: Iterable[str] = (), addresses: Iterable[str] = (),
              phones_allowed: Iterable[str] = ()) -> str:
    """Hide the given persons' names and addresses wherever they occur, then every ID number,
    telephone number and bank account the patterns find. ``phones_allowed``: the bureau's own
    service numbers, which stay."""
    out = text or ""
    for address in sorted({a.strip() for a in addresses if a and a.strip()}, key=len, reverse=True):
        out = out.replace(address, ADDRESS_HIDDEN)
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        if len(name) >= 2:  # a name like 王某 is already a prefix of its mask 王某某: leave masks alone
            out = re.sub(re.escape(name) + "(?!某)", mask_name(name), out)
    out = ID_NUMBER.sub(ID_HIDDEN, out)
    allowed = set(phones_allowed)
    out = MOBILE.sub(lambda m: m.group(0) if m.group(0) in allowed else PHONE_HIDDEN, out)
    out = LANDLINE.sub(lambda m: m.group(0) if m.group(0) in allowed else PHONE_HIDDEN, out)
    return BANK_ACCOUNT.sub(BANK_HIDDEN, out)


def leaks(text: str, names: Iterable[str] = (), addresses: Iterable[str] = (),
          phones_allowed: Iterable[str] = ()) -> list[str]:
    """What in ``text`` would be personal data on the public site, as Chinese descriptions."""
    found = []
    if ID_NUMBER.search(text):
        found.append("身份证号码")
    allowed = set(phones_allowed)
    if any(m.group(0) not in allowed for m in (*MOBILE.finditer(text), *LANDLINE.finditer(text))):
        found.append("电话号码")
    if BANK_ACCOUNT.search(text):
        found.append("银行账号")
    found += [f"自然人姓名“{n}”" for n in names
              if n and len(n.strip()) >= 2 and re.search(re.escape(n.strip()) + "(?!某)", text)]
    found += ["自然人住址" for a in addresses if a and a.strip() and a.strip() in text][:1]
    return found
