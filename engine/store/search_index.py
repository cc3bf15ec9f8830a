"""岗位待办 search: the two- and three-character grams of each ready task's case number and title.

A term's tasks all hold each of its grams (its trigrams; a two-character term is a bigram),
so when few tasks hold its rarest gram, those few rows are the term's candidates, found
on SQLite and PostgreSQL alike whatever the number of open tasks — where a LIKE over the
post would read every one of them. Bigrams too, because Chinese names and words are often
two characters long. Each text ends with ``END``, so that its last character starts a
gram as well and a one-character term is a range of grams. Rows exist while their task is
ready (written by the projection, deleted when the task ends).
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import String, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from engine.store import db
from engine.store.models import TaskSearchGram

END = "\x1f"
_INSERT = insert(TaskSearchGram)  # built once: building a statement cost more than running it
# PostgreSQL: all of an action's grams as two arrays in one statement (one row each, psycopg
# would send one statement per row)
_INSERT_ARRAYS = insert(TaskSearchGram).from_select(["gram", "task_id"], select(
    func.unnest(bindparam("grams", type_=ARRAY(String))), func.unnest(bindparam("task_ids", type_=ARRAY(String)))))
DELETE = delete(TaskSearchGram).where(TaskSearchGram.task_id.in_(bindparam("ids", expanding=True)))


def _fold(text: str | None) -> str:
    return (text or "").lower()  # ILIKE's case folding, or more: the grams select a superset


def grams(*texts: str | None) -> set[str]:
    """The grams of each text (none spans two texts)."""
    out: set[str] = set()
    for text in texts:
        folded = _fold(text) + END
        for n in (2, 3):
            out.update(folded[i:i + n] for i in range(len(folded) - n + 1))
    return out


def term_grams(term: str) -> list[str]:
    """The grams every text containing ``term`` holds: its trigrams, or itself if two characters long."""
    folded = _fold(term)
    n = min(3, len(folded))
    return list(dict.fromkeys(folded[i:i + n] for i in range(len(folded) - n + 1)))


def prefix_range(term: str) -> tuple[str, str]:
    """The grams starting with a one-character term: [low, high) (code point order, collation "C")."""
    folded = _fold(term)
    return folded, chr(ord(folded[-1]) + 1) if ord(folded[-1]) < 0x10FFFF else folded + "\U0010ffff"


def rows(task_id: str, business_key: str | None, title: str | None) -> list[dict]:
    return [{"gram": g, "task_id": task_id} for g in grams(business_key, title)]


def add(session: Session, tasks: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Index ready tasks: (id, case number, title) each."""
    indexed = [r for task in tasks for r in rows(*task)]
    if indexed and session.get_bind().dialect.name == "postgresql":
        db.write(session, _INSERT_ARRAYS, [{"grams": [r["gram"] for r in indexed],
                                            "task_ids": [r["task_id"] for r in indexed]}])
    else:
        db.write(session, _INSERT, indexed)


def remove(session: Session, task_ids: Iterable[str]) -> None:
    db.write(session, DELETE, [{"ids": list(task_ids)}])
