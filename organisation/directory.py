"""The bureau's organisation as its administrator runs it: departments, posts (with the
permissions they grant), users (added, disabled, re-enabled, passwords reset, posts
changed, 执法证 number and validity), and a whole organisation imported from a file.

Every change is audited; bad input raises ``OrgInvalid`` with a Chinese message and
changes nothing.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.access import identity, login_guard
from engine.access.identity import NotPermitted
from engine.execution import projection
from engine.store import history
from engine.store.models import Department, Grant, Group, HumanTask, Membership, ProcessInstance, User

PERMISSION_LABELS = {
    identity.DEPLOY: "部署流程",
    identity.VIEW_ALL: "查看全部案件",
    identity.MANAGE_INSTANCES: "管理案件",
    identity.ADMIN: "系统管理",
    identity.SECTION_HEAD: "股室负责人",
}
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class OrgInvalid(ValueError):
    """Bad input for an organisation change; nothing was changed."""


def require_admin(session: Session, user: User) -> None:
    if not identity.has_permission(session, user, identity.ADMIN):
        raise NotPermitted("组织机构和用户管理仅对具有系统管理权限的岗位开放")


# --- reading --------------------------------------------------------------------

@dataclass
class Overview:
    departments: list[Department]
    posts: list[Group]
    grants: dict[str, list[str]]  # post code → permissions
    members: dict[str, int]  # post code → active users holding it
    users: list[User]


def overview(session: Session) -> Overview:
    grants: dict[str, list[str]] = {}
    for g in session.scalars(select(Grant).order_by(Grant.group_code, Grant.permission)):
        grants.setdefault(g.group_code, []).append(g.permission)
    members = dict(session.execute(select(Membership.group_code, func.count()).join(User, User.id == Membership.user_id)
                                   .where(User.active.is_(True)).group_by(Membership.group_code)).all())
    return Overview(list(session.scalars(select(Department).order_by(Department.code))),
                    list(session.scalars(select(Group).order_by(Group.department_code, Group.code))),
                    grants, members,
                    list(session.scalars(select(User).order_by(User.department_code, User.username))))


def get_user(session: Session, user_id: int) -> User:
    found = session.get(User, user_id)
    if found is None:
        raise OrgInvalid("用户不存在")
    return found


# --- departments and posts -------------------------------------------------------

def _code(value: str | None, what: str) -> str:
    code = (value or "").strip()
    if not _CODE.match(code):
        raise OrgInvalid(f"{what}代码“{code}”无效：只能用小写英文字母、数字和下划线，以字母开头")
    return code


def _name(value: str | None, what: str, limit: int = 100) -> str:
    name = (value or "").strip()
    if not name:
        raise OrgInvalid(f"请填写{what}名称")
    if len(name) > limit:
        raise OrgInvalid(f"{what}名称最多 {limit} 个字")
    return name


def save_department(session: Session, actor: User | None, code: str, name: str) -> Department:
    """Add a department, or rename one."""
    code, name = _code(code, "部门"), _name(name, "部门")
    dept = session.get(Department, code)
    if dept is None:
        dept = Department(code=code, name=name)
        session.add(dept)
    else:
        dept.name = name
    history.record(session, "org_department", actor, details={"code": code, "name": name})
    session.flush()
    return dept


def save_post(session: Session, actor: User | None, department_code: str, post: str, name: str,
              permissions: list[str]) -> Group:
    """Add a post (岗位) ``<department>.<post>`` or change its name and permissions.
    Its code is the candidate-group name the process models use."""
    dept = session.get(Department, (department_code or "").strip())
    if dept is None:
        raise OrgInvalid("请选择岗位所属部门")
    code = f"{dept.code}.{_code(post, '岗位')}"
    name = _name(name, "岗位")
    unknown = [p for p in permissions if p not in PERMISSION_LABELS]
    if unknown:
        raise OrgInvalid(f"未知的权限：{'、'.join(unknown)}")
    group = session.get(Group, code)
    full = name if "·" in name else f"{dept.name}·{name}"
    if group is None:
        group = Group(code=code, name=full, department_code=dept.code)
        session.add(group)
    else:
        group.name = full
    session.flush()
    session.execute(delete(Grant).where(Grant.group_code == code))
    session.add_all(Grant(group_code=code, permission=p) for p in sorted(set(permissions)))
    history.record(session, "org_post", actor, details={"code": code, "name": full, "permissions": sorted(permissions)})
    session.flush()
    return group


# --- users -------------------------------------------------------------------------

def _password(value: str | None, username: str) -> str:
    problems = login_guard.password_problems(value or "", username)  # the policy every new password meets
    if problems:
        raise OrgInvalid("；".join(problems))
    return value


def _certificate(user: User, number: str | None, valid_from: date | None, valid_until: date | None) -> None:
    try:
        identity.set_certificate(user, number, valid_from, valid_until)
    except ValueError as e:
        raise OrgInvalid(str(e)) from None


def parse_date(value, what: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError:
        raise OrgInvalid(f"{what}“{value}”不是日期（应为 2026-01-31 这样的格式）") from None


def add_user(session: Session, actor: User | None, username: str, full_name: str, password: str, posts: list[str],
             cert_no: str | None = None, cert_valid_from: date | None = None,
             cert_valid_until: date | None = None) -> User:
    username = (username or "").strip()
    if not re.match(r"^[A-Za-z0-9_.-]{2,100}$", username):
        raise OrgInvalid("用户名只能用英文字母、数字、下划线、点和连字符（2～100 个字符）")
    full_name = _name(full_name, "姓名")
    try:  # (the certificate is checked before the user is added)
        user = identity.add_user(session, username, _password(password, username), full_name, posts,
                                 cert_no=cert_no, cert_valid=(cert_valid_from, cert_valid_until))
    except (identity.UnknownGroup, ValueError) as e:
        raise OrgInvalid(str(e)) from None
    history.record(session, "org_user_added", actor, details={"username": username, "name": full_name, "posts": posts})
    session.flush()
    return user


def set_posts(session: Session, actor: User | None, user: User, posts: list[str]) -> None:
    """Change a user's posts; the department is that of the first post. Tasks they claimed
    whose posts they no longer hold go back to the post."""
    found = {g.code: g for g in session.scalars(select(Group).where(Group.code.in_(posts)))}
    missing = [p for p in posts if p not in found]
    if missing or not posts:
        raise OrgInvalid(f"岗位不存在：{'、'.join(missing)}" if missing else "请至少选择一个岗位")
    session.execute(delete(Membership).where(Membership.user_id == user.id))
    session.add_all(Membership(user_id=user.id, group_code=p) for p in dict.fromkeys(posts))
    user.department_code = found[posts[0]].department_code
    session.flush()
    session.expire(user, ["groups"])
    history.record(session, "org_user_posts", actor, details={"username": user.username, "posts": posts})
    _release_tasks(session, actor, user, keep=set(posts))


def set_certificate(session: Session, actor: User | None, user: User, cert_no: str | None, valid_from: date | None,
                    valid_until: date | None) -> None:
    _certificate(user, cert_no, valid_from, valid_until)
    history.record(session, "org_user_certificate", actor, details={
        "username": user.username, "cert_no": user.cert_no, "valid_from": valid_from, "valid_until": valid_until})


def set_active(session: Session, actor: User, user: User, active: bool) -> int:
    """Disable (停用) or re-enable a user. A disabled user cannot log in and loses their
    session at the next request; the tasks they claimed return to their posts. Returns
    the number of tasks returned."""
    if not active and user.id == actor.id:
        raise OrgInvalid("不能停用自己的账号")
    user.active = active
    user.session_generation += 1
    history.record(session, "org_user_enabled" if active else "org_user_disabled", actor,
                   details={"username": user.username})
    return 0 if active else _release_tasks(session, actor, user, keep=None)


def reset_password(session: Session, actor: User, user: User, password: str) -> None:
    user.password_hash = identity.hash_password(_password(password, user.username))
    user.session_generation += 1  # sessions opened with the old password end
    history.record(session, "org_password_reset", actor, details={"username": user.username})


def _release_tasks(session: Session, actor: User | None, user: User, keep: set[str] | None) -> int:
    """Ready tasks claimed by ``user`` go back to their posts (all of them, or those whose
    posts are not in ``keep``), each audited on its case."""
    released = 0
    for task in session.scalars(select(HumanTask).where(HumanTask.assignee == user.username,
                                                        HumanTask.state == "ready")):
        if keep is not None and set(task.candidate_groups.split(",")) & keep:
            continue
        task.assignee = None
        projection.set_claimable(session, task.id, not task.suspended)  # back in its posts' 岗位待办
        released += 1
        history.record(session, "unclaim", actor, instance=session.get(ProcessInstance, task.instance_id),
                       task_id=task.id, element_id=task.element_id,
                       details={"task": task.name, "reason": f"{user.full_name}的账号已停用或岗位已调整，任务退回岗位"})
    session.flush()
    return released


# --- import --------------------------------------------------------------------------

# The columns of an organisation file (first row = these headings, any order; extra columns are ignored).
COLUMNS = {
    "部门代码": "dept_code", "部门名称": "dept_name", "岗位代码": "post_code", "岗位名称": "post_name",
    "岗位权限": "permissions", "用户名": "username", "姓名": "full_name", "初始密码": "password",
    "执法证号": "cert_no", "执法证有效期起": "cert_valid_from", "执法证有效期止": "cert_valid_until",
}
REQUIRED_COLUMNS = ("部门代码", "部门名称", "岗位代码", "岗位名称")


@dataclass
class ImportResult:
    departments: int = 0
    posts: int = 0
    users: int = 0
    errors: list[str] = field(default_factory=list)


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of an .xlsx (first sheet) or .csv (UTF-8, with or without BOM) organisation file."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook
        try:
            sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        except Exception as e:  # a damaged or mislabelled file
            raise OrgInvalid(f"无法读取 Excel 文件：{e}") from None
        table = [["" if c is None else c for c in row] for row in sheet.iter_rows(values_only=True)]
    elif path.suffix.lower() == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise OrgInvalid("CSV 文件须为 UTF-8 编码（Excel 另存为“CSV UTF-8”）") from None
        table = list(csv.reader(io.StringIO(text)))
    else:
        raise OrgInvalid("组织机构文件须为 .xlsx 或 .csv")
    if not table:
        raise OrgInvalid("文件是空的")
    heads = [str(h).strip() for h in table[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in heads]
    if missing:
        raise OrgInvalid(f"缺少列：{'、'.join(missing)}（第一行须为列名）")
    rows = []
    for raw in table[1:]:
        row = {COLUMNS[h]: raw[i] if i < len(raw) else "" for i, h in enumerate(heads) if h in COLUMNS}
        row = {k: v if isinstance(v, (date, datetime)) else str(v).strip() for k, v in row.items()}
        rows.append(row)
    return rows


def _permissions(text: str) -> list[str]:
    by_label = {label: code for code, label in PERMISSION_LABELS.items()}
    out = []
    for item in re.split(r"[,，、;；\s]+", text or ""):
        if item:
            code = by_label.get(item, item)
            if code not in PERMISSION_LABELS:
                raise OrgInvalid(f"未知的岗位权限“{item}”，可用：{'、'.join(PERMISSION_LABELS.values())}")
            out.append(code)
    return out


def import_rows(session: Session, actor: User | None, rows: list[dict[str, str]]) -> ImportResult:
    """One row per (department, post[, user]): a user holding several posts has one row per
    post. Existing departments, posts and users are updated, never removed. Any error: the
    caller rolls back (``OrgInvalid`` names every bad row)."""
    result = ImportResult()
    errors = []
    seen_depts, seen_posts, users = set(), set(), {}
    for n, row in enumerate(rows, start=2):
        if not any(str(v).strip() for v in row.values()):
            continue
        try:
            dept_code = _code(row.get("dept_code"), "部门")
            if dept_code not in seen_depts:
                save_department(session, actor, dept_code, row.get("dept_name"))
                seen_depts.add(dept_code)
            post = (row.get("post_code") or "").strip()
            post = post.split(".", 1)[1] if post.startswith(dept_code + ".") else post
            code = f"{dept_code}.{_code(post, '岗位')}"
            if code not in seen_posts:
                save_post(session, actor, dept_code, post, row.get("post_name"), _permissions(row.get("permissions")))
                seen_posts.add(code)
            if row.get("username"):
                entry = users.setdefault(row["username"], {"row": n, "posts": [], **row})
                entry["posts"].append(code)
        except OrgInvalid as e:
            errors.append(f"第 {n} 行：{e}")
    for username, entry in users.items():
        try:
            cert = (entry.get("cert_no"), parse_date(entry.get("cert_valid_from"), "执法证有效期起"),
                    parse_date(entry.get("cert_valid_until"), "执法证有效期止"))
            existing = identity.user_by_name(session, username)
            if existing is None:
                add_user(session, actor, username, entry.get("full_name"), entry.get("password"), entry["posts"], *cert)
            else:
                existing.full_name = _name(entry.get("full_name"), "姓名")
                set_posts(session, actor, existing, entry["posts"])
                set_certificate(session, actor, existing, *cert)
            result.users += 1
        except OrgInvalid as e:
            errors.append(f"第 {entry['row']} 行（用户 {username}）：{e}")
    if errors:
        raise OrgInvalid("\n".join(errors))
    result.departments, result.posts = len(seen_depts), len(seen_posts)
    return result


def import_file(session: Session, actor: User | None, path: Path) -> ImportResult:
    return import_rows(session, actor, read_rows(path))
