"""SMTP through the user's own mailbox (the default for cold one-to-one mail), with smtplib."""

from __future__ import annotations

import smtplib
import ssl

from core.config import Settings
from core.errors import OutcomeUnknown, PermanentSendError, TransientSendError
from core.outreach.channels.base import build_email
from core.outreach.models import OutgoingMessage, SendResult


def _refusal(exc: smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused) -> Exception:
    text: bytes | str
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
    else:
        code, text = exc.smtp_code, exc.smtp_error
    reason = f"SMTP {code}: {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    if 400 <= code < 500:
        return TransientSendError(reason)
    return PermanentSendError(reason, code=str(code))


class SMTPChannel:
    """One connection reused across a sending pass; the envelope is sent step by step so a
    failure before DATA is known not to have delivered, and one during DATA is 'unknown'."""

    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout
        self._conn: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SMTPChannel:
        """The channel for the configured mailbox."""
        return cls(
            host=settings.smtp_host or "127.0.0.1",
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            timeout=settings.outreach_send_timeout_seconds,
        )

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            # No NOOP probe: a dead connection fails before DATA, which is a safe, retried error.
            return self._conn
        try:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if self.starttls:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if self.user and self.password:
                conn.login(self.user, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentSendError(f"The SMTP server refused the login ({exc.smtp_code}).", code="auth") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientSendError(f"Could not connect to SMTP {self.host}:{self.port}: {exc}") from exc
        self._conn = conn
        return conn

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send one email; the provider id is our Message-ID header."""
        email = build_email(message)
        conn = self._connection()
        try:
            code, text = conn.mail(message.from_address)
            if code != 250:
                conn.rset()
                raise _refusal(smtplib.SMTPSenderRefused(code, text, message.from_address))
            code, text = conn.rcpt(message.to_address)
            if code not in (250, 251):
                conn.rset()
                raise _refusal(smtplib.SMTPRecipientsRefused({message.to_address: (code, text)}))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise TransientSendError(f"SMTP connection lost before the message was sent: {exc}") from exc
        try:
            code, text = conn.data(email.as_bytes())
        except smtplib.SMTPDataError as exc:
            raise _refusal(exc) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise OutcomeUnknown(f"SMTP connection lost while sending the message: {exc}") from exc
        return SendResult(provider=self.name, provider_message_id=message.message_id_header)

    def close(self) -> None:
        """Say QUIT and drop the connection."""
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._conn = None
