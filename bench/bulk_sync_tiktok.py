"""Bulk sync from the TikTok Shop simulator into Fenicia on SQLite, in two parts.

(a) Limits off: N orders (default 20,000) pulled by a "Sync orders" run, 100 per page → orders/s.
(b) The platform's limit on: TikTok Shop publishes none; the figure usually quoted, 50 requests/s per app,
    shop and API [U], is the simulator's default token bucket. A bulk run over a smaller shop with small
    pages (so each request is cheap and the limit, not the work, sets the pace) for a short window →
    achieved requests/s ÷ 50 and the number of throttle answers (target ≥ 90 % with zero 429s).

Run: ``python -m bench.bulk_sync_tiktok [--orders N] [--limited-orders M] [--limited-page-size P]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.common import bulk_sync_setup, channel_simulator, imported, report, timed_run
from fenicia.channels.context import SyncContext
from fenicia.connectors.tiktok.sim_config import TikTokSimConfig

CREDENTIALS = {
    "app_key": TikTokSimConfig.app_key,
    "app_secret": TikTokSimConfig.app_secret,
    "refresh_token": TikTokSimConfig.refresh_token,
}
ASSUMED_LIMIT_PER_S = TikTokSimConfig.rate_limit_per_s  # [U] 50 requests/s per app, shop and API
TARGET_FRACTION = 0.9


def _setup(data_dir: Path, sim_url: str, connector_settings: dict[str, Any]) -> tuple[SyncContext, int]:
    settings = {"api_base_url": sim_url, "auth_base_url": sim_url, **connector_settings}
    return bulk_sync_setup(data_dir, "tiktok", "tiktok", settings, CREDENTIALS)


def _run(ctx: SyncContext, run_id: int) -> tuple[float, int, str]:
    elapsed = timed_run(ctx, run_id)
    return elapsed, *imported(ctx, run_id)


def unlimited(orders: int) -> dict[str, Any]:
    fast = {"page_size": 100, "rate_limit_per_second": 1_000_000.0, "pacing_burst": 1000, "timeout_seconds": 30.0}
    with tempfile.TemporaryDirectory() as tmp, channel_simulator("tiktok", orders, rate_limited=False) as sim_url:
        ctx, run_id = _setup(Path(tmp), sim_url, fast)
        elapsed, imported, status = _run(ctx, run_id)
        ctx.db.dispose()
    return {
        "limits_off_orders": imported,
        "limits_off_run_status": status,
        "limits_off_seconds": elapsed,
        "limits_off_orders_per_s": imported / elapsed,
    }


def limited(orders: int, page_size: int) -> dict[str, Any]:
    """The connector's own pacing (defaults: 95 % of the assumed limit) against the simulator's bucket."""
    with tempfile.TemporaryDirectory() as tmp, channel_simulator("tiktok", orders) as sim_url:
        ctx, run_id = _setup(Path(tmp), sim_url, {"page_size": page_size, "timeout_seconds": 30.0})
        elapsed, imported, status = _run(ctx, run_id)
        ctx.db.dispose()
        log = httpx.get(f"{sim_url}/_sandbox/requests", timeout=30).json()["requests"]
        state = httpx.get(f"{sim_url}/_sandbox/state", timeout=30).json()
    api_calls = [r for r in log if not r["path"].startswith("/api/v2/token/")]
    achieved = len(api_calls) / elapsed
    return {
        "limited_orders": imported,
        "limited_run_status": status,
        "limited_page_size": page_size,
        "limited_window_seconds": elapsed,
        "limited_api_requests": len(api_calls),
        "limited_429_answers": max(int(state["throttled"]), sum(1 for r in api_calls if r["status"] == 429)),
        "limit_requests_per_s": ASSUMED_LIMIT_PER_S,
        "achieved_requests_per_s": achieved,
        "achieved_fraction_of_limit": achieved / ASSUMED_LIMIT_PER_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=20_000, help="orders for the limits-off run")
    parser.add_argument("--limited-orders", type=int, default=3_000, help="orders for the rate-limited window")
    parser.add_argument("--limited-page-size", type=int, default=10, help="page size of the rate-limited window")
    args = parser.parse_args(argv)
    figures = unlimited(args.orders) | limited(args.limited_orders, args.limited_page_size)
    figures["meets_target"] = (
        figures["achieved_fraction_of_limit"] >= TARGET_FRACTION and figures["limited_429_answers"] == 0
    )
    report("bulk_sync_tiktok", figures)
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
