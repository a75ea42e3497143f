"""`fenicia worker` and `fenicia sandbox shopify` as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from fenicia.connectors.shopify import SPEC
from fenicia.core.settings import Settings
from servers import free_port

pytestmark = pytest.mark.slow

FENICIA = str(Path(sys.executable).with_name("fenicia"))
TIMEOUT_S = 60.0


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FENICIA_")}
    env.update(extra)
    return env


def _wait(what: str, probe: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited ({process.returncode}) while waiting for {what}:\n{log.read_text()}")
        try:
            if probe():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()}")


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[list[str], dict[str, str]], tuple[subprocess.Popen[bytes], Path]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{args[0]}-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([FENICIA, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        started.append(process)
        return process, log

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_worker_runs_until_sigterm_and_stops_cleanly(
    settings: Settings, spawn: Callable[[list[str], dict[str, str]], tuple[subprocess.Popen[bytes], Path]]
) -> None:
    env = _env(
        FENICIA_DATA_DIR=str(settings.data_dir),
        FENICIA_DATABASE_URL=settings.app_database_url(),
        FENICIA_ENGINE_DATABASE_URL=settings.system_database_url(),
        FENICIA_EXECUTOR_ID="cli-test-worker",
        FENICIA_ENV="production",
    )
    process, log = spawn(["worker"], env)
    _wait("the worker to run", lambda: "worker cli-test-worker running" in log.read_text(), process, log)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=TIMEOUT_S) == 0, log.read_text()
    assert "Fenicia worker stopped." in log.read_text()
    assert '"event": "engine_stopped"' in log.read_text()  # production logs are JSON lines


def test_sandbox_shopify_serves_a_shop_that_sends_webhooks(
    spawn: Callable[[list[str], dict[str, str]], tuple[subprocess.Popen[bytes], Path]],
) -> None:
    port = free_port()
    hook = "http://127.0.0.1:9/webhooks/shopify/1"  # nobody listens: deliveries are attempted and retried
    args = ["sandbox", "shopify", "--port", str(port), "--webhook-url", hook, "--generator-interval", "0.2"]
    process, log = spawn([*args, "--orders", "5"], _env())
    base = f"http://127.0.0.1:{port}"
    headers = {"X-Shopify-Access-Token": "shpat_sandbox"}

    def orders() -> int:
        answer = httpx.get(f"{base}/admin/api/2024-04/orders.json", params={"status": "any"}, headers=headers)
        return len(answer.json()["orders"]) if answer.status_code == 200 else 0

    _wait("generated orders", lambda: orders() > 5, process, log)
    subscriptions = httpx.get(f"{base}/_sandbox/webhooks").json()["webhooks"]
    assert {s["topic"] for s in subscriptions} == set(SPEC.webhook_topics)
    assert {s["address"] for s in subscriptions} == {hook}
    _wait(
        "a webhook attempt",
        lambda: bool(httpx.get(f"{base}/_sandbox/webhooks/deliveries").json()["deliveries"]),
        process,
        log,
    )
    assert "shop_url:      " + base in log.read_text()
    assert (
        httpx.get(f"{base}/admin/api/2024-04/orders.json", headers={"X-Shopify-Access-Token": "bad"}).status_code == 401
    )
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=TIMEOUT_S) in (0, -signal.SIGTERM)
