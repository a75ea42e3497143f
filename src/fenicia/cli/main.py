"""The ``fenicia`` command. Every command reads its settings from the FENICIA_* environment.

``FENICIA_DATABASE_URL=postgresql+psycopg://...`` moves the app (and the engine, which follows it) to
PostgreSQL; nothing else changes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from cryptography.fernet import Fernet

from fenicia.cli.accounts import create_token_command, create_user_command, create_workspace_command
from fenicia.cli.errors import friendly_errors, load_settings
from fenicia.core.settings import Settings
from fenicia.core.startup import freeze_startup_objects
from fenicia.db.migrate import upgrade
from fenicia.engine import Engine
from fenicia.engine.heartbeat import default_executor_id
from fenicia.runtime import WILDCARD_HOSTS, build_context, build_web_app, check_migrated, safe_url
from fenicia.sandbox.adapters import DEMO_CHANNELS
from fenicia.sandbox.standalone import Standalone

GRACEFUL_SHUTDOWN_SECONDS = 15
SANDBOX_BASE_PORT = 8081  # shopify 8081, amazon 8082, mercadolibre 8083, walmart 8084, tiktok 8085
STOP_POLL_SECONDS = 1.0

app = typer.Typer(
    name="fenicia",
    help="Fenicia: multichannel order and inventory sync.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(help="Run a channel simulator on its own port.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.command("create-workspace")(create_workspace_command)
app.command("create-user")(create_user_command)
app.command("create-token")(create_token_command)


@app.command()
@friendly_errors
def migrate() -> None:
    """Create or upgrade the database tables. Safe to run on every deploy."""
    url = load_settings().app_database_url()
    upgrade(url)
    typer.echo(f"Database {safe_url(url)} is up to date.")


@app.command()
def keygen() -> None:
    """Print a new secret key for FENICIA_SECRET_KEY (encrypts channel credentials at rest)."""
    typer.echo(Fernet.generate_key().decode())


def serve_settings(settings: Settings, host: str | None, port: int | None, demo: bool) -> Settings:
    """The command line wins over the environment; a wildcard bind is reached on 127.0.0.1."""
    update: dict[str, object] = {"host": host or settings.host, "port": port or settings.port}
    update["demo"] = demo or settings.demo
    if not settings.public_url and update["host"] in WILDCARD_HOSTS:
        update["public_url"] = f"http://127.0.0.1:{update['port']}"
    return settings.model_copy(update=update)


@app.command()
@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default FENICIA_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default FENICIA_PORT or 8000).")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Serve HTTP only; run `fenicia worker`s.")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="Create the Demo Store with five simulated channels.")] = False,
) -> None:
    """Serve the API, webhooks and dashboard, with the sync workers in the same process."""
    settings = serve_settings(load_settings(), host, port, demo)
    check_migrated(settings)
    web_app = build_web_app(settings, with_worker=settings.worker_enabled and not no_worker, demo=settings.demo)
    typer.echo(f"Fenicia serving on {settings.base_url()} (database {safe_url(settings.app_database_url())})")
    freeze_startup_objects()
    uvicorn.run(
        web_app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


@app.command()
@friendly_errors
def worker() -> None:
    """Run the sync engine only (no HTTP) until SIGTERM or Ctrl-C, then stop cleanly."""
    settings = load_settings()
    check_migrated(settings)
    worker_id = default_executor_id(settings.executor_id)
    engine = Engine(build_context(settings, worker_id), executor_id=worker_id, run_workers=True)
    stop = _stop_on_signals()
    engine.start()
    freeze_startup_objects()
    typer.echo(f"Fenicia worker {engine.executor_id} running; stop with SIGTERM or Ctrl-C.")
    try:
        while not stop.wait(STOP_POLL_SECONDS):
            pass
    finally:
        engine.stop()
        engine.ctx.db.dispose()
    typer.echo("Fenicia worker stopped.")


SandboxCommand = Callable[..., None]
PORT_HELP = "Port to serve the simulator on."
HOST_HELP = "Address to bind."
GENERATOR_HELP = "Seconds between simulated customer actions (default: off)."
SEED_HELP = "Seed of the simulator's ids and data."
ORDERS_HELP = "Past orders to seed (no webhooks)."
WEBHOOK_HELP = "Send the order webhooks here (the connection's /webhooks/{channel}/{id} address)."


def run_sandbox(host: str, port: int, standalone: Standalone) -> None:
    """Serves one simulator until Ctrl-C or SIGTERM; its lifespan starts webhooks and the generator."""
    load_settings()
    simulator = standalone.build()
    typer.echo(standalone.describe(host, port))
    uvicorn.run(simulator.app, host=host, port=port, log_config=None, timeout_graceful_shutdown=5)


def _sandbox_with_webhooks(channel: str, default_port: int) -> SandboxCommand:
    @friendly_errors
    def command(
        port: Annotated[int, typer.Option(help=PORT_HELP)] = default_port,
        host: Annotated[str, typer.Option(help=HOST_HELP)] = "127.0.0.1",
        webhook_url: Annotated[str | None, typer.Option(help=WEBHOOK_HELP)] = None,
        generator_interval: Annotated[float | None, typer.Option(help=GENERATOR_HELP)] = None,
        seed: Annotated[int, typer.Option(help=SEED_HELP)] = 0,
        orders: Annotated[int, typer.Option(help=ORDERS_HELP)] = 0,
    ) -> None:
        run_sandbox(host, port, Standalone(channel, webhook_url, generator_interval, seed, orders))

    return command


def _sandbox_polled(channel: str, default_port: int) -> SandboxCommand:
    @friendly_errors
    def command(
        port: Annotated[int, typer.Option(help=PORT_HELP)] = default_port,
        host: Annotated[str, typer.Option(help=HOST_HELP)] = "127.0.0.1",
        generator_interval: Annotated[float | None, typer.Option(help=GENERATOR_HELP)] = None,
        seed: Annotated[int, typer.Option(help=SEED_HELP)] = 0,
        orders: Annotated[int, typer.Option(help=ORDERS_HELP)] = 0,
    ) -> None:
        run_sandbox(host, port, Standalone(channel, None, generator_interval, seed, orders))

    return command


def _register_sandboxes() -> None:
    """``fenicia sandbox <channel>`` for each simulated channel, on its own default port."""
    for offset, channel in enumerate(DEMO_CHANNELS):
        port = SANDBOX_BASE_PORT + offset
        sandbox = channel.standalone(0, None)
        make = _sandbox_polled if sandbox.polled else _sandbox_with_webhooks
        help_text = f"Run the {channel.label} simulator standalone (its API + the /_sandbox control API)."
        sandbox_app.command(channel.key, help=help_text)(make(channel.key, port))


_register_sandboxes()
