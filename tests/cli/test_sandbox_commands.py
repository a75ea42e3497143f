"""`fenicia sandbox <channel>` for the channels beyond Shopify (whose process test is in test_processes.py):
each serves its simulator on its own port with seeded orders, a running customer generator, credentials a
real connector accepts, and, for channels with webhooks, deliveries to --webhook-url."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from fenicia.cli.main import app
from fenicia.connectors.base import MemoryTokenStore
from fenicia.connectors.registry import channel_spec
from fenicia.core import netguard
from fenicia.sandbox.adapters import CHANNEL_KEYS, demo_channel_class
from servers import free_port

FENICIA = str(Path(sys.executable).with_name("fenicia"))
TIMEOUT_S = 60.0
HOOK = "http://127.0.0.1:9/webhooks/{channel}/1"  # nobody listens: deliveries are attempted and retried
runner = CliRunner()


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[Callable[[list[str]], tuple[subprocess.Popen[bytes], Path]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(args: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"sandbox-{len(started)}.log"
        env = {key: value for key, value in os.environ.items() if not key.startswith("FENICIA_")}
        with log.open("wb") as out:
            process = subprocess.Popen([FENICIA, "sandbox", *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        started.append(process)
        return process, log

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


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


def _control(base: str, path: str) -> Any:
    answer = httpx.get(f"{base}/_sandbox/{path}", timeout=5)
    answer.raise_for_status()
    return answer.json()


def _deliveries(channel: str, base: str) -> int:
    if channel == "mercadolibre":
        notes = _control(base, "notifications")["notifications"]
        return sum(len(note["attempts"]) for note in notes)
    return len(_control(base, "webhooks/deliveries")["deliveries"])


async def _test_connection(channel: str, base: str) -> str:
    """What the printed settings and credentials give a real connector."""
    sandbox = demo_channel_class(channel).standalone(0, None)
    spec = channel_spec(channel)
    settings = spec.settings_model.model_validate(sandbox.connection_settings(base))
    credentials = spec.credentials_model.model_validate(sandbox.credentials())
    connector = spec.build(settings, credentials, MemoryTokenStore())
    netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
    try:
        answer: str = await connector.test_connection()
        return answer
    finally:
        await connector.aclose()


def test_sandbox_lists_every_channel_and_offers_webhooks_where_they_exist() -> None:
    listing = runner.invoke(app, ["sandbox", "--help"])
    assert listing.exit_code == 0, listing.output
    for key in CHANNEL_KEYS:
        assert key in listing.stdout
        options = runner.invoke(app, ["sandbox", key, "--help"])
        assert options.exit_code == 0, options.output
        assert "--port" in options.stdout and "--orders" in options.stdout
        assert ("--webhook-url" in options.stdout) == bool(channel_spec(key).webhook_topics), key


@pytest.mark.slow
@pytest.mark.parametrize("channel", [key for key in CHANNEL_KEYS if key != "shopify"])
def test_sandbox_serves_the_channel_standalone(
    channel: str, sandbox_process: Callable[[list[str]], tuple[subprocess.Popen[bytes], Path]]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [channel, "--port", str(port), "--orders", "5", "--generator-interval", "0.2"]
    with_webhooks = bool(channel_spec(channel).webhook_topics)
    if with_webhooks:
        args += ["--webhook-url", HOOK.format(channel=channel)]
    process, log = sandbox_process(args)

    _wait("generated orders", lambda: int(_control(base, "state")["orders"]) > 5, process, log)
    assert asyncio.run(_test_connection(channel, base))  # the printed settings and credentials connect
    printed = log.read_text()
    for value in demo_channel_class(channel).standalone(0, None).credentials().values():
        assert str(value) in printed
    if with_webhooks:
        _wait("a webhook attempt", lambda: _deliveries(channel, base) > 0, process, log)
        assert HOOK.format(channel=channel) in printed
    else:
        assert "sends no webhooks" in printed
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=TIMEOUT_S) in (0, -signal.SIGTERM)
