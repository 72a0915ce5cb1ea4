"""The lead table as SQL: filters, sorting and paging, so the page stays quick at 100k leads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.sql.elements import ColumnElement

from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import Campaign, Contact, Lead, Membership, SearchHit, User
from core.errors import InvalidInput
from core.extract.location import country_code

SORTABLE = {
    "score": Lead.score,
    "name": Lead.name,
    "domain": Lead.domain,
    "status": Lead.status,
    "industry": Lead.industry,
    "location": Lead.location,
    "country": Lead.country,
    "city": Lead.city,
    "created_at": Lead.created_at,
    "updated_at": Lead.updated_at,
}
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class LeadFilter:
    """What the user narrowed the table to; empty values mean "any"."""

    statuses: tuple[str, ...] = ()
    score_min: float | None = None
    score_max: float | None = None
    industry: str = ""
    # free text for a place: a country in any common form ("UK", "GB", "United Kingdom", "Deutschland") matches
    # the lead's country code exactly; anything else is looked for in the city and the address
    location: str = ""
    country: str = ""  # a country (code, name or alias): the lead's country exactly
    city: str = ""  # the lead's city exactly (case-insensitive)
    has_email: bool | None = None
    # leads with an email contact whose address check (core/outreach/verify.py) is in this state
    email_check: str = ""
    has_phone: bool | None = None
    technology: str = ""
    # a technology category (``booking``, ``analytics``, ... see core.extract.fingerprints.FILTER_CATEGORIES):
    # leads with one of its technologies, or with tech_category_absent the leads with none of them
    tech_category: str = ""
    tech_category_absent: bool = False
    tags: tuple[str, ...] = ()
    owner_id: int | None = None
    campaign_id: int | None = None
    search_query: str = ""
    text: str = ""
    lead_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class LeadRow:
    """One row of the lead table."""

    id: int
    name: str
    domain: str
    website: str
    industry: str
    location: str
    country: str
    city: str
    score: float | None
    status: str
    owner: str
    tags: tuple[str, ...]
    tech: tuple[str, ...]
    source: str
    email: str
    phone: str
    created_at: datetime


@dataclass(frozen=True)
class LeadPage:
    """One page of the table and how many leads match the filter in total."""

    total: int
    rows: tuple[LeadRow, ...] = field(default_factory=tuple)


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, text: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite":  # SQLite's LIKE already folds case exactly as its lower() does (ASCII letters only),
        return column.like(_like(text), escape="\\")  # and without lower() per row a text search scans ~40 % quicker
    return func.lower(column).like(_like(text), escape="\\")


def _json_has(column: Any, value: str, dialect: str) -> ColumnElement[bool]:
    # JSON lists as text: SQLite keeps json.dumps' \u escapes, PostgreSQL's jsonb::text does not.
    token = json.dumps(value.strip(), ensure_ascii=dialect == "sqlite")
    escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(column, String).like(f"%{escaped}%", escape="\\")


def _tech_category(category: str, absent: bool, dialect: str) -> ColumnElement[bool]:
    # imported here: the fingerprint set is read only when someone filters on a category
    from core.extract.fingerprints import category_members

    members = list(category_members(category))
    if not members:
        raise ValueError(f"unknown technology category: {category!r}")
    # hundreds of names per category: one set test per row, not one LIKE per name
    if dialect == "postgresql":
        has_one: ColumnElement[bool] = cast(Lead.tech, JSONB).has_any(pg_array(members))
    else:
        element = func.json_each(Lead.tech).table_valued("value").alias("tech_element")
        has_one = exists(select(element.c.value).where(element.c.value.in_(members)))
    return or_(Lead.tech.is_(None), ~has_one) if absent else has_one


def _has_contact(kind: str) -> ColumnElement[bool]:
    return exists(select(Contact.id).where(Contact.lead_id == Lead.id, Contact.kind == kind))


def _email_checked(state: str) -> ColumnElement[bool]:
    return exists(
        select(Contact.id).where(Contact.lead_id == Lead.id, Contact.kind == "email", Contact.verification == state)
    )


def filter_conditions(workspace_id: int, flt: LeadFilter, dialect: str) -> list[ColumnElement[bool]]:
    """The WHERE clauses for ``flt`` inside one workspace."""
    where: list[ColumnElement[bool]] = [Lead.workspace_id == workspace_id, Lead.deleted_at.is_(None)]
    if flt.lead_ids:
        where.append(Lead.id.in_(list(flt.lead_ids)))
    if flt.statuses:
        where.append(Lead.status.in_(list(flt.statuses)))
    if flt.score_min is not None:
        where.append(Lead.score >= flt.score_min)
    if flt.score_max is not None:
        where.append(Lead.score <= flt.score_max)
    if flt.industry.strip():
        where.append(_contains(Lead.industry, flt.industry, dialect))
    if flt.location.strip():
        if code := country_code(flt.location):  # "DE" is Germany, never "rue de la Paix"
            where.append(Lead.country == code)
        else:
            where.append(
                or_(_contains(Lead.city, flt.location, dialect), _contains(Lead.location, flt.location, dialect))
            )
    if flt.country.strip():
        where.append(Lead.country == (country_code(flt.country) or flt.country.strip().upper()[:2]))
    if flt.city.strip():
        where.append(func.lower(Lead.city) == flt.city.strip().lower())
    if flt.has_email is not None:
        where.append(_has_contact("email") if flt.has_email else ~_has_contact("email"))
    if flt.email_check:
        where.append(_email_checked(flt.email_check))
    if flt.has_phone is not None:
        where.append(_has_contact("phone") if flt.has_phone else ~_has_contact("phone"))
    if flt.technology.strip():
        where.append(_contains(cast(Lead.tech, String), flt.technology, dialect))
    if flt.tech_category.strip():
        where.append(_tech_category(flt.tech_category, flt.tech_category_absent, dialect))
    if flt.tags:
        where.append(or_(*[_json_has(Lead.tags, tag, dialect) for tag in flt.tags]))
    if flt.owner_id is not None:
        where.append(Lead.owner_id == flt.owner_id)
    if flt.campaign_id is not None:
        where.append(Lead.campaign_id == flt.campaign_id)
    if flt.search_query.strip():
        where.append(
            exists(
                select(SearchHit.id).where(
                    SearchHit.workspace_id == workspace_id,
                    SearchHit.domain == Lead.domain,
                    SearchHit.query == flt.search_query.strip(),
                )
            )
        )
    if flt.text.strip():
        where.append(
            or_(
                _contains(Lead.name, flt.text, dialect),
                _contains(Lead.domain, flt.text, dialect),
                _contains(Lead.industry, flt.text, dialect),
                _contains(Lead.summary, flt.text, dialect),
                _contains(Lead.notes, flt.text, dialect),
            )
        )
    return where


def filtered_ids(uow: UnitOfWork, *, workspace_id: int, flt: LeadFilter) -> Select[int]:
    """A SELECT of the ids of the workspace's leads matching ``flt`` (for subqueries and exports)."""
    dialect = uow.session.get_bind().dialect.name
    return select(Lead.id).where(and_(*filter_conditions(workspace_id, flt, dialect)))


def _first_contact(kind: str) -> Any:
    return (
        select(Contact.value)
        .where(Contact.lead_id == Lead.id, Contact.kind == kind)
        .order_by(Contact.is_role_address, Contact.id)
        .limit(1)
        .scalar_subquery()
    )


def _row_select() -> Any:
    return select(
        Lead.id,
        Lead.name,
        Lead.domain,
        Lead.website,
        Lead.industry,
        Lead.location,
        Lead.country,
        Lead.score,
        Lead.status,
        func.coalesce(User.email, ""),
        Lead.tags,
        Lead.tech,
        Lead.source,
        func.coalesce(_first_contact("email"), ""),
        func.coalesce(_first_contact("phone"), ""),
        Lead.created_at,
        Lead.city,
    ).outerjoin(User, User.id == Lead.owner_id)


def _row(r: Any) -> LeadRow:
    return LeadRow(
        id=r[0],
        name=r[1],
        domain=r[2],
        website=r[3],
        industry=r[4],
        location=r[5],
        country=r[6],
        city=r[16],
        score=r[7],
        status=r[8],
        owner=r[9],
        tags=tuple(r[10] or ()),
        tech=tuple(r[11] or ()),
        source=r[12],
        email=r[13],
        phone=r[14],
        created_at=r[15],
    )


def count_leads(*, actor: Actor, flt: LeadFilter, uow: UnitOfWork | None = None) -> int:
    """How many of the actor's workspace's leads match ``flt``."""
    actor.require_permission("lead.view")
    uow = uow or UnitOfWork()
    with uow:
        dialect = uow.session.get_bind().dialect.name
        where = filter_conditions(actor.workspace_id, flt, dialect)
        return int(uow.session.scalar(select(func.count()).select_from(Lead).where(*where)) or 0)


def list_leads(
    *,
    actor: Actor,
    flt: LeadFilter,
    sort: str = "score",
    descending: bool = True,
    page: int = 1,
    page_size: int = 50,
    uow: UnitOfWork | None = None,
) -> LeadPage:
    """One page of matching leads (count plus one page of rows, sorted in SQL)."""
    actor.require_permission("lead.view")
    if sort not in SORTABLE:
        sort = "score"
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    column = SORTABLE[sort]
    order = column.desc().nulls_last() if descending else column.asc().nulls_last()
    uow = uow or UnitOfWork()
    with uow:
        dialect = uow.session.get_bind().dialect.name
        where = filter_conditions(actor.workspace_id, flt, dialect)
        total = int(uow.session.scalar(select(func.count()).select_from(Lead).where(*where)) or 0)
        query = (
            _row_select()
            .where(*where)
            .order_by(order, Lead.id.desc() if descending else Lead.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        rows = tuple(_row(r) for r in uow.session.execute(query))
    return LeadPage(total=total, rows=rows)


@dataclass(frozen=True)
class FilterOptions:
    """Choices for the filter widgets: owners, campaigns and the queries that found leads."""

    owners: tuple[tuple[int, str], ...]
    campaigns: tuple[tuple[int, str], ...]
    search_queries: tuple[str, ...]
    countries: tuple[str, ...] = ()  # the workspace's lead countries (ISO codes), most leads first
    cities: tuple[str, ...] = ()  # its most common cities (of ``country`` when one is given)


MAX_CITY_OPTIONS = 500


def filter_options(*, actor: Actor, country: str = "", uow: UnitOfWork | None = None) -> FilterOptions:
    """The owners, campaigns, search queries, countries and cities (of ``country``, if given) of the workspace."""

    actor.require_permission("lead.view")
    uow = uow or UnitOfWork()
    with uow:
        owners = uow.session.execute(
            select(User.id, User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == actor.workspace_id)
            .order_by(User.email)
        ).all()
        campaigns = uow.session.execute(
            select(Campaign.id, Campaign.name)
            .where(Campaign.workspace_id == actor.workspace_id)
            .order_by(Campaign.id.desc())
        ).all()
        queries = uow.session.scalars(
            select(SearchHit.query)
            .where(SearchHit.workspace_id == actor.workspace_id)
            .distinct()
            .order_by(SearchHit.query)
            .limit(500)
        ).all()
        countries = uow.session.scalars(
            select(Lead.country)
            .where(Lead.workspace_id == actor.workspace_id, Lead.country != "")
            .group_by(Lead.country)
            .order_by(func.count().desc(), Lead.country)
        ).all()
        in_country = [Lead.country == (country_code(country) or country.upper())] if country else []
        cities = uow.session.scalars(
            select(Lead.city)
            .where(Lead.workspace_id == actor.workspace_id, Lead.city != "", *in_country)
            .group_by(Lead.city)
            .order_by(func.count().desc(), Lead.city)
            .limit(MAX_CITY_OPTIONS)
        ).all()
    return FilterOptions(
        owners=tuple((r[0], r[1]) for r in owners),
        campaigns=tuple((r[0], r[1]) for r in campaigns),
        search_queries=tuple(queries),
        countries=tuple(countries),
        cities=tuple(cities),
    )


MAX_SELECTION = 10_000


def matching_names(
    *, actor: Actor, flt: LeadFilter, limit: int = MAX_SELECTION, uow: UnitOfWork | None = None
) -> list[tuple[int, str]]:
    """(id, name or domain) of every lead matching ``flt``, oldest first, at most ``limit`` ("select all N")."""
    actor.require_permission("lead.view")
    uow = uow or UnitOfWork()
    with uow:
        dialect = uow.session.get_bind().dialect.name
        where = filter_conditions(actor.workspace_id, flt, dialect)
        rows = uow.session.execute(select(Lead.id, Lead.name, Lead.domain).where(*where).order_by(Lead.id).limit(limit))
        return [(lead_id, name or domain) for lead_id, name, domain in rows]


@dataclass(frozen=True)
class KeysetPage:
    """One page of a keyset (cursor) listing: the rows and, when more follow, the last row's sort key."""

    rows: tuple[LeadRow, ...]
    next_key: tuple[Any, int] | None


def list_leads_after(
    *,
    actor: Actor,
    flt: LeadFilter,
    sort: str = "score",
    descending: bool = True,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    uow: UnitOfWork | None = None,
) -> KeysetPage:
    """The page of matching leads after the sort key ``after`` ((sort value, id) of the previous page's last row).

    Keyset paging: a page deep in the list costs what the first page costs (no OFFSET, no count).
    Rows are ordered by the sort column (NULLs last) and then id, in the same direction.
    """
    actor.require_permission("lead.view")
    if sort not in SORTABLE:
        raise InvalidInput(f"Unknown sort '{sort}'; use one of {', '.join(SORTABLE)}.")
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    column = SORTABLE[sort]
    # Rows with a value and rows without are read apart (NULLs last): "ORDER BY score DESC NULLS LAST" is not
    # the order of PostgreSQL's (workspace_id, score) index read backwards (DESC there puts NULLs first), so
    # one query over both sorted every lead of the workspace for each page; plain DESC over the rows that
    # have a value is that order, a range the index serves, on PostgreSQL and SQLite alike.
    order = column.desc() if descending else column.asc()
    uow = uow or UnitOfWork()
    with uow:
        dialect = uow.session.get_bind().dialect.name
        where = filter_conditions(actor.workspace_id, flt, dialect)

        def page(*conditions: Any, size: int) -> list[Any]:
            query = (
                _row_select()
                .add_columns(column)
                .where(*where, *conditions)
                .order_by(order, Lead.id.desc() if descending else Lead.id)
                .limit(size)
            )
            return list(uow.session.execute(query).all())

        if after is None:
            fetched = page(column.is_not(None), size=limit + 1)
            if len(fetched) <= limit:
                fetched += page(column.is_(None), size=limit + 1 - len(fetched))
        else:
            value, last_id = after
            beyond = Lead.id < last_id if descending else Lead.id > last_id
            if value is None:
                fetched = page(column.is_(None), beyond, size=limit + 1)
            else:
                # The rows past the key that have a value, then (NULLs last) those without: two queries, each
                # a range an index on the column serves ("<= value AND (< value OR id beyond)"). One query with
                # "... OR column IS NULL" was no range, so a page deep in the list read every row before it.
                past, up_to = (column < value, column <= value) if descending else (column > value, column >= value)
                fetched = page(up_to, or_(past, beyond), size=limit + 1)
                if len(fetched) <= limit:
                    fetched += page(column.is_(None), size=limit + 1 - len(fetched))
    rows = tuple(_row(r) for r in fetched[:limit])
    next_key = (fetched[limit - 1][-1], fetched[limit - 1][0]) if len(fetched) > limit else None
    return KeysetPage(rows=rows, next_key=next_key)
