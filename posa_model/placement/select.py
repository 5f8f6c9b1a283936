"""Step 4b: choosing one refined candidate per body so that no two bodies overlap.

:class:`Occupancy` holds the bodies fixed so far (obstacles and the bodies chosen) as world
meshes and measures, at full resolution, how deep a new placement would go into them or they
into it (:func:`.bodies.penetration_depth`, boxes cull the pairs that cannot touch).
:func:`greedy_select` walks the bodies in a seeded order and gives each the best-scoring
refined candidate that passes the quality thresholds, makes the contacts its request requires,
swallows no scene matter and does not overlap the bodies already chosen by more than
``max_body_penetration``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..classes import MPCAT40_NAMES
from .bodies import BodyMesh, SceneShell, box
from .candidates import Candidates
from .types import PlacementConfig

__all__ = ["Occupancy", "Pose", "greedy_select"]


@dataclass
class Pose:
    """A chosen placement of body ``index``'s centred frame: map ``slot``, ``yaw`` (rad), ``t``
    (3,) metres, and ``row``: the candidate it came from (its pose change, when refined)."""

    index: int
    slot: int
    yaw: float
    t: np.ndarray
    row: int = -1


class Occupancy:
    """Placed bodies (world meshes sharing ``faces`` (F, 3)) for full-resolution overlap
    checks; each kept as a :class:`.bodies.BodyMesh`, whose query structures are built once."""

    def __init__(self, faces: np.ndarray):
        self.faces = np.asarray(faces, dtype=np.int64)
        self.entries: dict[int, BodyMesh] = {}

    def add(self, index: int, vertices: np.ndarray | BodyMesh) -> None:
        """Fix body ``index`` at (V, 3) world ``vertices`` (or its mesh, already built)."""
        self.entries[index] = (vertices if isinstance(vertices, BodyMesh)
                               else BodyMesh(vertices, self.faces))

    def remove(self, index: int) -> None:
        self.entries.pop(index, None)

    def vertices(self, index: int) -> np.ndarray:
        """(V, 3) float64 world vertices of entry ``index``."""
        return self.entries[index].vertices

    def near(self, index: int, vertices: np.ndarray, pad: float = 0.01) -> list[int]:
        """The entries (other than ``index``) whose boxes meet the body's box."""
        lo, hi = box(vertices, pad)
        return [k for k, e in self.entries.items()
                if k != index and not ((lo > e.hi).any() or (e.lo > hi).any())]

    def free_drop(self, index: int, vertices: np.ndarray, drop: float,
                  allowed: float = 0.005, steps: int = 6) -> float:
        """How far (m, 0..``drop``) body ``index`` at (V, 3) world ``vertices`` can move
        straight down (-y) without pressing into the other entries deeper than ``allowed`` (m)
        or than it already does: ``drop`` when that is free, else found by bisection (to
        ``drop`` / 2**``steps``, from below)."""
        if not drop > 0.0:
            return 0.0
        limit = max(allowed, self.depth(index, vertices))

        def presses(amount: float) -> bool:
            return self.depth(index, vertices - np.array([0.0, amount, 0.0])) > limit

        if not presses(drop):
            return float(drop)
        lo, hi = 0.0, float(drop)
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if presses(mid) else (mid, hi)
        return lo

    def depth(self, index: int, vertices: np.ndarray | BodyMesh) -> float:
        """Deepest penetration (m) between the body ``index`` at ``vertices`` (V, 3) world (or
        its mesh) and every other entry, both ways; 0 when nothing overlaps (each way as
        :func:`.bodies.penetration_depth`)."""
        body = vertices if isinstance(vertices, BodyMesh) else None
        near = self.near(index, body.vertices if body is not None else vertices)
        if not near:
            return 0.0
        body = body or BodyMesh(vertices, self.faces)
        deepest = 0.0
        for other in near:
            entry = self.entries[other]
            deepest = max(deepest, entry.depth_of(body.vertices), body.depth_of(entry.vertices))
        return deepest


def greedy_select(cands: Candidates, scores: dict[str, np.ndarray], bodies: list[int],
                  occupancy: Occupancy, shell: SceneShell, config: PlacementConfig,
                  order_seed: int, full_vertices: Callable[[int], np.ndarray],
                  requirements: Callable[[int, np.ndarray], str] | None = None,
                  targeted: np.ndarray | None = None,
                  ) -> tuple[dict[int, Pose], dict[int, str]]:
    """Per body of ``bodies`` (in a seeded order), the best acceptable candidate; chosen bodies
    are added to ``occupancy``. Returns the poses and, for the bodies left without one, why.

    full_vertices(row): the candidate's placed full-resolution world vertices (V, 3).
    requirements(body, vertices): "" when the placed body makes the contacts its request
    requires, else what is missing (checked before the overlaps). targeted: (NB,) bool, bodies
    with a target: their required touches stand in for the semantic agreement and coverage
    thresholds (the touches say which contacts the interaction needs; a perching sitter's
    thighs need not touch the seat even where its map says they do; the map still ranks the
    candidates and some predicted contact must touch).
    """
    order = np.random.default_rng(order_seed).permutation(len(bodies))
    chosen, reasons = {}, {}
    faces = occupancy.faces
    for b in (bodies[k] for k in order):
        rows = np.flatnonzero(cands.body == b)
        rows = rows[np.argsort(scores["score"][rows], kind="stable")]
        covered = scores["coverage"][rows] >= config.min_coverage
        agrees = scores["agreement"][rows] >= config.min_semantic
        if targeted is not None and targeted[b]:
            covered = agrees = np.ones_like(covered)
        ok = ((scores["noncollision"][rows] >= config.min_noncollision)
              & (scores["deepest"][rows] <= config.max_scene_penetration)
              & scores["touch"][rows].astype(bool) & agrees & covered)
        overlapped = swallowing = 0
        missing: list[str] = []
        swallowed: set[str] = set()
        for row in rows[ok]:
            vertices = full_vertices(int(row))
            if requirements is not None and (why := requirements(b, vertices)):
                missing.append(why)
                continue
            body = BodyMesh(vertices, faces)
            if shell.enclosed(body) > config.max_enclosed_depth:
                swallowing += 1
                swallowed.add(MPCAT40_NAMES[shell.enclosed_class(body)])
                continue
            if occupancy.depth(b, body) > config.max_body_penetration:
                overlapped += 1
                continue
            chosen[b] = Pose(b, int(cands.slot[row]), float(cands.yaw[row]),
                             np.asarray(cands.t[row], dtype=np.float64), int(row))
            occupancy.add(b, body)
            break
        if b in chosen:
            continue
        if not len(rows):
            reasons[b] = "no candidate placement left after scoring"
        elif overlapped or swallowing or missing:
            parts = []
            if missing:
                parts.append(f"{len(missing)} miss a required contact ({missing[0]})")
            if overlapped:
                parts.append(f"{overlapped} overlap people placed before")
            if swallowing:
                what = ", ".join(sorted(swallowed))
                parts.append(f"{swallowing} enclose scene matter (a thin part of "
                             f"{what} inside the body)")
            reasons[b] = "no free placement: of the acceptable candidates, " + "; ".join(parts)
        else:
            best = rows[0]
            reasons[b] = (f"no acceptable placement: the best of {len(rows)} refined "
                          f"candidates has non-collision {scores['noncollision'][best]:.3f} "
                          f"(>= {config.min_noncollision} needed), deepest vertex "
                          f"{100 * scores['deepest'][best]:.1f} cm inside the scene (<= "
                          f"{100 * config.max_scene_penetration:.0f}), semantic agreement "
                          f"{scores['agreement'][best]:.2f} (>= {config.min_semantic}), "
                          f"coverage {scores['coverage'][best]:.2f} (>= {config.min_coverage}), "
                          f"touch {bool(scores['touch'][best])}")
    return chosen, reasons
