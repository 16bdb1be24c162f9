"""Pausing the cyclic garbage collector during work on many objects that makes no cycles.

Imports only the standard library.
"""
from __future__ import annotations

import contextlib
import gc
from typing import Iterator

PAUSE_GC_AT = 2_000
"""Work on more objects than this (characters of a formula, nodes of a graph) runs with
the cyclic garbage collector paused."""


@contextlib.contextmanager
def gc_paused(size: int, threshold: int = PAUSE_GC_AT,
              promote: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while work of ``size`` objects above
    ``threshold`` runs. Parsing a long formula and differentiating a large graph build
    tens of thousands of objects and make no reference cycles, yet every automatic
    collection walks all of them again (a third of the time of a long formula, over half
    of ``sd.diff`` on a 100,000-node chain). Nothing is left for the collector to find.

    >>> import gc
    >>> with gc_paused(10**6):
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True

    ``promote=True`` is for work whose objects live on (a lowered program: several tuples
    per node of the graph). When the pause ends, the collector would walk every object
    made during it at its next allocation, a sixth of the time of lowering a 400,000-node
    chain, and again as they age. Instead they are moved at once to the oldest
    generation, as surviving collections would have moved them (``gc.freeze`` then
    ``gc.unfreeze``: two list splices). Not done when something else froze objects
    (``gc.get_freeze_count()``), which unfreezing would thaw.
    """
    if size <= threshold or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if promote and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()
