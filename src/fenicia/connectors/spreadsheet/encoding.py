"""Which text encoding a CSV file is in, and which delimiter it uses.

Encoding, in order: a byte-order mark (UTF-8, UTF-16, UTF-32); UTF-16 without a mark (zero bytes in
every other position); UTF-8 if the whole file decodes; else Windows-1252 (what Excel writes on
Western-language Windows). The whole file is checked before a row is read (C-speed decoding, a few
milliseconds per 10 MB), so a file that is neither is refused naming the row, and nothing is applied.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from fenicia.core.errors import ValidationFailed

HEAD_BYTES = 64 * 1024
SCAN_CHUNK_BYTES = 1 << 20
UTF16_ZERO_SHARE = 0.3  # share of zero bytes in one byte position that means UTF-16 without a BOM
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 30
LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp1252": "Windows-1252", "utf-16": "UTF-16"}
FIX_ENCODING = "Save the file as 'CSV UTF-8' (or set 'encoding' to the file's encoding) and send it again."


@dataclass
class Undecodable(Exception):
    row: int
    byte: int
    encoding: str


def detect_encoding(path: Path, declared: str = "auto") -> str:
    """The codec name to open ``path`` with; ValidationFailed naming the row when it cannot be read."""
    if declared != "auto":
        _check(path, declared)
        return declared
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    for bom, name in BOMS:
        if head.startswith(bom):
            _check(path, name)
            return name
    guessed = _utf16_without_bom(head)
    if guessed:
        _check(path, guessed)
        return guessed
    try:
        _scan(path, "utf-8")
        return "utf-8"
    except Undecodable:
        pass
    try:
        _scan(path, "cp1252")
    except Undecodable as exc:
        raise ValidationFailed(
            f"Row {exc.row} is neither UTF-8 nor Windows-1252 text (byte 0x{exc.byte:02X}).",
            resolution=f"{FIX_ENCODING} Nothing was applied.",
            row=exc.row,
        ) from exc
    return "cp1252"


def _check(path: Path, encoding: str) -> None:
    try:
        _scan(path, encoding)
    except Undecodable as exc:
        label = LABELS.get(encoding, encoding)
        raise ValidationFailed(
            f"Row {exc.row} is not valid {label} text (byte 0x{exc.byte:02X}): the file is in another encoding.",
            resolution=f"{FIX_ENCODING} Nothing was applied.",
            row=exc.row,
        ) from exc


def _scan(path: Path, encoding: str) -> None:
    """Decodes the whole file; Undecodable with the 1-based row of the first bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(SCAN_CHUNK_BYTES)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                before = chunk[: max(exc.start, 0)]
                raise Undecodable(newlines + before.count(b"\n") + 1, _bad_byte(exc), encoding) from exc
            if final:
                return
            newlines += chunk.count(b"\n")


def _bad_byte(exc: UnicodeDecodeError) -> int:
    data = exc.object
    return data[exc.start] if 0 <= exc.start < len(data) else 0


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    half = len(sample) // 2
    even_zeros = sample[0::2].count(0) / half
    odd_zeros = sample[1::2].count(0) / half
    if odd_zeros > UTF16_ZERO_SHARE and even_zeros < UTF16_ZERO_SHARE / 3:
        return "utf-16-le"
    if even_zeros > UTF16_ZERO_SHARE and odd_zeros < UTF16_ZERO_SHARE / 3:
        return "utf-16-be"
    return None


def sniff_delimiter(lines: list[str]) -> str:
    """The candidate that splits the header and the following lines into the same number of fields."""
    sample = [line for line in lines if line.strip()][:SNIFF_LINES]
    if not sample:
        return ","
    best, best_score = ",", (0, 0, 0)
    for order, delimiter in enumerate(DELIMITERS):
        counts = [_count_outside_quotes(line, delimiter) for line in sample]
        header = counts[0]
        if header == 0:
            continue
        score = (sum(1 for c in counts if c == header), header, -order)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count
