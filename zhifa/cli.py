"""The ``zhifa`` command. Its commands and output formats are stable: other tools call them."""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date
from pathlib import Path

import click

from engine.access import api_tokens, identity, login_guard
from engine.admin import catalog, instance_migration
from engine.deploy import repository
from engine.execution import decide, jobs, runtime
from engine.execution.errors import EngineStepFailed
from engine.inbox import tasks
from engine.spec import dmn
from engine.spec.forms import FormInvalid
from engine.spec.problems import ModelInvalid
from engine.store import chain
from engine.store.db import ValueTooLong
from engine.store.history import data_to_json
from organisation import demo, directory
from workdays import calendar
from zhifa.bootstrap import open_database
from paperwork import issuing, library, templates


def _db():
    return open_database()


def _user(session, username):
    user = identity.user_by_name(session, username)
    if user is None:
        raise click.ClickException(f"用户 {username} 不存在")
    return user


def _json_arg(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise click.ClickException(f"--data 不是合法的 JSON：{e}")
    if not isinstance(value, dict):
        raise click.ClickException("--data 必须是 JSON 对象")
    return value


def _print_json(value) -> None:
    click.echo(data_to_json(value) if not isinstance(value, str) else value)


@click.group()
@click.option("--log", "log_level", default=None, help="输出日志（如 INFO、DEBUG）；默认只输出结果和错误")
@click.pass_context
def main(ctx: click.Context, log_level: str | None) -> None:
    """zhifa：生态环境执法流程系统。"""
    # Commands print their answer; the server and the worker also log what they do.
    default = "INFO" if ctx.invoked_subcommand in ("serve", "worker") else "WARNING"
    level = (log_level or os.environ.get("ZHIFA_LOG_LEVEL") or default).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)


@main.group()
def db() -> None:
    """数据库维护。"""


@db.command("upgrade")
def db_upgrade() -> None:
    """升级数据库结构到最新版本，并报告不符合本版建模规则的已部署版本。"""
    database = open_database()
    click.echo("数据库已是最新结构")
    _report_refused(database)  # a new release may tighten the modelling rules


@db.command("check-models")
def db_check_models() -> None:
    """列出不符合现行建模规则的已部署版本（与“流程部署”页所列相同）；有则退出码为 1。"""
    if _report_refused(_db()):
        sys.exit(1)
    click.echo("已部署的模型均符合现行建模规则")


def _report_refused(database) -> int:
    """Prints, to stderr, the deployed versions today's rules refuse (catalog.refused_versions)."""
    with database.reading() as session:
        refused = catalog.refused_versions(session, catalog.process_versions(session),
                                           catalog.decision_versions(session))
        for r in refused:
            running = f"，运行中案件 {r.row.running} 件" if r.kind == "流程" else ""
            click.echo(f"{r.kind} {r.row.definition.key} 第 {r.row.definition.version} 版"
                       f"（{r.row.definition.name}{running}）不符合现行建模规则：", err=True)
            for problem in r.problems:
                click.echo(f"  {problem}", err=True)
    if refused:
        click.echo(f"共 {len(refused)} 个已部署版本不符合现行建模规则：修改模型并重新部署前，"
                   "凡需沿用这些文件的部署都会被拒绝", err=True)
    return len(refused)


@main.command("seed-demo")
def seed_demo() -> None:
    """载入演示组织机构和用户，并打印登录账号。"""
    with _db().transaction() as session:
        users = demo.load(session)
        click.echo(demo.login_table(users))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes")
@click.option("--public", is_flag=True, help="只提供行政执法公示网站（无需登录，只读已公示内容），供互联网主机使用")
def serve(host: str, port: int, workers: int, public: bool) -> None:
    """以生产方式（gunicorn）提供网页服务。"""
    open_database()  # migrate once, before the web workers start
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    os.execv(gunicorn, [gunicorn, "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", "4",
                        # gthread workers heartbeat from their main thread, so a long upload is not
                        # killed; a worker stuck in C code (which model code can no longer cause) is.
                        "--timeout", "30", "--access-logfile", "-",
                        "webui.public_wsgi:app" if public else "webui.wsgi:app"])


@main.command()
@click.option("--once", is_flag=True, help="只运行一轮后退出")
@click.option("--interval", default=5.0, show_default=True, help="两轮之间的秒数")
def worker(once: bool, interval: float) -> None:
    """执行到期的定时器和后台任务。"""
    database = _db()
    if once:
        click.echo(f"已执行 {jobs.run_once(database)} 个任务")
    else:
        jobs.run_forever(database, interval)


@main.group()
def users() -> None:
    """用户管理。"""


@users.command("add")
@click.argument("username")
@click.option("--password", required=True)
@click.option("--name", "full_name", required=True, help="姓名")
@click.option("--groups", required=True, help="岗位代码，逗号分隔")
@click.option("--certificate", default=None, help="执法证号")
@click.option("--cert-from", type=click.DateTime(["%Y-%m-%d"]), default=None, help="执法证有效期起 YYYY-MM-DD")
@click.option("--cert-until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="执法证有效期至 YYYY-MM-DD")
def users_add(username, password, full_name, groups, certificate, cert_from, cert_until) -> None:
    """添加用户（部门由岗位决定）。"""
    problems = login_guard.password_problems(password, username)
    if problems:
        raise click.ClickException("密码不符合要求：" + "；".join(problems))
    try:
        with _db().transaction() as session:
            user = identity.add_user(session, username, password, full_name,
                                     [g.strip() for g in groups.split(",") if g.strip()], certificate,
                                     cert_valid=(cert_from and cert_from.date(), cert_until and cert_until.date()))
            click.echo(f"已添加用户 {user.username}（{user.full_name}），部门 {user.department_code}")
    except ValueError as e:
        raise click.ClickException(str(e))


@main.group("org")
def org() -> None:
    """组织机构：部门、岗位、用户。"""


@org.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def org_import(file: Path) -> None:
    """从 .xlsx 或 .csv 导入组织机构（列见 README“组织机构”）；有任何错误则什么都不导入。"""
    try:
        with _db().transaction() as session:
            result = directory.import_file(session, None, file)
    except directory.OrgInvalid as e:
        raise click.ClickException(str(e))
    click.echo(f"已导入：部门 {result.departments} 个，岗位 {result.posts} 个，用户 {result.users} 个")
@users.command("cert")
@click.argument("username")
@click.option("--number", default=None, help="执法证号（省略则清除执法证）")
@click.option("--from", "valid_from", type=click.DateTime(["%Y-%m-%d"]), default=None, help="有效期起 YYYY-MM-DD")
@click.option("--until", "valid_until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="有效期至 YYYY-MM-DD")
def users_cert(username, number, valid_from, valid_until) -> None:
    """登记或更新执法证号及有效期。"""
    try:
        with _db().transaction() as session:
            user = _user(session, username)
            identity.set_certificate(user, number, valid_from and valid_from.date(), valid_until and valid_until.date())
            click.echo(f"{user.full_name}：" + (f"执法证 {user.cert_no}，有效期 {user.cert_valid_from} 至 "
                                               f"{user.cert_valid_until}" if user.cert_no else "已清除执法证"))
    except ValueError as e:
        raise click.ClickException(str(e))


@main.group()
def tokens() -> None:
    """REST 接口（/engine-rest）的访问令牌（Bearer token）。"""


@tokens.command("create")
@click.option("--as", "username", required=True, help="令牌所属用户")
@click.option("--name", default="", help="用途说明，例如 “Camunda Modeler”")
def tokens_create(username, name) -> None:
    """为用户创建令牌；令牌只显示这一次。"""
    with _db().transaction() as session:
        _, token = api_tokens.create(session, _user(session, username), name)
    click.echo(token)


@tokens.command("list")
@click.option("--as", "username", required=True)
def tokens_list(username) -> None:
    """列出用户的令牌（不显示令牌本身）。"""
    with _db().reading() as session:
        for t in api_tokens.tokens_of(session, _user(session, username)):
            state = f"已吊销 {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "有效"
            click.echo(f"{t.id}\t{t.hint}…\t{t.created_at:%Y-%m-%d %H:%M}\t{state}\t{t.name}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.option("--as", "username", required=True)
def tokens_revoke(token_id, username) -> None:
    """吊销令牌。"""
    try:
        with _db().transaction() as session:
            api_tokens.revoke(session, token_id, _user(session, username))
    except (api_tokens.TokenNotFound, identity.NotPermitted) as e:
        raise click.ClickException(str(e))
    click.echo(f"已吊销令牌 {token_id}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--as", "username", default=None, help="部署人")
@click.option("--name", default=None, help="部署名称")
def deploy(paths, username, name) -> None:
    """校验并部署 .bpmn/.dmn 模型和 .docx 文书模板（文件或目录）；有任何问题则全部不部署。"""
    sources = repository.read_paths([p for p in paths if not templates.is_template(p)])
    docs = templates.read_paths(paths)
    try:
        with _db().transaction() as session:
            user = _user(session, username) if username else None
            result = repository.deploy(session, sources, source="cli", user=user, name=name) if sources else None
            created = library.deploy(session, docs, user=user, deployment=result.deployment if result else None)
            if not (result and result.changed) and not created:
                click.echo("没有变化，未产生新版本")
            for d in result.processes if result else []:
                click.echo(f"流程 {d.key} 版本 {d.version}（{d.name}）")
            for d in result.decisions if result else []:
                click.echo(f"决策表 {d.key} 版本 {d.version}（{d.name}）")
            for t in created:
                click.echo(f"文书模板 {t.key} 版本 {t.version}（{t.title}）")
    except ModelInvalid as e:
        for p in e.problems:
            click.echo(str(p), err=True)
        sys.exit(1)
    except library.TemplatesInvalid as e:
        for line in e.lines:
            click.echo(line, err=True)
        sys.exit(1)


@main.command()
@click.argument("process_key")
@click.option("--as", "username", required=True)
@click.option("--data", default=None, help="JSON 对象")
def start(process_key, username, data) -> None:
    """启动一个案件，输出 JSON（实例 id、案件编号）。"""
    try:
        with _db().transaction() as session:
            instance = runtime.start(session, process_key, _user(session, username), _json_arg(data))
            _print_json({"id": instance.id, "business_key": instance.business_key, "process_key": process_key})
    except FormInvalid as e:
        _form_errors(e)
    except (runtime.NoSuchProcess, EngineStepFailed, identity.NotPermitted, ValueTooLong) as e:
        raise click.ClickException(str(e))


@main.command("tasks")
@click.option("--as", "username", required=True)
def list_tasks(username) -> None:
    """某用户的待办任务（JSON）。"""
    with _db().reading() as session:
        _print_json([{
            "id": t.id, "name": t.name, "element_id": t.element_id, "process_key": t.process_key,
            "business_key": t.business_key, "candidate_groups": [g for g in t.candidate_groups.split(",") if g],
            "assignee": t.assignee, "due": t.due_at.isoformat() if t.due_at else None,
        } for t in tasks.inbox(session, _user(session, username))])


@main.command()
@click.argument("task_id")
@click.option("--as", "username", required=True)
@click.option("--data", default=None, help="JSON 对象")
def complete(task_id, username, data) -> None:
    """办理一个任务；表单校验不通过时输出错误并以 1 退出。"""
    try:
        with _db().transaction() as session:
            task = tasks.complete(session, task_id, _user(session, username), _json_arg(data))
            _print_json({"id": task.id, "completed_by": task.completed_by,
                         **({"returned": list(task.explanations)} if task.explanations else {})})
    except FormInvalid as e:
        _form_errors(e)
    except (tasks.TaskNotFound, tasks.TaskAlreadyCompleted, tasks.TaskClaimed, identity.NotPermitted,
            runtime.InstanceNotActive, EngineStepFailed, ValueTooLong,
            issuing.DocumentError) as e:
        raise click.ClickException(str(e))


def _form_errors(e: FormInvalid) -> None:
    for field_id, message in e.errors.items():
        click.echo(f"{field_id}: {message}", err=True)
    sys.exit(1)


def _parse_input(text: str):
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise click.ClickException(f"输入应为 NAME=VALUE：{text}")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


@main.command("migrate")
@click.argument("process_key")
@click.option("--to", "to_version", required=True, type=int, help="目标版本号")
@click.option("--dry-run", is_flag=True, help="只列出可迁移和不能迁移的案件，不做改动")
@click.option("--as", "username", default=None, help="操作人（记入审计）")
def migrate_cmd(process_key, to_version, dry_run, username) -> None:
    """把运行中的案件迁移到流程的新版本（当前环节在新版本中都存在时）。"""
    try:
        with _db().transaction() as session:
            user = _user(session, username) if username else None
            result = (instance_migration.plan if dry_run else instance_migration.migrate)(session, process_key, to_version, user)
            verb = "可迁移" if dry_run else "已迁移"
            click.echo(f"流程 {process_key} 第 {to_version} 版：{verb} {len(result.movable)} 件，不能迁移 {len(result.refused)} 件"
                       + ("（试运行，未做任何改动）" if dry_run else ""))
            for c in result.movable:
                click.echo(f"{verb}\t{c.instance.business_key}\t第 {c.from_version} 版\t当前：{'、'.join(c.current) or '-'}")
            for c in result.refused:
                click.echo(f"不能迁移\t{c.instance.business_key}\t第 {c.from_version} 版\t{c.reason}")
    except (catalog.VersionNotFound, identity.NotPermitted, EngineStepFailed) as e:
        raise click.ClickException(str(e))


@main.command("decide")
@click.argument("decision_id")
@click.option("--input", "inputs", multiple=True, help="NAME=VALUE（VALUE 按 JSON 解析，否则为字符串）")
def decide_cmd(decision_id, inputs) -> None:
    """对已部署的决策表试算，输出 JSON。"""
    with _db().reading() as session:
        try:
            result = decide.evaluate_latest(session, decision_id, dict(_parse_input(i) for i in inputs))
        except (decide.NoSuchDecision, dmn.DecisionError) as e:
            raise click.ClickException(str(e))
        _print_json(result.outputs)


@main.group("calendar")
def calendar_group() -> None:
    """工作日历：录入国务院公布的节假日和调休安排（chinesecalendar 未覆盖的年份）。"""


@calendar_group.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--as", "username", default=None)
def calendar_import(file, username) -> None:
    """从 JSON 文件录入一整年：{"year": 2027, "holidays": [["2027-01-01", "2027-01-01", "元旦"], …],
    "workdays": ["2027-02-07", …]}（节假日为含首尾的区间，workdays 为调休上班的周末）。"""
    try:
        spec = json.load(file)
        with _db().transaction() as session:
            who = _user(session, username) if username else None
            calendar.set_year(session, int(spec["year"]), [tuple(h) for h in spec.get("holidays", [])],
                              spec.get("workdays", []), who)
            moved = calendar.entered(session, date(int(spec["year"]) - 1, 12, 1), who)
    except (ValueError, KeyError, TypeError) as e:
        raise click.ClickException(f"日历文件无效：{e}")
    click.echo(f"已录入 {spec['year']} 年的节假日安排")
    for m in moved:
        click.echo(f"期限重算：{m['business_key']} {m['what']} {m['old']} → {m['new']}")


@calendar_group.command("show")
@click.argument("year", type=int)
def calendar_show(year) -> None:
    """列出某年的节假日和调休工作日（管理员录入的，或 chinesecalendar 内置的）。"""
    with _db().reading() as session:
        entered = calendar.days_of(session, year)
    days = entered or calendar.library_days(year)
    if not days:
        raise click.ClickException(f"{year} 年的节假日安排尚未录入")
    click.echo(f"{year} 年（{'管理员录入' if entered else 'chinesecalendar 内置'}）")
    for d in days:
        click.echo(f"{d.day.isoformat()}  {'上班' if d.is_workday else '休息'}  {d.note}")


@calendar_group.command("set-day")
@click.argument("day")
@click.option("--workday/--holiday", "is_workday", default=None, help="这一天上班或休息")
@click.option("--clear", is_flag=True, help="删除对这一天的更正")
@click.option("--note", default="")
def calendar_set_day(day, is_workday, clear, note) -> None:
    """更正某一天（例如临时调整的休息日）。"""
    if clear == (is_workday is not None):
        raise click.ClickException("请给出 --workday、--holiday 或 --clear 之一")
    try:
        with _db().transaction() as session:
            calendar.set_day(session, date.fromisoformat(day), None if clear else is_workday, note, None)
            moved = calendar.entered(session, date.fromisoformat(day))
    except ValueError as e:
        raise click.ClickException(str(e))
    click.echo(f"{day} 已{'清除更正' if clear else ('设为上班' if is_workday else '设为休息')}")
    for m in moved:
        click.echo(f"期限重算：{m['business_key']} {m['what']} {m['old']} → {m['new']}")


@main.command()
@click.argument("start_date")
@click.option("--working-days", type=int, default=None)
@click.option("--days", type=int, default=None)
@click.option("--months", type=int, default=None)
def deadline(start_date, working_days, days, months) -> None:
    """计算期限届满日（ISO 日期）。起算日不计入。"""
    chosen = [(n, f) for n, f in ((working_days, calendar.add_working_days), (days, calendar.add_days),
                                  (months, calendar.add_months)) if n is not None]
    if len(chosen) != 1:
        raise click.ClickException("请给出且只给出一个：--working-days、--days 或 --months")
    _db()
    try:
        click.echo(chosen[0][1](date.fromisoformat(start_date), chosen[0][0]).isoformat())
    except (ValueError, calendar.CalendarUnknown) as e:
        raise click.ClickException(str(e))


@main.group()
def audit() -> None:
    """审计记录的防篡改校验（哈希链）。"""


@audit.command("verify")
def audit_verify() -> None:
    """重新计算审计记录、部署记录、查阅登记簿和清除登记的哈希链；指出第一条被改、删或插入的记录，退出码 1。"""
    with _db().reading() as session:
        checked, finding = chain.verify(session)
        head = chain.latest_anchor(session)
    if finding is not None:
        click.echo(f"校验失败（已核对 {checked} 条）：{finding.message}", err=True)
        sys.exit(1)
    anchored = f"；最近写入证据库的链头：{head[0]}，序号 {head[1]}" if head else ""
    click.echo(f"校验通过：{checked} 条记录的哈希链完整{anchored}")


@audit.command("anchor")
def audit_anchor() -> None:
    """立即把今天的链头写入只写一次的证据库（worker 每天自动写一次）。"""
    with _db().transaction() as session:
        written = chain.anchor(session)
    click.echo("已写入今天的链头" if written else "今天的链头已写入过")


from .evidence_cli import evidence as _evidence  # noqa: E402

main.add_command(_evidence)
from .disclosure_cli import directory_group, disclosure_group, draw  # noqa: E402
for _group in (draw, directory_group, disclosure_group):
    main.add_command(_group)


if __name__ == "__main__":
    main()
