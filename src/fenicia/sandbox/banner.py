"""What the demo prints once it is live: where to go, how to log in, the token, and the five channels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fenicia.core.settings import Settings
from fenicia.sandbox.adapters import DemoChannel
from fenicia.sandbox.records import DEMO_EMAIL, DEMO_SLUG, DemoRecords, sim_url


def how_orders_arrive(nudge_s: float | None) -> str:
    if nudge_s is not None:
        return f"polled every {nudge_s:g} s"
    return "webhooks to Fenicia, polled every 5 min"


def channel_lines(
    settings: Settings, channels: Sequence[DemoChannel[Any]], nudges: dict[str, float | None]
) -> list[str]:
    width = max(len(channel.label) for channel in channels) + 2
    lines = []
    for channel in channels:
        how = how_orders_arrive(nudges.get(channel.key))
        lines.append(f"    {channel.label:<{width}}{sim_url(settings, channel.key)}  ({how})")
    return lines


def print_banner(
    settings: Settings,
    records: DemoRecords,
    channels: Sequence[DemoChannel[Any]],
    nudges: dict[str, float | None],
) -> None:
    base = settings.base_url().rstrip("/")
    if records.api_token:
        token_line = f"  API token:  {records.api_token}"
    else:
        token_line = (
            "  API token:  shown once when the Demo Store was created; make a new one with\n"
            f"              fenicia create-token {DEMO_SLUG} my-token"
        )
    lines = [
        "",
        f"Fenicia demo is running at {base}",
        f"  Log in:     {base}/login as {DEMO_EMAIL} / {settings.demo_password}",
        token_line,
        f"  Try:        curl -H 'Authorization: Bearer <token>' {base}/api/v1/orders",
        f"  Channels, simulated in this process ({', '.join(channel.label for channel in channels)}):",
        *channel_lines(settings, channels, nudges),
        "  Each simulator's control API (orders, faults, config) is under <its URL>/_sandbox/.",
        "  The simulators live in memory: a restart begins with fresh ones;",
        "  orders already imported stay in Fenicia's database.",
        "",
    ]
    print("\n".join(lines), flush=True)


def print_skipped(settings: Settings) -> None:
    print(
        f"Demo not started: the database has workspaces but no '{DEMO_SLUG}' one; "
        f"{settings.base_url()} serves as usual.\n"
        "Start with an empty database (e.g. another FENICIA_DATA_DIR) to try the demo.",
        flush=True,
    )
