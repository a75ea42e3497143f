"""The inventory source forms of the dashboard, built from each source type's own pydantic models.

A source type (:class:`~fenicia.connectors.base.SourceSpec`) names a settings model and a credentials
model. The "Add source" flow offers *choices*: one per type, and three for spreadsheets (upload, a web
address, an SFTP folder: one type, three transports, each showing only its own fields). A choice's
form shows the settings a merchant decides (required ones, choices between values, and those the
choice features) up front, and the tuning knobs (timeouts, page sizes, file format details) under
"More settings", pre-filled by their defaults; a nested model (a spreadsheet's columns) is a group of
its own. Secrets are password inputs, never sent back into a page.

Values are read back as the models expect them: blank means "the model's default", a checkbox is
always sent (a hidden "false" before it), a list is comma-separated. Validation errors name the field
by its label.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from fenicia.connectors.base import SourceSpec
from fenicia.connectors.source_registry import source_specs
from fenicia.core.errors import ValidationFailed
from fenicia.inventory.mapping import MappingRules
from fenicia.inventory.models import InventorySource
from fenicia.inventory.schemas import ALLOWED_FREQUENCIES_SECONDS
from fenicia.inventory.services import UPLOAD_FIELDS
from fenicia.web.connect import FREQUENCY_WORDS, MANUAL

SETTING_PREFIX = "setting__"
CREDENTIAL_PREFIX = "credential__"
NESTED = "__"
FORM_FIX = "Correct the form and submit it again; nothing was saved."
ACRONYMS = {"url": "URL", "api": "API", "id": "ID", "ids": "IDs", "sku": "SKU", "sftp": "SFTP", "http": "HTTP"}
VALUE_WORDS = {
    ",": "Comma (,)",
    ";": "Semicolon (;)",
    "\t": "Tab",
    "|": "Pipe (|)",
    ".": "Point (.)",
    "json2": "JSON-2 (Odoo 19 or newer)",
    "jsonrpc": "JSON-RPC (Odoo 8 to 18)",
    "xlsx": "XLSX",
    "csv": "CSV",
}
NEVER_SHOWN = frozenset({*UPLOAD_FIELDS, "files_root", "transport"})
SFTP_SETTINGS = (
    "sftp_host",
    "sftp_port",
    "sftp_username",
    "sftp_directory",
    "sftp_pattern",
    "sftp_host_key",
)
SFTP_CREDENTIALS = ("sftp_password", "sftp_private_key", "sftp_key_passphrase")
HTTP_CREDENTIALS = ("http_username", "http_password", "http_bearer_token")
ModelT = TypeVar("ModelT", bound=BaseModel)
Widget = Literal["text", "number", "password", "secret_text", "select", "checkbox", "list"]


@dataclass(frozen=True)
class Choice:
    """One entry of the "system type" step: a source type, maybe with some settings fixed (``preset``)."""

    key: str
    kind: str
    title: str
    description: str
    preset: Mapping[str, Any] = field(default_factory=dict)
    featured: tuple[str, ...] = ()
    hidden: frozenset[str] = frozenset()
    credentials: tuple[str, ...] | None = None  # None: every credential field
    upload: bool = False
    short: str = ""  # the type's name in lists

    @property
    def name(self) -> str:
        return self.short or self.title

    @property
    def spec(self) -> SourceSpec:
        return source_specs()[self.kind]


SPREADSHEET_CHOICES = (
    Choice(
        "spreadsheet-upload",
        "spreadsheet",
        "Spreadsheet file (CSV or XLSX upload)",
        "Upload a stock file now, and a new one whenever it changes.",
        {"transport": "upload"},
        ("quantity_basis",),
        frozenset({"url", *SFTP_SETTINGS}),
        (),
        upload=True,
        short="Spreadsheet upload",
    ),
    Choice(
        "spreadsheet-url",
        "spreadsheet",
        "Spreadsheet at a web address (Google Sheets, CSV or XLSX link)",
        "Fenicia downloads the file from its address on every sync.",
        {"transport": "url"},
        ("url", "quantity_basis"),
        frozenset(SFTP_SETTINGS),
        HTTP_CREDENTIALS,
        short="Spreadsheet URL",
    ),
    Choice(
        "spreadsheet-sftp",
        "spreadsheet",
        "Spreadsheet in an SFTP folder",
        "Your system drops stock files in a folder; Fenicia reads the newest one.",
        {"transport": "sftp"},
        (*SFTP_SETTINGS, "quantity_basis"),
        frozenset({"url"}),
        SFTP_CREDENTIALS,
        short="Spreadsheet SFTP",
    ),
)
FEATURED = {
    "odoo": ("url", "protocol", "database", "login", "scope", "quantity_basis", "location_key"),
    "erpnext": ("url", "quantity_basis", "warehouses"),
    "shiphero": ("api_url", "customer_account_id", "warehouse_id", "quantity_basis"),
    "woocommerce": ("site_url", "auth_method"),
    "shopify_stock": ("shop_url", "location_ids", "location_key"),
}
KIND_WORDS = {"erp": "ERP", "wms": "Warehouse system", "shop": "Online shop", "spreadsheet": "Spreadsheet"}


def choices() -> list[Choice]:
    """Every choice of the first step: the spreadsheet transports, then the other types by name."""
    others = [
        Choice(
            spec.key,
            spec.key,
            spec.display_name,
            f"{KIND_WORDS.get(spec.kind, spec.kind)}: Fenicia reads its stock levels over its API.",
            featured=FEATURED.get(spec.key, ()),
        )
        for spec in sorted(source_specs().values(), key=lambda s: s.display_name)
        if spec.key != "spreadsheet"
    ]
    return [*SPREADSHEET_CHOICES, *others]


def choice(key: str) -> Choice | None:
    return next((c for c in choices() if c.key == key), None)


def choice_of(source: InventorySource) -> Choice:
    """The choice a stored source was made with (spreadsheets: by their transport)."""
    if source.kind == "spreadsheet":
        transport = (source.settings or {}).get("transport", "upload")
        return next(c for c in SPREADSHEET_CHOICES if c.preset["transport"] == transport)
    found = choice(source.kind)
    if found is None:  # a type removed from the registry: its source still shows, with its raw key
        return Choice(source.kind, source.kind, source.kind, "")
    return found


# --- fields --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceField:
    """One input: ``name`` is the model's field (dotted inside a nested model), ``input_name`` the form's."""

    name: str
    input_name: str
    label: str
    help: str
    required: bool
    widget: Widget
    default: str = ""
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FieldGroup:
    title: str
    fields: list[SourceField]


@dataclass(frozen=True)
class SourceForm:
    """What the connection step shows for one choice."""

    settings: list[SourceField]
    credentials: list[SourceField]
    groups: list[FieldGroup]  # "More settings", then one per nested model

    def all_settings(self) -> list[SourceField]:
        return [*self.settings, *(f for g in self.groups for f in g.fields)]


def _types(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def _label(name: str) -> str:
    """``sftp_host_key`` → ``SFTP host key``."""
    words = [ACRONYMS.get(word, word) for word in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _value_words(value: str) -> str:
    return VALUE_WORDS.get(value, value.replace("_", " ").capitalize())


def _default(info: FieldInfo) -> str:
    value = info.default
    if value is PydanticUndefined or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _widget(name: str, kinds: tuple[Any, ...]) -> tuple[Widget, tuple[tuple[str, str], ...]]:
    kind = kinds[0]
    if SecretStr in kinds:
        return ("secret_text" if name.endswith("private_key") else "password"), ()
    if get_origin(kind) is Literal:
        return "select", tuple((str(v), _value_words(str(v))) for v in get_args(kind))
    if kind is bool:
        return "checkbox", ()
    if get_origin(kind) in (tuple, list):
        return "list", ()
    if all(k in (int, float) for k in kinds):
        return "number", ()
    return "text", ()


def _field(prefix: str, name: str, info: FieldInfo, dotted: str = "") -> SourceField:
    widget, options = _widget(name, _types(info.annotation))
    path = f"{dotted}{name}"
    return SourceField(
        path,
        prefix + path.replace(".", NESTED),
        info.title or _label(name),
        info.description or "",
        info.is_required(),
        widget,
        _default(info),
        options,
    )


def _nested(info: FieldInfo) -> type[BaseModel] | None:
    kind = _types(info.annotation)[0]
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _shown(name: str, info: FieldInfo, hidden: frozenset[str]) -> bool:
    kinds = _types(info.annotation)
    return name not in NEVER_SHOWN and name not in hidden and not info.exclude and kinds[0] is not datetime


def source_form(pick: Choice) -> SourceForm:
    """The fields of ``pick``: featured, required and choice fields first; the rest under "More settings"."""
    main: list[SourceField] = []
    more: list[SourceField] = []
    nested: list[FieldGroup] = []
    for name, info in pick.spec.settings_model.model_fields.items():
        if not _shown(name, info, pick.hidden):
            continue
        inner = _nested(info)
        if inner is not None:
            fields = [_field(SETTING_PREFIX, n, i, f"{name}.") for n, i in inner.model_fields.items()]
            nested.append(FieldGroup(_label(name), fields))
            continue
        target = main if info.is_required() or name in pick.featured else more
        target.append(_field(SETTING_PREFIX, name, info))
    wanted = pick.credentials
    credentials = [
        _field(CREDENTIAL_PREFIX, name, info)
        for name, info in pick.spec.credentials_model.model_fields.items()
        if wanted is None or name in wanted
    ]
    groups = [FieldGroup("More settings", more)] if more else []
    return SourceForm(main, credentials, groups + nested)


# --- reading a submitted form ----------------------------------------------------------------------------


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def read_values(
    form: Mapping[str, Any], fields: list[SourceField], *, blank_is_default: bool = False
) -> dict[str, Any]:
    """The typed values of ``fields`` in the models' shape.

    A blank input is left out (the model's default applies to a new source); with ``blank_is_default``
    (changing a stored source, whose settings are merged) it is sent as the field's default instead.
    """
    out: dict[str, Any] = {}
    for f in fields:
        raw = form.get(f.input_name)
        if f.widget == "checkbox":
            if raw is not None:
                _put(out, f.name, str(raw) == "true")
            continue
        text = str(raw or "").strip()
        if not text and blank_is_default:
            if f.required:
                raise ValidationFailed(f"Check the form: {f.label}: is required.", resolution=FORM_FIX)
            text = f.default
            if not text:
                _put(out, f.name, None)
                continue
        if not text:
            continue
        value: Any = [p.strip() for p in text.split(",") if p.strip()] if f.widget == "list" else text
        _put(out, f.name, value)
    return out


def stored_values(settings: Mapping[str, Any], fields: list[SourceField]) -> dict[str, str]:
    """A stored source's settings as the form's inputs show them (for the edit form)."""
    shown: dict[str, str] = {}
    for f in fields:
        value: Any = settings
        for part in f.name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            continue
        if isinstance(value, bool):
            shown[f.input_name] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            shown[f.input_name] = ", ".join(str(v) for v in value)
        else:
            shown[f.input_name] = str(value)
    return shown


def _problem(error: Any, labels: Mapping[str, str]) -> str:
    path = ".".join(str(p) for p in error.get("loc", ()) if not isinstance(p, int))
    message = str(error.get("msg", "is not valid"))
    if error.get("type") == "missing":
        message = "is required"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    else:
        message = message[:1].lower() + message[1:]
    label = labels.get(path)
    if label is None and path:
        label = " ".join(_label(p) for p in path.split("."))
    return f"{label}: {message}" if label else message[:1].upper() + message[1:]


def labels_of(fields: list[SourceField]) -> dict[str, str]:
    return {f.name: f.label for f in fields}


def validated(model: type[ModelT], values: Mapping[str, Any], labels: Mapping[str, str]) -> ModelT:
    """``values`` validated by ``model``, or ValidationFailed naming each problem by its field's label."""
    try:
        return model.model_validate(dict(values))
    except PydanticValidationError as exc:
        problems = "; ".join(_problem(e, labels) for e in exc.errors())
        raise ValidationFailed(f"Check the form: {problems}.", resolution=FORM_FIX) from exc


# --- frequency ---------------------------------------------------------------------------------------------


def frequency_choices(selected: int | None) -> list[tuple[str, str, bool]]:
    """(value, words, selected); ``selected`` None is manual."""
    listed = [(str(s), FREQUENCY_WORDS[s], s == selected) for s in ALLOWED_FREQUENCIES_SECONDS]
    return [*listed, (MANUAL, "Manual only (the Sync now button)", selected is None)]


def frequency_words(seconds: int | None) -> str:
    return "Manual only" if seconds is None else FREQUENCY_WORDS.get(seconds, f"Every {seconds} s")


def parse_frequency(value: str) -> int | None:
    text = value.strip()
    if text == MANUAL:
        return None
    if text.isdigit() and int(text) in ALLOWED_FREQUENCIES_SECONDS:
        return int(text)
    raise ValidationFailed(f"'{value}' is not a sync frequency.", resolution="Pick one from the list.")


# --- the mapping step ----------------------------------------------------------------------------------

NO_LOCATION = "(no location)"  # how the form writes the key of a source that names no location
PAIR_FIX = "Write one per line, like 'ACME-123 = SKU-123'; nothing was saved."
RULE_LABELS = {
    "case": "Letter case",
    "strip_prefix": "Remove prefix",
    "strip_suffix": "Remove suffix",
    "add_prefix": "Add prefix",
    "add_suffix": "Add suffix",
    "match_on": "Match on",
}


@dataclass(frozen=True)
class MappingForm:
    """The mapping step, read: rules, explicit overrides (code → product SKU), locations (key → code)."""

    rules: MappingRules
    overrides: dict[str, str]
    locations: dict[str, str]
    update_mode: str | None
    missing_means_zero: bool
    guard_percent: int


def read_mapping(form: Mapping[str, Any], supports_delta: bool) -> MappingForm:
    """The submitted mapping form, or ValidationFailed naming the field or line at fault."""
    text = {k: str(form.get(k, "")).strip() for k in ("case", "match_on", *RULE_LABELS)}
    rules = validated(
        MappingRules,
        {
            "trim": form.get("trim") == "true",
            "create_locations": form.get("create_locations") == "true",
            "case": text["case"] or None,
            "match_on": text["match_on"] or "sku",
            **{k: text[k] for k in ("strip_prefix", "strip_suffix", "add_prefix", "add_suffix")},
        },
        RULE_LABELS,
    )
    mode = str(form.get("update_mode", "")).strip() or None
    if mode not in (None, "full", "delta") or (mode == "delta" and not supports_delta):
        raise ValidationFailed(f"'{mode}' is not a way to read this source.", resolution="Pick one from the list.")
    return MappingForm(
        rules,
        parse_pairs(str(form.get("overrides", "")), "overrides", allow_blank_key=False),
        parse_pairs(str(form.get("locations", "")), "location mappings", allow_blank_key=True),
        mode,
        form.get("missing_means_zero") == "true",
        _percent(str(form.get("truncation_guard_percent", "50"))),
    )


def _percent(value: str) -> int:
    text = value.strip() or "50"
    if not text.isdigit() or int(text) > 100:
        raise ValidationFailed(
            f"The truncation guard must be a whole number from 0 to 100, not '{value}'.", resolution=FORM_FIX
        )
    return int(text)


def parse_pairs(text: str, what: str, *, allow_blank_key: bool) -> dict[str, str]:
    """``left = right`` lines (blank lines skipped); each left side once."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        left, sep, right = line.partition("=")
        key = left.strip()
        key = "" if key == NO_LOCATION else key
        shown = line.strip()[:80]
        if not sep or not right.strip() or (not key and not allow_blank_key):
            raise ValidationFailed(
                f"Line {number} of the {what} ('{shown}') is not 'code = target'.", resolution=PAIR_FIX
            )
        if key in pairs:
            raise ValidationFailed(
                f"Line {number} of the {what} gives '{key or NO_LOCATION}' a second time.",
                resolution="Keep one line per code; nothing was saved.",
            )
        pairs[key] = right.strip()
    return pairs


def format_pairs(pairs: Mapping[str, str]) -> str:
    return "\n".join(f"{key or NO_LOCATION} = {value}" for key, value in pairs.items())
