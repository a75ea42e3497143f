"""`make bench`: run every benchmark in turn (each in this process, each with its own baseline).

Every module has ``main(argv) -> int``; ``python -m bench <name>`` runs one."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "bench.bulk_sync",
    "bench.webhook_intake",
    "bench.bulk_sync_amazon",
    "bench.bulk_sync_mercadolibre",
    "bench.bulk_sync_walmart",
    "bench.bulk_sync_tiktok",
    "bench.inventory_csv",
    "bench.order_to_stock",
    "bench.pages",
]


def main() -> None:
    selected = sys.argv[1:] or BENCHMARKS
    for name in selected:
        module = importlib.import_module(name if name.startswith("bench.") else f"bench.{name}")
        module.main([])


if __name__ == "__main__":
    main()
