"""Case numbers (business keys) and document numbers (文号), one counter per scheme and year.

A scheme is a code mapped to a ``str.format`` pattern with ``{year}`` and ``{seq}``
(e.g. ``{seq:03d}``), both required so that numbers never repeat. Codes are process
keys for case numbers (``penalty``) and ``<process>.<document>`` for documents
(``penalty.decision``). Defaults below follow the verified 鲁山 pattern
鲁环罚决字[2021]第033号 (research/law.md §9.2), with 六角括号 〔〕 for the year
(GB/T 9704-2012); the "决字/告字" marker is kept because bare "鲁环罚〔…〕" is
Shandong's pattern.

Configuration: ``ZHIFA_NUMBERING_FILE`` may name a UTF-8 JSON object ``{code: pattern}``
merged over the defaults (a ``null`` pattern removes a default). The key ``"*"``
overrides the fallback for process keys without a scheme, ``{KEY}-{year}-{seq:05d}``
(``{KEY}`` = the upper-cased process key). The file is read once; call
:func:`reload_schemes` after changing it.

Counters live in ``sequences`` (name = scheme code, year). :func:`next_number` upserts
and increments the row with ``UPDATE … RETURNING`` inside the caller's write
transaction: PostgreSQL row-locks it until commit, SQLite's BEGIN IMMEDIATE serializes
writers; a rolled-back transaction gives its number back, so there are no gaps.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from sqlalchemy.orm import Session

from engine.store.counters import increment
from workdays.calendar import DateLike, as_date, today

FALLBACK = "*"

DEFAULT_SCHEMES: dict[str, str] = {
    # case numbers, one per process (the business key of a new instance)
    "penalty": "鲁环罚立字〔{year}〕第{seq:03d}号",               # 立案 of a 行政处罚 case
    "permit": "鲁环审受字〔{year}〕第{seq:03d}号",                # 受理 (the 受理通知书 carries it)
    "inspection": "鲁环检字〔{year}〕第{seq:03d}号",              # 行政检查 (双随机/投诉/专项)
    "coercion_substitute": "鲁环代履字〔{year}〕第{seq:03d}号",   # 行政强制 · 代履行
    "coercion_seizure": "鲁环查扣字〔{year}〕第{seq:03d}号",      # 行政强制 · 查封扣押
    "records_access": "鲁环调阅字〔{year}〕第{seq:03d}号",        # 行政执法记录信息调阅
    # documents
    "penalty.notice": "鲁环罚告字〔{year}〕第{seq:03d}号",        # 行政处罚事先（听证）告知书
    "penalty.hearing": "鲁环罚听字〔{year}〕第{seq:03d}号",       # 听证通知书
    "penalty.decision": "鲁环罚决字〔{year}〕第{seq:03d}号",      # 行政处罚决定书
    "penalty.no_penalty": "鲁环不罚字〔{year}〕第{seq:03d}号",    # 不予行政处罚决定书
    "penalty.preservation": "鲁环先保字〔{year}〕第{seq:03d}号",  # 先行登记保存证据通知书
    "penalty.demand": "鲁环罚催字〔{year}〕第{seq:03d}号",        # 督促履行义务催告书
    "penalty.enforce": "鲁环强执申字〔{year}〕第{seq:03d}号",     # 强制执行申请书
    "correction": "鲁环责改字〔{year}〕第{seq:03d}号",            # 责令改正违法行为决定书
    "permit.supplement": "鲁环审补字〔{year}〕第{seq:03d}号",     # 补正材料通知书
    "permit.rejection": "鲁环审不受字〔{year}〕第{seq:03d}号",    # 不予受理决定书
    "permit.approval": "鲁环审字〔{year}〕第{seq:03d}号",         # 准予行政许可决定书 / 批复
    "permit.denial": "鲁环审不许字〔{year}〕第{seq:03d}号",       # 不予行政许可决定书
    "coercion.demand": "鲁环强催字〔{year}〕第{seq:03d}号",       # 催告书 (行政强制法 art. 35)
    "coercion.substitute": "鲁环代履决字〔{year}〕第{seq:03d}号", # 代履行决定书 (art. 51)
    "coercion.seizure": "鲁环查扣决字〔{year}〕第{seq:03d}号",    # 查封（扣押）决定书 (art. 24)
    "coercion.release": "鲁环解查扣字〔{year}〕第{seq:03d}号",    # 解除查封（扣押）决定书
    FALLBACK: "{KEY}-{year}-{seq:05d}",
}


class UnknownScheme(LookupError):
    def __init__(self, scheme: str):
        self.scheme = scheme
        super().__init__(f"未配置编号规则“{scheme}”，请在编号配置中添加 (unknown numbering scheme {scheme!r})")


def _check(code: str, pattern: str) -> None:
    if "{year" not in pattern or "{seq" not in pattern:
        raise ValueError(f"编号规则“{code}”必须含有 {{year}} 和 {{seq}}: {pattern!r}")
    pattern.format(year=2026, seq=1, KEY="KEY")  # raises on unknown fields or bad specs


def load_schemes(env: dict[str, str] | None = None) -> dict[str, str]:
    """Defaults merged with the JSON file named by ``ZHIFA_NUMBERING_FILE``, validated."""
    env = os.environ if env is None else env
    merged = dict(DEFAULT_SCHEMES)
    path = env.get("ZHIFA_NUMBERING_FILE")
    if path:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object {{code: pattern}}")
        for code, pattern in data.items():
            if pattern is None:
                merged.pop(code, None)
            else:
                merged[code] = str(pattern)
    seen: dict[str, str] = {}
    for code, pattern in merged.items():
        if len(code) > 100:
            raise ValueError(f"numbering scheme code too long: {code!r}")
        _check(code, pattern)
        # Two schemes printing the same number would repeat numbers across counters.
        sample = pattern.format(year=2026, seq=1, KEY=code.upper())
        if sample in seen:
            raise ValueError(f"编号规则“{code}”与“{seen[sample]}”会产生相同的编号: {sample}")
        seen[sample] = code
    return merged


_lock = threading.Lock()
_schemes: dict[str, str] | None = None


def schemes() -> dict[str, str]:
    global _schemes
    if _schemes is None:
        with _lock:
            if _schemes is None:
                _schemes = load_schemes()
    return _schemes


def reload_schemes() -> dict[str, str]:
    global _schemes
    with _lock:
        _schemes = load_schemes()
    return _schemes




def _year(when: DateLike | None) -> int:
    return (as_date(when) if when is not None else today()).year


def next_number(session: Session, scheme: str, when: DateLike | None = None) -> str:
    """The next number of ``scheme`` for the year of ``when`` (default: today in Shanghai).
    Call inside ``db.transaction()``; the number is final once that transaction commits."""
    pattern = schemes().get(scheme)
    if pattern is None or scheme == FALLBACK:
        raise UnknownScheme(scheme)
    year = _year(when)
    return pattern.format(year=year, seq=increment(session, scheme, year), KEY=scheme.upper())


def case_number(session: Session, process_key: str, when: DateLike | None = None) -> str:
    """Business key of a new case of ``process_key``; processes without a scheme get the
    fallback pattern (counter named after the process key)."""
    table = schemes()
    if process_key in table and process_key != FALLBACK:
        return next_number(session, process_key, when)
    if not process_key or len(process_key) > 100:
        raise ValueError(f"bad process key {process_key!r}")
    year = _year(when)
    seq = increment(session, process_key, year)
    return table[FALLBACK].format(year=year, seq=seq, KEY=process_key.upper())
