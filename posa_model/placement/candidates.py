"""Step 2: candidate placements from the scene's top surfaces and the bodies' contact classes.

Top surfaces: in every xz column of the SDF grid (on a lattice ``surface_spacing`` apart), each
up-facing surface (:func:`.floor.up_surfaces`) is one a body can rest on, with the class of the
object under it. Floors, seats, mattresses and table tops all appear; walls only by
their tops, and those are never used as supports (see :data:`NON_SUPPORT`).

Candidates: for a body, a map, and a support class ``c`` of that map (:func:`anchor_classes`),
the *anchor* is the centroid (x, z) and the lowest y of the map's contact vertices predicted as
``c``, in the body's centred frame. A candidate rotates the body by a yaw and translates it so
that the anchor lands on a surface point of class ``c``: the feet of a standing body on the
floor, the buttocks of a sitting one on a seat, the back of a lying one on a mattress.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..classes import CLASS_ID, MPCAT40_NAMES
from ..scene.grid import SceneGrid
from .floor import up_surfaces
from .maps import BodyMaps, seed_for
from .posing import DELTA_SIZE
from .types import PlacementConfig

__all__ = ["NON_SUPPORT", "Candidates", "Surfaces", "make_candidates", "top_surfaces"]

#: Classes whose surfaces are vertical or overhead: never used to rest a body on.
NON_SUPPORT = frozenset(CLASS_ID[n] for n in (
    "wall", "door", "picture", "window", "curtain", "ceiling", "mirror", "blinds",
    "board_panel", "column", "beam", "lighting", "tv_monitor"))
#: Fewest contact vertices of a class (full resolution) that make it an anchor.
MIN_ANCHOR_VERTICES = 10
#: Metres: a map that also rests on something else (a seat) anchors on the floor only this
#: close to that something: a sitter's feet land near chairs, not anywhere on the floor.
FLOOR_REACH = 1.0


@dataclass
class Surfaces:
    """Top-surface points: ``points`` (S, 3) float64 world (y = surface height), ``classes``
    (S,) int64 MPCAT40 id of the surface."""

    points: np.ndarray
    classes: np.ndarray

    def of_class(self, class_id: int) -> np.ndarray:
        return self.points[self.classes == class_id]


@dataclass
class Candidates:
    """N candidate placements: ``body`` (N,) index of the body, ``slot`` (N,) its map slot,
    ``yaw`` (N,) radians, ``t`` (N, 3) metres: the body's centred frame is rotated by yaw, then
    moved by t (so ``t`` is where the body's centroid column goes); ``delta`` (N, 66) the pose
    change of a posed body (:mod:`.posing`; zeros until refined, ignored for bare vertices)."""

    body: np.ndarray
    slot: np.ndarray
    yaw: np.ndarray
    t: np.ndarray
    delta: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.delta is None:
            self.delta = np.zeros((len(self.body), DELTA_SIZE))

    def __len__(self) -> int:
        return len(self.body)

    def take(self, index: np.ndarray) -> Candidates:
        return Candidates(self.body[index], self.slot[index], self.yaw[index], self.t[index],
                          self.delta[index])

    @staticmethod
    def concatenate(parts: list[Candidates]) -> Candidates:
        if not parts:
            return Candidates(np.zeros(0, np.int64), np.zeros(0, np.int64),
                              np.zeros(0, np.float64), np.zeros((0, 3)))
        return Candidates(*(np.concatenate([getattr(p, f) for p in parts])
                            for f in ("body", "slot", "yaw", "t", "delta")))


def top_surfaces(grid: SceneGrid, spacing: float) -> Surfaces:
    """The up-facing surfaces of ``grid`` (:func:`.floor.up_surfaces`) on xz columns about
    ``spacing`` metres apart; unlabelled ones (class 0) are left out."""
    step = np.maximum(1, np.round(spacing / grid.spacing[[0, 2]]).astype(int))
    ox, oz = step // 2
    i, k, y, classes = up_surfaces(grid)
    keep = ((i - ox) % step[0] == 0) & ((k - oz) % step[1] == 0) & (i >= ox) & (k >= oz) \
        & (classes > 0)
    coords = grid.node_coords()
    points = np.stack([coords[0][i[keep]], y[keep], coords[2][k[keep]]], axis=1)
    return Surfaces(points, classes[keep])


def _rotate_xz(points: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """(..., 3) points rotated by (...) yaws about +y (see :func:`.types.yaw_matrix`)."""
    c, s = np.cos(yaw), np.sin(yaw)
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([c * x + s * z, np.broadcast_to(y, c.shape), -s * x + c * z], axis=-1)


def _anchor(vertices: np.ndarray) -> np.ndarray:
    """(3,) centroid x, lowest y, centroid z of (n, 3) contact vertices of one class."""
    return np.array([vertices[:, 0].mean(), vertices[:, 1].min(), vertices[:, 2].mean()])


def anchor_classes(maps: BodyMaps, available: set[int]) -> dict[int, tuple[list[int], set]]:
    """{support class: (the map slots anchored on it, the other support classes of those
    maps)}. A map's support classes are its contact classes with at least
    :data:`MIN_ANCHOR_VERTICES` vertices, minus :data:`NON_SUPPORT`, that the scene has
    (``available``)."""
    out: dict[int, tuple[list[int], set]] = {}
    for slot, semantics in enumerate(maps.semantics):
        ids, counts = np.unique(semantics[semantics > 0], return_counts=True)
        support = [int(c) for c in ids[counts >= MIN_ANCHOR_VERTICES] if c not in NON_SUPPORT]
        for c in support:
            slots, others = out.setdefault(c, ([], set()))
            slots.append(slot)
            others.update(o for o in support if o != c and o in available)
    return out


def _near_other_supports(points: np.ndarray, surfaces: Surfaces, others: set,
                         reach: float = FLOOR_REACH) -> np.ndarray:
    """The floor points within ``reach`` (xz) of a surface of the ``others`` classes."""
    targets = surfaces.points[np.isin(surfaces.classes, sorted(others))][:, [0, 2]]
    dist, _ = cKDTree(targets).query(points[:, [0, 2]], distance_upper_bound=reach)
    return points[np.isfinite(dist)]


def make_candidates(surfaces: Surfaces, local: list[np.ndarray], maps: list[BodyMaps],
                    bodies: list[int], regions: list, config: PlacementConfig,
                    stream: int = 0) -> tuple[Candidates, dict[int, str]]:
    """Candidates for the bodies ``bodies`` (indices into ``local``/``maps``/``regions``).

    local: per body (V, 3) vertices in its centred frame. regions: per body None or
    (centre (3,), radius). Returns the candidates and, per body without any, the reason.
    Seeded by ``config.seed``, the body index and ``stream`` (the round). Per body and support
    class, at most ``max_surface_points`` surface points (a seeded subset; with a region, of the
    points that can reach it), shared out among the maps anchored on that class.
    """
    parts, reasons = [], {}
    available = {int(c) for c in np.unique(surfaces.classes)}
    for b in bodies:
        rng = np.random.default_rng(seed_for(config.seed, b, 1 + stream))
        yaws = (np.arange(config.yaws) + rng.uniform()) * (2 * np.pi / config.yaws)
        found, missing = 0, set()
        for c, (slots, others) in anchor_classes(maps[b], available).items():
            points = surfaces.of_class(c)
            if c == CLASS_ID["floor"] and others and len(points):
                points = _near_other_supports(points, surfaces, others)
            anchors = [_anchor(local[b][maps[b].semantics[slot] == c]) for slot in slots]
            if regions[b] is not None:
                centre, radius = regions[b]
                reach = radius + max(float(np.hypot(a[0], a[2])) for a in anchors)
                points = points[np.hypot(points[:, 0] - centre[0],
                                         points[:, 2] - centre[2]) <= reach]
            if not len(points):
                missing.add(c)
                continue
            if len(points) > config.max_surface_points:
                points = points[np.sort(rng.choice(len(points), config.max_surface_points,
                                                   replace=False))]
            for k, (slot, anchor) in enumerate(zip(slots, anchors, strict=True)):
                mine = points[k::len(slots)] if len(points) >= 2 * len(slots) else points
                turned = _rotate_xz(anchor, yaws)  # (Y, 3)
                t = (mine[:, None, :] - turned[None]).reshape(-1, 3)  # (P * Y, 3)
                yaw = np.broadcast_to(yaws, (len(mine), len(yaws))).reshape(-1)
                if regions[b] is not None:
                    centre, radius = regions[b]
                    near = np.hypot(t[:, 0] - centre[0], t[:, 2] - centre[2]) <= radius
                    t, yaw = t[near], yaw[near]
                n = len(t)
                found += n
                parts.append(Candidates(np.full(n, b, np.int64), np.full(n, slot, np.int64),
                                        yaw.astype(np.float64), t))
        if not found:
            where = " within the region" if regions[b] is not None else ""
            need = ", ".join(MPCAT40_NAMES[c] for c in sorted(missing))
            reasons[b] = (f"no candidate placement{where}: the scene has no top surface of the "
                          f"classes the body's maps rest on ({need or 'none usable'})")
    return Candidates.concatenate(parts), reasons
