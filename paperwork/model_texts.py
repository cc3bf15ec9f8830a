"""Writes the 文书 templates in documents/ (run ``python -m paperwork.model_texts documents``).

The committed .docx files are what legal staff edit in Word/WPS afterwards; this script
is how their first versions were made, reproducibly. Layout after GB/T 9704-2012 (A4,
margins 37/35/28/26 mm, 机关名称 and 文书名称 in 小标宋 二号, body 仿宋_GB2312 三号 with
28 pt lines, 文号 under the title, 落款 with the date and room for the seal); wording after
the Ministry's 环境行政执法文书制作指南 (环境保护部 2016) and 行政处罚法 (2021).

Placeholders are docxtpl/Jinja: ``{{ party_name }}`` is a form field of the linked
process (camunda:formData id), ``{{ x_text }}`` the label of an enum field's value, and
the names paperwork.context.BUILTINS lists (机关名称, 文号, 复议机关 …). Filters: ``yuan``
(50,000.00), ``capitals`` (伍万元整), ``cn_date`` (2026年9月30日).
"""
from __future__ import annotations

import io
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

TITLE_FONT, BODY_FONT, HEAD_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体"

PARTY = [
    "当事人：{{ party_name }}",
    "{% if party_type == 'citizen' %}公民身份号码：{{ id_number }}{% else %}统一社会信用代码：{{ credit_code }}{% endif %}",
    "{% if party_type != 'citizen' %}法定代表人（负责人）：{{ legal_rep }}{% endif %}",
    "地址：{{ party_address }}",
]
SEAL = ["{{ agency_name }}", "（印章）", "{{ issued_on|cn_date }}"]
REMEDY = ("你（单位）如不服本决定，可以在收到本决定书之日起六十日内向{{ review_body }}申请行政复议，"
          "也可以在收到本决定书之日起六个月内向{{ court }}提起行政诉讼。")


@dataclass
class Text:
    key: str            # file name and template key (the numbering scheme when the document is numbered)
    title: str
    process: str        # the process whose data fills it
    body: list = field(default_factory=list)   # str paragraph | ("table", [(label, value)]) | ("sign", lines)
    numbered: bool = True
    number: str = "{{ doc_no }}"   # the 文号 line: the number given at 签发, or a number typed on the form


TEXTS = [
    # ---------------------------------------------------------------- 行政处罚
    Text("penalty.filing", "立案审批表", "penalty", numbered=False, body=[
        ("table", [("案件编号", "{{ case_no }}"), ("案件来源", "{{ case_source_text }}"),
                   ("案由", "{{ case_reason }}"), ("当事人", "{{ party_name }}"),
                   ("统一社会信用代码（公民身份号码）", "{{ credit_code or id_number }}"),
                   ("法定代表人（负责人）", "{{ legal_rep }}"), ("地址", "{{ party_address }}"),
                   ("发现线索日期", "{{ clue_received_on|cn_date }}"),
                   ("案情简介及立案理由", "{{ violation_facts }}"),
                   ("涉嫌违反的法律规定", "{{ legal_basis }}"),
                   ("承办人意见", "{{ registration_opinion }}"),
                   ("负责人审批意见", "{{ filing_decision_text }}。{{ filing_opinion }}\n签名：　　　　　　{{ filed_on|cn_date }}")]),
    ]),
    # 笔录 made on demand during 调查取证, one per site visit and one per person questioned (paperwork/notes.py)
    Text("penalty.site_inspection", "现场检查（勘察）笔录", "penalty", numbered=False, body=[
        ("table", [("案由", "{{ case_reason }}"),
                   ("检查（勘察）时间", "{{ site_date|cn_date }} {{ site_time }}"),
                   ("检查（勘察）地点", "{{ site_place }}"), ("被检查（勘察）单位或个人", "{{ site_unit }}"),
                   ("现场负责人（在场人）", "{{ site_present }}"),
                   ("检查（勘察）人、记录人", "{{ site_officers_text }}"),
                   ("告知事项", "检查（勘察）人员已出示执法证件、表明身份，说明检查（勘察）的事项和依据，并告知全程音像记录。"
                                "被检查人认为检查（勘察）人员与本案有直接利害关系的，有权申请回避；"
                                "被检查人应当如实反映情况、提供有关资料，配合检查（勘察），不得拒绝、阻挠。"),
                   ("现场检查（勘察）情况", "{{ site_record }}"),
                   ("被检查人核对意见及签名", "{{ site_party_note }}\n签名：　　　　　　年　　月　　日"),
                   ("检查（勘察）人、记录人签名", "\n年　　月　　日")]),
    ]),
    Text("penalty.inquiry", "调查询问笔录", "penalty", numbered=False, body=[
        ("table", [("案由", "{{ case_reason }}"),
                   ("询问时间", "{{ inquiry_date|cn_date }} {{ inquiry_time }}"), ("询问地点", "{{ inquiry_place }}"),
                   ("被询问人", "{{ interviewee_name }}　身份证件号码：{{ interviewee_id_number }}"),
                   ("工作单位及职务", "{{ interviewee_position }}　联系电话：{{ interviewee_phone }}"),
                   ("与本案关系", "{{ interviewee_relation }}"),
                   ("询问人、记录人", "{{ inquiry_officers_text }}"),
                   ("告知事项", "我们是{{ agency_name }}的执法人员，已向你出示执法证件。现就{{ party_name }}涉嫌{{ case_reason }}"
                                "一事依法向你调查了解情况，请如实回答询问、协助调查；作伪证或者隐瞒事实的，须承担相应的法律责任。"
                                "执法人员少于两人或者执法证件与身份不符的，你有权拒绝接受询问；"
                                "认为执法人员与本案有直接利害关系的，你有权申请回避。"),
                   ("询问记录", "{{ inquiry_record }}"),
                   ("被询问人核对意见及签名", "{{ interviewee_note }}\n签名：　　　　　　年　　月　　日"),
                   ("询问人、记录人签名", "\n年　　月　　日")]),
    ]),
    Text("penalty.report", "案件调查终结报告", "penalty", numbered=False, body=[
        ("table", [("案件编号", "{{ case_no }}"), ("案由", "{{ case_reason }}"), ("当事人", "{{ party_name }}"),
                   ("调查人员", "{{ investigators_text }}"),
                   ("违法事实", "{{ violation_facts }}"), ("证据", "{{ evidence_list }}"),
                   ("违反的法律规定及处罚依据", "{{ legal_basis }}"),
                   ("处理建议", "{{ investigation_conclusion_text }}；{{ penalty_kind_text }}；罚款{{ fine_amount|yuan }}元（{{ fine_amount|capitals }}）"),
                   ("裁量情节和理由", "{{ discretion_reason }}")]),
    ]),
    Text("penalty.notice", "行政处罚事先（听证）告知书", "penalty", body=[
        "{{ party_name }}：",
        "经调查，你（单位）存在以下违法行为：{{ violation_facts }}",
        "以上事实有{{ evidence_list }}等证据为证。",
        "你（单位）的上述行为违反了{{ legal_basis }}。",
        "依据上述规定，我局拟对你（单位）作出如下行政处罚：{{ penalty_kind_text }}{% if fine_amount %}，罚款人民币{{ fine_amount|yuan }}元（大写：{{ fine_amount|capitals }}）{% endif %}。",
        "{{ notice_content }}",
        "根据《中华人民共和国行政处罚法》第四十四条、第四十五条的规定，你（单位）有权进行陈述和申辩。"
        "{% if hearing_right %}根据该法第六十三条、第六十四条的规定，你（单位）有权要求听证；如要求听证，应当在收到本告知书之日起五日内向我局提出，逾期视为放弃听证权利。{% endif %}"
        "你（单位）如进行陈述和申辩，应当在收到本告知书之日起五日内向我局提出，逾期视为放弃陈述和申辩权利。",
        "联系地址：{{ agency_address }}　　联系电话：{{ agency_phone }}",
        ("sign", SEAL),
    ]),
    Text("penalty.hearing", "行政处罚听证通知书", "penalty", body=[
        "{{ party_name }}：",
        "根据你（单位）的申请，我局定于{{ hearing_date|cn_date }}在{{ hearing_place }}{% if hearing_public %}公开{% else %}不公开{% endif %}举行听证，"
        "听证主持人为{{ hearing_host_text }}。请你（单位）准时出席，并携带有关证据材料。",
        "你（单位）可以委托一至二人代理参加听证，委托代理人参加听证的，应当提交授权委托书。"
        "你（单位）认为听证主持人与本案有直接利害关系的，有权申请回避。无正当理由拒不出席听证的，视为放弃听证权利。",
        ("sign", SEAL),
    ]),
    Text("penalty.statement", "陈述申辩笔录", "penalty", numbered=False, body=[
        ("table", [("案件编号", "{{ case_no }}"), ("案由", "{{ case_reason }}"), ("陈述申辩人", "{{ party_name }}"),
                   ("地址", "{{ party_address }}"), ("告知书文号", "{{ notice_no }}"),
                   ("陈述申辩内容", "{{ statement_record }}"),
                   ("是否要求听证", "{{ hearing_requested|yes_no }}"),
                   ("陈述申辩人签名", "\n年　　月　　日"), ("记录人签名", "\n年　　月　　日")]),
    ]),
    Text("penalty.hearing_record", "听证笔录", "penalty", numbered=False, body=[
        ("table", [("案件编号", "{{ case_no }}"), ("案由", "{{ case_reason }}"), ("当事人", "{{ party_name }}"),
                   ("听证时间", "{{ hearing_held_on|cn_date }}"), ("听证地点", "{{ hearing_place }}"),
                   ("听证主持人", "{{ hearing_host_text }}"), ("听证通知书文号", "{{ hearing_notice_no }}"),
                   ("当事人出席情况", "{{ hearing_attendance_text }}"),
                   ("听证情况及主持人意见", "{{ hearing_report }}"),
                   ("当事人签名或盖章", "\n年　　月　　日"), ("主持人、记录人签名", "\n年　　月　　日")]),
    ]),
    Text("penalty.discussion", "案件集体讨论记录", "penalty", numbered=False, body=[
        ("table", [("案件编号", "{{ case_no }}"), ("案由", "{{ case_reason }}"), ("当事人", "{{ party_name }}"),
                   ("讨论日期", "{{ discussion_held_on|cn_date }}"), ("主持人", "{{ discussion_host }}"),
                   ("出席、列席及记录人员", "{{ discussion_attendees }}"),
                   ("讨论记录", "{{ discussion_record }}"), ("结论性意见", "{{ discussion_conclusion_text }}"),
                   ("参加人签名", "")]),
    ]),
    Text("penalty.decision", "行政处罚决定书", "penalty", body=[
        *PARTY,
        "你（单位）{{ violation_facts }}",
        "以上事实有下列证据为证：{{ evidence_list }}",
        "{% if statement_made %}你（单位）在陈述申辩中提出：{{ statement_record }}。{% endif %}"
        "我局已依法告知你（单位）陈述、申辩{% if hearing_right %}和要求听证{% endif %}的权利。",
        "你（单位）的上述行为违反了{{ legal_basis }}。",
        "依据上述规定，我局决定对你（单位）作出如下行政处罚：{{ penalty_kind_text }}。"
        "{% if fine_amount %}罚款人民币{{ fine_amount|yuan }}元（大写：{{ fine_amount|capitals }}）。{% endif %}"
        "{% if confiscation_amount %}没收违法所得（非法财物）价值人民币{{ confiscation_amount|yuan }}元（大写：{{ confiscation_amount|capitals }}）。{% endif %}",
        "履行方式和期限：你（单位）应当自收到本决定书之日起十五日内，将罚款缴至{{ payment_place }}。"
        "到期不缴纳罚款的，根据《中华人民共和国行政处罚法》第七十二条第一款第（一）项的规定，每日按罚款数额的百分之三加处罚款，加处罚款的数额不超出罚款的数额。",
        REMEDY + "申请行政复议或者提起行政诉讼的，不停止本决定的执行。",
        "逾期不申请行政复议、不提起行政诉讼，又不履行本决定的，我局将依法申请人民法院强制执行。",
        ("sign", ["{{ agency_name }}", "（印章）", "{{ decision_date|cn_date }}"]),
    ]),
    Text("penalty.preservation", "先行登记保存证据通知书", "penalty", body=[
        "{{ party_name }}：",
        "因你（单位）涉嫌{{ case_reason }}，相关证据可能灭失或者以后难以取得，经本机关负责人批准，"
        "根据《中华人民共和国行政处罚法》第五十六条的规定，我局于{{ preserved_on|cn_date }}对所附清单所列物品先行登记保存。",
        "先行登记保存期间，你（单位）不得损毁、销毁或者转移上述物品。我局将在七个工作日内作出处理决定；"
        "逾期未作出处理决定的，先行登记保存措施自动解除。",
        "执法人员：{{ preservation_officers_text }}",
        ("sign", ["{{ agency_name }}", "（印章）", "{{ preserved_on|cn_date }}"]),
        "附：先行登记保存证据清单",
        ("table", [("当事人", "{{ party_name }}"), ("通知书文号", "{{ doc_no }}"),
                   ("物品名称、数量及保存地点", "{{ preserved_items }}"),
                   ("当事人签名或盖章", "\n年　　月　　日"), ("执法人员签名", "\n年　　月　　日")]),
    ]),
    # the 送达回证 of any issued document of a penalty case (printed from that document's row)
    Text("penalty.receipt", "送达回证", "penalty", numbered=False, body=[
        ("table", [("送达文书名称及文号", "{{ served_title }}　{{ served_no }}"), ("受送达人", "{{ party_name }}"),
                   ("送达地点", "{{ party_address }}"), ("送达方式", ""), ("送达日期", ""),
                   ("受送达人签名或盖章", "\n\n年　　月　　日"), ("送达人签名", "\n\n年　　月　　日"),
                   ("见证人签名", ""), ("备注", "")]),
    ]),
    Text("penalty.demand", "督促履行义务催告书", "penalty", body=[
        "{{ party_name }}：",
        "我局于{{ decision_date|cn_date }}作出{{ decision_no }}《行政处罚决定书》，对你（单位）处以罚款人民币{{ fine_amount|yuan }}元（大写：{{ fine_amount|capitals }}），"
        "该决定书已于{{ decision_served_on|cn_date }}送达。你（单位）在法定期限内未申请行政复议或者提起行政诉讼，也未履行该决定。",
        "根据《中华人民共和国行政强制法》第三十五条、第五十四条的规定，现催告你（单位）自收到本催告书之日起十日内履行上述决定，"
        "缴纳罚款人民币{{ fine_amount|yuan }}元及加处罚款人民币{{ late_fee|yuan }}元（大写：{{ late_fee|capitals }}）。{{ demand_content }}",
        "你（单位）有权进行陈述和申辩。逾期仍不履行的，我局将依法申请人民法院强制执行。",
        ("sign", SEAL),
    ]),
    Text("penalty.enforce", "强制执行申请书", "penalty", body=[
        "申请人：{{ agency_name }}　　地址：{{ agency_address }}",
        "被申请人：{{ party_name }}　　地址：{{ party_address }}",
        "申请事项：请求依法强制执行{{ decision_no }}《行政处罚决定书》，执行金额人民币{{ amount_due|yuan }}元（大写：{{ amount_due|capitals }}）。",
        "事实和理由：{{ court_application_text }}",
        "此致",
        "{{ court_name }}",
        ("sign", ["{{ agency_name }}", "（印章）", "负责人签名：", "{{ signed_on|cn_date }}"]),
    ]),
    Text("penalty.closure", "结案审批表", "penalty", numbered=False, body=[
        ("table", [("案件编号", "{{ case_no }}"), ("案由", "{{ case_reason }}"), ("当事人", "{{ party_name }}"),
                   ("行政处罚决定书文号", "{{ decision_no }}"),
                   ("处理结果", "{{ penalty_kind_text }}；罚款{{ fine_amount|yuan }}元（{{ fine_amount|capitals }}）"),
                   ("执行情况", "{{ performance_note }}"), ("结案情形", "{{ closure_reason_text }}"),
                   ("负责人审批意见", "{{ closure_opinion }}\n签名：　　　　　　年　　月　　日")]),
    ]),
    # ---------------------------------------------------------------- 法制审核 (called by 处罚 and 强制)
    Text("legal_review.opinion", "重大执法决定法制审核意见书", "legal_review", numbered=False, body=[
        ("table", [("案件编号", "{{ case_no }}"), ("当事人", "{{ party_name }}"),
                   ("拟罚款金额", "{{ fine_amount|yuan }}元（{{ fine_amount|capitals }}）"),
                   ("送审理由", "{{ legal_review_reason }}"),
                   ("执法主体合法，执法人员具备执法资格", "{{ check_subject|yes_no }}"),
                   ("主要事实清楚，证据准确、充分", "{{ check_facts|yes_no }}"),
                   ("适用依据准确", "{{ check_basis|yes_no }}"), ("裁量适当", "{{ check_discretion|yes_no }}"),
                   ("程序合法，充分保障当事人权利", "{{ check_procedure|yes_no }}"),
                   ("审核意见", "{{ legal_review_opinion }}"), ("审核结论", "{{ legal_review_outcome_text }}"),
                   ("审核人签名", "\n年　　月　　日")]),
    ]),
    # ---------------------------------------------------------------- 行政许可
    Text("permit.supplement", "补正材料通知书", "permit", body=[
        "{{ party_name }}：",
        "我局于{{ received_on|cn_date }}收到你（单位）提出的{{ project_name }}（{{ permit_type_text }}）行政许可申请。"
        "经审查，申请材料不齐全或者不符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，请你（单位）补正以下全部内容：",
        "{{ correction_items }}",
        "请在补正后将材料报送我局。补正材料提交后，我局将依法审查并作出是否受理的决定。",
        ("sign", SEAL),
    ]),
    Text("permit.rejection", "不予受理决定书", "permit", body=[
        "{{ party_name }}：",
        "我局于{{ received_on|cn_date }}收到你（单位）提出的{{ project_name }}（{{ permit_type_text }}）行政许可申请。经审查，{{ rejection_reason }}",
        "根据《中华人民共和国行政许可法》第三十二条的规定，决定不予受理。{% if competent_authority %}请向{{ competent_authority }}提出申请。{% endif %}",
        REMEDY,
        ("sign", SEAL),
    ]),
    Text("permit.approval", "准予行政许可决定书", "permit", body=[
        "{{ party_name }}：",
        "你（单位）于{{ received_on|cn_date }}提出的{{ project_name }}（{{ permit_type_text }}）行政许可申请，我局已于{{ accepted_on|cn_date }}受理。"
        "经审查，申请符合法定条件、标准。根据《中华人民共和国行政许可法》第三十八条第一款的规定，决定准予行政许可。",
        "许可内容：{{ permit_content }}",
        "{% if licence_no %}许可证编号：{{ licence_no }}{% endif %}",
        ("sign", ["{{ agency_name }}", "（印章）", "{{ decision_date|cn_date }}"]),
    ]),
    Text("permit.denial", "不予行政许可决定书", "permit", body=[
        "{{ party_name }}：",
        "你（单位）于{{ received_on|cn_date }}提出的{{ project_name }}（{{ permit_type_text }}）行政许可申请，我局已于{{ accepted_on|cn_date }}受理。经审查，{{ decision_reason }}",
        "根据《中华人民共和国行政许可法》第三十八条第二款的规定，决定不予行政许可。",
        REMEDY,
        ("sign", ["{{ agency_name }}", "（印章）", "{{ decision_date|cn_date }}"]),
    ]),
    Text("permit.extension", "延长审批期限告知书", "permit", numbered=False, body=[
        "{{ party_name }}：",
        "你（单位）提出的{{ project_name }}（{{ permit_type_text }}）行政许可申请，我局已于{{ accepted_on|cn_date }}受理。"
        "因{{ extension_reason }}，二十个工作日内不能作出决定。根据《中华人民共和国行政许可法》第四十二条第一款的规定，"
        "经本机关负责人批准，审批期限延长十个工作日。",
        ("sign", ["{{ agency_name }}", "（印章）", "{{ extension_notice_on|cn_date }}"]),
    ]),
    # numbered with the case: the business key of a 行政许可 case is its 受理 number (numbering "permit")
    Text("permit.acceptance", "受理通知书", "permit", number="{{ case_no }}", body=[
        "{{ party_name }}：",
        "你（单位）于{{ received_on|cn_date }}提出的{{ project_name }}（{{ permit_type_text }}）行政许可申请，"
        "属于本机关职权范围，申请材料齐全、符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款第（五）项的规定，"
        "我局决定予以受理。",
        "我局将自受理之日起二十个工作日内作出行政许可决定；依法需要听证、检验、检测、鉴定和专家评审的，"
        "所需时间不计算在上述期限内（行政许可法第四十二条、第四十五条）。",
        "联系地址：{{ agency_address }}　　联系电话：{{ agency_phone }}",
        ("sign", ["{{ agency_name }}", "（印章）", "{{ accepted_on|cn_date }}"]),
    ]),
    Text("permit.hearing_right", "行政许可听证告知书", "permit", numbered=False, body=[
        "{{ party_name }}：",
        "你（单位）提出的{{ project_name }}（{{ permit_type_text }}）行政许可申请，我局已于{{ accepted_on|cn_date }}受理。",
        "{% if statutory_hearing %}该许可事项属于法律、法规、规章规定实施行政许可应当听证的事项，或者涉及公共利益的重大行政许可事项。"
        "根据《中华人民共和国行政许可法》第四十六条的规定，我局将向社会公告并举行听证。"
        "{% else %}该许可事项直接关系申请人与他人之间重大利益。根据《中华人民共和国行政许可法》第四十七条第一款的规定，"
        "申请人、利害关系人（{{ notified_parties }}）享有要求听证的权利；要求听证的，应当在被告知听证权利之日起五日内提出，"
        "逾期未提出的，视为放弃听证权利。{% endif %}"
        "听证不收取任何费用。",
        "{% if publicity_required %}拟审批公示期间：{{ publicity_start|cn_date }}至{{ publicity_end|cn_date }}，公示网址或地点：{{ publicity_url }}。{% endif %}",
        "联系地址：{{ agency_address }}　　联系电话：{{ agency_phone }}",
        ("sign", ["{{ agency_name }}", "（印章）", "{{ hearing_right_notified_on|cn_date }}"]),
    ]),
    # ---------------------------------------------------------------- 代履行
    Text("coercion.demand", "催告书", "coercion_substitute", body=[
        *PARTY,
        "{% if original_decision_no %}我局于{{ original_decision_served_on|cn_date }}向你（单位）送达{{ original_decision_no }}决定书，{% endif %}"
        "要求你（单位）履行以下义务：{{ obligation }}。履行期限已于{{ compliance_deadline|cn_date }}届满，你（单位）至今未履行。",
        "违法事实：{{ violation_facts }}。依据：{{ legal_basis }}。",
        "根据《中华人民共和国行政强制法》第三十五条、第五十条的规定，现催告你（单位）于{{ performance_deadline|cn_date }}前履行上述义务。{{ demand_content }}",
        "你（单位）有权进行陈述和申辩。逾期仍不履行，其后果已经或者将危害交通安全、造成环境污染或者破坏自然资源的，我局将依法代履行或者委托没有利害关系的第三人代履行，费用由你（单位）承担。",
        ("sign", SEAL),
    ]),
    Text("coercion.substitute", "代履行决定书", "coercion_substitute", body=[
        *PARTY,
        "事实、理由和依据：{{ draft_reasons }}",
        "你（单位）经催告仍未履行{{ obligation }}的义务。根据《中华人民共和国行政强制法》第五十条、第五十一条的规定，我局决定代履行：",
        "代履行标的：{{ substitute_object }}",
        "代履行方式：{{ substitute_manner }}",
        "代履行时间：{{ substitute_time_plan }}",
        "代履行人：{{ substitute_unit_name }}",
        "代履行费用预算：人民币{{ cost_budget|yuan }}元（大写：{{ cost_budget|capitals }}），代履行的费用按照成本合理确定，由你（单位）承担。",
        "代履行三日前，我局将再次催告你（单位）履行；你（单位）履行的，停止代履行。",
        REMEDY,
        ("sign", ["{{ agency_name }}", "（印章）", "{{ substitute_decision_date|cn_date }}"]),
    ]),
    Text("coercion.reminder", "代履行催告书", "coercion_substitute", numbered=False, body=[
        "{{ party_name }}：",
        "我局已向你（单位）送达{{ substitute_decision_no }}《代履行决定书》。根据《中华人民共和国行政强制法》第五十一条第一款第（二）项的规定，"
        "我局定于{{ scheduled_date|cn_date }}{{ scheduled_time }}由{{ substitute_unit_name }}代履行：{{ substitute_object }}。",
        "你（单位）在此之前自行履行的，停止代履行。代履行的费用由你（单位）承担。",
        ("sign", ["{{ agency_name }}", "（印章）", "{{ reminder_served_on|cn_date }}"]),
    ]),
    Text("coercion.cost", "代履行费用缴纳通知书", "coercion_substitute", number="{{ cost_notice_no }}", body=[
        "{{ party_name }}：",
        "我局依据{{ substitute_decision_no }}《代履行决定书》，于{{ executed_on|cn_date }}委托{{ substitute_unit_name }}实施了代履行。"
        "根据《中华人民共和国行政强制法》第五十一条第二款的规定，代履行的费用由你（单位）承担。",
        "代履行费用：人民币{{ cost_amount|yuan }}元（大写：{{ cost_amount|capitals }}）。计算依据：{{ cost_basis }}",
        "请你（单位）自收到本通知书之日起十五日内缴纳至{{ payment_place }}。逾期不缴纳的，我局将依法申请人民法院强制执行。",
        ("sign", ["{{ agency_name }}", "（印章）", "{{ cost_notice_served_on|cn_date }}"]),
    ]),
    # ---------------------------------------------------------------- 查封扣押
    Text("coercion.seizure", "查封（扣押）决定书", "coercion_seizure", body=[
        *PARTY,
        "经查，你（单位）{{ violation_facts }}",
        "依据{{ legal_basis }}，根据《中华人民共和国行政强制法》第二十四条和《环境保护主管部门实施查封、扣押办法》的规定，"
        "我局决定对你（单位）所附清单所列的场所、设施、设备或者财物予以{{ seizure_measure_text }}，"
        "期限为{{ seizure_days }}日，自{{ executed_on|cn_date }}起算。情况复杂的，经本机关负责人批准，可以延长，但延长期限不得超过三十日。",
        "查封、扣押期间，你（单位）不得擅自启封、转移、使用、销毁被查封的设施、设备，不得隐藏、转移、损毁被扣押的财物。",
        REMEDY,
        ("sign", ["{{ agency_name }}", "（印章）", "{{ executed_on|cn_date }}"]),
        "附：查封、扣押清单",
        ("table", [("当事人", "{{ party_name }}"), ("决定书文号", "{{ doc_no }}"),
                   ("查封、扣押的场所、设施、设备或者财物（名称、数量、地点）", "{{ seized_list }}"),
                   ("当事人（见证人）签名或盖章", "\n年　　月　　日"),
                   ("执法人员签名", "{{ executing_officers_text }}\n年　　月　　日")]),
    ]),
    Text("coercion.release", "解除查封（扣押）决定书", "coercion_seizure", body=[
        *PARTY,
        "我局于{{ executed_on|cn_date }}以{{ seizure_decision_no }}《查封（扣押）决定书》对你（单位）的下列场所、设施、设备或者财物"
        "予以{{ seizure_measure_text }}：{{ seized_list }}",
        "因{{ release_reason_text }}，根据《中华人民共和国行政强制法》第二十八条的规定，我局决定自{{ released_on|cn_date }}起解除上述查封（扣押）。",
        "启封、退还情况：{{ release_record }}",
        ("sign", ["{{ agency_name }}", "（印章）", "{{ released_on|cn_date }}"]),
    ]),
    # ---------------------------------------------------------------- 调阅 (行政执法记录信息调阅监督制度)
    Text("records_access.approval", "调阅审批表", "records_access", numbered=False, body=[
        ("table", [("调阅编号", "{{ case_no }}"), ("调阅案件编号", "{{ requested_case_no }}"),
                   ("申请人", "{{ requester_name }}（{{ requester_kind_text }}）"), ("申请单位", "{{ requester_unit }}"),
                   ("调阅材料", "{{ materials_text }}"), ("方式", "{{ access_mode_text }}"),
                   ("调阅事由", "{{ purpose }}"), ("说明", "{{ access_note }}"),
                   ("审批结论", "{% if chief_approved or copy_approved %}同意{% else %}不同意{% endif %}"),
                   ("审批意见", "{{ chief_opinion or copy_opinion }}\n签名：　　　　　　{{ issued_on|cn_date }}")]),
    ]),
    # ---------------------------------------------------------------- 检查
    Text("inspection.record", "现场检查笔录", "inspection", numbered=False, body=[
        ("table", [("被检查单位（个人）", "{{ party_name }}"), ("地址", "{{ party_address }}"),
                   ("法定代表人（负责人）", "{{ legal_rep }}"),
                   ("检查时间", "{{ inspected_on|cn_date }} {{ inspection_start_time }}至{{ inspection_end_time }}"),
                   ("检查人员", "{{ inspectors_text }}"), ("陪同人员", "{{ accompanying_person }}"),
                   ("告知事项", "检查人员已出示执法证件，告知检查事项和全程音像记录；当事人有申请回避的权利和配合检查的义务。"),
                   ("检查内容", "{{ inspection_content }}"), ("检查情况", "{{ inspection_record }}"),
                   ("被检查人签名", "\n年　　月　　日"), ("检查人员签名", "\n年　　月　　日")]),
    ]),
    Text("correction", "责令改正违法行为决定书", "inspection", body=[
        *PARTY,
        "经检查，你（单位）存在以下违法行为：{{ violation_facts }}",
        "你（单位）的上述行为违反了{{ legal_basis }}。",
        "根据《中华人民共和国行政处罚法》第二十八条第一款的规定，现责令你（单位）于{{ correction_deadline|cn_date }}前改正上述违法行为：{{ correction_requirements }}",
        REMEDY,
        ("sign", ["{{ agency_name }}", "（印章）", "{{ correction_order_date|cn_date }}"]),
    ]),
]


def _font(run, name: str, size: float, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _paragraph(container, text: str, *, font=BODY_FONT, size=16.0, align=None, indent=True, bold=False):
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(28)
    fmt.space_before = fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    if align is not None:
        paragraph.alignment = align
    _font(paragraph.add_run(text), font, size, bold)
    return paragraph


def build(text: Text) -> Document:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = document.styles["Normal"]
    _font_style = normal.font
    _font_style.name, _font_style.size = BODY_FONT, Pt(16)
    normal_rpr = normal.element.get_or_add_rPr()
    normal_rpr.get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    lang = normal_rpr.makeelement(qn("w:lang"), {qn("w:val"): "zh-CN", qn("w:eastAsia"): "zh-CN"})
    normal_rpr.append(lang)  # Chinese glyph forms from the pan-CJK Noto fonts
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(footer.add_run("{{ case_no }}"), BODY_FONT, 10.5)

    center = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(document, "{{ agency_name }}", font=TITLE_FONT, size=22, align=center, indent=False)
    _paragraph(document, text.title, font=TITLE_FONT, size=22, align=center, indent=False)
    if text.numbered:
        _paragraph(document, text.number, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _paragraph(document, "", indent=False)
    for item in text.body:
        if isinstance(item, str):
            _paragraph(document, item)
        elif item[0] == "table":
            table = document.add_table(rows=0, cols=2)
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for label, value in item[1]:
                row = table.add_row()
                row.cells[0].width, row.cells[1].width = Mm(45), Mm(111)
                row.cells[0].paragraphs[0].text = ""
                _font(row.cells[0].paragraphs[0].add_run(label), HEAD_FONT, 12)
                _font(row.cells[1].paragraphs[0].add_run(value), BODY_FONT, 12)
        elif item[0] == "sign":
            _paragraph(document, "", indent=False)
            for line in item[1]:
                p = _paragraph(document, line, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
                p.paragraph_format.right_indent = Pt(32)
    props = document.core_properties
    props.title, props.category = text.title, text.process
    props.author = props.last_modified_by = "zhifa"
    props.created = props.modified = datetime(2026, 1, 1, tzinfo=timezone.utc)
    props.revision = 1
    return document


def save(document: Document, path: Path) -> None:
    """Byte for byte the same file every run (fixed zip timestamps), so git shows real changes only."""
    buffer = io.BytesIO()
    document.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(zipfile.ZipInfo(item.filename, date_time=(2026, 1, 1, 0, 0, 0)), source.read(item))
    path.write_bytes(out.getvalue())


def main(argv: list[str]) -> None:
    out = Path(argv[0] if argv else "documents")
    out.mkdir(parents=True, exist_ok=True)
    for text in TEXTS:
        save(build(text), out / f"{text.key}.docx")
        print(out / f"{text.key}.docx", text.title)


if __name__ == "__main__":
    main(sys.argv[1:])
