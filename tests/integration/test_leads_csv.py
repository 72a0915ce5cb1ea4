"""CSV in and out: messy files, counts that add up, re-import changes nothing, injection-safe export."""

from __future__ import annotations

import csv
import io

import pytest

from core import background
from core.csv_safe import neutralise
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.leads import csv_import, service
from core.leads.csv_export import COLUMNS, export_csv
from core.leads.query import LeadFilter, list_leads
from core.leads.repository import upsert_lead
from tests.conftest import unique
from tests.fixtures.leads_data import HoldRunner, make_lead

MESSY = (
    "\ufeffCompany Name;Website;E-Mail;Phone;First Name;Last Name;Job Title;City;Country;Notes;Tags\r\n"
    "Café Müller;www.cafe-mueller-{t}.de;Info@Cafe-Mueller-{t}.de;030 1234567;Anna;Müller;Owner;Berlin;DE;\"likes \"\"oat\"\" milk\";coffee, berlin\r\n"
    "\r\n"
    "Bäckerei Schmidt;https://baeckerei-schmidt-{t}.de/kontakt;not-an-email;;;;;Hamburg;DE;;\r\n"
    "Gmail Person;;someone@gmail.com;;;;;;;;\r\n"
    "Kaffee Haus;kaffee-haus-{t}.de;;12;;;;;DE;;\r\n"
    "Röstwerk;roestwerk-{t}.de;hallo@roestwerk-{t}.de;+49 40 123456;;;;Hamburg;Germany;;\r\n"
    "Röstwerk again;roestwerk-{t}.de;verkauf@roestwerk-{t}.de;;;;;;;;\r\n"
)


def messy(tag: str, encoding: str = "utf-8") -> bytes:
    text = MESSY.format(t=tag)
    if encoding != "utf-8":
        text = text.lstrip("\ufeff")
    return text.encode(encoding)


def check_counts(result):
    assert result.imported + result.updated + result.skipped + len(result.rejected) == result.rows_read


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1252", "latin-1"])
def test_messy_file_imports_the_good_rows_and_explains_the_bad(owner, encoding):
    tag = unique("c")
    result = csv_import.import_csv(actor=owner, data=messy(tag, encoding), default_region="DE")
    check_counts(result)
    assert result.delimiter == ";"
    assert result.rows_read == 6
    assert (result.imported, result.updated, result.skipped) == (2, 1, 0)
    reasons = {row: why for row, why, _cells in result.rejected}
    assert set(reasons) == {2, 3, 4}
    assert "email 'not-an-email' is not valid" in reasons[2]
    assert "free-mail" in reasons[3]
    assert "phone '12'" in reasons[4]
    rows = {r.name: r for r in list_leads(actor=owner, flt=LeadFilter(text=tag), page_size=50).rows}
    cafe = rows["Café Müller"]
    assert cafe.domain == f"cafe-mueller-{tag}.de" and cafe.email == f"info@cafe-mueller-{tag}.de"
    assert cafe.tags == ("coffee", "berlin") and cafe.location == "Berlin" and cafe.country == "DE"
    detail = service.get_lead_detail_or_raise(actor=owner, lead_id=cafe.id)
    assert detail.notes == 'likes "oat" milk'
    contact = detail.contacts[0]
    assert (contact.person_name, contact.person_title) == ("Anna Müller", "Owner")
    roest = rows["Röstwerk"]
    # "Germany" in the country column is DE (issue 18 item 13): the location keeps the city alone
    assert roest.phone == "+4940123456" and roest.location == "Hamburg" and roest.country == "DE"
    assert {c.value for c in service.get_lead_detail_or_raise(actor=owner, lead_id=roest.id).contacts if c.kind == "email"} == {
        f"hallo@roestwerk-{tag}.de", f"verkauf@roestwerk-{tag}.de"}
    rejected = csv_import.rejected_csv(result).decode("utf-8-sig")
    back = list(csv.DictReader(io.StringIO(rejected)))
    assert [r["row"] for r in back] == ["2", "3", "4"] and back[0]["Company Name"] == "Bäckerei Schmidt"


@pytest.mark.parametrize("mode", ["update", "skip"])
def test_reimporting_the_same_file_changes_nothing(owner, mode):
    tag = unique("r")
    data = messy(tag)
    csv_import.import_csv(actor=owner, data=data, default_region="DE")
    before = export_csv(actor=owner, flt=LeadFilter(text=tag), columns=COLUMNS)
    again = csv_import.import_csv(actor=owner, data=data, default_region="DE", on_duplicate=mode)
    check_counts(again)
    assert (again.imported, again.updated, again.skipped, len(again.rejected)) == (0, 0, 3, 3)
    assert export_csv(actor=owner, flt=LeadFilter(text=tag), columns=COLUMNS) == before


def test_duplicates_update_or_skip(owner):
    domain = f"{unique('dup')}.com"
    make_lead(owner, domain, name="Old name", industry="")
    data = f"company,website,industry,email\nNew name,{domain},Bakery,sales@{domain}\n".encode()
    skipped = csv_import.import_csv(actor=owner, data=data, on_duplicate="skip")
    assert (skipped.imported, skipped.updated, skipped.skipped) == (0, 0, 1)
    row = list_leads(actor=owner, flt=LeadFilter(text=domain)).rows[0]
    assert (row.name, row.industry, row.email) == ("Old name", "", "")
    updated = csv_import.import_csv(actor=owner, data=data, on_duplicate="update")
    assert (updated.imported, updated.updated, updated.skipped) == (0, 1, 0)
    row = list_leads(actor=owner, flt=LeadFilter(text=domain)).rows[0]
    assert (row.name, row.industry, row.email) == ("New name", "Bakery", f"sales@{domain}")


def test_an_update_adds_tags_and_notes_and_never_erases_with_a_blank_cell(owner):
    domain = f"{unique('merge')}.com"
    make_lead(owner, domain, name="Keep Ltd", location="York", tags=["vip"], notes="call first")
    data = f"company,website,city,tags,notes\n,{domain},,vip;north,met at the fair\n".encode()
    first = csv_import.import_csv(actor=owner, data=data)
    assert (first.imported, first.updated, first.skipped) == (0, 1, 0)
    lead = service.get_lead_detail_or_raise(actor=owner, lead_id=list_leads(actor=owner, flt=LeadFilter(text=domain)).rows[0].id)
    assert (lead.name, lead.location, lead.tags, lead.notes) == ("Keep Ltd", "York", ("vip", "north"), "call first\nmet at the fair")
    again = csv_import.import_csv(actor=owner, data=data)  # the same file again: nothing left to change
    assert (again.imported, again.updated, again.skipped) == (0, 0, 1)
    assert list_leads(actor=owner, flt=LeadFilter(text=domain)).rows[0].tags == ("vip", "north")


def test_a_deleted_lead_does_not_come_back(owner):
    domain = f"{unique('gone')}.com"
    lead_id = make_lead(owner, domain)
    assert service.delete_leads(actor=owner, lead_ids=[lead_id]) == 1
    result = csv_import.import_csv(actor=owner, data=f"website\nhttps://www.{domain}/\n".encode())
    assert (result.imported, result.skipped) == (0, 1)
    assert result.skip_reasons["deleted from this workspace before"] == 1
    with UnitOfWork() as uow:
        assert upsert_lead(uow, workspace_id=owner.workspace_id, domain=domain, website=f"https://{domain}") == (None, False)
    assert list_leads(actor=owner, flt=LeadFilter(text=domain)).total == 0


OWASP = ["=1+2", "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1+1)", "\t=1", "\r=1", '=HYPERLINK("http://x")', "=1;2"]


def test_export_neutralises_formula_cells(owner):
    tag = unique("inj")
    for i, payload in enumerate(OWASP):
        make_lead(owner, f"{tag}-{i}.com", name=payload, notes=payload, tags=[payload])
    data = export_csv(actor=owner, flt=LeadFilter(text=tag), columns=("domain", "company", "notes", "tags"), bom=True)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(OWASP)
    for row in rows:
        for column in ("company", "notes", "tags"):
            assert row[column][0] == "'", row
    assert neutralise("plain") == "plain" and neutralise("") == ""


def test_round_trip_export_then_import_keeps_values(owner):
    from tests.conftest import make_owner

    tag = unique("rt")
    make_lead(owner, f"{tag}-a.com", name="=Risky & Co", industry="Bakery", location="Leeds", country="GB",
              emails=("anna@" + f"{tag}-a.com",), phones=("+441134960000",), tags=["vip", "north"], notes="-call first")
    make_lead(owner, f"{tag}-b.co.uk", name="Plain Ltd", industry="Café", location="York")
    columns = ("company", "website", "email", "phone", "industry", "location", "country", "tags", "notes")
    exported = export_csv(actor=owner, flt=LeadFilter(text=tag), columns=columns)
    other = make_owner()
    result = csv_import.import_csv(actor=other, data=exported, default_region="GB")
    check_counts(result)
    assert (result.imported, len(result.rejected)) == (2, 0)
    assert export_csv(actor=other, flt=LeadFilter(), columns=columns) == exported


def test_big_import_runs_as_a_job(owner):
    tag = unique("job")
    data = "company,website\n" + "".join(f"Co {i},{tag}-{i}.com\n" for i in range(30)) + "bad,\n"
    runner = HoldRunner()
    job_id = background.submit(kind=background.kinds.IMPORT_CSV, actor=owner, runner=runner, args={})  # registered kind
    assert job_id
    job_id = csv_import.submit_import(
        actor=owner, data=data.encode(), mapping={"company": "company", "website": "website"}, runner=runner
    )
    background.execute_job(job_id, target="core.leads.jobs:import_csv_job")
    view = background.get_job_or_raise(actor=owner, job_id=job_id)
    assert view.status == "succeeded", view.error
    assert view.result["imported"] == 30 and view.result["rejected"] == 1 and view.result["rows_read"] == 31
    assert view.result["rejected_rows"][0][0] == 31


def test_import_needs_a_website_or_email_column(owner):
    with pytest.raises(InvalidInput, match="Map a website or an email column"):
        csv_import.import_csv(actor=owner, data=b"company,city\nAcme,Leeds\n")
    with pytest.raises(InvalidInput, match="empty"):
        csv_import.import_csv(actor=owner, data=b"\n\n")


@pytest.mark.parametrize("picked", [(0, 1, 2, 3, 4, 5), (0, 5)], ids=["dense page", "sparse selection"])
def test_export_finds_each_leads_own_contacts_in_dense_and_sparse_pages(owner, picked):
    tag = unique("pg")
    ids = [make_lead(owner, f"{tag}-{i}.com", emails=(f"info@{tag}-{i}.com", f"anna@{tag}-{i}.com"),
                     phones=(f"+4420794600{i:02d}",)) for i in range(6)]
    chosen = tuple(ids[i] for i in picked)
    rows = list(csv.DictReader(io.StringIO(export_csv(actor=owner, flt=LeadFilter(lead_ids=chosen),
                                                      columns=("domain", "email", "phone")).decode())))
    assert [r["domain"] for r in rows] == [f"{tag}-{i}.com" for i in picked]
    # each lead's own person address before its role address, and its own phone (formula-guarded: it starts with +)
    assert [(r["email"], r["phone"]) for r in rows] == [(f"anna@{tag}-{i}.com", f"'+4420794600{i:02d}") for i in picked]
