"""People and their roles (issue 14 section 5): Impressum, mentions légales, JSON-LD, bylines."""

from __future__ import annotations

import pytest

from core.extract.models import PageInput
from core.extract.people import normalise_role
from core.extract.profile import extract_page


def people(html: str, url: str = "https://muster-fraesen.de/impressum") -> list[dict]:
    return extract_page(PageInput(url=url, html=html)).people


def test_german_impressum_managing_director_and_owner():
    html = """<html><body><h1>Impressum</h1><p>Muster Fräsen GmbH<br>Industriestraße 4, 70565 Stuttgart</p>
    <p>Geschäftsführer: Dr. Hans-Peter Müller, Anna Schmidt</p><p>Registergericht: Amtsgericht Stuttgart HRB 12345</p>
    <p>Kontakt: <a href="mailto:a.schmidt@muster-fraesen.de">a.schmidt@muster-fraesen.de</a>, info@muster-fraesen.de</p></body></html>"""
    found = {p["name"]: p for p in people(html)}
    assert set(found) == {"Dr. Hans-Peter Müller", "Anna Schmidt"}
    assert {p["role"] for p in found.values()} == {"managing director"}
    assert found["Anna Schmidt"]["email"] == "a.schmidt@muster-fraesen.de"  # shown on the page
    assert found["Dr. Hans-Peter Müller"]["email"] == ""  # never guessed
    assert "Geschäftsführer" in found["Anna Schmidt"]["evidence"]["snippet"]


def test_austrian_owner_and_french_mentions_legales():
    at = people("<p>Inhaberin: Maria Gruber · Tel. +43 1 234567</p>", "https://gruber.at/impressum")
    assert [(p["name"], p["role"]) for p in at] == [("Maria Gruber", "owner")]
    fr = people(
        "<p>SARL Boulangerie Martin, gérant : Jean Dupont. Directeur de la publication : Paul Martin.</p>",
        "https://boulangerie.fr/mentions-legales",
    )
    assert {(p["name"], p["role"]) for p in fr} == {("Jean Dupont", "managing director"), ("Paul Martin", "publisher")}


def test_json_ld_founder_employee_and_article_author():
    html = """<script type="application/ld+json">{"@type": "Organization", "name": "Acme",
    "founder": {"@type": "Person", "name": "Jane Roe"},
    "employee": [{"@type": "Person", "name": "Carlos García", "jobTitle": "Director de ventas"}]}</script>
    <script type="application/ld+json">{"@type": "NewsArticle", "headline": "x", "author": {"@type": "Person", "name": "Lee Chan"}}</script>"""
    found = {p["name"]: p["role"] for p in people(html, "https://acme.example/")}
    assert found == {"Jane Roe": "founder", "Carlos García": "sales", "Lee Chan": "author"}


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("CEO", "managing director"),
        ("Geschäftsführerin", "managing director"),
        ("Gérante", "managing director"),
        ("Directora general", "managing director"),
        ("Co-Founder", "founder"),
        ("Gründer", "founder"),
        ("Fondatrice", "founder"),
        ("Head of Marketing", "marketing"),
        ("Vertriebsleiter", "sales"),
        ("Propietario", "owner"),
        ("Vertretungsberechtigter", "representative"),
        ("Office cat", ""),
    ],
)
def test_roles_are_normalised_in_four_languages(title, role):
    assert normalise_role(title) == role


def test_company_words_and_addresses_are_not_people():
    assert people("<p>Geschäftsführung: Muster Holding GmbH</p><p>Inhaber: Telefon Zentrale</p>") == []
