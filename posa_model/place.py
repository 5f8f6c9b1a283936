"""Populating a scene: batched affordance placement of many posed bodies (POSA, "Sampling and
placement", batched).

    >>> from posa_model.place import BodyRequest, PlacementConfig, place_bodies
    >>> result = place_bodies(grid, [BodyRequest(vertices, name="sitter")],
    ...                       config=PlacementConfig(seed=0))
    >>> body = result.bodies[0]
    >>> body.placed, body.transform, body.metrics["non_collision"]

Frame: SMPL-X world (+y up, metres), gravity along -y; ``placed = vertices @ R_y(yaw).T +
translation``. This module is the front: :func:`place_bodies` and
:func:`refine_placement` live in :mod:`posa_model.placement.api`, the steps are described in
:mod:`posa_model.placement.pipeline`.

Command line: ``python -m posa_model.place --scene room.glb --people "sit:3,lie:1" --out
populated.glb --metrics m.json``: populating a room with people (:mod:`posa_model.populate.cli`).
"""

from __future__ import annotations

import sys

from .placement.api import DEFAULT_CONFIG, place_bodies, refine_placement
from .placement.types import (
    BodyRequest,
    PlacedBody,
    PlacementConfig,
    PlacementResult,
    Target,
    Touch,
)

__all__ = ["DEFAULT_CONFIG", "BodyRequest", "PlacedBody", "PlacementConfig", "PlacementResult",
           "Target", "Touch", "main", "place_bodies", "refine_placement"]


def main(argv: list[str] | None = None) -> int:
    """``python -m posa_model.place``; see :mod:`posa_model.populate.cli`."""
    from .populate.cli import main as populate_main

    return populate_main(argv)


if __name__ == "__main__":
    sys.exit(main())
