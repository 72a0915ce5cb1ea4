"""Issue 15: one-off website analysis and CSV in and out over the API, against real local servers.

The application is served by uvicorn on a loopback port; the analysis crawls a generated fixture site on the
local site server; the jobs run where they run in production: on a real ``rq worker`` when REDIS_URL is set
(both CI suites), else on the embedded runner inside the serving process.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from api.app import create_app
from core.config import PROJECT_ROOT, get_settings
from tests.fixtures.api_data import seeded_workspace
from tests.fixtures.api_server import serve
from tests.fixtures.leads_data import make_lead
from tests.fixtures.site_server import SiteServer
from tests.fixtures.sites import generate_sites

PROBLEM = "application/problem+json"


def _rq_worker(*queues: str) -> None:
    """Run the queued jobs on a real RQ worker (burst), when jobs go to RQ."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return  # the embedded runner of the serving process runs them
    done = subprocess.run(
        [str(Path(sys.executable).with_name("rq")), "worker", "--burst", "--url", url, *queues],
        cwd=PROJECT_ROOT,
        env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _finished(api: httpx.Client, path: str, queues: tuple[str, ...]) -> dict:
    _rq_worker(*queues)
    for _ in range(600):
        body = api.get(path).json()
        if body["status"] not in ("queued", "running", "retrying"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{path} did not finish: {body}")


@pytest.fixture
def site_web(monkeypatch):
    """A fixture site on the local site server, reachable by the crawler (the test allows its loopback port)."""
    sites = generate_sites(1, seed=15, quirks=False)
    with SiteServer(sites) as server:
        monkeypatch.setenv("CRAWL_ALLOW_PRIVATE", "127.0.0.1/32")
        monkeypatch.setenv("CRAWL_ALLOWED_PORTS", f"80,443,{server.port}")
        monkeypatch.setenv("CRAWL_RESOLVE", "*.test=127.0.0.1")
        monkeypatch.setenv("CRAWL_PER_HOST_DELAY", "0")
        get_settings.cache_clear()
        yield sites[0], server
    get_settings.cache_clear()


@pytest.fixture
def a():
    return seeded_workspace(leads=1)


@pytest.fixture
def api(a):
    with (
        serve(create_app()) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {a.key}"}, timeout=60) as client,
    ):
        yield client


def test_analysing_a_fixture_site_returns_its_emails_with_evidence(site_web, a):
    site, server = site_web
    with (
        serve(create_app()) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {a.key}"}, timeout=60) as api,
    ):
        started = api.post("/api/v1/analyses", json={"url": server.url_of(site)})
        assert started.status_code == 202, started.text
        assert started.json()["status"] in ("queued", "running") and started.json()["profile"] is None
        done = _finished(api, f"/api/v1/analyses/{started.json()['id']}", ("crawl",))
    assert done["status"] == "succeeded", done
    profile = done["profile"]
    assert set(site.truth.emails) <= set(profile["emails"])
    email_evidence = {e["value"]: e for e in profile["evidence"] if e["field"] == "email"}
    for email in site.truth.emails:
        source = email_evidence[email]["url"]
        assert urlsplit(source).hostname == site.host, source  # read from a page of the site itself
        assert email in email_evidence[email]["snippet"] or email_evidence[email]["snippet"]
    assert any(p["kind"] == "home" and p["status"] == 200 for p in done["pages"])
    assert done["progress_done"] == done["progress_total"] == 2


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="held in RQ's queue until a worker runs: needs REDIS_URL")
def test_an_analysis_cancelled_before_a_worker_takes_it_never_runs(site_web, a):
    site, server = site_web
    with (
        serve(create_app()) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {a.key}"}, timeout=60) as api,
    ):
        started = api.post("/api/v1/analyses", json={"url": server.url_of(site)}).json()
        cancelled = api.post(f"/api/v1/analyses/{started['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        _rq_worker("crawl")
        after = api.get(f"/api/v1/analyses/{started['id']}").json()
        again = api.post(f"/api/v1/analyses/{started['id']}/cancel")
    assert after["status"] == "cancelled" and after["profile"] is None
    assert not [r for r in server.requests if r.host == site.host]  # the site was never fetched
    assert again.status_code == 422 and "nothing to cancel" in again.json()["detail"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://[::1]/admin", "http://169.254.169.254/latest/meta-data/", "10.0.0.5"]
)
def test_a_private_address_is_refused_with_the_reason_and_no_job(api, a, url):
    response = api.post("/api/v1/analyses", json={"url": url})
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert "non-public address" in response.json()["detail"], response.json()
    from core.background import list_jobs

    assert [j for j in list_jobs(actor=a.actor) if j.kind == "analyses.site"] == []


def test_another_workspaces_job_or_another_kind_of_job_is_not_an_analysis(api, a):
    other = seeded_workspace(leads=0)
    imported = api.post(
        "/api/v1/imports", content=b"website\nhttps://x.example.test\n", headers={"Content-Type": "text/csv"}
    ).json()["id"]
    assert api.get(f"/api/v1/analyses/{imported}").status_code == 404  # an import is no analysis
    theirs = httpx.post(
        f"{api.base_url}/api/v1/imports",
        content=b"website\nhttps://y.example.test\n",
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {other.key}"},
    ).json()["id"]
    assert api.get(f"/api/v1/imports/{theirs}").status_code == 404
    _rq_worker("default")


def test_a_csv_upload_is_a_job_with_counts_and_the_rejected_rows_as_csv(api, a):
    body = (
        "Company;Web site;E-mail;Phone\n"
        "Brot & Co;https://brot-co.de;info@brot-co.de;\n"
        "Bäckerei Süd;baeckerei-sued.de;hallo@baeckerei-sued.de;\n"
        '=HYPERLINK("http://evil.test");;not an email;\n'
    ).encode()
    started = api.post(
        "/api/v1/imports", content=body, headers={"Content-Type": "text/csv"}, params={"on_duplicate": "skip"}
    )
    assert started.status_code == 202, started.text
    assert started.json()["mapping"]["website"] == "Web site" and started.json()["mapping"]["email"] == "E-mail"
    done = _finished(api, f"/api/v1/imports/{started.json()['id']}", ("default",))
    assert done["status"] == "succeeded", done
    assert done["counts"] == {"rows_read": 3, "imported": 2, "updated": 0, "skipped": 0, "rejected": 1}, str(done)
    assert [r["row"] for r in done["rejected_rows"]] == [3]
    rejected = api.get(done["rejected_csv"])
    assert rejected.status_code == 200 and rejected.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(rejected.content.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["row", "error"] and len(rows) == 2
    assert rows[1][0].startswith("'=")  # the formula guard of every CSV LeadScout writes
    listed = api.get("/api/v1/leads", params={"q": "brot-co"}).json()["data"]
    assert [lead["domain"] for lead in listed] == ["brot-co.de"]


def test_a_multipart_upload_and_the_refusals(api):
    form = api.post("/api/v1/imports", files={"file": ("leads.csv", b"website\nhttps://multi-h15a.com\n")})
    assert form.status_code == 202, form.text
    done = _finished(api, f"/api/v1/imports/{form.json()['id']}", ("default",))
    assert done["counts"]["imported"] == 1 and done["rejected_csv"] is None
    assert api.get(f"/api/v1/imports/{done['id']}/rejected.csv").status_code == 404
    no_key_column = api.post("/api/v1/imports", content=b"name,city\nAcme,York\n", headers={"Content-Type": "text/csv"})
    assert no_key_column.status_code == 422 and "website or email" in no_key_column.json()["detail"]
    wrong_type = api.post("/api/v1/imports", json={"file": "x"})
    assert wrong_type.status_code == 415 and wrong_type.headers["content-type"] == PROBLEM


def test_an_upload_over_the_limit_gets_413(monkeypatch, a):
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "2048")
    get_settings.cache_clear()
    try:
        with serve(create_app()) as url:
            big = b"website\n" + b"https://a.example.test\n" * 200
            response = httpx.post(
                f"{url}/api/v1/imports",
                content=big,
                headers={"Content-Type": "text/csv", "Authorization": f"Bearer {a.key}"},
            )
    finally:
        get_settings.cache_clear()
    assert response.status_code == 413


def test_export_streams_the_filtered_leads_formula_safe(api, a):
    make_lead(a.actor, "formula.example.test", name="=1+2", status="won", emails=("a@formula.com",))
    with api.stream(
        "GET", "/api/v1/leads/export.csv", params={"status": "won", "column": ["company", "email", "status"]}
    ) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        assert "content-length" not in response.headers  # streamed
        text = b"".join(response.iter_bytes()).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["company", "email", "status"], ["'=1+2", "a@formula.com", "won"]]
    everything = list(csv.reader(io.StringIO(api.get("/api/v1/leads/export.csv").text)))
    assert len(everything) == 1 + 2  # the header, the seeded lead and the one above
    unknown = api.get("/api/v1/leads/export.csv", params={"column": "password"})
    assert unknown.status_code == 422 and unknown.headers["content-type"] == PROBLEM


def test_an_upload_repeated_with_its_idempotency_key_is_one_import(api, a):
    """Each upload of a form gets a new random boundary; the repeat is still the same request."""
    headers = {"Idempotency-Key": "upload-1"}
    first = api.post("/api/v1/imports", files={"file": ("l.csv", b"website\nhttps://once-h15a.com\n")}, headers=headers)
    again = api.post("/api/v1/imports", files={"file": ("l.csv", b"website\nhttps://once-h15a.com\n")}, headers=headers)
    other = api.post(
        "/api/v1/imports", files={"file": ("l.csv", b"website\nhttps://twice-h15a.com\n")}, headers=headers
    )
    assert first.status_code == again.status_code == 202, again.text
    assert again.headers.get("idempotent-replayed") == "true" and again.json()["id"] == first.json()["id"]
    assert other.status_code == 422 and other.json()["type"] == "/api/v1/problems/idempotency-mismatch"
    _finished(api, f"/api/v1/imports/{first.json()['id']}", ("default",))
    from core.background import list_jobs

    assert len([j for j in list_jobs(actor=a.actor) if j.kind == "leads.import_csv"]) == 1
