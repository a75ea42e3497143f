"""Shared helpers for benchmarks: subprocess servers, timing, result files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

RESULTS_DIR = Path(__file__).parent / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s}s")


@contextmanager
def process(args: list[str], env: dict[str, str] | None = None, health_url: str | None = None) -> Iterator[None]:
    """Runs a Python module in a subprocess for the duration of the block."""
    proc = subprocess.Popen(
        [sys.executable, *args], env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        if health_url:
            wait_http(health_url)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def shopify_simulator(orders: int = 0) -> Iterator[str]:
    port = free_port()
    args = ["-m", "fenicia.connectors.shopify.simulator", "--port", str(port), "--orders", str(orders)]
    url = f"http://127.0.0.1:{port}"
    with process(args, health_url=f"{url}/_sandbox/state"):
        httpx.post(f"{url}/_sandbox/config", json={"rate_limit_enabled": False}, timeout=10).raise_for_status()
        yield url


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(name: str, figures: dict[str, Any]) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str))
    print(f"\n== {name}")
    for key, value in figures.items():
        print(f"  {key:40s} {value:.3f}" if isinstance(value, float) else f"  {key:40s} {value}")
