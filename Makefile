# LeadScout — `make run` starts the app on embedded defaults; `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: run api test worker receiver lint migrate bench clean-venv check

$(PY):
	$(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

migrate: $(RUNTIME_STAMP)
	$(PY) -m core migrate

run: migrate
	$(VENV)/bin/streamlit run server.py --server.address $(HOST) --server.port $(PORT)

# The web service alone (REST API, /unsubscribe, /hooks/*, /healthz), for scale-out; `make run` serves it too.
API_PORT ?= 8502
api: migrate
	$(VENV)/bin/uvicorn api.standalone:app --host $(HOST) --port $(API_PORT) --proxy-headers

test: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

worker: $(RUNTIME_STAMP)
	@url="$$($(PY) -c 'from core.config import get_settings; print(get_settings().redis_url or "")')"; \
	if [ -z "$$url" ]; then echo "REDIS_URL is not set: without it jobs run inside the app (no worker needed)." >&2; exit 1; fi; \
	exec $(VENV)/bin/rq worker --worker-class workers.tasks.Worker crawl llm send default --with-scheduler --url "$$url"

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check api core workers pages ui app.py server.py tests bench
	$(VENV)/bin/ruff format --check api core workers pages ui app.py server.py
	$(VENV)/bin/mypy core api

clean-venv:
	rm -rf $(VENV)

receiver: $(RUNTIME_STAMP)
	$(VENV)/bin/uvicorn workers.receiver:app --host 127.0.0.1 --port 8502  # the same application as `make api`

check: $(RUNTIME_STAMP)
	$(PY) -m core check
