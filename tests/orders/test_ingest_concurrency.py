"""Two writers importing the same new order at once (a poll and the webhook inbox) make one order, no error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

import factories
from fenicia.channels.models import ChannelConnection
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.orders.ingest import upsert_order, upsert_orders
from fenicia.orders.models import Order


def test_concurrent_writers_of_the_same_new_orders_make_each_order_once(db: Database, box: SecretBox) -> None:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        conn_id = factories.shopify_connection(s, box, ws).id
    rounds, writers = 8, 4
    barrier = threading.Barrier(writers)

    def write(n: int, external_id: str) -> str:
        barrier.wait()
        with db.session() as s:
            conn = s.get(ChannelConnection, conn_id)
            assert conn is not None
            data = factories.normalized_order(external_id)
            if n % 2:  # the inbox path and the paged-poll bulk path race each other
                return upsert_order(s, conn, data, source="webhook").outcome
            return upsert_orders(s, conn, [data], source="poll", new_as_rows=True)[0]

    with ThreadPoolExecutor(writers) as pool:
        for r in range(rounds):
            outcomes = list(pool.map(write, range(writers), [f"race-{r}"] * writers))
            assert outcomes.count("created") == 1, outcomes
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == rounds
