"""Document numbers a task issues on completion (camunda:properties documentNumber)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.spec import forms
from engine.spec.problems import ModelInvalid
from engine.store.models import ProcessInstance
from tests.conftest import FIXTURES

YEAR = datetime.now(ZoneInfo("Asia/Shanghai")).year


@pytest.fixture
def flow(db, org):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "documents"]), source="cli")


def start(db, user):
    with db.transaction() as session:
        return runtime.start(session, "doc_flow", user("supervision_notify1"), {})


def do(db, user, instance, values):
    with db.transaction() as session:
        task = tasks.ready_tasks(session, instance.id)[0]
        tasks.complete(session, task.id, user("supervision_notify1"), values)
    with db.reading() as session:
        return runtime.case_data(runtime.load(session, instance, None).workflow)


def test_the_engine_numbers_the_document_and_ignores_a_typed_number(db, flow, user):
    case = start(db, user)
    data = do(db, user, case, {"send": "yes", "notice_no": "伪造第999号", "again": "true"})
    assert data["notice_no"] == f"鲁环罚告字〔{YEAR}〕第001号"
    # the step comes round again: the document keeps its number
    data = do(db, user, case, {"send": "yes", "notice_no": "", "again": "false"})
    assert data["notice_no"] == f"鲁环罚告字〔{YEAR}〕第001号"
    with db.reading() as session:  # the inbox lists it with the case, once
        assert session.get(ProcessInstance, case.id).documents == f"鲁环罚告字〔{YEAR}〕第001号"
    assert do(db, user, start(db, user), {"send": "yes"})["notice_no"] == f"鲁环罚告字〔{YEAR}〕第002号"


def test_no_document_no_number_and_a_failed_completion_gives_the_number_back(db, flow, user):
    assert not do(db, user, start(db, user), {"send": "no"}).get("notice_no")  # no document, no number
    case = start(db, user)
    with pytest.raises(forms.FormInvalid):
        do(db, user, case, {"send": "yes", "again": "maybe"})  # bad boolean: rolled back
    assert do(db, user, case, {"send": "yes"})["notice_no"] == f"鲁环罚告字〔{YEAR}〕第001号"


def test_the_form_shows_the_field_as_numbered_by_the_system(db, flow, user):
    case = start(db, user)
    with db.reading() as session:
        task = tasks.ready_tasks(session, case.id)[0]
        view = tasks.view(session, task.id, user("supervision_notify1"))
    assert [f.id for f in view.form.fields if f.auto_number] == ["notice_no"]


def test_an_unknown_numbering_scheme_is_a_deploy_error(db, org, tmp_path):
    source = (FIXTURES / "documents" / "doc_flow.bpmn").read_text()
    (tmp_path / "bad.bpmn").write_text(source.replace("'penalty.notice' if", "'penalty.noticee' if")
                                       .replace("${'penalty.noticee' if send == 'yes' else None}", "penalty.noticee"))
    with db.transaction() as session, pytest.raises(ModelInvalid) as err:
        repository.deploy(session, repository.read_paths([tmp_path / "bad.bpmn"]), source="cli")
    assert any("未配置编号规则“penalty.noticee”" in p.message for p in err.value.problems)
