"""Element-level differences between two versions of a process, in the modeler's words.

Both versions' files are compared as deployed (the XML legal staff saved, before any
translation): tasks and other flow elements, sequence flows, form fields, conditions,
timers and task attributes (candidate groups, deadlines, decision references, scripts).
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from sqlalchemy.orm import Session

from engine.spec.xmlsafe import local, parse
from engine.store.models import ProcessDefinition, Resource

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
_NODE_LABELS = {
    "userTask": "用户任务", "scriptTask": "脚本任务", "businessRuleTask": "业务规则任务", "callActivity": "调用活动",
    "subProcess": "子流程", "task": "任务", "manualTask": "人工任务", "serviceTask": "服务任务", "sendTask": "发送任务",
    "receiveTask": "接收任务", "startEvent": "开始事件", "endEvent": "结束事件", "boundaryEvent": "边界事件",
    "intermediateCatchEvent": "中间捕获事件", "intermediateThrowEvent": "中间抛出事件",
    "exclusiveGateway": "排他网关", "inclusiveGateway": "包容网关", "parallelGateway": "并行网关",
    "eventBasedGateway": "事件网关",
}
_ATTRIBUTES = {
    "name": "名称", "candidateGroups": "候选岗位", "candidateUsers": "候选人", "assignee": "办理人",
    "dueDate": "办理期限", "followUpDate": "跟进日期", "priority": "优先级", "decisionRef": "决策表",
    "calledElement": "被调用流程", "default": "默认流/默认值", "attachedToRef": "附着于", "cancelActivity": "中断",
    "script": "脚本", "message": "消息", "formKey": "表单键",
    "label": "标签", "type": "类型", "validation": "校验规则", "values": "可选值",
    "recordItem": "执法记录事项", "recordBy": "记录方式取决于", "recordFor": "需音像记录的取值",
    "excludeActorsOf": "查处分离（不得办理者）", "returnField": "退回字段", "returnValue": "退回取值",
    "returnReasonField": "退回理由字段", "documentNumber": "文书编号",
}
CATEGORIES = ("任务", "顺序流", "表单字段", "条件", "定时器")


@dataclass(frozen=True)
class Change:
    category: str  # 任务 | 顺序流 | 表单字段 | 条件 | 定时器
    change: str  # added | removed | changed
    element_id: str
    label: str  # what a person reads: the element's name and type, or the field's task
    before: str = ""
    after: str = ""

    @property
    def change_label(self) -> str:
        return {"added": "新增", "removed": "删除", "changed": "修改"}[self.change]


def _process(root: etree._Element, key: str):
    found = root.xpath(f"bpmn:process[@id='{key}']", namespaces=NS) if "'" not in key else []
    return found[0] if found else None


def _name(el) -> str:
    return (el.get("name") or "").strip()


def _text(el) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _nodes(proc) -> dict[str, dict]:
    nodes = {}
    for el in proc.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith("{%s}" % BPMN):
            continue
        kind = local(el)
        if kind not in _NODE_LABELS or not el.get("id"):
            continue
        attrs = {"name": _name(el)}
        for attr in ("candidateGroups", "candidateUsers", "assignee", "dueDate", "followUpDate", "priority",
                     "decisionRef", "formKey"):
            value = el.get(f"{{{CAMUNDA}}}{attr}")
            if value:
                attrs[attr] = value.strip()
        for attr in ("calledElement", "default", "attachedToRef", "cancelActivity"):
            if el.get(attr):
                attrs[attr] = el.get(attr)
        for prop in el.xpath("bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS):
            if prop.get("name"):  # recordItem, excludeActorsOf, returnField …
                attrs[prop.get("name")] = prop.get("value") or ""
        script = el.find(f"{{{BPMN}}}script")
        if script is not None:
            attrs["script"] = (script.text or "").strip()
        med = el.find(f"{{{BPMN}}}messageEventDefinition")
        if med is not None and med.get("messageRef"):
            attrs["message"] = med.get("messageRef")
        nodes[el.get("id")] = {"kind": kind, "attrs": attrs, "el": el}
    return nodes


def _flows(proc) -> dict[str, dict]:
    out = {}
    for f in proc.iter(f"{{{BPMN}}}sequenceFlow"):
        cond = f.find(f"{{{BPMN}}}conditionExpression")
        reason = f.xpath("bpmn:extensionElements/camunda:properties/camunda:property[@name='returnReason']/@value",
                         namespaces=NS)
        out[f.get("id")] = {"name": _name(f), "source": f.get("sourceRef"), "target": f.get("targetRef"),
                            "condition": _text(cond) if cond is not None else None,
                            "reason": reason[0] if reason else ""}
    return out


def _fields(nodes: dict[str, dict]) -> dict[tuple[str, str], dict]:
    out = {}
    for node_id, node in nodes.items():
        for f in node["el"].xpath("bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NS):
            constraints = [f"{c.get('name')}" + (f"={c.get('config')}" if c.get("config") else "")
                           for c in f.xpath("camunda:validation/camunda:constraint", namespaces=NS)]
            values = [f"{v.get('id')}={v.get('name')}" for v in f.xpath("camunda:value", namespaces=NS)]
            out[(node_id, f.get("id") or "")] = {
                "label": f.get("label") or "", "type": f.get("type") or "string",
                "default": f.get("defaultValue") or "", "validation": ", ".join(constraints),
                "values": ", ".join(values)}
    return out


def _timers(nodes: dict[str, dict]) -> dict[str, str]:
    out = {}
    for node_id, node in nodes.items():
        for ted in node["el"].findall(f"{{{BPMN}}}timerEventDefinition"):
            parts = [f"{local(c)}: {_text(c)}" for c in ted if isinstance(c.tag, str)]
            out[node_id] = "; ".join(parts)
    return out


def _describe(attrs: dict[str, str]) -> str:
    return "；".join(f"{_ATTRIBUTES.get(k, k)}：{v}" for k, v in attrs.items() if k != "name" and v)


def _node_label(node: dict, element_id: str) -> str:
    return f"{node['attrs'].get('name') or element_id}（{_NODE_LABELS[node['kind']]}）"


def _flow_text(f: dict, nodes: dict[str, dict]) -> str:
    def name(ref):
        node = nodes.get(ref)
        return (node["attrs"].get("name") if node else None) or ref
    return (f"{name(f['source'])} → {name(f['target'])}" + (f"（{f['name']}）" if f["name"] else "")
            + (f"〔退回说明：{f['reason']}〕" if f.get("reason") else ""))


def _changed_dict(a: dict, b: dict) -> tuple[str, str]:
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    return ("；".join(f"{_ATTRIBUTES.get(k, k)}：{a.get(k) or '（无）'}" for k in keys),
            "；".join(f"{_ATTRIBUTES.get(k, k)}：{b.get(k) or '（无）'}" for k in keys))


def diff_xml(old: bytes, new: bytes, key: str) -> list[Change]:
    """Changes of process ``key`` from file ``old`` to file ``new``."""
    trees = [parse(data, f"v{n}")[0] for n, data in ((1, old), (2, new))]
    procs = [_process(t.getroot(), key) if t is not None else None for t in trees]
    if procs[0] is None or procs[1] is None:
        raise ValueError(f"文件中没有流程 “{key}”")
    a_nodes, b_nodes = _nodes(procs[0]), _nodes(procs[1])
    changes: list[Change] = []

    for eid in dict.fromkeys([*a_nodes, *b_nodes]):
        a, b = a_nodes.get(eid), b_nodes.get(eid)
        if a is None:
            changes.append(Change("任务", "added", eid, _node_label(b, eid), "", _describe(b["attrs"])))
        elif b is None:
            changes.append(Change("任务", "removed", eid, _node_label(a, eid), _describe(a["attrs"]), ""))
        elif a["kind"] != b["kind"] or a["attrs"] != b["attrs"]:
            before, after = _changed_dict({"类型": _NODE_LABELS[a["kind"]], **a["attrs"]},
                                          {"类型": _NODE_LABELS[b["kind"]], **b["attrs"]})
            changes.append(Change("任务", "changed", eid, _node_label(b, eid), before, after))

    a_flows, b_flows = _flows(procs[0]), _flows(procs[1])
    for fid in dict.fromkeys([*a_flows, *b_flows]):
        a, b = a_flows.get(fid), b_flows.get(fid)
        if a is None:
            changes.append(Change("顺序流", "added", fid, _flow_text(b, b_nodes), "", _flow_text(b, b_nodes)))
        elif b is None:
            changes.append(Change("顺序流", "removed", fid, _flow_text(a, a_nodes), _flow_text(a, a_nodes), ""))
        elif (a["source"], a["target"], a["name"], a["reason"]) != (b["source"], b["target"], b["name"], b["reason"]):
            changes.append(Change("顺序流", "changed", fid, _flow_text(b, b_nodes),
                                  _flow_text(a, a_nodes), _flow_text(b, b_nodes)))
        a_cond, b_cond = (a or {}).get("condition"), (b or {}).get("condition")
        if a_cond != b_cond:
            kind = "added" if not a_cond else "removed" if not b_cond else "changed"
            flow = b or a
            changes.append(Change("条件", kind, fid, _flow_text(flow, b_nodes if b else a_nodes),
                                  a_cond or "", b_cond or ""))

    a_fields, b_fields = _fields(a_nodes), _fields(b_nodes)
    for ref in dict.fromkeys([*a_fields, *b_fields]):
        a, b = a_fields.get(ref), b_fields.get(ref)
        node = b_nodes.get(ref[0]) or a_nodes.get(ref[0])
        label = f"{(node['attrs'].get('name') if node else None) or ref[0]} · {(b or a)['label'] or ref[1]}（{ref[1]}）"

        def show(f):
            return "；".join(f"{_ATTRIBUTES.get(k, k)}：{v}" for k, v in f.items() if v)
        if a is None:
            changes.append(Change("表单字段", "added", ref[0], label, "", show(b)))
        elif b is None:
            changes.append(Change("表单字段", "removed", ref[0], label, show(a), ""))
        elif a != b:
            before, after = _changed_dict(a, b)
            changes.append(Change("表单字段", "changed", ref[0], label, before, after))

    a_timers, b_timers = _timers(a_nodes), _timers(b_nodes)
    for eid in dict.fromkeys([*a_timers, *b_timers]):
        a, b = a_timers.get(eid), b_timers.get(eid)
        if a != b:
            kind = "added" if a is None else "removed" if b is None else "changed"
            node = b_nodes.get(eid) or a_nodes.get(eid)
            changes.append(Change("定时器", kind, eid, _node_label(node, eid), a or "", b or ""))

    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(changes, key=lambda c: order[c.category])


def diff_versions(session: Session, old: ProcessDefinition, new: ProcessDefinition) -> list[Change]:
    if old.key != new.key:
        raise ValueError("只能比较同一流程的两个版本")
    a, b = session.get(Resource, old.resource_id), session.get(Resource, new.resource_id)
    return diff_xml(a.content.encode(), b.content.encode(), old.key)
