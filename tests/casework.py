"""A case driven through the engine API, for the process scenario tests.

    case = Case.start(db, user, "permit", "dev_accept1", data)
    case.do("check_application", "dev_accept1", {...}, group="dev.accept")
    assert case.ended() == ["permit_archived"]
"""
from __future__ import annotations

import io
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.access import identity
from engine.execution import runtime
from engine.inbox import attachments, tasks
from engine.spec import forms
from engine.store.models import HumanTask, InstanceLink, Notification, ProcessInstance
from recording import evidence

PDF = b"%PDF-1.4\n% test document\n"
RECORDINGS = {  # what a body camera, a camera and a typed record produce (by content, not by name)
    "video": ("执法记录仪.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(64)),
    "photo": ("现场照片.jpg", b"\xff\xd8\xff\xe0" + bytes(64)),
    "text": ("集体讨论记录.txt", "讨论时间、地点、主持人、出席人员、主要意见和结论性意见（文字记录）".encode()),
}


class Case:
    def __init__(self, db, user, instance: ProcessInstance):
        self.db, self.user, self.instance = db, user, instance

    @classmethod
    def start(cls, db, user, key: str, username: str, data: dict[str, Any] | None = None) -> "Case":
        with db.transaction() as session:
            instance = runtime.start(session, key, user(username), data or {})
        return cls(db, user, instance)

    @property
    def id(self) -> int:
        return self.instance.id

    @property
    def business_key(self) -> str:
        return self.instance.business_key

    def ready(self) -> list[HumanTask]:
        with self.db.reading() as session:
            return list(tasks.ready_tasks(session, self.id))

    def ready_ids(self) -> list[str]:
        return sorted(t.element_id for t in self.ready())

    def task(self, element_id: str) -> HumanTask:
        found = [t for t in self.ready() if t.element_id == element_id]
        assert found, f"{element_id} is not ready; ready: {self.ready_ids()}"
        return found[0]

    def with_officer_ids(self, task: HumanTask, values: dict[str, Any]) -> dict[str, Any]:
        """``officers`` fields may be given as usernames (readable tests); the form takes user ids."""
        values = dict(values)
        with self.db.reading() as session:
            spiff = runtime.spiff_task(runtime.load(session, self.row(), None), task.id)
            for field in forms.form_of(spiff.task_spec).fields:
                if field.type == "officers" and values.get(field.id):
                    values[field.id] = [identity.user_by_name(session, u).id if isinstance(u, str) else u
                                        for u in values[field.id]]
        return values

    def do(self, element_id: str, username: str, values: dict[str, Any], group: str | None = None) -> HumanTask:
        """Complete ``element_id`` as ``username``; check its candidate group and that the task
        is in that user's inbox."""
        task = self.task(element_id)
        if group is not None:
            assert task.candidate_groups == group, (element_id, task.candidate_groups, group)
        actor = self.user(username)
        with self.db.reading() as session:
            assert task.id in {t.id for t in tasks.inbox(session, actor)}, f"{element_id} not in {username}'s inbox"
        values = self.with_officer_ids(task, values)
        with self.db.transaction() as session:
            spiff = runtime.spiff_task(runtime.load(session, self.row(), actor), task.id)
            for field in forms.form_of(spiff.task_spec).fields:
                if field.type == "file" and values.get(field.id):  # placeholders → real attachments of the case
                    values[field.id] = [attachments.upload(session, task.id, actor, field.id, io.BytesIO(PDF),
                                                          f"{field.label[:20]}.pdf", "application/pdf").id
                                        for _ in values[field.id]]
            item = evidence.item_of_spec(spiff.task_spec)
            for need in evidence.RECORD_ITEMS.get(item, ()):  # the step's 执法全过程记录
                name, content = RECORDINGS[sorted(need)[-1]]
                evidence.upload(session, task.id, actor, io.BytesIO(content), name, None)
        with self.db.transaction() as session:
            return tasks.complete(session, task.id, actor, values)

    def row(self) -> ProcessInstance:
        with self.db.reading() as session:
            return session.get(ProcessInstance, self.id)

    @property
    def status(self) -> str:
        return self.row().status

    def _workflow(self, session):
        return runtime.load(session, session.get(ProcessInstance, self.id), None).workflow

    def data(self) -> dict[str, Any]:
        with self.db.reading() as session:
            return runtime.case_data(self._workflow(session))

    def ended(self, reminders: bool = False) -> list[str]:
        """The end events reached so far (bpmn ids, in completion order), without the
        ``*_overdue_end`` ends of deadline reminders unless ``reminders``."""
        with self.db.reading() as session:
            wf = self._workflow(session)
            done = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)]
            return [t.task_spec.bpmn_id for t in sorted(done, key=lambda t: t.last_state_change)
                    if t.task_spec.bpmn_id and (reminders or not t.task_spec.bpmn_id.endswith("_overdue_end"))]

    def notifications(self) -> list[tuple[str, str]]:
        with self.db.reading() as session:
            rows = session.scalars(select(Notification).where(Notification.instance_id == self.id)
                                   .order_by(Notification.id))
            return [(n.recipient, n.text) for n in rows]

    def started_cases(self) -> list[tuple[str, ProcessInstance]]:
        """(message, target instance) for every case this one started or messaged."""
        with self.db.reading() as session:
            links = session.scalars(select(InstanceLink).where(InstanceLink.source_id == self.id)
                                    .order_by(InstanceLink.id))
            return [(link.message, session.get(ProcessInstance, link.target_id)) for link in links]
