"""The one mapping of TikTok Shop answers to the Fenicia error taxonomy.

Every answer has the envelope ``{code, message, request_id, data}``; ``code`` 0 is success and anything
else an error, whatever the HTTP status (§5.7: many errors come with HTTP 200). The decision order:

1. a throttle code (setting ``throttle_codes``) or HTTP 429 → ``RateLimitedError``;
2. an expired-token code (setting ``expired_token_codes``) → ``AuthError`` marked ``expired`` (the client
   refreshes the token once and retries once before letting it surface);
3. ``CODE_TABLE`` below, by exact code;
4. the documented families: codes starting with ``105`` or ``36004`` are authorization errors [C];
5. the HTTP status (5xx transient, 401/403 auth, 404 not found, 400/422 invalid input).

Codes marked [U] are the simulator's choice where TikTok publishes none; they live here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from fenicia.connectors.tiktok.settings import TikTokSettings
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

# Named codes (numbers shared with the simulator).
INVALID_ACCESS_TOKEN = 105001  # [S]
EXPIRED_ACCESS_TOKEN = 105002  # [S]
MISSING_SCOPE = 105005  # [S] "Access denied. This app has not been granted any access scope ..."
INVALID_SIGN = 106001  # [S] HTTP 401, "The 'sign' query parameter is invalid"
INVALID_REFRESH_TOKEN = 36004005  # [U] the refresh grant refused (revoked or unknown refresh token)
TOO_MANY_REQUESTS = 36009002  # [S]
INTERNAL_ERROR = 36009003  # [S] "internal error, retry later"
INVALID_PARAMETER = 36009004  # [S] overloaded: bad app_key, timestamp, shop_cipher or parameter
UNKNOWN_PATH = 36009009  # [S] HTTP 404 for a path the gateway does not know
ORDER_NOT_FOUND = 21011001  # [U]
ORDER_STATUS_FORBIDS = 21011002  # [U] the order's status does not allow this operation
PACKAGE_NOT_FOUND = 21004001  # [U]
PACKAGE_ALREADY_SHIPPED = 21004002  # [U]
LINE_ITEMS_NOT_SHIPPABLE = 21004003  # [U] a unit is cancelled, shipped or in another package
INVALID_SHIPPING_PROVIDER = 21004010  # [U]
TRACKING_NOT_UPDATABLE = 21004020  # [U] platform-shipped or not yet shipped package
CANCEL_NOT_ALLOWED = 25001001  # [U]
INVALID_CANCEL_REASON = 25001002  # [U]
PRODUCT_NOT_FOUND = 12052048  # [U]
SKU_NOT_LIVE = 12052230  # [U] only live SKUs can take stock
INVALID_QUANTITY = 12052231  # [U] quantity must be 0..99999

SCOPE_RESOLUTION = "Grant the app the missing access scope in TikTok Shop Partner Center, then reconnect the channel."
SIGN_RESOLUTION = "Check that the app secret is the TikTok Shop app's secret, then reconnect the channel."

# code -> (error class, what it means for a person, resolution or None for the class default)
CODE_TABLE: dict[int, tuple[type[FeniciaError], str, str | None]] = {
    INVALID_ACCESS_TOKEN: (AuthError, "TikTok Shop rejected the access token", RECONNECT),
    EXPIRED_ACCESS_TOKEN: (AuthError, "TikTok Shop says the access token expired", RECONNECT),
    MISSING_SCOPE: (AuthError, "The TikTok Shop app lacks an access scope this call needs", SCOPE_RESOLUTION),
    INVALID_SIGN: (AuthError, "TikTok Shop refused the request signature", SIGN_RESOLUTION),
    INVALID_REFRESH_TOKEN: (AuthError, "TikTok Shop refused the refresh token (revoked or expired)", RECONNECT),
    TOO_MANY_REQUESTS: (RateLimitedError, "TikTok Shop rate limit reached", None),
    INTERNAL_ERROR: (TransientError, "TikTok Shop had an internal error", None),
    INVALID_PARAMETER: (ValidationFailed, "TikTok Shop rejected a parameter", None),
    UNKNOWN_PATH: (ConfigError, "TikTok Shop does not know this API path", "Check the connection's API base URL."),
    ORDER_NOT_FOUND: (RemoteNotFound, "TikTok Shop has no such order", None),
    ORDER_STATUS_FORBIDS: (ConflictError, "TikTok Shop refused: the order's status does not allow it", None),
    PACKAGE_NOT_FOUND: (RemoteNotFound, "TikTok Shop has no such package", None),
    PACKAGE_ALREADY_SHIPPED: (ConflictError, "TikTok Shop refused: the package was already shipped", None),
    LINE_ITEMS_NOT_SHIPPABLE: (ConflictError, "TikTok Shop refused: some items cannot be shipped", None),
    INVALID_SHIPPING_PROVIDER: (ValidationFailed, "TikTok Shop does not accept this shipping provider", None),
    TRACKING_NOT_UPDATABLE: (ConflictError, "TikTok Shop refused to change this package's tracking", None),
    CANCEL_NOT_ALLOWED: (ConflictError, "TikTok Shop refused to cancel the order in its current status", None),
    INVALID_CANCEL_REASON: (ValidationFailed, "TikTok Shop does not accept this cancel reason", None),
    PRODUCT_NOT_FOUND: (RemoteNotFound, "TikTok Shop has no such product", None),
    SKU_NOT_LIVE: (ConflictError, "TikTok Shop only takes stock for live SKUs", None),
    INVALID_QUANTITY: (ValidationFailed, "TikTok Shop refused the quantity (0 to 99999)", None),
}
AUTH_CODE_PREFIXES = ("105", "36004")


@dataclass
class TikTokAnswer:
    """One decoded answer: HTTP status plus the envelope's fields (code None: no envelope at all)."""

    status: int
    code: int | None
    message: str
    request_id: str | None = None
    data: Any = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0 and self.status < 400


def is_expired_token(answer: TikTokAnswer, settings: TikTokSettings) -> bool:
    return answer.code is not None and answer.code in settings.expired_token_codes


def to_error(outcome: TikTokAnswer | Exception, settings: TikTokSettings) -> FeniciaError:
    """The error for a failed answer or transport exception (see the module docstring for the order)."""
    if isinstance(outcome, Exception):
        return _error_for_exception(outcome)
    detail = _detail(outcome)
    if outcome.status == 429 or outcome.code in settings.throttle_codes:
        return RateLimitedError(
            f"TikTok Shop rate limit reached{detail}", retry_after=outcome.retry_after, code=outcome.code
        )
    if is_expired_token(outcome, settings):
        return AuthError(f"TikTok Shop says the access token expired{detail}", resolution=RECONNECT, expired=True)
    if outcome.code is not None and outcome.code in CODE_TABLE:
        cls, meaning, resolution = CODE_TABLE[outcome.code]
        return _build(cls, f"{meaning}{detail}", resolution, outcome)
    if outcome.code is not None and str(outcome.code).startswith(AUTH_CODE_PREFIXES):
        return AuthError(f"TikTok Shop refused the authorization{detail}", resolution=RECONNECT, code=outcome.code)
    return _by_status(outcome, detail)


def _build(cls: type[FeniciaError], message: str, resolution: str | None, answer: TikTokAnswer) -> FeniciaError:
    if issubclass(cls, TransientError):
        return cls(message, retry_after=answer.retry_after, code=answer.code)
    return cls(message, resolution=resolution, code=answer.code)


def _by_status(answer: TikTokAnswer, detail: str) -> FeniciaError:
    status = answer.status
    if status >= 500:
        return TransientError(f"TikTok Shop answered {status}{detail}", retry_after=answer.retry_after, status=status)
    if status in (401, 403):
        return AuthError(f"TikTok Shop refused access ({status}){detail}", resolution=RECONNECT, status=status)
    if status == 404:
        return RemoteNotFound(f"TikTok Shop has no such record{detail}", status=status)
    if status in (400, 422):
        return ValidationFailed(f"TikTok Shop rejected the request{detail}", status=status)
    return ConnectorError(
        f"TikTok Shop answered {status}{detail}",
        resolution="Check the shop's status in TikTok Shop Seller Center.",
        status=status,
        code=answer.code,
    )


def _detail(answer: TikTokAnswer) -> str:
    parts = []
    if answer.code not in (None, 0):
        parts.append(f"code {answer.code}")
    if answer.message:
        parts.append(answer.message)
    return f" ({': '.join(parts)})" if parts else ""


def _error_for_exception(exc: Exception) -> FeniciaError:
    if isinstance(exc, FeniciaError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"TikTok Shop did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        return TransientError("Could not connect to TikTok Shop")
    if isinstance(exc, httpx.HTTPError):
        return TransientError(f"Network error talking to TikTok Shop ({type(exc).__name__})")
    return ConnectorError(f"Unexpected error talking to TikTok Shop ({type(exc).__name__})")


def decode_answer(response: httpx.Response) -> TikTokAnswer:
    """The envelope of an HTTP answer; a body that is not a JSON envelope gives ``code=None``."""
    retry_after = retry_after_of(response)
    try:
        body = response.json() if response.content.strip() else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or not _is_int(body.get("code")):
        reason = response.reason_phrase or ""
        return TikTokAnswer(response.status_code, None, reason, retry_after=retry_after)
    return TikTokAnswer(
        status=response.status_code,
        code=int(body["code"]),
        message=str(body.get("message") or ""),
        request_id=_optional_str(body.get("request_id")),
        data=body.get("data"),
        retry_after=retry_after,
    )


def retry_after_of(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
