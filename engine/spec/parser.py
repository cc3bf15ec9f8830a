"""SpiffWorkflow's Camunda parser, extended to keep the task attributes it drops.

CamundaParser ignores camunda:assignee, candidateUsers, candidateGroups, dueDate,
followUpDate and priority, and leaks camunda:properties of child elements into a
subProcess. Ours stores them in ``task_spec.extensions`` (which the stock serializer
persists) as ``{"camunda": {attr: {"value": ...} | {"expr": python}}}``.
"""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser
from SpiffWorkflow.bpmn.specs.defaults import (CallActivity, ExclusiveGateway, InclusiveGateway, ManualTask, NoneTask,
                                               StartEvent)
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaStartEventParser
from SpiffWorkflow.camunda.parser.task_spec import (CallActivityParser, CamundaTaskParser, SubWorkflowParser,
                                                    UserTaskParser)
from SpiffWorkflow.camunda.specs import UserTask

from engine.sandbox import expressions
from engine.spec.dmn import DecisionTask, DecisionTaskParser

TASK_ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups", "dueDate", "followUpDate", "priority")
LIST_ATTRIBUTES = {"candidateUsers", "candidateGroups"}


def camunda_attribute(name: str, raw: str) -> dict:
    """``{"expr": python}`` for an expression, else ``{"value": literal}`` (lists split on commas)."""
    text = raw.strip()
    if text.startswith(("${", "#{")):
        return {"expr": expressions.to_python(text)}
    if name in LIST_ATTRIBUTES:
        return {"value": [part.strip() for part in text.split(",") if part.strip()]}
    return {"value": text}


RETURN_REASON = "returnReason"  # on a sequence flow: why taking it sends the case back


class _OwnExtensions:
    """Read properties of this element only, plus the camunda task attributes and the
    ``returnReason`` of its outgoing flows (``flowReasons``: target id → message)."""
    CAMUNDA_ATTRIBUTES = TASK_ATTRIBUTES

    def parse_extensions(self, node=None):
        props = self.xpath("./bpmn:extensionElements/camunda:properties/camunda:property")
        extensions = {p.get("name"): p.get("value") for p in props}
        reasons = {}
        for flow in self.doc_xpath(f".//bpmn:sequenceFlow[@sourceRef='{self.node.get('id')}']"):
            for prop in flow.xpath("./bpmn:extensionElements/camunda:properties/camunda:property",
                                   namespaces=self.nsmap):
                if prop.get("name") == RETURN_REASON and (prop.get("value") or "").strip():
                    reasons[flow.get("targetRef")] = prop.get("value").strip()
        if reasons:
            extensions["flowReasons"] = reasons
        camunda = {}
        for name in self.CAMUNDA_ATTRIBUTES:
            raw = self.attribute(name, "camunda")
            if raw is not None and raw.strip():
                camunda[name] = camunda_attribute(name, raw)
        if camunda:
            extensions["camunda"] = camunda
        return extensions


class ZhifaUserTaskParser(_OwnExtensions, UserTaskParser):
    pass


class ZhifaDecisionTaskParser(_OwnExtensions, DecisionTaskParser):
    """Business rule tasks also keep camunda:resultVariable and mapDecisionResult."""
    CAMUNDA_ATTRIBUTES = ("resultVariable", "mapDecisionResult")


class ZhifaStartEventParser(_OwnExtensions, CamundaStartEventParser):
    """Start events keep their camunda:formData (the start form) in extensions."""

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        fields = []
        for f in self.xpath("./bpmn:extensionElements/camunda:formData/camunda:formField"):
            children = {etree.QName(c).localname: c for c in f if isinstance(c.tag, str)}
            fields.append({
                "id": f.get("id"), "label": f.get("label"), "type": f.get("type"), "default": f.get("defaultValue"),
                "options": [[v.get("id"), v.get("name")] for v in f if isinstance(v.tag, str) and etree.QName(v).localname == "value"],
                "validation": [[c.get("name"), c.get("config")] for c in children.get("validation", [])],
                "properties": {p.get("id"): p.get("value") for p in children.get("properties", [])},
            })
        if fields:
            extensions["formData"] = fields
        return extensions


class ZhifaTaskParser(_OwnExtensions, CamundaTaskParser):
    pass


class ZhifaSubWorkflowParser(_OwnExtensions, SubWorkflowParser):
    pass


class ZhifaCallActivityParser(_OwnExtensions, CallActivityParser):
    pass


class ZhifaGatewayParser(_OwnExtensions, ConditionalGatewayParser):
    pass


class ZhifaParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (ZhifaUserTaskParser, UserTask),
        full_tag("startEvent"): (ZhifaStartEventParser, StartEvent),
        full_tag("task"): (ZhifaTaskParser, NoneTask),
        full_tag("manualTask"): (ZhifaTaskParser, ManualTask),
        full_tag("subProcess"): (ZhifaSubWorkflowParser, CallActivity),
        full_tag("callActivity"): (ZhifaCallActivityParser, CallActivity),
        full_tag("businessRuleTask"): (ZhifaDecisionTaskParser, DecisionTask),
        full_tag("exclusiveGateway"): (ZhifaGatewayParser, ExclusiveGateway),
        full_tag("inclusiveGateway"): (ZhifaGatewayParser, InclusiveGateway),
    }
