"""What the channel connectors' error table tests share: answers built as httpx hands them to ``to_error``,
the transport failures every ``to_error`` must map, and the two table tests themselves.

Each channel's test module keeps its own table of real answers (ARCHITECTURE §5: one mapping per
connector, covered by a table test) and makes the tests with :func:`error_table_tests`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fenicia.core.errors import ConnectorError, FeniciaError, TransientError

Answer = Callable[..., httpx.Response]
ErrorTable = list[tuple[Any, type[FeniciaError]]]


def answerer(request: httpx.Request, *, none_is_empty: bool = False) -> Answer:
    """``answer(status, body=None, headers=None)``: a JSON body (a str body is sent as text) to ``request``;
    no body is ``{}``, or nothing at all with ``none_is_empty``."""

    def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers, request=request)
        if body is None and none_is_empty:
            return httpx.Response(status, headers=headers, request=request)
        return httpx.Response(status, json=body if body is not None else {}, headers=headers, request=request)

    return answer


def transport_failures(request: httpx.Request) -> ErrorTable:
    """Failures below HTTP and what they must become: network trouble is transient, a bug is not."""
    return [
        (httpx.ConnectTimeout("timed out", request=request), TransientError),
        (httpx.ReadTimeout("timed out", request=request), TransientError),
        (httpx.WriteTimeout("timed out", request=request), TransientError),
        (httpx.PoolTimeout("timed out", request=request), TransientError),
        (httpx.ConnectError("refused", request=request), TransientError),
        (httpx.RemoteProtocolError("closed", request=request), TransientError),
        (httpx.ReadError("reset", request=request), TransientError),
        (RuntimeError("boom"), ConnectorError),
    ]


def error_table_tests(
    to_error: Callable[[Any], FeniciaError],
    status_table: ErrorTable,
    exception_table: ErrorTable,
    *,
    with_resolution: bool = True,
) -> tuple[Callable[..., None], Callable[..., None]]:
    """``test_status_maps_to_error`` (the error's type, and a message and, ``with_resolution``, a
    resolution for the merchant) and ``test_exception_maps_to_error``, to be bound to those names in the
    channel's test module."""

    @pytest.mark.parametrize(("response", "expected"), status_table, ids=lambda v: getattr(v, "status_code", ""))
    def test_status_maps_to_error(response: httpx.Response, expected: type[FeniciaError]) -> None:
        error = to_error(response)
        assert type(error) is expected
        assert error.message
        assert error.resolution or not with_resolution

    @pytest.mark.parametrize(("exc", "expected"), exception_table, ids=lambda v: type(v).__name__)
    def test_exception_maps_to_error(exc: Exception, expected: type[FeniciaError]) -> None:
        assert type(to_error(exc)) is expected

    return test_status_maps_to_error, test_exception_maps_to_error
