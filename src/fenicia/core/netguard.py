"""Refusing private addresses for web addresses a merchant gives us (server-side request forgery guard).

A stock file URL, an ERP's base URL, a channel connection's shop URL or API address is typed by a merchant,
and Fenicia fetches it from the server: left alone, it would read whatever that server can reach
(``http://127.0.0.1:...``, the cloud metadata service at 169.254.169.254, a database admin page on the private
network) and show the merchant what came back. So, unless the operator allows it
(``FENICIA_ALLOW_PRIVATE_SOURCE_URLS``, for a Fenicia that runs inside the merchant's own network, and for
tests and the local demo), every request resolves its host and is refused when any address it resolves to is
not a public one: loopback, private, link-local, multicast, reserved, unspecified or otherwise not globally
routable (shared 100.64/10, documentation ranges...). An IPv4 address written as IPv6 (``::ffff:10.0.0.1``)
is judged as the IPv4 one.

:class:`GuardedTransport` does it for httpx, on every request including each redirect, and connects to the
address it checked (the host name stays in the ``Host`` header and in TLS, for SNI and the certificate), so a
name that resolves differently a moment later (DNS rebinding) cannot slip through. Requests through a proxy
are not guarded here: a client with this transport uses no proxy from the environment (httpx reads proxy
variables only for a client built without a transport), while ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` still
apply (an ERP behind the merchant's own certificate authority).

The refusal is an :class:`AddressRefused`, a ``ConfigError`` (fix the settings, retrying won't help) that a
connector lets through unchanged, so the merchant reads what to do instead of a connector's own wording.

Who uses it: every HTTP inventory source (``connectors/httpkit.guarded_client``, the Shopify stock source,
the spreadsheet's URL download) and every channel connector (Shopify, Amazon, MercadoLibre, Walmart, TikTok
Shop: each builds its one httpx client on this transport). One operator switch covers them all; it reaches
sources where the inventory services build them and channels in ``channels.services.build_connector`` and
the dashboard's connection test (``web.connect.check_credentials``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import httpx

from fenicia.core.errors import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOW_SETTING = "FENICIA_ALLOW_PRIVATE_SOURCE_URLS"
DEFAULT_PORTS = {"http": 80, "https": 443}


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` must not be fetched ("loopback", "private", ...), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    )
    return next((word for word, hit in checks if hit), None)


class AddressRefused(ConfigError):
    """A merchant's address that is not on the public internet: a settings problem, never retried."""


def refused(host: str, address: IPAddress, why: str) -> AddressRefused:
    shown = host if host == str(address) else f"{host} ({address})"
    return AddressRefused(
        f"Fenicia does not fetch from {shown}: it is a {why} address, not one on the public internet.",
        resolution=(
            "Use the public address of the file or server. If this Fenicia runs inside your own network and "
            f"must reach it, the operator can allow private addresses with {ALLOW_SETTING}=true."
        ),
    )


async def public_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to, all public; ConfigError when one is not, OSError when the name
    does not resolve."""
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    for address in addresses:
        why = refusal(address)
        if why is not None:
            raise refused(host, address, why)
    return addresses


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that only connects to public addresses, pinned to the address it checked.

    ``allow`` is asked on every request: a connector whose client is built before the operator's choice
    reaches it (:func:`apply_policy`) passes ``lambda: self.allow_private_urls``."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, allow: Callable[[], bool] | None = None) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()  # honours SSL_CERT_FILE/DIR; never a proxy
        self._allow = allow

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._allow is not None and self._allow():
            return await self._inner.handle_async_request(request)
        url = request.url
        host = url.host
        try:
            addresses = await public_addresses(host, url.port or DEFAULT_PORTS.get(url.scheme, 443))
        except OSError as exc:
            raise httpx.ConnectError(f"could not resolve {host} ({exc})", request=request) from exc
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions.setdefault("sni_hostname", host)
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=str(addresses[0])),
            headers=request.headers,  # keeps Host: the name, not the address
            stream=request.stream,
            extensions=extensions,
        )
        return await self._inner.handle_async_request(pinned)

    async def aclose(self) -> None:
        await self._inner.aclose()


def transport(allow_private: bool) -> httpx.AsyncBaseTransport | None:
    """What to hand ``httpx.AsyncClient(transport=...)``: the guard, or None (httpx's own) when allowed."""
    return None if allow_private else GuardedTransport()


@runtime_checkable
class NetworkPolicyAware(Protocol):
    """A connector that fetches addresses a merchant typed; it refuses private ones unless this is True."""

    allow_private_urls: bool


def apply_policy(connector: object, allow_private: bool) -> None:
    """Hands the operator's choice (``Settings.allow_private_source_urls``) to a connector that takes it;
    call it wherever a source or channel connector is built. A connector never told keeps refusing."""
    if isinstance(connector, NetworkPolicyAware):
        connector.allow_private_urls = allow_private
