"""Parsing uploaded XML without entities, DTDs or network access (no XXE)."""
from __future__ import annotations

from lxml import etree

from engine.spec.problems import Problem

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          dtd_validation=False, huge_tree=False, remove_comments=False)


def parse(data: bytes, file: str) -> tuple[etree._ElementTree | None, list[Problem]]:
    """The parsed document, or the problems that make it unacceptable."""
    try:  # Camunda Modeler writes UTF-8; another encoding (UTF-16) would also hide a DOCTYPE from the check below
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return None, [Problem(file, line, None, "文件必须是 UTF-8 编码（Camunda Modeler 保存的格式）")]
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        line = data[: data.find(b"<!")].count(b"\n") + 1
        return None, [Problem(file, line, None, "文件包含 DOCTYPE/ENTITY 声明，出于安全原因不予接受（XXE）")]
    try:
        tree = etree.ElementTree(etree.fromstring(data, _PARSER))
    except etree.XMLSyntaxError as e:
        return None, [Problem(file, e.lineno, None, f"XML 格式错误：{e.msg}")]
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:  # belt and braces
        return None, [Problem(file, 1, None, "文件包含 DOCTYPE/ENTITY 声明，出于安全原因不予接受（XXE）")]
    return tree, []


def element_id_at(root: etree._Element, line: int | None) -> str | None:
    """The id of the innermost element starting on or before ``line`` (for schema errors)."""
    best = None
    for el in root.iter():
        if not isinstance(el.tag, str) or el.sourceline is None:
            continue
        if line is not None and el.sourceline > line:
            break
        if el.get("id"):
            best = el.get("id")
    return best


def local(el: etree._Element) -> str:
    return etree.QName(el).localname
