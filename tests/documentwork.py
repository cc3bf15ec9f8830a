"""Reading generated 文书 back: python-docx for the .docx, pdftotext for the PDF."""
import io
import re
import subprocess

import docx


def pdf_text(data: bytes) -> str:
    """The PDF's text without whitespace (pdftotext spaces CJK from figures and wraps lines)."""
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return re.sub(r"\s+", "", out)


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text without whitespace."""
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return [re.sub(r"\s+", "", page) for page in out.split("\f")[:-1]]


def pdf_layout(data: bytes, page: int) -> str:
    """One page's text laid out as printed (table rows on their lines)."""
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), "-", "-"], input=data,
                          capture_output=True, check=True).stdout.decode()


def docx_text(data: bytes) -> str:
    """Paragraphs, table cells and footers of a .docx, without whitespace."""
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [c.text for t in document.tables for r in t.rows for c in r.cells]
    parts += [p.text for s in document.sections for p in s.footer.paragraphs]
    return re.sub(r"\s+", "", "".join(parts))
