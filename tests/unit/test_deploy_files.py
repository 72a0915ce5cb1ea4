"""Dockerfile, docker-compose.yml, Procfile and deploy/nginx.conf parse, and every command they run exists."""

from __future__ import annotations

import importlib
import json
import re
import shlex

import pytest
import yaml

from core.background import QUEUES
from core.config import PROJECT_ROOT, Settings

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
NGINX = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
UI_PORT, RECEIVER_PORT = "8501", "8502"


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9_-]*):", (PROJECT_ROOT / "Makefile").read_text(), flags=re.M))


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def import_target(dotted: str, separator: str) -> object:
    module, _, attribute = dotted.rpartition(separator)
    return getattr(importlib.import_module(module), attribute)


def check_command(argv: list[str]) -> None:
    """Fail unless ``argv`` runs something this project has (file, module, subcommand, class, target)."""
    program, rest = argv[0], argv[1:]
    if program == "streamlit":
        assert rest[0] == "run" and (PROJECT_ROOT / rest[1]).is_file()
        assert option(rest, "--server.port") in (UI_PORT, "$PORT")
    elif program == "python":
        assert rest[0] == "-m"
        module = rest[1]
        assert importlib.util.find_spec(module) is not None, module
        if module == "core":
            from core.__main__ import build_parser

            subcommands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001
            assert rest[2] in subcommands, rest[2]
    elif program == "rq":
        assert rest[0] == "worker"
        assert import_target(option(rest, "--worker-class"), ".") is not None
        assert import_target("workers.tasks.run_job", ".") is not None
        queues = [
            a
            for a in rest[1:]
            if not a.startswith("-") and a not in (option(rest, "--url"), option(rest, "--worker-class"))
        ]
        assert tuple(queues) == QUEUES
        assert "--with-scheduler" in rest
    elif program == "uvicorn":
        assert import_target(rest[0], ":") is not None
        assert option(rest, "--port") in (RECEIVER_PORT, "${RECEIVER_PORT:-8502}")
    elif program == "make":
        assert rest[0] in make_targets()
    else:
        pytest.fail(f"unknown program in a deployment command: {argv}")


def test_dockerfile_builds_a_non_root_image_running_the_ui():
    lines = [line.strip() for line in (PROJECT_ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert "COPY requirements.txt ." in instructions
    assert any(re.fullmatch(r"RUN pip install (--no-cache-dir )?-r requirements\.txt", line) for line in instructions)
    [user] = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert user not in ("root", "0")
    assert any("useradd" in line and user in line for line in instructions)
    [cmd] = [line for line in instructions if line.startswith("CMD ")]
    argv = json.loads(cmd[4:])
    assert argv[:3] == ["streamlit", "run", "server.py"] and option(argv, "--server.address") == "0.0.0.0"
    check_command(argv)


def test_compose_has_every_service_with_healthchecks_and_migrations_first():
    services = COMPOSE["services"]
    assert {"app", "worker", "api", "redis", "postgres", "migrate"} <= set(services)
    for name in ("app", "worker", "api", "redis", "postgres"):
        assert services[name].get("healthcheck", {}).get("test"), name
    assert services["migrate"]["command"] == ["python", "-m", "core", "migrate"]
    for name in ("app", "worker", "api"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["env_file"][0]["path"] == ".env"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["migrate", "app", "worker", "api"])
def test_compose_commands_exist_in_the_project(service):
    spec = COMPOSE["services"][service]
    check_command(spec["command"])
    healthcheck = spec.get("healthcheck", {}).get("test", [])
    if healthcheck[:2] == ["CMD", "python"] and healthcheck[2] == "-m":
        check_command(healthcheck[1:])


def test_compose_ports_urls_and_settings_agree():
    services = COMPOSE["services"]
    env = services["app"]["environment"]
    assert set(env) <= {name.upper() for name in Settings.model_fields}
    assert env["RECEIVER_URL"] == f"http://api:{RECEIVER_PORT}"
    assert env["REDIS_URL"] == option(services["worker"]["command"], "--url")
    assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert services["app"]["ports"] == [f"{UI_PORT}:{UI_PORT}"]
    assert services["api"]["ports"] == [f"{RECEIVER_PORT}:{RECEIVER_PORT}"]
    assert f":{UI_PORT}/_stcore/health" in " ".join(services["app"]["healthcheck"]["test"])
    assert f":{RECEIVER_PORT}/healthz" in " ".join(services["api"]["healthcheck"]["test"])


def test_procfile_processes_exist_in_the_project():
    entries = dict(line.split(": ", 1) for line in (PROJECT_ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert set(entries) == {"web", "worker", "api", "release"}
    for command in entries.values():
        check_command(shlex.split(command))
    assert entries["release"] == "python -m core migrate"


def test_nginx_is_sticky_upgrades_websockets_caches_static_and_routes_the_web_service():
    ui = re.search(r"upstream leadscout_ui \{(.*?)\}", NGINX, re.S).group(1)
    assert re.search(r"^\s*(ip_hash|hash \$cookie_\w+ consistent);", ui, re.M)
    assert len(re.findall(rf"server \S+:{UI_PORT};", ui)) >= 2
    web_service = re.search(r"upstream leadscout_api \{(.*?)\}", NGINX, re.S).group(1)
    assert re.search(rf"server \S+:{RECEIVER_PORT};", web_service)
    stream = re.search(r"location /_stcore/stream \{(.*?)\}", NGINX, re.S).group(1)
    assert "proxy_pass http://leadscout_ui;" in stream and "proxy_http_version 1.1;" in stream
    assert "proxy_set_header Upgrade $http_upgrade;" in stream
    assert re.search(r"proxy_set_header Connection \$connection_upgrade;", stream)
    static = re.search(r"location /static/ \{(.*?)\}", NGINX, re.S).group(1)
    assert re.search(r'add_header Cache-Control "public, max-age=\d{7,}, immutable"', static)
    for route in (r"/api/", r"/unsubscribe", r"/hooks/", r"= /healthz"):
        block = re.search(rf"location {re.escape(route)} \{{(.*?)\}}", NGINX, re.S).group(1)
        assert "proxy_pass http://leadscout_api;" in block, route
    paths = set(importlib.import_module("api.app").app.openapi()["paths"])
    public = {r.path for r in importlib.import_module("api.public").router.routes}
    assert {"/unsubscribe", "/healthz"} <= public and any(p.startswith("/hooks/") for p in public)
    assert all(p.startswith("/api/v1/") for p in paths)
