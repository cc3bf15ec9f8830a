"""The organisation run by its administrator: a real bureau imported from a file on an empty
database (then the models deploy and a case runs), users added, disabled mid-case (their
claimed tasks go back to the post, their session ends), posts changed, passwords reset; who
may start which process; the handling department of a case."""
from __future__ import annotations

import csv
from datetime import date

import pytest
from openpyxl import Workbook

from engine.access import identity
from engine.deploy import repository
from engine.execution import runtime
from engine.inbox import tasks
from engine.spec.problems import ModelInvalid
from engine.store.models import AuditEvent, User
from organisation import directory
from tests.casework import Case
from tests.conftest import ROOT
from tests.test_process_permit import APPLICANT
from tests.webclient import Browser, make_app

HEADS = list(directory.COLUMNS)
PW = "Lushan#2026"
# A small bureau: every post the models name, one or two officers holding several posts.
BUREAU = [
    ["leadership", "局领导", "leadership.chief", "主要负责人", "查看全部案件、管理案件、系统管理", "chief", "高局长", PW, "", "", ""],
    ["leadership", "局领导", "leadership.deputy", "分管负责人", "查看全部案件、管理案件", "deputy", "林副局长", PW, "", "", ""],
    ["legal", "法制股", "legal.review", "法制审核岗", "查看全部案件、部署流程", "reviewer", "何法制", PW, "豫环执0001", "2024-01-01", "2029-12-31"],
    ["legal", "法制股", "legal.head", "法制股负责人", "查看全部案件、部署流程、系统管理、股室负责人", "", "", "", "", "", ""],
    *[["supervision", "环境监察大队", f"supervision.{p}", n, "", "officer1", "郭队员", PW, "豫环执0002", "2025-01-01", "2030-12-31"]
      for p, n in (("file", "立案岗"), ("investigate", "调查岗"), ("notify", "告知岗"), ("deliver", "送达岗"))],
    *[["supervision", "环境监察大队", f"supervision.{p}", n, "", "officer2", "马队员", PW, "豫环执0003", "2025-01-01", "2030-12-31"]
      for p, n in (("investigate", "调查岗"), ("execute", "执行岗"), ("records", "档案岗"))],
    ["supervision", "环境监察大队", "supervision.review", "审查岗", "", "checker", "罗审查", PW, "豫环执0004", "2025-01-01", "2030-12-31"],
    ["supervision", "环境监察大队", "supervision.decide", "决定岗", "", "checker", "罗审查", PW, "", "", ""],
    ["supervision", "环境监察大队", "supervision.head", "大队长", "股室负责人", "captain", "梁大队长", PW, "", "", ""],
    *[[d, n, f"{d}.{p}", pn, "", "", "", "", "", "", ""] for d, n in (("dev", "开发股"), ("eco", "生态股"),
                                                                     ("total", "总量与土壤股"), ("hwr", "危废与辐射股"))
      for p, pn in (("accept", "受理岗"), ("review", "审查岗"), ("decide", "决定岗"), ("deliver", "送达岗"),
                    ("monitor", "事后监管岗"))],
    ["discipline", "监察室", "discipline.complaint", "投诉受理岗", "", "", "", "", "", "", ""],
]


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows([HEADS, *rows])
    return path


def write_xlsx(path, rows):
    book = Workbook()
    book.active.append(HEADS)
    for row in rows:
        book.active.append([date.fromisoformat(v) if k.startswith("执法证有效期") and v else v
                            for k, v in zip(HEADS, row)])
    book.save(path)
    return path


def by_name(session, username) -> User:
    return identity.user_by_name(session, username)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_bureau_imported_from_a_file_on_an_empty_database_deploys_and_runs_a_case(db, tmp_path, kind):
    sources = repository.read_paths([ROOT / "dmn", ROOT / "bpmn"])
    with pytest.raises(ModelInvalid) as refused, db.transaction() as session:  # no posts yet
        repository.deploy(session, sources, source="cli")
    assert "候选岗位 “supervision.file” 不存在：请先在“组织机构”页面创建该岗位" in str(refused.value)

    path = (write_csv if kind == "csv" else write_xlsx)(tmp_path / f"org.{kind}", BUREAU)
    with db.transaction() as session:
        result = directory.import_file(session, None, path)
    assert (result.departments, result.users) == (8, 7)
    with db.reading() as session:
        officer = by_name(session, "officer1")
        assert identity.group_codes(officer) == {"supervision.file", "supervision.investigate", "supervision.notify",
                                                 "supervision.deliver"}
        assert officer.department_code == "supervision" and officer.cert_no == "豫环执0002"
        assert officer.cert_valid_until == date(2030, 12, 31)
        assert identity.has_permission(session, by_name(session, "chief"), identity.ADMIN)
        assert identity.section_heads(session, "supervision") == ["supervision.head"]
        assert identity.check_password(by_name(session, "captain"), PW)

    with db.transaction() as session:
        repository.deploy(session, sources, source="cli")
    users = {}

    def user(name):
        with db.reading() as session:
            return users.setdefault(name, by_name(session, name))
    case = Case.start(db, user, "penalty", "officer1")
    assert case.ready_ids() == ["UserTask_register_source"]
    case.do("UserTask_register_source", "officer1", {
        "case_source": "complaint", "clue_received_on": date.today().isoformat(), "party_name": "鲁山县某厂",
        "party_type": "organization", "credit_code": "91410423MA00000009", "violation_facts": "超标排放",
        "registration_opinion": "建议立案"})
    assert case.ready_ids() == ["UserTask_approve_filing"]
    assert case.row().department_code == "supervision"


def test_a_bad_file_imports_nothing_and_names_every_bad_row(db, tmp_path):
    rows = [BUREAU[0], ["legal", "法制股", "legal.review", "法制审核岗", "上天入地", "", "", "", "", "", ""],
            ["Bad Code", "某股", "x.y", "某岗", "", "", "", "", "", "", ""],
            ["supervision", "环境监察大队", "supervision.file", "立案岗", "", "u1", "某人", "short", "", "", ""]]
    with pytest.raises(directory.OrgInvalid) as bad, db.transaction() as session:
        directory.import_file(session, None, write_csv(tmp_path / "org.csv", rows))
    lines = str(bad.value).splitlines()
    assert lines[0].startswith("第 3 行：未知的岗位权限“上天入地”")
    assert lines[1].startswith("第 4 行：部门代码“Bad Code”无效")
    assert lines[2].startswith("第 5 行（用户 u1）：密码至少 10 位")
    with db.reading() as session:
        assert directory.overview(session).departments == []
    (tmp_path / "missing.csv").write_text("部门代码,姓名\nx,y\n", encoding="utf-8")
    with pytest.raises(directory.OrgInvalid, match="缺少列：部门名称、岗位代码、岗位名称"), db.transaction() as session:
        directory.import_file(session, None, tmp_path / "missing.csv")


def test_the_cli_imports_an_organisation_and_prints_only_its_answer(cli_env, tmp_path):
    import subprocess
    import sys
    path = write_csv(tmp_path / "org.csv", BUREAU)
    env = {k: v for k, v in cli_env.items() if k != "ZHIFA_LOG_LEVEL"}  # the default: no log lines
    done = subprocess.run([sys.executable, "-m", "zhifa", "org", "import", str(path)], env=env, capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "已导入：部门 8 个，岗位 34 个，用户 7 个" and done.stderr == ""


def start_investigation(db, user):
    case = Case.start(db, user, "penalty", "supervision_file1")
    case.do("UserTask_register_source", "supervision_file1", {
        "case_source": "complaint", "clue_received_on": date.today().isoformat(), "party_name": "鲁山县某化工有限公司",
        "party_type": "organization", "credit_code": "91410423MA00000001", "violation_facts": "擅自排放含油废水",
        "registration_opinion": "建议立案"})
    case.do("UserTask_approve_filing", "leadership_deputy", {
        "filing_decision": "file", "case_reason": "擅自排放水污染物案", "filed_on": date.today().isoformat(),
        "filing_opinion": "同意立案"})
    return case


def test_a_user_disabled_mid_case_loses_access_and_their_claimed_task_returns_to_the_post(db, deployed, user, tmp_path):
    case = start_investigation(db, user)
    step = case.task("UserTask_investigate")
    with db.transaction() as session:
        tasks.claim(session, step.id, user("supervision_investigate1"))
    app = make_app(db, tmp_path)
    officer = Browser(app)
    assert officer.login("supervision_investigate1").status_code == 302
    assert officer.get(f"/tasks/{step.id}").status_code == 200

    chief = Browser(app)
    chief.login("leadership_chief")
    officer_id = user("supervision_investigate1").id
    page = chief.get(f"/org/users/{officer_id}").get_data(as_text=True)
    assert "停用账号" in page and "豫环执" in page
    done = chief.post_form(f"/org/users/{officer_id}", {"active": "0"}, action=f"/org/users/{officer_id}/active",
                           follow_redirects=True)
    assert "已停用账号" in done.get_data(as_text=True) and "其领取的 1 件任务已退回岗位" in done.get_data(as_text=True)

    response = officer.get(f"/tasks/{step.id}")  # the open session ends at once
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert Browser(app).login("supervision_investigate1").status_code == 401
    with db.reading() as session:
        back = tasks.get(session, step.id)
        assert back.assignee is None
        colleague = by_name(session, "supervision_investigate2")
        assert step.id in {t.id for t in tasks.task_page(session, colleague, tasks.TaskQuery(tab="group")).rows}
        event = session.query(AuditEvent).filter_by(task_id=step.id, action="unclaim").one()
        assert event.actor == "leadership_chief" and "账号已停用" in event.details

    chief.post_form(f"/org/users/{officer_id}", {"active": "1"}, action=f"/org/users/{officer_id}/active")
    assert Browser(app).login("supervision_investigate1").status_code == 302


def test_the_administrator_adds_users_changes_posts_and_resets_passwords_and_nobody_else_may(db, org, user, tmp_path):
    app = make_app(db, tmp_path)
    clerk = Browser(app)
    clerk.login("dev_accept1")
    assert clerk.get("/org/").status_code == 403
    assert "组织机构" not in clerk.get("/inbox").get_data(as_text=True)

    admin = Browser(app)
    admin.login("legal_head")
    page = admin.get("/org/").get_data(as_text=True)
    assert "环境监察大队·调查岗" in page and "supervision.investigate" in page and "股室负责人" in page
    form = {"username": "new_officer", "full_name": "钱新", "password": "Xin#2026abc",
            "posts": ["supervision.investigate", "supervision.deliver"], "cert_no": "豫环执41042399999",
            "cert_valid_from": "2026-01-01", "cert_valid_until": "2025-12-31"}
    bad = admin.post_form("/org/", form, action="/org/users", follow_redirects=True).get_data(as_text=True)
    assert "执法证有效期截止日（2025-12-31）不能早于起始日（2026-01-01）" in bad
    with db.reading() as session:
        assert by_name(session, "new_officer") is None
    form["cert_valid_until"] = "2031-12-31"
    assert "已添加用户：钱新" in admin.post_form("/org/", form, action="/org/users", follow_redirects=True).get_data(as_text=True)
    new_id = user("new_officer").id
    assert identity.group_codes(user("new_officer")) == {"supervision.investigate", "supervision.deliver"}

    admin.post_form(f"/org/users/{new_id}", {"posts": ["supervision.notify"]}, action=f"/org/users/{new_id}/posts")
    admin.post_form(f"/org/users/{new_id}", {"password": "Changed#2026"}, action=f"/org/users/{new_id}/password")
    with db.reading() as session:
        changed = by_name(session, "new_officer")
        assert identity.group_codes(changed) == {"supervision.notify"}
        assert identity.check_password(by_name(session, "new_officer"), "Changed#2026")
    short = admin.post_form(f"/org/users/{new_id}", {"password": "x"}, action=f"/org/users/{new_id}/password",
                            follow_redirects=True)
    assert "密码至少 10 位" in short.get_data(as_text=True)
    own = admin.post_form("/org/", {"active": "0"}, action=f"/org/users/{user('legal_head').id}/active",
                          follow_redirects=True)
    assert "不能停用自己的账号" in own.get_data(as_text=True)


def test_only_the_posts_of_the_first_steps_may_start_a_process_and_the_handling_department_owns_the_case(
        db, deployed, user):
    with db.reading() as session:
        every = {d.key for d in runtime.startable(session, user("dev_accept1"))}
        assert "records_access" in every                      # 调阅 may be asked by every post (调阅制度第四—八条)
        names = lambda u: {d.key for d in runtime.startable(session, user(u))} - {"records_access"}  # noqa: E731
        assert names("dev_accept1") == {"permit"}            # a 开发股 clerk: permits only
        assert names("supervision_file1") == {"penalty", "inspection"}
        assert "coercion_substitute" in names("supervision_execute1")
        assert names("legal_review1") == set()                # 法制审核 is called, never started by hand
    with pytest.raises(identity.NotPermitted, match="您的岗位不能发起“行政处罚"), db.transaction() as session:
        runtime.start(session, "penalty", user("dev_accept1"), {})
    # A 危废 permit handed in at the 开发股 window is 危废与辐射股's case.
    case = Case.start(db, user, "permit", "dev_accept1", {**APPLICANT, "permit_type": "hazwaste_collection"})
    assert case.row().department_code == "hwr"
    assert [t.candidate_groups for t in case.ready()] == ["hwr.accept"]
