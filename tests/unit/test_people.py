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


def test_the_pages_own_byline_not_commenters_related_articles_or_the_publisher():
    html = """<html><head><meta name="author" content="Condé Nast"></head><body>
    <header><h1>Story</h1><p class="article-byline">By Stefan Becket, Kathryn Watson and Grace Segers on Monday, Nov 18</p></header>
    <article><p>Text about Donald Trump.</p></article>
    <div class="comments"><div class="comment-author">Jan Smith</div><span class="author-name">Anita DeSousa</span></div>
    <div class="related-stories"><span class="author-name">Henry Gilbert</span></div>
    <div class="card"><div class="author"><span class="author-name">Venesa Coger</span></div></div></body></html>"""
    found = {p["name"]: p["role"] for p in people(html, "https://news.example/2019/story")}
    assert found == {"Stefan Becket": "author", "Kathryn Watson": "author", "Grace Segers": "author"}


def test_a_byline_class_without_by_is_not_a_name_and_by_in_its_own_element_is_joined():
    headline = '<div class="byline">Donald Robertson Creative Style Statement Shirts</div>'
    assert people(headline, "https://mag.example/style") == []
    split = '<div class="single-post-author"><p class="author-name"><span>by</span> <a>Steve Gillman</a></p></div>'
    assert [(p["name"], p["role"]) for p in people(split, "https://blog.example/post")] == [("Steve Gillman", "author")]
    glued = '<h3 class="byline">by Jeff Foust<i>Monday, November 18, 2019</i></h3>'
    assert [p["name"] for p in people(glued.replace("<i>", "").replace("</i>", ""), "https://r.example/a")] == ["Jeff Foust"]


def test_the_meta_author_counts_when_nothing_else_names_one_and_initials_are_not_a_domain():
    html = '<html><head><meta name="author" content="John C. Welch"></head><body><p>Text</p></body></html>'
    assert [(p["name"], p["role"]) for p in people(html, "https://medium.example/@j/post")] == [("John C. Welch", "author")]
    assert people('<meta name="author" content="example.com">', "https://x.example/") == []
