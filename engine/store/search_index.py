"""岗位待办 search: the two- and three-character grams of each open case's number and title.

A term's tasks all hold each of its grams (its trigrams; a two-character term is a bigram),
so when few tasks hold its rarest gram, those few rows are the term's candidates, found
on SQLite and PostgreSQL alike whatever the number of open tasks — where a LIKE over the
post would read every one of them. Bigrams too, because Chinese names and words are often
two characters long. Each text ends with ``END``, so that its last character starts a
gram as well and a one-character term is a range of grams. Rows belong to the case, not to its
tasks (a task's number and title are its case's): written when the case starts and when it is
renamed, deleted when it ends — so an action that only moves the case on writes none of them
(on PostgreSQL they were a completion's costliest write).
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Integer, String, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from engine.store import db
from engine.store.models import CaseSearchGram

END = "\x1f"
_INSERT = insert(CaseSearchGram)  # built once: building a statement cost more than running it
# PostgreSQL: all of a case's grams as two arrays in one statement (one row each, psycopg would
# send one statement per row)
_INSERT_ARRAYS = insert(CaseSearchGram).from_select(["gram", "instance_id"], select(
    func.unnest(bindparam("grams", type_=ARRAY(String))), func.unnest(bindparam("instance_ids", type_=ARRAY(Integer)))))
_DELETE = delete(CaseSearchGram).where(CaseSearchGram.instance_id == bindparam("instance_id"))


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


def add(session: Session, cases: Iterable[tuple[int, str | None, str | None]]) -> None:
    """Index open cases: (id, case number, title) each."""
    indexed = [{"gram": g, "instance_id": i} for i, key, title in cases for g in grams(key, title)]
    if indexed and session.get_bind().dialect.name == "postgresql":
        db.write(session, _INSERT_ARRAYS, [{"grams": [r["gram"] for r in indexed],
                                            "instance_ids": [r["instance_id"] for r in indexed]}])
    else:
        db.write(session, _INSERT, indexed)


def remove(session: Session, instance_id: int) -> None:
    db.write(session, _DELETE, [{"instance_id": instance_id}])
