"""文书 templates as files: what a .docx in documents/ is (its key, title and process) and
whether it can be deployed against that process's forms."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from docx import Document

from . import catalog, context, note_forms, render

SUFFIX = ".docx"


@dataclass
class TemplateFile:
    name: str        # file name as given (for messages)
    key: str         # file stem: penalty.decision
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class Particulars:
    title: str       # core property 标题 (title), e.g. 行政处罚决定书
    process: str     # core property 类别 (category): the key of the process whose data fills it
    text: str        # the template's text, for wording checks


def is_template(name: str) -> bool:
    return name.lower().endswith(SUFFIX) and not Path(name).name.startswith("~$")  # ~$ = Word's lock file


def from_file(name: str, content: bytes) -> TemplateFile:
    return TemplateFile(name=Path(name).name, key=Path(name).name[: -len(SUFFIX)], content=content)


def read_paths(paths) -> list[TemplateFile]:
    found = []
    for path in map(Path, paths):
        files = sorted(path.glob(f"*{SUFFIX}")) if path.is_dir() else [path]
        found += [from_file(p.name, p.read_bytes()) for p in files if is_template(p.name)]
    return found


def particulars(content: bytes) -> Particulars:
    """Title, process and text; render.TemplateInvalid for a file Word cannot open."""
    try:
        document = Document(io.BytesIO(content))
    except Exception as e:
        raise render.TemplateInvalid(f"不是有效的 Word 文档（.docx）：{e}") from None
    props = document.core_properties
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return Particulars(title=(props.title or "").strip(), process=(props.category or "").strip(), text="\n".join(parts))


def problems(template: TemplateFile, data_of_process) -> list[tuple[str, str]]:
    """(placeholder, message) pairs; data_of_process(key) gives what a process collects
    (its form fields and numbered variables) or None when no such process is deployed."""
    try:
        info = particulars(template.content)
        names = render.placeholders(template.content)
    except render.TemplateInvalid as e:
        return [("", str(e))]
    if not info.title:
        return [("", "文书名称未填写：请在 Word 的“文件—属性—标题”中填写文书名称")]
    if not info.process:
        return [("", "未指明数据来源流程：请在 Word 的“文件—属性—类别”中填写流程标识，例如 penalty")]
    data = data_of_process(info.process)
    if data is None:
        return [("", f"流程“{info.process}”尚未部署，无法核对占位符（“文件—属性—类别”应为已部署流程的标识）")]
    known = context.known_names([*data.fields, *note_forms.fields_of(template.key)], data.numbered)
    found = [(name, f"流程“{info.process}”中没有此数据（表单字段、枚举字段名加 _text，或 "
                    f"{'、'.join(sorted(context.BUILTINS))}）")
             for name in sorted(names - known)]
    return found + catalog.template_problems(template.key, names, info.text)
