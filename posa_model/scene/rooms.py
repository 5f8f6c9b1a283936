"""Floor, wall and ceiling from shape, for unlabelled meshes that are a room's shell.

Downloaded rooms often hold the floor, the walls and the ceiling in one mesh (an inside-out box,
sometimes with its normals out, sometimes with openings for doors and windows) whose name says
nothing (``Room``, ``Object_12``). :func:`split_room_surfaces` gives the faces of such a mesh
classes by their shape and splits it into one object per class, ``<name>.floor``,
``<name>.wall`` and ``<name>.ceiling`` (class source ``"geometry:<class>"``), and ``<name>``
for the faces that are none of these (unlabelled, an obstacle). The parts keep ``part_of =
<name>``, so :func:`~.mesh_sdf.build_scene_grid` still sees one closed shell and turns it to face
in: the ceiling blocks nothing below it. Only unlabelled objects are split: a class from the
file, the mapping or the name always wins.

Frame: SMPL-X world (+y up, metres). Which faces count, with the thresholds of the module:

* **The mesh must span the scene and hold walls**: its box covers at least ``SPAN`` (80 %) of
  the scene's extent along x and along z (the scene's box is that of every object), and it has
  at least one wall patch (below). A chair, a bed or a rug inside a room spans much less, and a
  lone slab, plane or bed has no walls: neither is ever split (name a lone floor ``Floor``).
* **Level / upright**: a face is level when its normal is within 15 degrees of vertical
  (``|n_y| >= cos 15``, whichever way it points: rooms come with normals in or out), upright
  when within 15 degrees of horizontal.
* **Floor**: level faces whose centre lies at most ``FLOOR_BAND`` (0.25 m) above the bottom of
  the scene (a floor slab's top and bottom both count). A chair seat (0.4-0.5 m) is above the
  band.
* **Ceiling**: level faces whose centre lies at most ``CEILING_BAND`` (0.25 m) below the top of
  the mesh and at least ``MIN_HEIGHT`` (1.8 m) above the bottom of the scene: a table top or a
  bed's top is never a ceiling.
* **Wall**: upright faces in connected patches (faces sharing a vertex) that reach down to the
  floor band and are at least ``MIN_HEIGHT`` (1.8 m) tall; a headboard, a sofa back or a
  chair back is lower.
* **Size**: a floor or ceiling patch (connected level faces) must cover at least ``MIN_AREA``
  (1 m^2) with a box at least ``MIN_SIDE`` (1 m) long along x and along z; a wall patch at least
  ``MIN_AREA`` too. Smaller patches stay in the unlabelled part.

A wardrobe or a tall bookcase standing alone as the whole scene, unlabelled, spans its scene and
its sides are tall enough to be walls: it would be split. That is rare (such a piece has a name)
and the class source says where each class came from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..classes import CLASS_ID
from .objects import MeshObject

__all__ = ["CEILING_BAND", "FLOOR_BAND", "MIN_AREA", "MIN_HEIGHT", "MIN_SIDE", "SPAN",
           "split_room_surfaces"]

SPAN = 0.8
FLOOR_BAND = 0.25
CEILING_BAND = 0.25
MIN_HEIGHT = 1.8
MIN_AREA = 1.0
MIN_SIDE = 1.0
_LEVEL = np.cos(np.radians(15.0))
_UPRIGHT = np.sin(np.radians(15.0))
_WELD = 1e-6


def split_room_surfaces(objects: Sequence[MeshObject]) -> list[MeshObject]:
    """The objects with every unlabelled room-spanning mesh split by class (module docstring).

    Returns a new list in the same order; a split object is replaced by its parts, in the order
    floor, wall, ceiling, rest (each present only when it has faces; a rest of faces without area
    is dropped).
    """
    objects = list(objects)
    if not objects:
        return []
    bounds = np.stack([o.bounds() for o in objects])
    scene = np.stack([bounds[:, 0].min(axis=0), bounds[:, 1].max(axis=0)])
    out: list[MeshObject] = []
    for obj in objects:
        out.extend(_split(obj, scene) if obj.class_id == 0 else [obj])
    return out


def _split(obj: MeshObject, scene: np.ndarray) -> list[MeshObject]:
    lo, hi = obj.bounds()
    extent = np.maximum(scene[1] - scene[0], 1e-9)
    if ((hi - lo)[[0, 2]] < SPAN * extent[[0, 2]]).any():
        return [obj]
    kind = surface_classes(obj.vertices, obj.faces, scene[0, 1], hi[1])
    if not (kind == CLASS_ID["wall"]).any():
        return [obj]  # no walls: no room shell (a lone slab or plane is left to its name)
    parts = []
    for name in ("floor", "wall", "ceiling"):
        rows = kind == CLASS_ID[name]
        if rows.any():
            parts.append(_part(obj, rows, f"{obj.name}.{name}", CLASS_ID[name],
                               f"geometry:{name}"))
    rest = kind == 0
    if (rest & (_areas(obj) > 0)).any():  # faces without area alone make no object
        parts.append(_part(obj, rest, obj.name, 0, "none"))
    return parts


def _areas(obj: MeshObject) -> np.ndarray:
    tri = obj.vertices[obj.faces]
    return 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)


def _part(obj: MeshObject, rows: np.ndarray, name: str, class_id: int,
          source: str) -> MeshObject:
    faces = obj.faces[rows]
    used, local = np.unique(faces, return_inverse=True)
    return MeshObject(name, obj.vertices[used], local.reshape(-1, 3), class_id, source,
                      part_of=obj.part_of or obj.name)


def surface_classes(vertices: np.ndarray, faces: np.ndarray, bottom: float,
                    top: float) -> np.ndarray:
    """(F,) int64 class per face: floor (2), wall (1), ceiling (17) or 0 (module docstring).

    ``vertices`` (V, 3) float64 and ``faces`` (F, 3) int64 of one mesh (SMPL-X world, metres);
    ``bottom`` the scene's lowest y, ``top`` the mesh's highest y.
    """
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=1)
    up = np.abs(cross[:, 1]) / np.maximum(2 * area, 1e-30)
    centre_y = tri[:, :, 1].mean(axis=1)
    level = (area > 0) & (up >= _LEVEL)
    upright = (area > 0) & (up <= _UPRIGHT)
    kind = np.zeros(len(faces), np.int64)
    floor = level & (centre_y <= bottom + FLOOR_BAND)
    ceiling = level & (centre_y >= top - CEILING_BAND) & (centre_y >= bottom + MIN_HEIGHT)
    for rows, name in ((floor, "floor"), (ceiling, "ceiling")):
        big = _big_level_patches(tri, area, rows)
        kind[big] = CLASS_ID[name]
    kind[_wall_patches(tri, area, upright, bottom)] = CLASS_ID["wall"]
    return kind


def _patches(rows: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """(F,) patch label of the faces ``rows`` (F,) bool: faces connected through shared
    corners (welded within 1 um) among those faces only; -1 for the other faces. ``tri``
    (F, 3, 3) the faces' corners."""
    out = np.full(len(rows), -1, np.int64)
    if not rows.any():
        return out
    keys = np.round(tri[rows].reshape(-1, 3) / _WELD).astype(np.int64)
    _, weld = np.unique(keys, axis=0, return_inverse=True)
    weld = weld.reshape(-1, 3)
    n = int(rows.sum())
    rows_idx = np.repeat(np.arange(n), 3)
    incidence = sp.csr_array((np.ones(3 * n, np.int8), (rows_idx, weld.reshape(-1))),
                             shape=(n, int(weld.max()) + 1))
    graph = sp.bmat([[None, incidence], [incidence.T, None]])
    _, label = connected_components(graph, directed=False)
    out[rows] = label[:n]
    return out


def _patch_stats(tri: np.ndarray, area: np.ndarray, label: np.ndarray, rows: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per patch: total area (P,), lowest corner (P, 3) and highest corner (P, 3)."""
    member = label[rows]
    count = int(member.max()) + 1
    total = np.bincount(member, area[rows], count)
    corners = tri[rows]  # (K, 3, 3)
    lo = np.full((count, 3), np.inf)
    hi = np.full((count, 3), -np.inf)
    np.minimum.at(lo, member, corners.min(axis=1))
    np.maximum.at(hi, member, corners.max(axis=1))
    return total, lo, hi


def _big_level_patches(tri: np.ndarray, area: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(F,) bool: level candidate faces in patches of at least MIN_AREA and MIN_SIDE."""
    if not rows.any():
        return rows
    label = _patches(rows, tri)
    total, lo, hi = _patch_stats(tri, area, label, rows)
    side = hi - lo
    good = (total >= MIN_AREA) & (side[:, 0] >= MIN_SIDE) & (side[:, 2] >= MIN_SIDE)
    return rows & good[np.maximum(label, 0)]


def _wall_patches(tri: np.ndarray, area: np.ndarray, rows: np.ndarray,
                  bottom: float) -> np.ndarray:
    """(F,) bool: upright faces in patches standing on the floor band, tall and large."""
    if not rows.any():
        return rows
    label = _patches(rows, tri)
    total, lo, hi = _patch_stats(tri, area, label, rows)
    good = (lo[:, 1] <= bottom + FLOOR_BAND) & (hi[:, 1] - lo[:, 1] >= MIN_HEIGHT) & (
        total >= MIN_AREA)
    return rows & good[np.maximum(label, 0)]
