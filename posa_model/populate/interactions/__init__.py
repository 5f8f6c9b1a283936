"""The interactions people have with a room, one module each (:mod:`.base` says what one is).

:data:`INTERACTIONS` maps each name to its :class:`~.base.Interaction`: every module of this
package that defines ``INTERACTION`` is one, so adding an interaction is adding one module.
"""

from __future__ import annotations

import importlib
import pkgutil

from ...errors import UnknownNameError
from .base import FitContext, Fitted, Interaction, TouchSpec

__all__ = ["INTERACTIONS", "FitContext", "Fitted", "Interaction", "TouchSpec",
           "get_interaction"]


def _discover() -> dict[str, Interaction]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        item = getattr(module, "INTERACTION", None)
        if isinstance(item, Interaction):
            found.append(item)
    return {i.name: i for i in sorted(found, key=lambda i: (i.order, i.name))}


#: name -> interaction, in listing order.
INTERACTIONS: dict[str, Interaction] = _discover()


def get_interaction(name: str) -> Interaction:
    """The interaction called ``name``; UnknownNameError listing the known ones otherwise."""
    if name not in INTERACTIONS:
        raise UnknownNameError(f"interaction: expected one of {', '.join(INTERACTIONS)}, found "
                               f"{name!r}")
    return INTERACTIONS[name]
