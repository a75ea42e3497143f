"""The example payloads in ``connectors/odoo/fixtures`` run through the Odoo normalizer and error mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from fenicia.connectors import odoo
from fenicia.connectors.odoo.client import rpc_error, to_error
from fenicia.connectors.odoo.settings import OdooSettings
from fenicia.connectors.odoo.stock import Product, Sums, add_quants, make_level, product_of, warehouse_level
from fenicia.core.errors import AuthError, ConfigError

FIXTURES = Path(odoo.__file__).parent / "fixtures"
SETTINGS = OdooSettings(url="https://mycompany.odoo.com", database="mycompany", login="bot@example.com")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_quant_rows_sum_per_product_and_location() -> None:
    sums: Sums = {}
    add_quants(sums, fixture("json2_quant_search_read.json")["response"], SETTINGS)
    products = {41: Product(41, "FURN_0001", "Office Desk"), 42: Product(42, "00123", "Chair")}
    built = [make_level(products[p], loc, qty[0], qty[1], "available") for (p, loc), qty in sums.items()]
    levels = {(lv.code, lv.location): (lv.available, lv.on_hand, lv.reserved) for lv in built}
    assert levels == {("FURN_0001", "8"): (12, 14, 2), ("FURN_0001", "23"): (5, 5, 0), ("00123", "17"): (2, 3, 1)}


def test_warehouse_rows_use_free_qty() -> None:
    rows = fixture("jsonrpc_execute_kw.json")["execute_kw"]["response"]["result"]
    levels = [warehouse_level(row, "1", SETTINGS) for row in rows]
    assert [(lv.code, lv.available, lv.on_hand, lv.reserved) for lv in levels if lv] == [
        ("FURN_0001", 13, 15, 2),
        ("00123", 0, 7, 7),
    ]
    assert product_of({"id": 5, "default_code": False, "name": "no code"}) is None


def test_error_payloads_map_to_errors() -> None:
    sample = fixture("json2_error_401.json")
    request = httpx.Request("POST", "https://mycompany.odoo.com/json/2/stock.quant/search_read")
    error = to_error(httpx.Response(sample["status"], json=sample["body"], request=request))
    assert isinstance(error, AuthError)
    assert "Invalid apikey" in error.message
    rpc = fixture("jsonrpc_execute_kw.json")
    assert isinstance(rpc_error(rpc["error_access"]["error"], SETTINGS), AuthError)
    database = rpc_error(rpc["error_database"]["error"], SETTINGS)
    assert isinstance(database, ConfigError)
    assert "no database named 'mycompany'" in database.message
