"""One suppression list across channels: check, add, remove, list, import and export."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.actor import Actor
from core.audit import audit
from core.csv_safe import formula_safe_writer, unguard
from core.db import UnitOfWork
from core.db.models import SUPPRESSION_REASONS, Contact, Lead, Suppression, table_of
from core.errors import InvalidInput
from core.outreach.models import SuppressionView
from core.outreach.sequence_stops import leave_for_addresses
from core.outreach.templates import refuse_line_breaks
from core.webhooks import events as webhooks

SUPPRESSION_CHANNELS = ("email", "sms")


def normalise_address(channel: str, address: str) -> str:
    """The form an address is stored and compared in: lower-case email, E.164-ish phone."""
    cleaned = refuse_line_breaks("address", (address or "").strip())
    if channel == "email":
        if "@" not in cleaned or len(cleaned) > 320:
            raise InvalidInput(f"'{cleaned[:80]}' is not an email address.")
        return cleaned.lower()
    if channel == "sms":
        digits = "".join(ch for ch in cleaned if ch.isdigit())
        if len(digits) < 6:
            raise InvalidInput(f"'{cleaned[:40]}' is not a phone number.")
        return "+" + digits
    raise InvalidInput(f"Unknown channel '{channel}'; use email or sms.")


def is_suppressed(session: Session, *, workspace_id: int, channel: str, address: str) -> str | None:
    """The suppression reason for an address in the workspace, or None (call inside the claim)."""
    return session.scalar(
        select(Suppression.reason).where(
            Suppression.workspace_id == workspace_id,
            Suppression.channel == channel,
            Suppression.address == normalise_address(channel, address),
        )
    )


UNSUBSCRIBE_REASONS = ("unsubscribed", "stop")  # the contact asked: a contact.unsubscribed webhook event


@dataclass(frozen=True)
class NewSuppression:
    """One address to suppress in a workspace (``add_suppression_rows``); its fields are the row's columns."""

    workspace_id: int
    channel: str
    address: str
    reason: str
    source: str


def add_suppression_row(
    session: Session, *, workspace_id: int, channel: str, address: str, reason: str, source: str
) -> bool:
    """Insert a suppression unless present (a savepoint absorbs a concurrent insert); True when new."""
    return add_suppression_rows(session, [NewSuppression(workspace_id, channel, address, reason, source)])[0]


def add_suppression_rows(session: Session, rows: list[NewSuppression]) -> list[bool]:
    """Insert suppressions unless present, in order (a second row for an address changes nothing); for each,
    True when new. The leads holding a new one leave their sequences, and an unsubscribe is owed as a
    ``contact.unsubscribed`` webhook event. The present ones are read with one query and the new ones
    inserted in one savepoint; when another process inserted one of them meanwhile, they go one savepoint
    each, and that one counts as present."""
    for row in rows:
        if row.reason not in SUPPRESSION_REASONS:
            raise InvalidInput(f"Unknown suppression reason '{row.reason}'.")
    wanted = [replace(row, address=normalise_address(row.channel, row.address), source=row.source[:64]) for row in rows]
    present = (
        {
            (workspace_id, channel, address)
            for workspace_id, channel, address in session.execute(
                select(Suppression.workspace_id, Suppression.channel, Suppression.address).where(
                    Suppression.address.in_(sorted({row.address for row in wanted}))
                )
            )
        }
        if wanted
        else set()
    )
    new: list[NewSuppression] = []
    for row in wanted:
        if (row.workspace_id, row.channel, row.address) not in present:
            present.add((row.workspace_id, row.channel, row.address))
            new.append(row)
    try:
        if new:
            with session.begin_nested():
                session.execute(insert(table_of(Suppression)), [asdict(row) for row in new])
    except IntegrityError:
        new = [row for row in new if _inserted_alone(session, row)]
    leave_for_addresses(session, [(row.workspace_id, row.channel, row.address, row.reason) for row in new])
    for row in new:
        if row.reason in UNSUBSCRIBE_REASONS:
            data = {"channel": row.channel, "address": row.address, "reason": row.reason, "source": row.source}
            webhooks.emit(session, workspace_id=row.workspace_id, event="contact.unsubscribed", data=data)
    inserted = {id(row) for row in new}
    return [id(row) in inserted for row in wanted]


def mark_do_not_contact(session: Session, asked: list[tuple[int, str, str]]) -> None:
    """The leads holding these ``(workspace id, channel, normalised address)`` become ``do_not_contact``.
    The holders are read first: as one UPDATE ... IN (SELECT ...), a fresh table's plan compared every pair."""
    if not asked:
        return
    wanted = {
        (workspace_id, "email" if channel == "email" else "phone", address) for workspace_id, channel, address in asked
    }
    holders = sorted(
        {
            lead_id
            for workspace_id, kind, address, lead_id in session.execute(
                select(Contact.workspace_id, Contact.kind, Contact.normalised_value, Contact.lead_id).where(
                    Contact.workspace_id.in_(sorted({workspace_id for workspace_id, _, _ in wanted})),
                    Contact.normalised_value.in_(sorted({address for _, _, address in wanted})),
                )
            )
            if (workspace_id, kind, address) in wanted
        }
    )
    if holders:  # each lead id was read from its own workspace's contacts
        session.execute(
            update(Lead)
            .where(Lead.id.in_(holders), Lead.status != "do_not_contact")
            .values(status="do_not_contact")
            .execution_options(synchronize_session=False)
        )


def _inserted_alone(session: Session, row: NewSuppression) -> bool:
    try:
        with session.begin_nested():
            session.execute(insert(table_of(Suppression)), [asdict(row)])
    except IntegrityError:
        return False
    return True


def add_suppression(
    *, actor: Actor, channel: str, address: str, reason: str = "manual", source: str = "", uow: UnitOfWork | None = None
) -> bool:
    """Suppress an address in the actor's workspace; True when it was not suppressed before."""
    actor.require_permission("suppression.add")
    uow = uow or UnitOfWork()
    with uow:
        added = add_suppression_row(
            uow.session,
            workspace_id=actor.workspace_id,
            channel=channel,
            address=address,
            reason=reason,
            source=source or f"user:{actor.email}",
        )
        audit(uow, "suppression.added", actor=actor, detail={"channel": channel, "reason": reason})
        uow.commit()
        return added


def remove_suppression(*, actor: Actor, channel: str, address: str, uow: UnitOfWork | None = None) -> bool:
    """Lift a suppression (admins only); True when one was removed."""
    actor.require_permission("suppression.remove")
    uow = uow or UnitOfWork()
    with uow:
        result = cast(
            CursorResult[Any],
            uow.session.execute(
                delete(Suppression).where(
                    Suppression.workspace_id == actor.workspace_id,
                    Suppression.channel == channel,
                    Suppression.address == normalise_address(channel, address),
                )
            ),
        )
        uow.commit()
        return bool(result.rowcount)


def list_suppressions(
    *, actor: Actor, channel: str | None = None, search: str = "", limit: int = 1000, uow: UnitOfWork | None = None
) -> list[SuppressionView]:
    """The workspace's suppression list, newest first."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        query = select(Suppression).where(Suppression.workspace_id == actor.workspace_id)
        if channel:
            query = query.where(Suppression.channel == channel)
        if search:
            query = query.where(Suppression.address.contains(search.strip().lower()))
        rows = uow.session.scalars(query.order_by(Suppression.created_at.desc(), Suppression.id.desc()).limit(limit))
        return [SuppressionView(r.channel, r.address, r.reason, r.source, r.created_at) for r in rows]


def export_suppressions_csv(*, actor: Actor, uow: UnitOfWork | None = None) -> str:
    """The whole suppression list as CSV (channel, address, reason, source, created_at)."""
    actor.require_permission("outreach.view")
    out = io.StringIO()
    writer = formula_safe_writer(out)
    writer.writerow(["channel", "address", "reason", "source", "created_at"])
    for row in list_suppressions(actor=actor, limit=1_000_000, uow=uow):
        writer.writerow([row.channel, row.address, row.reason, row.source, row.created_at.isoformat()])
    return out.getvalue()


def import_suppressions_csv(
    *, actor: Actor, text: str, uow: UnitOfWork | None = None
) -> tuple[int, list[tuple[int, str]]]:
    """Import rows (columns address[, channel][, reason]); returns (added, [(line, problem)])."""
    actor.require_permission("suppression.add")
    uow = uow or UnitOfWork()
    added, problems = 0, []
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "address" not in [name.strip().lower() for name in reader.fieldnames]:
        raise InvalidInput("The CSV needs an 'address' column (optional: channel, reason).")
    with uow:
        for line, raw in enumerate(reader, start=2):
            # unguard: our own export wrote formula-like cells ('+4930…, '=…@…) with an apostrophe
            row = {(k or "").strip().lower(): unguard((v or "").strip()) for k, v in raw.items()}
            address = row.get("address", "")
            channel = row.get("channel") or ("email" if "@" in address else "sms")
            reason = row.get("reason") or "manual"
            try:
                if add_suppression_row(
                    uow.session,
                    workspace_id=actor.workspace_id,
                    channel=channel,
                    address=address,
                    reason=reason,
                    source=f"import:{actor.email}",
                ):
                    added += 1
            except InvalidInput as error:
                problems.append((line, str(error)))
        uow.commit()
    return added, problems


def unsubscribe_by_link(*, workspace_id: int, channel: str, address: str) -> bool:
    """A recipient's one-click unsubscribe (the signed link's target): suppress the address; True when new.

    The leads holding that address become ``do_not_contact``.
    """
    normalised = normalise_address(channel, address)
    with UnitOfWork() as uow:
        added = add_suppression_row(
            uow.session,
            workspace_id=workspace_id,
            channel=channel,
            address=normalised,
            reason="unsubscribed",
            source="one-click",
        )
        mark_do_not_contact(uow.session, [(workspace_id, channel, normalised)])
        if added:
            audit(uow, "suppression.unsubscribed", workspace_id=workspace_id, detail={"channel": channel})
        uow.commit()
        return added
