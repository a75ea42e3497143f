"""What the inventory-source tests share: a simulator on a real loopback port with a client for its
``/_sandbox/...`` control API, fast connector settings, and reading or connecting a connector.

The per-source helpers (``odoo_sim``, ``erpnext_sim``, ``shiphero_sim``, ``woocommerce_sim``) subclass
:class:`SimHandle` with a ``connector(...)`` builder and a ``running_<source>(**config)`` context manager.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx
import pytest

import servers
from fenicia.connectors.base import InventorySourceConnector, LevelsCursor, LevelsPage, StockLevel
from fenicia.core.errors import FeniciaError

# Short timeouts and instant retry waits (waits are settings, never patched).
FAST: dict[str, Any] = {
    "timeout_seconds": 2.0,
    "max_retries_in_call": 2,
    "retry_wait_cap_seconds": 1.0,
    "retry_base_wait_seconds": 0.01,
}
Row = tuple[str, str | None, int, int | None, int | None]
E = TypeVar("E", bound=FeniciaError)


class Served(Protocol):
    @property
    def app(self) -> Any: ...


S = TypeVar("S", bound=Served)
H = TypeVar("H")


@dataclass
class SimHandle(Generic[S]):
    """A running simulator and its base URL, with its control API at hand."""

    sim: S
    url: str

    def control(self, method: str, path: str, json: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def fault(self, kind: str, **rule: Any) -> None:
        self.control("POST", "faults", {"kind": kind, **rule})

    def requests(self, path_contains: str = "") -> list[dict[str, Any]]:
        return list(self.control("GET", f"requests?path_contains={path_contains}")["requests"])


@contextmanager
def running(sim: S, handle: Callable[[S, str], H]) -> Iterator[H]:
    """``sim`` served on a free loopback port while the block runs, as ``handle(sim, url)``."""
    with servers.serve(sim.app) as url:
        yield handle(sim, url)


async def read_pages(connector: InventorySourceConnector, cursor: LevelsCursor | None = None) -> list[LevelsPage]:
    return [page async for page in connector.fetch_levels(cursor or LevelsCursor())]


async def read_levels(connector: InventorySourceConnector, cursor: LevelsCursor | None = None) -> list[StockLevel]:
    return [level for page in await read_pages(connector, cursor) for level in page.levels]


def rows(levels: list[StockLevel]) -> set[Row]:
    """``(code, location, available, on_hand, reserved)`` of each level: what a test compares."""
    return {(lv.code, lv.location, lv.available, lv.on_hand, lv.reserved) for lv in levels}


async def connect(connector: InventorySourceConnector) -> str:
    """``test_connection``'s message; the connector is closed afterwards."""
    try:
        return await connector.test_connection()
    finally:
        await connector.aclose()


async def connection_error(connector: InventorySourceConnector, expected: type[E]) -> E:
    """The error ``test_connection`` raises, which must be an ``expected``; the connector is closed."""
    with pytest.raises(expected) as caught:
        await connect(connector)
    return caught.value
