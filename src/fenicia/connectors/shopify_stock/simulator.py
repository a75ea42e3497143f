"""The simulator of a Shopify store read as a stock source is the Shopify channel's simulator.

It serves what the source reads, with Shopify's auth, errors and leaky-bucket limit: ``locations.json``,
``inventory_levels.json`` (``updated_at_min``, ``page_info`` paging) and the GraphQL Admin API's
``inventoryItems`` with quantities by state (``sim_graphql``). This module only lets
``python -m fenicia.connectors.shopify_stock.simulator --port N`` start it like the other sources'
simulators. Stock is changed through the Admin API itself (``POST inventory_levels/set.json``); orders
commit stock until fulfilled.
"""

from __future__ import annotations

import argparse

from starlette.applications import Starlette

from fenicia.connectors.shopify.simulator import ShopifySimConfig, ShopifySimulator
from fenicia.sandbox.simkit import run_standalone

__all__ = ["ShopifySimConfig", "ShopifySimulator", "main"]


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = ShopifySimulator(ShopifySimConfig(locations=args.locations))
        return sim.app, f"access_token {sim.config.access_token}"

    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--locations", type=int, default=2)

    description = "Shopify Admin API simulator, for the Shopify stock source"
    run_standalone(argv, description=description, port=8092, build=build, options=options)


if __name__ == "__main__":
    main()
