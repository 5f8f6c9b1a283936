"""Required contacts (:class:`.types.Touch`) of a placed body, checked at full resolution.

A touch holds when enough of its vertices (any one, or ``share`` of them) lie within
``distance`` of a surface of one of its classes: for the floor, the height above the floor's
height field (:class:`.floor.FloorMap`, in absolute value: a sole 2 cm under the floor is as
wrong as one 2 cm above it); for other classes, the scene's SDF at the vertex (in absolute
value) and the class of the surface it is nearest to (:mod:`.surface`), seat classes standing
in for each other (:data:`.maps.SEAT_EQUIVALENT`); for an ``up`` touch only a surface below the
vertex counts (the SDF's gradient within :data:`UP_COS` of straight up).

Frame: SMPL-X world (+y up, metres).
"""

from __future__ import annotations

import numpy as np
import torch

from ..classes import CLASS_ID
from ..scene.grid import TorchSceneGrid
from .floor import FloorMap
from .maps import canonical_classes
from .surface import sdf_and_surface_labels
from .types import Touch

__all__ = ["UP_COS", "missing_touch", "touch_distances"]

_FLOOR = CLASS_ID["floor"]
#: An ``up`` touch's surface lies below the vertex: its normal within 45 degrees of +y.
UP_COS = 0.7


@torch.no_grad()
def touch_distances(scene: TorchSceneGrid, floor: FloorMap | None, touch: Touch,
                    vertices: np.ndarray) -> np.ndarray:
    """(n,) distance (m) of each of the touch's vertices to a surface of its classes (inf
    where the nearest surface is of another class)."""
    points = torch.as_tensor(np.asarray(vertices)[touch.mask], device=scene.device,
                             dtype=scene.dtype)
    best = np.full(len(points), np.inf)
    if _FLOOR in touch.classes and floor is not None:
        best = np.minimum(best, floor.above(points.double()).abs().cpu().numpy())
    others = set(touch.classes) - {_FLOOR}
    if others:
        canon = canonical_classes()
        d, labels, normal = sdf_and_surface_labels(scene, points, normals=True)
        ok = np.isin(canon[labels.cpu().numpy()], sorted({int(canon[c]) for c in others}))
        if touch.up:
            ok &= normal[:, 1].cpu().numpy() >= UP_COS
        best = np.minimum(best, np.where(ok, np.abs(d.double().cpu().numpy()), np.inf))
    return best


def missing_touch(scene: TorchSceneGrid, floor: FloorMap | None, touches, vertices: np.ndarray
                  ) -> str:
    """"" when every touch holds for the placed body's (V, 3) world vertices, else what is
    missing and by how much (the first touch that fails)."""
    for touch in touches:
        dist = touch_distances(scene, floor, touch, vertices)
        if not len(dist):
            continue
        if touch.share > 0:
            within = float((dist <= touch.distance).mean())
            if within < touch.share:
                return (f"{touch.name}: {100 * within:.0f}% within {100 * touch.distance:.0f} cm "
                        f"({100 * touch.share:.0f}% needed)")
        elif dist.min() > touch.distance:
            gap = "no surface of its class near" if not np.isfinite(dist.min()) else \
                f"{100 * dist.min():.1f} cm away"
            return f"{touch.name}: {gap} ({100 * touch.distance:.0f} cm allowed)"
    return ""
