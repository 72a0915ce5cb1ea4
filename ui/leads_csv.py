"""CSV import and export panels of the leads page."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from core import background
from core.actor import Actor
from core.errors import LeadScoutError
from core.leads import csv_import, csv_read
from core.leads.csv_export import COLUMNS, DEFAULT_COLUMNS, export_csv
from core.leads.query import LeadFilter
from ui.common import show_errors


def _show_result(
    counts: dict[str, int], rejected: list[tuple[int, str, dict[str, str]]], rejected_file: bytes | None
) -> None:
    st.success(
        f"Read {counts['rows_read']} rows: {counts['imported']} imported, {counts['updated']} updated, "
        f"{counts['skipped']} skipped, {counts['rejected']} rejected."
    )
    if counts["rejected"]:
        # The same number as the summary above: the table may list only the first rows, the file holds them all.
        listed = "" if len(rejected) >= counts["rejected"] else f" The first {len(rejected):,} are listed below."
        st.warning(
            f"{counts['rejected']:,} rows were not imported.{listed} Download them, fix them and upload the file again."
        )
        st.dataframe(pd.DataFrame([{"row": n, "reason": why, **cells} for n, why, cells in rejected]), hide_index=True)
    if rejected_file:
        st.download_button(
            "Download rejected rows (CSV)",
            rejected_file,
            file_name="rejected-rows.csv",
            mime="text/csv",
            key="leads_import_rejected_download",
        )


@st.fragment(run_every=2)
def _poll_import(actor: Actor, job_id: int) -> None:
    job = background.get_job(actor=actor, job_id=job_id)
    if job is None:
        return
    if job.is_active:
        st.progress(job.fraction or 0.0, text=job.message or "Importing…")
        if st.button("Cancel import", key="leads_import_cancel"):
            background.cancel(actor=actor, job_id=job_id)
    elif job.status == "succeeded" and job.result:
        rows = [(n, why, {}) for n, why in job.result.get("rejected_rows", [])]
        with show_errors():
            _show_result(job.result, rows, csv_import.rejected_file_of_job(actor=actor, job_id=job_id))
    else:
        st.error(f"The import {job.status}: {job.error or job.message}")


def render_import(actor: Actor) -> None:
    """Upload, preview, map columns, import (as a job for big files), then show counts and rejected rows."""
    upload = st.file_uploader("CSV file", type=["csv", "txt"], key="leads_import_upload")
    if upload is not None:
        st.session_state["leads_import_data"] = (upload.name, upload.getvalue())
    if not st.session_state.get("leads_import_data"):
        st.caption(
            "Columns are guessed from the headers (company, website, email, phone, first/last name, title, city, "
            "country, notes, tags); UTF-8, Windows-1252 and Latin-1, with any common delimiter."
        )
        return
    name, data = st.session_state["leads_import_data"]
    # The mapping widgets belong to this file: another file starts from its own guesses (issue 18 item 3).
    file_key = hashlib.sha256(data).hexdigest()[:16]
    try:
        preview = csv_import.preview(data)
    except LeadScoutError as error:
        st.error(str(error))
        return
    st.caption(f"{name}: {preview.rows:,} rows · encoding {preview.encoding} · delimiter {preview.delimiter!r}")
    st.dataframe(
        pd.DataFrame(
            [list(r[: len(preview.headers)]) + [""] * (len(preview.headers) - len(r)) for r in preview.sample],
            columns=list(preview.headers),
        ),
        hide_index=True,
    )
    st.markdown("**Column mapping**")
    mapping: dict[str, str | None] = {}
    columns = st.columns(4)
    for i, field in enumerate(csv_read.FIELDS):
        choices = [None, *preview.headers]
        guess = preview.mapping.get(field)
        mapping[field] = columns[i % 4].selectbox(
            field.replace("_", " "),
            choices,
            index=choices.index(guess) if guess in choices else 0,
            format_func=lambda h: "— not in file —" if h is None else h,
            key=f"leads_map_{file_key}_{field}",
        )
    c1, c2 = st.columns(2)
    region = c1.text_input(
        "Country of phone numbers without +code (rows with no country)",
        value="",
        max_chars=60,
        key="leads_import_region",
        placeholder="e.g. Germany or DE; empty: such numbers are flagged",
        help="A row's own country (its country column, or the country of its address) always sets how its phone "
        "number is read. This is only for rows that name no country; a number that is not valid there is flagged "
        "with the row, never guessed.",
    )
    on_duplicate = c2.radio("Existing leads", ["update", "skip"], horizontal=True, key="leads_import_dup")
    if st.button("Import", type="primary", key="leads_import_go"):
        with show_errors():
            started = csv_import.start_import(
                actor=actor,
                data=data,
                mapping=mapping,
                on_duplicate=on_duplicate,
                default_region=region,
                read=preview,
            )
            st.session_state["leads_import_job"] = started.job_id
            if started.result is not None:
                st.session_state["leads_import_result"] = (
                    started.result.counts(),
                    started.result.rejected,
                    started.rejected_file,
                )
    if st.session_state.get("leads_import_job"):
        _poll_import(actor, st.session_state["leads_import_job"])
    elif st.session_state.get("leads_import_result"):
        counts, rejected, rejected_file = st.session_state["leads_import_result"]
        _show_result(counts, rejected, rejected_file if rejected else None)


def render_export(actor: Actor, flt: LeadFilter, selected: list[int]) -> None:
    """Export the current filter or the selection, with the chosen columns."""
    scope = st.radio("Export", ["current filter", "selected leads"], horizontal=True, key="leads_export_scope")
    columns = st.multiselect("Columns", COLUMNS, default=list(DEFAULT_COLUMNS), key="leads_export_columns")
    bom = st.checkbox("Add a BOM (for Excel)", key="leads_export_bom")
    if st.button("Prepare CSV", key="leads_export_go"):
        with show_errors():
            chosen = LeadFilter(lead_ids=tuple(selected)) if scope == "selected leads" else flt
            if scope == "selected leads" and not selected:
                st.warning("Select leads in the table first.")
            else:
                st.session_state["leads_export_data"] = export_csv(actor=actor, flt=chosen, columns=columns, bom=bom)
    if st.session_state.get("leads_export_data"):
        data = st.session_state["leads_export_data"]
        st.download_button(
            f"Download CSV ({len(data):,} bytes)",
            data,
            file_name="leads.csv",
            mime="text/csv",
            key="leads_export_download",
        )
