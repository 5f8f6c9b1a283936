"""The placement API: :func:`place_bodies` (many bodies at once) and :func:`refine_placement`
(one body near where it was dropped). :mod:`posa_model.place` is their public front; callers
inside the package (:mod:`posa_model.populate`) import them from here.

Frame: SMPL-X world (+y up, metres), gravity along -y; ``placed = vertices @ R_y(yaw).T +
translation``. The steps are described in :mod:`.pipeline`, which (with torch) loads on the
first call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..scene.grid import SceneGrid
from .types import BodyRequest, PlacedBody, PlacementConfig, PlacementResult

__all__ = ["DEFAULT_CONFIG", "place_bodies", "refine_placement"]

#: The default configuration (frozen: safe to share).
DEFAULT_CONFIG = PlacementConfig()


def place_bodies(grid: SceneGrid, bodies: Sequence[BodyRequest], sampler=None,
                 config: PlacementConfig = DEFAULT_CONFIG, faces=None,
                 obstacles: Sequence[np.ndarray] = (), progress=True,
                 model=None, settle=None, obstacle_field=None) -> PlacementResult:
    """Place every body in the scene so that it touches what its feature map says and
    penetrates neither the scene nor the other bodies.

    Args:
        grid: the scene's SDF and semantic grids (SMPL-X world, +y up, metres).
        bodies: the posed bodies; each (V, 3) vertices at any place and heading, optionally a
            drop-and-refine ``region``.
        sampler: a :class:`posa_model.sample.Sampler`; None loads the shipped checkpoint.
        config: every knob, seed and device (:class:`PlacementConfig`).
        faces: (F, 3) int triangles of the body mesh; None = the sampler's level-0 faces.
        obstacles: (V, 3) vertices (same mesh) of bodies already in the scene, kept fixed.
        progress: True: a progress bar of its own (total fixed in advance); or a
            :class:`~posa_model.progress.Progress` share of the caller's bar.
        model: the :class:`~posa_model.body.BodyModel` of posed requests (``BodyRequest.pose``),
            whose poses then adapt during refinement; needed only for them.
        settle: optional ``settle(vertices (V, 3)) -> metres``: how far a chosen body may be
            lowered to rest on the scene's exact meshes (see
            :func:`posa_model.scene.objects.settle_drop`); None: as the grids place it.
        obstacle_field: an :class:`~posa_model.placement.bodies.ObstacleField` holding
            ``obstacles`` rasterised already (a caller placing in several passes); the bodies
            placed here are added to it. None: the obstacles are rasterised here.

    Returns:
        :class:`PlacementResult`: one :class:`PlacedBody` per request (placed or with the
        reason it was not), overall metrics and seconds per stage.

    Raises:
        PosaError: an empty scene, a scene with no labelled object, a scene without a floor
            when a body needs one, malformed inputs (InputShapeError).
    """
    from .pipeline import run_placement

    return run_placement(grid, bodies, sampler, config, faces, obstacles, progress, model,
                         settle, obstacle_field)


def refine_placement(grid: SceneGrid, body: BodyRequest, sampler=None,
                     config: PlacementConfig = DEFAULT_CONFIG, faces=None,
                     obstacles: Sequence[np.ndarray] = (), model=None) -> PlacedBody:
    """Drop-and-refine: place one body near where the user dropped it.

    ``body.region = (centre (3,), radius m)`` bounds the search (the body's centroid stays
    within ``radius`` of ``centre`` horizontally); without a region, a region of 0.5 m around
    the body's current centroid is used. Returns the :class:`PlacedBody`.
    """
    if body.region is None:
        v = np.asarray(body.vertices, dtype=np.float64)
        body = BodyRequest(body.vertices, body.name, (v.mean(axis=0), 0.5), body.info,
                           body.pose, body.target)
    result = place_bodies(grid, [body], sampler, config, faces, obstacles, progress=False,
                          model=model)
    return result.bodies[0]
