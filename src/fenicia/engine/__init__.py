"""The durable execution layer over DBOS Transact. The only package that imports ``dbos``.

``Engine`` is imported lazily: ``fenicia.db.models`` imports ``fenicia.engine.models``, and loading DBOS
(and the domain services the engine calls) for every migration or model import would be slow and cyclic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fenicia.engine.runtime import Engine

__all__ = ["Engine"]


def __getattr__(name: str) -> object:
    if name == "Engine":
        from fenicia.engine.runtime import Engine

        return Engine
    raise AttributeError(f"module 'fenicia.engine' has no attribute {name!r}")
