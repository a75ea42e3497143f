"""Webhook intake: signed Shopify deliveries, each with a new webhook id, against `fenicia serve`.

Measures durably acknowledged deliveries per second and latency percentiles with wrk, and the same
load against a bare ASGI app answering 200 in the same run (same uvicorn, same machine). Afterwards
it checks that every 2xx answered by Fenicia is a stored row. Target: >= 40 % of the bare app's rate
with p99 < 100 ms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bench.common import free_port, process, report
from fenicia.accounts.services import create_workspace
from fenicia.channels.models import WebhookDelivery
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.db.migrate import upgrade

DURATION_S = int(os.environ.get("BENCH_WEBHOOK_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_WEBHOOK_CONNECTIONS", "16"))
SECRET = "shpss_bench"
ORDER = json.loads((Path(__file__).parents[1] / "src/fenicia/connectors/shopify/fixtures/order.json").read_text())

LUA = """
local n = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) n = 0 end
function request()
  n = n + 1
  wrk.headers["X-Shopify-Webhook-Id"] = string.format("bench-%s-%d-%d", tostring(tid), os.time(), n)
  return wrk.format("POST", nil, wrk.headers, wrk.body)
end
"""


def _lua(path: Path, body: bytes) -> None:
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": "bench.myshopify.com",
        "X-Shopify-API-Version": "2024-04",
    }
    lines = ["wrk.method = 'POST'", f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + LUA)


def _wrk(url: str, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def pct(label: str) -> float:
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        return float(m.group(1)) * unit[m.group(2)] if m else float("nan")

    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": pct("50"),
        "p90_ms": pct("90"),
        "p99_ms": pct("99"),
        "socket_errors": errors.group(1) if errors else "none",
    }  # type: ignore[dict-item]


def _prepare(data_dir: Path) -> tuple[dict[str, str], int, Database]:
    url = f"sqlite:///{data_dir / 'fenicia.db'}"
    upgrade(url)
    key = Fernet.generate_key().decode()
    db = Database(url)
    with db.session() as s:
        ws = create_workspace(s, "Bench", "bench")
        conn = create_connection(
            s,
            SecretBox(key.encode()),
            ws.id,
            ConnectionCreate(
                channel="shopify",
                name="Bench",
                settings={"shop_url": "http://127.0.0.1:9"},
                credentials={"access_token": "x", "client_secret": SECRET},
                poll_interval_seconds=None,
                use_default_interval=False,
            ),
        )
        conn_id = conn.id
    env = {
        "FENICIA_DATA_DIR": str(data_dir),
        "FENICIA_DATABASE_URL": url,
        "FENICIA_SECRET_KEY": key,
        "FENICIA_LOG_LEVEL": "WARNING",
    }
    return env, conn_id, db


def main(argv: list[str] | None = None) -> int:
    if shutil.which("wrk") is None:
        sys.exit("bench/webhook_intake needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        env, conn_id, db = _prepare(Path(tmp))
        script = Path(tmp) / "webhook.lua"
        _lua(script, json.dumps(ORDER).encode())
        bare_port, port = free_port(), free_port()
        bare_cmd = ["-m", "uvicorn", "bench.bare_app:app", "--port", str(bare_port), "--log-level", "warning"]
        with process(bare_cmd, health_url=f"http://127.0.0.1:{bare_port}/"):
            bare = _wrk(f"http://127.0.0.1:{bare_port}/webhooks/shopify/{conn_id}", script)
        serve = ["-c", "from fenicia.cli.main import app; app()", "serve", "--port", str(port)]
        if os.environ.get("BENCH_WEBHOOK_WORKER", "1") == "0":
            serve.append("--no-worker")  # intake alone: the inbox is drained by nobody
        with process(serve, env=env, health_url=f"http://127.0.0.1:{port}/healthz"):
            ours = _wrk(f"http://127.0.0.1:{port}/webhooks/shopify/{conn_id}", script)
        with db.read_session() as s:
            stored = int(s.scalar(select(func.count(WebhookDelivery.id))) or 0)
        db.dispose()
    _report(bare, ours, stored)
    return 0


def _report(bare: dict[str, Any], ours: dict[str, Any], stored: int) -> None:
    report(
        "webhook_intake",
        {
            "bare_asgi_rps": bare["rps"],
            "bare_asgi_p99_ms": bare["p99_ms"],
            "fenicia_rps": ours["rps"],
            "fenicia_p50_ms": ours["p50_ms"],
            "fenicia_p90_ms": ours["p90_ms"],
            "fenicia_p99_ms": ours["p99_ms"],
            "fenicia_requests": ours["requests"],
            "fenicia_non_2xx": ours["non_2xx"],
            "fenicia_socket_errors": ours["socket_errors"],
            "stored_deliveries": stored,
            "ratio_fenicia_to_bare_rps": ours["rps"] / bare["rps"],
            "target": ">= 0.40 of bare, p99 < 100 ms",
            "meets_target": ours["rps"] / bare["rps"] >= 0.4 and ours["p99_ms"] < 100,
        },
    )


if __name__ == "__main__":
    main()
