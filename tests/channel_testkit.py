"""What the channel connector tests share: a handle on a simulator served on a real loopback port, with a
small client for its ``/_sandbox`` control API (each ``<channel>_sim.py`` subclasses it), and a factory
of connectors that are all closed when the test ends, and that may reach loopback (the operator's allowance,
``core.netguard``: every simulator listens there)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx

from fenicia.core import netguard

S = TypeVar("S")


class Closable(Protocol):
    async def aclose(self) -> None: ...


C = TypeVar("C", bound=Closable)


@asynccontextmanager
async def closing_connectors(build: Callable[..., C]) -> AsyncIterator[Callable[..., C]]:
    """``build`` as a factory whose connectors are all closed when the block ends (a fixture's teardown);
    each may reach the simulators on loopback, as the operator allows it (``netguard.apply_policy``)."""
    made: list[C] = []

    def factory(*args: Any, **kwargs: Any) -> C:
        connector = build(*args, **kwargs)
        netguard.apply_policy(connector, allow_private=True)
        made.append(connector)
        return connector

    try:
        yield factory
    finally:
        for connector in made:
            await connector.aclose()


@dataclass
class SandboxHandle(Generic[S]):
    """``sim`` served at ``url``. Control calls go through ``http`` when given (one client for many calls:
    building one per call costs tens of milliseconds), else through a client of their own."""

    sim: S
    url: str
    http: httpx.Client | None = None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self.http is not None:
            return self.http.request(method, f"/_sandbox/{path}", **kwargs)
        return httpx.request(method, f"{self.url}/_sandbox/{path}", timeout=10, **kwargs)

    def control(self, method: str, path: str, json: Any = None) -> Any:
        """The JSON answer of one control call (None when empty); raises on an error status."""
        response = self._send(method, path, json=json)
        response.raise_for_status()
        return response.json() if response.content else None

    def fault(self, kind: str, **rule: Any) -> None:
        self.control("POST", "faults", {"kind": kind, **rule})

    def requests(
        self, method: str | None = None, path_contains: str | None = None, **filters: str | None
    ) -> list[dict[str, Any]]:
        """The simulator's request log, filtered as ``GET /_sandbox/requests`` filters it."""
        wanted = {"method": method, "path_contains": path_contains, **filters}
        answer = self._send("GET", "requests", params={key: value for key, value in wanted.items() if value})
        answer.raise_for_status()
        return list(answer.json()["requests"])
