"""Wappalyzer's js, dom and implies rules on real-looking snippets (issue 14 §2): what a crawl without a
JavaScript engine or a live DOM can read of them."""

from __future__ import annotations

from core.extract.models import PageInput
from core.extract.page import Page
from core.extract.profile import extract_site
from core.extract.tech import detect


def found(html: str, headers: tuple[tuple[str, str], ...] = (), url: str = "https://shop.example/") -> dict:
    return {d.name: d for d in detect(Page(url, html, headers))}


WOO_CART = """<html><head><title>Cart</title></head><body><div class="cart">…</div>
<script type="text/javascript">
/* <![CDATA[ */
var wc_add_to_cart_params = {"ajax_url":"\\/wp-admin\\/admin-ajax.php","wc_ajax_url":"\\/?wc-ajax=%%endpoint%%",
"i18n_view_cart":"View cart","cart_url":"https:\\/\\/shop.example\\/cart\\/","is_cart":"","cart_redirect_after_add":"no"};
/* ]]> */
</script></body></html>"""


def test_a_global_defined_by_an_inline_script_is_a_js_rule_match():
    tech = found(WOO_CART + '<link rel="stylesheet" href="/wp-includes/css/dist/block-library/style.min.css">')
    assert tech["WooCommerce"].signal == "js wc_add_to_cart_params"
    assert "var wc_add_to_cart_params = {" in tech["WooCommerce"].evidence
    assert tech["WooCommerce"].category == "e-commerce"


def test_reading_a_global_or_preparing_a_queue_for_it_is_not_defining_it():
    page = """<script>if (typeof wc_add_to_cart_params === 'undefined') { return false; }
    var googletag = googletag || {}; googletag.cmd = googletag.cmd || [];
    window._hsq = window._hsq || []; console.log(window.wc_add_to_cart_params);</script>"""
    tech = found(page)
    assert "WooCommerce" not in tech  # a read, a comparison
    assert "Google Tag Manager" not in tech  # Google Publisher Tag's stub, not GTM
    assert "HubSpot" not in tech


def test_woocommerce_still_requires_wordpress():
    # the set says WooCommerce *requires* WordPress: a js match alone, with no WordPress signal, is dropped
    assert "WooCommerce" not in found(WOO_CART)


def test_dom_rules_that_name_an_address_match_img_and_a():
    page = """<html><body><p>Donate today</p>
    <a class="btn" href="https://secure.actblue.com/donate/friends-of-jane?refcode=site">Donate</a>
    <img height="1" width="1" style="display:none" alt=""
         src="https://www.facebook.com/tr?id=1575186632756631&amp;ev=PageView&amp;noscript=1"/></body></html>"""
    tech = found(page)
    assert tech["Facebook Pixel"].signal == "dom img[src*='facebook.com/tr']"
    assert "facebook.com/tr?id=1575186632756631" in tech["Facebook Pixel"].evidence
    assert tech["ActBlue"].signal == "dom a[href*='//secure.actblue.com/donate/']"
    # a bare path word in a link is no dom match: a[href*='/basket'] (Cart Functionality) in "/basketball"
    assert "Cart Functionality" not in found('<a href="https://news.example/sports/basketball/">Basketball</a>')
    # a share button is no chat: a[href*='web.whatsapp.com/send'] (WhatsApp Business Chat, live chat)
    share = '<a href="https://web.whatsapp.com/send?text=Impeachment%20sham%20https://news.example/a">Share</a>'
    assert "WhatsApp Business Chat" not in found(share)
    assert "WhatsApp Business Chat" in found('<a href="https://api.whatsapp.com/send?phone=4915112345678">Chat</a>')
    # the same addresses as plain text are no dom match
    assert not {"Facebook Pixel", "ActBlue"} & set(found(f"<p>{page.replace('<', '&lt;')}</p>"))


def test_implies_chain_with_its_evidence():
    tech = found("<html><body><p>Hi</p></body></html>", headers=(("X-Powered-By", "WP Engine"),))
    assert tech["WP Engine"].signal == "headers x-powered-by"
    header = "x-powered-by: WP Engine"
    assert (tech["WordPress"].signal, tech["WordPress"].evidence) == ("implied by WP Engine", header)
    assert (tech["PHP"].signal, tech["PHP"].evidence) == ("implied by WordPress", header)  # two steps on
    assert tech["WordPress"].category == "CMS"


def test_a_pages_own_evidence_wins_over_an_implication_across_a_site():
    implied = PageInput(url="https://blog.example/", html="<p>Hi</p>", headers=(("X-Powered-By", "WP Engine"),))
    direct = PageInput(
        url="https://blog.example/about/",
        html='<script src="https://blog.example/wp-includes/js/wp-embed.min.js?ver=5.3"></script>',
    )
    wordpress = next(t for t in extract_site([implied, direct]).technologies if t["name"] == "WordPress")
    assert wordpress["evidence"]["signal"] == "scriptSrc"
    assert wordpress["evidence"]["url"] == "https://blog.example/about/"
