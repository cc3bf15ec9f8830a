"""Users, departments, posts (groups) and the permissions their posts grant."""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

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


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user


def add_user(session: Session, username: str, password: str | None, full_name: str, groups: list[str],
             cert_no: str | None = None, password_hash: str | None = None) -> User:
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
                department_code=found[groups[0]].department_code, cert_no=cert_no)
    session.add(user)
    session.flush()
    session.add_all(Membership(user_id=user.id, group_code=g) for g in groups)
    session.flush()
    session.refresh(user)
    return user


def group_codes(user: User) -> set[str]:
    return {g.code for g in user.groups}


def permissions_of(session: Session, user: User) -> set[str]:
    codes = group_codes(user)
    if not codes:
        return set()
    return set(session.scalars(select(Grant.permission).where(Grant.group_code.in_(codes))))


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


def require_viewer(session: Session, user: User) -> set[str]:
    """Monitoring is for those who may see every case or manage cases."""
    permissions = permissions_of(session, user)
    if not permissions & {VIEW_ALL, MANAGE_INSTANCES}:
        raise NotPermitted("流程监控仅对有权查看全部案件或管理案件的人员开放")
    return permissions
