"""Technology fingerprints: generator tags, script and stylesheet hosts, markup, cookies, headers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.extract.models import Fact
from core.extract.page import Page


@dataclass(frozen=True)
class Fingerprint:
    """How to recognise one technology; any matching signal is enough."""

    name: str
    category: str
    generator: str = ""  # regex on <meta name=generator>
    src: str = ""  # regex on script src / link href / iframe src
    markup: str = ""  # regex on the raw HTML
    cookie: str = ""  # regex on Set-Cookie names
    header: str = ""  # regex on "name: value" response header lines


FINGERPRINTS: tuple[Fingerprint, ...] = (
    # CMS and site builders
    Fingerprint("WordPress", "cms", generator=r"wordpress", src=r"/wp-(content|includes)/", markup=r"/wp-json/"),
    Fingerprint("Drupal", "cms", generator=r"drupal", src=r"/sites/(default|all)/", header=r"x-drupal-"),
    Fingerprint("Joomla", "cms", generator=r"joomla", src=r"/media/jui/|/components/com_"),
    Fingerprint("TYPO3", "cms", generator=r"typo3", src=r"/typo3(conf|temp)/"),
    Fingerprint("Wix", "site builder", generator=r"wix\.com", src=r"static\.(wixstatic|parastorage)\.com"),
    Fingerprint("Squarespace", "site builder", generator=r"squarespace", src=r"static1?\.squarespace\.com"),
    Fingerprint(
        "Webflow",
        "site builder",
        generator=r"webflow",
        src=r"assets(-global)?\.website-files\.com|webflow\.js",
        markup=r"data-wf-(page|site)=",
    ),
    Fingerprint("Ghost", "cms", generator=r"ghost", src=r"/ghost/|ghost\.io"),
    Fingerprint("HubSpot CMS", "cms", generator=r"hubspot", src=r"\.hubspotusercontent|hs-sites\.com"),
    Fingerprint("Jimdo", "site builder", generator=r"jimdo", src=r"jimdo(static|cdn)\.com"),
    Fingerprint("Framer", "site builder", generator=r"framer", src=r"framerusercontent\.com"),
    # Shop systems
    Fingerprint(
        "Shopify",
        "shop",
        generator=r"shopify",
        src=r"cdn\.shopify\.com|shopifycdn",
        markup=r"Shopify\.theme",
        cookie=r"^_shopify_",
    ),
    Fingerprint("WooCommerce", "shop", src=r"/plugins/woocommerce/", markup=r"woocommerce", cookie=r"^woocommerce_"),
    Fingerprint(
        "Magento", "shop", generator=r"magento", src=r"/static/version\d+/|mage/", markup=r"Magento_", cookie=r"^mage-"
    ),
    Fingerprint("Shopware", "shop", generator=r"shopware", src=r"/themes/Frontend/|shopware", cookie=r"^sw-"),
    Fingerprint("PrestaShop", "shop", generator=r"prestashop", markup=r"prestashop", cookie=r"^PrestaShop-"),
    Fingerprint("BigCommerce", "shop", src=r"bigcommerce\.com|cdn\d*\.bigcommerce"),
    Fingerprint("Square Online", "shop", src=r"square(up)?\.com/(online|static)|editmysite\.com"),
    Fingerprint("Etsy", "shop", markup=r"etsy\.com/shop/"),
    # Analytics and tag managers
    Fingerprint(
        "Google Analytics",
        "analytics",
        src=r"google-analytics\.com/(analytics|ga)\.js|googletagmanager\.com/gtag/js",
        markup=r"gtag\(\s*['\"]config['\"]\s*,\s*['\"](G|UA)-",
        cookie=r"^_ga",
    ),
    Fingerprint("Google Tag Manager", "tag manager", src=r"googletagmanager\.com/gtm\.js", markup=r"GTM-[A-Z0-9]{4,}"),
    Fingerprint("Matomo", "analytics", src=r"matomo\.(js|php)|piwik\.(js|php)", markup=r"_paq\.push"),
    Fingerprint("Plausible", "analytics", src=r"plausible\.io/js/"),
    Fingerprint("Hotjar", "analytics", src=r"static\.hotjar\.com", markup=r"hjid\s*:"),
    Fingerprint("Microsoft Clarity", "analytics", src=r"clarity\.ms/tag"),
    Fingerprint(
        "Meta Pixel", "advertising", src=r"connect\.facebook\.net/[^\"']*/fbevents\.js", markup=r"fbq\(\s*['\"]init"
    ),
    Fingerprint(
        "LinkedIn Insight", "advertising", src=r"snap\.licdn\.com/li\.lms-analytics", markup=r"_linkedin_partner_id"
    ),
    Fingerprint("Segment", "analytics", src=r"cdn\.segment\.com/analytics\.js"),
    # Marketing automation and CRM
    Fingerprint(
        "HubSpot",
        "marketing automation",
        src=r"js(-eu1)?\.hs-scripts\.com|js\.hsforms\.net|js\.hs-analytics\.net",
        cookie=r"^hubspotutk$",
    ),
    Fingerprint(
        "Mailchimp", "email marketing", src=r"chimpstatic\.com|list-manage\.com", markup=r"mc-embedded-subscribe"
    ),
    Fingerprint("Klaviyo", "email marketing", src=r"static\.klaviyo\.com|klaviyo\.com/onsite"),
    Fingerprint("Marketo", "marketing automation", src=r"munchkin\.marketo\.net|mktoForms"),
    Fingerprint("Pardot", "marketing automation", src=r"pi\.pardot\.com|pardot\.com/pd\.js"),
    Fingerprint("ActiveCampaign", "marketing automation", src=r"trackcmp\.net|activehosted\.com"),
    Fingerprint("Brevo", "email marketing", src=r"sibautomation\.com|sendinblue\.com|brevo\.com/js"),
    Fingerprint("Salesforce", "crm", src=r"force\.com|salesforce\.com/embeddedservice"),
    # Chat widgets
    Fingerprint("Intercom", "chat", src=r"widget\.intercom\.io|js\.intercomcdn\.com", markup=r"intercomSettings"),
    Fingerprint("Drift", "chat", src=r"js\.driftt\.com"),
    Fingerprint("Zendesk", "chat", src=r"static\.zdassets\.com|zopim"),
    Fingerprint("Tawk.to", "chat", src=r"embed\.tawk\.to"),
    Fingerprint("Crisp", "chat", src=r"client\.crisp\.chat", markup=r"CRISP_WEBSITE_ID"),
    Fingerprint("LiveChat", "chat", src=r"cdn\.livechatinc\.com"),
    Fingerprint("Tidio", "chat", src=r"code\.tidio\.co"),
    Fingerprint("Freshchat", "chat", src=r"wchat\.freshchat\.com|fw-cdn\.com"),
    # Payments
    Fingerprint("Stripe", "payments", src=r"js\.stripe\.com"),
    Fingerprint("PayPal", "payments", src=r"paypal\.com/sdk/js|paypalobjects\.com"),
    Fingerprint("Klarna", "payments", src=r"klarna(cdn|services)?\.(com|net)", markup=r"klarna-placement"),
    Fingerprint("Adyen", "payments", src=r"adyen\.com/checkoutshopper"),
    Fingerprint("Mollie", "payments", src=r"js\.mollie\.com"),
    Fingerprint("Square Payments", "payments", src=r"web\.squarecdn\.com|js\.squareup\.com"),
    # Booking and scheduling
    Fingerprint("Calendly", "booking", src=r"assets\.calendly\.com", markup=r"calendly\.com/[A-Za-z0-9_-]+"),
    Fingerprint("OpenTable", "booking", src=r"opentable\.com/widget", markup=r"opentable\.com/r/"),
    Fingerprint("Resy", "booking", src=r"widgets\.resy\.com"),
    Fingerprint("Booksy", "booking", src=r"booksy\.com/widget"),
    Fingerprint("SimplyBook.me", "booking", src=r"simplybook\.(me|it)"),
    Fingerprint("Acuity Scheduling", "booking", src=r"embed\.acuityscheduling\.com"),
    Fingerprint("Treatwell", "booking", src=r"treatwell\.(co\.uk|de|fr|es|com)/widget"),
    # Infrastructure and frameworks
    Fingerprint("Cloudflare", "cdn", header=r"^server: cloudflare|^cf-ray:", markup=r"/cdn-cgi/"),
    Fingerprint("jQuery", "javascript library", src=r"jquery[.-]?(\d[\d.]*)?(\.min)?\.js"),
    Fingerprint("React", "javascript framework", markup=r"data-reactroot|__NEXT_DATA__|react-dom"),
    Fingerprint(
        "Next.js", "javascript framework", markup=r"__NEXT_DATA__|/_next/static/", header=r"^x-powered-by: next\.js"
    ),
    Fingerprint("Vue.js", "javascript framework", markup=r"data-v-[0-9a-f]{8}|vue(\.min)?\.js"),
    Fingerprint("Bootstrap", "ui framework", src=r"bootstrap(\.min)?\.(css|js)"),
    Fingerprint("Google reCAPTCHA", "security", src=r"google\.com/recaptcha|recaptcha/api\.js"),
    Fingerprint("Cookiebot", "consent", src=r"consent\.cookiebot\.com"),
    Fingerprint("OneTrust", "consent", src=r"cdn\.cookielaw\.org|optanon"),
)


def _compile(pattern: str) -> re.Pattern[str] | None:
    return re.compile(pattern, re.I) if pattern else None


_COMPILED = [
    (fp, _compile(fp.generator), _compile(fp.src), _compile(fp.markup), _compile(fp.cookie), _compile(fp.header))
    for fp in FINGERPRINTS
]


def _sources(page: Page) -> list[str]:
    found = []
    for selector, attribute in (("script[src]", "src"), ("link[href]", "href"), ("iframe[src]", "src")):
        for node in page.nodes(selector):
            value = node.attributes.get(attribute)
            if value:
                found.append(value)
    return found


def extract_tech(page: Page) -> list[Fact]:
    """Technologies detected on the page, each with the signal that matched as evidence."""
    generators = [node.attributes.get("content") or "" for node in page.nodes('meta[name="generator"]')]
    sources = _sources(page)
    cookies = [c.split("=", 1)[0].strip() for k, v in page.headers.items() if k == "set-cookie" for c in v.split(",")]
    header_lines = [f"{k}: {v}".lower() for k, v in page.headers.items()]
    facts = []
    for fp, gen_re, src_re, markup_re, cookie_re, header_re in _COMPILED:
        evidence = ""
        generator = next((g for g in generators if gen_re and gen_re.search(g)), "")
        if generator:
            evidence = page.source_snippet(generator, 30)
        if not evidence and src_re:
            evidence = next((s for s in sources if src_re.search(s)), "")
        if not evidence and markup_re:
            match = markup_re.search(page.markup)
            evidence = page.markup[max(0, match.start() - 30) : match.end() + 30] if match else ""
        if not evidence and cookie_re:
            evidence = next((f"Set-Cookie: {c}" for c in cookies if cookie_re.search(c)), "")
        if not evidence and header_re:
            evidence = next((line for line in header_lines if header_re.search(line)), "")
        if evidence:
            if src_re and evidence in sources:
                evidence = page.source_snippet(evidence, 10) or evidence
            facts.append(Fact("tech", fp.name, page.url, evidence[:240]))
    return facts
