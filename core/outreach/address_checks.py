"""Address checks stored on contacts: run before an email is queued, redone when older than
``ADDRESS_CHECK_MAX_AGE_DAYS``. DNS runs outside any transaction; the results are written in one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from core.actor import Actor
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Contact, Message, utcnow
from core.errors import NotFound
from core.outreach.verify import AddressCheck, DomainResolver, check_address, resolver_for

DNS_THREADS = 16  # domains looked up at once: a slow or silent resolver costs one time-out, not one per domain


def _check_all(contacts: list[tuple[int, str]], resolver: DomainResolver, *, fresh: bool) -> dict[int, AddressCheck]:
    """Check every (contact id, address), with no transaction open: the first address of each domain in
    parallel (``fresh``, a requested re-check, also skips the domain cache), then the rest from the cache."""
    first: dict[str, tuple[int, str]] = {}
    for contact_id, value in contacts:
        first.setdefault(value.rsplit("@", 1)[-1].strip().lower(), (contact_id, value))
    with ThreadPoolExecutor(max_workers=max(1, min(DNS_THREADS, len(first)))) as pool:
        done = dict(
            zip(
                [contact_id for contact_id, _ in first.values()],
                pool.map(lambda item: check_address(item[1], resolver, fresh=fresh), first.values()),
                strict=True,
            )
        )
    for contact_id, value in contacts:
        if contact_id not in done:
            done[contact_id] = check_address(value, resolver)
    return done


def refresh_contact_checks(
    contact_ids: Iterable[int],
    *,
    settings: Settings | None = None,
    resolver: DomainResolver | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
    now: datetime | None = None,
    force: bool = False,
) -> dict[int, AddressCheck]:
    """Each email contact's check: the stored one while fresh (unless ``force``), else a new one (stored).

    Contacts never checked, checked more than ``ADDRESS_CHECK_MAX_AGE_DAYS`` ago or left ``unknown`` are
    checked again."""
    s = settings or get_settings()
    now = now or utcnow()
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    with uow_factory() as uow:
        rows = uow.session.execute(
            select(
                Contact.id, Contact.value, Contact.verification, Contact.verification_reasons, Contact.verified_at
            ).where(Contact.id.in_(ids), Contact.kind == "email")
        ).all()
    fresh_after = now - timedelta(days=s.address_check_max_age_days)
    checks: dict[int, AddressCheck] = {}
    stale: list[tuple[int, str]] = []
    for contact_id, value, state, reasons, verified_at in rows:
        if not force and verified_at is not None and verified_at >= fresh_after and state != "unknown":
            checks[contact_id] = AddressCheck(address=value, state=state, reasons=tuple(reasons or ()))
        else:
            stale.append((contact_id, value))
    if not stale:
        return checks
    resolver = resolver or resolver_for(s)
    new = _check_all(stale, resolver, fresh=force)
    with uow_factory() as uow:
        uow.session.connection().execute(
            update(Contact.__table__)  # type: ignore[arg-type]
            .where(Contact.__table__.c.id == bindparam("b_id"))
            .values(
                verification=bindparam("b_state"),
                verification_reasons=bindparam("b_reasons"),
                verified_at=bindparam("b_at"),
            ),
            [
                {"b_id": contact_id, "b_state": check.state, "b_reasons": list(check.reasons), "b_at": now}
                for contact_id, check in new.items()
            ],
        )
        uow.commit()
    return {**checks, **new}


def refresh_message_checks(
    *,
    workspace_id: int | None,
    message_ids: list[int] | None,
    statuses: tuple[str, ...] = ("approved", "queued"),
    settings: Settings | None = None,
    uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
) -> dict[int, AddressCheck]:
    """The address check of every email's recipient among these messages (message id -> check),
    redone for contacts never checked or checked too long ago."""
    with uow_factory() as uow:
        query = select(Message.id, Message.contact_id).where(
            Message.status.in_(statuses), Message.channel == "email", Message.contact_id.is_not(None)
        )
        if workspace_id is not None:
            query = query.where(Message.workspace_id == workspace_id)
        if message_ids is not None:
            query = query.where(Message.id.in_(message_ids))
        rows = uow.session.execute(query).all()
    checks = refresh_contact_checks((contact_id for _, contact_id in rows), settings=settings, uow_factory=uow_factory)
    return {message_id: checks[contact_id] for message_id, contact_id in rows if contact_id in checks}


def verify_contact(
    *, actor: Actor, contact_id: int, uow_factory: Callable[[], UnitOfWork] = UnitOfWork
) -> AddressCheck:
    """Check one of the workspace's email contacts now (the lead page's button), whatever its age."""
    actor.require_permission("lead.edit")
    with uow_factory() as uow:
        found = uow.session.scalar(
            select(Contact.id).where(
                Contact.id == contact_id, Contact.workspace_id == actor.workspace_id, Contact.kind == "email"
            )
        )
    if found is None:
        raise NotFound("That email contact does not exist in this workspace.")
    return refresh_contact_checks([contact_id], uow_factory=uow_factory, force=True)[contact_id]
