"""Phones read in the row's country, ambiguous ones flagged (issue 18 item 12); country and city as fields of
their own, from CSV cells and addresses, filtered, charted and exported (item 13). Both backends."""

from __future__ import annotations

import csv
import io

import pytest

from core.errors import InvalidInput
from core.extract.models import PageInput
from core.extract.profile import extract_site
from core.leads.csv_export import DEFAULT_COLUMNS, export_csv
from core.leads.csv_import import import_csv
from core.leads.insights import get_insights
from core.leads.query import LeadFilter, filter_options, list_leads
from tests.conftest import make_owner, unique
from tests.fixtures.leads_data import make_lead

HEADER = "Company,Website,Phone,City,Country\n"


def by_domain(actor, tag: str) -> dict[str, object]:
    return {r.domain.split("-")[0]: r for r in list_leads(actor=actor, flt=LeadFilter(text=tag), page_size=100).rows}


def test_a_rows_country_reads_its_national_phone_number(owner):
    tag = unique("ph")
    data = (
        HEADER
        + f"Berlin Co,berlin-{tag}.de,030 1234567,Berlin,DE\n"
        + f"Munich Co,munich-{tag}.de,089 1234567,München,Deutschland\n"
        + f"London Co,london-{tag}.co.uk,020 7946 0000,London,UK\n"
        + f"Paris Co,paris-{tag}.fr,01 42 68 53 00,\"12 Rue de la Paix, 75002 Paris, France\",\n"
    ).encode()
    result = import_csv(actor=owner, data=data)
    assert result.rejected == [] and result.imported == 4
    rows = by_domain(owner, tag)
    assert rows["berlin"].phone == "+49301234567"  # was +10301234567: the row's DE was ignored for a US default
    assert rows["munich"].phone == "+49891234567" and rows["munich"].country == "DE"
    assert rows["london"].phone == "+442079460000" and rows["london"].country == "GB"
    # a whole address in the city column: its city, and its country for the phone
    assert (rows["paris"].phone, rows["paris"].country, rows["paris"].city) == ("+33142685300", "FR", "Paris")


def test_a_national_number_on_a_row_without_a_country_is_flagged_not_guessed(owner):
    tag = unique("amb")
    data = (
        HEADER
        + f"No Country,nocountry-{tag}.com,030 1234567,,\n"
        + f"Plus Sign,plussign-{tag}.com,+49 30 1234567,,\n"
        + f"Us Default,usdefault-{tag}.com,(415) 555-2671,,\n"
    ).encode()
    result = import_csv(actor=owner, data=data)
    reasons = {row: why for row, why, _cells in result.rejected}
    assert set(reasons) == {1, 3}
    assert "no country code" in reasons[1] and "add a country column" in reasons[1]
    assert by_domain(owner, tag)["plussign"].phone == "+49301234567"

    # a default country for such rows reads the numbers valid there; a number merely fitting it is still flagged
    again = import_csv(actor=owner, data=data, default_region="United States")
    reasons = {row: why for row, why, _cells in again.rejected}
    assert set(reasons) == {1} and "not a valid US number" in reasons[1]  # not +10301234567
    assert by_domain(owner, tag)["usdefault"].phone == "+14155552671"
    with pytest.raises(InvalidInput, match="not a country"):
        import_csv(actor=owner, data=data, default_region="Atlantis")


def test_country_aliases_filter_on_the_country_field_and_cities_are_their_own(owner):
    tag = unique("loc")
    uk = make_lead(owner, f"uk-{tag}.co.uk", name=f"Leeds {tag}", location="1 High St, Leeds, LS1 4AP",
                   country="GB", city="Leeds")
    fr = make_lead(owner, f"fr-{tag}.fr", name=f"Paix {tag}", location="12 rue de la Paix, 75002 Paris",
                   country="FR", city="Paris")
    de = make_lead(owner, f"de-{tag}.de", name=f"Berlin {tag}", location="Kastanienallee 12, 10435 Berlin",
                   country="DE", city="Berlin")

    def ids(**kw) -> set[int]:
        return {r.id for r in list_leads(actor=owner, flt=LeadFilter(text=tag, **kw), page_size=50).rows}

    for alias in ("UK", "gb", "United Kingdom", "Great Britain", "GBR"):
        assert ids(location=alias) == {uk}, alias
    for alias in ("DE", "Deutschland", "Germany", "allemagne"):
        assert ids(location=alias) == {de}, alias  # "DE" never matches "rue de la Paix"
    assert ids(location="paris") == {fr}  # not a country: the city and the address
    assert ids(location="High St") == {uk}
    assert ids(country="France") == {fr} and ids(country="FR") == {fr}
    assert ids(city="berlin") == {de} and ids(city="Ber") == set()  # the city filter is the city, exactly
    options = filter_options(actor=owner)
    assert set(options.countries) == {"GB", "FR", "DE"} and set(options.cities) == {"Leeds", "Paris", "Berlin"}

    insights = get_insights(actor=owner)
    assert dict(insights.countries) == {"GB": 1, "FR": 1, "DE": 1}
    assert dict(insights.cities) == {"Leeds (GB)": 1, "Paris (FR)": 1, "Berlin (DE)": 1}  # no street addresses


def test_export_carries_country_and_city_formula_safe(owner):
    tag = unique("exp")
    make_lead(owner, f"exp-{tag}.de", name=f"Exp {tag}", location="Hauptstr. 1, 10115 Berlin", country="DE",
              city="=HYPERLINK(\"http://x\")")
    data = export_csv(actor=owner, flt=LeadFilter(text=tag), columns=DEFAULT_COLUMNS)
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["country"] == "DE"
    assert row["city"] == "'=HYPERLINK(\"http://x\")"  # neutralised like every other cell
    assert list(row).index("city") == list(row).index("country") + 1


def test_an_import_of_the_export_keeps_country_and_city(owner):
    tag = unique("rt")
    make_lead(owner, f"rt-{tag}.co.uk", name=f"Round {tag}", location="1 High St, Leeds, LS1 4AP", country="GB",
              city="Leeds", emails=(f"anna@rt-{tag}.co.uk",))
    exported = export_csv(actor=owner, flt=LeadFilter(text=tag), columns=DEFAULT_COLUMNS)
    other = make_owner()
    result = import_csv(actor=other, data=exported)
    assert result.imported == 1 and result.rejected == []
    [row] = list_leads(actor=other, flt=LeadFilter(text=tag), page_size=5).rows
    assert (row.country, row.city) == ("GB", "Leeds")


def test_extraction_stores_city_and_country_from_the_address_and_a_com_is_not_american():
    page = PageInput(url="https://acme-example.com/", html="<html><body><footer>Besuchen Sie uns: Kastanienallee 12, "
                     "10435 Berlin · Telefon 030 1234567</footer></body></html>")
    profile = extract_site([page])
    assert (profile.country, profile.city) == ("DE", "Berlin")
    assert profile.phones == ["+49301234567"]  # read in the address's country, not the .com's "US"
    bare = extract_site([PageInput(url="https://plain-example.com/", html="<p>Hello</p>")])
    assert bare.country == ""  # a .com alone says nothing about the country
    known = extract_site([PageInput(url="https://plain-example.com/", html="<p>Tel. 030 1234567</p>")], region="DE")
    assert (known.country, known.phones) == ("DE", ["+49301234567"])  # the lead's known country reads the number
