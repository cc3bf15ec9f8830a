"""事前公开 (国办发〔2018〕118号): the 权责清单 with each permit's 办事指南, the 执法人员名单 and the
procedure diagrams — maintained internally, published as snapshots the public site reads."""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deploy import repository
from engine.store.models import Department, User, utcnow

from .models import PowerItem
from .publications import PublicationError, publish_snapshot

# Seed attachment 5: the contacts printed under each part of the 权责清单.
PERMIT_CONTACT = {"service_phone": "0375-5099940", "complaint_org": "局监察室", "complaint_phone": "15713753267",
                  "service_place": "鲁山县行政服务中心环保窗口"}
PENALTY_CONTACT = {"service_phone": "0375-7370179", "complaint_org": "局监察室", "complaint_phone": "15713753267",
                   "service_place": "鲁山县环保局法制股"}
PERMIT_DUTIES = ("1.受理责任：接收行政许可申请材料；依法受理或不予受理；不予受理的依法告知理由；申请材料不齐全的，一次性告知需补正的材料。"
                 "2.审查责任：材料审查；需要现场核查的，组织现场核查，并书面告知申请人；涉及他人重大利益的，告知申请人、利害关系人陈述申辩权、听证权。"
                 "3.决定责任：经机关负责人审批，作出决定；不予行政许可的，书面告知申请人并说明理由。"
                 "4.送达责任：制作送达文书，将行政许可决定送达当事人；准予许可决定公开供公众查询。"
                 "5.事后监管责任：加强对准予从事行政许可事项活动情况的监督检查。6.法律、法规、规章规定的其他应履行的责任事项。")
LIABILITY = ("行政机关未履行法定职责或者违法行使职权的，由上级行政机关责令改正，给予通报批评等处理；符合法定情形的，依法承担行政赔偿责任。"
             "行政执法人员未履行职责或者违法行使职权，情节轻微的，诫勉谈话、通报批评教育、责令写出书面检查、收回《河南省行政执法证》、"
             "调离执法岗位或者撤销执法资格；情节较重的，依法给予处分；涉嫌犯罪的，移送司法机关处理。")
SEED_POWERS: list[dict[str, Any]] = [
    {"category": "行政许可", "name": "建设项目环境影响评价文件审批", "process_key": "permit",
     "basis": "《中华人民共和国环境影响评价法》第二十二条；《建设项目环境保护管理条例》第九条",
     "period": "报告书60日、报告表30日（专家评审、技术评估时间不计算在内）", "fees": "不收费",
     "materials": "1.建设项目环境影响评价文件审批申请；2.环境影响报告书（表）；3.公众参与说明（报告书）；4.其他依法应当提交的材料"},
    {"category": "行政许可", "name": "防治污染设施拆除或闲置审批", "process_key": "permit",
     "basis": "《中华人民共和国固体废物污染环境防治法》", "period": "20个工作日", "fees": "不收费",
     "materials": "1.拆除或闲置申请；2.拆除或闲置理由及替代措施说明；3.其他依法应当提交的材料"},
    {"category": "行政许可", "name": "排污许可证核发", "process_key": "permit",
     "basis": "《排污许可管理条例》第四条、第九条", "period": "20个工作日", "fees": "不收费",
     "materials": "1.排污许可证申请表；2.自行监测方案；3.守法承诺书；4.其他依法应当提交的材料"},
    {"category": "行政许可", "name": "危险废物收集经营许可证核发", "process_key": "permit",
     "basis": "《危险废物经营许可证管理办法》第七条", "period": "20个工作日", "fees": "不收费",
     "materials": "1.申请书；2.设施、设备及贮存场所说明；3.技术人员证明；4.污染防治措施和事故应急救援措施；5.其他依法应当提交的材料"},
    {"category": "行政处罚", "name": "对环境违法行为的行政处罚", "process_key": "penalty",
     "basis": "《中华人民共和国环境保护法》；《中华人民共和国水污染防治法》；《中华人民共和国大气污染防治法》；"
              "《中华人民共和国噪声污染防治法》；《建设项目环境保护管理条例》；《中华人民共和国行政处罚法》",
     "duties": "1.立案责任；2.调查责任（执法人员不得少于两人，出示执法证件）；3.审查责任；4.告知责任（陈述权、申辩权、听证权）；"
               "5.决定责任；6.送达责任（七日内送达）；7.执行责任；8.法律、法规、规章规定的其他应履行的责任事项。",
     "period": "自立案之日起九十日内作出决定", "fees": "不收费"},
    {"category": "行政强制", "name": "指定有污染治理能力的单位进行治污代履行", "process_key": "coercion_substitute",
     "basis": "《中华人民共和国行政强制法》第五十条至第五十二条", "period": "依催告书、代履行决定书载明期限", "fees": "代履行费用由当事人承担"},
    {"category": "行政检查", "name": "环境保护工作的行政监督检查", "process_key": "inspection",
     "basis": "《中华人民共和国环境保护法》第二十四条；国办发〔2015〕58号", "period": "检查结果20个工作日内公示", "fees": "不收费"},
]
FIELD_LABELS = {"category": "职权类别", "name": "职权名称", "basis": "实施依据", "duties": "责任事项", "period": "办理期限",
                "fees": "收费情况", "liability": "违法责任", "materials": "申请材料（办事指南）", "service_phone": "服务电话",
                "complaint_org": "投诉机构", "complaint_phone": "投诉电话", "service_place": "服务地点",
                "process_key": "流程图（流程标识）"}
FIELDS = tuple(FIELD_LABELS)
CATEGORIES = ("行政许可", "行政处罚", "行政强制", "行政检查")
PUBLIC_PROCESSES = ("permit", "penalty", "coercion_substitute", "inspection")


def seed_powers(session: Session) -> None:
    if session.scalar(select(PowerItem.id).limit(1)) is not None:
        return
    for n, item in enumerate(SEED_POWERS):
        contact = PERMIT_CONTACT if item["category"] == "行政许可" else PENALTY_CONTACT
        defaults = {"duties": PERMIT_DUTIES if item["category"] == "行政许可" else "", "liability": LIABILITY}
        session.add(PowerItem(sort=n, **{**defaults, **contact, **item}))
    session.flush()


def powers(session: Session) -> list[PowerItem]:
    return list(session.scalars(select(PowerItem).order_by(PowerItem.sort, PowerItem.id)))


def powers_by_id(session: Session, item_id: int | None) -> PowerItem | None:
    if item_id is None:
        return None
    item = session.get(PowerItem, item_id)
    if item is None:
        raise PublicationError(f"权责清单第 {item_id} 项不存在")
    return item


def save_power(session: Session, item_id: int | None, values: Mapping[str, Any], actor: str | None) -> PowerItem:
    cleaned = {f: str(values.get(f) or "").strip() for f in FIELDS}
    if not cleaned["name"] or cleaned["category"] not in CATEGORIES:
        raise PublicationError("请填写职权名称并选择职权类别（行政许可、行政处罚、行政强制、行政检查）")
    item = session.get(PowerItem, item_id) if item_id else PowerItem(sort=len(powers(session)))
    if item is None:
        raise PublicationError(f"权责清单第 {item_id} 项不存在")
    for f, v in cleaned.items():
        setattr(item, f, v or None if f == "process_key" else v)
    item.updated_by, item.updated_at = actor, utcnow()
    session.add(item)
    session.flush()
    return item


def publish_powers(session: Session, actor: str | None):
    seed_powers(session)  # the first publication starts from seed attachment 5
    rows = [{f: getattr(p, f) or "" for f in FIELDS} | {"id": p.id} for p in powers(session)]
    return publish_snapshot(session, "powers", "powers", "行政执法权责清单", {"items": rows}, actor)


def publish_officers(session: Session, actor: str | None, on: date):
    """执法人员名单: every active user holding a 执法证 valid on ``on`` — name, unit, number, validity."""
    departments = {d.code: d.name for d in session.scalars(select(Department))}
    officers = []
    for u in session.scalars(select(User).where(User.active, User.cert_no.is_not(None))
                             .order_by(User.department_code, User.cert_no)):
        if (u.cert_valid_from and u.cert_valid_from > on) or (u.cert_valid_until and u.cert_valid_until < on):
            continue
        officers.append({"name": u.full_name, "unit": f"鲁山县环境保护局{departments.get(u.department_code, '')}",
                         "cert_no": u.cert_no,
                         "valid": _validity(u.cert_valid_from, u.cert_valid_until)})
    return publish_snapshot(session, "officers", "officers", "行政执法人员名单",
                            {"officers": officers, "as_of": on.isoformat()}, actor)


def _validity(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return "长期有效"
    return f"{start.isoformat() if start else ''} 至 {end.isoformat() if end else '长期'}"


_STRIP = ("{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements",
          "{http://www.omg.org/spec/BPMN/20100524/MODEL}script",
          "{http://www.omg.org/spec/BPMN/20100524/MODEL}conditionExpression")


def public_diagram(xml: str) -> str:
    """The deployed BPMN for the viewer only: scripts, forms and conditions are the system's, not the public's."""
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    for element in list(root.iter(*_STRIP)):
        element.getparent().remove(element)
    return etree.tostring(root, encoding="unicode")


def publish_diagrams(session: Session, actor: str | None) -> list:
    published = []
    for key in PUBLIC_PROCESSES:
        definition = repository.latest_definition(session, key)
        if definition is None:
            continue
        published.append(publish_snapshot(session, "diagram", f"diagram:{key}", definition.name,
                                          {"process_key": key, "version": definition.version,
                                           "xml": public_diagram(definition.resource.content)}, actor))
    if not published:
        raise PublicationError("尚未部署可公开的执法流程")
    return published
