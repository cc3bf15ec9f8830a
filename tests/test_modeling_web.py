"""流程部署 in the browser for legal staff: validation report before deploying, deployments
with who/when/source/hashes, every version downloadable, the diff, migration, 试算."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from engine.deploy import repository
from engine.execution import runtime
from engine.store.models import Deployment, ProcessInstance
from tests.conftest import FIXTURES
from tests.test_modeling_versions import V1, version_2
from tests.webclient import Browser, csrf_token, make_app

ENGINE = FIXTURES / "engine"
RULE = (ENGINE / "test_review_rule.dmn").read_bytes()


@pytest.fixture
def app(db, org, tmp_path):
    return make_app(db, tmp_path)


def logged_in(app, username="legal_review1"):
    browser = Browser(app)
    assert browser.login(username).status_code == 302
    return browser


def upload(browser, files: dict[str, bytes]):
    from io import BytesIO
    token = csrf_token(browser.get("/admin/deploy").get_data(as_text=True))
    data = {"csrf_token": token, "files": [(BytesIO(content), name) for name, content in files.items()]}
    return browser.client.post("/admin/deploy/check", data=data, content_type="multipart/form-data")


def confirm(browser, report_html: str, name: str = ""):
    names = re.findall(r'name="file_name" value="([^"]*)"', report_html)
    blobs = re.findall(r'name="file_data" value="([^"]*)"', report_html)
    return browser.client.post("/admin/deploy", data={
        "csrf_token": csrf_token(report_html), "file_name": [unescape(n) for n in names], "file_data": blobs,
        "name": name}, follow_redirects=True)


def count(db, model):
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_only_legal_staff_see_the_deploy_pages(app):
    officer = logged_in(app, "supervision_investigate1")
    for url in ("/admin/deploy", "/admin/decisions", "/admin/processes/case_flow"):
        assert officer.get(url).status_code == 403
    assert "流程部署" not in officer.get("/start").get_data(as_text=True)
    legal = logged_in(app)
    assert "流程部署" in legal.get("/start").get_data(as_text=True)
    assert Browser(app).get("/admin/deploy").status_code == 302  # login first


def test_the_report_comes_before_deploying(app, db):
    browser = logged_in(app)
    report = upload(browser, {"test_review_rule.dmn": RULE, "case_flow.bpmn": V1.encode()})
    html = report.get_data(as_text=True)
    assert report.status_code == 200 and "校验通过" in html
    assert "case_flow" in html and "test_review_rule" in html and "（新流程）" in html
    assert count(db, Deployment) == 0  # nothing yet: the report only
    done = confirm(browser, html, name="首次部署")
    page = done.get_data(as_text=True)
    assert "已部署：" in page and "测试检查流程（case_flow）第 1 版" in page
    with db.reading() as session:
        deployment = session.scalar(select(Deployment))
        assert deployment.source == "web" and deployment.name == "首次部署"
        hashes = [r.content_hash for r in deployment.resources]
    assert "网页上传" in page and "王法制（legal_review1）" in page
    assert all(h[:12] in page for h in hashes)
    # Same files again: the report says no new version, and deploying changes nothing.
    again = upload(browser, {"case_flow.bpmn": V1.encode()}).get_data(as_text=True)
    assert "部署不会产生新版本" in again
    assert "没有产生新版本" in confirm(browser, again).get_data(as_text=True)
    assert count(db, Deployment) == 1


def test_a_broken_model_is_reported_and_nothing_is_deployed(app, db):
    browser = logged_in(app)
    broken = V1.replace('camunda:priority="70"', 'camunda:priority="70" camunda:class="org.example.Foo"')
    broken = broken.replace('type="boolean"', 'type="checkbox"')
    response = upload(browser, {"case_flow.bpmn": broken.encode()})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "没有部署任何文件" in html
    assert "Task_inspect" in html and "不支持Java 类（camunda:class）" in html
    assert "不支持的字段类型 “checkbox”" in html
    assert "确认部署" not in html
    assert count(db, Deployment) == 0
    # Tampered carried files are validated again on deploy.
    token = csrf_token(html)
    import base64
    response = browser.client.post("/admin/deploy", data={"csrf_token": token, "file_name": "case_flow.bpmn",
                                                          "file_data": base64.b64encode(broken.encode()).decode()})
    assert response.status_code == 400 and count(db, Deployment) == 0
    assert browser.client.post("/admin/deploy", data={"csrf_token": token, "file_name": "x.bpmn",
                                                      "file_data": "@@@"}).status_code == 302
    assert browser.client.post("/admin/deploy/check", data={}).status_code == 400  # no CSRF token


@pytest.fixture
def two_versions(db, org, tmp_path):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([ENGINE]), source="cli")
    path = tmp_path / "v2" / "case_flow.bpmn"
    path.parent.mkdir()
    path.write_text(version_2(), encoding="utf-8")
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([path]), source="cli")


def test_every_version_is_downloadable_and_the_diff_is_shown(app, two_versions):
    browser = logged_in(app)
    page = browser.get("/admin/processes/case_flow").get_data(as_text=True)
    assert "第 1 版" in page and "第 2 版" in page and "当前" in page
    v1 = browser.get("/admin/processes/case_flow/1/download")
    assert v1.status_code == 200 and v1.get_data(as_text=True) == V1
    assert "attachment" in v1.headers["Content-Disposition"] and "case_flow.v1.bpmn" in v1.headers["Content-Disposition"]
    assert browser.get("/admin/processes/case_flow/2/download").get_data(as_text=True) == version_2()
    assert browser.get("/admin/processes/case_flow/3/download").status_code == 404
    assert browser.get("/admin/decisions/test_review_rule/1/download").get_data() == RULE
    diff = browser.get("/admin/processes/case_flow/diff?from=1&to=2").get_data(as_text=True)
    assert "第 1 版 → 第 2 版" in diff
    assert "整理材料（用户任务）" in diff and "新增" in diff
    assert "当事人名称（全称）" in diff and "maxlength=200" in diff
    assert browser.get("/admin/processes/case_flow/diff?from=1&to=9", follow_redirects=True).status_code == 200


def test_migration_page_dry_run_then_run(app, db, org, user, tmp_path):
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([ENGINE]), source="cli")
    with db.transaction() as session:
        old = runtime.start(session, "case_flow", user("supervision_investigate1"), {})
        key_old = old.business_key
    path = tmp_path / "v2" / "case_flow.bpmn"
    path.parent.mkdir()
    path.write_text(version_2(), encoding="utf-8")
    with db.transaction() as session:
        repository.deploy(session, repository.read_paths([path]), source="cli")
    browser = logged_in(app)
    page = browser.get("/admin/processes/case_flow/migrate?to=2").get_data(as_text=True)
    assert "可以迁移（1 件）" in page and key_old in page and "现场检查（Task_inspect）" in page
    assert "不能迁移（0 件）" in page
    with db.reading() as session:
        assert session.get(ProcessInstance, old.id).definition.version == 1  # the dry run changed nothing
    token = csrf_token(page)
    done = browser.client.post("/admin/processes/case_flow/migrate", data={
        "csrf_token": token, "to": "2", "instance": str(old.id)}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert f"已将 1 件案件迁移到第 2 版：{key_old}" in html and "可以迁移（0 件）" in html
    with db.reading() as session:
        assert session.get(ProcessInstance, old.id).definition.version == 2
    assert browser.client.post("/admin/processes/case_flow/migrate", data={"to": "2", "instance": str(old.id)}).status_code == 400
    officer = logged_in(app, "supervision_investigate1")
    assert officer.get("/admin/processes/case_flow/migrate").status_code == 403


def test_the_decision_tester(app, db, two_versions):
    browser = logged_in(app)
    listing = browser.get("/admin/decisions").get_data(as_text=True)
    assert "是否需要法制审核（测试）" in listing
    page = browser.get("/admin/decisions/test_review_rule").get_data(as_text=True)
    assert "/vendor/dmn-js/dmn-viewer.production.min.js" in page and 'id="dmn-viewer"' in page
    assert 'name="party_type"' in page and 'name="fine_amount"' in page and "&gt;= 5000" in page
    token = csrf_token(page)
    result = browser.client.post("/admin/decisions/test_review_rule", data={
        "csrf_token": token, "party_type": "citizen", "fine_amount": "6000"})
    html = result.get_data(as_text=True)
    assert result.status_code == 200
    assert "命中规则：<strong>第 1 条</strong>" in html and "Rule_citizen</code>" not in html
    assert re.search(r'<td class="out">是</td>', html)
    # an input the rules compare with quoted values is a drop-down of those values
    assert '<select id="in-party_type" name="party_type">' in page and '<option value="citizen"' in page
    assert 'class="hit" data-rule="Rule_citizen"' in html
    other = browser.client.post("/admin/decisions/test_review_rule", data={
        "csrf_token": token, "party_type": "organization", "fine_amount": "6000"}).get_data(as_text=True)
    assert "<strong>第 3 条</strong>" in other and '<td class="out">否</td>' in other
    bad = browser.client.post("/admin/decisions/test_review_rule", data={
        "csrf_token": token, "party_type": "citizen", "fine_amount": "很多"})
    assert bad.status_code == 400 and "罚款金额：请输入数字" in bad.get_data(as_text=True)
    assert browser.get("/admin/decisions/nope").status_code == 404


def deploy_legacy_loops(db, suffix: str = "") -> None:
    """Deploys a model with joins in a loop, as a release before that rule let it through (the
    process it calls must be deployed: FIXTURES / "compaction")."""
    from engine.spec import rules
    legacy = (FIXTURES / "compaction_legacy" / "legacy_loops.bpmn").read_bytes()
    with pytest.MonkeyPatch.context() as patch, db.transaction() as session:
        patch.setattr(rules._Checker, "check_joins_in_loops", lambda self: None)
        repository.deploy(session, [repository.Source("legacy_loops.bpmn", legacy.replace(
            "（旧版模型）".encode(), f"（旧版模型{suffix}）".encode()))], source="cli")


def test_deployed_versions_that_todays_rules_refuse_are_listed_with_the_reason(app, db, user):
    """A model deployed before a rule tightened (here: joins in a loop) is named on the page, with
    the rule, while it is current or cases run on it, not only when a deployment is refused."""
    with db.transaction() as session:  # the process it calls
        repository.deploy(session, repository.read_paths([FIXTURES / "compaction"]), source="cli")
    browser = logged_in(app)
    assert 'id="refused-versions"' not in browser.get("/admin/deploy").get_data(as_text=True)

    def listed() -> list[tuple[str, str]]:
        page = browser.get("/admin/deploy").get_data(as_text=True)
        section = page.split('id="refused-versions"')[1].split("</section>")[0]
        assert "规则在其部署后收紧" in section and "不能位于循环中" in section and "并行网关" in section
        return sorted(set(re.findall(r"<td>第 (\d+) 版</td>\s*<td>(\d*)</td>", section)))

    deploy_legacy_loops(db, "一")
    deploy_legacy_loops(db, "二")
    assert listed() == [("2", "0")]  # the current version; the first has no cases
    with db.transaction() as session:
        runtime.start(session, "legacy_loops", user("supervision_investigate1"), {})
    deploy_legacy_loops(db, "三")
    assert listed() == [("2", "1"), ("3", "0")]  # and the version a case still runs on
