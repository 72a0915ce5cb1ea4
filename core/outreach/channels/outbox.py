"""The outbox channel: the default with no provider configured. Recorded, never sent."""

from __future__ import annotations

from core.outreach.models import OutgoingMessage, SendResult


class OutboxChannel:
    """Keeps the message as recorded (exportable as .eml) without contacting anyone."""

    name = "outbox"

    def send(self, message: OutgoingMessage) -> SendResult:
        """Record only: no provider call."""
        return SendResult(provider=self.name, provider_message_id=f"outbox-{message.message_id}", recorded_only=True)

    def close(self) -> None:
        """Nothing held."""
