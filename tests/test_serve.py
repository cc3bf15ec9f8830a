"""`zhifa serve` runs the app under gunicorn, and `zhifa worker` keeps running until stopped."""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

from tests.conftest import ROOT

ZHIFA = str(ROOT / ".venv/bin/zhifa")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode("utf-8")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_answers_with_the_login_page_under_gunicorn(cli_env):
    port = free_port()
    server = subprocess.Popen([ZHIFA, "serve", "--port", str(port), "--workers", "2"], env=cli_env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        page = wait_for(f"http://127.0.0.1:{port}/login", time.monotonic() + 60)
        assert "登录" in page and 'name="csrf_token"' in page
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "gunicorn" in output.lower() or "Booting worker" in output


def test_the_worker_loop_starts_and_stops_on_terminate(cli_env):
    worker = subprocess.Popen([ZHIFA, "worker", "--interval", "0.2"], env={**cli_env, "ZHIFA_LOG_LEVEL": "INFO"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in worker.stdout:  # ends if the worker dies
            lines.append(line)
            if "started" in line:
                break
        assert any("worker" in line and "started" in line for line in lines), lines
        assert worker.poll() is None
    finally:
        worker.terminate()
    worker.wait(timeout=30)
