"""What the law requires a document to state, checked when it is issued and when its
template is deployed.

行政处罚法 (2021) 第五十九条: a 行政处罚决定书 states (1) the party's name and address,
(2) the facts and evidence of the violation, (3) the kind and basis of the penalty,
(4) the manner and period of performance, (5) the channels and periods for 行政复议 and
行政诉讼, (6) the deciding agency's name and the date, and carries its seal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

ART_59 = "行政处罚法第五十九条"


@dataclass(frozen=True)
class Element:
    label: str
    names: tuple[str, ...]          # placeholders the template must contain
    rule: str
    # whether the case's values state it; default: every name has a value
    present: Callable[[Mapping[str, Any]], bool] | None = None

    def missing(self, context: Mapping[str, Any]) -> bool:
        if self.present is not None:
            return not self.present(context)
        return any(context.get(n) in (None, "") for n in self.names)


def _fine_stated(context: Mapping[str, Any]) -> bool:
    kind = context.get("penalty_kind")
    if kind in (None, ""):
        return False
    if kind in ("fine", "fine_confiscation"):
        return bool(context.get("fine_amount"))
    return True


REQUIRED: dict[str, list[Element]] = {
    "penalty.decision": [
        Element("当事人的姓名或者名称", ("party_name",), f"{ART_59}第一款第（一）项"),
        Element("当事人的地址", ("party_address",), f"{ART_59}第一款第（一）项"),
        Element("违法事实", ("violation_facts",), f"{ART_59}第一款第（二）项"),
        Element("证据", ("evidence_list",), f"{ART_59}第一款第（二）项"),
        Element("行政处罚的依据", ("legal_basis",), f"{ART_59}第一款第（三）项"),
        Element("行政处罚的种类（罚款的，数额）", ("penalty_kind_text", "fine_amount"), f"{ART_59}第一款第（三）项",
                _fine_stated),
        Element("履行方式和期限（缴纳地点）", ("payment_place",), f"{ART_59}第一款第（四）项"),
        Element("申请行政复议的途径（复议机关）", ("review_body",), f"{ART_59}第一款第（五）项"),
        Element("提起行政诉讼的途径（管辖法院）", ("court",), f"{ART_59}第一款第（五）项"),
        Element("作出决定的行政机关名称", ("agency_name",), f"{ART_59}第一款第（六）项"),
        Element("作出决定的日期", ("decision_date",), f"{ART_59}第一款第（六）项"),
    ],
}
# The periods of 复议 and 诉讼 (art. 59(5)) are fixed wording the template must keep.
REQUIRED_WORDING: dict[str, list[tuple[str, str]]] = {
    "penalty.decision": [("六十日", f"{ART_59}第一款第（五）项：申请行政复议的期限"),
                         ("六个月", f"{ART_59}第一款第（五）项：提起行政诉讼的期限"),
                         ("十五日", f"{ART_59}第一款第（四）项：罚款的缴纳期限")],
}


def template_problems(key: str, names: set[str], text: str) -> list[tuple[str, str]]:
    """(placeholder or wording, message) for what a template of this document must print but does not."""
    found = [(n, f"{e.label}是必须载明的事项（{e.rule}），模板中缺少该占位符")
             for e in REQUIRED.get(key, []) for n in e.names if n not in names]
    found += [(w, f"模板中缺少“{w}”（{rule}）") for w, rule in REQUIRED_WORDING.get(key, []) if w not in text]
    return found


def missing_elements(key: str, context: Mapping[str, Any]) -> list[str]:
    """Chinese messages for each required element the case's values leave out."""
    return [f"缺少{e.label}（{e.rule}）" for e in REQUIRED.get(key, []) if e.missing(context)]

# The customary order of a 行政处罚 案卷 (documents by template key without the process
# prefix); anything else follows in the order issued.
CASE_FILE_ORDER = ["filing", "site_inspection", "inquiry", "record", "preservation", "seizure", "release", "report", "opinion", "notice", "statement", "hearing", "hearing_record",
                   "discussion", "decision", "supplement", "rejection", "acceptance", "hearing_right", "extension", "approval", "denial", "substitute",
                   "reminder", "cost", "demand", "enforce", "closure"]
