"""Tables of the workflow service (SQLAlchemy 2 typed mappings).

Instance state is stored as TEXT, never JSONB: SpiffWorkflow 3.2 restores task data
as deltas in the order the tasks were written, and JSONB reorders object keys.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint, false)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database (SQLite would otherwise hand back naive ones)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class Chained:
    """Mixin for an append-only table whose rows join the audit hash chain (engine/store/chain.py)."""

    @declared_attr
    def chain_seq(cls) -> Mapped[int | None]:
        return mapped_column(BigInteger, unique=True)

    @declared_attr
    def chain_hash(cls) -> Mapped[str | None]:
        return mapped_column(String(64))


# --- identity ---------------------------------------------------------------

class Department(Base):
    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Group(Base):
    """A post (岗位), e.g. ``supervision.investigate``; the candidate-group code in BPMN."""
    __tablename__ = "groups"
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(300))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    cert_no: Mapped[str | None] = mapped_column(String(50))  # 执法证号
    cert_valid_from: Mapped[date | None] = mapped_column(Date)  # 执法证有效期 (None: not recorded)
    cert_valid_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Raised on logout and password change: every session signed with an older value is dead.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    groups: Mapped[list[Group]] = relationship(secondary="memberships", lazy="selectin")


class Membership(Base):
    __tablename__ = "memberships"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    group_code: Mapped[str] = mapped_column(ForeignKey("groups.code"), primary_key=True)


class Grant(Base):
    """A permission held by every member of a group (e.g. ``deploy`` for legal staff)."""
    __tablename__ = "grants"
    group_code: Mapped[str] = mapped_column(ForeignKey("groups.code"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(64), primary_key=True)


class CatalogVersion(Base):
    """How often a kind of names has changed: bumped by the database's own triggers (migration
    23), read by engine/store/versioned.py to know whether its copy still holds."""
    __tablename__ = "catalog_versions"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


# --- repository ---------------------------------------------------------------

class Deployment(Chained, Base):
    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))  # cli, web, modeler, seed
    deployed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    resources: Mapped[list[Resource]] = relationship(back_populates="deployment", lazy="selectin")


class Resource(Base):
    """A deployed .bpmn or .dmn file, byte for byte as uploaded."""
    __tablename__ = "resources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    content: Mapped[str] = mapped_column(Text, deferred=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    deployment: Mapped[Deployment] = relationship(back_populates="resources")


class ProcessDefinition(Base):
    """One version of a process; its SpiffWorkflow spec is stored once, here."""
    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    spec_hash: Mapped[str] = mapped_column(String(64))
    start_messages: Mapped[str] = mapped_column(String(500), default="")  # comma-separated
    starter_groups: Mapped[str] = mapped_column(String(1000), default="")  # camunda:candidateStarterGroups; "" = anyone
    in_tasklist: Mapped[bool] = mapped_column(Boolean, default=True)  # camunda:isStartableInTasklist
    resource: Mapped[Resource] = relationship()


class DecisionDefinition(Base):
    __tablename__ = "decision_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    resource: Mapped[Resource] = relationship()


# --- runtime ------------------------------------------------------------------

class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_instances_status_started", "status", "started_at"),
        Index("ix_instances_definition_status", "definition_id", "status"),
        # dashboards (migration 0003_dashboard)
        Index("ix_instances_started", "started_at"),
        Index("ix_instances_key_started", "process_key", "started_at"),
        Index("ix_instances_status_ended", "status", "ended_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[str] = mapped_column(String(100), unique=True)
    start_token: Mapped[str | None] = mapped_column(String(64), unique=True)  # one case per start-form submission
    title: Mapped[str] = mapped_column(String(300), default="")  # party or case name
    documents: Mapped[str] = mapped_column(String(1000), default="", server_default="")  # document numbers issued, 、-separated
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running suspended completed terminated
    state: Mapped[str] = mapped_column(Text, deferred=True)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    definition: Mapped[ProcessDefinition] = relationship(lazy="joined")


class CaseDepartment(Base):
    """Departments involved in a case (starter and every post a task went to): who may see it."""
    __tablename__ = "case_departments"
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True, index=True)


class InstanceLink(Base):
    """A message from one instance that started or reached another."""
    __tablename__ = "instance_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    message: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageSubscription(Base):
    """A message an instance is waiting for, rebuilt whenever the instance is saved."""
    __tablename__ = "message_subscriptions"
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    message: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class StepStatistic(Base):
    """Completed tasks per process, step and month of completion: the step's name, how many, their
    durations' sum and histogram (engine/inbox/statistics.py)."""
    __tablename__ = "step_statistics"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, Beijing time; first: pages read a range
    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))  # the step's name at its latest completion
    count: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)  # sum of the durations
    buckets: Mapped[str] = mapped_column(Text)  # JSON object, duration bucket → tasks: {"140": 3, "152": 1}


class CaseCount(Base):
    """Cases started and completed per Beijing calendar day and process (engine/execution/case_counts.py)."""
    __tablename__ = "case_counts"
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # first: pages read a range
    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    started: Mapped[int] = mapped_column(Integer)
    completed: Mapped[int] = mapped_column(Integer)


class StatusCount(Base):
    """Cases per process version and status (engine/execution/status_counts.py)."""
    __tablename__ = "status_counts"
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), primary_key=True,
                                               autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class ActivityStatistic(Base):
    """Time per step in the completed cases of a process version (engine/execution/case_statistics.py)."""
    __tablename__ = "activity_statistics"
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), primary_key=True,
                                               autoincrement=False)
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)  # sum of the durations


class HumanTask(Base):
    """Projection of every human task, ready or done, so the inbox is one indexed query."""
    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_tasks_state_assignee", "state", "assignee", "due_at"),  # 我的待办 and its overdue/today counts
        # open deadlines (overview, overdue filter, 超期督办) read from the index alone (migration 18_dashboards)
        Index("ix_tasks_state_due", "state", "due_at", "suspended", "instance_id"),
        Index("ix_tasks_completed_by", "completed_by", "state", "completed_at", "created_at", "id"),  # 已办
        Index("ix_tasks_instance_state", "instance_id", "state"),
        # dashboards (migration 0003_dashboard)
        Index("ix_tasks_state_completed", "state", "completed_at", "process_key", "element_id", "created_at"),
        Index("ix_tasks_instance_durations", "instance_id", "state", "element_id", "created_at", "completed_at"),
        Index("ix_tasks_state_element", "state", "element_id", "instance_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task UUID
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300), default="")
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_groups: Mapped[str] = mapped_column(String(1000), default="")  # comma-separated, for display
    candidate_users: Mapped[str] = mapped_column(String(1000), default="")
    assignee: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    due_at: Mapped[datetime | None]
    follow_up_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default="ready")  # ready completed cancelled
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_by: Mapped[str | None] = mapped_column(String(100))
    completed_at: Mapped[datetime | None]
    submitted: Mapped[str | None] = mapped_column(Text)  # JSON of the submitted form values
    problem: Mapped[str | None] = mapped_column(String(500))  # e.g. a due date that could not be computed
    # Why the case came back to this step (a loop-back flow's returnReason, or a typed 退回 reason), by whom, when.
    return_reason: Mapped[str | None] = mapped_column(Text)
    returned_by: Mapped[str | None] = mapped_column(String(100))
    returned_at: Mapped[datetime | None]
    draft: Mapped[str | None] = mapped_column(Text)  # JSON of the values saved with 暂存 by the holder
    explanations = ()  # set by tasks.complete: why the case went back, for the submitter (not stored)


NO_DUE = datetime(9999, 12, 31, tzinfo=timezone.utc)  # TaskCandidate.due_key of a task without a due date


class TaskCandidate(Base):
    """One row per (ready task, candidate group or user): the 岗位待办 index. Rows exist only
    while their task is ready (deleted when it ends) and carry the task's sort keys, so a
    post's page is read in index order whatever the number of open tasks (issue #17)."""
    __tablename__ = "task_candidates"
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # group | user
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    claimable: Mapped[bool] = mapped_column(Boolean, default=True)  # unassigned and not suspended
    due_key: Mapped[datetime] = mapped_column(default=NO_DUE)  # due_at, or NO_DUE: sorts last on every database
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)  # the case is suspended (超期督办 leaves it out)
    __table_args__ = (Index("ix_candidates_due", "kind", "value", "claimable", "due_key", "created_at", "task_id"),
                      Index("ix_candidates_created", "kind", "value", "claimable", "created_at", "task_id"),
                      # 超期督办's counts per post and department, from the index alone (migration 18_dashboards)
                      Index("ix_candidates_deadline", "kind", "suspended", "due_key", "value", "task_id"))


class CaseSearchGram(Base):
    """岗位待办 search: one row per gram of an open case's number and title
    (engine/store/search_index.py), while the case is open."""
    __tablename__ = "case_search_grams"
    # code point order on both databases: a one-character term is the range of grams it starts
    gram: Mapped[str] = mapped_column(String(8).with_variant(String(8, collation="C"), "postgresql"),
                                      primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)


class TaskExclusion(Base):
    """A user who may not act on a ready task (separation of duties, 回避), with the reason shown to them."""
    __tablename__ = "task_exclusions"
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    reason: Mapped[str] = mapped_column(String(500))


class Recusal(Base):
    """回避: an officer removed from a case's remaining tasks at a party's request, recorded."""
    __tablename__ = "recusals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """Timers and async work, claimed by workers with a lease."""
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "due_at"), UniqueConstraint("kind", "instance_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # timer
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending failed
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


# --- history ------------------------------------------------------------------

class AuditEvent(Chained, Base):
    """Append-only: who did what to which case, when, with what values."""
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_instance_at", "instance_id", "at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(100))  # username, or None for the system
    action: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    business_key: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="{}")


class Comment(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class Attachment(Base):
    """A file on disk (content-addressed by SHA-256) attached to a case; task data holds only its id."""
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    field_id: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Full-process recording (engine/evidence.py; migration 0005_evidence).
    record_item: Mapped[str | None] = mapped_column(String(64))  # one of evidence.RECORD_ITEMS
    media_kind: Mapped[str | None] = mapped_column(String(16))  # video audio photo text other
    detected_type: Mapped[str | None] = mapped_column(String(100))  # sniffed from the content
    recorded_at: Mapped[datetime | None]
    device_id: Mapped[int | None] = mapped_column(Integer, index=True)  # evidence_devices.id
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    late_reason: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[datetime | None]


# --- counters --------------------------------------------------------------------


class Sequence(Base):
    """Named counters, one per (name, year): behind case and document numbers (engine/store/counters.py)."""
    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# --- notifications --------------------------------------------------------------

class Notification(Base):
    """A message for a post or a person, e.g. a statutory deadline passed (from a model's notify())."""
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient", "recipient", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(100))  # a group code or a username
    text: Mapped[str] = mapped_column(String(1000))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
