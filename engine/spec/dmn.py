"""DMN decision tables: deploy-time translation and correct evaluation.

SpiffWorkflow 3.2 parses DMN but evaluates cells as Python, implements only UNIQUE
(without the uniqueness check) and COLLECT (without aggregation), and runs cells with
full builtins. Here:

* ``translate_dmn`` rewrites Camunda Modeler's FEEL cells into Spiff-style Python in the
  XML tree before Spiff parses it, and reports every cell it cannot translate.
* ``evaluate_table`` evaluates a parsed table with the restricted script engine and all
  DMN hit policies: UNIQUE (checked), FIRST, PRIORITY, ANY (checked), COLLECT (+ SUM,
  MIN, MAX, COUNT), RULE ORDER, OUTPUT ORDER.
* ``DecisionTask`` runs it for a businessRuleTask; plug it in with ``PARSER_OVERRIDES``
  and ``SERIALIZER_CONFIG``.

Results in task data: single-result policies set every output (``None`` when no rule
matches, so a gateway reading it gets ``None`` rather than a NameError); list policies
set each output to the list of its values in result order (``[]`` when nothing
matches); an aggregation (single output only, as in Camunda) sets the aggregated value
(COUNT counts non-null values and gives 0, the others ``None`` when nothing matches). A comparison that fails because the input is ``None`` counts as "no
match" (FEEL's null semantics); any other cell error stops the task naming decision
and rule.
"""
from __future__ import annotations

from copy import deepcopy

from dataclasses import dataclass, field
from typing import Any, Mapping

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, BusinessRuleTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.dmn.serializer.task_spec import BaseBusinessRuleTaskConverter
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin

from engine.sandbox import expressions, feel
from engine.sandbox.scripting import check_source
from engine.spec.problems import Problem
from engine.store.models import DecisionDefinition

SINGLE_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY")
LIST_POLICIES = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
_MARK = "{urn:zhifa}translated"  # set on a translated root so a second call is a no-op

# Secure parser for uploaded DMN: no entities, no DTD, no network.
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                              dtd_validation=False, huge_tree=False)


class DecisionError(Exception):
    """A decision that cannot be evaluated; the message names the decision and rule."""

    def __init__(self, decision: str, message: str, rule: str | None = None):
        self.decision, self.rule, self.reason = decision, rule, message
        where = f"决策表 decision {decision}" + (f", {rule}" if rule else "")
        super().__init__(f"{where}: {message}")


@dataclass
class DecisionResult:
    outputs: dict[str, Any] | list[dict[str, Any]]
    # (rule id, 1-based index) of the matching rules in result order: all of them, except
    # that FIRST stops at the first; for PRIORITY the winner comes first.
    matched: list[tuple[str, int]]
    hit_policy: str
    output_names: list[str] = field(default_factory=list)

    def variables(self) -> dict[str, Any]:
        """What goes into task data: a list result becomes one list per output."""
        if isinstance(self.outputs, list):
            return {name: [row[name] for row in self.outputs] for name in self.output_names}
        return dict(self.outputs)


# --- translation ------------------------------------------------------------------

def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el: Any, name: str) -> list:
    return [c for c in el if _local(c) == name]


def _text_child(el: Any) -> Any:
    found = _children(el, "text")
    return found[0] if found else None


def _output_name(output: Any) -> str:
    return (output.get("name") or output.get("label") or "").strip()


def translate_dmn(root: Any, file: str) -> list[Problem]:
    """Rewrite the FEEL/JUEL texts of a DMN tree into Python, in place; return problems."""
    if root.get(_MARK):
        return []
    problems: list[Problem] = []

    def problem(el: Any, message: str, element_id: str | None = None) -> None:
        problems.append(Problem(file, el.sourceline, element_id or el.get("id"), message))

    if _local(root) != "definitions":
        problem(root, "不是 DMN 文件：根元素必须是 <definitions>")
        return problems
    dmn_ns = etree.QName(root).namespace
    if root.nsmap.get(None) != dmn_ns and root.nsmap.get("dmn") != dmn_ns:
        problem(root, "DMN 命名空间必须是默认命名空间或使用前缀 dmn:")
    decisions = _children(root, "decision")
    if not decisions:
        problem(root, "DMN 文件中没有决策（decision）")
    ids = {d.get("id") for d in decisions}
    for decision in decisions:
        _translate_decision(decision, problem)
        for ref in requirements(decision):
            if ref not in ids:
                problem(decision, f"决策需要的决策 “{ref}”（requiredDecision）不在本文件中")
    if not problems and _has_cycle(decisions):
        problem(root, "决策之间的依赖（requiredDecision）构成循环")
    if not problems:
        root.set(_MARK, "true")
    return problems


def requirements(decision: Any) -> list[str]:
    """Ids of the decisions a decision requires (``informationRequirement/requiredDecision href="#id"``)."""
    return [rd.get("href", "").lstrip("#") for ir in _children(decision, "informationRequirement")
            for rd in _children(ir, "requiredDecision") if rd.get("href")]


def _has_cycle(decisions: list) -> bool:
    graph = {d.get("id"): requirements(d) for d in decisions}
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        if state.get(node) == 1:
            return True
        if state.get(node) == 2 or node not in graph:
            return False
        state[node] = 1
        found = any(visit(n) for n in graph[node])
        state[node] = 2
        return found
    return any(visit(n) for n in graph)


def single_decision_roots(root: Any) -> dict[str, Any]:
    """Decision id → a copy of the (translated) file holding only that decision, the shape
    SpiffWorkflow's DMN parser reads (it parses the first decision of a file only)."""
    out = {}
    for decision in _children(root, "decision"):
        copy = deepcopy(root)
        for other in _children(copy, "decision"):
            if other.get("id") != decision.get("id"):
                copy.remove(other)
        out[decision.get("id")] = copy
    return out


def _translate_decision(decision: Any, problem) -> None:
    if not decision.get("id"):
        problem(decision, "决策缺少 id")
    for attr, column, what in (("id", DecisionDefinition.__table__.c.key, "决策 id"),
                               ("name", DecisionDefinition.__table__.c.name, "决策名称")):
        if len(decision.get(attr) or "") > column.type.length:
            problem(decision, f"{what}过长：最多 {column.type.length} 个字符")
    if _children(decision, "literalExpression"):
        problem(decision, "不支持文字表达式决策，请使用决策表")
    tables = _children(decision, "decisionTable")
    if len(tables) != 1:
        problem(decision, "决策必须包含一个决策表")
        return
    table = tables[0]
    if not table.get("id"):  # optional in DMN; SpiffWorkflow needs one
        table.set("id", f"{decision.get('id')}_table")
    policy = (table.get("hitPolicy") or "UNIQUE").strip().upper()
    aggregation = (table.get("aggregation") or "").strip().upper()
    if policy not in SINGLE_POLICIES + LIST_POLICIES:
        problem(table, f"不支持命中策略 {policy!r}")
    if aggregation and (policy != "COLLECT" or aggregation not in AGGREGATIONS):
        problem(table, f"聚合 {aggregation!r} 只能与 COLLECT 一起使用"
                       f"（{', '.join(AGGREGATIONS)}）")

    for child in list(table):
        if _local(child) == "annotation" or not isinstance(child.tag, str):
            continue  # rule annotations column: comments only
        if _local(child) not in ("input", "output", "rule"):
            problem(child, f"决策表中出现了不应有的 <{_local(child)}>")

    inputs, outputs = _children(table, "input"), _children(table, "output")
    if aggregation and len(outputs) != 1:  # as Camunda: no aggregation of compound outputs
        problem(table, f"聚合 {aggregation} 要求恰好一个输出列，实际有 {len(outputs)} 个")
    labels = [i.get("label") or i.get("id") or f"#{n}" for n, i in enumerate(inputs, 1)]
    for el in inputs:
        _translate_input(el, problem)
    names: set[str] = set()
    for el in outputs:
        name = _output_name(el)
        if not el.get("id"):
            problem(el, "输出列缺少 id")
        if not name.isidentifier() or name.startswith("_"):
            problem(el, f"输出名 {name!r} 必须是英文变量名，例如 needs_review")
        elif name in names:
            problem(el, f"输出名 {name!r} 重复")
        names.add(name)
        values = _children(el, "outputValues")
        if values and _text_child(values[0]) is not None:
            try:
                for source in feel.literal_list(_text_child(values[0]).text):
                    _check(source, el, problem, f"输出 {name!r} 的取值")
            except feel.FeelError as exc:
                problem(el, f"输出 {name!r} 的取值：{exc}")
    if policy in ("PRIORITY", "OUTPUT ORDER") and not any(_children(o, "outputValues") for o in outputs):
        problem(table, f"命中策略 {policy} 需要在输出列上给出取值列表（即优先顺序）")

    for n, rule in enumerate(_children(table, "rule"), 1):
        _translate_rule(rule, n, labels, [_output_name(o) for o in outputs], problem)


def _check(source: str, el: Any, problem, what: str) -> None:
    reason = check_source(source, "eval")
    if reason:
        problem(el, f"{what}：{reason}")


def _translate_input(el: Any, problem) -> None:
    if not el.get("id"):
        problem(el, "输入列缺少 id")
    exprs = _children(el, "inputExpression")
    text_el = _text_child(exprs[0]) if exprs else None
    label = el.get("label") or el.get("id")
    if text_el is None or not (text_el.text or "").strip():
        problem(el, f"输入 {label!r} 没有表达式")
        return
    text = text_el.text.strip()
    language = (exprs[0].get("expressionLanguage") or "").lower()
    try:
        if language == "juel" or "${" in text or "#{" in text:
            python = expressions.to_python(text)
        elif language == "python":
            python = text
        else:
            try:
                python = feel.expression(text)
            except feel.FeelError:
                if check_source(text, "eval") is not None:
                    raise
                python = text  # plain Python is accepted everywhere (modeling.md)
    except ValueError as exc:  # FeelError, ExpressionError
        problem(el, f"输入 {label!r}：{exc}")
        return
    text_el.text = python
    _check(python, el, problem, f"输入 {label!r}")


def _translate_rule(rule: Any, n: int, labels: list[str], names: list[str], problem) -> None:
    rule_name = f"第 {n} 条规则"
    if not rule.get("id"):
        problem(rule, f"{rule_name}缺少 id")
    entries = _children(rule, "inputEntry")
    outs = _children(rule, "outputEntry")
    if len(entries) != len(labels) or len(outs) != len(names):
        problem(rule, f"{rule_name}有 {len(entries)} 个输入单元格和 {len(outs)} 个输出单元格，"
                      f"而决策表有 {len(labels)} 个输入列和 {len(names)} 个输出列")
        return
    for cell, label in zip(entries, labels):
        _translate_cell(cell, f"{rule_name}，输入 {label!r}", feel.input_entry, problem, True)
    for cell, name in zip(outs, names):
        _translate_cell(cell, f"{rule_name}，输出 {name!r}", feel.output_entry, problem, False)


def _translate_cell(cell: Any, where: str, translate, problem, is_input: bool) -> None:
    if not cell.get("id"):
        problem(cell, f"{where}：单元格缺少 id")
    text_el = _text_child(cell)
    if text_el is None:
        text_el = etree.SubElement(cell, etree.QName(etree.QName(cell).namespace, "text"))
    original = text_el.text
    try:
        python = translate(original)
    except feel.FeelError as exc:
        problem(cell, f"{where}：无法翻译 FEEL 表达式 {original!r}：{exc}")
        return
    if python is None:
        text_el.text = "-"
        return
    text_el.text = python
    reason = check_source(feel.bind_input(python) if is_input else python, "eval")
    if reason:
        problem(cell, f"{where}：{original!r} 不被允许：{reason}")


# --- tables -----------------------------------------------------------------------

def _enrich(table: Any, decision: Any) -> None:
    """Attach what Spiff's DecisionTable lacks: aggregation, priorities, decision names."""
    xml_table = _children(decision, "decisionTable")[0]
    table.hit_policy = (xml_table.get("hitPolicy") or "UNIQUE").strip().upper()
    table.aggregation = (xml_table.get("aggregation") or "").strip().upper() or None
    table.priorities = []
    for output in _children(xml_table, "output"):
        values = _children(output, "outputValues")
        text_el = _text_child(values[0]) if values else None
        table.priorities.append(feel.literal_list(text_el.text) if text_el is not None else [])
    table.decision_id = decision.get("id")
    table.decision_name = decision.get("name") or decision.get("id")


def _decision_element(root: Any) -> Any:
    return _children(root, "decision")[0]


def table_with_requirements(parser: Any, decision_id: str) -> Any:
    """The parsed table of a decision registered with ``parser`` (one single-decision root per
    decision), enriched, with ``requires``: the tables of the decisions it requires, likewise."""
    engine = parser.get_engine(decision_id, None)
    decision = _decision_element(parser.dmn_parsers[decision_id].node)
    table = engine.decision_table
    _enrich(table, decision)
    table.requires = [table_with_requirements(parser, ref) for ref in requirements(decision)]
    return table


def parse_xml(xml: bytes | str) -> Any:
    """Parse uploaded XML safely (raises etree.XMLSyntaxError / ValueError)."""
    if isinstance(xml, str):
        xml = xml.encode()
    root = etree.fromstring(xml, SAFE_PARSER)
    if root.getroottree().docinfo.doctype:
        raise ValueError("DOCTYPE declarations are not allowed")
    return root


def load_table(xml: bytes | str | Any, file: str, decision_id: str | None = None) -> tuple[Any | None, list[Problem]]:
    """Translate and parse a decision of a DMN file (the first without ``decision_id``), with the
    decisions it requires attached as ``table.requires``: ``(table, [])`` or ``(None, problems)``."""
    try:
        root = xml if isinstance(xml, etree._Element) else parse_xml(xml)
    except (etree.XMLSyntaxError, ValueError) as exc:
        return None, [Problem(file, getattr(exc, "lineno", None), None, f"XML 格式错误：{exc}")]
    problems = translate_dmn(root, file)
    if problems:
        return None, problems
    try:
        parser = BpmnDmnParser()
        for single in single_decision_roots(root).values():
            parser.add_dmn_xml(single, file)
        table = table_with_requirements(parser, decision_id or _decision_element(root).get("id"))
    except Exception as exc:  # Spiff's parser raises assorted errors on odd files
        line = getattr(exc, "line_number", None) or None
        return None, [Problem(file, line if isinstance(line, int) else None,
                              getattr(exc, "id", None) or None, f"决策表无法解析：{exc}")]
    return table, []


# --- evaluation -------------------------------------------------------------------

def _meta(table: Any) -> tuple[str, str | None, list[list[str]]]:
    decision = getattr(table, "decision_name", None) or table.name or table.id
    decision_id = getattr(table, "decision_id", None)
    if decision_id and decision_id != decision:
        decision = f"{decision} ({decision_id})"
    return decision, getattr(table, "aggregation", None), getattr(table, "priorities", [])


def _names(table: Any) -> list[str]:
    return [o.name or o.label for o in table.outputs]


def evaluate_table(table: Any, data: Mapping[str, Any], script_engine: Any) -> DecisionResult:
    """Evaluate a parsed (and translated) decision table against ``data``."""
    env = script_engine.environment
    context = dict(data)
    for required in getattr(table, "requires", None) or []:  # a DRD: required decisions first, outputs fed in
        context.update(evaluate_table(required, data, script_engine).variables())
    decision, aggregation, priorities = _meta(table)
    policy = (table.hit_policy or "UNIQUE").upper()
    names = _names(table)

    values: dict[str, Any] = {}
    for inp in table.inputs:
        try:
            values[inp.id] = env.evaluate(inp.expression, context)
        except Exception as exc:
            raise DecisionError(decision, f"input {inp.label or inp.id!r} ({inp.expression}): "
                                          f"{_describe(exc)}") from exc

    matched = []
    for n, rule in enumerate(table.rules, 1):
        if all(_cell_matches(env, context, entry, values[entry.input.id], decision, rule, n)
               for entry in rule.inputEntries):
            matched.append((n, rule))
            if policy == "FIRST":
                break

    def outputs_of(n: int, rule: Any) -> dict[str, Any]:
        row = {}
        for entry, name in zip(rule.outputEntries, names):
            try:
                row[name] = env.evaluate(entry.text, context) if (entry.text or "").strip() else None
            except Exception as exc:
                raise DecisionError(decision, f"output {name!r} ({entry.text}): {_describe(exc)}",
                                    _rule_name(rule, n)) from exc
        return row

    rows = [outputs_of(n, rule) for n, rule in matched]
    ids = [(rule.id, n) for n, rule in matched]

    if policy in ("PRIORITY", "OUTPUT ORDER"):
        key = _priority_key(env, priorities, names)
        order = sorted(range(len(rows)), key=lambda i: key(rows[i]))  # stable: ties keep rule order
        rows, ids = [rows[i] for i in order], [ids[i] for i in order]
    empty = {name: None for name in names}

    if policy == "UNIQUE" and len(rows) > 1:
        raise DecisionError(decision, "hit policy UNIQUE but several rules match: "
                            + ", ".join(f"rule {n} ({rid})" for rid, n in ids))
    if policy == "ANY" and any(row != rows[0] for row in rows):
        raise DecisionError(decision, "hit policy ANY but matching rules give different outputs: "
                            + ", ".join(f"rule {n} ({rid})" for rid, n in ids))
    if policy in SINGLE_POLICIES:
        return DecisionResult(rows[0] if rows else empty, ids, policy, names)
    if policy == "COLLECT" and aggregation:
        try:
            totals = {name: _aggregate(aggregation, [r[name] for r in rows]) for name in names}
        except TypeError as exc:
            raise DecisionError(decision, f"cannot {aggregation} the outputs: {exc}") from exc
        return DecisionResult(totals, ids, f"COLLECT {aggregation}", names)
    if policy in LIST_POLICIES:
        return DecisionResult(rows, ids, policy, names)
    raise DecisionError(decision, f"不支持命中策略 {policy!r}")


def _rule_name(rule: Any, n: int) -> str:
    return f"rule {n} ({rule.id})"


def _describe(exc: Exception) -> str:
    return getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"


def _cell_matches(env, context, entry, value, decision, rule, n) -> bool:
    cell = entry.lhs[0] if entry.lhs else None
    if cell is None or cell.strip() in ("", "-"):
        return True
    label = entry.input.label or entry.input.id
    try:
        return bool(env.evaluate(feel.bind_input(cell), context, {feel.INPUT_NAME: value}))
    except TypeError as exc:
        if value is None:  # FEEL: comparing null gives null, i.e. no match
            return False
        raise DecisionError(decision, f"input {label!r} = {value!r}: cell {cell!r}: {_describe(exc)}",
                            _rule_name(rule, n)) from exc
    except Exception as exc:
        raise DecisionError(decision, f"input {label!r}: cell {cell!r}: {_describe(exc)}",
                            _rule_name(rule, n)) from exc


def _priority_key(env, priorities: list[list[str]], names: list[str]):
    orders = [(name, [env.evaluate(src, {}) for src in sources])
              for name, sources in zip(names, priorities) if sources]

    def key(row: dict[str, Any]) -> tuple[int, ...]:
        return tuple(order.index(row[name]) if row[name] in order else len(order)
                     for name, order in orders)
    return key


def _aggregate(aggregation: str, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if aggregation == "COUNT":
        return len(present)
    if not present:
        return None
    return {"SUM": sum, "MIN": min, "MAX": max}[aggregation](present)


# --- Spiff task spec, parser and serializer ----------------------------------------

MAP_DECISION_RESULT = ("singleEntry", "singleResult", "collectEntries", "resultList")


def map_result(result: DecisionResult, how: str, table: Any) -> Any:
    """camunda:mapDecisionResult, as Camunda 7 maps a result into camunda:resultVariable."""
    decision = _meta(table)[0]
    rows = result.outputs if isinstance(result.outputs, list) else ([result.outputs] if result.matched else [])
    if how == "resultList":
        return [dict(r) for r in rows]
    if how == "collectEntries":
        if len(result.output_names) != 1:
            raise DecisionError(decision, "collectEntries needs exactly one output column")
        return [r[result.output_names[0]] for r in rows]
    if len(rows) > 1:
        raise DecisionError(decision, f"{how} needs at most one matching rule, {len(rows)} matched")
    if how == "singleResult":
        return dict(rows[0]) if rows else None
    if how == "singleEntry":
        if len(result.output_names) != 1:
            raise DecisionError(decision, "singleEntry needs exactly one output column")
        return rows[0][result.output_names[0]] if rows else None
    raise DecisionError(decision, f"unknown mapDecisionResult {how!r}")


class DecisionTask(BusinessRuleTask):
    """businessRuleTask (camunda:decisionRef) evaluated by ``evaluate_table``."""

    def _run_hook(self, my_task):
        table = self.dmnEngine.decision_table
        try:
            result = evaluate_table(table, my_task.data, my_task.workflow.script_engine)
        except DecisionError as exc:
            error = WorkflowTaskException(str(exc), task=my_task, exception=exc)
            error.add_note(f"Business Rule Task '{self.bpmn_name or self.bpmn_id}'.")
            raise error from exc
        camunda = (self.extensions or {}).get("camunda", {})
        variable = camunda.get("resultVariable", {}).get("value")
        if variable:
            how = camunda.get("mapDecisionResult", {}).get("value") or "resultList"
            try:
                my_task.data[variable] = map_result(result, how, table)
            except DecisionError as exc:
                raise WorkflowTaskException(str(exc), task=my_task, exception=exc) from exc
        else:
            my_task.data.update(result.variables())
        # skip BusinessRuleTaskMixin._run_hook (Spiff's own DMN engine)
        super(BusinessRuleTaskMixin, self)._run_hook(my_task)
        return True


class DecisionTaskParser(BusinessRuleTaskParser):
    def create_task(self):
        ref = self.get_decision_ref(self.node)
        parser = self.process_parser.parser
        dmn_parser = parser.dmn_parsers.get(ref)
        if dmn_parser is not None and not dmn_parser.node.get(_MARK):
            # safety net: a DMN added without translate_dmn would evaluate FEEL as Python
            problems = translate_dmn(dmn_parser.node, dmn_parser.filename or f"{ref}.dmn")
            if problems:
                raise ValidationException("; ".join(map(str, problems)), node=self.node,
                                          file_name=dmn_parser.filename)
        engine = parser.get_engine(ref, self.node)  # raises if the decision is unknown
        engine.decision_table = table_with_requirements(parser, ref)  # enriched, with what it requires
        return self.spec_class(self.spec, self.bpmn_id, dmnEngine=engine, **self.bpmn_attributes)

    @staticmethod
    def get_decision_ref(node):
        ref = node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef")
        if not ref:
            raise ValidationException("businessRuleTask needs camunda:decisionRef (the decision id)",
                                      node=node)
        return ref


class DecisionTaskConverter(BaseBusinessRuleTaskConverter):
    """Persists the table with its aggregation, priorities and decision names."""

    EXTRA = ("aggregation", "priorities", "decision_id", "decision_name")

    def decision_table_to_dict(self, table):
        dct = super().decision_table_to_dict(table)
        dct.update({k: getattr(table, k, None) for k in self.EXTRA})
        dct["requires"] = [self.decision_table_to_dict(t) for t in getattr(table, "requires", None) or []]
        return dct

    def decision_table_from_dict(self, dct):
        extra = {k: dct.pop(k, None) for k in self.EXTRA}
        requires = dct.pop("requires", None) or []
        table = super().decision_table_from_dict(dct)
        for k, v in extra.items():
            setattr(table, k, v if k != "priorities" else (v or []))
        table.requires = [self.decision_table_from_dict(d) for d in requires]
        return table


# Merge into a CamundaParser subclass's OVERRIDE_PARSER_CLASSES / the serializer config.
PARSER_OVERRIDES = {full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask)}
SERIALIZER_CONFIG = {DecisionTask: DecisionTaskConverter}


def register_converters(config: dict) -> dict:
    """Add the DecisionTask converter to a serializer config dict (returned for chaining)."""
    config.update(SERIALIZER_CONFIG)
    return config
