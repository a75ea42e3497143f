"""What a long-lived process does once it has started (``fenicia serve``, ``fenicia worker``)."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Loads every connector, then takes every object alive (modules, classes, settings, the app) out of the
    garbage collector's full passes.

    Connectors are imported when first used; a long-lived process imports them all now, so the first sync
    or webhook of each kind does not pay for it (a few hundred milliseconds for the spreadsheet readers
    alone) and their modules are frozen with the rest.

    A large sync allocates millions of small objects and so triggers dozens of full collections; each
    traverses every tracked object of the process, most of them start-up objects that live as long as
    the process does. ``gc.freeze()`` moves them to a permanent generation the collector skips (they are
    never freed, which they would not be anyway); what the work creates is collected as before.
    """
    from fenicia.connectors.registry import channel_specs
    from fenicia.connectors.source_registry import source_specs

    channel_specs()
    source_specs()
    gc.collect()
    gc.freeze()
