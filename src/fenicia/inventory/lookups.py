"""Set-membership queries that stay fast with thousands of values: one bound parameter, not thousands.

``col IN (:a, :b, ...)`` with 5,000 values makes SQLAlchemy build and render 5,000 bound parameters on
every call, which costs more than the query itself. Here the whole list travels as one parameter: a
JSON array read with ``json_each`` on SQLite, an array with ``= ANY(...)`` on PostgreSQL. Both use the
column's index. Rows are fetched with the driver's own cursor, on the session's connection (so inside
its transaction), in one ``fetchall``: these lookups run once per page of a million-row read, and
building ORM rows for them cost more than the database work.

``ListQuery`` goes one step further for the read's main lookup: the list itself is the first table of the
join, and each row names the position of its value in the list instead of repeating the value, so the
caller places results by index (no string per row, no dictionary keyed by code).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

T = TypeVar("T")


def unindexed(column: ColumnElement[T] | QueryableAttribute[T]) -> ColumnElement[T]:
    """``+column``: the same value, which the planner can't look up in an index on that column.

    For a workspace filter next to a selective one (``product_id IN (...)``): SQLite without statistics
    assumes an equality matches about ten rows, so it prefers ``workspace_id = ?`` on the workspace's
    index over the many-valued ``IN`` on the product index, and reads the whole workspace for each
    chunk. The filter still applies (every row is checked against the workspace); only the index choice
    changes. PostgreSQL accepts the same unary ``+`` on integers.
    """
    element = column.expression if isinstance(column, QueryableAttribute) else column
    return UnaryExpression(element, operator=operators.custom_op("+"), type_=element.type)


class InQuery:
    """A query with one ``{values}`` placeholder and ``{name}``-style parameters, rendered per driver."""

    def __init__(self, sql: str, column: str) -> None:
        self._sql = sql
        self._column = column
        self._rendered: dict[str, str] = {}

    def run(self, session: Session, values: Sequence[Any], **params: Any) -> list[tuple[Any, ...]]:
        """All rows at once, as plain tuples."""
        dialect = session.get_bind().dialect.name
        sql = self._rendered.get(dialect)
        if sql is None:
            sql = self._rendered[dialect] = self._render(dialect)
        return _fetch_all(session, sql, values, params)

    def _render(self, dialect: str) -> str:
        if dialect == "sqlite":
            membership = f"{self._column} IN (SELECT value FROM json_each(:values))"
            return self._sql.format(values=membership)
        membership = f"{self._column} = ANY(%(values)s)"
        return _pyformat(self._sql.format(values=membership))


class ListQuery:
    """A query joining a list of values by position, written for each dialect.

    The SQLite text reads the list as ``json_each(:values) AS j`` (``j.key`` is the 0-based position,
    ``j.value`` the value); the PostgreSQL text as ``unnest(CAST(:values AS text[])) WITH ORDINALITY``.
    Both use ``:name`` parameters.
    """

    def __init__(self, sqlite: str, postgresql: str) -> None:
        self._sql = {"sqlite": sqlite, "postgresql": _pyformat(postgresql)}

    def run(self, session: Session, values: Sequence[Any], **params: Any) -> list[tuple[Any, ...]]:
        """All rows at once, as plain tuples."""
        return _fetch_all(session, self._sql[session.get_bind().dialect.name], values, params)


def _fetch_all(session: Session, sql: str, values: Sequence[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Runs ``sql`` on the session's connection (inside its transaction) with the driver's own cursor."""
    connection = session.connection()
    bound = json.dumps(list(values)) if connection.dialect.name == "sqlite" else list(values)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, {**params, "values": bound})
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
    finally:
        cursor.close()
    return rows


def _pyformat(sql: str) -> str:
    """``:name`` parameters → ``%(name)s`` (psycopg's style)."""
    out, index = [], 0
    while index < len(sql):
        char = sql[index]
        if char == ":" and index + 1 < len(sql) and (sql[index + 1].isalpha() or sql[index + 1] == "_"):
            end = index + 1
            while end < len(sql) and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            out.append(f"%({sql[index + 1 : end]})s")
            index = end
            continue
        out.append(char)
        index += 1
    return "".join(out)
