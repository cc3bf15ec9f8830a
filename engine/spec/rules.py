"""Project rules for BPMN files, and the translation of what Camunda Modeler writes.

``prepare`` rewrites conditions, timers and message payloads into the Python that
SpiffWorkflow evaluates, and reports everything we would not run correctly, each
problem with its file, line and element id.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from lxml import etree

from engine import hooks
from engine.sandbox import expressions, scripting
from engine.spec import forms
from engine.spec.dmn import MAP_DECISION_RESULT
from engine.spec.forms import FIELD_TYPES, VALIDATION_CONSTRAINTS
from engine.spec.parser import TASK_ATTRIBUTES
from engine.spec.problems import Problem
from engine.spec.xmlsafe import local
from engine.store.models import HumanTask, MessageSubscription, ProcessDefinition

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ACTIVITI = "http://activiti.org/bpmn"  # the legacy namespace Camunda 7 still reads camunda:* attributes from
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
_RESERVED_IDS = {"Start", "End", "Root"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")
_CAMUNDA_TAG = "{%s}" % CAMUNDA


def _non_ascii_names(python: str) -> bool:
    """Variables are form field ids (ASCII identifiers): a name like 三天 is a typo, not a variable."""
    try:
        tree = ast.parse(python, mode="eval")
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Name) and not n.id.isascii() for n in ast.walk(tree))


ALL_STAFF = "*"  # camunda:candidateStarterGroups="*": every user may start the process


def _codes(raw: str | None) -> list[str]:
    return [c.strip() for c in (raw or "").split(",") if c.strip()]


@dataclass
class BpmnFacts:
    """What a file defines and needs, for checks across files."""
    processes: dict[str, str] = field(default_factory=dict)  # id -> name
    starter_groups: dict[str, list[str]] = field(default_factory=dict)  # id -> who may start (see collect_facts)
    in_tasklist: dict[str, bool] = field(default_factory=dict)  # id -> camunda:isStartableInTasklist
    called_processes: list[tuple[str, int, str]] = field(default_factory=list)  # (element id, line, called id)
    decision_refs: list[tuple[str, int, str]] = field(default_factory=list)
    candidate_groups: list[tuple[str, int, str]] = field(default_factory=list)
    exclusion_refs: list[tuple[str, int, str]] = field(default_factory=list)  # (element id, line, excludeActorsOf name)
    actor_sources: set[str] = field(default_factory=set)  # user task ids and officers field ids it may name


class _Checker:
    def __init__(self, root: etree._Element, file: str):
        self.root, self.file = root, file
        self.problems: list[Problem] = []
        self.facts = BpmnFacts()

    def problem(self, el: etree._Element, message: str) -> None:
        owner = el
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        self.problems.append(Problem(self.file, el.sourceline, owner.get("id") if owner is not None else None, message))

    def xp(self, path: str, el=None):
        return (self.root if el is None else el).xpath(path, namespaces=NS)

    def variables(self) -> set[str]:
        """Names a process of this file can hold: form fields, script assignments, result variables."""
        if not hasattr(self, "_variables"):
            names = {"business_key"}
            names.update(f.get("id") for f in self.xp("//camunda:formField") if f.get("id"))
            names.update(v for v in self.xp("//@camunda:resultVariable"))
            for script in self.xp("//bpmn:scriptTask/bpmn:script"):
                try:
                    tree = ast.parse(script.text or "")
                except SyntaxError:
                    continue
                names.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
            self._variables = names
        return self._variables

    # -- expressions -------------------------------------------------------------
    def translate(self, el: etree._Element, text: str, what: str) -> str | None:
        try:
            python = expressions.to_python(text)
        except ValueError as e:
            self.problem(el, f"{what}无法解析：{e}")
            return None
        error = scripting.check_source(python, "eval")
        if error:
            self.problem(el, f"{what}不被允许或有语法错误：{error}")
            return None
        return python

    def check_conditions(self) -> None:
        for cond in self.xp("//bpmn:sequenceFlow/bpmn:conditionExpression"):
            lang = cond.get("language")
            if lang and lang.lower() not in ("python", "juel", "${}"):
                self.problem(cond, f"不支持的条件表达式语言 {lang}，请使用 JUEL（${{...}}）或 Python")
                continue
            if cond.get("{%s}resource" % CAMUNDA):
                self.problem(cond, "不支持外部条件脚本（camunda:resource），请直接写表达式")
                continue
            python = self.translate(cond, cond.text or "", "条件表达式")
            if python is not None:
                cond.text = python

    def check_gateways(self) -> None:
        for gw in self.xp("//bpmn:exclusiveGateway | //bpmn:inclusiveGateway"):
            flows = self.xp(f"//bpmn:sequenceFlow[@sourceRef='{gw.get('id')}']")
            if len(flows) < 2:
                continue
            default = gw.get("default")
            for flow in flows:
                if flow.get("id") != default and not self.xp("bpmn:conditionExpression", flow):
                    self.problem(flow, "网关的非默认出口必须有条件表达式（或将其设为默认流）")

    def check_joins_in_loops(self) -> None:
        """SpiffWorkflow 3.2 looks for a parallel or inclusive join's branches across the task tree,
        where a loop's earlier passes stay: from the second pass on, such a join merges as soon as
        the first branch arrives. A called process gets a tree of its own on every pass."""
        following: dict[str, list[str]] = {}
        for flow in self.xp("//bpmn:sequenceFlow"):
            following.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
        for event in self.xp("//bpmn:boundaryEvent[@attachedToRef]"):
            following.setdefault(event.get("attachedToRef"), []).append(event.get("id"))
        for gw in self.xp("//bpmn:parallelGateway | //bpmn:inclusiveGateway"):
            merges = len(self.xp(f"//bpmn:sequenceFlow[@targetRef='{gw.get('id')}']")) > 1
            if merges and _reaches(following, gw.get("id")):
                kind = "并行网关" if local(gw) == "parallelGateway" else "包容网关"
                name = f"“{gw.get('name')}”" if gw.get("name") else ""
                self.problem(gw, f"合并分支的{kind}{name}不能位于循环中：循环第二遍起，它会在第一个分支到达时就合并，"
                                 "不等其他分支（SpiffWorkflow 3.2）。请把分支和合并放进被调用的子流程（调用活动），"
                                 "每遍调用各自办理")

    def check_timers(self) -> None:
        for ted in self.xp("//bpmn:timerEventDefinition"):
            kinds = [c for c in ted if isinstance(c.tag, str) and local(c) in _TIMER_KINDS]
            if not kinds:
                self.problem(ted, "定时器缺少时间定义（timeDate / timeDuration / timeCycle）")
            for el in kinds:
                try:
                    python = expressions.timer_to_python(local(el), (el.text or "").strip())
                except ValueError as e:
                    self.problem(el, f"定时器表达式无法解析：{e}")
                    continue
                error = scripting.check_source(python, "eval")
                if error:
                    self.problem(el, f"定时器表达式不被允许：{error}")
                elif _non_ascii_names(python):
                    self.problem(el, f"定时器 “{(el.text or '').strip()}” 既不是 ISO 8601 时间（例如 P5D、PT1H、"
                                     "2026-12-01T09:00:00+08:00），也不是表达式（例如 ${add_working_days(filed_on, 15)}）")
                else:
                    el.text = python

    def check_messages(self) -> None:
        for med in self.xp("//bpmn:messageEventDefinition"):
            ref = med.get("messageRef")
            if not ref or not self.xp(f"//bpmn:message[@id='{ref}' and @name]"):
                self.problem(med, "消息事件必须引用一个有名称的消息（message）")
            expr = med.get("{%s}expression" % CAMUNDA)
            parent = local(med.getparent())
            if parent in ("intermediateThrowEvent", "endEvent"):
                if not expr:
                    self.problem(med, "抛出消息必须在 camunda:expression 中给出消息内容（例如 ${ {'party_name': party_name} }）")
                    continue
                python = self.translate(med, expr, "消息内容表达式")
                if python is not None:
                    med.set("{%s}expression" % CAMUNDA, python)

    def check_scripts(self) -> None:
        for st in self.xp("//bpmn:scriptTask"):
            fmt = (st.get("scriptFormat") or "python").lower()
            if fmt != "python":
                self.problem(st, f"不支持脚本语言 {fmt}，脚本必须是 Python（scriptFormat=\"python\"）")
                continue
            if st.get("{%s}resource" % CAMUNDA):
                self.problem(st, "不支持外部脚本（camunda:resource），请把脚本写在模型里")
                continue
            script = self.xp("bpmn:script", st)
            if not script or not (script[0].text or "").strip():
                self.problem(st, "脚本任务没有脚本内容")
                continue
            error = scripting.check_source(script[0].text, "exec")
            if error:
                self.problem(script[0], f"脚本不被允许或有语法错误：{error}")

    # -- constructs we do not run -------------------------------------------------
    def check_unsupported(self) -> None:
        unsupported = {
            "class": "Java 类（camunda:class）", "delegateExpression": "委托表达式（camunda:delegateExpression）",
            "caseRef": "CMMN 案例（camunda:caseRef）", "formRef": "Camunda Forms（camunda:formRef）",
        }
        for el in self.root.iter():
            if not isinstance(el.tag, str):
                continue
            for attr, label in unsupported.items():
                if el.get(_CAMUNDA_TAG + attr) is not None:
                    self.problem(el, f"不支持{label}：zhifa 不执行 Java 代码，请改用脚本任务或用户任务")
            if el.get(_CAMUNDA_TAG + "type") == "external":
                self.problem(el, "不支持外部任务（camunda:type=\"external\"），请改用用户任务或脚本任务")
            tag = local(el)
            if el.tag.startswith(_CAMUNDA_TAG) and tag in ("taskListener", "executionListener"):
                self.problem(el, "不支持监听器（listener），请把逻辑画成脚本任务")
            if el.tag.startswith(_CAMUNDA_TAG) and tag in ("inputOutput", "in", "out", "connector"):
                self.problem(el, f"不支持 camunda:{tag}：调用活动会带入并带回全部案件数据，请删除此映射")
            if el.tag.startswith("{%s}" % BPMN) and tag in ("serviceTask", "sendTask") and el.get(_CAMUNDA_TAG + "expression"):
                self.problem(el, "不支持服务任务表达式（camunda:expression），请改用脚本任务")
            if el.tag.startswith("{%s}" % BPMN) and tag in ("serviceTask", "sendTask"):
                self.problem(el, "不支持服务任务/发送任务：请改用脚本任务或消息抛出事件")
            if el.get("id") in _RESERVED_IDS or (el.get("id") or "").endswith(".EndJoin"):
                self.problem(el, f"元素 id “{el.get('id')}” 是引擎保留字，请改名")

    # -- user tasks and forms --------------------------------------------------------
    def check_user_tasks(self) -> None:
        for ut in self.xp("//bpmn:userTask"):
            for attr in TASK_ATTRIBUTES:
                raw = ut.get(_CAMUNDA_TAG + attr)
                if raw and raw.strip().startswith(("${", "#{")):
                    self.translate(ut, raw.strip(), f"camunda:{attr} ")
                elif raw and attr == "candidateGroups":
                    for code in (c.strip() for c in raw.split(",")):
                        if code:
                            self.facts.candidate_groups.append((ut.get("id"), ut.sourceline, code))
                elif raw and attr == "priority" and not (raw.strip().isascii() and raw.strip().isdigit()):
                    self.problem(ut, "camunda:priority 必须是 0–100 的整数或表达式")
            self.check_form(ut)
            self.check_assignment(ut)
            for prop in self.xp("bpmn:extensionElements/camunda:properties/camunda:property", ut):
                if prop.get("name") == "excludeActorsOf":
                    self.check_exclusions(prop)
                check = hooks.property_checks.get(prop.get("name") or "")
                for message in check(prop.get("value") or "") if check else []:
                    self.problem(prop, message)
        for se in self.xp("//bpmn:startEvent"):
            self.check_form(se)

    def first_step_posts(self, proc: etree._Element) -> list[str]:
        """Candidate groups of the user tasks first reached from the process's none start
        events, passing gateways and automatic tasks (a permit's 受理岗 of every department)."""
        flows: dict[str, list[str]] = {}
        for flow in self.xp("bpmn:sequenceFlow", proc):
            flows.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
        nodes = {el.get("id"): el for el in self.xp("bpmn:*[@id]", proc)}
        todo = [se.get("id") for se in self.xp("bpmn:startEvent[not(bpmn:*[contains(local-name(), 'EventDefinition')])]", proc)]
        seen, posts = set(todo), []
        while todo:
            for target in flows.get(todo.pop(), []):
                el = nodes.get(target)
                if target in seen or el is None:
                    continue
                seen.add(target)
                if etree.QName(el).localname == "userTask":
                    posts += [g for g in _codes(el.get(_CAMUNDA_TAG + "candidateGroups")) if "{" not in g]
                elif etree.QName(el).localname.endswith(("Gateway", "scriptTask", "businessRuleTask", "task")):
                    todo.append(target)
        return list(dict.fromkeys(posts))
    def check_exclusions(self, prop: etree._Element) -> None:
        """Separation of duties names user tasks and officers fields — of this file or of the deployed
        files (a called process such as 法制审核 names the caller's steps): checked across files."""
        owner = prop.getparent().getparent().getparent()
        for name in (n.strip() for n in (prop.get("value") or "").split(",")):
            if name:
                self.facts.exclusion_refs.append((owner.get("id"), prop.sourceline, name))

    def check_assignment(self, ut: etree._Element) -> None:
        """Someone must be able to see the task: candidate groups, users, an assignee, or a lane
        whose name is a post code (the lane is used when the task names no candidate groups)."""
        if ut.get(_CAMUNDA_TAG + "formKey") and not self.xp("bpmn:extensionElements/camunda:formData", ut):
            self.problem(ut, "不支持 camunda:formKey（嵌入式或外部表单），请在属性面板 “Forms” 中用 “Generated Task Forms” 定义表单字段")
        if any((ut.get(_CAMUNDA_TAG + a) or "").strip() for a in ("candidateGroups", "candidateUsers", "assignee")):
            return
        lanes = self.xp(f"//bpmn:lane[bpmn:flowNodeRef[normalize-space(text())='{ut.get('id')}']]")
        lane = (lanes[-1].get("name") or "").strip() if lanes else ""
        if not lane:
            self.problem(ut, "用户任务没有办理岗位：请在 camunda:candidateGroups 中填写岗位代码（例如 legal.review），或把任务放入以岗位代码命名的泳道")
        else:
            for code in (c.strip() for c in lane.split(",")):
                if code:
                    self.facts.candidate_groups.append((ut.get("id"), ut.sourceline, code))

    def check_form(self, ut: etree._Element) -> None:
        seen = set()
        for f in self.xp("bpmn:extensionElements/camunda:formData/camunda:formField", ut):
            fid, ftype = f.get("id") or "", f.get("type") or "string"
            if not _IDENTIFIER.match(fid) or fid == "typename":
                self.problem(f, f"表单字段 id “{fid}” 必须是英文标识符（字母、数字、下划线，且不是 typename）")
            if fid in seen:
                self.problem(f, f"表单字段 id “{fid}” 重复")
            seen.add(fid)
            if ftype not in FIELD_TYPES:
                self.problem(f, f"不支持的字段类型 “{ftype}”，可用：{', '.join(FIELD_TYPES)}")
            if ftype == "enum" and not self.xp("camunda:value", f):
                self.problem(f, f"枚举字段 “{fid}” 没有可选值（camunda:value）")
            for c in self.xp("camunda:validation/camunda:constraint", f):
                name, config = c.get("name"), c.get("config")
                if name not in VALIDATION_CONSTRAINTS:
                    self.problem(c, f"不支持的校验规则 “{name}”，可用：{', '.join(VALIDATION_CONSTRAINTS)}")
                elif name in ("min", "max", "minlength", "maxlength"):
                    try:
                        float(config)
                    except (TypeError, ValueError):
                        self.problem(c, f"校验规则 {name} 的参数 “{config}” 不是数字")
                else:
                    self.check_rule(c, name, config, fid, ftype)
            if ftype == "officers":  # its posts must exist, like candidate groups
                for prop in self.xp("camunda:properties/camunda:property[@id='posts']", f):
                    for code in (c.strip() for c in (prop.get("value") or "").split(",")):
                        if code:
                            self.facts.candidate_groups.append((fid, f.sourceline, code))

    _RULE_TYPES = {"notBefore": ("date", "long", "money"), "notAfter": ("date", "long", "money"),
                   "workingDay": ("date",), "daytime": ("string",), "confirmed": ("boolean",)}

    def check_rule(self, c: etree._Element, name: str, config: str | None, fid: str, ftype: str) -> None:
        """Cross-field rules: the field type fits, the referenced variable exists, the condition runs."""
        types = self._RULE_TYPES.get(name)
        if types and ftype not in types:
            self.problem(c, f"校验规则 {name} 只适用于 {'/'.join(types)} 类型的字段，字段 “{fid}” 是 {ftype}")
        if name == "daytime":
            try:
                forms.daytime_bounds(config)
            except ValueError as e:
                self.problem(c, f"校验规则 daytime 的{e}")
        if name not in forms.REFERENCE_CONSTRAINTS:
            return
        try:
            ref, condition = forms.parse_reference(config)
        except ValueError as e:
            self.problem(c, f"校验规则 {name} 的{e}")
            return
        if ref == "today" and name == "equals":
            self.problem(c, "校验规则 equals 不能引用 today")
        elif ref != "today" and ref not in self.variables():
            self.problem(c, f"校验规则 {name} 引用的变量 “{ref}” 在本文件的流程中不存在（不是任何表单字段、脚本或结果变量）")
        if condition is not None:
            error = scripting.check_source(condition, "eval")
            if error:
                self.problem(c, f"校验规则 {name} 的条件不被允许或有语法错误：{error}")

    def collect_facts(self) -> None:
        self.facts.actor_sources = ({t.get("id") for t in self.xp("//bpmn:userTask")}
                                    | {s.get("id") for s in self.xp("//bpmn:startEvent")}
                                    | {f.get("id") for f in self.xp("//camunda:formField[@type='officers']")})
        for proc in self.xp("//bpmn:process"):
            if proc.get("isExecutable", "true") != "false":
                self.facts.processes[proc.get("id")] = proc.get("name") or proc.get("id")
                starters = _codes(proc.get(_CAMUNDA_TAG + "candidateStarterGroups"))
                users = _codes(proc.get(_CAMUNDA_TAG + "candidateStarterUsers"))
                if ALL_STAFF in starters:  # e.g. 调阅: asked for by anyone, so no post list to keep in step
                    self.facts.starter_groups[proc.get("id")] = []
                else:
                    self.facts.candidate_groups += [(proc.get("id"), proc.sourceline, g) for g in starters]
                    # Undeclared: whoever does the first step may start (e.g. 案源登记's 立案岗).
                    self.facts.starter_groups[proc.get("id")] = (starters + [f"user:{u}" for u in users]) \
                        or self.first_step_posts(proc)
                self.facts.in_tasklist[proc.get("id")] = proc.get(_CAMUNDA_TAG + "isStartableInTasklist") != "false"
        for ca in self.xp("//bpmn:callActivity"):
            called = ca.get("calledElement")
            if not called:
                self.problem(ca, "调用活动缺少 calledElement（被调用流程的 id）")
            else:
                self.facts.called_processes.append((ca.get("id"), ca.sourceline, called))
        for brt in self.xp("//bpmn:businessRuleTask"):
            mapping = brt.get(_CAMUNDA_TAG + "mapDecisionResult")
            if mapping and mapping not in MAP_DECISION_RESULT:
                self.problem(brt, f"camunda:mapDecisionResult 只能是 {', '.join(MAP_DECISION_RESULT)}")
            ref = brt.get(_CAMUNDA_TAG + "decisionRef")
            if not ref:
                self.problem(brt, "业务规则任务缺少 camunda:decisionRef（决策表 id）")
            else:
                self.facts.decision_refs.append((brt.get("id"), brt.sourceline, ref))
        for flow in self.xp("//bpmn:sequenceFlow"):
            for end in ("sourceRef", "targetRef"):
                ref = flow.get(end)
                if not ref or not self.xp(f"//*[@id='{ref}']"):
                    self.problem(flow, f"顺序流的 {end} 指向不存在的元素 “{ref}”")

    def check_lengths(self) -> None:
        """What the database stores of a model fits its columns (else every start would fail)."""
        for path, attr, column, what in _LENGTHS:
            limit = column.type.length
            for el in self.xp(path):
                value = el.get(attr) or ""
                if len(value) > limit:
                    self.problem(el, f"{what}过长：{len(value)} 个字符，最多 {limit} 个")


# (elements, attribute, the column that stores it, what it is called)
_LENGTHS = (
    ("//bpmn:process", "id", ProcessDefinition.__table__.c.key, "流程 id"),
    ("//bpmn:process", "name", ProcessDefinition.__table__.c.name, "流程名称"),
    ("//bpmn:process", _CAMUNDA_TAG + "candidateStarterGroups", ProcessDefinition.__table__.c.starter_groups,
     "可发起岗位（candidateStarterGroups）"),
    ("//bpmn:*[@id]", "id", HumanTask.__table__.c.element_id, "元素 id"),
    ("//bpmn:*[@id]", "name", HumanTask.__table__.c.name, "元素名称"),
    ("//bpmn:lane", "name", HumanTask.__table__.c.lane, "泳道名称"),
    ("//bpmn:message", "name", MessageSubscription.__table__.c.message, "消息名称"),
    ("//bpmn:userTask", _CAMUNDA_TAG + "candidateGroups", HumanTask.__table__.c.candidate_groups,
     "候选岗位（candidateGroups）"),
    ("//bpmn:userTask", _CAMUNDA_TAG + "candidateUsers", HumanTask.__table__.c.candidate_users,
     "候选人（candidateUsers）"),
    ("//bpmn:userTask", _CAMUNDA_TAG + "assignee", HumanTask.__table__.c.assignee, "办理人（assignee）"),
)


def _reaches(following: dict[str, list[str]], start: str) -> bool:
    """Whether the flows out of ``start`` lead back to it."""
    seen, stack = set(), list(following.get(start, []))
    while stack:
        node = stack.pop()
        if node == start:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(following.get(node, []))
    return False


def adopt_legacy_namespace(root: etree._Element) -> None:
    """Elements and attributes in ``http://activiti.org/bpmn`` are read as Camunda's, like Camunda 7 does."""
    legacy, ours = "{%s}" % ACTIVITI, _CAMUNDA_TAG
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag.startswith(legacy):
            el.tag = ours + el.tag[len(legacy):]
        for name in [n for n in el.attrib if n.startswith(legacy)]:
            el.set(ours + name[len(legacy):], el.attrib.pop(name))


def prepare(root: etree._Element, file: str) -> tuple[BpmnFacts, list[Problem]]:
    """Translate ``root`` in place and return what it defines and what is wrong with it."""
    adopt_legacy_namespace(root)
    checker = _Checker(root, file)
    checker.check_unsupported()
    checker.check_lengths()
    checker.collect_facts()
    checker.check_conditions()
    checker.check_gateways()
    checker.check_joins_in_loops()
    checker.check_timers()
    checker.check_messages()
    checker.check_scripts()
    checker.check_user_tasks()
    return checker.facts, checker.problems
