"""A hash chain over the append-only records (audit events, deployments, and what domain
packages add: the 查阅登记簿, the purge log), so that an edit made directly in the database
is detectable afterwards.

Every new row of a ``Chained`` table gets the next sequence number of one chain shared by
all those tables and ``sha256(previous hash | table | seq | its values)``: rows added through
the ORM at flush, audit events as they are recorded (``append``, through Core). Appends are
serialized by a lock on the single ``audit_chain`` row (taken by SELECT … FOR UPDATE or by
the UPDATE of it; SQLite write transactions already run one at a time), so concurrent writers —
several server workers and job workers — build one chain. ``verify()`` recomputes it and
names the first altered, deleted or inserted entry; ``anchor()`` writes the chain head into
the write-once file store once a day, so rewriting the whole chain is detectable too.
"""
from __future__ import annotations

import functools
import hashlib
import heapq
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, Integer, String, Text, bindparam, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.store import pipeline
from engine.store.models import Attachment, Base, Chained, utcnow

GENESIS = "0" * 64
ANCHOR_PREFIX = "审计链头-"
_EXCLUDED = ("id", "chain_seq", "chain_hash")


class ChainHead(Base):
    """The one row whose lock serializes appends; holds the last sequence number and hash."""
    __tablename__ = "audit_chain"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


def _plain(value):
    if isinstance(value, datetime):
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _columns(row) -> list:
    return [c for c in row.__table__.columns if c.key not in _EXCLUDED]


def entry_hash(previous: str, row) -> str:
    return _digest(previous, row.__tablename__, row.chain_seq, {c.key: getattr(row, c.key) for c in _columns(row)})


def _values_json(values: dict) -> str:
    return json.dumps({k: _plain(v) for k, v in values.items()}, ensure_ascii=False, sort_keys=True)


def _digest(previous: str, table: str, seq: int, values: dict) -> str:
    # json.dumps([previous, table, seq, values], ensure_ascii=False, sort_keys=True), spelt out:
    # PostgreSQL builds the same text around the values' JSON (``_append_statement``)
    text = f'["{previous}", {json.dumps(table)}, {seq}, {_values_json(values)}]'
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fill_defaults(row) -> None:
    """Column defaults are applied at INSERT; the hash needs them now."""
    for column in _columns(row):
        if getattr(row, column.key) is None and column.default is not None:
            arg = column.default.arg
            setattr(row, column.key, arg(None) if callable(arg) else arg)


def append(session: Session, table, values: dict) -> None:
    """Insert one row of a chained table, in its place in the chain, through Core: the audit
    row of every action, where an ORM flush cost more than the statements. On PostgreSQL one
    statement takes the head, computes the hash and inserts the row, sent with the action's
    other writes (engine/store/pipeline.py)."""
    values = {c.key: values.get(c.key) if values.get(c.key) is not None or c.default is None
              else (c.default.arg(None) if callable(c.default.arg) else c.default.arg)
              for c in table.columns if c.key not in _EXCLUDED}  # defaults now: the hash covers them
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # sent with the action's other writes
        pipeline.write(connection, _append_statement(table), [{**values, "values_json": _values_json(values)}])
        return
    head = connection.execute(_HEAD_ROW).first()  # (none yet on a fresh database: the first row makes it)
    if head is None:
        connection.execute(_HEAD.insert().values(id=1, seq=0, hash=GENESIS))
    seq, previous = (head.seq, head.hash) if head else (0, GENESIS)
    digest = _digest(previous, table.name, seq + 1, values)
    connection.execute(_HEAD.update().where(_HEAD.c.id == 1).values(seq=seq + 1, hash=digest))
    connection.execute(table.insert().values(chain_seq=seq + 1, chain_hash=digest), values)


@functools.lru_cache(maxsize=None)
def _append_statement(table):
    """WITH head AS (UPDATE audit_chain SET seq = seq + 1, hash = <sha256 of the entry> RETURNING seq, hash)
    INSERT INTO <table> (…, chain_seq, chain_hash) SELECT :…, (SELECT seq FROM head), (SELECT hash FROM head).

    The head row exists from migration 10_hardening on; were it deleted, the row would still be
    written, outside the chain, and ``verify()`` would name it."""
    entry = func.concat('["', _HEAD.c.hash, f'", {json.dumps(table.name)}, ', _HEAD.c.seq + 1, ", ",
                        bindparam("values_json", type_=Text), "]")
    head = (_HEAD.update().where(_HEAD.c.id == 1)
            .values(seq=_HEAD.c.seq + 1, hash=func.encode(func.sha256(func.convert_to(entry, "UTF8")), "hex"))
            .returning(_HEAD.c.seq, _HEAD.c.hash).cte("head"))
    columns = [c for c in table.columns if c.key not in _EXCLUDED]
    return table.insert().from_select(
        [c.key for c in columns] + ["chain_seq", "chain_hash"],
        select(*[bindparam(c.key, type_=c.type) for c in columns], select(head.c.seq).scalar_subquery(),
               select(head.c.hash).scalar_subquery()))


_HEAD = ChainHead.__table__
_HEAD_ROW = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_LOCK_HEAD = (select(ChainHead).where(ChainHead.id == 1).with_for_update()  # built once: it runs on every action
              .execution_options(populate_existing=True))


def chain_new_rows(session: Session, _context, _instances) -> None:
    """before_flush: give every new chained row its place in the chain."""
    rows = [obj for obj in session.new if isinstance(obj, Chained) and obj.chain_seq is None]
    if not rows:
        return
    with session.no_autoflush:
        head = session.execute(_LOCK_HEAD).scalar_one_or_none()
        if head is None:
            head = ChainHead(id=1, seq=0, hash=GENESIS)
            session.add(head)
    for row in rows:
        _fill_defaults(row)
        head.seq += 1
        row.chain_seq = head.seq
        row.chain_hash = entry_hash(head.hash, row)
        head.hash = row.chain_hash


# --- verification ---------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    kind: str      # altered | deleted | inserted | rewritten
    table: str
    row_id: int | None
    seq: int | None
    message: str


def _tables() -> list[type]:
    found, stack = [], list(Chained.__subclasses__())
    while stack:
        cls = stack.pop()
        if hasattr(cls, "__table__"):
            found.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__tablename__)


def verify(session: Session, settings=None) -> tuple[int, Finding | None]:
    """(entries checked, the first problem or None). Streams every table in chain order."""
    streams = [session.scalars(select(cls).where(cls.chain_seq.is_not(None)).order_by(cls.chain_seq)
                               .execution_options(yield_per=1000)) for cls in _tables()]
    previous, expected = GENESIS, 1
    written = anchors(session, settings)
    by_seq = {seq: None for _, seq, _ in written}
    for row in heapq.merge(*streams, key=lambda r: r.chain_seq):
        where = f"{row.__tablename__} #{row.id}（链序号 {row.chain_seq}）"
        if row.chain_seq > expected:
            return expected - 1, Finding("deleted", row.__tablename__, row.id, expected,
                                         f"链序号 {expected}–{row.chain_seq - 1} 的记录被删除（在 {where} 之前）")
        if row.chain_seq < expected:
            return expected - 1, Finding("inserted", row.__tablename__, row.id, row.chain_seq,
                                         f"{where} 的链序号重复：是插入的记录")
        if entry_hash(previous, row) != row.chain_hash:
            return expected - 1, Finding("altered", row.__tablename__, row.id, row.chain_seq, f"{where} 被修改")
        if row.chain_seq in by_seq:
            by_seq[row.chain_seq] = row.chain_hash
        previous, expected = row.chain_hash, expected + 1
    checked = expected - 1
    for cls in _tables():
        first = session.scalar(select(func.min(cls.id)).where(cls.chain_seq.is_not(None)))
        row = session.scalars(select(cls).where(cls.chain_seq.is_(None), cls.id > first).order_by(cls.id)
                              .limit(1)).first() if first is not None else None
        if row is not None:
            return checked, Finding("inserted", row.__tablename__, row.id, None,
                                    f"{row.__tablename__} #{row.id} 不在链中：是绕过系统插入的记录")
    head = session.get(ChainHead, 1)
    if head is not None and (head.seq, head.hash) != (checked, previous):
        return checked, Finding("deleted", "audit_chain", None, head.seq,
                                f"链头为序号 {head.seq}，但记录只到 {checked}：末尾的记录被删除或修改")
    for when, seq, value in written:
        if seq and by_seq.get(seq) != value:
            return checked, Finding("rewritten", "audit_chain", None, seq,
                                    f"{when} 写入证据库的链头（序号 {seq}）与现有记录不符：记录链被整体改写")
    return checked, None


# --- anchors in the write-once file store ------------------------------------------------

def anchors(session: Session, settings=None) -> list[tuple[str, int, str]]:
    """(date, seq, hash) of every chain head written into the file store, oldest first."""
    from engine.store import files
    out = []
    for attachment in session.scalars(select(Attachment).where(Attachment.original_name.like(f"{ANCHOR_PREFIX}%"),
                                                              Attachment.instance_id.is_(None))
                                      .order_by(Attachment.id)):
        try:
            with files.open_file(attachment, settings) as handle:
                data = json.loads(handle.read())
            out.append((data["date"], int(data["seq"]), data["hash"]))
        except (files.FileStoreError, ValueError, KeyError):
            out.append((attachment.original_name, -1, ""))
    return out


def latest_anchor(session: Session, settings=None) -> tuple[str, int, str] | None:
    found = anchors(session, settings)
    return found[-1] if found else None


def anchor(session: Session, settings=None, today: date | None = None) -> Attachment | None:
    """Write today's chain head into the write-once store (once a day; None if already done)."""
    from engine.store import files
    today = today or utcnow().date()
    name = f"{ANCHOR_PREFIX}{today.isoformat()}.json"
    if session.scalar(select(Attachment.id).where(Attachment.original_name == name)) is not None:
        return None
    head = session.execute(select(ChainHead).where(ChainHead.id == 1).with_for_update()).scalar_one_or_none()
    seq, value = (head.seq, head.hash) if head else (0, GENESIS)
    body = json.dumps({"date": today.isoformat(), "seq": seq, "hash": value}, ensure_ascii=False).encode("utf-8")
    return files.store(session, io.BytesIO(body), name, "application/json", None, None, settings=settings)


_anchored_on: date | None = None


def anchor_daily(db) -> None:
    """The job worker's hook (engine/hooks.py ``periodic``): at most one look per day and process."""
    global _anchored_on
    today = utcnow().date()
    if _anchored_on != today:
        with db.transaction() as session:
            anchor(session, today=today)
        _anchored_on = today
