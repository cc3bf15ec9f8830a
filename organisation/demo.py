"""The demo organisation of 鲁山县环境保护局 (DOMAIN.md): departments, posts, users.

Real deployments import theirs (``zhifa org import``, the 组织机构 page); this is for
``make run``, the tests and trying the system out. Every demo user's password is
``DEMO_PASSWORD``. As in a real 监察大队, an officer holds several posts (调查 + 告知 +
送达 …), so a case needs few logins.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import identity
from engine.store.models import Department, Grant, Group, Membership, User

DEMO_PASSWORD = "zhifa2026"
CERT_VALID = (date(2024, 1, 1), date(2029, 12, 31))  # the demo officers' 执法证 validity

DEPARTMENTS = {
    "leadership": "局领导",
    "legal": "法制股",
    "dev": "开发股",
    "eco": "生态股",
    "total": "总量与土壤股",
    "hwr": "危废与辐射股",
    "supervision": "环境监察大队",
    "discipline": "监察室",
}
PERMIT_POSTS = {"accept": "受理岗", "review": "审查岗", "decide": "决定岗", "deliver": "送达岗", "monitor": "事后监管岗"}
ENFORCEMENT_POSTS = {"file": "立案岗", "investigate": "调查岗", "review": "审查岗", "notify": "告知岗",
                     "decide": "决定岗", "deliver": "送达岗", "execute": "执行岗", "records": "档案岗"}
HEAD_POSTS = {"dev": "股长", "eco": "股长", "total": "股长", "hwr": "股长", "supervision": "大队长"}
GROUPS = {
    "leadership.chief": "主要负责人", "leadership.deputy": "分管负责人",
    **{f"{d}.head": name for d, name in HEAD_POSTS.items()},
    "legal.review": "法制审核岗", "legal.head": "法制股负责人",
    "discipline.complaint": "投诉受理岗",
    **{f"{d}.{p}": name for d in ("dev", "eco", "total", "hwr") for p, name in PERMIT_POSTS.items()},
    **{f"supervision.{p}": name for p, name in ENFORCEMENT_POSTS.items()},
}
GRANTS = {
    "leadership.chief": (identity.VIEW_ALL, identity.MANAGE_INSTANCES, identity.ADMIN),
    "leadership.deputy": (identity.VIEW_ALL, identity.MANAGE_INSTANCES),
    "legal.review": (identity.VIEW_ALL, identity.DEPLOY),
    "legal.head": (identity.VIEW_ALL, identity.DEPLOY, identity.ADMIN, identity.SECTION_HEAD),
    **{f"{d}.head": (identity.SECTION_HEAD,) for d in HEAD_POSTS},
}
# Posts a demo officer holds besides the one their username names (today's usernames and posts stay).
EXTRA_POSTS = {
    "supervision_investigate1": ["supervision.notify", "supervision.deliver"],
    "supervision_investigate2": ["supervision.notify", "supervision.deliver", "supervision.execute"],
    "supervision_execute1": ["supervision.investigate", "supervision.deliver"],
    "supervision_execute2": ["supervision.investigate"],
    "supervision_file1": ["supervision.records"],
    **{f"{d}_accept1": [f"{d}.deliver", f"{d}.monitor"] for d in ("dev", "eco", "total", "hwr")},
}
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
# (username, 姓名, groups, 执法证号) — two certified investigators per enforcement post,
# because investigation, inspection and coercive execution need at least two officers.
_FIXED_USERS = [
    ("leadership_chief", "张局长", ["leadership.chief"], None),
    ("leadership_deputy", "李副局长", ["leadership.deputy"], None),
    ("legal_head", "周股长", ["legal.head", "legal.review"], "豫环执41042300001"),
    ("legal_review1", "王法制", ["legal.review"], "豫环执41042300002"),
    ("legal_review2", "赵法制", ["legal.review"], "豫环执41042300003"),
    ("discipline_complaint1", "孙监察", ["discipline.complaint"], None),
]


def _demo_users() -> list[tuple[str, str, list[str], str | None]]:
    users = list(_FIXED_USERS)
    n = 0
    for code, post in GROUPS.items():
        dept, name = code.split(".")
        if dept in ("leadership", "legal", "discipline"):
            continue
        if name == "head":
            continue
        count = 2 if name in ("investigate", "execute", "review", "accept") else 1
        for i in range(1, count + 1):
            n += 1
            surname = _SURNAMES[n % len(_SURNAMES)]
            cert = f"豫环执410423{n + 100:05d}" if dept == "supervision" or name == "review" else None
            username = f"{dept}_{name}{i}"
            users.append((username, f"{surname}{post.removesuffix('岗')}{i}", [code, *EXTRA_POSTS.get(username, [])], cert))
    for dept, post in HEAD_POSTS.items():  # after the others, so that their names stay as they were
        n += 1
        users.append((f"{dept}_head1", f"{_SURNAMES[n % len(_SURNAMES)]}{post}", [f"{dept}.head"],
                      f"豫环执410423{n + 100:05d}" if dept == "supervision" else None))
    return users


def load(session: Session) -> list[User]:
    """Create the demo organisation where missing; return the demo users."""
    for code, name in DEPARTMENTS.items():
        if session.get(Department, code) is None:
            session.add(Department(code=code, name=name))
    session.flush()
    for code, name in GROUPS.items():
        if session.get(Group, code) is None:
            session.add(Group(code=code, name=f"{DEPARTMENTS[code.split('.')[0]]}·{name}",
                              department_code=code.split(".")[0]))
    session.flush()
    for code, permissions in GRANTS.items():
        for p in permissions:
            if session.get(Grant, (code, p)) is None:
                session.add(Grant(group_code=code, permission=p))
    users = []
    shared_hash = identity.hash_password(DEMO_PASSWORD)  # hashing is deliberately slow; once is enough
    for username, full_name, groups, cert in _demo_users():
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = identity.add_user(session, username, None, full_name, groups, cert_no=cert,
                                     password_hash=shared_hash, cert_valid=CERT_VALID if cert else (None, None))
        else:  # an older demo database: add the posts the demo has since given this officer
            have = identity.group_codes(user)
            session.add_all(Membership(user_id=user.id, group_code=g) for g in groups if g not in have)
        users.append(user)
    session.flush()
    return users


def login_table(users: list[User]) -> str:
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}）：", f"{'用户名':<26}{'姓名':<12}岗位"]
    for u in users:
        lines.append(f"{u.username:<28}{u.full_name:<12}{', '.join(g.name for g in u.groups)}")
    return "\n".join(lines)
