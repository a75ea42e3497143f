"""A simulated channel served on its own port (``fenicia sandbox <channel>``): for crash tests and manual play.

Unlike the demo it knows nothing of Fenicia's database: point a connection at the printed settings with
the printed credentials (the simulator's documented sandbox ones), and, for a channel with webhooks,
pass ``--webhook-url`` (the connection's webhook address) to receive them. State lives in memory and is
gone when the process stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fenicia.sandbox.adapters import DemoChannel, Simulator, demo_channel_class


@dataclass
class Standalone:
    channel: str  # the registry key, e.g. "amazon"
    webhook_url: str | None = None
    generator_interval_seconds: float | None = None
    seed: int = 0
    history_orders: int = 0

    def __post_init__(self) -> None:
        self.sandbox: DemoChannel[Any] = demo_channel_class(self.channel).standalone(
            self.seed, self.generator_interval_seconds
        )

    def build(self) -> Simulator:
        """The simulator, seeded and pointed at the webhook address; its app's lifespan starts
        webhook delivery and the generator."""
        if self.webhook_url:
            self.sandbox.send_webhooks_to(self.webhook_url)  # ConfigError for channels without webhooks
        if self.history_orders:
            self.sandbox.seed_history(self.history_orders)
        simulator: Simulator = self.sandbox.simulator
        return simulator

    def describe(self, host: str, port: int) -> str:
        sandbox = self.sandbox
        url = f"http://{host}:{port}"
        lines = sandbox.describe(url)
        if sandbox.polled:
            lines.append(f"  {sandbox.label} sends no webhooks: Fenicia polls it.")
        else:
            target = self.webhook_url or "(none; pass --webhook-url, or subscribe through the API)"
            lines.append(f"  {'webhooks to:':<15}{target}")
        lines.append("  State lives in memory: stopping the process discards it.")
        return "\n".join(lines)
