"""Users, departments, posts (groups) and the permissions their posts grant."""
from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine.store import combined
from engine.store.models import CaseDepartment, Grant, Group, Membership, ProcessInstance, User

# Permissions a post can grant (the grants table says which post has which).
DEPLOY = "deploy"              # deploy process models and decision tables (法制股)
VIEW_ALL = "view_all"          # see every case of every department (局领导, 法制股)
MANAGE_INSTANCES = "manage"    # suspend, resume, terminate, migrate cases
ADMIN = "admin"                # organisation, users, calendar
SECTION_HEAD = "head"          # heads the post's department (股室负责人): receives its 督办 notices
PERMISSIONS = (DEPLOY, VIEW_ALL, MANAGE_INSTANCES, ADMIN, SECTION_HEAD)


class NotPermitted(Exception):
    """The user may not see or do this."""

    def __init__(self, message: str = "您没有权限执行此操作"):
        super().__init__(message)


class UnknownGroup(ValueError):
    pass


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def add_user(session: Session, username: str, password: str | None, full_name: str, groups: list[str],
             cert_no: str | None = None, password_hash: str | None = None,
             cert_valid: tuple[date | None, date | None] = (None, None)) -> User:
    """Create a user holding ``groups``; the department is that of the first group.

    ``password_hash`` lets a caller creating many users hash a shared password once.
    """
    found = {g.code: g for g in session.scalars(select(Group).where(Group.code.in_(groups)))}
    missing = [g for g in groups if g not in found]
    if missing or not groups:
        raise UnknownGroup(f"岗位不存在：{', '.join(missing) or '（未指定）'}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"用户名 {username} 已存在")
    user = User(username=username, full_name=full_name, password_hash=password_hash or hash_password(password),
                department_code=found[groups[0]].department_code)
    set_certificate(user, cert_no, *cert_valid)
    session.add(user)
    session.flush()
    session.add_all(Membership(user_id=user.id, group_code=g) for g in groups)
    session.flush()
    session.refresh(user)
    return user


def group_codes(user: User) -> set[str]:
    return {g.code for g in user.groups}


_GRANTED = (select(func.aggregate_strings(Grant.permission, ","))
            .where(Grant.group_code.in_(bindparam("grant_groups", expanding=True))).scalar_subquery())


def permissions_part(user: User) -> combined.Part:
    """The permissions the user's posts grant, as a part of a combined read (``permissions_from``
    makes the set); nothing to read for a user without posts."""
    codes = group_codes(user)
    return ((_GRANTED,), {"grant_groups": sorted(codes)}) if codes else combined.NOTHING


def permissions_from(values: tuple) -> set[str]:
    return {p for p in (values[0] or "").split(",") if p} if values else set()


def permissions_of(session: Session, user: User) -> set[str]:
    (values,) = combined.read(session, permissions_part(user))
    return permissions_from(values)


def has_permission(session: Session, user: User, permission: str) -> bool:
    return permission in permissions_of(session, user)


def can_see_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    """Officers see the cases of their department; leaders and legal staff see all."""
    if has_permission(session, user, VIEW_ALL):
        return True
    if user.department_code is None:
        return False
    return bool(session.scalar(select(exists().where(
        CaseDepartment.instance_id == instance.id, CaseDepartment.department_code == user.department_code))))


def require_instance_visible(session: Session, user: User, instance: ProcessInstance) -> None:
    if not can_see_instance(session, user, instance):
        raise NotPermitted("您无权查看此案件")


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def full_name(session: Session, username: str | None) -> str | None:
    """A username as people read it (the officer's name); None for None."""
    if not username:
        return None
    return session.scalar(select(User.full_name).where(User.username == username)) or username


def section_heads(session: Session, department_code: str) -> list[str]:
    """Codes of the department's posts that grant SECTION_HEAD (its 股室负责人)."""
    return list(session.scalars(select(Group.code).join(Grant, Grant.group_code == Group.code).where(
        Group.department_code == department_code, Grant.permission == SECTION_HEAD).order_by(Group.code)))
def set_certificate(user: User, cert_no: str | None, valid_from: date | None, valid_until: date | None) -> None:
    """执法证: number and validity; a number needs both dates, the end not before the start."""
    cert_no = (cert_no or "").strip() or None
    if cert_no is None:
        if valid_from or valid_until:
            raise ValueError("填写有效期时须同时填写执法证号")
    elif len(cert_no) > 50:
        raise ValueError("执法证号最多 50 个字符")
    elif valid_from is None or valid_until is None:
        raise ValueError("请填写执法证有效期的起止日期")
    elif valid_until < valid_from:
        raise ValueError(f"执法证有效期截止日（{valid_until}）不能早于起始日（{valid_from}）")
    user.cert_no, user.cert_valid_from, user.cert_valid_until = cert_no, valid_from, valid_until


def certified_clause(on: date):
    """Users holding a 执法证 valid on ``on``."""
    return (User.cert_no.is_not(None) & User.active.is_(True)
            & or_(User.cert_valid_from.is_(None), User.cert_valid_from <= on)
            & or_(User.cert_valid_until.is_(None), User.cert_valid_until >= on))


def certified(session: Session, posts: list[str], on: date) -> list[User]:
    """Active users of one of ``posts`` (any post when empty) whose 执法证 is valid on ``on``."""
    query = select(User).where(certified_clause(on))
    if posts:
        query = query.where(User.id.in_(select(Membership.user_id).where(Membership.group_code.in_(posts))))
    return list(session.scalars(query.order_by(User.full_name, User.username)))


def certificate_label(user: User) -> str:
    """王调查1（执法证 豫环执41042300101）: how a chosen officer is shown."""
    return f"{user.full_name}（执法证 {user.cert_no}）" if user.cert_no else f"{user.full_name}（无执法证）"


def officer_problems(session: Session, form, values, on: date) -> dict[str, str]:
    """``officers`` fields of ``form``: every chosen person holds one of the field's posts and a
    执法证 valid on ``on`` (执法人员须持证, 行政处罚法 第42条)."""
    errors = {}
    for f in form.fields:
        ids = values.get(f.id) if f.type == "officers" and not f.readonly else None
        if not ids:
            continue
        eligible = {u.id for u in certified(session, f.posts, on)}
        bad = [i for i in ids if i not in eligible]
        if bad:
            names = [certificate_label(u) for u in session.scalars(select(User).where(User.id.in_(bad)))] or ["未知人员"]
            errors[f.id] = (f"{f.label}：{'、'.join(names)} 不是持有{on}有效执法证的" +
                            ("指定岗位人员" if f.posts else "执法人员") + "，请重新选择")
    return errors


def require_viewer(session: Session, user: User) -> set[str]:
    """Monitoring is for those who may see every case or manage cases."""
    permissions = permissions_of(session, user)
    if not permissions & {VIEW_ALL, MANAGE_INSTANCES}:
        raise NotPermitted("流程监控仅对有权查看全部案件或管理案件的人员开放")
    return permissions
