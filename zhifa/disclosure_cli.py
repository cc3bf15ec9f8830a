"""``zhifa draw …``, ``zhifa directory import`` and ``zhifa disclosure …``: 双随机 and 行政执法公示."""
from __future__ import annotations

from pathlib import Path

import click

from disclosure import annual, catalog
from spot_checks import directory, draws, plans
from workdays import calendar
from zhifa.bootstrap import open_database


@click.group("draw")
def draw() -> None:
    """双随机抽取记录。"""


@draw.command("verify")
@click.argument("draw_id", type=int)
def draw_verify(draw_id: int) -> None:
    """按抽取记录（名录快照、随机种子、算法版本）重新计算并核对；不一致时退出码为 1。"""
    with open_database().reading() as session:
        try:
            check = draws.verify(session, draw_id)
        except draws.DrawRefused as e:
            raise click.ClickException(str(e)) from e
    for problem in check.problems:
        click.echo(f"抽取记录 {draw_id}：{problem}")
    if not check.ok:
        raise SystemExit(1)
    click.echo(f"抽取记录 {draw_id}：名录快照哈希、随机种子和抽取结果复核一致。")


@click.group("directory")
def directory_group() -> None:
    """检查对象名录库。"""


@directory_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="导入人（用户名），记入变更历史")
def directory_import(path: Path, username: str) -> None:
    """从 .xlsx 或 .csv 导入或更新名录库（按统一社会信用代码）；有错误时全部不导入。"""
    with open_database().transaction() as session, path.open("rb") as stream:
        try:
            result = directory.import_rows(session, directory.read_table(stream, path.name), username)
        except directory.DirectoryInvalid as e:
            for error in e.errors:
                click.echo(error, err=True)
            raise SystemExit(1) from e
    click.echo(f"新增 {result['added']} 家，更新 {result['updated']} 家。")


@click.group("disclosure")
def disclosure_group() -> None:
    """行政执法公示网站的内容。"""


@disclosure_group.command("publish")
@click.option("--as", "username", required=True, help="发布人（用户名）")
def disclosure_publish(username: str) -> None:
    """发布权责清单（含办事指南）、随机抽查事项清单、执法人员名单和执法流程图（首次使用时写入种子数据）。"""
    with open_database().transaction() as session:
        catalog.seed_powers(session)
        plans.seed_items(session)
        catalog.publish_powers(session, username)
        plans.publish_items(session, username)
        catalog.publish_officers(session, username, calendar.today())
        catalog.publish_diagrams(session, username)
    click.echo("已发布：权责清单、随机抽查事项清单、执法人员名单、执法流程图。")


@disclosure_group.command("annual")
@click.argument("year", type=int)
@click.option("--as", "username", required=True, help="发布人（用户名）")
def disclosure_annual(year: int, username: str) -> None:
    """发布某年度行政执法数据（每年1月31日前公开上年度数据）。"""
    with open_database().transaction() as session:
        annual.publish(session, year, username)
    click.echo(f"已发布 {year} 年度行政执法数据。")
