"""Bulk sync from the Walmart simulator into Fenicia on SQLite, through the engine's own run code.

(a) Rate limits off: N orders (GET /v3/orders, 200 per page, nextCursor) → orders/s.
(b) The simulator's default per-API limits on (GET /v3/orders: a token bucket of 10 calls/s, burst 20
    [U]: Walmart publishes no Marketplace figure) and the connector's default pacing (usage headers
    ``x-current-token-count`` / ``x-next-replenishment-time``), 10 orders per page so the run is bound
    by requests, for a short window → achieved requests/s as a fraction of the limit, and the number
    of 429 answers (target: >= 90 % with zero 429s). A token bucket lets ``burst`` calls through at
    once, so the sustained rate is (requests - burst) / seconds; both figures are printed.

Run: ``python -m bench.bulk_sync_walmart --orders 20000 --window 10``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from bench.common import bulk_sync_setup, channel_simulator, control, imported, report, timed_run, window_run
from fenicia.connectors.walmart.limits import DEFAULT_ALLOWANCES
from fenicia.connectors.walmart.sim_config import WalmartSimConfig

CONFIG = WalmartSimConfig()
LIMIT = DEFAULT_ALLOWANCES["orders_list"]
CREDENTIALS = {"client_id": CONFIG.client_id, "client_secret": CONFIG.client_secret}


def limits_off(tmp: Path, orders: int) -> dict[str, Any]:
    with channel_simulator("walmart", orders, rate_limited=False) as url:
        ctx, run_id = bulk_sync_setup(tmp, "off", "walmart", {"api_base_url": url}, CREDENTIALS)
        elapsed = timed_run(ctx, run_id)
        count, _ = imported(ctx)
        requests = [r for r in control(url, "GET", "requests")["requests"] if r["path"] != "/v3/token"]
        ctx.db.dispose()
    return {
        "limits_off_orders": count,
        "limits_off_seconds": elapsed,
        "limits_off_orders_per_s": count / elapsed,
        "limits_off_requests": len(requests),
    }


def limits_on(tmp: Path, orders: int, window_s: float) -> dict[str, Any]:
    with channel_simulator("walmart", orders, rate_limited=True) as url:
        settings = {"api_base_url": url, "page_size": 10}  # the connector's default pacing
        ctx, run_id = bulk_sync_setup(tmp, "on", "walmart", settings, CREDENTIALS)
        control(url, "DELETE", "requests")
        elapsed = window_run(ctx, run_id, window_s)
        log = [r for r in control(url, "GET", "requests")["requests"] if r["path"].startswith("/v3/orders")]
        ctx.db.dispose()
    throttled = sum(1 for r in log if r["status"] == 429)
    sustained = max(len(log) - LIMIT.burst, 0) / elapsed
    return {
        "limit_requests_per_s": LIMIT.rate_per_s,
        "limit_burst": LIMIT.burst,
        "limits_on_window_seconds": elapsed,
        "limits_on_requests": len(log),
        "limits_on_requests_per_s_raw": len(log) / elapsed,
        "limits_on_requests_per_s_sustained": sustained,
        "limits_on_fraction_of_limit": sustained / LIMIT.rate_per_s,
        "limits_on_429s": throttled,
        "meets_target": sustained / LIMIT.rate_per_s >= 0.9 and throttled == 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bulk sync from the Walmart simulator")
    parser.add_argument("--orders", type=int, default=20000, help="orders for the limits-off run")
    parser.add_argument("--window", type=float, default=10.0, help="seconds of the rate-limited run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        figures = limits_off(Path(tmp), args.orders)
        figures |= limits_on(Path(tmp), 3000, args.window)
    report("bulk_sync_walmart", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
