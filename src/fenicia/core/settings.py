"""Settings read from the environment (prefix ``FENICIA_``) and the data directory."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The retry ladder of the product: first retry after 5 min, then 15 min, then 1 h; then Error.
DEFAULT_RETRY_DELAYS_SECONDS: tuple[float, ...] = (300.0, 900.0, 3600.0)


class Settings(BaseSettings):
    """Every knob an operator may turn. Tests build their own instance instead of patching."""

    model_config = SettingsConfigDict(env_prefix="FENICIA_", extra="ignore")

    data_dir: Path = Path("./fenicia-data")
    database_url: str | None = None  # default: sqlite in data_dir
    engine_database_url: str | None = None  # default: sqlite beside the app db, or database_url on PG
    secret_key: str | None = None  # Fernet key; default: generated key file in data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None  # where channels reach our webhooks; default http://host:port
    env: str = "development"  # "production" switches logs to JSON
    log_level: str = "INFO"

    retry_delays_seconds: tuple[float, ...] = DEFAULT_RETRY_DELAYS_SECONDS
    initial_import_days: int = 30  # first poll of a new connection reaches this far back
    bulk_sync_days: int = 60  # "Sync orders" re-reads this much history
    poll_overlap_seconds: float = 300.0  # cursor safety overlap: re-read this much on every poll
    reconcile_interval_seconds: float = 30.0
    worker_heartbeat_seconds: float = 5.0
    worker_dead_after_seconds: float = 30.0
    scheduler_tick_seconds: float = 5.0
    # How often each worker asks the DBOS system database for queued work, per queue (five queues). A
    # webhook's stock change waits for two hand-overs (inbox drain, then stock push), each up to this long:
    # order-to-stock p99 1.8-2.0 s at 1 s (the target is 2 s), 1.1-1.3 s at 0.5, 0.6-0.7 s at 0.25; an idle
    # worker costs PostgreSQL about 36, 54 and 93 transactions/s at those intervals.
    queue_polling_seconds: float = Field(0.5, gt=0, le=60)
    inbox_batch_size: int = 100
    executor_id: str | None = None  # stable worker identity; default: hostname-pid
    app_version: str = "fenicia-0.1"

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "fenicia@localhost"
    smtp_starttls: bool = False

    demo: bool = False  # create the Demo Store and the in-process sandbox on an empty database
    demo_api_token: str | None = None
    demo_password: str = "demo-password"
    sandbox_generator_interval_seconds: float | None = 8.0
    worker_enabled: bool = True
    session_secret: str | None = None

    cors_origins: list[str] = Field(default_factory=list)
    # Addresses a merchant types may name loopback, private, link-local or other non-public addresses only
    # when this is set: inventory sources' (stock file URLs, ERP and shop base URLs) and, despite the name,
    # channel connections' too (Shopify's shop_url; the API and token endpoints of Amazon, MercadoLibre,
    # Walmart and TikTok Shop). For a Fenicia inside the merchant's own network, tests and the local demo
    # (`serve --demo` sets it: its channels are the process itself). Off, such addresses are refused
    # (see fenicia.core.netguard).
    allow_private_source_urls: bool = False

    def app_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'fenicia.db'}"

    def system_database_url(self) -> str:
        """Where DBOS keeps its system tables: beside the app database, same server."""
        if self.engine_database_url:
            return self.engine_database_url
        url = self.app_database_url()
        if url.startswith("sqlite"):
            return f"sqlite:///{self.data_dir.resolve() / 'fenicia-engine.db'}"
        return url

    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
