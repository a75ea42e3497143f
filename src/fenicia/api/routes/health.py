"""GET /healthz for load balancers and GET /metrics for Prometheus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text

from fenicia.api.schemas import Health
from fenicia.db.engine import Database

router = APIRouter(tags=["operations"])
log = structlog.get_logger(__name__)


def database_ok(db: Database) -> bool:
    """A round trip to the database (a connection check, not a domain query); read-only, never takes
    SQLite's write lock."""
    try:
        with db.read_session() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        log.exception("healthcheck_database_failed")
        return False
    return True


def _engine_state(engine_state: Callable[[], dict[str, Any]] | None) -> dict[str, Any]:
    if engine_state is None:
        return {"status": "not_attached"}
    try:
        return engine_state()
    except Exception as exc:
        log.exception("healthcheck_engine_state_failed")
        return {"status": "unknown", "error": type(exc).__name__}


@router.get("/healthz", response_model=Health, responses={503: {"model": Health, "description": "Database down"}})
async def healthz(request: Request) -> JSONResponse:
    """200 when the database answers; 503 when it doesn't. ``engine`` describes the background worker."""
    db_ok = await run_in_threadpool(database_ok, request.app.state.db)
    engine = await run_in_threadpool(_engine_state, request.app.state.engine_state)
    health = Health(status="ok" if db_ok else "degraded", database="ok" if db_ok else "unreachable", engine=engine)
    return JSONResponse(health.model_dump(mode="json"), status_code=200 if db_ok else 503)


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus text format: request latency per route, webhook deliveries, and the process's own metrics."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
