"""The public routes: one-click unsubscribe (RFC 8058), provider webhooks, and /healthz.

Every route is thin: read the request, call one ``core`` service, map its errors to HTTP (unsigned
401, forged/replayed 403, genuine but unreadable 400, body over the limit 413 from the middleware).
Routes that touch the database are plain ``def`` (FastAPI runs them in its thread pool); the webhook
routes read the body asynchronously, then run the service in the thread pool.
"""

from __future__ import annotations

import html
import json
import logging

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from core.config import get_settings
from core.errors import InvalidInput, LeadScoutError, WebhookForged, WebhookUnsigned
from core.monitoring.health import check_database
from core.outreach import unsubscribe as tokens
from core.outreach import webhooks
from core.outreach.suppression import normalise_address, unsubscribe_by_link
from core.replies import inbound
from core.replies import service as replies_service

log = logging.getLogger("api.public")
router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        PAGE.format(title=html.escape(title), body=body),
        status_code=status,
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
    )


def _unusable(error: InvalidInput) -> HTMLResponse:
    """A genuine link whose target we cannot act on (say, a channel we do not send on): 400 with the reason."""
    return _page("Link not usable", f"<p>{html.escape(str(error))}</p>", 400)


@router.get("/unsubscribe")
def unsubscribe_form(request: Request) -> Response:
    """GET: show who will be unsubscribed and a button (mail scanners follow GETs, so no change here)."""
    try:
        target = tokens.read_token(request.query_params.get("t", ""))
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


@router.post("/unsubscribe")
def unsubscribe(request: Request) -> Response:
    """POST: unsubscribe now (RFC 8058 one-click from the mail client, or the confirmation button)."""
    try:
        target = tokens.read_token(request.query_params.get("t", ""))
    except InvalidInput as error:
        return _page("Link not valid", f"<p>{html.escape(str(error))}</p>", 403)
    try:
        unsubscribe_by_link(workspace_id=target.workspace_id, channel=target.channel, address=target.address)
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


@router.post("/hooks/sendgrid")
async def hook_sendgrid(request: Request) -> Response:
    """SendGrid Event Webhook (signed)."""
    body = await request.body()
    try:
        applied = await run_in_threadpool(lambda: webhooks.receive_sendgrid(body=body, headers=request.headers))
    except (WebhookUnsigned, WebhookForged) as error:
        return _refusal(error)
    except InvalidInput as error:
        return _bad_request(error)
    log.info("sendgrid webhook: %s event(s) applied", applied)
    return JSONResponse({"applied": applied})


@router.post("/hooks/mailgun")
async def hook_mailgun(request: Request) -> Response:
    """Mailgun webhook (JSON, signed)."""
    try:
        payload = json.loads(await request.body())
        if not isinstance(payload, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError):  # no object, so no signature to check
        return PlainTextResponse("unsigned", status_code=401)
    try:
        applied = await run_in_threadpool(lambda: webhooks.receive_mailgun(payload=payload))
    except (WebhookUnsigned, WebhookForged) as error:
        return _refusal(error)
    except InvalidInput as error:
        return _bad_request(error)
    log.info("mailgun webhook: %s event(s) applied", applied)
    return JSONResponse({"applied": applied})


@router.post("/hooks/twilio")
async def hook_twilio(request: Request) -> Response:
    """Twilio status callback or inbound SMS (form-encoded, X-Twilio-Signature)."""
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    base = get_settings().public_base_url.rstrip("/")
    url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    try:
        outcome = await run_in_threadpool(
            lambda: webhooks.receive_twilio(
                url=url, params=params, signature=signature, keep_text=replies_service.record_text_reply
            )
        )
    except (WebhookUnsigned, WebhookForged) as error:
        return _refusal(error)
    except InvalidInput as error:
        return _bad_request(error)
    # An empty TwiML answer: Twilio's own opt-out handling already replies to STOP/START.
    return Response("<Response/>", media_type="application/xml", headers={"X-LeadScout-Outcome": outcome})


async def _form_fields(request: Request) -> dict[str, str]:
    """A multipart or urlencoded form's text fields (file parts, such as attachments, are left out)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post("/hooks/sendgrid/inbound")
async def hook_sendgrid_inbound(request: Request) -> Response:
    """SendGrid Inbound Parse: a reply posted as a form (signed by the parse webhook's security policy)."""
    body = await request.body()
    fields = await _form_fields(request)
    try:
        recorded = await run_in_threadpool(
            lambda: inbound.receive_sendgrid_mail(body=body, fields=fields, headers=request.headers)
        )
    except (WebhookUnsigned, WebhookForged) as error:
        return _refusal(error)
    except InvalidInput as error:
        return _bad_request(error)
    return JSONResponse({"stored": recorded is not None, "label": recorded.label if recorded else None})


@router.post("/hooks/mailgun/inbound")
@router.post("/hooks/mailgun/inbound/mime")
async def hook_mailgun_inbound(request: Request) -> Response:
    """A Mailgun route's forward() of a reply (form fields, signed like Mailgun's webhooks)."""
    fields = await _form_fields(request)
    try:
        recorded = await run_in_threadpool(lambda: inbound.receive_mailgun_mail(fields=fields))
    except (WebhookUnsigned, WebhookForged) as error:
        return _refusal(error)
    except InvalidInput as error:
        return _bad_request(error)
    return JSONResponse({"stored": recorded is not None, "label": recorded.label if recorded else None})


@router.get("/healthz")
def healthz() -> Response:
    """Liveness plus a database round trip."""
    check = check_database()
    if not check.ok:
        return JSONResponse({"ok": False, "database": "unavailable"}, status_code=503)
    return JSONResponse({"ok": True})
