"""The invitation email: the signed link goes to the invited address through the workspace's email provider.

Sent by a background job after the invitation is committed, so adding a member never waits on a mail
server. With no email provider configured (the outbox default) nothing is sent and the team page says
so: the inviter passes the link on. The mail carries no tracking id (message id 0), so a provider's
events about it never touch an outreach message.
"""

from __future__ import annotations

from sqlalchemy import select

from core.audit import audit
from core.auth import invitations
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Invitation, User, Workspace, utcnow
from core.outreach.channels import channel_for, email_provider_name
from core.outreach.compose import FALLBACK_SENDER, sender_address
from core.outreach.models import OutgoingMessage

NOT_SENT = ""


def emails_invitations(settings: Settings | None = None) -> bool:
    """Whether invitations go out by email (an email provider is configured), or only as a link to pass on."""
    return email_provider_name(settings) != "outbox"


def _sender(settings: Settings, workspace: Workspace) -> tuple[str, str]:
    """The From of outreach (``sender_address``), without its last-resort placeholder."""
    address = sender_address(workspace.settings, settings)
    name = workspace.settings.get("from_name") or settings.outreach_from_name or workspace.name
    return ("" if address == FALLBACK_SENDER else address), name


def send_invitation_email(invitation_id: int, *, settings: Settings | None = None) -> str:
    """Email one open invitation its link; returns the provider's name, or ``NOT_SENT`` with nothing to do."""
    settings = settings or get_settings()
    if not emails_invitations(settings):
        return NOT_SENT
    with UnitOfWork() as uow:
        invitation = uow.session.get(Invitation, invitation_id)
        if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
            return NOT_SENT  # joined, removed or expired meanwhile: the link would not work
        workspace = uow.session.get(Workspace, invitation.workspace_id)
        assert workspace is not None
        inviter = uow.session.scalar(select(User.email).where(User.id == invitation.invited_by)) or "A teammate"
        from_address, from_name = _sender(settings, workspace)
        if not from_address:
            raise RuntimeError("No sender address for invitation emails: set OUTREACH_FROM_EMAIL or the From address.")
        mail = OutgoingMessage(
            message_id=0,
            workspace_id=workspace.id,
            channel="email",
            to_address=invitation.email,
            to_name="",
            from_address=from_address,
            from_name=from_name,
            subject=f"You are invited to {workspace.name} on LeadScout",
            body=(
                f"{inviter} invited you to the workspace {workspace.name} on LeadScout.\n\n"
                f"Open this link to create your account (it works once, for {invitation.email}, "
                f"until {invitation.expires_at:%Y-%m-%d}):\n\n{invitations.link_of(invitation)}\n\n"
                "If you did not expect this, ignore this email: nothing happens without the link.\n"
            ),
        )
        invitation_email, workspace_id = invitation.email, workspace.id
    channel = channel_for("email", settings)
    try:
        result = channel.send(mail)
    finally:
        channel.close()
    with UnitOfWork() as uow:
        audit(
            uow,
            "invitation.emailed",
            workspace_id=workspace_id,
            target_type="invitation",
            target_id=invitation_id,
            detail={"email": invitation_email, "provider": result.provider},
        )
        uow.commit()
    return result.provider
