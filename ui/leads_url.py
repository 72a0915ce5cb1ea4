"""The leads page's view in the address bar: filters, sort, page and the open lead (``?q=bakery&lead=12``).

A reload, the back button or a shared link shows the same view. The URL is read once, when the page first
opens in a browser session, and gives the widgets their starting values; after each run the page writes
its current view back (only values that differ from the defaults). (Streamlit's ``bind="query-params"``
is not used: a bound parameter makes ``st.switch_page`` fail, and the page switches to Outreach.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

LEAD = "lead"
PARAMS = {  # widget key -> URL parameter
    "leads_text": "q",
    "leads_statuses": "status",
    "leads_score": "score",
    "leads_tags": "tags",
    "leads_industry": "industry",
    "leads_location": "location",
    "leads_country": "country",
    "leads_city": "city",
    "leads_tech": "tech",
    "leads_tech_category": "techcat",
    "leads_tech_absent": "techabsent",
    "leads_has_email": "email",
    "leads_email_check": "emailcheck",
    "leads_has_phone": "phone",
    "leads_owner": "owner",
    "leads_campaign": "campaign",
    "leads_query": "query",
    "leads_sort": "sort",
    "leads_desc": "desc",
    "leads_page_size": "size",
    "leads_page": "page",
}
_START = "leads_url_start"


def _start() -> dict[str, str]:
    """The URL's parameters as they were when the page first opened in this session (so defaults stay put)."""
    if _START not in st.session_state:
        st.session_state[_START] = {param: st.query_params.get(param, "") for param in [*PARAMS.values(), LEAD]}
    return st.session_state[_START]


def text(key: str) -> str:
    return _start()[PARAMS[key]][:500]


def index(key: str, options: Sequence[Any], fallback: int = 0) -> int:
    """The position of the URL's value among ``options`` (compared as text), or ``fallback``."""
    wanted = _start()[PARAMS[key]]
    labels = ["" if o is None else str(o) for o in options]
    return labels.index(wanted) if wanted and wanted in labels else fallback


def choices(key: str, options: Sequence[str]) -> list[str]:
    return [v for v in _start()[PARAMS[key]].split(",") if v in options]


def number(key: str, default: int, low: int, high: int) -> int:
    value = _start()[PARAMS[key]]
    return min(high, max(low, int(value))) if value.isdigit() else default


def score() -> tuple[int, int]:
    low, _, high = _start()["score"].partition("-")
    if low.isdigit() and high.isdigit() and int(low) <= int(high) <= 100:
        return int(low), int(high)
    return 0, 100


def flag(key: str, default: bool) -> bool:
    value = _start()[PARAMS[key]]
    return {"1": True, "0": False}.get(value, default)


def lead_from_url() -> int | None:
    """The lead id in the URL when the page first opened, or None."""
    value = _start()[LEAD]
    return int(value) if value.isdigit() else None


def publish(view: dict[str, str], lead_id: int | None) -> None:
    """Write the current view to the URL: ``view`` maps widget keys to their text ("" leaves it out)."""
    wanted = {PARAMS[key]: value for key, value in view.items() if value}
    if lead_id is not None:
        wanted[LEAD] = str(lead_id)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
