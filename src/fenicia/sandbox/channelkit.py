"""What the channel simulators (Shopify, Amazon, MercadoLibre, Walmart, TikTok Shop) share beyond
:mod:`fenicia.sandbox.simkit`.

- :class:`ChannelSimulator`, the base of each simulator class: its app runs the background tasks (the
  webhook sender, if the channel sends webhooks, and the customer generator) with the app's lifespan,
  and settings change at runtime through :meth:`~ChannelSimulator.update_config`;
- :class:`CheckedConfig`, the base of each simulator's config dataclass: runtime changes from JSON, each
  field taking only a value of its own kind;
- :class:`ActivityGenerator`, simulated customers acting in the background;
- :func:`channel_control`: the control routes all channel simulators serve alike (faults, requests,
  config, state, clock, bulk seeding, one generator tick);
- :func:`channel_options` and :func:`standalone_channel`, for ``python -m <channel>.simulator``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import typing
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import fields
from typing import Any, Generic, Protocol, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute

from fenicia.sandbox.simkit import (
    JSON,
    ControlDialect,
    ControlledConfig,
    FaultSet,
    RequestLog,
    SandboxControl,
    bulk_count,
    control_route,
)

MAX_BULK_ORDERS = 1_000_000  # past orders one control call may seed


# -- settings -------------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    """A JSON number (``true``/``false`` are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class CheckedConfig:
    """Base of a channel simulator's config dataclass, changed at runtime by ``POST /_sandbox/config``.

    Changes come as JSON, so each field takes only a value of its own kind (:meth:`accepts`): a flag a
    boolean, a count a whole number, a duration any number, a list items of its declared type, text text;
    null only where the field is declared optional (``X | None``). All changes are checked before any is
    made. A config overrides :meth:`accepts` for fields with stricter rules and :meth:`assign` for fields
    merged rather than replaced.
    """

    def update(self, changes: JSON) -> list[str]:
        """Apply runtime changes; returns the names changed, sorted. ValueError on an unknown or bad one."""
        known = {f.name for f in fields(self)}  # type: ignore[arg-type]  # subclasses are dataclasses
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        for name, value in changes.items():
            if not self.accepts(name, getattr(self, name), value):
                raise ValueError(f"invalid value for {name}: {value!r}")
        for name, value in changes.items():
            self.assign(name, value)
        return sorted(changes)

    def public(self) -> JSON:
        """The settings as JSON, secrets included: this is a sandbox, not a real account."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def accepts(self, name: str, current: Any, value: Any) -> bool:
        """Whether ``value`` (from JSON) fits the field ``name``, whose value is ``current``."""
        hint = typing.get_type_hints(type(self))[name]
        kinds = typing.get_args(hint) or (hint,)
        if value is None:
            return type(None) in kinds
        if isinstance(current, bool):
            return isinstance(value, bool)
        if isinstance(current, int):
            return is_number(value) and float(value).is_integer()
        if isinstance(current, float) or (current is None and float in kinds):
            return is_number(value)
        if isinstance(current, list):
            if typing.get_args(hint) == (str,):
                return isinstance(value, list) and all(isinstance(item, str) for item in value)
            return isinstance(value, list) and all(is_number(item) for item in value)
        return isinstance(value, str) if current is None else isinstance(value, type(current))

    def assign(self, name: str, value: Any) -> None:
        setattr(self, name, value)


# -- simulated customers --------------------------------------------------------------------------


class GeneratorSettings(Protocol):
    @property
    def seed(self) -> int: ...

    @property
    def generator_interval_s(self) -> float | None: ...


class ActivityGenerator:
    """Simulated customers: ``step()`` every ``settings.generator_interval_s`` seconds in a background task,
    while it is set (None or 0: off). A step that raises one of ``skip`` (e.g. an order that moved on) is
    skipped. ``rng`` is the steps' random source, reproducible from ``settings.seed``."""

    def __init__(
        self,
        step: Callable[[], object],
        settings: GeneratorSettings,
        *,
        name: str,
        skip: tuple[type[Exception], ...] = (),
    ) -> None:
        self.step, self.settings, self.name, self.skip = step, settings, name, skip
        self.rng = random.Random(f"{settings.seed}:generator")
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """Start ticking if an interval is set. Idempotent."""
        if self._task is None and self.settings.generator_interval_s:
            self._task = asyncio.create_task(self._tick_forever(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _tick_forever(self) -> None:
        while interval := self.settings.generator_interval_s:
            await asyncio.sleep(interval)
            with contextlib.suppress(*self.skip):
                self.step()


# -- the simulator ----------------------------------------------------------------------------------


class Sender(Protocol):
    """A simulator's webhook sender (:class:`fenicia.sandbox.webhook_sender.WebhookSender`)."""

    @property
    def running(self) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def release_held_if_unordered(self) -> None: ...


C = TypeVar("C", bound=ControlledConfig)


class ChannelSimulator(ABC, Generic[C]):
    """Base of a channel simulator class. A subclass sets ``config``, ``faults``, ``requests``,
    ``generator`` and, when the channel sends webhooks, ``sender``; builds its app with :meth:`serve`; and
    says what its control API needs (:meth:`state`, :meth:`advance_clock`, seeding and one generator tick).
    """

    config: C
    faults: FaultSet
    requests: RequestLog
    generator: ActivityGenerator
    sender: Sender | None = None

    def serve(self, routes: list[BaseRoute]) -> Starlette:
        """The app: ``routes``, with the background tasks started and stopped by its lifespan."""
        return Starlette(routes=routes, lifespan=self._lifespan)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        """Start the webhook sender and, if configured, the customer generator. Idempotent."""
        if self.sender is not None:
            await self.sender.start()
        self.generator.start()

    async def stop(self) -> None:
        await self.generator.stop()
        if self.sender is not None:
            await self.sender.stop()

    async def update_config(self, changes: JSON) -> list[str]:
        """Change settings at runtime (as ``POST /_sandbox/config`` does); returns the names changed."""
        changed = self.config.update(changes)
        await self.apply_config(changed)
        return changed

    async def apply_config(self, changed: list[str]) -> None:
        """Make changed settings take effect. Here: the generator follows a new interval (it runs when the
        simulator does); a subclass adds its own and calls this."""
        if "generator_interval_s" in changed:
            await self.generator.stop()
            if self.sender is None or self.sender.running:
                await self.start()

    @abstractmethod
    def state(self) -> JSON:
        """Counts for ``GET /_sandbox/state``."""

    @abstractmethod
    def advance_clock(self, seconds: float) -> JSON:
        """Move the simulated clock on (``POST /_sandbox/clock``); the answer says the new time."""

    @abstractmethod
    def bulk_create_orders(self, count: int) -> None:
        """Seed ``count`` past orders quickly (no webhooks)."""

    @abstractmethod
    def generator_step(self) -> str:
        """One tick of simulated customers; what it did."""


def channel_control(
    sim: ChannelSimulator[Any], dialect: ControlDialect, *, order_count: Callable[[], int], **options: Any
) -> list[BaseRoute]:
    """The control routes every channel simulator serves alike: :class:`SandboxControl`'s (``options``
    are its further fields; removing faults releases the webhooks a reorder fault held), ``POST
    /orders/bulk {"count"}`` (201 ``{"created", "orders"}``, the orders now held per ``order_count``) and
    ``POST /generator/step`` (``{"did"}``)."""

    async def bulk(request: Request) -> JSON:
        count = bulk_count(await dialect.body(request), MAX_BULK_ORDERS)
        sim.bulk_create_orders(count)
        return {"created": count, "orders": order_count()}

    async def step(request: Request) -> JSON:
        return {"did": sim.generator_step()}

    shared = SandboxControl(
        sim.faults,
        sim.requests,
        sim.config,
        sim.state,
        on_config=sim.apply_config,
        on_faults_changed=None if sim.sender is None else sim.sender.release_held_if_unordered,
        advance_clock=sim.advance_clock,
        dialect=dialect,
        **options,
    )
    return [
        control_route("/orders/bulk", bulk, "POST", dialect=dialect, status=201),
        control_route("/generator/step", step, "POST", dialect=dialect),
        *shared.routes(),
    ]


# -- running one simulator on its own port ----------------------------------------------------------


class Seedable(Protocol):
    def bulk_create_orders(self, count: int) -> None: ...


S = TypeVar("S", bound=Seedable)


def channel_options(parser: argparse.ArgumentParser) -> None:
    """The options of every channel simulator's standalone run: seed, past orders, activity, rate limit."""
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--orders", type=int, default=0, help="bulk-seed this many past orders")
    parser.add_argument("--generator-interval", type=float, default=None, help="seconds between customer actions")
    parser.add_argument("--no-rate-limit", action="store_true", help="serve without rate limits")


def standalone_channel(
    args: argparse.Namespace, simulator: Callable[[Any], S], config: Callable[..., Any], **fields: Any
) -> S:
    """The simulator of a standalone run: its ``config(**fields)`` with the :func:`channel_options` given,
    and the past orders asked for."""
    settings = config(
        seed=args.seed,
        generator_interval_s=args.generator_interval,
        rate_limit_enabled=not args.no_rate_limit,
        **fields,
    )
    sim = simulator(settings)
    if args.orders:
        sim.bulk_create_orders(args.orders)
    return sim


__all__ = [
    "MAX_BULK_ORDERS",
    "ActivityGenerator",
    "ChannelSimulator",
    "CheckedConfig",
    "channel_control",
    "channel_options",
    "is_number",
    "standalone_channel",
]
