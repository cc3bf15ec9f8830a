"""Business rule tasks honour camunda:resultVariable with camunda:mapDecisionResult, as Camunda 7 does."""
from __future__ import annotations

import pytest

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.spec.problems import ModelInvalid
from tests.conftest import FIXTURES


def test_each_mapping_puts_the_result_where_camunda_would(db, org, user):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "result_variable"]), source="cli")
        instance = runtime.start(session, "result_variable", user("legal_review1"),
                                 {"party_type": "organization", "fine_amount": 50000})
        data = runtime.case_data(runtime.load(session, instance, None).workflow)
        assert [t.element_id for t in tasks.ready_tasks(session, instance.id)] == ["Task_look"]
    assert data["r_list"] == [{"needs_review": True}]
    assert data["r_single"] == {"needs_review": True}
    assert data["r_entry"] is True
    assert data["r_collect"] == [True]
    assert "needs_review" not in data  # with a result variable, outputs do not land by name


def test_an_unknown_mapping_is_a_deploy_error(db, org, tmp_path):
    source = (FIXTURES / "result_variable" / "result_variable.bpmn").read_text()
    (tmp_path / "bad.bpmn").write_text(source.replace('mapDecisionResult="singleEntry"', 'mapDecisionResult="firstEntry"'))
    with db.transaction() as session, pytest.raises(ModelInvalid) as err:
        repository.deploy(session, repository.read_paths([tmp_path / "bad.bpmn", FIXTURES / "result_variable" / "test_review_rule.dmn"]), source="cli")
    assert any(p.element_id == "Rule_2" and "mapDecisionResult" in p.message for p in err.value.problems)
