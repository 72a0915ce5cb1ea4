"""Domain values of sequences: what the page shows and what a service call did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DEFAULT_STOP_STATUSES = ("meeting", "won", "lost", "do_not_contact")
STOP_CHOICES = ("replied", "meeting", "won", "lost", "do_not_contact")
MAX_STEPS = 10
MAX_DELAY_DAYS = 60


@dataclass(frozen=True)
class StepInput:
    """One step as the editor sends it: channel, a template or an AI draft, working days of delay, own subject."""

    channel: str
    template_id: int | None = None
    use_ai: bool = False
    delay_days: int = 0
    subject: str = ""


@dataclass(frozen=True)
class StepView:
    """A saved step."""

    position: int
    channel: str
    template_id: int | None
    template_name: str
    use_ai: bool
    delay_days: int
    subject: str


@dataclass(frozen=True)
class SequenceView:
    """A sequence with its steps and how many contacts are in each state."""

    id: int
    name: str
    status: str
    campaign_id: int | None
    stop_statuses: tuple[str, ...]
    steps: tuple[StepView, ...]
    counts: dict[str, int]


@dataclass(frozen=True)
class EnrollmentView:
    """One contact's place in a sequence."""

    id: int
    lead_id: int
    lead_name: str
    status: str
    reason: str
    detail: str
    next_position: int | None
    next_due_at: datetime | None
    enrolled_at: datetime


@dataclass(frozen=True)
class EnrolOutcome:
    """What enrolling a selection did (or would do): the leads enrolled, and the ones skipped with why."""

    enrolled: tuple[int, ...]
    skipped: tuple[tuple[int, str], ...]

    def skipped_by_reason(self) -> dict[str, int]:
        """How many were skipped for each reason (the confirmation names them)."""
        counts: dict[str, int] = {}
        for _lead_id, reason in self.skipped:
            counts[reason] = counts.get(reason, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class FunnelRow:
    """One step of the funnel: messages sent at that step and what came back."""

    position: int
    channel: str
    sent: int
    replied: int
    bounced: int
    unsubscribed: int


@dataclass(frozen=True)
class AdvanceSummary:
    """What one pass of the sequence scheduler did."""

    queued: int = 0
    waiting_approval: int = 0
    left: int = 0
    finished: int = 0
    scheduled: int = 0
