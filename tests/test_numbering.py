"""Case and document numbers on a real database (SQLite, or PostgreSQL with ZHIFA_DATABASE_URL)."""
from __future__ import annotations

import json
import re
import threading
from datetime import date

import pytest

from engine.store.models import Sequence
from paperwork import numbering
from paperwork.numbering import UnknownScheme, case_number, next_number


@pytest.fixture(autouse=True)
def _default_schemes(monkeypatch):
    monkeypatch.delenv("ZHIFA_NUMBERING_FILE", raising=False)
    numbering.reload_schemes()
    yield
    monkeypatch.delenv("ZHIFA_NUMBERING_FILE", raising=False)
    numbering.reload_schemes()


def _seq(number: str) -> int:
    return int(re.search(r"第(\d+)号", number).group(1))


def test_document_numbers_per_type_and_year(db):
    with db.transaction() as s:
        assert next_number(s, "penalty.decision", date(2026, 3, 2)) == "鲁环罚决字〔2026〕第001号"
        assert next_number(s, "penalty.decision", "2026-05-01") == "鲁环罚决字〔2026〕第002号"
        assert next_number(s, "penalty.notice", date(2026, 3, 2)) == "鲁环罚告字〔2026〕第001号"
        assert next_number(s, "correction", date(2026, 3, 2)) == "鲁环责改字〔2026〕第001号"
        # A new year starts again at 001.
        assert next_number(s, "penalty.decision", date(2027, 1, 4)) == "鲁环罚决字〔2027〕第001号"
    with db.transaction() as s:
        assert next_number(s, "penalty.decision", date(2026, 12, 31)) == "鲁环罚决字〔2026〕第003号"
        assert s.get(Sequence, ("penalty.decision", 2026)).value == 3


def test_case_numbers_and_fallback(db):
    with db.transaction() as s:
        assert case_number(s, "penalty", date(2026, 3, 2)) == "鲁环罚立字〔2026〕第001号"
        assert case_number(s, "permit", date(2026, 3, 2)) == "鲁环审受字〔2026〕第001号"
        assert case_number(s, "records_access", date(2026, 3, 2)) == "鲁环调阅字〔2026〕第001号"
        assert case_number(s, "training_drill", date(2026, 3, 2)) == "TRAINING_DRILL-2026-00001"   # no scheme
        assert case_number(s, "training_drill", date(2026, 3, 2)) == "TRAINING_DRILL-2026-00002"
        assert next_number(s, "inspection", date(2026, 3, 2)).startswith("鲁环检字〔2026〕")


def test_default_year_is_today_in_shanghai(db):
    from workdays.calendar import today
    with db.transaction() as s:
        assert f"〔{today().year}〕" in next_number(s, "penalty.decision")


def test_unknown_scheme_is_a_clear_error(db):
    with db.transaction() as s:
        with pytest.raises(UnknownScheme, match="penalty.nonsense"):
            next_number(s, "penalty.nonsense")
        with pytest.raises(UnknownScheme):
            next_number(s, "*")


def test_rolled_back_transaction_gives_its_number_back(db):
    with pytest.raises(RuntimeError):
        with db.transaction() as s:
            assert _seq(next_number(s, "penalty.decision", date(2026, 3, 2))) == 1
            raise RuntimeError("the task failed after numbering")
    with db.transaction() as s:
        assert _seq(next_number(s, "penalty.decision", date(2026, 3, 2))) == 1


@pytest.mark.parametrize("existing", [False, True], ids=["new-row", "existing-row"])
def test_concurrent_numbers_have_no_gaps_or_repeats(db, existing):
    if existing:  # the counter row exists already: only the UPDATE path contends
        with db.transaction() as s:
            next_number(s, "penalty.decision", date(2026, 3, 2))
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                with db.transaction() as s:
                    number = next_number(s, "penalty.decision", date(2026, 3, 2))
                with lock:
                    results.append(number)
        except BaseException as e:  # surfaced below
            errors.append(e)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors, errors
    first = 2 if existing else 1
    assert sorted(_seq(n) for n in results) == list(range(first, first + threads * per_thread))


def test_json_file_overrides_defaults(db, tmp_path, monkeypatch):
    path = tmp_path / "numbering.json"
    path.write_text(json.dumps({
        "penalty.decision": "豫0423环罚决字〔{year}〕{seq}号",
        "correction": None,
        "*": "{KEY}{year}{seq:04d}",
    }, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("ZHIFA_NUMBERING_FILE", str(path))
    numbering.reload_schemes()
    with db.transaction() as s:
        assert next_number(s, "penalty.decision", date(2026, 3, 2)) == "豫0423环罚决字〔2026〕1号"
        assert next_number(s, "penalty.notice", date(2026, 3, 2)) == "鲁环罚告字〔2026〕第001号"
        assert case_number(s, "hr", date(2026, 3, 2)) == "HR20260001"
        with pytest.raises(UnknownScheme):
            next_number(s, "correction")


@pytest.mark.parametrize("bad", [
    {"x": "鲁环罚决字〔2026〕第{seq:03d}号"},           # no {year}: would repeat yearly
    {"x": "鲁环罚决字〔{year}〕第{other}号"},           # unknown field, no {seq}
    {"x": "鲁环罚决字〔{year}〕第{seq:03d}号"},         # same numbers as penalty.decision
])
def test_bad_configuration_is_rejected(bad, tmp_path):
    path = tmp_path / "numbering.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError):
        numbering.load_schemes({"ZHIFA_NUMBERING_FILE": str(path)})
