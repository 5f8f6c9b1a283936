"""What every interaction is: the record, the fitting context and the shared fitting steps.

An :class:`Interaction` says what people doing it need (a spot kind), how they start (a pose
family of presets), how each person varies (:meth:`Interaction.vary`), how a body is fitted to
its spot before placement refines it (:meth:`Interaction.fit`: legs to the seat's height, the
back to the wall...), which contacts make it what it is (:attr:`Interaction.touches`: parts of
the body and the classes they touch, with a tolerance; placement requires them) and how a placed
person is judged (:meth:`Interaction.check`: the touches measured exactly on the meshes, plus
the interaction's own rules, such as a sitter facing away from the backrest). Adding an
interaction is one new module in this package that defines ``INTERACTION`` (see :mod:`.sit`).

Frame: SMPL-X world (+y up, metres). A fitted placement is (yaw, translation) applied to the
pose's vertices: ``placed = vertices @ R_y(yaw).T + translation``, as placement reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ...body import BodyModel, BodyParts, BodyPose, pose_body
from ...classes import CLASS_ID
from ...placement.floor import FloorMap
from ...placement.types import Target, Touch
from ...scene.grid import SceneGrid
from ..spots import SEAT_CLASSES, Spot

__all__ = ["FLOOR", "Check", "FitContext", "Fitted", "Interaction", "TouchSpec", "bisect",
           "class_distance", "rotate_xz", "yaw_matrix"]

FLOOR = frozenset({CLASS_ID["floor"]})


@dataclass(frozen=True)
class TouchSpec:
    """A contact of an interaction: ``parts`` (names of :class:`~posa_model.body.BodyParts`
    parts or regions) within ``distance`` (m) of ``classes``: a set of class ids, or "spot" (the
    spot's own class, seat classes standing in for each other); ``share``: the fraction of the
    vertices that must be within (0: any one); ``up``: resting on it (a surface below counts,
    not one beside)."""

    name: str
    parts: tuple[str, ...]
    classes: frozenset | str
    distance: float
    share: float = 0.0
    up: bool = False

    def touch(self, parts: BodyParts, spot: Spot) -> Touch:
        classes = self.classes
        if classes == "spot":
            classes = SEAT_CLASSES | {spot.class_id} if spot.class_id in SEAT_CLASSES \
                else frozenset({spot.class_id})
        return Touch(self.name, parts.mask(*self.parts), frozenset(classes), self.distance,
                     self.share, self.up)


@dataclass
class FitContext:
    """What fitting needs: the body model, its parts, the scene's grids, the floor's height
    field and the scene's objects by name (exact distances; may be empty)."""

    model: BodyModel
    parts: BodyParts
    grid: SceneGrid
    floor: FloorMap
    objects: dict = field(default_factory=dict)
    _trees: dict = field(default_factory=dict, repr=False)  # name -> (AABB, V, F)

    def vertices(self, pose: BodyPose) -> np.ndarray:
        """(B, V, 3) float64 posed vertices (body frame)."""
        return pose_body(self.model, pose).vertices.astype(np.float64)

    def joints(self, pose: BodyPose) -> np.ndarray:
        """(B, 55, 3) float64 posed joints (body frame)."""
        return pose_body(self.model, pose).joints.astype(np.float64)

    def distance(self, points: np.ndarray, name: str) -> np.ndarray:
        """(n,) distance (m) of (n, 3) world points to the object called ``name``: exact
        (unsigned, libigl) when the object is known; else the scene grid's SDF, which sees thin
        parts only to within half a node spacing (so half a spacing is taken off, floored at 0).
        """
        obj = self.objects.get(name)
        if obj is None or len(obj.faces) == 0:
            d = self.grid.lookup(points) - 0.5 * float(self.grid.spacing.min())
            return np.maximum(d, 0.0)
        tree = self._trees.get(name)
        if tree is None:  # libigl's AABB tree of the object, built once
            import igl

            v = np.ascontiguousarray(obj.vertices, np.float64)
            f = np.ascontiguousarray(obj.faces, np.int64)
            aabb = igl.AABB()
            aabb.init(v, f)
            tree = self._trees[name] = (aabb, v, f)
        aabb, v, f = tree
        d2 = aabb.squared_distance(v, f, np.ascontiguousarray(points, np.float64))[0]
        return np.sqrt(d2)


@dataclass(frozen=True)
class Check:
    """How well a placed person does their interaction, measured exactly on the scene's meshes
    (:meth:`Interaction.check`): ``ok`` when every rule holds; ``measures`` {name: value} (m,
    degrees or a share, as named); ``failed``: the rules that do not hold, in words."""

    ok: bool
    measures: dict
    failed: tuple[str, ...] = ()

    def describe(self) -> str:
        return "ok" if self.ok else "; ".join(self.failed)


def class_distance(ctx: FitContext, points: np.ndarray, classes: frozenset) -> float:
    """The smallest distance (m) from (n, 3) world ``points`` to a surface of ``classes``:
    exact on the scene's objects of those classes when it has any, else from the grids (SDF
    where the nearest object has such a class). inf when none is near."""
    names = [name for name, obj in ctx.objects.items() if obj.class_id in classes]
    if names:
        return float(min(ctx.distance(points, name).min() for name in names))
    d = np.maximum(ctx.grid.lookup(points), 0.0)
    d[~np.isin(ctx.grid.lookup_semantics(points), sorted(classes))] = np.inf
    return float(d.min()) if len(d) else float("inf")


@dataclass
class Fitted:
    """Fitted bodies: ``pose`` (B bodies, body frame), per body ``yaw`` (B,), ``translation``
    (B, 3), ``touches`` (B tuples of :class:`Touch`), ``free`` (B entries: a (V,) bool mask of
    vertices whose predicted contacts are not required, or None), ``offers`` (B sets of
    classes the spot offers besides the touches', e.g. the table under a sitter's hands)."""

    pose: BodyPose
    yaw: np.ndarray
    translation: np.ndarray
    touches: list[tuple[Touch, ...]]
    free: list[np.ndarray | None]
    offers: list[frozenset] | None = None

    def target(self, k: int, spot: Spot) -> Target:
        offers = self.offers[k] if self.offers is not None else frozenset()
        return Target(float(self.yaw[k]), self.translation[k], self.touches[k], self.free[k],
                      spot.describe(), offers)


class Interaction:
    """One kind of interaction (see the module docstring); subclasses set the class attributes
    and implement :meth:`vary` and :meth:`fit`."""

    name: ClassVar[str]
    spot: ClassVar[str]  # the spot kind: "seat", "bed", "wall" or "floor"
    presets: ClassVar[tuple[str, ...]]
    description: ClassVar[str]
    touches: ClassVar[tuple[TouchSpec, ...]]
    weight: ClassVar[float] = 1.0  # share in the default mix
    order: ClassVar[int] = 50  # listing order

    def start(self, rng: np.random.Generator, count: int) -> BodyPose:
        """``count`` start poses: a preset of the family each, drawn with ``rng``."""
        names = [str(rng.choice(self.presets)) for _ in range(count)]
        return BodyPose.from_preset(names)

    def vary(self, rng: np.random.Generator, pose: BodyPose, spots: list[Spot]) -> dict:
        """Vary each body's pose within the interaction, in place; returns the choices made
        (per-body arrays) that :meth:`fit` needs."""
        return {}

    def fit(self, ctx: FitContext, pose: BodyPose, spots: list[Spot],
            options: dict) -> Fitted:
        """Fit every body to its spot: the pose (in place and returned) and the placement;
        ``options``: what :meth:`vary` returned."""
        raise NotImplementedError

    def contact_touches(self, parts: BodyParts, spot: Spot) -> tuple[Touch, ...]:
        return tuple(spec.touch(parts, spot) for spec in self.touches)

    def check(self, ctx: FitContext, vertices: np.ndarray, joints: np.ndarray,
              spot: Spot) -> Check:
        """The interaction's rule for a placed person ((V, 3) ``vertices`` and (55, 3)
        ``joints``, world): every :attr:`touches` part within its distance of its classes,
        measured exactly (subclasses add their own rules through :meth:`extra_checks`)."""
        measures, failed = {}, []
        for spec, touch in zip(self.touches, self.contact_touches(ctx.parts, spot),
                               strict=True):
            d = class_distance(ctx, vertices[touch.mask], touch.classes)
            measures[spec.name] = d
            if not d <= spec.distance and not self.excused(spec, ctx, vertices, spot):
                failed.append(f"{spec.name}: {d:.3f} m (at most {spec.distance} m)")
        more, more_failed = self.extra_checks(ctx, vertices, joints, spot)
        measures.update(more)
        failed += more_failed
        return Check(not failed, measures, tuple(failed))

    def excused(self, spec: TouchSpec, ctx: FitContext, vertices: np.ndarray,
                spot: Spot) -> bool:
        """Whether a touch may be missing for this person (a bar-stool sitter's feet)."""
        return False

    def extra_checks(self, ctx: FitContext, vertices: np.ndarray, joints: np.ndarray,
                     spot: Spot) -> tuple[dict, list[str]]:
        """Rules beyond the touches: (measures, failures in words)."""
        return {}, []


def yaw_matrix(yaw: float) -> np.ndarray:
    """(3, 3) rotation by ``yaw`` radians about +y (placement's convention)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rotate_xz(vertices: np.ndarray, yaw: float) -> np.ndarray:
    """(..., 3) points turned by ``yaw`` about +y (about the origin)."""
    return vertices @ yaw_matrix(yaw).T


def bisect(residual, lo, hi, steps: int = 14) -> np.ndarray:
    """(B,) roots of an increasing batched function on [lo, hi] by bisection: ``residual(s)``
    maps (B,) parameters to (B,) values. Where the root lies outside, the result converges to
    the nearer end."""
    lo = np.array(lo, np.float64, copy=True)
    hi = np.array(hi, np.float64, copy=True)
    for _ in range(steps):
        mid = (lo + hi) / 2
        below = residual(mid) < 0
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return (lo + hi) / 2
