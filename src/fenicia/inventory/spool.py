"""Where a run keeps the changes it found until the whole read has succeeded: memory, then a temp file.

A read compares each page with the stored levels and keeps only the rows that differ. Nothing is
written to ``stock_levels`` until the read ends, so a file that fails at row 900,000 changes nothing.
Changes stay in memory up to ``MAX_MEMORY_BYTES`` and spill to a temporary file beyond (a first import
of a million rows), so memory stays flat whatever the source's size. The file holds only our own
pickled tuples, written and read by the same run.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from fenicia.inventory.levels import Change

MAX_MEMORY_BYTES = 8 * 1024 * 1024


class Spool:
    def __init__(self, folder: Path | None = None) -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        where = str(folder) if folder is not None else None
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=MAX_MEMORY_BYTES, dir=where)  # noqa: SIM115
        self.count = 0

    def add(self, changes: Sequence[Change]) -> None:
        if changes:
            pickle.dump(list(changes), self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self.count += len(changes)

    def batches(self) -> Iterator[list[Change]]:
        """The changes in the order they were added, one page (batch) at a time."""
        self._file.seek(0)
        while True:
            try:
                batch: list[Change] = pickle.load(self._file)  # our own file, written by this run
            except EOFError:
                return
            yield batch

    def close(self) -> None:
        self._file.close()
