"""``zhifa evidence verify|purge|export``: checking, clearing and exporting recordings."""
from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from engine.access.identity import user_by_name
from engine.store.config import load_settings
from engine.store.models import ProcessInstance
from recording import retention
from zhifa.bootstrap import open_database


@click.group()
def evidence() -> None:
    """执法全过程记录：校验、清除到期音像记录、导出长期保存包。"""


@evidence.command("verify")
def verify_cmd() -> None:
    """重新计算每个存储文件的 SHA-256；有缺失或被改动的文件时退出码为 1。"""
    settings = load_settings()
    database = open_database(settings)
    with database.reading() as session:
        checked, problems = retention.verify(session, settings)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"校验失败：{len(problems)} 个记录的文件缺失或被改动（共校验 {checked} 个文件）。")
        raise SystemExit(1)
    click.echo(f"校验通过：{checked} 个文件完好。")


@evidence.command("purge")
@click.option("--approved-by", required=True, help="批准清除的人员（用户名），记入清除登记")
@click.option("--dry-run", is_flag=True, help="只列出将被清除的记录")
def purge_cmd(approved_by: str, dry_run: bool) -> None:
    """清除保存期（结案后 6 个月）已满、未标记长期保存的已结案件音像记录。"""
    settings = load_settings()
    database = open_database(settings)
    with database.transaction() as session:
        if user_by_name(session, approved_by) is None:
            raise click.ClickException(f"用户 {approved_by} 不存在")
        if dry_run:
            for a in retention.expired_recordings(session):
                click.echo(f"{a.id}\t{a.sha256}\t{a.original_name}")
            return
        logged = retention.purge(session, approved_by, settings=settings)
    for e in logged:
        click.echo(f"{e.business_key}\t{e.sha256}\t{e.original_name}")
    click.echo(f"已清除 {len(logged)} 个音像记录。")


@evidence.command("export")
@click.argument("business_key")
@click.option("--to", "dest", required=True, type=click.Path(file_okay=False), help="导出目录")
@click.option("--user", "username", required=True, help="制作人（用户名）")
def export_cmd(business_key: str, dest: str, username: str) -> None:
    """导出案件的音像记录（一式两份，含清单和 SHA-256），用于刻录光盘。"""
    settings = load_settings()
    database = open_database(settings)
    with database.transaction() as session:
        if user_by_name(session, username) is None:
            raise click.ClickException(f"用户 {username} 不存在")
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == business_key))
        if instance is None:
            raise click.ClickException(f"案件 {business_key} 不存在")
        try:
            result = retention.export_package(session, instance.id, Path(dest), username, settings)
        except retention.RetentionError as e:
            raise click.ClickException(str(e))
    for copy in result.copies:
        click.echo(str(copy))
    click.echo(f"已导出 {len(result.manifest['files'])} 个文件，一式两份。")
