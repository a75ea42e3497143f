"""Assembles a running Fenicia from Settings: the context, the engine, the web app and its lifespan.

The CLI, the end-to-end harness and anyone embedding Fenicia build the process here, so they all get
the same wiring. Switching to PostgreSQL is only ``FENICIA_DATABASE_URL``: the engine follows through
``Settings.system_database_url()``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy import make_url

from fenicia.api.app import create_app
from fenicia.channels.context import SyncContext
from fenicia.core.crypto import SecretBox, load_or_create_key
from fenicia.core.errors import ConfigError
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.db.migrate import alembic_config
from fenicia.engine import Engine
from fenicia.engine.heartbeat import default_executor_id
from fenicia.sandbox.demo import DemoSandbox
from fenicia.sandbox.mount import mount_channels
from fenicia.web import mount_web

log = structlog.get_logger(__name__)

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
LISTEN_WAIT_SECONDS = 30.0
LISTEN_POLL_SECONDS = 0.05


def build_context(settings: Settings, worker_id: str) -> SyncContext:
    """The database, the secret box (key from the env or the data directory's key file) and settings."""
    box = SecretBox(load_or_create_key(settings))
    return SyncContext(db=Database(settings.app_database_url()), box=box, settings=settings, worker_id=worker_id)


def safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def check_migrated(settings: Settings) -> None:
    """Raises ConfigError unless the app database is at the migrations' head revision."""
    url = settings.app_database_url()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    db = Database(url)
    try:
        with db.read_session() as session:
            current = MigrationContext.configure(session.connection()).get_current_revision()
    finally:
        db.dispose()
    if current != head:
        state = "has no Fenicia tables yet" if current is None else f"is at revision {current}, not {head}"
        raise ConfigError(f"The database {safe_url(url)} {state}.", resolution="Run `fenicia migrate` first.")


def connect_host(host: str) -> str:
    """Where to reach a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host in WILDCARD_HOSTS else host.strip("[]")


async def wait_until_listening(host: str, port: int, timeout_seconds: float = LISTEN_WAIT_SECONDS) -> bool:
    """True once a TCP connection to ``host:port`` succeeds; False after ``timeout_seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection(connect_host(host), port)
        except OSError:
            await asyncio.sleep(LISTEN_POLL_SECONDS)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


@dataclass
class Lifecycle:
    """What the web process starts after the app is built and stops on shutdown.

    With the demo, the engine starts only once the server accepts connections: its first poll of the
    demo connection goes over HTTP to this very server, and must not fail into the retry ladder.
    """

    engine: Engine
    db: Database
    settings: Settings
    sandbox: DemoSandbox | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _engine_start: asyncio.Future[None] | None = field(default=None, repr=False)

    async def startup(self) -> None:
        if self.sandbox is None:
            await self._start_engine()
        else:
            self._task = asyncio.create_task(self._start_when_listening(self.sandbox), name="fenicia-demo")

    async def _start_engine(self) -> None:
        # Shielded: a start that is under way when shutdown comes is finished, then stopped properly.
        self._engine_start = asyncio.ensure_future(asyncio.to_thread(self.engine.start))
        await asyncio.shield(self._engine_start)

    async def _stop_engine(self) -> None:
        starting, self._engine_start = self._engine_start, None
        if starting is None:
            return
        await asyncio.gather(starting, return_exceptions=True)
        if starting.exception() is None:
            await asyncio.to_thread(self.engine.stop)

    async def _start_when_listening(self, sandbox: DemoSandbox) -> None:
        if not await wait_until_listening(self.settings.host, self.settings.port):
            log.warning("server_not_listening", host=self.settings.host, port=self.settings.port)
        await self._start_engine()
        try:
            await sandbox.go_live()
        except Exception:
            log.exception("demo_start_failed")

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self.sandbox is not None:
            await self.sandbox.stop()
        await self._stop_engine()
        self.db.dispose()


def install_lifespan(app: FastAPI, lifecycle: Lifecycle) -> None:
    """Runs ``lifecycle`` inside whatever lifespan the app already has."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        async with inner(asgi_app) as state:
            await lifecycle.startup()
            try:
                yield state
            finally:
                await lifecycle.shutdown()

    app.router.lifespan_context = lifespan


def build_web_app(settings: Settings, *, with_worker: bool, demo: bool) -> FastAPI:
    """The web process: API and dashboard plus, unless ``with_worker`` is False, the engine's workers.

    With ``demo`` the Demo Store is prepared now and its simulated shop is mounted on this app. Its channels
    are this very process, on its own address (loopback for ``make run``), so the demo allows private
    addresses (``allow_private_source_urls``, see ``core.netguard``): a demo is never a production Fenicia.
    """
    if demo:
        settings = settings.model_copy(update={"allow_private_source_urls": True})
    worker_id = default_executor_id(settings.executor_id)
    ctx = build_context(settings, worker_id)
    engine = Engine(
        ctx, executor_id=worker_id, run_workers=with_worker, queue_polling_seconds=settings.queue_polling_seconds
    )
    app = create_app(settings=settings, db=ctx.db, box=ctx.box, dispatcher=engine, engine_state=engine.state)
    mount_web(app)
    sandbox: DemoSandbox | None = None
    if demo:
        sandbox = DemoSandbox(ctx)
        sandbox.prepare()
        mount_channels(app, sandbox.channels)
    install_lifespan(app, Lifecycle(engine, ctx.db, settings, sandbox))
    return app
