"""Transport to an Odoo server: JSON-2 (Odoo 19+) or legacy JSON-RPC, retries and error mapping.

Both transports call the same ORM methods with the same named parameters (``domain``, ``fields``,
``offset``, ``limit``, ``order``, ``context``): JSON-2 takes them as the JSON body, JSON-RPC as the kwargs
of ``execute_kw``. Every answer or transport failure becomes one of our errors in :func:`to_error` (HTTP)
or :func:`rpc_error` (a JSON-RPC ``error`` object, which Odoo sends with HTTP 200). The key never appears
in a log line or an exception message. All calls are reads, so any of them may be resent.
"""

from __future__ import annotations

from typing import Any

import httpx

from fenicia.connectors.httpkit import AllowPrivate, SourceHttp, guarded_client, json_body, retry_after, transport_error
from fenicia.connectors.odoo.settings import OdooCredentials, OdooSettings
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)
from fenicia.core.netguard import AddressRefused

NEW_KEY = (
    "Create a new API key in Odoo (Preferences → Account Security → New API Key; keys last at most "
    "three months) and update the source's credentials."
)
GRANT_STOCK = "Give the Odoo user read access to Inventory (e.g. the Inventory / User group), then test again."
CHECK_ADDRESS = "Check the source's URL and that the Odoo server is running and reachable from Fenicia."


def odoo_message(response: httpx.Response) -> str:
    """The ``message`` of a JSON-2 error body, else the HTTP reason."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return response.reason_phrase


def to_error(outcome: httpx.Response | Exception, url: str = "") -> FeniciaError:
    """The one mapping of Odoo HTTP answers and transport failures to the Fenicia error taxonomy."""
    if isinstance(outcome, Exception):
        return _error_for_exception(outcome, url)
    status, message = outcome.status_code, odoo_message(outcome)
    if status == 401:
        return AuthError(f"Odoo rejected the API key ({message})", resolution=NEW_KEY, status=401)
    if status == 403:
        return AuthError(f"Odoo refused access: {message}", resolution=GRANT_STOCK, status=403)
    if status == 404:
        return ConfigError(
            f"Odoo answered 404 Not Found at {outcome.request.url.path}",
            resolution="Check the URL and the database name; the JSON-2 API needs Odoo 19 or newer.",
            status=404,
        )
    if status == 429:
        return RateLimitedError("Odoo asked us to slow down (429)", retry_after=retry_after(outcome))
    if status >= 500:
        return TransientError(f"Odoo answered {status}: {message}", retry_after=retry_after(outcome), status=status)
    if status in (400, 422):
        return ValidationFailed(f"Odoo refused the request: {message}", status=status)
    return ConnectorError(f"Odoo answered {status}: {message}", resolution=CHECK_ADDRESS, status=status)


def _error_for_exception(exc: Exception, url: str) -> FeniciaError:
    return transport_error(exc, url, system="Odoo", place="Odoo", resolution=CHECK_ADDRESS)


def rpc_error(error: Any, settings: OdooSettings) -> FeniciaError:
    """A JSON-RPC ``error`` object (``data.name`` = the Python exception class) as one of our errors."""
    data = error.get("data") if isinstance(error, dict) else None
    data = data if isinstance(data, dict) else {}
    name = str(data.get("name") or "")
    message = str(data.get("message") or (error.get("message") if isinstance(error, dict) else "") or "")
    if name.endswith("AccessDenied"):
        return AuthError(f"Odoo refused the login '{settings.login}' with this API key or password", resolution=NEW_KEY)
    if name.endswith("AccessError"):
        return AuthError(f"Odoo refused access: {message}", resolution=GRANT_STOCK)
    if "database" in message and "does not exist" in message:
        return ConfigError(
            f"Odoo has no database named '{settings.database}'",
            resolution="Set 'database' to the name shown in Odoo's database manager (or the URL's subdomain).",
        )
    if name.endswith(("ValueError", "ValidationError", "UserError", "KeyError")):
        return ValidationFailed(f"Odoo refused the request: {message} ({name})")
    return ConnectorError(f"Odoo error {name or 'unknown'}: {message}", resolution=CHECK_ADDRESS)


class OdooClient:
    """Authenticated, retrying ORM calls on one Odoo database; ``allow_private`` as in ``guarded_client``."""

    def __init__(
        self, settings: OdooSettings, credentials: OdooCredentials, allow_private: AllowPrivate = None
    ) -> None:
        self.settings = settings
        self._key = credentials.api_key
        headers = {"Accept": "application/json", "User-Agent": "Fenicia inventory source"}
        if settings.protocol == "json2":
            headers["Authorization"] = f"bearer {self._key.get_secret_value()}"
            if settings.database:
                headers["X-Odoo-Database"] = settings.database
        http = guarded_client(allow_private, base_url=settings.url, headers=headers, timeout=settings.timeout_seconds)
        self.http = SourceHttp(http, settings, to_error, name="odoo")
        self._uid: int | None = None
        self._rpc_id = 0

    async def call(self, model: str, method: str, **params: Any) -> Any:
        """``model.method(**params)`` on the server; e.g. ``call("stock.quant", "search_read", domain=[...])``."""
        if self.settings.protocol == "json2":
            return await self._json("POST", f"/json/2/{model}/{method}", params)
        uid = await self.uid()
        args: list[Any] = [self.settings.database, uid, self._key.get_secret_value(), model, method, [], params]
        return await self.rpc("object", "execute_kw", args)

    async def uid(self) -> int:
        """The JSON-RPC user id, from ``common.authenticate`` once per client."""
        if self._uid is None:
            login_args: list[Any] = [self.settings.database, self.settings.login, self._key.get_secret_value(), {}]
            uid = await self.rpc("common", "authenticate", login_args)
            if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
                raise AuthError(
                    f"Odoo refused the login '{self.settings.login}' with this API key or password "
                    f"on database '{self.settings.database}'",
                    resolution=NEW_KEY,
                )
            self._uid = uid
        return self._uid

    async def rpc(self, service: str, method: str, args: list[Any]) -> Any:
        """One ``POST /jsonrpc`` call; an ``error`` answer raises through :func:`rpc_error`."""
        self._rpc_id += 1
        params = {"service": service, "method": method, "args": args}
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": "call", "params": params, "id": self._rpc_id}
        answer = await self._json("POST", "/jsonrpc", body)
        if not isinstance(answer, dict):
            raise TransientError("Odoo's JSON-RPC answer is not a JSON object")
        if answer.get("error") is not None:
            raise rpc_error(answer["error"], self.settings)
        return answer.get("result")

    async def server_version(self) -> str | None:
        """The server's version ("17.0", "saas~18.3", "19.0"), or None when the address is not Odoo."""
        try:
            if self.settings.protocol == "jsonrpc":
                info = await self.rpc("common", "version", [])
                return str(info.get("server_version")) if isinstance(info, dict) else None
            info = await self._json("GET", "/web/version", None)
        except AddressRefused:
            raise
        except (ConfigError, ValueError):
            return None
        return str(info.get("version")) if isinstance(info, dict) and info.get("version") else None

    async def _json(self, method: str, path: str, body: Any) -> Any:
        response = await self.http.request(method, path, json=body)
        return json_body(response, path, looks_like="an Odoo server", resolution=CHECK_ADDRESS)

    async def aclose(self) -> None:
        await self.http.aclose()
