"""Jinja2 templates of the dashboard, their filters, and the two ways a page is answered."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.responses import Response

from fenicia.accounts.sessions import SignedIn
from fenicia.channels.models import ChannelConnection
from fenicia.connectors.registry import channel_specs
from fenicia.core.clock import as_utc
from fenicia.notifications.services import unread_count
from fenicia.web.pulse import stream_url

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
HTMX_JS = "htmx-2.0.4.min.js"
HTMX_SSE_JS = "htmx-ext-sse-2.2.2.js"
APP_CSS = "app.css"
STATUS_CLASSES = {"Syncing": "syncing", "Completed": "ok", "Error": "error", "Pending": "pending"}
LEVEL_CLASSES = {"info": "info", "warning": "warning", "error": "error"}
DONE_MESSAGES = {
    "ship": "Mark as shipped is queued; Fenicia pushes it to the channel in the background.",
    "tracking": "The tracking number is queued; Fenicia pushes it to the channel in the background.",
    "cancel": "The cancellation is queued; Fenicia pushes it to the channel in the background.",
    "retry": "The action will be tried again.",
    "sync": "Sync requested; the timeline shows the result when it finishes.",
    "bulk": "Sync orders started; progress shows below.",
    "bulk-running": "A sync of this channel was already running; it is shown below.",
    "read": "Marked as read.",
    "connected": "The channel is connected; its first sync starts within a minute.",
    "connected-polling": (
        "The channel is connected, but it refused Fenicia's webhook subscription, so new orders arrive by the "
        "scheduled sync (or Sync orders) instead of at once. Check that FENICIA_PUBLIC_URL is an https address "
        "the channel can reach, then click Reconnect."
    ),
    "reconnected": "New credentials saved; the next sync runs at once.",
    "frequency": "Sync frequency saved.",
    "user": "User added. Tell them their email and password; they can sign in now.",
    "revoked": "API token revoked; requests using it are refused from now on.",
    "email": "Notification email saved.",
}
# When an error carries no resolution of its own, the page still says what to do.
FALLBACK_RESOLUTIONS = {
    404: "Check the address, or go back to the list and open it from there.",
    409: "Reload the page to see the current state, then try again if it still applies.",
    422: "Correct the form and submit it again; nothing was changed.",
}
GENERIC_RESOLUTION = "Reload the page and try again; if it keeps happening, check the server's log."
ADDRESS_NAME_KEYS = ("name", "first_name", "last_name")
ADDRESS_LINE_KEYS = ("company", "address1", "address2", "address3")
ADDRESS_PLACE_KEYS = ("city", "province", "state", "region", "zip", "postal_code", "country", "phone")
ADDRESS_HIDDEN_KEYS = frozenset({"latitude", "longitude", "country_code", "province_code"})


def format_time(value: datetime | None, empty: str = "—") -> str:
    """Times are shown in UTC, to the minute, with the zone written out."""
    if value is None:
        return empty
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def words(value: str | None) -> str:
    """``partially_shipped`` → ``Partially shipped``."""
    return (value or "").replace("_", " ").capitalize()


def http_url(value: str | None) -> str:
    """A link from a channel (tracking URL) only when it is http(s): never ``javascript:`` or ``data:``."""
    return value if value and value.lower().startswith(("https://", "http://")) else ""


def site_path(value: str | None) -> str:
    """A link inside the dashboard only (notifications): a path on this site, never another host."""
    return value if value and value.startswith("/") and not value.startswith(("//", "/\\")) else ""


def address_lines(address: dict[str, Any] | None) -> list[str]:
    """A shipping address as a person writes it: name, street lines, "city, region zip", country, phone.

    Keys a channel adds that we don't know are kept (after the known ones), never dropped silently.
    """
    if not address:
        return []
    parts = {k: str(v).strip() for k, v in address.items() if isinstance(v, str | int | float) and str(v).strip()}
    name = parts.get("name") or " ".join(parts[k] for k in ("first_name", "last_name") if k in parts)
    region = parts.get("province") or parts.get("state") or parts.get("region") or ""
    postcode = parts.get("zip") or parts.get("postal_code") or ""
    place = ", ".join(p for p in (parts.get("city", ""), f"{region} {postcode}".strip()) if p)
    lines = [name, *(parts.get(k, "") for k in ADDRESS_LINE_KEYS), place, parts.get("country", "")]
    lines.append(parts.get("phone", ""))
    known = {*ADDRESS_NAME_KEYS, *ADDRESS_LINE_KEYS, *ADDRESS_PLACE_KEYS, *ADDRESS_HIDDEN_KEYS}
    lines += [value for key, value in parts.items() if key not in known]
    return [line for line in lines if line]


def channel_name(key: str) -> str:
    spec = channel_specs().get(key)
    return spec.display_name if spec is not None else key


def next_attempt(conn: ChannelConnection) -> str:
    """A retry's time when one is scheduled, else the next scheduled poll, else "Manual only"."""
    if conn.next_attempt_at is not None:
        return format_time(conn.next_attempt_at)
    if conn.poll_interval_seconds is None:
        return "Manual only"
    return format_time(conn.next_poll_at)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.filters["dt"] = format_time
    env.filters["words"] = words
    env.filters["http_url"] = http_url
    env.filters["site_path"] = site_path
    env.filters["address_lines"] = address_lines
    env.globals.update(
        htmx_js=f"/static/{HTMX_JS}",
        htmx_sse_js=f"/static/{HTMX_SSE_JS}",
        app_css=f"/static/{APP_CSS}",
        status_classes=STATUS_CLASSES,
        level_classes=LEVEL_CLASSES,
        channel_name=channel_name,
        next_attempt=next_attempt,
        stream_url=stream_url,
    )
    return templates


templates = _templates()


def page_context(session: Session, user: SignedIn, request: Request, **values: Any) -> dict[str, Any]:
    """What every signed-in page shows: the user, the unread count in the header, the flash message."""
    done = request.query_params.get("done", "")
    return {"user": user, "unread": unread_count(session, user.workspace_id), "done": DONE_MESSAGES.get(done), **values}


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """A page or partial; never cached, since it shows one workspace's data."""
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def render_error(request: Request, status: int, message: str, resolution: str | None) -> Response:
    """The error page: what happened and what to do; it needs no session, so it never fails itself."""
    fix = resolution or FALLBACK_RESOLUTIONS.get(status, GENERIC_RESOLUTION)
    context = {"status": status, "message": message, "resolution": fix}
    return render(request, "error.html", context, status=status)
