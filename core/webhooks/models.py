"""What the webhook services return: endpoints, deliveries and their attempts (never a secret, except once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CreatedEndpoint:
    """A new endpoint: the only time its ``secret`` is available."""

    id: int
    url: str
    events: tuple[str, ...]
    description: str
    secret: str


@dataclass(frozen=True)
class EndpointView:
    """An endpoint as Settings and the API list it."""

    id: int
    url: str
    events: tuple[str, ...]
    description: str
    status: str  # active | failing
    failing_since: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class AttemptView:
    """One POST of a delivery: the response code (None when none came) and the error, if any."""

    status_code: int | None
    error: str
    duration_ms: int
    manual: bool
    created_at: datetime


@dataclass(frozen=True)
class DeliveryView:
    """One event owed to one endpoint, and where its attempts stand."""

    id: int
    endpoint_id: int
    event: str
    message_id: str
    status: str  # pending | succeeded | failed
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    body: str
    log: tuple[AttemptView, ...] = ()


@dataclass(frozen=True)
class DeliveryPass:
    """What one pass of the delivery job did."""

    claimed: int = 0
    succeeded: int = 0
    retrying: int = 0
    failed: int = 0
