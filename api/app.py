"""The FastAPI application: ``uvicorn api.app:app`` (``make api``), or mounted by server.py (``make run``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware import Middleware

from api import problems, public
from api.middleware import Idempotency, RateLimit, RefuseNul, RequestId
from api.v1 import analyses, csv, leads, outreach, replies, sequences, strategies, webhooks
from core.body_limit import BodySizeLimit

API_PATHS = ("/api/", "/unsubscribe", "/hooks/", "/healthz")  # what server.py hands to this application
ERROR_STATUSES = {
    "400": "Bad request",
    "401": "Missing, unknown, revoked or expired API key",
    "403": "The key lacks the scope (or its member the role) this needs",
    "404": "Not found in the key's workspace",
    "409": "The same Idempotency-Key is still being handled",
    "413": "Request body too large",
    "422": "Invalid request",
    "429": "Rate limit reached (see Retry-After)",
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title="LeadScout API",
        version="1.0.0",
        summary="Leads, strategies, runs and outreach of one workspace, for the key's scopes.",
        description=(
            "Authenticate with `Authorization: Bearer <API key>` (Settings → API keys, or "
            "`python -m core create-api-key`). Errors are RFC 9457 `application/problem+json` with a stable "
            "`type`. Every POST honours `Idempotency-Key`. Lists of leads page with `cursor`."
        ),
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = problems.Problem.model_json_schema()
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    problem_content = {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for status, text in ERROR_STATUSES.items():
                if status == "409" and method != "post":
                    continue
                responses[status] = {"description": text, "content": problem_content}
            if method == "post":
                operation.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Repeat a POST safely: the same key and body get the first response again.",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 255,
                            # Trailing blanks are allowed because HTTP strips them before we see the value.
                            "pattern": "^[\\x21-\\x7e]+[ \\t]*$",
                        },
                    }
                )
    _add_links(schema)
    app.openapi_schema = schema
    return schema


# OpenAPI links: what a response's ids lead to (clients and Schemathesis's stateful tests follow them).
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("/api/v1/leads", "get", "200"): {
        "GetLead": ("get_lead", {"lead_id": "$response.body#/data/0/id"}),
        "UpdateLead": ("update_lead", {"lead_id": "$response.body#/data/0/id"}),
        "DeleteLead": ("delete_lead", {"lead_id": "$response.body#/data/0/id"}),
    },
    ("/api/v1/leads/{lead_id}", "get", "200"): {
        "UpdateThisLead": ("update_lead", {"lead_id": "$response.body#/id"}),
        "DeleteThisLead": ("delete_lead", {"lead_id": "$response.body#/id"}),
    },
    ("/api/v1/strategies", "post", "201"): {
        "GetStrategy": ("get_strategy", {"strategy_id": "$response.body#/strategy/id"}),
        "ListVersions": ("list_versions", {"strategy_id": "$response.body#/strategy/id"}),
        "SaveVersion": ("save_version", {"strategy_id": "$response.body#/strategy/id"}),
    },
    ("/api/v1/strategies/{strategy_id}/versions", "post", "201"): {
        "GetEditedStrategy": ("get_strategy", {"strategy_id": "$response.body#/strategy_id"}),
    },
    ("/api/v1/runs", "post", "202"): {
        "GetRun": ("get_run", {"run_id": "$response.body#/id"}),
        "CancelRun": ("cancel_run", {"run_id": "$response.body#/id"}),
    },
    ("/api/v1/analyses", "post", "202"): {
        "GetAnalysis": ("get_analysis", {"analysis_id": "$response.body#/id"}),
        "CancelAnalysis": ("cancel_analysis", {"analysis_id": "$response.body#/id"}),
    },
    ("/api/v1/imports", "post", "202"): {
        "GetImport": ("get_import", {"import_id": "$response.body#/id"}),
        "GetRejectedRows": ("get_rejected_rows", {"import_id": "$response.body#/id"}),
    },
    ("/api/v1/messages", "get", "200"): {
        "GetMessage": ("get_message", {"message_id": "$response.body#/0/id"}),
    },
    ("/api/v1/webhooks/endpoints", "post", "201"): {
        "GetEndpoint": ("get_webhook_endpoint", {"endpoint_id": "$response.body#/id"}),
        "UpdateEndpoint": ("update_webhook_endpoint", {"endpoint_id": "$response.body#/id"}),
        "DeleteEndpoint": ("delete_webhook_endpoint", {"endpoint_id": "$response.body#/id"}),
        "ListEndpointDeliveries": ("list_webhook_deliveries", {"endpoint_id": "$response.body#/id"}),
    },
    ("/api/v1/webhooks/deliveries", "get", "200"): {
        "GetDelivery": ("get_webhook_delivery", {"delivery_id": "$response.body#/0/id"}),
        "Redeliver": ("redeliver_webhook", {"delivery_id": "$response.body#/0/id"}),
    },
    ("/api/v1/replies", "get", "200"): {
        "GetReply": ("get_reply", {"reply_id": "$response.body#/0/id"}),
        "RelabelReply": ("relabel_reply", {"reply_id": "$response.body#/0/id"}),
        "ActOnReply": ("act_on_reply", {"reply_id": "$response.body#/0/id"}),
        "AnswerReply": ("answer_reply", {"reply_id": "$response.body#/0/id"}),
    },
    ("/api/v1/sequences", "post", "201"): {
        "GetSequence": ("get_sequence", {"sequence_id": "$response.body#/id"}),
        "ReplaceSequence": ("replace_sequence", {"sequence_id": "$response.body#/id"}),
        "SetSequenceStatus": ("set_sequence_status", {"sequence_id": "$response.body#/id"}),
        "EnrolLeads": ("enrol_leads", {"sequence_id": "$response.body#/id"}),
        "ListEnrollments": ("list_enrollments", {"sequence_id": "$response.body#/id"}),
        "SequenceFunnel": ("sequence_funnel", {"sequence_id": "$response.body#/id"}),
    },
    ("/api/v1/sequences/{sequence_id}/enrollments", "get", "200"): {
        "SetEnrollmentStatus": ("set_enrollment_status", {"enrollment_id": "$response.body#/0/id"}),
        "RemoveEnrollment": ("remove_enrollment", {"enrollment_id": "$response.body#/0/id"}),
    },
    ("/api/v1/suppressions", "post", "201"): {
        "RemoveSuppression": (
            "remove_suppression",
            {"channel": "$response.body#/channel", "address": "$response.body#/address"},
        ),
    },
}


def _add_links(schema: dict[str, Any]) -> None:
    paths = schema.get("paths", {})
    for (path, method, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {
            name: {"operationId": operation_id, "parameters": parameters}
            for name, (operation_id, parameters) in links.items()
        }


def create_app() -> FastAPI:
    """A new application (tests make their own; ``app`` below is the one processes serve)."""
    app = FastAPI(
        title="LeadScout API",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        generate_unique_id_function=lambda route: route.name,  # operationIds are the handlers' names
        middleware=[
            Middleware(RequestId),
            # MAX_REQUEST_BODY_BYTES (MAX_UPLOAD_BYTES for a CSV upload), before anything reads a body
            Middleware(BodySizeLimit, uploads=("/api/v1/imports",)),
            Middleware(RefuseNul),
            Middleware(RateLimit),
            Middleware(Idempotency),
        ],
    )
    problems.install(app)
    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(csv.router)  # before leads: /leads/export.csv
    v1.include_router(leads.router)
    v1.include_router(analyses.router)
    v1.include_router(strategies.router)
    v1.include_router(outreach.router)
    v1.include_router(webhooks.router)
    v1.include_router(replies.router)
    v1.include_router(sequences.router)
    app.include_router(v1)
    app.include_router(public.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


app = create_app()
