"""CSV over the API: upload a file to import (a job, then its counts and rejected rows), and a streamed export
of the leads matching the table's filters (formula cells neutralised, as the page's export)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from api.deps import READ, WRITE
from api.v1.inputs import JsonId
from api.v1.leads import lead_filter
from core.apikeys.service import ApiPrincipal
from core.errors import InvalidInput
from core.leads import csv_export, import_jobs
from core.leads import query as lead_query
from core.leads.import_jobs import ImportView

router = APIRouter()
Column = Literal[csv_export.COLUMNS]  # type: ignore[valid-type]
CSV_TEXT = {"schema": {"type": "string"}}
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "CSV (UTF-8, comma-separated, a header row)", "content": {"text/csv": CSV_TEXT}}
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The CSV file: the body itself (text/csv), or a form with the file as `file`.",
        "content": {
            "text/csv": CSV_TEXT,
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class RejectedRow(BaseModel):
    row: int
    reason: str


class Counts(BaseModel):
    rows_read: int
    imported: int
    updated: int
    skipped: int
    rejected: int


class ImportOut(BaseModel):
    id: int = Field(description="The import id (the id of its job)")
    status: str = Field(description="queued, running, retrying, then succeeded, failed or cancelled")
    progress_done: int
    progress_total: int | None
    message: str
    error: str
    created_at: datetime
    finished_at: datetime | None
    mapping: dict[str, str | None] = Field(description="Each lead field and the column it was read from")
    on_duplicate: str
    counts: Counts | None = Field(description="Once the import has succeeded")
    rejected_rows: list[RejectedRow] = Field(description="The first rejected rows with their reasons")
    rejected_csv: str | None = Field(description="Where every rejected row can be downloaded, when there are any")


def _out(view: ImportView) -> ImportOut:
    rejected = bool(view.counts and view.counts["rejected"])
    return ImportOut(
        id=view.id,
        status=view.status,
        progress_done=view.progress_done,
        progress_total=view.progress_total,
        message=view.message,
        error=view.error,
        created_at=view.created_at,
        finished_at=view.finished_at,
        mapping=view.mapping,
        on_duplicate=view.on_duplicate,
        counts=Counts(**view.counts) if view.counts else None,
        rejected_rows=[RejectedRow(row=n, reason=why) for n, why in view.rejected_rows],
        rejected_csv=f"/api/v1/imports/{view.id}/rejected.csv" if rejected else None,
    )


async def uploaded_csv(request: Request) -> bytes:
    """The uploaded file: a text/csv body, or the ``file`` part of a multipart form (the size limit applies to both)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("text/csv", "text/plain", "application/csv"):
        return await request.body()
    if kind == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception as exc:  # noqa: BLE001 - starlette raises its own parse errors; all mean a broken form
            raise InvalidInput(f"The form could not be read: {exc}") from exc
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("Send the CSV file as the form's `file` part.")
        return await upload.read()
    raise HTTPException(415, "Send the CSV as text/csv, or as multipart/form-data with a `file` part.")


@router.post(
    "/imports",
    status_code=202,
    response_model=ImportOut,
    tags=["imports"],
    summary="Import leads from a CSV file (a job; columns guessed as on the Leads page)",
    openapi_extra=UPLOAD_BODY,
)
def start_import(
    who: Annotated[ApiPrincipal, WRITE],  # first: a key without the scope is refused before the body is read
    data: Annotated[bytes, Depends(uploaded_csv)],
    on_duplicate: Literal["update", "skip"] = "update",
    default_region: Annotated[
        str, Query(max_length=60, description="Country of phone numbers written without +code")
    ] = "",
) -> ImportOut:
    import_id = import_jobs.start_import_job(
        actor=who.actor, data=data, on_duplicate=on_duplicate, default_region=default_region
    )
    return _out(import_jobs.get_import_or_raise(actor=who.actor, import_id=import_id))


@router.get(
    "/imports/{import_id:int}", response_model=ImportOut, tags=["imports"], summary="An import's progress and counts"
)
def get_import(import_id: JsonId, who: ApiPrincipal = READ) -> ImportOut:
    return _out(import_jobs.get_import_or_raise(actor=who.actor, import_id=import_id))


@router.get(
    "/imports/{import_id:int}/rejected.csv",
    response_class=Response,
    responses=CSV_RESPONSE,
    tags=["imports"],
    summary="Every rejected row of a finished import, with the row number and the reason",
)
def get_rejected_rows(import_id: JsonId, who: ApiPrincipal = READ) -> Response:
    data = import_jobs.rejected_rows_csv(actor=who.actor, import_id=import_id)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-rejected.csv"'},
    )


@router.get(
    "/leads/export.csv",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
    tags=["leads"],
    summary="The leads matching the filters as CSV, streamed (formula cells neutralised)",
)
def export_leads(
    flt: Annotated[lead_query.LeadFilter, Depends(lead_filter)],
    who: ApiPrincipal = READ,
    column: Annotated[
        list[Column] | None,  # type: ignore[valid-type]
        Query(max_length=len(csv_export.COLUMNS), description="Columns in order (default: the page's)"),
    ] = None,
    bom: Annotated[bool, Query(description="Start with a byte-order mark (for Excel)")] = False,
) -> StreamingResponse:
    chunks = csv_export.export_csv_stream(
        actor=who.actor, flt=flt, columns=tuple(column or csv_export.DEFAULT_COLUMNS), bom=bom
    )
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
    )
