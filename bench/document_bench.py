#!/usr/bin/env python
"""How long a 行政处罚决定书 takes to become a PDF.

    .venv/bin/python bench/document_bench.py [--runs N] [--concurrent 10]

Fills documents/penalty.decision.docx with a full case (docxtpl), converts it with
LibreOffice headless exactly as 签发 does (paperwork.pdf: a fresh user profile per
conversion, the CJK font aliases), N times one after the other (median and p95 of
render + conversion), then ``--concurrent`` conversions at once from as many threads
(as several gunicorn workers would): the wall time for all of them and each one's
median. Prints the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.spec.forms import Field  # noqa: E402
from paperwork import context, pdf, render  # noqa: E402

TEMPLATE = Path(__file__).resolve().parents[1] / "documents" / "penalty.decision.docx"
CASE = {
    "party_name": "鲁山县某某化工有限公司", "party_type": "organization", "credit_code": "91410423MA0000000X",
    "legal_rep": "张三", "party_address": "鲁山县城关镇工业路8号",
    "violation_facts": "2026年3月5日通过暗管向沙河排放未经处理的生产废水，化学需氧量浓度超过排放标准2.3倍。",
    "evidence_list": "1. 现场检查（勘察）笔录；\n2. 调查询问笔录；\n3. 监测报告；\n4. 现场照片12张。",
    "legal_basis": "《中华人民共和国水污染防治法》第三十九条、第八十三条第（三）项",
    "penalty_kind": "fine", "fine_amount": "150000", "decision_date": "2026-04-20", "hearing_right": True,
}


def one(n: int) -> float:
    started = time.perf_counter()
    fields = [Field("penalty_kind", "处罚种类", "enum", options=[("fine", "罚款")])]
    ctx = context.build(CASE, fields, case_no="鲁环罚〔2026〕第007号", doc_no=f"鲁环罚决字〔2026〕第{n:03d}号",
                        issued_on=date(2026, 4, 20))
    data = pdf.to_pdf(render.render(TEMPLATE.read_bytes(), ctx))
    assert data.startswith(b"%PDF")
    return (time.perf_counter() - started) * 1000


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=10)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    one(0)  # warm the page cache
    sequential = [one(n) for n in range(args.runs)]
    print(f"one 决定书 → PDF, {args.runs} runs: median {statistics.median(sequential):.0f} ms, "
          f"p95 {p95(sequential):.0f} ms")
    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrent) as pool:
        each = list(pool.map(one, range(args.concurrent)))
    wall = (time.perf_counter() - started) * 1000
    print(f"{args.concurrent} at once: all done in {wall:.0f} ms; each median {statistics.median(each):.0f} ms, "
          f"max {max(each):.0f} ms")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
