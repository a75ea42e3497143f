"""Mount the simulated channels on Fenicia's own web app, so the demo needs one port and one process.

Connectors reach them over real HTTP at ``{base_url}/_sim/{channel}/{slug}/...`` (e.g. the Shopify
Admin API at ``/_sim/shopify/demo-store/admin/api/...``, Amazon's LWA token endpoint at
``/_sim/amazon/demo-store/auth/o2/token``), exactly as they reach the real services; each simulator's
``/_sandbox/...`` control API sits beside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI

from fenicia.sandbox.adapters import DemoChannel
from fenicia.sandbox.records import DEMO_SLUG, sim_mount_path


class DemoSimulators:
    """The demo's channels, as ``DemoSandbox.simulator`` hands them to the mounting code."""

    def __init__(self, channels: Iterable[DemoChannel[Any]]) -> None:
        self.channels = list(channels)


def shopify_mount_path(slug: str = DEMO_SLUG) -> str:
    return sim_mount_path("shopify", slug)


def mount_channels(app: FastAPI, channels: Iterable[DemoChannel[Any]], slug: str = DEMO_SLUG) -> list[str]:
    """Serves each channel's simulator under ``/_sim/{channel}/{slug}``; returns those paths.

    A mounted app's lifespan is not run by Starlette: the demo starts and stops the simulators.
    """
    paths = []
    for channel in channels:
        path = sim_mount_path(channel.key, slug)
        app.mount(path, channel.simulator.app, name=f"sim-{channel.key}-{slug}")
        paths.append(path)
    return paths
