"""Document numbers a task issues when it is completed.

A user task declares them in ``camunda:properties`` as ``documentNumber`` =
``scheme:variable`` pairs separated by ``;``, e.g. ``penalty.notice:notice_no`` or
``${'penalty.decision' if decision_type == 'penalty' else None}:decision_no`` (an
expression giving no scheme issues nothing). Each variable the case does not have yet
gets the next number of its scheme (paperwork/numbering.py), allocated in the completing
transaction: a failed completion gives the number back, so numbers never skip or repeat.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.orm import Session

from engine.sandbox import expressions, scripting
from paperwork import numbering

PROPERTY = "documentNumber"
# The variables the bureau's models number, as case pages name them when no form field labels them.
LABELS = {
    "notice_no": "行政处罚事先（听证）告知书文号", "hearing_notice_no": "听证通知书文号", "decision_no": "决定书文号",
    "demand_no": "催告书文号", "court_application_no": "强制执行申请书文号", "correction_order_no": "责令改正决定书文号",
    "correction_notice_no": "补正材料通知书文号", "rejection_decision_no": "不予受理决定书文号",
    "demand_notice_no": "催告书文号", "substitute_decision_no": "代履行决定书文号",
}


def parse(text: str) -> list[tuple[str, str]]:
    """(scheme or ${expression}, variable) pairs; ValueError on a malformed declaration."""
    pairs = []
    for item in (text or "").split(";"):
        scheme, sep, variable = item.strip().rpartition(":")
        if not item.strip():
            continue
        if not sep or not scheme.strip() or not variable.strip().isidentifier():
            raise ValueError(f"文书编号声明“{item.strip()}”应为 编号规则:变量名，例如 penalty.notice:notice_no")
        pairs.append((scheme.strip(), variable.strip()))
    return pairs


def targets(task_spec) -> set[str]:
    """The variables a task numbers (its form shows them as filled in on completion)."""
    text = (getattr(task_spec, "extensions", None) or {}).get(PROPERTY)
    return {variable for _, variable in parse(text)} if text else set()


def issue(session: Session, task_spec, case: Mapping[str, Any], submitted: Mapping[str, Any],
          script_engine) -> dict[str, Any]:
    """The task's document numbers: kept if the case has them (a loop came back to this
    step: the document keeps its number), else allocated now. Never what a user typed."""
    text = (getattr(task_spec, "extensions", None) or {}).get(PROPERTY)
    numbers: dict[str, Any] = {}
    for scheme, variable in parse(text) if text else []:
        if case.get(variable):
            numbers[variable] = case[variable]
            continue
        if scheme.startswith(("${", "#{")):
            scheme = script_engine.environment.evaluate(expressions.to_python(scheme), {**case, **submitted})
        if scheme:
            numbers[variable] = numbering.next_number(session, str(scheme))
    return numbers


def problems(text: str) -> list[str]:
    """Deploy-time check of a declaration: format, known schemes, allowed expressions."""
    try:
        pairs = parse(text)
    except ValueError as e:
        return [str(e)]
    found = []
    for scheme, _ in pairs:
        if scheme.startswith(("${", "#{")):
            try:
                reason = scripting.check_source(expressions.to_python(scheme), "eval")
            except ValueError as e:
                reason = str(e)
            if reason:
                found.append(f"文书编号表达式不被允许：{reason}")
        elif scheme not in numbering.schemes():
            found.append(f"未配置编号规则“{scheme}”（可用：{', '.join(sorted(numbering.schemes()))}）")
    return found


def helpers_for(action) -> dict[str, Any]:
    """``document_number(scheme)`` for model code, allocated in the action's transaction."""

    def document_number(scheme: str) -> str:
        """The next number of a document type (e.g. ``penalty.decision`` → 鲁环罚决字〔2026〕第001号):
        it never repeats or skips."""
        return numbering.next_number(action.session, scheme)

    return {"document_number": document_number}
