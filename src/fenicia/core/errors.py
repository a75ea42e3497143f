"""The one error taxonomy of Fenicia, decided by what the caller should do.

::

    FeniciaError                 base; carries a human ``message`` and a ``resolution``
    ├── ConfigError              settings or credentials are wrong: fix them, retrying won't help
    ├── NotFoundError            the thing asked for does not exist in this workspace (HTTP 404)
    ├── ConflictError            the request clashes with current state, e.g. cancel a cancelled order (409)
    ├── ValidationFailed         bad input from anyone: nothing was changed (422)
    ├── UnsupportedOperation     the channel cannot do this operation; refused before anything is queued (422)
    └── ConnectorError           something went wrong talking to an external system
        ├── TransientError       network, timeout, 5xx: retry later (``retry_after`` seconds if known)
        │   └── RateLimitedError the remote asked us to slow down: wait ``retry_after``, spend no retry
        ├── AuthError            401/403, expired or revoked token, missing scope: reconnect, don't retry
        ├── RemoteNotFound       the record was deleted at the source: mark it, don't retry
        └── InvalidRecord        one record is malformed: skip it, keep the run going

Every connector maps HTTP status to these classes in exactly one place (its ``client.py``).
"""

from __future__ import annotations

from typing import Any


class FeniciaError(Exception):
    """Base error: a message for a person and what they should do about it."""

    code = "error"
    http_status = 400
    default_resolution = ""

    def __init__(self, message: str, *, resolution: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.resolution = resolution if resolution is not None else self.default_resolution
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "resolution": self.resolution}


class ConfigError(FeniciaError):
    code = "config_error"
    http_status = 400
    default_resolution = "Check the settings and credentials, then try again."


class NotFoundError(FeniciaError):
    code = "not_found"
    http_status = 404


class ConflictError(FeniciaError):
    code = "conflict"
    http_status = 409


class ValidationFailed(FeniciaError):
    code = "invalid_input"
    http_status = 422
    default_resolution = "Correct the input and send it again; nothing was changed."


class UnsupportedOperation(FeniciaError):
    code = "unsupported_operation"
    http_status = 422
    default_resolution = "Do this in the channel's own seller admin instead."


class ConnectorError(FeniciaError):
    code = "connector_error"
    http_status = 502


class TransientError(ConnectorError):
    code = "transient"
    default_resolution = "Fenicia retries automatically; nothing to do unless it keeps failing."

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    code = "rate_limited"
    default_resolution = "Wait for the channel's rate limit to reset; Fenicia resumes by itself."


class AuthError(ConnectorError):
    code = "auth_error"
    default_resolution = "Reconnect the channel in Settings."


class RemoteNotFound(ConnectorError):
    code = "remote_not_found"
    default_resolution = "The record was deleted at the source; nothing to do."


class InvalidRecord(ConnectorError):
    code = "invalid_record"
    default_resolution = "The record was skipped; fix it at the source if it matters."
