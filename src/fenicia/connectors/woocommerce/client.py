"""Transport to the WooCommerce REST API v3: key auth, paging headers, retries and error mapping.

WordPress answers errors as ``{"code": "woocommerce_rest_...", "message": ..., "data": {"status": N}}``.
Every HTTP status or transport failure becomes one of our errors in :func:`to_error`. With ``basic``
auth the key travels in the ``Authorization`` header; with ``query`` it is in the URL, which is never
logged nor put into a message. All calls are reads: any of them may be resent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from fenicia.connectors.httpkit import AllowPrivate, SourceHttp, guarded_client, json_body, retry_after, transport_error
from fenicia.connectors.woocommerce.settings import WoocommerceCredentials, WoocommerceSettings
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)

JSON = dict[str, Any]
NEW_KEY = (
    "Create a REST API key with Read permission (WooCommerce → Settings → Advanced → REST API) "
    "and update the source's credentials."
)
CHECK_ADDRESS = "Check the shop's address and that WordPress and WooCommerce answer at /wp-json/."


@dataclass
class WooPage:
    items: list[JSON]
    total: int | None
    total_pages: int | None


def woo_error(response: httpx.Response) -> tuple[str, str]:
    """``(code, message)`` of a WordPress REST error body, else the HTTP reason."""
    try:
        body = response.json()
    except ValueError:
        return "", response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body.get("code") or ""), str(body["message"])
    return "", response.reason_phrase


def to_error(outcome: httpx.Response | Exception, url: str = "") -> FeniciaError:
    """The one mapping of WooCommerce answers and transport failures to the Fenicia error taxonomy."""
    if isinstance(outcome, Exception):
        return _error_for_exception(outcome, url)
    status, (code, message) = outcome.status_code, woo_error(outcome)
    if status == 401:
        return AuthError(f"WooCommerce refused the API key: {message}", resolution=NEW_KEY, status=401, code=code)
    if status == 403:
        return AuthError(
            f"WooCommerce refused access: {message}",
            resolution="Use a key of a user who may manage the shop (Administrator or Shop manager).",
            status=403,
            code=code,
        )
    if status == 404:
        what = "WooCommerce's REST API is not active there" if code == "rest_no_route" else "nothing found"
        return ConfigError(
            f"WooCommerce answered 404 at {outcome.request.url.path}: {what} ({message})",
            resolution=CHECK_ADDRESS,
            status=404,
            code=code,
        )
    if status == 429:
        return RateLimitedError("The shop asked us to slow down (429)", retry_after=retry_after(outcome))
    if status >= 500:
        return TransientError(f"WooCommerce answered {status}: {message}", retry_after=retry_after(outcome))
    if status == 400:
        return ValidationFailed(f"WooCommerce refused the request: {message}", status=400, code=code)
    return ConnectorError(f"WooCommerce answered {status}: {message}", resolution=CHECK_ADDRESS, status=status)


def _error_for_exception(exc: Exception, url: str) -> FeniciaError:
    return transport_error(exc, url, system="WooCommerce", place="the shop", resolution=CHECK_ADDRESS, detail=False)


def header_int(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None


class WoocommerceClient:
    """Authenticated, retrying GETs under ``{site_url}/wp-json/``; ``allow_private`` as in ``guarded_client``."""

    def __init__(
        self,
        settings: WoocommerceSettings,
        credentials: WoocommerceCredentials,
        allow_private: AllowPrivate = None,
    ) -> None:
        self.settings = settings
        key, secret = credentials.consumer_key.get_secret_value(), credentials.consumer_secret.get_secret_value()
        self._key_params = {"consumer_key": key, "consumer_secret": secret} if settings.auth_method == "query" else {}
        http = guarded_client(
            allow_private,
            base_url=f"{settings.site_url}/wp-json/",
            auth=(key, secret) if settings.auth_method == "basic" else None,
            headers={"Accept": "application/json"},
            timeout=settings.timeout_seconds,
        )
        # hide_cause: the httpx error may carry a URL with the key in it
        self.http = SourceHttp(http, settings, to_error, name="woocommerce", hide_cause=True)

    async def page(self, path: str, params: JSON) -> WooPage:
        """One list page with WooCommerce's ``X-WP-Total`` and ``X-WP-TotalPages``."""
        response = await self.get(path, params)
        body = _decode(response, path)
        if not isinstance(body, list):
            raise TransientError(f"WooCommerce's answer to {path} is not a list")
        items = [item for item in body if isinstance(item, dict)]
        return WooPage(items, header_int(response, "X-WP-Total"), header_int(response, "X-WP-TotalPages"))

    async def index(self) -> JSON:
        """``GET /wp-json/``: the site's name and REST namespaces (no authentication needed)."""
        body = _decode(await self.get("", {}), "/wp-json/")
        if not isinstance(body, dict):
            raise ConfigError("The /wp-json/ answer is not a WordPress REST index", resolution=CHECK_ADDRESS)
        return body

    async def get(self, path: str, params: JSON) -> httpx.Response:
        return await self.http.request("GET", path, params={**params, **self._key_params})

    async def aclose(self) -> None:
        await self.http.aclose()


def _decode(response: httpx.Response, path: str) -> Any:
    return json_body(response, path, looks_like="a WordPress shop", resolution=CHECK_ADDRESS)
