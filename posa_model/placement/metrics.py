"""Step 6: placement metrics at full resolution, per body and overall.

Per placed body, with ``d`` the scene's SDF (trilinear on the grid) at its V vertices, ``C`` its
predicted-contact vertices (probability > threshold) and ``T = {i in C : d_i <= touch}`` the
predicted-contact vertices that touch the scene (``touch_distance``, 2 cm):

* ``non_collision``: fraction of the V vertices with ``d > 0`` (the reference's score);
* ``reference_contact``: 1 if any vertex has ``d <= 0`` (the reference's contact score: a
  body resting on a surface within a hair above it scores 0 here; ``touch`` says whether it
  touches), else 0;
* ``touch``: 1 if ``T`` is not empty (some predicted-contact vertex within 2 cm), else 0;
* ``semantic_match``: the fraction of ``T`` whose predicted class is the class of the surface it
  touches (the semantic grid read at the vertex's projection onto the nearest surface,
  :mod:`.surface`; a vertex predicted as floor matches when it is within ``touch_distance`` of
  the floor's height field, :class:`.floor.FloorMap`, even where a chair leg is nearer), seat
  classes standing in for each other and tops likewise (a map that says "chair" matches a
  stool or a sofa: :func:`.maps.canonical_classes`, the rule for sitting); 0 when ``T`` is
  empty. ``semantic_match_exact``: the same with classes compared exactly;
* ``body_penetration``: the deepest point (metres) of this body inside any other placed body or
  obstacle, or of theirs inside it (0 when none; on the meshes, :mod:`.bodies`);
* ``scene_penetration``: the deepest vertex inside the scene (metres);
* ``scene_enclosed``: how deep scene matter (the grid's nodes just inside objects) reaches
  inside the body (metres): catches a thin object swallowed whole, which no vertex test sees;
* ``touched_classes``: {class name: vertices of T touching it}.

When the scene's meshes are known, :func:`exact_non_collision` measures ``non_collision`` on
them instead (the grid's value kept as ``non_collision_grid``): a 5 cm grid sees a thin seat
or slab a little thicker than it is, so a body resting on the exact surface reads as slightly
inside it.

For a body whose target frees some contacts (a sitter whose feet hang from a bar stool), those
vertices, and with them every contact the map puts on the floor, are left out of ``touch`` and
the semantic match: the interaction says they cannot be met.

Overall: the counts, and the means of the per-body values over the placed bodies
(``body_penetration_max`` is the maximum); a mean over nobody is None, not NaN.
"""

from __future__ import annotations

import numpy as np
import torch

from ..classes import CLASS_ID, MPCAT40_NAMES
from ..scene.grid import TorchSceneGrid
from .maps import canonical_classes
from .surface import sdf_and_surface_labels

__all__ = ["body_metrics", "exact_non_collision", "summarize"]

#: Classes whose objects may enclose the whole room (a room mesh): not tested by winding
#: number; the floor is tested by height instead.
_SHELL_CLASSES = frozenset(CLASS_ID[n] for n in ("floor", "wall", "ceiling"))


@torch.no_grad()
def body_metrics(scene: TorchSceneGrid, vertices: np.ndarray, contact: np.ndarray,
                 semantics: np.ndarray, threshold: float = 0.5,
                 touch_distance: float = 0.02, floor=None) -> dict:
    """Metrics of one placed body: vertices (V, 3) world, contact (V,) probability, semantics
    (V,) predicted class ids, floor: the scene's :class:`.floor.FloorMap` or None. See the
    module docstring for the definitions."""
    points = torch.as_tensor(np.asarray(vertices, dtype=np.float64), device=scene.device)
    d, labels = sdf_and_surface_labels(scene, points.to(scene.dtype))
    d, labels = d.double().cpu().numpy(), labels.cpu().numpy()
    in_contact = np.asarray(contact) > threshold
    predicted = np.asarray(semantics)
    touching = in_contact & (d <= touch_distance)
    canon = canonical_classes()
    exact = labels == predicted
    same = canon[labels] == canon[predicted]
    if floor is not None:
        on_floor = (predicted == CLASS_ID["floor"]) & (
            np.abs(floor.above(points).cpu().numpy()) <= touch_distance)
        touching |= in_contact & on_floor
        same |= on_floor
        exact |= on_floor
        labels = np.where(on_floor, CLASS_ID["floor"], labels)
    matched = same[touching]
    ids, counts = np.unique(labels[touching], return_counts=True)
    return {
        "non_collision": float((d > 0).mean()),
        "reference_contact": float((d <= 0).any()),
        "touch": float(touching.any()),
        "semantic_match": float(matched.mean()) if touching.any() else 0.0,
        "semantic_match_exact": float(exact[touching].mean()) if touching.any() else 0.0,
        "scene_penetration": float(max(0.0, -d.min())),
        "contact_vertices": int(in_contact.sum()),
        "touched_classes": {MPCAT40_NAMES[i]: int(c) for i, c in zip(ids, counts, strict=True)},
    }


def summarize(per_body: list[dict], placed: list[bool], overlap_limit: float = 0.01) -> dict:
    """Overall metrics: counts and the means over the placed bodies (see module docstring)."""
    rows = [m for m, p in zip(per_body, placed, strict=True) if p]
    out: dict = {"bodies": len(placed), "placed": len(rows),
                 "placed_fraction": len(rows) / max(len(placed), 1)}
    for key in ("non_collision", "reference_contact", "touch", "semantic_match",
                "semantic_match_exact", "scene_penetration", "scene_enclosed"):
        out[key] = float(np.mean([m.get(key, 0.0) for m in rows])) if rows else None
    depths = [m.get("body_penetration", 0.0) for m in rows]
    out["body_penetration_max"] = float(max(depths, default=0.0))
    out["body_penetration_mean"] = float(np.mean(depths)) if depths else 0.0
    out["bodies_overlapping"] = int(sum(d > overlap_limit for d in depths))
    return out


def exact_non_collision(objects, vertices: np.ndarray) -> float:
    """The share of the (V, 3) world ``vertices`` outside the scene's meshes: not inside any
    furniture object (libigl's fast winding number <= 0.5; objects whose boxes miss the body
    skipped) and not below the top of a floor object under them. Walls and ceilings are left to
    the grid (a room mesh encloses everything)."""
    import igl

    from ..scene.objects import surface_heights

    v = np.asarray(vertices, np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    inside = np.zeros(len(v), bool)
    floors = []
    for obj in objects:
        if obj.class_id == CLASS_ID["floor"]:
            floors.append(obj)
            continue
        if obj.class_id in _SHELL_CLASSES:
            continue
        olo, ohi = obj.bounds()
        if (olo > hi).any() or (ohi < lo).any():
            continue
        near = np.all((v >= olo) & (v <= ohi), axis=1)
        if near.any():
            w = igl.fast_winding_number(np.asarray(obj.vertices, np.float64),
                                        np.asarray(obj.faces, np.int64), v[near])
            inside[np.flatnonzero(near)[w > 0.5]] = True
    if floors:
        top = surface_heights(floors, v[:, [0, 2]])
        inside |= np.isfinite(top) & (v[:, 1] < top)
    return float(1.0 - inside.mean())
