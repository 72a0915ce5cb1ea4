"""Column mapping guessed from the headers people's files really have."""

from __future__ import annotations

import pytest

from core.leads.csv_read import FIELDS, guess_mapping

GERMAN = (
    "Firma",
    "Webseite",
    "E-Mail",
    "Telefon",
    "Vorname",
    "Nachname",
    "Position",
    "Stadt",
    "Land",
    "Branche",
    "Notizen",
    "Schlagworte",
    "SMS-Einwilligung",
    "Einwilligungsquelle",
)
CRM = (
    "Account Name",
    "Website URL",
    "Work Email",
    "Phone Number",
    "First Name",
    "Last Name",
    "Job Title",
    "City",
    "Country Code",
    "Industry",
    "Description",
    "Labels",
    "SMS Opt-In",
    "Opt-in Source",
)
PLAIN = (
    "company",
    "website",
    "email",
    "phone",
    "first_name",
    "last_name",
    "title",
    "city",
    "country",
    "industry",
    "notes",
    "tags",
    "sms_consent",
    "consent_source",
)


@pytest.mark.parametrize("headers", [GERMAN, CRM, PLAIN], ids=["german", "crm-export", "plain"])
def test_every_field_finds_its_column(headers: tuple[str, ...]) -> None:
    assert guess_mapping(headers) == dict(zip(FIELDS, headers, strict=True))


def test_a_column_is_used_once_and_unknown_columns_stay_unmapped() -> None:
    mapping = guess_mapping(("Name", "Company Name", "URL", "Favourite colour"))
    assert mapping["company"] == "Company Name"  # an earlier, more specific synonym than "Name"
    assert mapping["website"] == "URL"
    assert "Favourite colour" not in mapping.values()
    assert list(mapping.values()).count("Company Name") == 1
