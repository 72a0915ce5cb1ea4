"""Channels: SMTP, SendGrid, Mailgun, Twilio and the outbox; which one is used comes from Settings."""

from __future__ import annotations

from core.config import Settings, get_settings
from core.outreach.channels.base import Channel
from core.outreach.channels.outbox import OutboxChannel


def email_provider_name(settings: Settings | None = None) -> str:
    """The email provider in use: the configured one, else SMTP when set up, else the outbox."""
    s = settings or get_settings()
    choice = s.outreach_email_provider
    if choice == "auto":
        return "smtp" if s.smtp_enabled else "outbox"
    return choice


def sms_provider_name(settings: Settings | None = None) -> str:
    """The SMS provider in use: Twilio when configured, else the outbox."""
    return "twilio" if (settings or get_settings()).twilio_enabled else "outbox"


def channel_for(channel: str, settings: Settings | None = None) -> Channel:
    """A ready channel object for 'email' or 'sms' (vendor SDKs are imported only when used)."""
    s = settings or get_settings()
    name = email_provider_name(s) if channel == "email" else sms_provider_name(s)
    if name == "smtp":
        # imported here: only the configured provider's SDK loads (SendGrid's alone takes 0.2 s)
        from core.outreach.channels.smtp import SMTPChannel

        return SMTPChannel.from_settings(s)
    if name == "sendgrid":
        # imported here: only the configured provider's SDK loads (SendGrid's alone takes 0.2 s)
        from core.outreach.channels.sendgrid import SendGridChannel

        return SendGridChannel.from_settings(s)
    if name == "mailgun":
        # imported here: only the configured provider's SDK loads (SendGrid's alone takes 0.2 s)
        from core.outreach.channels.mailgun import MailgunChannel

        return MailgunChannel.from_settings(s)
    if name == "twilio":
        # imported here: only the configured provider's SDK loads (SendGrid's alone takes 0.2 s)
        from core.outreach.channels.twilio import TwilioChannel

        return TwilioChannel.from_settings(s)
    return OutboxChannel()
