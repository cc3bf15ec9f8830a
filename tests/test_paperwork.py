"""文书 rendering without the engine: amounts in capitals, templates, PDF conversion."""
import re
import io
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import pytest

from paperwork import amounts, pdf, render, templates
from tests.documentwork import pdf_text

ROOT = Path(__file__).resolve().parents[1]


def make_docx(*lines: str) -> bytes:
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("value, expected", [
    (50000, "伍万元整"), ("150000.00", "壹拾伍万元整"), (1005, "壹仟零伍元整"), (100010, "壹拾万零壹拾元整"),
    (10000001, "壹仟万零壹元整"), (120000000, "壹亿贰仟万元整"), ("12345.6", "壹万贰仟叁佰肆拾伍元陆角"),
    ("1010101.01", "壹佰零壹万零壹佰零壹元零壹分"), ("0.05", "伍分"), (0, "零元整"), ("4,999.99", "肆仟玖佰玖拾玖元玖角玖分"),
])
def test_amounts_in_chinese_capitals(value, expected):
    assert amounts.capitals(value) == expected


def test_amounts_that_are_not_amounts_are_refused():
    with pytest.raises(ValueError):
        amounts.capitals("五万")
    with pytest.raises(ValueError):
        amounts.capitals(-1)
    assert amounts.figures(50000) == "50,000.00"


def test_a_party_name_with_markup_characters_prints_as_typed():
    template = make_docx("当事人：{{ party_name }}；罚款{{ fine|yuan }}元（{{ fine|capitals }}）；{{ day|cn_date }}；{{ absent }}")
    out = render.render(template, {"party_name": "A&B<有限>公司", "fine": "5000", "day": "2026-09-30"})
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(out)).paragraphs)
    assert "当事人：A&B<有限>公司" in text
    assert "罚款5,000.00元（伍仟元整）；2026年9月30日" in text
    assert render.BLANK in text  # a value not entered yet is a line to fill in


def test_template_syntax_errors_and_unknown_filters_are_reported():
    assert render.placeholders(make_docx("{{ a }} {{ b|yuan }}")) == {"a", "b"}
    with pytest.raises(render.TemplateInvalid, match="占位符语法错误"):
        render.placeholders(make_docx("{{ a |}}"))
    with pytest.raises(render.TemplateInvalid, match="占位符语法错误"):
        render.placeholders(make_docx("{{ a|shout }}"))
    with pytest.raises(render.TemplateInvalid, match="不是有效的 Word 文档"):
        render.placeholders(b"not a zip")


def test_templates_cannot_reach_python_internals():
    template = make_docx("{{ party_name.__class__.__mro__ }}")
    with pytest.raises(render.TemplateInvalid):
        render.render(template, {"party_name": "x"})


PROCESSES = {re.search(r'<bpmn:process id="(\w+)"', p.read_text(encoding="utf-8")).group(1)
             for p in (ROOT / "bpmn").glob("*.bpmn")}


def test_every_committed_template_names_its_title_and_process():
    found = templates.read_paths([ROOT / "documents"])
    assert len(found) >= 18
    for template in found:
        info = templates.particulars(template.content)
        assert info.title and info.process in PROCESSES, template.name


def test_pdf_conversions_run_side_by_side_with_chinese_fonts():
    documents = [render.render(make_docx("行政处罚决定书 第{{ n }}号"), {"n": n}) for n in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(pdf.to_pdf, documents))
    for n, data in enumerate(results):
        assert data.startswith(b"%PDF")
        assert f"行政处罚决定书第{n}号" in pdf_text(data)
    fonts = subprocess.run(["pdffonts", "-"], input=results[0], capture_output=True).stdout.decode()
    assert "NotoSerifCJK" in fonts or "NotoSansCJK" in fonts


def test_a_conversion_that_takes_too_long_is_stopped_with_a_chinese_message():
    with pytest.raises(pdf.PdfError, match="生成 PDF 超时"):
        pdf.to_pdf(make_docx("x"), timeout=0.01)


def test_a_server_without_libreoffice_says_what_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pdf.PdfError, match="未安装 LibreOffice"):
        pdf.to_pdf(make_docx("x"))
