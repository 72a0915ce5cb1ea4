"""Extraction of one site: run every extractor on every page and merge into a SiteProfile."""

from __future__ import annotations

from collections.abc import Iterable

from core.extract.company import (
    extract_address,
    extract_contact_form,
    extract_description,
    extract_name,
    extract_opening_hours,
)
from core.extract.emails import extract_emails, is_role_address
from core.extract.fingerprints import fingerprints
from core.extract.location import load_tables, split_location
from core.extract.models import Fact, PageInput, SiteProfile
from core.extract.page import Page
from core.extract.people import Person, extract_people
from core.extract.phones import extract_phones, region_for_host
from core.extract.posts import extract_posts
from core.extract.socials import extract_socials
from core.extract.tech import Detection, detect
from core.zones import single_zone

SOCIAL_ORDER = ("linkedin", "facebook", "instagram", "x", "youtube", "tiktok")


def load_process_tables() -> None:
    """Load what extraction keeps for the life of the process, so that no page pays for it: the country names
    and states, newspaper4k's date extractor, and the fingerprints last (compiling them freezes what is alive
    then, where the process allows it). For processes that do nothing but extraction (the CLI, the bench)."""
    load_tables()
    # imported here: 0.6 s to load, kept out of the UI's import
    import newspaper.extractors.pubdate_extractor  # noqa: F401, PLC0415

    fingerprints()


def extract_page(page_input: PageInput, *, region: str = "") -> SiteProfile:
    """Extraction on a single page (what ``python -m core extract`` prints per file)."""
    return extract_site([page_input], region=region)


def extract_site(pages: Iterable[PageInput], *, region: str = "") -> SiteProfile:
    """Merge the facts of all pages of one site; the home page (first) wins for name and description.

    ``region`` is the country the lead is known to be in (its stored country, or ``--region``): it reads phone
    numbers written without a country code, ahead of the address's country and the site's domain."""
    parsed = [Page(p.url, p.html, p.headers, utf8=p.html_utf8) for p in pages]
    if not parsed:
        raise ValueError("extract_site needs at least one page")
    home = parsed[0]
    profile = SiteProfile(url=home.url)
    # Technologies first: reading Page.text removes the scripts from the tree.
    tech: dict[str, Detection] = {}
    for page in parsed:
        for detection in detect(page):
            known = tech.get(detection.name)
            # a version beats none; a page's own evidence beats an implication
            if (
                known is None
                or (detection.version and not known.version)
                or (known.signal.startswith("implied by") and not detection.signal.startswith("implied by"))
            ):
                tech[detection.name] = detection
    facts: list[Fact] = []

    def keep(fact: Fact | None) -> Fact | None:
        if fact is not None:
            facts.append(fact)
        return fact

    for page in parsed:
        if not profile.name and (fact := keep(extract_name(page))):
            profile.name = fact.value
        if not profile.description and (fact := keep(extract_description(page))):
            profile.description = fact.value
        if not profile.address and (found := extract_address(page)):
            profile.address = keep(found[0]).value  # type: ignore[union-attr]
            profile.country = profile.country or found[1]
        if not profile.opening_hours and (fact := keep(extract_opening_hours(page))):
            profile.opening_hours = fact.value
        if not profile.contact_form and (fact := keep(extract_contact_form(page))):
            profile.contact_form, profile.contact_form_url = True, fact.value
    profile.language = next((p.lang for p in parsed if p.lang), "")
    if profile.address:
        address_country, profile.city = split_location(profile.address, profile.country)
        profile.country = profile.country or address_country
    host_region = region_for_host(home.host)
    # the lead's country: its address's, else the one it is known to be in, else a country-code domain's (.de, .co.uk);
    # a .com says nothing about the country (its "US" below only reads phone numbers, as before)
    domain_country = host_region if len(home.host.rsplit(".", 1)[-1]) == 2 else ""
    profile.country = profile.country or region.upper()[:2] or domain_country
    region = region or profile.country or host_region

    emails: dict[str, Fact] = {}
    phones: dict[str, Fact] = {}
    socials: dict[str, Fact] = {}
    people: dict[str, Person] = {}
    for page in parsed:
        for fact in extract_emails(page):
            emails.setdefault(fact.value, fact)
        for fact in extract_phones(page, region=region):
            phones.setdefault(fact.value, fact)
        for fact in extract_socials(page):
            socials.setdefault(fact.field.split(":", 1)[1], fact)
        page_emails = [f.value for f in emails.values() if f.url == page.url]
        for person in extract_people(page, page_emails):
            people.setdefault(person.name.lower(), person)
        if len(profile.posts) < 3:
            posts, post_facts = extract_posts(page, limit=3 - len(profile.posts))
            profile.posts.extend(posts)
            facts.extend(post_facts)

    # A site's own addresses first, then person addresses before role addresses.
    site_host = home.host
    profile.emails = sorted(emails, key=lambda e: (not e.endswith(site_host), is_role_address(e), e))
    profile.role_emails = [e for e in profile.emails if is_role_address(e)]
    profile.phones = list(phones)
    profile.socials = {n: socials[n].value for n in SOCIAL_ORDER if n in socials}
    profile.tech = sorted(tech)
    profile.technologies = [tech[name].as_json() for name in profile.tech]
    profile.people = [p.as_json() for p in people.values()]
    profile.timezone = single_zone(country=profile.country, phones=profile.phones, address=profile.address)
    facts.extend(emails.values())
    facts.extend(phones.values())
    facts.extend(socials[n] for n in SOCIAL_ORDER if n in socials)
    facts.extend(Fact("person", f"{p.name} ({p.role})", p.url, p.snippet) for p in people.values())
    facts.extend(Fact("tech", name, tech[name].url, tech[name].evidence[:240]) for name in profile.tech)
    profile.evidence = facts
    return profile
