"""JSON logs from a realistic flow never contain a configured secret or a message body; Sentry is scrubbed."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from core import background
from core.config import PROJECT_ROOT, Settings, get_settings
from core.errors import LLMError
from core.llm import LLMRequest, OpenAILLM, load_prompt
from core.logs import configure_logging, log_context, redact
from tests.conftest import unique
from tests.fixtures.openai_server import FakeOpenAI, Reply, error_body
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead, settings_for
from tests.fixtures.outreach_servers import SMTPServer

SECRET_FIELDS = [name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)]
PASSWORD = "correct horse battery"


@pytest.fixture
def captured(monkeypatch):
    """Every SecretStr setting set to a random value; the root JSON handler writing to a buffer at DEBUG."""
    values = {name: f"{name}-{secrets.token_urlsafe(18)}" for name in SECRET_FIELDS if name != "sentry_dsn"}
    for name, value in values.items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    get_settings.cache_clear()
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    configure_logging("worker", stream=buffer, force=True)
    fake_smtp = logging.getLogger("mail.log")  # the fake SMTP server's own chatter is not LeadScout's
    fake_smtp.setLevel(logging.WARNING)
    yield values, buffer
    fake_smtp.setLevel(logging.NOTSET)
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])
    get_settings.cache_clear()


def test_a_full_flow_logs_json_with_ids_and_no_secret_or_body(captured):
    values, buffer = captured
    from core.auth import service as auth

    email = f"{unique('log')}@example.test"
    auth.sign_up(email=email, password=PASSWORD, workspace_name=unique("ws"))
    signed = auth.sign_in(email=email, password=PASSWORD)
    actor = auth.actor_for(user_id=signed.user_id, workspace_id=signed.workspaces[0][0])

    # A job that fails with a secret in its error message.
    runner = background.EmbeddedRunner(get_settings().model_copy(update={"job_retries": 0}))
    job_id = background.submit(kind="system.selftest", args={"steps": 1, "pause": 0, "fail_with": f"boom {values['openai_api_key']}"},
                         actor=actor, runner=runner)
    runner.shutdown()
    assert background.get_job_or_raise(actor=actor, job_id=job_id).status == "failed"

    # LLM calls against a local OpenAI server: one answer, one authentication failure.
    with FakeOpenAI(answer={"headline": "x", "points": []}) as server:
        llm = OpenAILLM(api_key=values["openai_api_key"], base_url=server.base_url, model="gpt-4o-mini", max_retries=1,
                        backoff_base_seconds=0, timeout_seconds=5, prices={}, sleep=lambda s: None, rng=lambda: 0.0)
        request = LLMRequest(purpose="log-test", prompt=load_prompt("strategy", 1), data={"goal": unique("goal")})
        from pydantic import BaseModel

        class Pitch(BaseModel):
            headline: str
            points: list[str]

        llm.structured(request, Pitch)
        server.reply(Reply(status=401, body=error_body(f"bad key {values['openai_api_key']}", type_="invalid_request_error")))
        with pytest.raises(LLMError):
            llm.structured(LLMRequest(purpose="log-test", prompt=load_prompt("strategy", 1), data={"goal": "g2"}), Pitch)

    # Webhooks: a forged Mailgun event and the health probe, through the receiver app.
    from workers.receiver import app

    with TestClient(app) as client:
        forged = {"signature": {"timestamp": str(int(time.time())), "token": values["mailgun_webhook_signing_key"],
                                "signature": "00" * 32}, "event-data": {"event": "failed"}}
        assert client.post("/hooks/mailgun", json=forged).status_code in (401, 403)
        assert client.get("/healthz").status_code == 200

    # An SMTP send whose body must not reach the logs.
    configure_workspace(actor)
    body_marker = f"BODY-{secrets.token_hex(8)}"
    from core.outreach import sender

    draft_and_queue(actor, [make_lead(actor, email=f"{unique('to')}@example.test")], body=f"Hello {body_marker}")
    with SMTPServer() as smtp:
        summary = sender.send_queued(workspace_id=actor.workspace_id, settings=settings_for(
            smtp_port=smtp.port, smtp_password=SecretStr(values["smtp_password"])))
    assert summary.sent == 1

    text = buffer.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(line.get("job_id") == job_id and line["level"] == "ERROR" for line in lines)
    assert any("mailgun" in line["message"] or "webhook" in line["message"] for line in lines)
    assert {line["role"] for line in lines} == {"worker"}
    leaked = [name for name, value in values.items() if value in text]
    assert leaked == []
    assert PASSWORD not in text
    assert body_marker not in text
    assert "[redacted]" in text  # the job's error carried the OpenAI key and was redacted


def test_context_ids_ride_on_records_and_redaction_covers_json_escapes(captured):
    values, buffer = captured
    log = logging.getLogger("core.test")
    with log_context(session_id="s-1"):
        log.warning("key is %s", values["brave_api_key"])
    log.info("after")
    first, second = (json.loads(line) for line in buffer.getvalue().splitlines()[-2:])
    assert first["session_id"] == "s-1" and "session_id" not in second
    assert values["brave_api_key"] not in buffer.getvalue()
    tricky = 'quote"and\\back'
    assert redact(json.dumps({"v": tricky}), secrets=(tricky,)) == '{"v": "[redacted]"}'


class Collector(BaseHTTPRequestHandler):
    """Collects Sentry envelopes (decompressed) posted to it."""

    bodies: list[bytes] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "br":
            import brotli

            raw = brotli.decompress(raw)
        Collector.bodies.append(raw)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")


def test_sentry_events_are_scrubbed_of_secrets_and_emails():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Collector.bodies = []
    secret = f"sk-{secrets.token_urlsafe(20)}"
    script = (
        "import logging, sentry_sdk\n"
        "from core.logs import configure_logging\n"
        "configure_logging('worker')\n"
        "log = logging.getLogger('core.sentry_test')\n"
        "try:\n"
        f"    raise RuntimeError('failed for ana@example.com with {secret}')\n"
        "except RuntimeError:\n"
        "    log.exception('job failed')\n"
        "sentry_sdk.flush(5)\n"
    )
    env = {**os.environ, "SENTRY_DSN": f"http://public{secrets.token_hex(4)}@127.0.0.1:{server.server_port}/1",
           "OPENAI_API_KEY": secret, "PYTHONPATH": str(PROJECT_ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", script], env=env, cwd=PROJECT_ROOT, capture_output=True, timeout=30)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr.decode()
    sent = b"".join(Collector.bodies)
    assert b"job failed" in sent  # the event arrived
    assert secret.encode() not in sent
    assert b"ana@example.com" not in sent
    assert secret.encode() not in done.stderr  # and the JSON log line is redacted too


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_access_lines_are_debug_and_errors_stay_info(monkeypatch, level):
    """Issue 18 item 20: every static file and websocket request was an INFO line. Failed before the fix."""
    monkeypatch.setenv("LOG_LEVEL", level)
    get_settings.cache_clear()
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    # An in-process uvicorn server started by an earlier test (log_level="warning") leaves its loggers at
    # WARNING; a process that serves requests configures them itself. Start from loggers nobody has set.
    request_loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error", "api.requests")]
    levels = [(logger, logger.level, logger.disabled) for logger in request_loggers]
    for logger in request_loggers:
        logger.setLevel(logging.NOTSET)
        logger.disabled = False
    try:
        configure_logging("ui", stream=buffer, force=True)
        access = logging.getLogger("uvicorn.access")
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/static/js/index.js", "1.1", 200)
        server = logging.getLogger("uvicorn.error")
        server.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", "/_stcore/stream")
        server.info("connection open")
        server.info("connection closed")
        logging.getLogger("api.requests").info("%s %s -> %s", "GET", "/api/v1/leads", 200)
        server.error("Exception in ASGI application")
        logging.getLogger("core.server").info("sign-out refused: not sent from our own page")
        lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
        for logger, saved_level, disabled in levels:
            logger.setLevel(saved_level)
            logger.disabled = disabled
        get_settings.cache_clear()
    kept = [(line["level"], line["message"]) for line in lines]
    actions = [("ERROR", "Exception in ASGI application"), ("INFO", "sign-out refused: not sent from our own page")]
    if level == "INFO":
        assert kept == actions
    else:
        assert [lv for lv, _ in kept[:5]] == ["DEBUG"] * 5 and kept[5:] == actions
        assert kept[0][1] == '127.0.0.1:5000 - "GET /static/js/index.js HTTP/1.1" 200'
