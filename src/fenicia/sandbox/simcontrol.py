"""The ``/_sandbox/...`` control API every simulator shares: faults, the request log, config, state and
the clock (:class:`SandboxControl`), and the simulator's own routes beside them (:func:`control_route`),
each answering errors in its platform's shape (:class:`ControlDialect`). No authentication: sandbox only.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from fenicia.sandbox.simkit import FaultSet, RequestLog

JSON = dict[str, Any]
MAX_BULK = 100_000  # records one control call may seed

ControlHandler = Callable[[Request], Awaitable[Any]]
BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError)


async def read_body(request: Request, *, not_json: str | None = None) -> JSON:
    """The JSON object of a control call (an empty body is ``{}``); ValueError otherwise, worded
    ``not_json`` when the body is not JSON at all (when given)."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        if not_json is None:
            raise
        raise ValueError(not_json) from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def bulk_count(body: JSON, maximum: int = MAX_BULK) -> int:
    """The ``count`` of a bulk seeding call, checked."""
    count = body.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= maximum:
        raise ValueError(f"count must be an integer between 1 and {maximum}")
    return count


def _not_own(exc: Exception) -> Response | None:
    return None


@dataclass(frozen=True)
class ControlDialect:
    """How one simulator's control API words its errors: in its platform's error shape.

    ``bad_input`` answers bad input (a ValueError, KeyError or TypeError: 400); ``no_such_fault`` a
    ``DELETE /faults/{id}`` of an unknown rule (404); ``own_errors`` the simulator's own exception types
    (None: not one of its own). ``not_json`` words a body that is not JSON; ``read_body``, when given,
    replaces the body reader altogether.
    """

    bad_input: Callable[[str], Response]
    no_such_fault: Callable[[int], Response]
    own_errors: Callable[[Exception], Response | None] = _not_own
    not_json: str | None = None
    read_body: Callable[[Request], Awaitable[JSON]] | None = None

    @classmethod
    def keyed(cls, key: str = "error") -> ControlDialect:
        """Errors as ``{key: message}``."""
        return cls(
            bad_input=lambda message: JSONResponse({key: message}, status_code=400),
            no_such_fault=lambda fault_id: JSONResponse({key: f"no fault {fault_id}"}, status_code=404),
        )

    async def body(self, request: Request) -> JSON:
        """The JSON object a control call sent (see :func:`read_body`)."""
        if self.read_body is not None:
            return await self.read_body(request)
        return await read_body(request, not_json=self.not_json)

    def answer(self, exc: Exception) -> Response | None:
        """The error answer for ``exc``, or None when it is no error of the caller's."""
        own = self.own_errors(exc)
        if own is not None:
            return own
        return self.bad_input(str(exc)) if isinstance(exc, BAD_INPUT_ERRORS) else None

    def route(self, path: str, handler: ControlHandler, method: str = "GET", status: int = 200) -> Route:
        """:func:`control_route` speaking this dialect."""
        return control_route(path, handler, method, dialect=self, status=status)


def control_route(
    path: str,
    handler: ControlHandler,
    method: str = "GET",
    *,
    error_key: str = "error",
    dialect: ControlDialect | None = None,
    status: int = 200,
) -> Route:
    """``/_sandbox{path}``: the handler's result as JSON with ``status`` (a Response passes through as it is);
    errors answered in ``dialect`` (default: bad input is 400 ``{error_key: message}``). No authentication:
    sandbox only."""
    speaks = dialect or ControlDialect.keyed(error_key)

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except Exception as exc:
            answer = speaks.answer(exc)
            if answer is None:
                raise
            return answer
        return result if isinstance(result, Response) else JSONResponse(result, status_code=status)

    return Route("/_sandbox" + path, endpoint, methods=[method])


class ControlledConfig(Protocol):
    def update(self, changes: JSON) -> list[str]: ...

    def public(self) -> JSON: ...


@dataclass
class SandboxControl:
    """The control routes every simulator shares (answers as in the Shopify simulator):

    ``GET /faults`` · ``POST /faults`` (201 ``{"fault"}``) · ``DELETE /faults`` · ``DELETE /faults/{id}``
    · ``GET /requests?method=&path_contains=`` · ``DELETE /requests`` · ``GET /config`` · ``POST /config``
    (``{"changed", "config"}``) · ``GET /state`` · ``POST /clock {"advance_s"}`` when the simulator has a clock.

    ``on_config(changed)`` applies changed settings to the simulator's state (may be async);
    ``on_faults_changed`` runs after faults are removed (e.g. to release held webhooks);
    ``fault_defaults`` completes a new rule's spec (e.g. the only path a kind makes sense on);
    ``request_filters`` maps more query parameters of ``GET /requests`` to the record field they must
    equal; ``on_requests_cleared`` forgets what the simulator keeps beside the log. Errors are worded in
    ``dialect`` (default: ``{error_key: message}``).
    """

    faults: FaultSet
    requests: RequestLog
    config: ControlledConfig
    state: Callable[[], JSON]
    on_config: Callable[[list[str]], object] | None = None
    on_faults_changed: Callable[[], None] | None = None
    advance_clock: Callable[[float], JSON] | None = None
    error_key: str = "error"
    dialect: ControlDialect | None = None
    fault_defaults: Callable[[JSON], JSON] | None = None
    request_filters: dict[str, str] = field(default_factory=dict)
    on_requests_cleared: Callable[[], None] | None = None

    @property
    def speaks(self) -> ControlDialect:
        return self.dialect or ControlDialect.keyed(self.error_key)

    def routes(self) -> list[BaseRoute]:
        dialect = self.speaks

        def r(path: str, handler: ControlHandler, method: str = "GET") -> Route:
            return control_route(path, handler, method, dialect=dialect)

        routes: list[BaseRoute] = [
            r("/faults", self.list_faults),
            r("/faults", self.add_fault, "POST"),
            r("/faults", self.clear_faults, "DELETE"),
            r("/faults/{fault_id:int}", self.remove_fault, "DELETE"),
            r("/requests", self.list_requests),
            r("/requests", self.clear_requests, "DELETE"),
            r("/config", self.show_config),
            r("/config", self.update_config, "POST"),
            r("/state", self.show_state),
        ]
        if self.advance_clock is not None:
            routes.append(r("/clock", self.clock, "POST"))
        return routes

    async def list_faults(self, request: Request) -> JSON:
        return {"faults": [rule.public() for rule in self.faults.rules]}

    async def add_fault(self, request: Request) -> Response:
        spec = await self.speaks.body(request)
        if self.fault_defaults is not None:
            spec = self.fault_defaults(spec)
        rule = self.faults.add(spec)
        return JSONResponse({"fault": rule.public()}, status_code=201)

    async def clear_faults(self, request: Request) -> JSON:
        self.faults.clear()
        self._faults_changed()
        return {"faults": []}

    async def remove_fault(self, request: Request) -> Response:
        fault_id = request.path_params["fault_id"]
        if not self.faults.remove(fault_id):
            return self.speaks.no_such_fault(fault_id)
        self._faults_changed()
        return JSONResponse({"removed": fault_id})

    def _faults_changed(self) -> None:
        if self.on_faults_changed is not None:
            self.on_faults_changed()

    async def list_requests(self, request: Request) -> JSON:
        params = request.query_params
        method, contains = params.get("method"), params.get("path_contains")
        wanted = {key: params[name] for name, key in self.request_filters.items() if name in params}
        records = [
            record
            for record in self.requests.public()
            if (method is None or record["method"] == method.upper())
            and (contains is None or contains in record["path"])
            and all(record[key] == value for key, value in wanted.items())
        ]
        return {"requests": records}

    async def clear_requests(self, request: Request) -> JSON:
        self.requests.clear()
        if self.on_requests_cleared is not None:
            self.on_requests_cleared()
        return {"requests": []}

    async def show_config(self, request: Request) -> JSON:
        return {"config": self.config.public()}

    async def update_config(self, request: Request) -> JSON:
        changed = self.config.update(await self.speaks.body(request))
        if self.on_config is not None:
            applied = self.on_config(changed)
            if inspect.isawaitable(applied):
                await applied
        return {"changed": changed, "config": self.config.public()}

    async def show_state(self, request: Request) -> JSON:
        return self.state()

    async def clock(self, request: Request) -> JSON:
        seconds = (await self.speaks.body(request)).get("advance_s")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise ValueError("advance_s must be a non-negative number")
        assert self.advance_clock is not None  # the route exists only with a clock
        return self.advance_clock(float(seconds))
