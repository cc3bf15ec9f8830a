"""The floor under ``bench/http_bench.py``: the least a web app on zhifa's fixed stack can do per cycle.

Flask with flask-login, SQLAlchemy (Core, no ORM), Jinja2 and SpiffWorkflow 3.2, served by
gunicorn as ``zhifa serve`` serves zhifa, doing only what the benchmark's cycle cannot do
without: load the logged-in user, list the user's tasks with their count, show a task's form
with a CSRF token, and complete the task (lock the case, restore it with stock SpiffWorkflow,
run the task, store the case and the task rows, one transaction). No posts, menus, audit,
permissions beyond "my task", 文书, deadlines or legal rules. ``bench/http_floor.py`` runs it
under the same clients and prints how far zhifa is above it.

The case's tree is replaced by a new one every ``PASSES`` completions, so that stock
SpiffWorkflow's ever-growing tree stays about as small as zhifa's compacted one.
"""
from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

from flask import Flask, abort, redirect, render_template, request, session
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from jinja2 import DictLoader
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine, text
from werkzeug.security import check_password_hash

from engine.spec import rules

MODEL = Path(__file__).resolve().parent / "http_models" / "http_loop.bpmn"
PASSES = 10
SCHEMA = """
CREATE TABLE floor_users (id serial PRIMARY KEY, username text UNIQUE NOT NULL, password_hash text NOT NULL);
CREATE TABLE floor_cases (id serial PRIMARY KEY, state text NOT NULL);
CREATE TABLE floor_tasks (id uuid PRIMARY KEY, case_id int NOT NULL REFERENCES floor_cases, assignee text NOT NULL,
                          title text NOT NULL, name text NOT NULL, state text NOT NULL,
                          created_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE INDEX floor_tasks_mine ON floor_tasks (assignee, created_at) WHERE state = 'ready';
"""

TEMPLATES = {
    "base.html": """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{% block title %}{% endblock %}</title>
</head><body><header><nav><a href="/inbox?tab=mine">我的待办</a> <span>{{ current_user.username }}</span></nav></header>
<main>{% block main %}{% endblock %}</main></body></html>""",
    "login.html": """{% extends "base.html" %}{% block title %}登录{% endblock %}{% block main %}
<form method="post"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<input name="username"><input name="password" type="password"><button>登录</button></form>{% endblock %}""",
    "inbox.html": """{% extends "base.html" %}{% block title %}我的待办（{{ count }}）{% endblock %}{% block main %}
<table><thead><tr><th>案件</th><th>环节</th><th>到达时间</th></tr></thead><tbody>
{% for t in rows %}<tr><td><a href="/tasks/{{ t.id }}">{{ t.title }}</a></td><td>{{ t.name }}</td>
<td>{{ t.created_at.strftime("%Y-%m-%d %H:%M") }}</td></tr>{% endfor %}</tbody></table>{% endblock %}""",
    "task.html": """{% extends "base.html" %}{% block title %}{{ task.name }}{% endblock %}{% block main %}
<h1>{{ task.title }} · {{ task.name }}</h1>{% if error %}<p role="alert">{{ error }}</p>{% endif %}
<form method="post"><input type="hidden" name="csrf_token" value="{{ session.csrf }}">
<label>办理意见 <textarea name="note" maxlength="200" required>{{ note }}</textarea></label>
<button>提交</button></form>{% endblock %}""",
}


def model():
    """The bench's loop model, translated as zhifa translates it at deployment, parsed once."""
    root = etree.parse(str(MODEL)).getroot()
    _, problems = rules.prepare(root, MODEL.name)
    assert not problems, problems
    parser = CamundaParser()
    parser.add_bpmn_xml(root, filename=MODEL.name)
    return parser.get_spec("http_loop")


SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))


def new_case(spec, handler: str) -> BpmnWorkflow:
    wf = BpmnWorkflow(spec)
    wf.task_tree.data.update(handler=handler, note="")
    wf.do_engine_steps()
    return wf


def ready(wf: BpmnWorkflow) -> list:
    return wf.get_tasks(state=TaskState.READY, manual=True)


class User(UserMixin):
    def __init__(self, id: int, username: str):
        self.id, self.username = id, username


def create_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ["FLOOR_SECRET_KEY"]
    app.jinja_loader = DictLoader(TEMPLATES)
    db = create_engine(os.environ["FLOOR_DATABASE_URL"], pool_size=4, max_overflow=0)
    spec = model()
    login = LoginManager(app)

    @login.user_loader
    def load(user_id: str):
        with db.connect() as c:
            row = c.execute(text("SELECT id, username FROM floor_users WHERE id = :i"), {"i": int(user_id)}).first()
        return User(row.id, row.username) if row else None

    def check_csrf() -> None:
        if not secrets.compare_digest(request.form.get("csrf_token", ""), session.get("csrf", "")):
            abort(400)

    @app.route("/login", methods=["GET", "POST"])
    def login_view():
        if request.method == "GET":
            session.setdefault("csrf", secrets.token_urlsafe(32))
            return render_template("login.html", csrf=session["csrf"])
        check_csrf()
        with db.connect() as c:
            row = c.execute(text("SELECT id, username, password_hash FROM floor_users WHERE username = :u"),
                            {"u": request.form.get("username", "")}).first()
        if row is None or not check_password_hash(row.password_hash, request.form.get("password", "")):
            abort(403)
        login_user(User(row.id, row.username))
        return redirect("/inbox?tab=mine")

    @app.get("/inbox")
    @login_required
    def inbox():
        mine = {"u": current_user.username}
        with db.connect() as c:
            rows = c.execute(text("SELECT id, title, name, created_at FROM floor_tasks WHERE assignee = :u "
                                  "AND state = 'ready' ORDER BY created_at LIMIT 20"), mine).all()
            count = c.execute(text("SELECT count(*) FROM floor_tasks WHERE assignee = :u AND state = 'ready'"),
                              mine).scalar()
        return render_template("inbox.html", rows=rows, count=count)

    def my_task(c, task_id: str):
        try:
            uuid.UUID(task_id)
        except ValueError:
            abort(404)
        return c.execute(text("SELECT id, case_id, title, name FROM floor_tasks WHERE id = :t AND assignee = :u "
                              "AND state = 'ready'"), {"t": task_id, "u": current_user.username}).first()

    @app.get("/tasks/<task_id>")
    @login_required
    def task_page(task_id: str):
        with db.connect() as c:
            task = my_task(c, task_id)
        if task is None:
            abort(404)
        return render_template("task.html", task=task, note="", error=None)

    @app.post("/tasks/<task_id>")
    @login_required
    def complete(task_id: str):
        check_csrf()
        note = request.form.get("note", "").strip()
        with db.begin() as c:
            task = my_task(c, task_id)
            if task is None:
                abort(404)
            if not note or len(note) > 200:
                return render_template("task.html", task=task, note=note, error="请填写办理意见（200字以内）"), 400
            state = c.execute(text("SELECT state FROM floor_cases WHERE id = :i FOR UPDATE"), {"i": task.case_id}).scalar()
            wf = SERIALIZER.deserialize_json(state)
            running = wf.get_task_from_id(uuid.UUID(task_id))
            running.set_data(note=note)
            running.run()
            wf.do_engine_steps()
            if len(wf.get_tasks(spec_name="Task_handle")) > PASSES:
                wf = new_case(spec, current_user.username)
            c.execute(text("UPDATE floor_tasks SET state = 'done' WHERE id = :t"), {"t": task_id})
            c.execute(text("INSERT INTO floor_tasks (id, case_id, assignee, title, name, state) "
                           "VALUES (:id, :case, :u, :title, :name, 'ready')"),
                      [{"id": t.id, "case": task.case_id, "u": current_user.username, "title": task.title,
                        "name": t.task_spec.bpmn_name} for t in ready(wf)])
            c.execute(text("UPDATE floor_cases SET state = :s WHERE id = :i"),
                      {"s": SERIALIZER.serialize_json(wf), "i": task.case_id})
        return redirect("/inbox?tab=mine")

    return app
