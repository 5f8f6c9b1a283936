"""The placement API's data: the configuration, a body to place, a placed body, the result.

Frame: SMPL-X world (+y up, metres), gravity along -y. A placement is a rotation about +y by
``yaw`` (radians) followed by a translation: ``placed = vertices @ R_y(yaw).T + translation``
with ``R_y(yaw) = [[cos, 0, sin], [0, 1, 0], [-sin, 0, cos]]`` (the convention of
:mod:`posa_model.synth.primitives`), applied to the vertices exactly as the caller gave them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["BodyRequest", "PlacedBody", "PlacementConfig", "PlacementResult", "Target", "Touch",
           "yaw_matrix"]


@dataclass(frozen=True)
class PlacementConfig:
    """Every knob of :func:`posa_model.place.place_bodies`, with its default.

    Maps (step 1):
        seed: the same seed gives the same result (maps, candidate subsets, greedy order).
        device: "auto" (CUDA when available), "cpu" or "cuda[:N]".
        maps: feature maps sampled per body. maps_per_body: the best-ranked feasible maps whose
            placements are searched. min_present_fraction: a map is feasible when at least this
            fraction of its contact vertices carry a class present in the scene.
            min_contact_vertices: fewer predicted-contact vertices (full resolution) make a map
            unusable. contact_threshold: contact probability above which a vertex is in contact.
    Candidates (step 2):
        yaws: headings tried per surface point (evenly spaced over 2 pi).
        surface_spacing: metres between the xz columns whose top surfaces give candidates.
        max_surface_points: at most this many surface points per body and anchor class (a
            seeded random subset beyond it), shared out among the maps anchored on it.
        schedule: coarse-to-fine scoring, (hierarchy level, candidates kept per body) per stage;
            the first stage scores every candidate, each next one re-scores the survivors.
        top_k: candidates per body refined by gradient descent (spatially diverse: at least
            nms_radius metres apart in xz); a body with a target: target_top_k candidates,
            target_nms_radius apart (its candidates start fitted to the spot).
        target_shift, target_shifts: a body with a :class:`Target` gets candidates on a
            ``target_shifts`` x ``target_shifts`` lattice of horizontal offsets spanning
            +-target_shift metres around its target, at ``target_lifts`` heights spanning
            +-target_lift and ``target_turns`` headings spanning +-target_turn radians.
    Refinement (step 4):
        refine_schedule: (hierarchy level, Adam steps) per phase, coarse to fine; the last level
            (2 = the network's 655 vertices) also judges acceptance and runs the joint
            refinement. lr_translation (m), lr_yaw (rad): Adam, linear decay to 5 % per phase.
        pose_steps, lr_pose: Adam steps on the pose of posed bodies (:mod:`.posing`) together
            with t and yaw, at the refine level after the rigid phases; w_pose_prior,
            w_joint_limits: the pose prior and joint-limit weights (0 steps = rigid only).
        rounds: bodies left without a free placement are retried with the bodies placed so far
            as obstacles, up to this many rounds in all.
    Losses (step 3), per candidate; distances ``e = sdf - margin`` (surfaces inflated by margin):
        w_contact * mean over predicted-contact vertices of e^2 (with semantic_contact, a
            vertex nearest to an object of another class counts mismatch_distance^2 instead)
        + w_penetration * mean over all vertices of relu(-e)
        + w_body * mean over all vertices of relu(body_margin - d_body) (other bodies)
        + w_region * relu(|centroid_xz - centre_xz| - radius)^2 (drop-and-refine)
        + w_touch * the required touches' gaps squared (a body with a :class:`Target`)
        + w_semantics * ((1 - agreement) + (1 - coverage)) (ranking only, no gradient):
        agreement is the fraction of contact vertices within semantic_distance of a surface of
        their class, coverage the same for the worst-served of the map's main classes.
    Acceptance (greedy choice): at the refine level, non-collision >= min_noncollision, no
        vertex deeper than max_scene_penetration (m) inside the scene (a foot through the
        floor is not hidden by the other 10,000 vertices being fine), some
        contact vertex within touch_distance of a surface, semantic agreement >= min_semantic,
        and coverage >= min_coverage (every class holding 15 % of the contact vertices has that
        share of its vertices within semantic_distance of a surface of its class: no sitting
        on air);
        at full resolution, body-body penetration <= max_body_penetration (metres), and no
        scene matter deeper than max_enclosed_depth inside the body (a thin seat or table top
        swallowed whole, which no vertex test sees).
    Body grids: body_grid_resolution (m) for each body's own signed distance grid.
    chunk_points: vertex lookups per batched pass (bounds memory).
    cpu_threads: torch CPU threads while placing (restored afterwards; 0 = leave torch's
        setting). 1 by default: the passes are many modest operations, and on a busy 2-core
        machine two OpenMP threads waiting on each other ran 8 times slower than one.

    The CPU defaults place 100 bodies in a 11 x 10 m room in about 45 s on one core of a
    2-core machine (``bench/bench_place.py``); larger ``max_surface_points``, ``yaws``,
    ``schedule`` keeps and ``top_k`` search more for more time.
    """

    seed: int = 0
    device: str = "auto"
    maps: int = 8
    maps_per_body: int = 2
    min_present_fraction: float = 0.8
    min_contact_vertices: int = 30
    contact_threshold: float = 0.5
    yaws: int = 8
    surface_spacing: float = 0.1
    max_surface_points: int = 160
    schedule: tuple[tuple[int, int], ...] = ((4, 320), (3, 96), (2, 32))
    top_k: int = 6
    nms_radius: float = 0.2
    refine_schedule: tuple[tuple[int, int], ...] = ((3, 30), (2, 10))
    lr_translation: float = 0.01
    lr_yaw: float = 0.03
    target_shift: float = 0.08
    target_shifts: int = 3
    target_lift: float = 0.02
    target_lifts: int = 3
    target_turn: float = 0.2
    target_turns: int = 3
    target_nms_radius: float = 0.04
    target_top_k: int = 3
    pose_steps: int = 30
    lr_pose: float = 0.02
    w_pose_prior: float = 0.02
    w_joint_limits: float = 100.0
    rounds: int = 3
    margin: float = 0.004
    body_margin: float = 0.01
    w_contact: float = 1.0
    w_penetration: float = 100.0
    w_body: float = 100.0
    w_region: float = 100.0
    w_semantics: float = 0.1
    w_touch: float = 100.0
    semantic_distance: float = 0.05
    semantic_contact: bool = True
    mismatch_distance: float = 0.1
    min_noncollision: float = 0.95
    min_semantic: float = 0.35
    min_coverage: float = 0.25
    touch_distance: float = 0.02
    max_scene_penetration: float = 0.04
    max_body_penetration: float = 0.005
    max_enclosed_depth: float = 0.01
    body_grid_resolution: float = 0.02
    chunk_points: int = 1 << 21
    cpu_threads: int = 1

    def __post_init__(self) -> None:
        positive = ("maps", "maps_per_body", "yaws", "top_k", "rounds", "min_contact_vertices",
                    "chunk_points", "target_shifts", "target_lifts", "target_turns",
                    "target_top_k")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"PlacementConfig.{name}: expected an int >= 1, found "
                                  f"{value!r}")
        for name in ("surface_spacing", "body_grid_resolution", "touch_distance",
                     "max_scene_penetration"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"PlacementConfig.{name}: expected metres > 0, found "
                                  f"{getattr(self, name)!r}")
        if not self.schedule or any(len(s) != 2 or s[1] < 1 for s in self.schedule):
            raise ConfigError(f"PlacementConfig.schedule: expected ((level, keep >= 1), "
                              f"...), found {self.schedule!r}")
        if not self.refine_schedule or any(len(s) != 2 or s[1] < 0
                                           for s in self.refine_schedule):
            raise ConfigError(f"PlacementConfig.refine_schedule: expected ((level, steps "
                              f">= 0), ...), found {self.refine_schedule!r}")
        if not isinstance(self.pose_steps, int) or self.pose_steps < 0:
            raise ConfigError(f"PlacementConfig.pose_steps: expected an int >= 0, found "
                              f"{self.pose_steps!r}")
        for name in ("lr_pose", "w_pose_prior", "w_joint_limits", "target_shift",
                     "target_lift", "target_turn"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ConfigError(f"PlacementConfig.{name}: expected a finite number >= 0, "
                                  f"found {getattr(self, name)!r}")
        if not isinstance(self.cpu_threads, int) or self.cpu_threads < 0:
            raise ConfigError(f"PlacementConfig.cpu_threads: expected an int >= 0, found "
                              f"{self.cpu_threads!r}")

    @property
    def refine_level(self) -> int:
        """The finest refinement level: acceptance and the joint refinement run on it."""
        return int(self.refine_schedule[-1][0])


@dataclass(frozen=True)
class Touch:
    """A contact a placed body must make (checked at full resolution before it is accepted).

    name: what it is, for messages ("buttocks on the seat"); mask: (V,) bool, the vertices that
    make it; classes: the MPCAT40 ids of what they touch (the floor, id 2, is measured on the
    floor's height field); distance: metres; share: the fraction of the ``mask`` vertices that
    must be within ``distance`` (0: any one vertex); up: only a surface below the vertex counts
    (resting on it: buttocks on a seat, not against the chair's backrest).
    """

    name: str
    mask: np.ndarray
    classes: frozenset
    distance: float
    share: float = 0.0
    up: bool = False


@dataclass
class Target:
    """Where a body should go: its fitted placement and what it must touch there.

    yaw (rad) and translation (3,) place the request's vertices as a :class:`PlacedBody`'s
    transform does (``vertices @ R_y(yaw).T + translation``). Candidates are searched around it
    (``PlacementConfig.target_*``). touches: contacts the placed body must make. free: (V,)
    bool, vertices whose predicted contacts are not required (feet hanging from a bar stool),
    or None. label: what the target is, for messages ("seat on Chair.001"). offers: classes
    the target offers besides those of its touches (the table a sitter's hands may rest on);
    predicted contacts of classes neither names are not required (see
    :class:`.maps.BodyMaps`).
    """

    yaw: float
    translation: np.ndarray
    touches: tuple[Touch, ...] = ()
    free: np.ndarray | None = None
    label: str = ""
    offers: frozenset = frozenset()


@dataclass
class BodyRequest:
    """A body to place.

    vertices: (V, 3) float posed full-resolution vertices, SMPL-X world, any place and heading;
        may be None when ``pose`` is given (they are posed from it).
    name: the body's name in outputs.
    region: drop-and-refine: (centre (3,), radius m); the body's centroid (mean vertex) must end
        within ``radius`` of ``centre`` horizontally (a vertical cylinder; height is free).
    info: anything to record with the body in outputs (pose name, interaction).
    pose: the one-body :class:`~posa_model.body.BodyPose` the vertices come from: its pose then
        adapts during refinement (``place_bodies(model=...)`` is needed), and the placed body is
        returned with the pose that reproduces it.
    target: a :class:`Target`; None = anywhere its maps fit.
    """

    vertices: np.ndarray | None = None
    name: str = "body"
    region: tuple[np.ndarray, float] | None = None
    info: dict = field(default_factory=dict)
    pose: Any = None
    target: Target | None = None


@dataclass
class PlacedBody:
    """The outcome for one body.

    placed: False when no feature map or no acceptable placement was found; ``reason`` says why
        (empty when placed). yaw (rad), translation (3,) m: ``vertices = request.vertices @
        R_y(yaw).T + translation``; transform: the same as a (4, 4) matrix (y-up world).
    vertices: (V, 3) float32 placed vertices (the request's vertices when not placed).
    contact: (V,) float32 contact probability and semantics: (V,) int64 class id of the chosen
        feature map (0 = no contact); map_index: the map's sample index (-1 when none).
    metrics: per-body metrics (see :mod:`posa_model.placement.metrics`), empty when not placed.
    pose: for a posed request, the one-body :class:`~posa_model.body.BodyPose` whose posing
        gives ``vertices`` (yaw and translation folded in), else None.
    """

    name: str
    placed: bool
    reason: str
    yaw: float
    translation: np.ndarray
    transform: np.ndarray
    vertices: np.ndarray
    contact: np.ndarray
    semantics: np.ndarray
    map_index: int
    metrics: dict
    pose: Any = None


@dataclass
class PlacementResult:
    """bodies: one :class:`PlacedBody` per request, in order; metrics: overall (means over the
    placed bodies, counts); seconds: wall time per stage."""

    bodies: list[PlacedBody]
    metrics: dict
    seconds: dict


def yaw_matrix(yaw: float) -> np.ndarray:
    """(3, 3) float64 rotation by ``yaw`` radians about +y."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
