"""A started process takes its start-up objects out of the collector's full passes."""

from __future__ import annotations

import gc
import subprocess
import sys

from fenicia.core.startup import freeze_startup_objects


class _Node:
    def __init__(self) -> None:
        self.children: list[_Node] = []


def test_objects_alive_at_start_up_are_frozen_and_later_garbage_is_still_collected() -> None:
    alive = _Node()
    try:
        freeze_startup_objects()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert all(obj is not alive for obj in gc.get_objects())  # in the permanent generation: never traversed
        cycle = _Node()
        cycle.children.append(cycle)  # garbage made after start-up: a cycle only a collection frees
        ident = id(cycle)
        del cycle
        gc.collect()
        assert ident not in {id(obj) for obj in gc.get_objects() if isinstance(obj, _Node)}
        assert gc.get_freeze_count() == frozen  # the work's objects are not frozen with them
    finally:
        gc.unfreeze()


def test_every_connector_is_loaded_at_start_up() -> None:
    """In a fresh interpreter (this one has imported connectors already): none before, all after."""
    from fenicia.connectors.registry import CHANNEL_PACKAGES
    from fenicia.connectors.source_registry import SOURCE_PACKAGES

    modules = [f"fenicia.connectors.{name}" for name in (*CHANNEL_PACKAGES, *SOURCE_PACKAGES)]
    script = (
        "import sys\n"
        "from fenicia.core.startup import freeze_startup_objects\n"
        f"modules = {modules!r}\n"
        "before = [m for m in modules if m in sys.modules]\n"
        "freeze_startup_objects()\n"
        "print(before, [m for m in modules if m not in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] []"
