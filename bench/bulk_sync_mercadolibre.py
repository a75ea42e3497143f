"""Bulk sync from the MercadoLibre simulator into Fenicia on SQLite, through the engine's own run code.

(a) Rate limits off: N orders (each search result plus its shipment, ~1.02 requests per order) → orders/s.
(b) The simulator's default rate limit on (a token bucket of 1,500 requests/min [U], ML publishes none)
    and the connector's default pacing, for a short window → achieved requests/s as a fraction of the
    limit, and the number of 429 answers (target: >= 90 % with zero 429s).

Run: ``python -m bench.bulk_sync_mercadolibre --orders 5000 --window 8``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    bulk_sync_setup,
    channel_simulator,
    control,
    imported,
    report,
    timed_run,
    window_run,
)
from fenicia.channels.context import SyncContext
from fenicia.connectors.mercadolibre.sim_config import MercadoLibreSimConfig

CONFIG = MercadoLibreSimConfig()
LIMIT_PER_S = CONFIG.rate_limit_per_minute / 60.0


def setup(data_dir: Path, url: str, name: str, settings: dict[str, Any]) -> tuple[SyncContext, int]:
    """A fresh SQLite database with one MercadoLibre connection (a new refresh token) and a queued bulk run."""
    refresh_token = control(url, "POST", "oauth/refresh_tokens")["refresh_token"]
    credentials = {
        "client_id": str(CONFIG.app_id),
        "client_secret": CONFIG.client_secret,
        "refresh_token": refresh_token,
    }
    channel_settings = {"seller_id": CONFIG.seller_id, "api_url": url, **settings}
    return bulk_sync_setup(data_dir, name, "mercadolibre", channel_settings, credentials)


def limits_off(tmp: Path, orders: int) -> dict[str, Any]:
    with channel_simulator("mercadolibre", orders, rate_limited=False) as url:
        ctx, run_id = setup(tmp, url, "off", {"rate_limit_per_minute": None})
        elapsed = timed_run(ctx, run_id)
        count, _ = imported(ctx)
        requests = len(control(url, "GET", "requests")["requests"])
        ctx.db.dispose()
    return {
        "limits_off_orders": count,
        "limits_off_seconds": elapsed,
        "limits_off_orders_per_s": count / elapsed,
        "limits_off_requests_per_order": requests / max(count, 1),
    }


def limits_on(tmp: Path, orders: int, window_s: float) -> dict[str, Any]:
    with channel_simulator("mercadolibre", orders) as url:
        ctx, run_id = setup(tmp, url, "on", {})  # the connector's default pacing
        control(url, "DELETE", "requests")
        elapsed = window_run(ctx, run_id, window_s)
        log = [r for r in control(url, "GET", "requests")["requests"] if r["path"] != "/oauth/token"]
        ctx.db.dispose()
    achieved = len(log) / elapsed
    throttled = sum(1 for r in log if r["status"] == 429)
    return {
        "limit_requests_per_s": LIMIT_PER_S,
        "limits_on_window_seconds": elapsed,
        "limits_on_requests": len(log),
        "limits_on_requests_per_s": achieved,
        "limits_on_fraction_of_limit": achieved / LIMIT_PER_S,
        "limits_on_429s": throttled,
        "meets_target": achieved / LIMIT_PER_S >= 0.9 and throttled == 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bulk sync from the MercadoLibre simulator")
    parser.add_argument("--orders", type=int, default=5000, help="orders for the limits-off run")
    parser.add_argument("--window", type=float, default=8.0, help="seconds of the rate-limited run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        figures = limits_off(Path(tmp), args.orders)
        figures |= limits_on(Path(tmp), max(args.orders, 2000), args.window)
    report("bulk_sync_mercadolibre", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
