"""Technology detection on real-shaped snippets (issue 14): the fingerprint set, its corrections and signals."""

from __future__ import annotations

import json

import pytest

from core.extract.fingerprints import anchors_of, category_members, compile_set, load_raw, split_pattern, version_of
from core.extract.models import PageInput
from core.extract.page import Page
from core.extract.profile import extract_page
from core.extract.tech import detect
from core.scoring.rules import EvidenceFact, LeadFacts, factor_kind, score_rules
from core.strategy.models import ICP


def found(
    html: str, headers: tuple[tuple[str, str], ...] = (), url: str = "https://shop.example/"
) -> dict[str, object]:
    return {d.name: d for d in detect(Page(url, html, headers))}


GA4 = """<script async src="https://www.googletagmanager.com/gtag/js?id=G-7XK2PQ9ZL1"></script>
<script>window.dataLayer = window.dataLayer || [];function gtag(){dataLayer.push(arguments);}
gtag('js', new Date());gtag('config', 'G-7XK2PQ9ZL1');</script>"""
GTM = """<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});
var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;
j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-W8JKW6');</script>"""
CLASSIC_GAQ = """<script type="text/javascript">var _gaq = _gaq || [];_gaq.push(['_setAccount', 'UA-2191749-2']);
_gaq.push(['_trackPageview']);(function() {var ga = document.createElement('script');
ga.src = ('https:' == document.location.protocol ? 'https://ssl' : 'http://www') + '.google-analytics.com/ga.js';
})();</script>"""
ANALYTICS_JS = """<script>(function(i,s,o,g,r,a,m){i['GoogleAnalyticsObject']=r;i[r]=i[r]||function(){
(i[r].q=i[r].q||[]).push(arguments)},i[r].l=1*new Date();a=s.createElement(o),m=s.getElementsByTagName(o)[0];
a.async=1;a.src=g;m.parentNode.insertBefore(a,m)})(window,document,'script','//www.google-analytics.com/analytics.js','ga');
ga('create', 'UA-12345-1', 'auto');ga('send', 'pageview');</script>"""


def test_ga4_is_google_analytics_not_google_tag_manager():
    tech = found(GA4)
    assert "Google Analytics" in tech and "Google Tag Manager" not in tech
    assert tech["Google Analytics"].version == "GA4"
    assert "gtag/js?id=G-" in tech["Google Analytics"].evidence


def test_classic_and_ga4_are_told_apart_and_google_ads_is_not_analytics():
    assert found(CLASSIC_GAQ)["Google Analytics"].version == "UA"
    assert found(ANALYTICS_JS)["Google Analytics"].version == "UA"
    ads = found('<script async src="https://www.googletagmanager.com/gtag/js?id=AW-123456789"></script>')
    assert "Google Analytics" not in ads and "Google Tag Manager" not in ads


def test_gtm_container_snippet_is_tag_manager_only():
    tech = found(GTM)
    assert "Google Tag Manager" in tech and "Google Analytics" not in tech
    assert tech["Google Tag Manager"].category == "tag manager"


@pytest.mark.parametrize(
    "html",
    [
        CLASSIC_GAQ,
        ANALYTICS_JS,
        '<script src="http://www.google-analytics.com/urchin.js"></script><script>_uacct="UA-1";urchinTracker();</script>',
        '<script src="https://ssl.google-analytics.com/ga.js"></script>',
    ],
    ids=["_gaq.push", "analytics.js loader", "urchin.js", "ga.js"],
)
def test_classic_google_analytics_snippets(html):
    tech = found(html)
    assert "Google Analytics" in tech and tech["Google Analytics"].category == "analytics"


def test_gtm_noscript_iframe_counts_but_not_when_commented_out():
    iframe = '<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-TV6TG9P" height="0"></iframe></noscript>'
    assert "Google Tag Manager" in found(f"<html><body>{iframe}</body></html>")
    assert "Google Tag Manager" not in found(f"<html><body><!-- {iframe} --></body></html>")


def test_magento_1_and_2_with_their_version():
    m1 = found('<script src="https://shop.example/skin/frontend/default/theme/js/app.js"></script>')
    m2 = found(
        '<script type="text/x-magento-init">{"*": {"Magento_Ui/js/core/app": {"components": {}}}}</script>'
        '<script src="https://shop.example/static/version1700000000/frontend/Vendor/theme/en_US/requirejs/require.js"></script>'
    )
    assert m1["Magento"].version.startswith("1") and m2["Magento"].version == "2"
    assert m1["Magento"].category == "e-commerce"


def test_wordpress_drupal_from_generator_value_and_paths():
    assert found('<meta name="generator" content="WordPress 6.4.2">')["WordPress"].version == "6.4.2"
    assert "Drupal" in found('<meta name="generator" value="Drupal 7 (http://drupal.org)">')
    assert "Drupal" in found('<script>jQuery.extend(Drupal.settings, {"basePath": "/"});</script>')
    # an og:image on a shared CDN path is not the site's CMS
    assert "WordPress" not in found('<meta property="og:image" content="https://cdn.example/wp-content/uploads/a.png">')


def test_preconnect_is_not_use_but_a_stylesheet_is():
    assert found('<link rel="preconnect" href="https://js.stripe.com">') == {}
    assert "Bootstrap" in found('<link rel="stylesheet" href="/css/bootstrap.min.css?ver=5">')
    assert "Bootstrap" not in found('<script src="//agility.cnn.com/turner/Bootstrap.js"></script>')  # a loader
    assert "jQuery" not in found('<script src="/js/jquery.marquee.min.js"></script>')  # a plugin
    assert found('<script src="/js/jquery-1.12.4.min.js"></script>')["jQuery"].version == "1.12.4"


def test_consent_gated_and_json_config_scripts_are_read():
    pixel = """<script type="text/plain" data-cookieconsent="marketing">!function(f,b,e,v){}(window,document,'script',
    'https://connect.facebook.net/en_US/fbevents.js');fbq('init', '1397247997268188');</script>"""
    assert "Facebook Pixel" in found(pixel)


def test_booking_chat_and_payment_widgets_are_categorised():
    html = """<script src="https://assets.calendly.com/assets/external/widget.js"></script>
    <script src="https://widget.intercom.io/widget/abc123"></script><script src="https://js.stripe.com/v3/"></script>"""
    tech = found(html)
    assert (tech["Calendly"].category, tech["Intercom"].category, tech["Stripe"].category) == (
        "booking",
        "live chat",
        "payments",
    )


def test_headers_and_cookies_are_signals():
    tech = found("<html></html>", headers=(("Server", "cloudflare"), ("cf-ray", "8a1b2c3d4e5f-FRA")))
    assert tech["Cloudflare"].category == "hosting/CDN" and tech["Cloudflare"].signal.startswith("headers")
    shop = found("<html></html>", headers=(("Set-Cookie", "_shopify_y=abc; Path=/"),))
    assert "Shopify" in shop and shop["Shopify"].evidence.startswith("Set-Cookie: _shopify_y")


def test_anchors_and_version_templates():
    # an alternation of a few words is spelled out with what stands around it
    assert anchors_of(r"google-analytics\.com/(?:ga|urchin|analytics)\.js") == [
        "google-analytics.com/analytics.js",
        "google-analytics.com/ga.js",
        "google-analytics.com/urchin.js",
    ]
    assert anchors_of(r"\.(?:linksmart|lijit)\.com/") == [".lijit.com/", ".linksmart.com/"]
    assert anchors_of(r"<div class=(?:\"|')[^>]*gform_body") == ["gform_body"]  # markup makes a poor anchor
    # no one literal in every match, but one of each branch of an alternation every match passes through
    assert anchors_of(r"(?:app|cdn)\.(?:formli|humanagency)\.(?:com|org|net|io|de)") == [
        "app.formli.",
        "app.humanagency.",
        "cdn.formli.",
        "cdn.humanagency.",
    ]  # at most 16 spellings
    assert anchors_of(r"\.(?:vigbo|gophotoweb)\.com/") == [".gophotoweb.com/", ".vigbo.com/"]  # not ".com/"
    assert anchors_of(r'"(?:vendor|title)?"\:"Recurate"') == ["Recurate"]  # a run's piece without quotes
    assert anchors_of(r"\.(?:liveperson|contactatonce)?\.(?:com|net)/") == [".com/", ".net/"]  # not the optional group
    regex, version = split_pattern(r".+jquery-([\d.]+)\.js\;version:\1\;confidence:50")
    assert regex == r"jquery-([\d.]+)\.js" and version == r"\1"
    import re

    match = re.search(r"(G-|UA-)", "id=UA-1")
    assert match is not None and version_of(r"\1?GA:none", match) == "GA"


def test_a_fingerprint_folder_replaces_the_shipped_set(tmp_path):
    technologies = {"Acme Booking": {"cats": [72], "scriptSrc": r"widget\.acmebook\.example/"}}
    (tmp_path / "technologies.json").write_text(json.dumps(technologies))
    (tmp_path / "categories.json").write_text(json.dumps({"72": {"name": "Appointment scheduling"}}))
    compiled = compile_set(*load_raw(tmp_path))
    page = Page("https://x.example/", '<script src="https://widget.acmebook.example/w.js"></script>')
    assert [(d.name, d.category) for d in detect(page, compiled)] == [("Acme Booking", "booking")]


def test_bad_input_is_bounded_and_does_not_crash():
    huge_script = "<script>var x = '" + "a" * 1_100_000 + "'; _gaq.push(['_trackPageview']);</script>"
    links = "".join(f'<a href="/p/{i}">p{i}</a>' for i in range(10_000))
    broken = "<html><head><script src='https://cdn.shopify.com/s/x.js'><body><div><p>unclosed <b>tags" * 50
    for html in (huge_script, links, broken, "<" * 2_000_000, "\x00\ufffd" * 1000):
        profile = extract_page(PageInput(url="https://bad.example/", html=html))
        assert isinstance(profile.tech, list)
    assert "Shopify" in extract_page(PageInput(url="https://bad.example/", html=broken)).tech


def test_manifest_json_keeps_tech_names_and_adds_technologies():
    profile = extract_page(PageInput(url="https://shop.example/", html=GA4 + GTM))
    data = profile.as_json()
    assert data["tech"] == ["Google Analytics", "Google Tag Manager"]
    first = data["technologies"][0]
    assert first["category"] == "analytics" and first["evidence"]["url"] == "https://shop.example/"
    assert first["evidence"]["snippet"]


def test_technologies_are_read_before_text_extraction_removes_scripts():
    """Page.text decomposes <script>: a body script must still be seen (it was lost when tech ran last)."""
    html = "<html><body><p>Hi</p>" + CLASSIC_GAQ + "</body></html>"
    assert "Google Analytics" in extract_page(PageInput(url="https://a.example/", html=html)).tech


def test_rubric_factor_reads_absence_of_a_category_as_fit():
    assert factor_kind("No online booking found") == "technology"
    without = LeadFacts(lead_id=1, tech=("WordPress",))
    with_booking = LeadFacts(
        lead_id=2, tech=("Calendly",), evidence=(EvidenceFact(7, "tech", "Calendly", "assets.calendly.com"),)
    )
    rubric = [("No online booking found", 100)]
    (factor,) = score_rules(rubric, ICP(), without)
    assert factor.fraction == 1.0 and "no booking technology found" in factor.detail
    (factor,) = score_rules(rubric, ICP(), with_booking)
    assert factor.fraction == 0.0 and factor.evidence_ids == (7,) and "Calendly" in factor.detail
    (factor,) = score_rules([("Uses a live chat", 100)], ICP(), without)
    assert factor.fraction == 0.0


def test_every_filter_category_has_members():
    from core.extract.fingerprints import FILTER_CATEGORIES

    assert all(category_members(c) for c in FILTER_CATEGORIES)
    assert "Calendly" in category_members("booking") and "Magento" in category_members("e-commerce")


# values of meta names and headers as sites send them (one with a character outside ASCII, one in capitals)
KEYED_VALUES = [
    ("meta", "generator", "WordPress 6.4.2"),
    ("meta", "generator", "Drupal 10 (https://www.drupal.org)"),
    ("meta", "generator", "Joomla! - Open Source Content Management"),
    ("meta", "generator", "Wix.com Website Builder"),
    ("meta", "generator", "Hugo 0.111.3"),
    ("meta", "generator", "TYPO3 CMS"),
    ("meta", "generator", "SHOPWARE 6"),
    ("meta", "generator", "Powered by Webflow"),
    ("meta", "generator", "Gatsby 5.12.4"),
    ("meta", "generator", "Site Kit by Google 1.116.0"),
    ("meta", "generator", "Elementor 3.18.3; features: e_dom_optimization"),
    ("meta", "generator", "Générateur: Contao Open Source CMS"),
    ("meta", "author", "Yoast SEO"),
    ("meta", "application-name", "Discourse"),
    ("headers", "server", "nginx/1.25.3"),
    ("headers", "x-powered-by", "PHP/8.2.12"),
    ("headers", "server", "Apache/2.4.57 (Debian) OpenSSL/3.0.11"),
]


def test_a_meta_value_is_tested_on_the_patterns_its_anchors_name_and_every_match_is_kept():
    """The anchor index of a meta name or header picks the patterns to test; every pattern that matches the
    value is among them, in the set's order (so the first match, and its version, stay the same)."""
    from core.extract.fingerprints import fingerprints

    compiled = fingerprints()
    assert len(compiled.keyed_index["meta"]["generator"].patterns) > 100
    fewer = 0
    for signal, key, value in KEYED_VALUES:
        every = compiled.keyed[signal].get(key, [])
        index = compiled.keyed_index.get(signal, {}).get(key)
        if index is None:
            continue
        picked = index.candidates(value)
        matching = [p for p in every if p.regex.search(value)]
        assert [p for p in picked if p.regex.search(value)] == matching, (key, value)
        assert picked == [p for p in every if p in picked]  # the set's order
        fewer += len(picked) < len(every)
    assert fewer >= 10  # the index does leave most patterns untested
    wordpress = found('<meta name="generator" content="WordPress 6.4.2">')["WordPress"]
    assert wordpress.version == "6.4.2"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("script", "analytics"),
    [
        ("ga('create', 'UA-1-1', 'auto');", True),
        ("x();ga( 'create','UA-1-1')", True),
        ("saga('create', 'UA-1-1')", False),
    ],
)
def test_the_ga_create_call_is_read_at_a_word_boundary_only(script, analytics):
    assert ("Google Analytics" in found(f"<script>{script}</script>")) is analytics


def test_an_address_in_a_link_href_is_evidence_of_kind_link_href_and_a_script_src_of_kind_script_src():
    linked = found('<link rel="stylesheet" href="https://shop.example/wp-content/themes/roast/style.css">')
    scripted = found('<script src="https://shop.example/wp-includes/js/wp-embed.min.js"></script>')
    assert linked["WordPress"].signal == "linkHref"  # type: ignore[attr-defined]
    assert scripted["WordPress"].signal == "scriptSrc"  # type: ignore[attr-defined]
    assert "style.css" in linked["WordPress"].evidence  # type: ignore[attr-defined]
