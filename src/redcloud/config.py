"""Settings: every knob an operator can turn, read from REDCLOUD_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Platform configuration. Each field is documented in docs/operating.md."""

    model_config = SettingsConfigDict(env_prefix="REDCLOUD_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".redcloud"),
        description="Where the embedded SQLite database and the generated secret key live.",
    )
    database_url: str | None = Field(
        default=None,
        description="sqlite:///path or postgresql://user@host/db; default: SQLite in data_dir.",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    demo: bool = Field(default=False, description="Seed and serve the canonical demo data set.")
    run_workers: bool = Field(
        default=True, description="`serve` also runs the pipeline's workers in its processes."
    )
    token_ttl_seconds: int = Field(default=3600, ge=5, le=86_400)
    secret_key: str | None = Field(
        default=None,
        description="Fernet key for webhook signing secrets; default: data_dir/secret.key.",
    )
    allow_http_webhooks: bool = Field(
        default=False, description="Accept plain http:// webhook URLs (local development)."
    )
    allow_private_webhooks: bool = Field(
        default=False,
        description="Accept webhook URLs on loopback, private or link-local hosts.",
    )
    strict_recipient_validation: bool = Field(
        default=False,
        description="Require recipients to be valid assigned numbers, not only possible ones.",
    )
    idempotency_retention_hours: int = Field(default=24, ge=24)
    purge_interval_seconds: int = Field(default=3600, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    db_pool_size: int = Field(default=10, ge=1)
    sandbox_delivery_delay: float = Field(
        default=1.0, ge=0, description="Seconds from submit to the sandbox's delivery report."
    )
    sandbox_submit_latency: float = Field(
        default=0.02, ge=0, description="Seconds the sandbox carrier takes to accept a submit."
    )
    message_validity_seconds: int = Field(
        default=36_000,
        ge=1,
        description="A message the carrier has not accepted by then fails (VALIDITY_EXPIRED).",
    )
    optout_on_revocation_words: bool = Field(
        default=False,
        description="Treat an inbound message that mentions STOP, CANCEL... as an opt-out.",
    )
    smpp_lease_seconds: float = Field(
        default=15.0,
        ge=1,
        description="An SMPP bind slot's lease: a dead worker's sessions move after this long.",
    )
    smpp_reassembly_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Inbound parts still incomplete after this long are delivered as they are.",
    )
    delivery_report_timeout_seconds: int = Field(
        default=14_400, ge=1, description="A sent message with no report by then fails."
    )
    webhook_retry_schedule: str = Field(
        default="60,300,900,3600",
        pattern=r"^\s*[0-9]+(\.[0-9]+)?(\s*,\s*[0-9]+(\.[0-9]+)?)*\s*$",
        description="Seconds between webhook attempts; attempts = entries + 1.",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    worker_concurrency: int = Field(default=64, ge=1, description="Jobs run at once per worker.")
    worker_poll_seconds: float = Field(default=1.0, gt=0, description="Longest idle wait.")
    worker_lease_seconds: int = Field(
        default=60, ge=5, description="A claimed job whose worker is silent this long runs again."
    )
    client_requests_per_minute: int = Field(
        default=6000,
        ge=0,
        description="CORE API requests one API client may make per minute, across every API "
        "process (0 = no limit); past it, 429 RATE_LIMITED with Retry-After.",
    )
    auth_failures_per_client: int = Field(
        default=10,
        ge=0,
        description="Failed token requests for one client_id per auth_failure_window_seconds "
        "before further attempts get 429 (0 = no limit).",
    )
    auth_failures_per_address: int = Field(
        default=50,
        ge=0,
        description="Failed token requests from one source address per window before 429.",
    )
    auth_failure_window_seconds: int = Field(default=300, ge=1)
    api_docs: bool = Field(
        default=False,
        description="Serve the interactive docs at /docs (they load scripts from a CDN); "
        "on in demo mode. /openapi.json is always served.",
    )
    access_log: bool = Field(default=True, description="Log one line per request.")
    console: bool = Field(default=True, description="Serve the operator console at /console.")
    console_idle_minutes: int = Field(
        default=30, ge=1, description="A console session ends after this long without a request."
    )
    console_session_hours: int = Field(
        default=12, ge=1, description="A console session ends this long after sign-in, whatever."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus presents to scrape /metrics; unset: /metrics "
        "is refused (403), except in demo mode.",
    )
    metrics_dir: Path | None = Field(
        default=None,
        description="Where `serve --processes N` keeps each process's metric files; "
        "default: data_dir/metrics.",
    )
    log_level: str = "INFO"
    log_format: str = Field(default="console", pattern="^(console|json)$")

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL for the configured database."""
        raw = self.database_url or f"sqlite:///{self.data_dir / 'redcloud.db'}"
        return to_async_url(raw)

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def webhooks_allow_http(self) -> bool:
        return self.allow_http_webhooks or self.demo

    @property
    def webhooks_allow_private(self) -> bool:
        return self.allow_private_webhooks or self.demo

    @property
    def webhook_retry_delays(self) -> list[float]:
        """Delays after each failed attempt; a failure past the last one is terminal."""
        return [float(part) for part in self.webhook_retry_schedule.split(",") if part.strip()]


def to_async_url(url: str) -> str:
    """Map the URLs operators write to the async drivers the platform uses."""
    for prefix, driver in (
        ("postgresql+asyncpg://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    raise ValueError(
        f"Unsupported database URL {url.split(':', 1)[0]!r}: use sqlite:///PATH or postgresql://..."
    )
