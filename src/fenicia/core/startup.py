"""What a long-lived process does once it has started (``fenicia serve``, ``fenicia worker``)."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Takes every object alive after start-up (modules, classes, settings, the app) out of the garbage
    collector's full passes.

    A large sync allocates millions of small objects and so triggers dozens of full collections; each
    traverses every tracked object of the process, most of them start-up objects that live as long as
    the process does. ``gc.freeze()`` moves them to a permanent generation the collector skips (they are
    never freed, which they would not be anyway); what the work creates is collected as before.
    """
    gc.collect()
    gc.freeze()
