"""What extraction produces: facts with their evidence, merged into one SiteProfile per site."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fact:
    """One extracted value and the proof: the page it came from and a snippet of that page."""

    field: str
    value: str
    url: str
    snippet: str


@dataclass(frozen=True)
class Post:
    """A recent blog or news post, used later as a personalisation hook."""

    title: str
    url: str
    published: str | None


@dataclass(frozen=True)
class PageInput:
    """A fetched page handed to extraction: where it came from, its HTML and response headers.

    ``html_utf8`` is the same HTML as UTF-8 bytes when the caller holds them (a body that arrived in UTF-8):
    the parser reads UTF-8, and encoding ``html`` again costs 0.1-0.2 ms on an average real page."""

    url: str
    html: str
    headers: tuple[tuple[str, str], ...] = ()
    kind: str = ""
    html_utf8: bytes | None = None


@dataclass
class SiteProfile:
    """Everything known about one company's website, every value backed by facts."""

    url: str
    name: str = ""
    description: str = ""
    language: str = ""
    emails: list[str] = field(default_factory=list)
    role_emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    socials: dict[str, str] = field(default_factory=dict)
    address: str = ""
    country: str = ""  # ISO 3166-1 alpha-2: the address's, else the site's country-code domain
    city: str = ""  # read from the address
    opening_hours: str = ""
    timezone: str = ""
    contact_form: bool = False
    contact_form_url: str = ""
    tech: list[str] = field(default_factory=list)
    technologies: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    evidence: list[Fact] = field(default_factory=list)

    def as_json(self, *, file: str | None = None) -> dict[str, Any]:
        """The profile as the JSON object the command line prints."""
        data: dict[str, Any] = {} if file is None else {"file": file}
        data.update(
            url=self.url,
            name=self.name,
            description=self.description,
            language=self.language,
            emails=self.emails,
            phones=self.phones,
            socials=self.socials,
            address=self.address,
            country=self.country,
            city=self.city,
            tech=self.tech,
            technologies=self.technologies,
            people=self.people,
            contact_form=self.contact_form,
            posts=[{"title": p.title, "url": p.url, "published": p.published} for p in self.posts],
            evidence=[{"field": f.field, "value": f.value, "url": f.url, "snippet": f.snippet} for f in self.evidence],
        )
        return data
