"""Google Sheets links → the address that returns the sheet as a file, without OAuth.

Any ``docs.google.com/spreadsheets/d/{key}/...`` link (edit, view, share) becomes
``/spreadsheets/d/{key}/export?format=csv&gid={gid}``, keeping the tab (``gid``, from the query or the
``#gid=`` fragment). It works for sheets shared "anyone with the link". A "Publish to web" link
(``/d/e/{id}/pubhtml``) becomes its CSV output. Other addresses are kept as they are.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

GOOGLE_HOST = "docs.google.com"
EDIT_PATH = re.compile(r"^/spreadsheets/d/(?P<key>[A-Za-z0-9_-]{10,})(?P<rest>/.*)?$")
PUBLISHED_PATH = re.compile(r"^/spreadsheets/d/e/(?P<key>[A-Za-z0-9_-]{10,})/(?P<kind>pubhtml|pub)$")
EXPORT_FORMATS = ("csv", "tsv", "xlsx")


def normalize_sheet_url(value: str) -> str:
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) address like https://example.com/stock.csv, got {value!r}")
    if parts.hostname != GOOGLE_HOST:
        return text
    query = parse_qs(parts.query)
    gid = _first(query, "gid") or _fragment_gid(parts.fragment)
    published = PUBLISHED_PATH.match(parts.path)
    if published:
        return _published(published.group("key"), gid, _first(query, "output"))
    edit = EDIT_PATH.match(parts.path)
    if edit:
        wanted = _first(query, "format") if (edit.group("rest") or "").startswith("/export") else None
        return _export(edit.group("key"), gid, wanted)
    return text


def _export(key: str, gid: str | None, wanted: str | None) -> str:
    params = {"format": wanted if wanted in EXPORT_FORMATS else "csv"}
    if gid:
        params["gid"] = gid
    return f"https://{GOOGLE_HOST}/spreadsheets/d/{key}/export?{urlencode(params)}"


def _published(key: str, gid: str | None, output: str | None) -> str:
    params: dict[str, str] = {}
    if gid:
        params["gid"] = gid
    params["single"] = "true"
    params["output"] = output if output in EXPORT_FORMATS else "csv"
    return f"https://{GOOGLE_HOST}/spreadsheets/d/e/{key}/pub?{urlencode(params)}"


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _fragment_gid(fragment: str) -> str | None:
    found = re.search(r"(?:^|&)gid=(\d+)", fragment)
    return found.group(1) if found else None
