"""The connect-a-channel form, built from a channel's own settings and credentials models, and its test call.

A channel's :class:`~fenicia.connectors.base.ChannelSpec` names two pydantic models. The form shows the
settings a connection cannot do without (fields with no default) and every credential (secrets as
password inputs, never echoed back into a page). "Test connection" builds a throwaway connector from
what was typed, asks the channel who it is, and closes it: nothing is stored until that call succeeds.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from fenicia.channels.schemas import ALLOWED_POLL_INTERVALS_SECONDS
from fenicia.connectors.base import ChannelSpec, MemoryTokenStore
from fenicia.core import netguard
from fenicia.core.errors import ConfigError, FeniciaError, ValidationFailed
from fenicia.web.forms import parse_form

FREQUENCY_WORDS = {300: "Every 5 minutes", 900: "Every 15 minutes", 3600: "Every hour"}
MANUAL = "manual"
ACRONYMS = {"url": "URL", "api": "API", "id": "ID", "sku": "SKU"}
SETTING_PREFIX = "setting__"  # form field names: settings and credentials never collide with ours
CREDENTIAL_PREFIX = "credential__"


@dataclass(frozen=True)
class FormField:
    """One input of the form: ``name`` is the model's field, ``input_name`` the form's."""

    name: str
    input_name: str
    label: str
    help: str
    required: bool
    secret: bool
    input_type: str


def _annotation_types(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def _input_type(info: FieldInfo) -> tuple[str, bool]:
    kinds = _annotation_types(info.annotation)
    if SecretStr in kinds:
        return "password", True
    if all(k in (int, float) for k in kinds):
        return "number", False
    return "text", False


def _label(name: str) -> str:
    """``shop_url`` → ``Shop URL``."""
    words = [ACRONYMS.get(word, word) for word in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _field(prefix: str, name: str, info: FieldInfo) -> FormField:
    input_type, secret = _input_type(info)
    label = info.title or _label(name)
    return FormField(name, f"{prefix}{name}", label, info.description or "", info.is_required(), secret, input_type)


def settings_fields(spec: ChannelSpec) -> list[FormField]:
    """The settings a connection needs (no default); the others keep their defaults (the API can change them)."""
    fields = spec.settings_model.model_fields.items()
    return [_field(SETTING_PREFIX, name, info) for name, info in fields if info.is_required()]


def credential_fields(spec: ChannelSpec) -> list[FormField]:
    return [_field(CREDENTIAL_PREFIX, name, info) for name, info in spec.credentials_model.model_fields.items()]


def picked(form: dict[str, Any], fields: list[FormField]) -> dict[str, Any]:
    """The typed values of ``fields`` (blank ones left out, so a model's default or "required" applies)."""
    values = {f.name: str(form.get(f.input_name, "")).strip() for f in fields}
    return {name: value for name, value in values.items() if value}


def frequency_choices(default_seconds: int | None) -> list[tuple[str, str, bool]]:
    """(value, words, selected) for the frequency select; ``default_seconds`` None selects manual."""
    choices = [
        (str(s), FREQUENCY_WORDS.get(s, f"Every {s} s"), s == default_seconds) for s in ALLOWED_POLL_INTERVALS_SECONDS
    ]
    choices.append((MANUAL, "Manual only (Sync orders button)", default_seconds is None))
    return choices


def parse_frequency(value: str) -> int | None:
    """``manual`` → None; otherwise one of the allowed intervals, or ValidationFailed."""
    text = value.strip()
    if text == MANUAL:
        return None
    if text.isdigit() and int(text) in ALLOWED_POLL_INTERVALS_SECONDS:
        return int(text)
    raise ValidationFailed(f"'{value}' is not a sync frequency.", resolution="Pick one from the list.")


def validated(spec: ChannelSpec, settings: dict[str, Any], credentials: dict[str, Any]) -> tuple[BaseModel, BaseModel]:
    """Both models, or ValidationFailed naming what to fix (with the same words as every form)."""
    return parse_form(spec.settings_model, settings), parse_form(spec.credentials_model, credentials)


async def check_credentials(
    spec: ChannelSpec, settings: BaseModel, credentials: BaseModel, *, allow_private: bool = False
) -> str:
    """Asks the channel who these credentials belong to (its answer, e.g. the shop's name); raises its error.

    ``allow_private``: the operator's ``Settings.allow_private_source_urls``; without it a non-public address
    in the settings is refused (``netguard.AddressRefused``), as ``build_connector`` does."""
    if spec.build is None:
        raise ConfigError(
            f"{spec.display_name} connections cannot be tested from the dashboard.",
            resolution="Connect it with the API instead.",
        )
    connector = spec.build(settings, credentials, MemoryTokenStore())
    netguard.apply_policy(connector, allow_private)
    try:
        return str(await connector.test_connection())
    finally:
        await connector.aclose()


def failed_check(spec: ChannelSpec, exc: FeniciaError) -> FeniciaError:
    """A failed test as the form shows it: what the channel said, and that nothing was saved."""
    message = f"The connection test failed, so nothing was saved. {spec.display_name} said: {exc.message}"
    return ConfigError(message, resolution=exc.resolution or "Check the settings and credentials, then try again.")
