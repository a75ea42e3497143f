"""Bulk sync from the Amazon SP-API simulator into Fenicia on SQLite, in two parts.

(a) Limits off: N orders (default 10,000) pulled by a "Sync orders" run → orders/s. Amazon's Orders API
    v0 needs one getOrders call per 100 orders plus one getOrderItems call per order.
(b) Amazon's real usage plans on (getOrders 0.0167/s burst 20, getOrderItems 0.5/s burst 30, ...) for a
    short window: a bulk run over a larger shop, stopped after the window. With these plans
    getOrderItems is the bottleneck (one call per order), so its figures are the ones that count:
    its steady rate after the burst ÷ its plan rate (target ≥ 90 %) and the 429 answers (target 0).

Run: ``python -m bench.bulk_sync_amazon [--orders N] [--limited-orders M] [--window S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import bulk_sync_setup, channel_simulator, imported, report, timed_run
from fenicia.channels.context import SyncContext
from fenicia.channels.runs import execute_run
from fenicia.connectors.amazon.limits import DEFAULT_USAGE_PLANS
from fenicia.connectors.amazon.sim_config import AmazonSimConfig

CREDENTIALS = {
    "client_id": AmazonSimConfig.client_id,
    "client_secret": AmazonSimConfig.client_secret,
    "refresh_token": AmazonSimConfig.refresh_token,
}
BOTTLENECK = "getOrderItems"
TARGET_FRACTION = 0.9
UNLIMITED_PLANS = {name: {"rate_per_s": 1_000_000.0, "burst": 1_000_000} for name in DEFAULT_USAGE_PLANS}


def _setup(data_dir: Path, sim_url: str, connector_settings: dict[str, Any]) -> tuple[SyncContext, int]:
    settings = {
        "endpoint": sim_url,
        "lwa_token_url": f"{sim_url}/auth/o2/token",
        "seller_id": AmazonSimConfig.seller_id,
        "timeout_seconds": 30.0,
        **connector_settings,
    }
    return bulk_sync_setup(data_dir, "amazon", "amazon", settings, CREDENTIALS)


def unlimited(orders: int, concurrency: int) -> dict[str, Any]:
    fast = {"page_size": 100, "items_concurrency": concurrency, "usage_plans": UNLIMITED_PLANS}
    with tempfile.TemporaryDirectory() as tmp, channel_simulator("amazon", orders, rate_limited=False) as sim_url:
        ctx, run_id = _setup(Path(tmp), sim_url, fast)
        elapsed = timed_run(ctx, run_id)
        count, status = imported(ctx, run_id)
        ctx.db.dispose()
    return {
        "limits_off_orders": count,
        "limits_off_run_status": status,
        "limits_off_seconds": elapsed,
        "limits_off_orders_per_s": count / elapsed,
    }


async def _for_a_while(ctx: SyncContext, run_id: int, window_s: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(execute_run(ctx, run_id), window_s)
    await asyncio.sleep(0.5)  # a page commit cut off by the window finishes in its thread


def operation_figures(name: str, stats: dict[str, Any]) -> dict[str, Any]:
    """Calls of one operation during the window, against what its bucket allowed over the same span."""
    calls, rate, burst = int(stats["calls"]), float(stats["rate_per_s"]), int(stats["burst"])
    span = float(stats["last_at"]) - float(stats["first_at"])
    steady = (calls - min(calls, burst)) / span if span > 0 else 0.0
    return {
        f"{name}_calls": calls,
        f"{name}_429_answers": int(stats["throttled"]),
        f"{name}_plan_rate_per_s": rate,
        f"{name}_plan_burst": burst,
        f"{name}_span_seconds": span,
        f"{name}_share_of_bucket_allowance": calls / (burst + rate * span),
        f"{name}_steady_requests_per_s": steady,
        f"{name}_steady_fraction_of_rate": steady / rate,
    }


def limited(orders: int, window_s: float) -> dict[str, Any]:
    """Default connector settings (real usage plans, 97 % pacing) against the simulator's real buckets."""
    with tempfile.TemporaryDirectory() as tmp, channel_simulator("amazon", orders) as sim_url:
        ctx, run_id = _setup(Path(tmp), sim_url, {"page_size": 20})
        started = time.perf_counter()
        asyncio.run(_for_a_while(ctx, run_id, window_s))
        elapsed = time.perf_counter() - started
        count, _ = imported(ctx, run_id)
        ctx.db.dispose()
        state = httpx.get(f"{sim_url}/_sandbox/state", timeout=30).json()
    figures: dict[str, Any] = {"limited_window_seconds": elapsed, "limited_orders_committed": count}
    throttled = 0
    for name, stats in sorted(state["operations"].items()):
        figures |= operation_figures(name, stats)
        throttled += int(stats["throttled"])
    figures["limited_429_answers_all_operations"] = throttled
    figures["bottleneck_operation"] = BOTTLENECK
    figures["achieved_fraction_of_limit"] = figures.get(f"{BOTTLENECK}_steady_fraction_of_rate", 0.0)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=10_000, help="orders for the limits-off run")
    parser.add_argument("--items-concurrency", type=int, default=4, help="getOrderItems in flight (limits off)")
    parser.add_argument("--limited-orders", type=int, default=2_000, help="orders in the rate-limited shop")
    parser.add_argument("--window", type=float, default=60.0, help="seconds of the rate-limited run")
    args = parser.parse_args(argv)
    figures = unlimited(args.orders, args.items_concurrency) | limited(args.limited_orders, args.window)
    figures["meets_target"] = (
        figures["achieved_fraction_of_limit"] >= TARGET_FRACTION and figures["limited_429_answers_all_operations"] == 0
    )
    report("bulk_sync_amazon", figures)
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
