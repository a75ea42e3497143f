"""The shared ``/_sandbox/...`` control routes (``simkit.SandboxControl``) as the source simulators serve
them over loopback HTTP: faults, the request log, config and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette

import servers
from erpnext_sim import running_erpnext
from fenicia.sandbox.simkit import FaultSet, RequestLog, SandboxConfig, SandboxControl, request_faults
from odoo_sim import running_odoo


def test_faults_are_added_listed_and_removed_one_by_one() -> None:
    with running_odoo() as odoo:
        added = httpx.post(f"{odoo.url}/_sandbox/faults", json={"kind": "http_503", "count": 2})
        rule = added.json()["fault"]
        listed = odoo.control("GET", "faults")["faults"]
        removed = odoo.control("DELETE", f"faults/{rule['id']}")
        unknown = httpx.delete(f"{odoo.url}/_sandbox/faults/{rule['id']}")
        bad = httpx.post(f"{odoo.url}/_sandbox/faults", json={"kind": "drop_webhooks"})  # Odoo sends none
    assert added.status_code == 201
    assert (rule["kind"], rule["remaining"]) == ("http_503", 2)
    assert [r["id"] for r in listed] == [rule["id"]]
    assert removed == {"removed": rule["id"]}
    assert unknown.status_code == 404
    assert bad.status_code == 400
    assert "kind must be one of" in bad.json()["error"]


def test_request_log_filters_by_method_and_path() -> None:
    with running_erpnext() as site:
        token = {"Authorization": f"token {site.sim.config.api_key}:{site.sim.config.api_secret}"}
        httpx.get(f"{site.url}/api/resource/Bin", headers=token)
        httpx.post(f"{site.url}/api/method/frappe.auth.get_logged_user", headers=token)
        posts = site.control("GET", "requests?method=post")["requests"]
        bins = site.requests("/Bin")
    assert [(r["method"], r["path"], r["status"]) for r in posts] == [
        ("POST", "/api/method/frappe.auth.get_logged_user", 200)
    ]
    assert [(r["method"], r["status"], r["body"]) for r in bins] == [("GET", 200, None)]  # bodies never kept


def test_config_is_shown_and_changed_and_unknown_fields_are_refused() -> None:
    with running_odoo() as odoo:
        shown = odoo.control("GET", "config")["config"]
        changed = odoo.control("POST", "config", {"databases": ["a", "b"], "stock_access": False})
        refused = httpx.post(f"{odoo.url}/_sandbox/config", json={"colour": "blue"})
        databases = odoo.sim.config.databases
    assert shown["api_key"] == "odoo-sandbox-key"
    assert changed["changed"] == ["databases", "stock_access"]
    assert changed["config"]["stock_access"] is False
    assert databases == ("a", "b")  # a JSON list given for a tuple field stays a tuple
    assert refused.status_code == 400
    assert refused.json() == {"error": "unknown config fields: colour"}


def test_a_config_change_reaches_the_simulated_site() -> None:
    with running_erpnext() as site:
        site.control("POST", "config", {"time_zone": "Asia/Tokyo"})
        zone = site.sim.store.time_zone
        bad_bulk = httpx.post(f"{site.url}/_sandbox/bins/bulk", json={"count": 0})
    assert zone == "Asia/Tokyo"
    assert bad_bulk.status_code == 400
    assert "count must be an integer" in bad_bulk.json()["error"]


@dataclass
class ClockConfig(SandboxConfig):
    speed: float = 1.0


@dataclass
class Toy:
    """A minimal simulator with a clock, to serve the routes only a clock enables."""

    config: ClockConfig = field(default_factory=ClockConfig)
    faults: FaultSet = field(default_factory=lambda: FaultSet(request_faults()))
    requests: RequestLog = field(default_factory=RequestLog)
    now_s: float = 0.0
    releases: int = 0

    def advance(self, seconds: float) -> dict[str, float]:
        self.now_s += seconds
        return {"now_s": self.now_s}

    def released(self) -> None:
        self.releases += 1

    def app(self) -> Starlette:
        control = SandboxControl(
            self.faults,
            self.requests,
            self.config,
            lambda: {"now_s": self.now_s},
            on_faults_changed=self.released,
            advance_clock=self.advance,
            error_key="errors",
        )
        return Starlette(routes=control.routes())


def test_clock_and_fault_hooks_when_a_simulator_has_them() -> None:
    toy = Toy()
    with servers.serve(toy.app()) as url:
        moved = httpx.post(f"{url}/_sandbox/clock", json={"advance_s": 90}).json()
        backwards = httpx.post(f"{url}/_sandbox/clock", json={"advance_s": -1})
        httpx.post(f"{url}/_sandbox/faults", json={"kind": "latency"})
        httpx.delete(f"{url}/_sandbox/faults")
        state = httpx.get(f"{url}/_sandbox/state").json()
    assert moved == {"now_s": 90.0}
    assert backwards.status_code == 400
    assert backwards.json() == {"errors": "advance_s must be a non-negative number"}
    assert toy.releases == 1
    assert state == {"now_s": 90.0}
