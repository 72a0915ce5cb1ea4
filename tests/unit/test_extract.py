"""Website analysis on pages like the ones found in the wild: every value, and its evidence."""

from __future__ import annotations

import pytest

from core.extract.emails import clean_email, decode_cloudflare, is_role_address
from core.extract.models import PageInput
from core.extract.page import Page
from core.extract.profile import extract_site
from core.extract.socials import canonical_profile
from core.zones import single_zone


def profile_of(html: str, url: str = "https://www.acme-roasters.com/", region: str = ""):
    return extract_site([PageInput(url, html)], region=region)


def cloudflare(email: str, key: int = 0x5A) -> str:
    return (bytes([key]) + bytes(b ^ key for b in email.encode())).hex()


# --- emails ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<a href="mailto:Sales@Acme-Roasters.com?subject=Hi">Write to sales</a>', "sales@acme-roasters.com"),
        ("<p>Email: hello@acme-roasters.com.</p>", "hello@acme-roasters.com"),
        ("<p>anna.schmidt [at] acme-roasters [dot] com</p>", "anna.schmidt@acme-roasters.com"),
        ("<p>info(at)acme-roasters.com</p>", "info@acme-roasters.com"),
        ("<p>kontakt {at} acme-roasters {dot} de</p>", "kontakt@acme-roasters.de"),
        ("<p>bob (at) acme-roasters (punkt) de</p>", "bob@acme-roasters.de"),
        ("<p>&#104;&#101;&#108;&#108;&#111;&#64;acme-roasters.com</p>", "hello@acme-roasters.com"),
        ("<p>contacto&#64;acme-roasters&#46;es</p>", "contacto@acme-roasters.es"),
        (
            f'<a href="/cdn-cgi/l/email-protection#{cloudflare("team@acme-roasters.com")}">[email&#160;protected]</a>',
            "team@acme-roasters.com",
        ),
        (
            f'<span class="__cf_email__" data-cfemail="{cloudflare("ops@acme-roasters.com", 0x13)}">[email&#160;protected]</span>',
            "ops@acme-roasters.com",
        ),
        (
            '<script type="application/ld+json">{"@type":"Organization","email":"mailto:press@acme-roasters.com"}</script>',
            "press@acme-roasters.com",
        ),
        (
            '<script type="application/ld+json">{"@graph":[{"@type":"WebSite"},{"@type":"LocalBusiness","contactPoint":[{"@type":"ContactPoint","email":"orders@acme-roasters.com"}]}]}</script>',
            "orders@acme-roasters.com",
        ),
    ],
)
def test_emails_are_found_however_they_are_written(markup, expected):
    assert profile_of(f"<html><body>{markup}</body></html>").emails == [expected]


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="logo@2x.png"> <img srcset="hero@3x.webp 3x">',
        "<p>Your email: name@example.com or you@domain.com</p>",
        '<script>Sentry.init({dsn:"https://5f3c2a1b9e8d7c6f5a4b@o123.ingest.sentry.io/1"})</script>',
        "<p>8f14e45fceea167a5a36dedd4bea2543@sentry-next.wixpress.com</p>",
        "<p>Visit us at acme-roasters.com and meet us at the market</p>",
        "<p>Version 1.2@3 build</p>",
        "<p>noreply@acme-roasters.com</p>",
    ],
)
def test_false_positives_are_dropped(markup):
    assert profile_of(f"<html><body>{markup}</body></html>").emails == []


def test_role_and_person_addresses_are_told_apart():
    assert is_role_address("info@acme.com") and is_role_address("sales.de@acme.com")
    assert not is_role_address("anna.schmidt@acme.com")


def test_cloudflare_decoding_and_cleaning_helpers():
    assert decode_cloudflare(cloudflare("x@y.io")) == "x@y.io"
    assert decode_cloudflare("zz") is None
    assert clean_email("  Anna@Acme.COM, ") == "anna@acme.com"


# --- phones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "url", "expected"),
    [
        ('<a href="tel:+1-503-555-0142">Call us</a>', "https://acme.com/", "+15035550142"),
        ("<p>Phone: (503) 555-0142</p>", "https://acme.com/", "+15035550142"),
        ("<p>Telefon: 030 / 123 456 78</p>", "https://acme.de/", "+493012345678"),
        ("<p>Tél. : 01 42 68 53 00</p>", "https://acme.fr/", "+33142685300"),
        ("<p>Teléfono: 912 345 678</p>", "https://acme.es/", "+34912345678"),
        ("<p>Call 020 7946 0958</p>", "https://acme.co.uk/", "+442079460958"),
        ("<p>+44 20 7946 0958</p>", "https://acme.com/", "+442079460958"),
        (
            '<script type="application/ld+json">{"@type":"LocalBusiness","telephone":"+49 89 1234567"}</script>',
            "https://acme.de/",
            "+49891234567",
        ),
    ],
)
def test_phones_come_out_in_e164(markup, url, expected):
    assert profile_of(f"<html><body>{markup}</body></html>", url).phones == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "Datum: 12.03.2024",
        "Price: $1,299.00 per 1000 units",
        "Bestellnummer 4930123456",
        "Order 20231012 shipped",
        "Founded in 1998, 250 employees, 12000 customers",
        "VAT ID DE123456789",
        "Fax: 030 1234568",
    ],
)
def test_dates_prices_ids_and_fax_numbers_are_not_phones(text):
    assert profile_of(f"<html><body><p>{text}</p></body></html>", "https://acme.de/").phones == []


# --- socials --------------------------------------------------------------------------------


def test_profiles_are_kept_and_share_buttons_and_posts_dropped():
    html = """<html><body>
    <a href="https://www.facebook.com/sharer/sharer.php?u=https://acme.com">Share</a>
    <a href="https://twitter.com/intent/tweet?text=hi">Tweet</a>
    <a href="https://www.linkedin.com/shareArticle?mini=true&url=x">Share on LinkedIn</a>
    <a href="https://www.instagram.com/p/CxYz123/">A post</a>
    <a href="https://twitter.com/acme/status/1234567">A tweet</a>
    <a href="https://www.youtube.com/watch?v=abc">A video</a>
    <a href="https://www.linkedin.com/company/acme-roasters/">LinkedIn</a>
    <a href="https://facebook.com/AcmeRoasters">Facebook</a>
    <a href="https://instagram.com/acme.roasters/">Instagram</a>
    <a href="https://twitter.com/AcmeRoasters">Twitter</a>
    <a href="https://www.youtube.com/@acmeroasters">YouTube</a>
    <a href="https://www.tiktok.com/@acmeroasters">TikTok</a>
    </body></html>"""
    assert profile_of(html).socials == {
        "linkedin": "https://www.linkedin.com/company/acme-roasters",
        "facebook": "https://www.facebook.com/AcmeRoasters",
        "instagram": "https://www.instagram.com/acme.roasters",
        "x": "https://x.com/AcmeRoasters",
        "youtube": "https://www.youtube.com/@acmeroasters",
        "tiktok": "https://www.tiktok.com/@acmeroasters",
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/in/jane-doe",
        "https://www.facebook.com/facebook",
        "https://twitter.com/share",
        "https://www.instagram.com/explore/tags/coffee",
    ],
)
def test_personal_and_platform_pages_are_not_company_profiles(url):
    assert canonical_profile(url) is None


# --- structured data, address, name ---------------------------------------------------------


def test_json_ld_graph_with_arrays():
    html = """<html><head><script type="application/ld+json">
    {"@context":"https://schema.org","@graph":[
      {"@type":"WebSite","name":"Acme site"},
      {"@type":["Organization","LocalBusiness"],"name":"Acme Roasters LLC",
       "address":[{"@type":"PostalAddress","streetAddress":"123 SE Main St","addressLocality":"Portland",
                   "addressRegion":"OR","postalCode":"97214","addressCountry":"US"}],
       "telephone":["+1 503 555 0142"],"sameAs":["https://www.instagram.com/acmeroasters"],
       "openingHoursSpecification":[{"dayOfWeek":["Monday","Tuesday"],"opens":"07:00","closes":"15:00"}]}
    ]}</script></head><body><p>Coffee.</p></body></html>"""
    profile = profile_of(html)
    assert profile.name == "Acme Roasters LLC"
    assert profile.address == "123 SE Main St, 97214 Portland, OR"
    assert profile.country == "US"
    assert profile.phones == ["+15035550142"]
    assert profile.socials == {"instagram": "https://www.instagram.com/acmeroasters"}
    assert profile.opening_hours == "Monday, Tuesday 07:00–15:00"


@pytest.mark.parametrize(
    ("text", "url", "address", "country"),
    [
        (
            "Besuchen Sie uns: Kastanienallee 12, 10435 Berlin",
            "https://acme.de/",
            "Kastanienallee 12, 10435 Berlin",
            "DE",
        ),
        ("Adresse : 12 rue de la Paix, 75002 Paris", "https://acme.fr/", "12 rue de la Paix, 75002 Paris", "FR"),
        ("Dirección: Calle Mayor 5, 28013 Madrid", "https://acme.es/", "Calle Mayor 5, 28013 Madrid", "ES"),
        (
            "Find us at 221B Baker Street, London NW1 6XE",
            "https://acme.co.uk/",
            "221B Baker Street, London NW1 6XE",
            "GB",
        ),
        (
            "Roastery: 1200 SE Morrison St, Portland, OR 97214",
            "https://acme.com/",
            "1200 SE Morrison St, Portland, OR 97214",
            "US",
        ),
    ],
)
def test_addresses_in_page_text(text, url, address, country):
    profile = profile_of(f"<html><body><footer><p>{text}</p></footer></body></html>", url)
    assert (profile.address, profile.country) == (address, country)


def test_a_us_area_code_gives_the_time_zone_and_an_address_alone_does_not_guess():
    """The US spans six zones: the site's phone (503, Oregon) decides; without one the zone stays
    empty (the sending window then holds in every US zone) rather than a wrong Eastern guess."""
    with_phone = profile_of(
        '<html><body><p>1200 SE Morrison St, Portland, OR 97214</p><a href="tel:+15035550143">Call</a></body></html>'
    )
    without = profile_of("<html><body><p>1200 SE Morrison St, Portland, OR 97214</p></body></html>")
    assert (with_phone.timezone, without.timezone) == ("America/Los_Angeles", "")


@pytest.mark.parametrize(
    ("country", "address", "zone"),
    [
        ("DE", "", "Europe/Berlin"),  # zone.tab: "most of Germany" (Büsingen is the other)
        ("ES", "", "Europe/Madrid"),  # "Spain (mainland)", not the Canaries
        ("FR", "", "Europe/Paris"),  # the only zone
        ("US", "233 S Wacker Dr, Chicago, IL 60606", "America/Chicago"),  # a zone city named
        ("US", "", ""),
        ("", "", ""),
    ],
)
def test_company_zone_comes_from_tzdata(country, address, zone):
    assert single_zone(country=country, address=address) == zone


@pytest.mark.parametrize(
    ("head", "name"),
    [
        ('<meta property="og:site_name" content="Acme Roasters">', "Acme Roasters"),
        ("<title>Home | Acme Roasters</title>", "Acme Roasters"),
        ("<title>Startseite – Kaffeehaus Müller</title>", "Kaffeehaus Müller"),
        ("<title>Acme Roasters</title>", "Acme Roasters"),
    ],
)
def test_name_from_open_graph_or_title(head, name):
    assert profile_of(f"<html><head>{head}</head><body></body></html>").name == name


def test_broken_html_still_yields_facts():
    html = (
        "<html><body><div><p>Call <b>+49 30 1234567<p>mail: info@acme.de <table><tr><td>Kastanienallee 12, 10435 Berlin"
    )
    profile = profile_of(html, "https://acme.de/")
    assert profile.phones == ["+49301234567"]
    assert profile.emails == ["info@acme.de"]
    assert profile.address == "Kastanienallee 12, 10435 Berlin"


def test_pages_in_german_french_and_spanish():
    de = profile_of(
        '<html lang="de"><body><h2>Kontakt</h2><p>E-Mail: vertrieb@muster.de, Tel.: +49 (0)89 123 456 78</p><form><input type="email" name="email"><textarea name="nachricht"></textarea></form></body></html>',
        "https://muster.de/kontakt",
    )
    assert (de.language, de.emails, de.phones, de.contact_form) == (
        "de",
        ["vertrieb@muster.de"],
        ["+498912345678"],
        True,
    )
    fr = profile_of(
        '<html lang="fr-FR"><body><p>Écrivez-nous : bonjour@atelier.fr — Tél. 04 72 00 00 00</p></body></html>',
        "https://atelier.fr/",
    )
    assert (fr.language, fr.emails, fr.phones) == ("fr", ["bonjour@atelier.fr"], ["+33472000000"])
    es = profile_of(
        '<html lang="es"><body><p>Escríbenos a hola [arroba] taller.es</p><p>Llámanos: 933 123 456</p></body></html>',
        "https://taller.es/",
    )
    assert (es.language, es.phones) == ("es", ["+34933123456"])


def test_the_pages_utf8_bytes_give_the_same_profile_as_its_text():
    html = (
        '<html lang="de"><head><title>Müller & Söhne GmbH – Kontakt</title></head><body><h2>Kontakt</h2>'
        "<address>Hauptstraße 5, 10115 Berlin</address><p>E-Mail: vertrieb@müller.de, büro@mueller.de, "
        "Tel.: +49 (0)30 123 456 78 — Öffnungszeiten Mo-Fr 9-17 Uhr</p>"
        '<a href="https://www.linkedin.com/company/müller-söhne">LinkedIn</a></body></html>'
    )
    url = "https://mueller.de/kontakt"
    from_text = extract_site([PageInput(url=url, html=html)])
    from_bytes = extract_site([PageInput(url=url, html=html, html_utf8=html.encode("utf-8"))])
    assert from_bytes == from_text
    assert from_text.phones == ["+493012345678"] and from_text.opening_hours


def test_nothing_is_invented_on_a_page_without_contacts():
    html = "<html><head><title>About</title></head><body><p>We roast coffee since 1998. Our team of 12 loves beans.</p></body></html>"
    profile = profile_of(html)
    assert (profile.emails, profile.phones, profile.socials, profile.address, profile.contact_form) == (
        [],
        [],
        {},
        "",
        False,
    )


# --- technologies and posts -----------------------------------------------------------------


def test_technologies_with_their_evidence():
    html = """<html><head><meta name="generator" content="WordPress 6.5">
    <script src="https://js.stripe.com/v3/"></script><script src="https://www.googletagmanager.com/gtm.js?id=GTM-K9X2"></script>
    <script src="//js.hs-scripts.com/123.js"></script><script src="https://widget.intercom.io/widget/abc"></script>
    <link rel="stylesheet" href="/wp-content/plugins/woocommerce/assets/css/woocommerce.css">
    <script src="https://assets.calendly.com/assets/external/widget.js"></script></head><body></body></html>"""
    profile = profile_of(html)
    # PHP and MySQL: WordPress implies them (the set's "implies"), with WordPress's evidence
    assert profile.tech == sorted(
        ["WordPress", "Stripe", "Google Tag Manager", "HubSpot", "Intercom", "WooCommerce", "Calendly", "PHP", "MySQL"]
    )
    evidence = {f.value: f.snippet for f in profile.evidence if f.field == "tech"}
    assert "js.stripe.com" in evidence["Stripe"] and "WordPress 6.5" in evidence["WordPress"]
    assert evidence["PHP"] == evidence["WordPress"]


def test_latest_posts_from_a_blog_listing_newest_first():
    html = """<html><body><article><h2><a href="/blog/old">Old news</a></h2><time datetime="2025-01-05">Jan</time></article>
    <article><h2><a href="/blog/new-roast">A new roast</a></h2><time datetime="2026-09-30">Sep</time></article>
    <article><h2><a href="/blog/mid">Summer menu</a></h2><time datetime="2026-06-01">Jun</time></article>
    <article><h2><a href="/blog/older">Older</a></h2><time datetime="2024-01-01">Jan</time></article></body></html>"""
    profile = profile_of(html, "https://acme.com/blog")
    assert [(p.title, p.published) for p in profile.posts] == [
        ("A new roast", "2026-09-30"),
        ("Summer menu", "2026-06-01"),
        ("Old news", "2025-01-05"),
    ]
    assert profile.posts[0].url == "https://acme.com/blog/new-roast"


def test_a_single_article_page_is_read_with_newspaper():
    html = (
        """<html><head><title>We opened a second roastery</title><meta property="og:type" content="article">
    <meta property="article:published_time" content="2026-10-14T09:00:00+00:00"></head>
    <body><article><h1>We opened a second roastery</h1><p>"""
        + "Our new roastery in Portland opens today. " * 20
        + "</p></article></body></html>"
    )
    profile = profile_of(html, "https://acme.com/blog/second-roastery")
    assert [(p.title, p.published) for p in profile.posts] == [("We opened a second roastery", "2026-10-14")]


# --- evidence -------------------------------------------------------------------------------

RICH_PAGE = """<html lang="en"><head><title>Home | Acme Roasters</title><meta name="description" content="Small-batch coffee from Portland.">
<meta name="generator" content="WordPress 6.5"><script type="application/ld+json">{"@type":"LocalBusiness","name":"Acme Roasters",
"telephone":"+1 503 555 0142","email":"hello@acme-roasters.com","address":{"streetAddress":"1200 SE Morrison St","addressLocality":"Portland","addressRegion":"OR","postalCode":"97214"}}</script></head>
<body><p>Wholesale: anna [at] acme-roasters [dot] com · <a href="tel:+15035550199">Call wholesale</a></p>
<a href="https://instagram.com/acmeroasters">Instagram</a><form><input type="email"><textarea></textarea></form></body></html>"""


def test_every_value_has_evidence_from_its_page():
    url = "https://acme-roasters.com/"
    profile = profile_of(RICH_PAGE, url)
    page = Page(url, RICH_PAGE)
    assert {f.field for f in profile.evidence} >= {
        "name",
        "description",
        "email",
        "phone",
        "social:instagram",
        "address",
        "tech",
        "contact_form",
    }
    for fact in profile.evidence:
        assert fact.url == url
        assert fact.snippet, fact
        assert fact.snippet in page.text or fact.snippet in RICH_PAGE, fact
    evidenced = {(f.field, f.value) for f in profile.evidence}
    for email in profile.emails:
        assert ("email", email) in evidenced
    for phone in profile.phones:
        assert ("phone", phone) in evidenced


def test_facts_point_at_the_page_they_came_from():
    pages = [
        PageInput(
            "https://acme.de/", "<html><head><title>Acme GmbH</title></head><body><p>Willkommen</p></body></html>"
        ),
        PageInput(
            "https://acme.de/impressum", "<html><body><p>E-Mail: info@acme.de</p><p>Tel. 030 1234567</p></body></html>"
        ),
    ]
    profile = extract_site(pages)
    by_field = {f.field: f.url for f in profile.evidence}
    assert by_field["email"] == by_field["phone"] == "https://acme.de/impressum"
    assert by_field["name"] == "https://acme.de/"
