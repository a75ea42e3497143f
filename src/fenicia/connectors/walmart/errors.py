"""The one mapping of Walmart answers and transport failures to the Fenicia error taxonomy.

Walmart's error body (reference §4.7 and the models' ``GatewayError``) is a list of
``{code, field, description|message, info, severity, category}``; the order APIs wrap it as
``{"errors": {"error": [...]}}``, the error-codes page shows ``{"errors": [...]}``. Both are read.
A gateway failure may come back with a bare status and no body at all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import httpx

from fenicia.connectors.walmart.limits import REPLENISHMENT_HEADER, parse_replenishment
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    RemoteNotFound,
    TransientError,
    ValidationFailed,
)

RECONNECT = "Reconnect the channel in Settings."
# 400 texts that mean "clashes with the order's current state" rather than "bad input".
CONFLICT_PATTERN = re.compile(
    r"\balready\b|not (in )?a valid (status|state)|invalid (line )?status|cannot be (shipped|cancell?ed)"
    r"|exceeds the quantity|not acknowledged",
    re.IGNORECASE,
)


def walmart_errors(body: Any) -> list[dict[str, Any]]:
    """The error entries of a Walmart body, whatever wrapping it uses."""
    if not isinstance(body, Mapping):
        return []
    errors = body.get("errors", body.get("error"))
    if isinstance(errors, Mapping):
        errors = errors.get("error", [errors])
    if isinstance(errors, Mapping):
        errors = [errors]
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def error_codes(response: httpx.Response) -> list[str]:
    return [str(e.get("code")) for e in walmart_errors(_json(response)) if e.get("code")]


def walmart_message(response: httpx.Response) -> str:
    """``CODE: description (field)`` for each error, or the reason phrase."""
    parts = []
    for entry in walmart_errors(_json(response)):
        text = entry.get("description") or entry.get("message") or entry.get("info") or ""
        field = f" (field {entry['field']})" if entry.get("field") else ""
        code = entry.get("code") or "ERROR"
        parts.append(f"{code}: {text}{field}" if text else f"{code}{field}")
    return "; ".join(parts) or response.reason_phrase


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def retry_after_of(response: httpx.Response) -> float | None:
    """Seconds to wait before calling this API again: ``Retry-After``, else the usage header's time."""
    value = response.headers.get("Retry-After")
    if value is not None:
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
    moment = parse_replenishment(response.headers.get(REPLENISHMENT_HEADER))
    return None if moment is None else max(moment - time.time(), 0.0)


def to_error(outcome: httpx.Response | Exception) -> FeniciaError:
    """The one mapping of Walmart answers and transport failures to Fenicia errors."""
    if isinstance(outcome, Exception):
        return _error_for_exception(outcome)
    status, message = outcome.status_code, walmart_message(outcome)
    if status in (401, 403):
        return _auth_error(status, message)
    if status == 404:
        return _not_found(outcome, message)
    if status == 409 or (status == 400 and CONFLICT_PATTERN.search(message)):
        return ConflictError(
            f"Walmart refused: {message}",
            resolution="Sync the order to see its current state in Walmart, then try again if still needed.",
            status=status,
        )
    if status in (400, 413, 422):
        return ValidationFailed(f"Walmart rejected the request: {message}", status=status)
    if status == 429:
        return RateLimitedError(f"Walmart rate limit reached ({message})", retry_after=retry_after_of(outcome))
    if status == 423 or status >= 500:
        return TransientError(f"Walmart answered {status} ({message})", retry_after=retry_after_of(outcome))
    return ConnectorError(
        f"Walmart answered {status}: {message}",
        resolution="Check the connection's settings; report it if it keeps happening.",
        status=status,
    )


def _auth_error(status: int, message: str) -> AuthError:
    if status == 401:
        return AuthError(f"Walmart rejected the access token ({message})", resolution=RECONNECT, status=401)
    return AuthError(
        f"Walmart refused access: the API key lacks a permission ({message})",
        resolution="Give the API key access to Orders, Inventory and Items in Seller Center, then reconnect.",
        status=403,
    )


def _not_found(response: httpx.Response, message: str) -> FeniciaError:
    if any(code.startswith("URI_NOT_FOUND") for code in error_codes(response)):
        return ConfigError(
            f"Walmart does not know this address ({message})", resolution="Check the API base URL in Settings."
        )
    # the codes travel along: only CONTENT_NOT_FOUND says "no such record"; a bare 404 may be a gateway's
    return RemoteNotFound(f"Walmart has no such record ({message})", status=404, codes=error_codes(response))


def _error_for_exception(exc: Exception) -> FeniciaError:
    if isinstance(exc, FeniciaError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"Walmart did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        return TransientError("Could not connect to Walmart")
    if isinstance(exc, httpx.HTTPError):
        return TransientError(f"Network error talking to Walmart ({type(exc).__name__})")
    return ConnectorError(f"Unexpected error talking to Walmart ({type(exc).__name__})")
