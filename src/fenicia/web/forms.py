"""Reading the dashboard's forms and query strings into the services' shapes, with errors a person can act on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from fenicia.connectors.registry import channel_specs
from fenicia.core.errors import FeniciaError, ValidationFailed
from fenicia.orders.actions import ACTION_WORDS, KIND_CAPABILITY
from fenicia.orders.schemas import OrderFilters

ModelT = TypeVar("ModelT", bound=BaseModel)
ORDERS_PER_PAGE = 25
FORM_FIX = "Correct the form and submit it again; nothing was changed."


@dataclass
class FormError:
    """An error to show inline beside the form that caused it (``form`` names it: ship, tracking, ...)."""

    form: str
    message: str
    resolution: str

    @classmethod
    def of(cls, form: str, exc: FeniciaError) -> FormError:
        return cls(form, exc.message, exc.resolution)


def _problem(error: Any) -> str:
    name = ".".join(str(p) for p in error.get("loc", ())) or "form"
    message = "is required" if error.get("type") == "missing" else str(error.get("msg", "is not valid")).lower()
    return f"{name.replace('_', ' ').capitalize()} {message}"


def parse_form(model: type[ModelT], values: dict[str, Any]) -> ModelT:
    """Validates form fields (blank ones count as not sent) into ``model``, or raises ValidationFailed (422)."""
    cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    cleaned = {k: v for k, v in cleaned.items() if v not in ("", None)}
    try:
        return model.model_validate(cleaned)
    except PydanticValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ValidationFailed(f"Check the form: {problems}.", resolution=FORM_FIX) from exc


def action_blockers(channel: str, raw: Mapping[str, Any] | None = None) -> dict[str, str | None]:
    """For each order action, why it can't be done for this order (shown on the disabled form), or None."""
    spec = channel_specs().get(channel)
    blockers: dict[str, str | None] = {}
    for kind, capability in KIND_CAPABILITY.items():
        if spec is None:
            blockers[kind] = f"{ACTION_WORDS[kind]} is not available: the '{channel}' channel is no longer installed."
        else:
            blockers[kind] = spec.blocker(capability, raw)
    return blockers


def _day(value: str, label: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(value.strip()), datetime.min.time(), tzinfo=UTC)
    except ValueError as exc:
        raise ValidationFailed(
            f"'{value}' is not a date ({label}).", resolution="Pick a date, or type it as YYYY-MM-DD."
        ) from exc


def _number(value: str, label: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit():
        raise ValidationFailed(f"'{value}' is not a valid {label}.", resolution="Pick one from the list.")
    return int(value)


@dataclass
class OrderQuery:
    """The orders page's query string, as typed: parsed into filters only when asked, so errors show inline."""

    connection_id: str = ""
    channel: str = ""
    status: str = ""
    placed_from: str = ""
    placed_to: str = ""
    q: str = ""
    page: int = 1

    def filters(self) -> OrderFilters:
        """``placed_to`` is a whole day: orders up to the end of it are included."""
        until = _day(self.placed_to, "to")
        return OrderFilters(
            connection_id=_number(self.connection_id, "channel"),
            channel=self.channel.strip() or None,
            status=self.status.strip() or None,
            placed_from=_day(self.placed_from, "from"),
            placed_to=until + timedelta(days=1) if until else None,
            q=self.q.strip() or None,
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * ORDERS_PER_PAGE

    def query_string(self, page: int | None = None) -> str:
        values = {
            "connection_id": self.connection_id,
            "channel": self.channel,
            "status": self.status,
            "placed_from": self.placed_from,
            "placed_to": self.placed_to,
            "q": self.q,
        }
        kept = {k: v for k, v in values.items() if v}
        if (page or self.page) > 1:
            kept["page"] = str(page or self.page)
        return urlencode(kept)


def page_number(value: str) -> int:
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1
