"""What the HTTP connectors share: the inventory sources (Odoo, ERPNext, ShipHero, WooCommerce, Shopify
stock) and, for their retries and failure wording, the channel clients.

Each system's own knowledge stays in its package, above all the mapping of its HTTP answers to our errors
(one ``to_error`` per connector, in its ``client.py``), which :class:`SourceHttp` is handed. What is the
same everywhere lives here:

- settings: the timeout and in-call retry fields (:data:`TimeoutSeconds` ...), addresses
  (:func:`web_address`, :func:`normalize_base_url`), :data:`NonBlankSecret`, :data:`OptionalText`;
- channel clients: :func:`retry_wait` (with a rate-limit wait of their own and whether our waits are cut
  to the cap), :func:`may_resend`, :func:`remote_error`, :func:`retry_or_raise`, :func:`retry_after`;
- the address guard: :func:`guarded_client`, the httpx client of every source, which refuses loopback,
  private and other non-public addresses (``core.netguard``) unless the connector's
  ``allow_private_urls`` (the operator's ``FENICIA_ALLOW_PRIVATE_SOURCE_URLS``) says otherwise: a source's
  address is typed by a merchant, and Fenicia fetches it from the server;
- transport: :class:`SourceHttp`, one httpx client whose calls are retried inside the call by
  :func:`retrying`: a ``Retry-After`` up to ``retry_wait_cap_seconds`` is waited out, a longer one goes
  back to the engine as the ``RateLimitedError`` itself; 5xx, timeouts and network errors are retried
  ``max_retries_in_call`` times with doubling waits, then raised as ``TransientError``. It keeps the
  server's ``Date`` of the first answer of a read: the snapshot time. Answers: :func:`json_body`,
  :func:`json_object`, :func:`graphql_data`; failures below HTTP: :func:`transport_error`;
- reads and registry: :class:`SnapshotSource` (``full_snapshot``, ``snapshot_at``, page tokens,
  ``allow_private_urls``) and
  :func:`source_spec`. (Not HTTP, but shared by exactly these connectors; ``connectors/base.py`` would be
  their natural home.)
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Annotated, Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import AfterValidator, BaseModel, Field, SecretStr

from fenicia.connectors.base import LevelsPage, SourceSpec, StockLevel
from fenicia.core import netguard
from fenicia.core.errors import ConfigError, ConnectorError, FeniciaError, RateLimitedError, TransientError

log = structlog.get_logger(__name__)
JSON = dict[str, Any]
T = TypeVar("T")
S = TypeVar("S", bound=BaseModel)
C = TypeVar("C", bound=BaseModel)
HOST_PATTERN = re.compile(r"[A-Za-z0-9.\-:]+")  # a name, an IPv4 or (unbracketed) IPv6 address
# Answers and failures that prove a request was not carried out: safe to resend even a write.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
NOT_SENT_EXCEPTIONS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# The settings fields of every source's transport; each settings model gives its own defaults.
TimeoutSeconds = Annotated[float, Field(gt=0, le=300)]
RetriesInCall = Annotated[int, Field(ge=0, le=10, description="Retries inside one call (429/5xx/timeouts).")]
RetryWaitCapSeconds = Annotated[
    float, Field(ge=0, description="A Retry-After longer than this goes back to the engine instead.")
]
RetryBaseWaitSeconds = Annotated[
    float, Field(ge=0, description="First wait before retrying a 5xx/timeout without Retry-After; doubles.")
]


def _not_blank(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    return value


def _blank_is_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


NonBlankSecret = Annotated[SecretStr, AfterValidator(_not_blank)]  # "must not be empty"
OptionalText = Annotated[str | None, AfterValidator(_blank_is_none)]  # trimmed; blank is None


def web_address(example: str, drop_suffixes: tuple[str, ...] = ()) -> AfterValidator:
    """For ``Annotated[str, web_address(...)]``: the address normalised by :func:`normalize_base_url`."""
    return AfterValidator(partial(normalize_base_url, example=example, drop_suffixes=drop_suffixes))


AllowPrivate = Callable[[], bool] | None  # whether non-public addresses may be fetched now; None: never


def guarded_client(allow_private: AllowPrivate, **options: Any) -> httpx.AsyncClient:
    """An httpx client (``options``: ``base_url``, ``headers``...) for an address a merchant typed: it
    refuses non-public addresses with ``netguard.AddressRefused`` unless ``allow_private()`` (None: never).
    Asked on every request, because the operator's choice reaches a connector after its client is built
    (``netguard.apply_policy`` sets ``allow_private_urls``): pass :meth:`SnapshotSource.private_urls_allowed`."""
    return httpx.AsyncClient(transport=netguard.GuardedTransport(allow=allow_private), **options)


class RetryPolicy(Protocol):
    """The retry fields of a source's settings (see :func:`retry_wait`)."""

    @property
    def max_retries_in_call(self) -> int: ...

    @property
    def retry_wait_cap_seconds(self) -> float: ...

    @property
    def retry_base_wait_seconds(self) -> float: ...


ErrorMap = Callable[[httpx.Response | Exception, str], FeniciaError]


def normalize_base_url(value: str, *, example: str, drop_suffixes: tuple[str, ...] = ()) -> str:
    """``host`` → ``https://host``; keeps a sub-path (reverse proxies), drops a trailing ``/`` and then
    each of ``drop_suffixes`` in turn (an API path pasted with the address). ValueError if not a web address."""
    text = value.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    host_ok = bool(parts.hostname and HOST_PATTERN.fullmatch(parts.hostname))
    if parts.scheme not in ("http", "https") or not host_ok or parts.query or parts.fragment:
        raise ValueError(f"must be a web address like {example}, got {value!r}")
    path = parts.path.rstrip("/")
    for suffix in drop_suffixes:
        path = path.removesuffix(suffix)
    return f"{parts.scheme}://{parts.netloc}{path}"


def retry_after(response: httpx.Response, *headers: str) -> float | None:
    """Seconds to wait from the first of ``headers`` (default ``Retry-After``) that holds a number."""
    for header in headers or ("Retry-After",):
        value = response.headers.get(header)
        if value is None:
            continue
        try:
            return max(float(value), 0.0)
        except ValueError:
            continue
    return None


def retry_wait(
    error: FeniciaError,
    attempt: int,
    policy: RetryPolicy,
    *,
    rate_limited_wait: float | None = None,
    clamp: bool = True,
) -> float | None:
    """Seconds to wait before retry number ``attempt + 1`` inside the call; None: give up now.

    The server's ``Retry-After`` is waited out when it is at most ``retry_wait_cap_seconds``; a rate
    limit without one waits ``rate_limited_wait`` (when given), anything else doubles from
    ``retry_base_wait_seconds``. ``clamp``: our own waits are cut to the cap; otherwise a wait beyond the
    cap gives up (the engine waits instead).
    """
    if attempt >= policy.max_retries_in_call or not isinstance(error, TransientError):
        return None
    cap = policy.retry_wait_cap_seconds
    if error.retry_after is not None:
        return error.retry_after if error.retry_after <= cap else None
    if rate_limited_wait is not None and isinstance(error, RateLimitedError):
        wait = rate_limited_wait
    else:
        wait = policy.retry_base_wait_seconds * 2.0**attempt
    if wait <= cap:
        return wait
    return cap if clamp else None


def server_date(response: httpx.Response) -> datetime | None:
    """The server's clock from the HTTP ``Date`` header (second precision), if it sent one."""
    value = response.headers.get("Date")
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def json_body(response: httpx.Response, path: str, *, looks_like: str, resolution: str) -> Any:
    """The JSON of a 2xx answer; ConfigError when it is not JSON: the address is some other web server."""
    try:
        return response.json()
    except ValueError:
        raise ConfigError(
            f"The answer at {path} is not JSON: this address does not look like {looks_like}", resolution=resolution
        ) from None


def json_object(response: httpx.Response, path: str, *, system: str, looks_like: str, resolution: str) -> JSON:
    """:func:`json_body` that must be an object; anything else is a transient fault of the remote."""
    body = json_body(response, path, looks_like=looks_like, resolution=resolution)
    if not isinstance(body, dict):
        raise TransientError(f"{system}'s answer to {path} is not a JSON object")
    return body


def graphql_data(body: JSON, graphql_error: Callable[[list[Any]], FeniciaError], *, system: str) -> JSON | FeniciaError:
    """The ``data`` of a GraphQL answer (HTTP 200), or its ``errors`` mapped by the source's own
    ``graphql_error``: returned, not raised, so that the caller decides whether to retry."""
    errors = body.get("errors")
    if errors:
        return graphql_error(errors if isinstance(errors, list) else [errors])
    data = body.get("data")
    if not isinstance(data, dict):
        raise TransientError(f"{system}'s GraphQL answer has no data")
    return data


def transport_error(
    exc: Exception, url: str, *, system: str, place: str, resolution: str | None = None, detail: bool = True
) -> FeniciaError:
    """A failure below HTTP as our error, worded alike for every source: ``place`` names the remote
    ("Odoo", "the shop"); ``detail`` adds the connect error's text (off when it may show a secret)."""
    if isinstance(exc, FeniciaError):
        return exc
    host = urlsplit(url).netloc
    where = f"{place} at {host}" if host else place
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"{where[:1].upper()}{where[1:]} did not answer in time ({kind})")
    if isinstance(exc, httpx.ConnectError):
        return TransientError(f"Could not connect to {where}" + (f": {exc}" if detail else ""), resolution=resolution)
    if isinstance(exc, httpx.HTTPError):
        return TransientError(f"Network error talking to {where} ({kind})")
    return ConnectorError(f"Unexpected error talking to {system} ({kind})")


def remote_error(exc: Exception, system: str) -> FeniciaError:
    """A channel client's failure below HTTP as our error ("Could not connect to Shopify", ...): its
    ``to_error`` hands exceptions here."""
    return transport_error(exc, "", system=system, place=system, detail=False)


def may_resend(outcome: httpx.Response | Exception, idempotent: bool, retriable: frozenset[int]) -> bool:
    """A read or an absolute write (``idempotent``) may be resent after any ``retriable`` status or a
    network failure; any other request only when the answer or the failure proves that the remote did
    not act on it (:data:`NOT_PROCESSED_STATUSES`, :data:`NOT_SENT_EXCEPTIONS`)."""
    if isinstance(outcome, httpx.Response):
        return outcome.status_code in (retriable if idempotent else NOT_PROCESSED_STATUSES)
    if isinstance(outcome, NOT_SENT_EXCEPTIONS):
        return True
    return idempotent and isinstance(outcome, httpx.TransportError)


async def retry_or_raise(
    error: FeniciaError, wait: float | None, outcome: object, *, event: str, **context: Any
) -> None:
    """One turn of a client's in-call retry loop after a failed attempt: no ``wait`` raises ``error``
    (caused by ``outcome`` when that was an exception); else logs ``event`` and waits."""
    if wait is None:
        raise error from (outcome if isinstance(outcome, BaseException) else None)
    log.warning(event, **context, error=error.code, wait_s=wait)
    await asyncio.sleep(wait)


async def retrying(
    attempt: Callable[[], Awaitable[T | FeniciaError]], policy: RetryPolicy, *, event: str, **context: Any
) -> T:
    """Runs ``attempt`` until it gives a result; an error it *returns* is retried as :func:`retry_wait`
    says, then raised (an error it raises is never retried here)."""
    number = 0
    while True:
        outcome = await attempt()
        if not isinstance(outcome, FeniciaError):
            return outcome
        wait = retry_wait(outcome, number, policy)
        if wait is None:
            raise outcome
        log.warning(event, error=outcome.code, wait_s=wait, **context)
        await asyncio.sleep(wait)
        number += 1


class SourceHttp:
    """One source's httpx client: every request retried inside the call, answers mapped by ``to_error``.

    ``hide_cause`` keeps the httpx exception out of ``__cause__`` when its text may hold a secret (a key in
    the query string). ``first_server_date`` is the ``Date`` of the first answer since it was last reset
    to None: :meth:`SnapshotSource.snapshot_pages` resets it when a read starts.
    """

    def __init__(
        self, http: httpx.AsyncClient, policy: RetryPolicy, to_error: ErrorMap, *, name: str, hide_cause: bool = False
    ) -> None:
        self.http, self.policy, self.to_error = http, policy, to_error
        self.name, self.hide_cause = name, hide_cause
        self.first_server_date: datetime | None = None

    @property
    def base_url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    async def request(self, method: str, path: str, *, clock: bool = True, **kwargs: Any) -> httpx.Response:
        """A successful answer to ``method path``; ``clock`` False: its ``Date`` is not the snapshot time
        (e.g. a token call). Other ``kwargs`` go to httpx (``json``, ``params``, ``headers``)."""

        async def attempt() -> httpx.Response | FeniciaError:
            return await self._attempt(method, path, clock, kwargs)

        return await retrying(attempt, self.policy, event=f"{self.name}.retry", path=path)

    async def _attempt(
        self, method: str, path: str, clock: bool, kwargs: dict[str, Any]
    ) -> httpx.Response | FeniciaError:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            error = self.to_error(exc, self.base_url)
            if not self.hide_cause:
                error.__cause__ = exc
            return error
        if clock and self.first_server_date is None:
            self.first_server_date = server_date(response)
        return response if response.is_success else self.to_error(response, self.base_url)

    async def aclose(self) -> None:
        await self.http.aclose()


async def with_tokens(batches: AsyncIterator[list[StockLevel]]) -> AsyncIterator[LevelsPage]:
    """Pages with a token on all but the last (held back one batch to know which is last)."""
    held: list[StockLevel] | None = None
    number = 0
    async for levels in batches:
        if not levels:
            continue
        if held is not None:
            number += 1
            yield LevelsPage(held, next_token=f"page:{number}")
        held = levels
    yield LevelsPage(held or [], next_token=None)


class SnapshotSource:
    """The read bookkeeping of ``InventorySourceConnector``: ``full_snapshot`` and ``snapshot_at``; and
    ``allow_private_urls``, the operator's network policy (``netguard.NetworkPolicyAware``).

    A resumed read starts over (page tokens only say that more pages follow): reads have no side effects.
    ``allow_private_urls`` is False (private addresses refused) until whoever builds the connector hands it
    the operator's choice with ``netguard.apply_policy``; the client reads it through
    :meth:`private_urls_allowed` on every request (see :func:`guarded_client`).
    """

    def __init__(self) -> None:
        self.full_snapshot = True
        self.snapshot_at: datetime | None = None
        self.allow_private_urls = False

    def private_urls_allowed(self) -> bool:
        """The ``allow`` of this source's :func:`guarded_client`: the policy as it is now."""
        return self.allow_private_urls

    async def snapshot_pages(
        self, batches: AsyncIterator[list[StockLevel]], *, full: bool, clock: SourceHttp | None
    ) -> AsyncIterator[LevelsPage]:
        """``batches`` as pages; ``snapshot_at`` is the server's ``Date`` of the read's first answer
        (``clock``), else when the read began. ``batches`` must not call the source before it is iterated."""
        started = datetime.now(UTC)
        self.full_snapshot = full
        self.snapshot_at = None
        if clock is not None:
            clock.first_server_date = None
        async for page in with_tokens(batches):
            if self.snapshot_at is None:
                self.snapshot_at = (clock.first_server_date if clock is not None else None) or started
            yield page


def source_spec(
    connector: Callable[[S, C], Any],
    settings_model: type[S],
    credentials_model: type[C],
    *,
    key: str,
    display_name: str,
    kind: str,
    supports_delta: bool = True,
) -> SourceSpec:
    """A source type for the registry, its ``build`` checked by :func:`source_builder`."""
    return SourceSpec(
        key=key,
        display_name=display_name,
        kind=kind,
        settings_model=settings_model,
        credentials_model=credentials_model,
        supports_delta=supports_delta,
        build=source_builder(connector, settings_model, credentials_model, display_name),
    )


def source_builder(
    connector: Callable[[S, C], T], settings_model: type[S], credentials_model: type[C], label: str
) -> Callable[[BaseModel, BaseModel], T]:
    """The ``build`` of a ``SourceSpec``: checks that the registry passed this source's own models."""

    def build(settings: BaseModel, credentials: BaseModel) -> T:
        if not isinstance(settings, settings_model):
            raise ConfigError(f"{label} settings are of the wrong type")
        if not isinstance(credentials, credentials_model):
            raise ConfigError(f"{label} credentials are of the wrong type")
        return connector(settings, credentials)

    build.__doc__ = f"A {label} source connector; the registry passes the models named in ``SOURCE_SPEC``."
    return build
