"""Every table of LeadScout (DESIGN §3); Alembic's target metadata is ``Base.metadata``."""

from core.db.models.accounts import (
    ROLES,
    AuthSession,
    Membership,
    OAuthState,
    SignInAttempt,
    User,
    Workspace,
)
from core.db.models.base import Base, utcnow
from core.db.models.campaigns import Campaign, Run, RunSite, SearchCall, SearchHit, StrategyVersion
from core.db.models.leads import (
    CONTACT_KINDS,
    LEAD_STATUSES,
    Contact,
    Evidence,
    Lead,
    LeadTombstone,
    Page,
    PageFetch,
)
from core.db.models.outreach import (
    MESSAGE_STATUSES,
    SUPPRESSION_REASONS,
    Message,
    MessageEvent,
    Suppression,
    Template,
    WebhookReplay,
)
from core.db.models.system import (
    JOB_ACTIVE_STATUSES,
    JOB_STATUSES,
    AuditEvent,
    Job,
    LLMCacheEntry,
    LLMCall,
)

__all__ = [
    "CONTACT_KINDS",
    "JOB_ACTIVE_STATUSES",
    "JOB_STATUSES",
    "LEAD_STATUSES",
    "MESSAGE_STATUSES",
    "ROLES",
    "SUPPRESSION_REASONS",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Campaign",
    "Contact",
    "Evidence",
    "Job",
    "LLMCacheEntry",
    "LLMCall",
    "Lead",
    "LeadTombstone",
    "Membership",
    "Message",
    "MessageEvent",
    "OAuthState",
    "Page",
    "PageFetch",
    "Run",
    "RunSite",
    "SearchCall",
    "SearchHit",
    "SignInAttempt",
    "StrategyVersion",
    "Suppression",
    "Template",
    "User",
    "Workspace",
    "WebhookReplay",
    "utcnow",
]
