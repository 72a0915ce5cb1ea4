"""The receiver: one-click unsubscribe (RFC 8058) and provider webhooks. ``make receiver``.

Every route is thin: read the request, call one ``core.outreach`` service, map its errors to
HTTP (unsigned 401, forged/replayed 403, genuine but unreadable 400, body over the limit 413).
Nothing changes unless the request is genuine.
"""

from __future__ import annotations

import html
import json
import logging
import uuid

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from core.body_limit import BodySizeLimit
from core.config import get_settings
from core.errors import InvalidInput, LeadScoutError, WebhookForged, WebhookUnsigned
from core.logs import configure_logging, log_context
from core.outreach import unsubscribe as tokens
from core.outreach import webhooks
from core.outreach.suppression import add_suppression_row, normalise_address

configure_logging("receiver")
log = logging.getLogger("workers.receiver")

PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        PAGE.format(title=html.escape(title), body=body),
        status_code=status,
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
    )


def _target(request: Request) -> tokens.UnsubscribeTarget:
    return tokens.read_token(request.query_params.get("t", ""))


def _unusable(error: InvalidInput) -> HTMLResponse:
    """A genuine link whose target we cannot act on (say, a channel we do not send on): 400 with the reason."""
    return _page("Link not usable", f"<p>{html.escape(str(error))}</p>", 400)


async def unsubscribe_form(request: Request) -> Response:
    """GET: show who will be unsubscribed and a button (mail scanners follow GETs, so no change here)."""
    try:
        target = _target(request)
    except InvalidInput as error:
        return _page("Link not valid", f"<p>{html.escape(str(error))}</p>", 403)
    try:
        normalise_address(target.channel, target.address)
    except InvalidInput as error:
        return _unusable(error)
    token = html.escape(request.query_params.get("t", ""), quote=True)
    return _page(
        "Unsubscribe",
        f"<p>Stop all messages to <b>{html.escape(target.address)}</b>?</p>"
        f'<form method="post" action="/unsubscribe?t={token}"><button type="submit">Unsubscribe</button></form>',
    )


async def unsubscribe(request: Request) -> Response:
    """POST: unsubscribe now (RFC 8058 one-click from the mail client, or the confirmation button)."""
    try:
        target = _target(request)
    except InvalidInput as error:
        return _page("Link not valid", f"<p>{html.escape(str(error))}</p>", 403)
    from core.db import UnitOfWork

    try:
        with UnitOfWork() as uow:
            add_suppression_row(
                uow.session,
                workspace_id=target.workspace_id,
                channel=target.channel,
                address=normalise_address(target.channel, target.address),
                reason="unsubscribed",
                source="one-click",
            )
            uow.commit()
    except InvalidInput as error:
        return _unusable(error)
    return _page("Unsubscribed", f"<p>{html.escape(target.address)} will get no more messages from us.</p>")


def _refusal(error: LeadScoutError) -> Response:
    status = 401 if isinstance(error, WebhookUnsigned) else 403
    log.warning("webhook refused (%s): %s", status, error)
    return PlainTextResponse("unsigned" if status == 401 else "forbidden", status_code=status)


def _bad_request(error: InvalidInput) -> Response:
    """A genuine (signed) delivery we cannot read: 400 with the reason, nothing applied."""
    log.warning("webhook refused (400): %s", error)
    return PlainTextResponse(str(error), status_code=400)


async def hook_sendgrid(request: Request) -> Response:
    """SendGrid Event Webhook (signed)."""
    body = await request.body()
    try:
        applied = webhooks.receive_sendgrid(body=body, headers=request.headers)
    except (WebhookUnsigned, WebhookForged) as error:
        return _refusal(error)
    except InvalidInput as error:
        return _bad_request(error)
    log.info("sendgrid webhook: %s event(s) applied", applied)
    return JSONResponse({"applied": applied})


async def hook_mailgun(request: Request) -> Response:
    """Mailgun webhook (JSON, signed)."""
    try:
        payload = json.loads(await request.body())
        if not isinstance(payload, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError):  # no object, so no signature to check
        return PlainTextResponse("unsigned", status_code=401)
    try:
        applied = webhooks.receive_mailgun(payload=payload)
    except (WebhookUnsigned, WebhookForged) as error:
        return _refusal(error)
    except InvalidInput as error:
        return _bad_request(error)
    log.info("mailgun webhook: %s event(s) applied", applied)
    return JSONResponse({"applied": applied})


async def hook_twilio(request: Request) -> Response:
    """Twilio status callback or inbound SMS (form-encoded, X-Twilio-Signature)."""
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    base = get_settings().public_base_url.rstrip("/")
    url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        outcome = webhooks.receive_twilio(
            url=url, params=params, signature=request.headers.get("X-Twilio-Signature", "")
        )
    except (WebhookUnsigned, WebhookForged) as error:
        return _refusal(error)
    except InvalidInput as error:
        return _bad_request(error)
    # An empty TwiML answer: Twilio's own opt-out handling already replies to STOP/START.
    return Response("<Response/>", media_type="application/xml", headers={"X-LeadScout-Outcome": outcome})


async def healthz(request: Request) -> Response:
    """Liveness plus a database round trip."""
    from sqlalchemy import text

    from core.db import UnitOfWork

    try:
        with UnitOfWork() as uow:
            uow.session.execute(text("select 1"))
    except Exception as error:  # noqa: BLE001 - report, do not crash the probe
        return JSONResponse({"ok": False, "database": type(error).__name__}, status_code=503)
    return JSONResponse({"ok": True})


class RequestContext:
    """ASGI middleware: a request id on every log line written while handling the request."""

    def __init__(self, app: object) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):  # noqa: ANN001 - the ASGI signature
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        with log_context(request_id=uuid.uuid4().hex[:12]):
            return await self.app(scope, receive, send)


app = Starlette(
    # Oversized bodies get 413 before any route reads them (MAX_REQUEST_BODY_BYTES).
    middleware=[Middleware(RequestContext), Middleware(BodySizeLimit)],
    routes=[
        Route("/unsubscribe", unsubscribe_form, methods=["GET"]),
        Route("/unsubscribe", unsubscribe, methods=["POST"]),
        Route("/hooks/sendgrid", hook_sendgrid, methods=["POST"]),
        Route("/hooks/mailgun", hook_mailgun, methods=["POST"]),
        Route("/hooks/twilio", hook_twilio, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ],
)
