"""Fixtures of the browser tests: one `fenicia serve --demo` for them all, Debian's Chromium, signed-in pages.

Every test here is marked ``slow`` and is skipped, with the reason, when Chromium is not installed at
``/usr/bin/chromium`` (``apt-get install -y chromium``; CI installs it) or the ``playwright`` package
is missing. Playwright never downloads a browser of its own: it launches that Chromium, headless,
with a fresh temporary profile per launch.

The server runs from the first browser test to the last (starting it, DBOS included, takes seconds); each
test uses its own orders, placed in the simulated shop, so the tests do not depend on one another's order.
It is package-scoped (this directory is a package), not session-scoped: on PostgreSQL it holds tens of
connections, which must be free again for the tests after it, and for the other pytest-xdist workers.
Screenshots go to a temporary directory, or to ``docs/screenshots/`` with FENICIA_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from browser.demo_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DESKTOP,
    PHONE,
    DemoServer,
    screenshot_path,
    sign_in,
)
from e2e.support import POSTGRES_URL, Procs, base_env, free_port, fresh_postgres_database, run_command, wait_until
from fenicia.db.engine import Database

HERE = Path(__file__).parent
NO_CHROMIUM = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium; CI installs it)"
NO_PLAYWRIGHT = "the playwright package is not installed (pip install -e '.[dev]')"
EXPECT_TIMEOUT_MS = 20_000  # the engine, webhooks and the 2-second live stream all take part
START_TIMEOUT_S = 60.0
# A failed sync is retried within seconds, not minutes: a test sees the recovery; the run history keeps the failure.
FAST_RETRIES = {"FENICIA_RETRY_DELAYS_SECONDS": "[0.5, 1, 2]"}
# On a busy machine a webhook may be answered late: the shop waits longer and retries within seconds
# (Shopify's own schedule starts at about a minute), so a slow answer delays an order, never loses a test.
PATIENT_WEBHOOKS = {"webhook_timeout_s": 20.0, "webhook_retry_delays_s": [0.5, 1.0, 2.0, 4.0, 8.0]}


def _skip_reason() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return NO_PLAYWRIGHT
    if not CHROMIUM.exists():
        return NO_CHROMIUM
    return None


if importlib.util.find_spec("playwright") is None:  # the test modules import it: don't even collect them
    collect_ignore_glob = ["test_browser_*.py"]


def pytest_report_header() -> str:
    return f"browser tests: {_skip_reason() or f'Chromium {CHROMIUM}'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks this directory's tests slow, and skips them with the reason when the browser is missing."""
    reason = _skip_reason()
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.slow)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _serve(tmp: Path, database_url: str) -> Iterator[DemoServer]:
    data_dir, logs = tmp / "data", tmp / "logs"
    data_dir.mkdir()
    logs.mkdir()
    port = free_port()
    key = Fernet.generate_key().decode()
    env = base_env(
        data_dir,
        database_url,
        key,
        FENICIA_DEMO_PASSWORD=DEMO_PASSWORD,
        FENICIA_ALLOW_PRIVATE_SOURCE_URLS="true",
        **FAST_RETRIES,
    )
    run_command(["migrate"], env)
    procs = Procs(logs)
    db = Database(database_url)
    try:
        proc = procs.start("serve", ["serve", "--demo", "--port", str(port)], env)
        server = DemoServer(f"http://127.0.0.1:{port}", proc, db)
        wait_until("the demo to import its orders", server.demo_ready, START_TIMEOUT_S, watch=[proc])
        server.shop("POST", "config", PATIENT_WEBHOOKS)
        yield server
    except Exception:
        print(procs.report())
        raise
    finally:
        procs.stop_all()
        db.dispose()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    tmp = tmp_path_factory.mktemp("browser")
    if not POSTGRES_URL:
        yield from _serve(tmp, f"sqlite:///{tmp / 'fenicia.db'}")
        return
    with fresh_postgres_database("fenicia_browser") as url:
        yield from _serve(tmp, url)


# Module scope, not session: while Playwright's sync API is open its event loop runs in this thread, and
# every later test that calls asyncio.run would fail. The demo server itself stays up for the package.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def demo_session(server: DemoServer, browser: Any) -> dict[str, Any]:
    """The demo user's cookies after one real sign-in, reused by every signed-in page."""
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
        state: dict[str, Any] = context.storage_state()
        return state
    finally:
        context.close()


@pytest.fixture
def new_context(server: DemoServer, browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_context(**options)``: a browser context on the server (desktop size unless told), closed after."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(base_url=server.url, **({"viewport": DESKTOP} | options))
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., Any], demo_session: dict[str, Any]) -> Any:
    """A desktop page signed in as the demo user."""
    return new_context(storage_state=demo_session).new_page()


@pytest.fixture
def phone_page(new_context: Callable[..., Any], demo_session: dict[str, Any]) -> Any:
    """A phone-sized page (390x844, touch, mobile viewport rules) signed in as the demo user."""
    context = new_context(storage_state=demo_session, viewport=PHONE, is_mobile=True, has_touch=True)
    return context.new_page()


@pytest.fixture
def anon_page(new_context: Callable[..., Any]) -> Any:
    """A desktop page with no session."""
    return new_context().new_page()


@pytest.fixture
def shot(tmp_path: Path) -> Callable[..., Path]:
    """``shot(page, name, full_page=False)``: a PNG of the page (see the module docstring for where)."""

    def take(page: Any, name: str, full_page: bool = False) -> Path:
        path = screenshot_path(tmp_path, name)
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        assert path.stat().st_size > 0
        return path

    return take
