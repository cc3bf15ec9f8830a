"""The `zhifa` command, as other tools call it: every call is a fresh Python process, so a
case started by one call and finished by later ones also shows that an instance reloads
where it stopped."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from engine.access import identity
from engine.deploy import repository
from engine.store.models import InstanceLink, ProcessInstance
from tests.conftest import FIXTURES

ZHIFA = Path(sys.executable).parent / "zhifa"
TASK_KEYS = {"id", "name", "process_key", "business_key", "candidate_groups", "assignee", "due"}


def zhifa(env, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(ZHIFA), *map(str, args)], env=env, capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def ok(env, *args, cwd=None) -> str:
    result = zhifa(env, *args, cwd=cwd)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def ok_json(env, *args):
    return json.loads(ok(env, *args))


def tasks_of(env, username: str) -> list[dict]:
    found = ok_json(env, "tasks", "--as", username)
    assert isinstance(found, list) and all(TASK_KEYS <= set(t) for t in found), found
    return found


def test_an_inspection_case_runs_to_its_end_one_process_per_step(db, cli_env):
    logins = ok(cli_env, "seed-demo")
    assert "zhifa2026" in logins and "supervision_investigate1" in logins and "legal_review1" in logins
    deployed = ok(cli_env, "deploy", FIXTURES / "engine")
    assert "case_flow 版本 1" in deployed and "test_review_rule 版本 1" in deployed

    case = ok_json(cli_env, "start", "case_flow", "--as", "supervision_investigate1", "--data", "{}")
    assert isinstance(case["id"], int) and case["business_key"]

    [inspect] = tasks_of(cli_env, "supervision_investigate1")
    assert (inspect["name"], inspect["process_key"], inspect["business_key"]) == \
        ("现场检查", "case_flow", case["business_key"])
    assert inspect["candidate_groups"] == ["supervision.investigate"] and inspect["assignee"] is None
    assert inspect["due"]  # camunda:dueDate add_working_days(today(), 5)

    bad = zhifa(cli_env, "complete", inspect["id"], "--as", "supervision_investigate1",
                "--data", json.dumps({"party_type": "company", "fine_amount": "abc"}))
    assert bad.returncode == 1
    assert "party_name" in bad.stderr and "必填" in bad.stderr and "party_type" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
    assert [t["id"] for t in tasks_of(cli_env, "supervision_investigate1")] == [inspect["id"]]

    done = ok_json(cli_env, "complete", inspect["id"], "--as", "supervision_investigate1", "--data", json.dumps(
        {"party_name": "鲁山县某化工有限公司", "party_type": "organization", "fine_amount": "60000",
         "violation": "true", "inspected_on": "2026-11-20"}))
    assert done == {"id": inspect["id"], "completed_by": "supervision_investigate1"}

    # an organisation fined 60,000 yuan goes to 法制审核
    assert tasks_of(cli_env, "supervision_review1") == []
    [review] = tasks_of(cli_env, "legal_review1")
    assert (review["name"], review["business_key"], review["candidate_groups"]) == \
        ("审查", case["business_key"], ["legal.review"])
    again = zhifa(cli_env, "complete", inspect["id"], "--as", "supervision_investigate2", "--data", "{}")
    assert again.returncode == 1 and "已由 程调查1" in again.stderr
    ok(cli_env, "complete", review["id"], "--as", "legal_review1", "--data", json.dumps({"opinion": "事实清楚，同意移送"}))

    # the message started a penalty case waiting at 立案
    [filing] = tasks_of(cli_env, "supervision_file1")
    assert (filing["name"], filing["process_key"]) == ("立案", "case_receiver")
    assert filing["business_key"] != case["business_key"]
    ok(cli_env, "complete", filing["id"], "--as", "supervision_file1")
    assert "已执行 0 个任务" in ok(cli_env, "worker", "--once")

    with db.reading() as session:
        first = session.get(ProcessInstance, case["id"])
        link = session.scalar(select(InstanceLink))
        second = session.get(ProcessInstance, link.target_id)
        assert (first.status, second.status) == ("completed", "completed")
        assert (link.source_id, second.business_key) == (case["id"], filing["business_key"])


def test_users_add_takes_the_department_from_the_post(db, org, cli_env):
    added = ok(cli_env, "users", "add", "wang_legal", "--password", "s3cret-密码-2026", "--name", "王新",
               "--groups", "legal.review,supervision.investigate")
    assert "wang_legal" in added and "legal" in added
    weak = zhifa(cli_env, "users", "add", "li_x", "--password", "pw", "--name", "李某", "--groups", "legal.review")
    assert weak.returncode != 0 and "密码至少 10 位" in weak.stderr
    unknown = zhifa(cli_env, "users", "add", "li_x", "--password", "Li-x-secret-9", "--name", "李某", "--groups",
                    "legal.review,legal.secretary")
    assert unknown.returncode != 0 and "legal.secretary" in unknown.stderr and "Traceback" not in unknown.stderr
    with db.reading() as session:
        user = identity.user_by_name(session, "wang_legal")
        assert user.department_code == "legal"
        assert identity.group_codes(user) == {"legal.review", "supervision.investigate"}
        assert identity.check_password(identity.user_by_name(session, "wang_legal"), "s3cret-密码-2026")
        assert identity.user_by_name(session, "li_x") is None


def test_decide_evaluates_a_deployed_decision_table(db, org, cli_env):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([FIXTURES / "engine"]), source="cli")

    def decide(*inputs):
        return ok_json(cli_env, "decide", "test_review_rule", *[a for i in inputs for a in ("--input", i)])

    # a citizen fined 5,000 yuan needs 法制审核; 4,999.99 does not
    assert decide("party_type=citizen", "fine_amount=5000") == {"needs_review": True}
    assert decide("party_type=citizen", "fine_amount=4999.99") == {"needs_review": False}
    missing = zhifa(cli_env, "decide", "no_such_table", "--input", "x=1")
    assert missing.returncode == 1 and "no_such_table" in missing.stderr


def test_deadline_counts_working_days_over_national_day(cli_env):
    # 10月1日–7日 国庆中秋放假, 10月10日（星期六）调休上班: 8, 9, 10, 12, 13 October
    assert ok(cli_env, "deadline", "2026-09-30", "--working-days", "5").strip() == "2026-10-13"
    assert ok(cli_env, "deadline", "2026-09-30", "--days", "15").strip() == "2026-10-15"
    assert zhifa(cli_env, "deadline", "2026-09-30").returncode != 0


def test_two_data_dirs_never_mix(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ZHIFA_DATABASE_URL"}
    first = dict(env, ZHIFA_DATA_DIR=str(tmp_path / "bureau"), ZHIFA_LOG_LEVEL="WARNING")
    second = dict(env, ZHIFA_DATA_DIR=str(tmp_path / "training"), ZHIFA_LOG_LEVEL="WARNING")
    run_in = tmp_path / "cwd"
    run_in.mkdir()

    assert "数据库" in ok(first, "db", "upgrade", cwd=run_in)
    assert (tmp_path / "bureau" / "zhifa.db").is_file()
    ok(first, "seed-demo", cwd=run_in)
    assert ok_json(first, "tasks", "--as", "legal_review1") == []

    ok(second, "db", "upgrade", cwd=run_in)
    assert (tmp_path / "training" / "zhifa.db").is_file()
    stranger = zhifa(second, "tasks", "--as", "legal_review1", cwd=run_in)
    assert stranger.returncode == 1 and "legal_review1 不存在" in stranger.stderr
    no_posts = zhifa(second, "users", "add", "a", "--password", "Jia-secret-1", "--name", "甲", "--groups", "legal.review",
                     cwd=run_in)
    assert no_posts.returncode == 1 and "legal.review" in no_posts.stderr
    assert list(run_in.iterdir()) == []  # the default ./var was never used


def test_deployed_versions_that_todays_rules_refuse_are_reported_after_an_upgrade(db, org, cli_env):
    """After a release tightens the modelling rules, `db upgrade` names the deployed versions they
    refuse and `db check-models` fails on them, as the 流程部署 page lists them."""
    from tests.test_modeling_web import deploy_legacy_loops
    with db.transaction() as session:  # the process the legacy model calls
        repository.deploy(session, repository.read_paths([FIXTURES / "compaction"]), source="cli")
    assert "均符合现行建模规则" in ok(cli_env, "db", "check-models")
    assert zhifa(cli_env, "db", "upgrade").stderr == ""

    deploy_legacy_loops(db)
    upgraded = zhifa(cli_env, "db", "upgrade")
    assert upgraded.returncode == 0 and "数据库已是最新结构" in upgraded.stdout
    assert "流程 legacy_loops 第 1 版（测试多次退回（旧版模型），运行中案件 0 件）不符合现行建模规则" in upgraded.stderr
    assert "不能位于循环中" in upgraded.stderr and "共 1 个已部署版本" in upgraded.stderr
    checked = zhifa(cli_env, "db", "check-models")
    assert checked.returncode == 1 and checked.stderr == upgraded.stderr and "Traceback" not in checked.stderr
