# Two commands: `make run` (fresh clone → running server with demo data) and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test deps browser clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(BIN)/.installed node_modules/.installed

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)

run: deps
	$(BIN)/zhifa db upgrade
	$(BIN)/zhifa seed-demo
	$(BIN)/zhifa deploy --as legal_head dmn bpmn
	$(BIN)/zhifa disclosure publish --as legal_head
	@echo "服务地址：http://127.0.0.1:5000 ，行政执法公示网站：http://127.0.0.1:5001 （Ctrl-C 停止）"
	@trap 'kill 0' EXIT; $(BIN)/zhifa worker & $(BIN)/zhifa serve --public --host 127.0.0.1 --port 5001 & \
		$(BIN)/zhifa serve --host 127.0.0.1 --port 5000

# PYTEST_ARGS: e.g. `--ignore=tests/e2e` (.ci/run drives the browser once, on SQLite).
test: deps browser
	$(BIN)/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules var .pytest_cache test-artifacts
