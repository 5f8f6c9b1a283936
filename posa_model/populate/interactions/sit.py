"""Sitting on a seat: chair, armchair, sofa, bench, stool, bar stool or toilet.

Fitting (batched over the sitters):

* **Legs to the seat's height**: one parameter ``s`` per person moves the legs along a family:
  ``s > 0`` first points the feet down by up to 35 degrees (a seat a little high: the toes
  reach the floor, as people do), then tilts the thighs down by up to 40 degrees with the
  shins vertical (a high seat: perching); ``s < 0`` raises the knees by up to 25 degrees and
  brings the feet forward by as much, flat (a low sofa); bisection finds the ``s`` at which
  the soles are :data:`SINK` below the seat height under the buttocks. A seat higher than the
  legs reach (a bar stool) leaves the feet hanging, knees bent: the feet's predicted contacts
  are then not required.
* **Hands**: on the lap, or, at a table, on the table: the shoulders swing forward until the
  hands, palms turned down, reach the top's height (bisection again).
* **Back to the backrest**: a sitter on a seat with a backrest leans back (the trunk turns
  back about the hips, the thighs stay) until the back is :data:`BACK_TOUCH` from the seat's
  object, up to :data:`MAX_RECLINE` (a lounge chair's reclined back), by bisection on the
  angle; a back that reaches no backrest stays upright.
* **Placement**: facing the seat's direction; the lowest buttocks points on the seat surface
  over the spot; with a backrest, moved back until the buttocks are :data:`BACK_GAP` in front
  of it; where the thighs slope down (a high seat), forward until they clear its front edge:
  perched on the front of the seat (:func:`perch`).

Required contacts: buttocks within 2 cm of the seat (any seat class), each sole within 3 cm of
the floor (unless hanging). The check of a placed sitter (:meth:`Sit.check`) measures those on
the meshes, lets the feet hang only from a seat :data:`HANGING_SEAT` high or more, and wants the
sitter facing within :data:`MAX_FACING_ERROR` degrees of the seat's direction.
"""

from __future__ import annotations

import numpy as np

from ...body import BodyPose
from ...body.hands import flatten_hands
from ...body.joints import JOINT_INDEX
from ..spots import TABLE_CLASSES, Spot
from ..variety import jitter_joints, turn_joint
from .base import FLOOR, FitContext, Fitted, Interaction, TouchSpec, bisect, rotate_xz

__all__ = ["INTERACTION", "Sit"]

#: The soles end this far below the floor height the seat gives (m): feet rest, not hover.
SINK = 0.004
#: With a backrest, the buttocks' back ends this far in front of it (m).
BACK_GAP = 0.04
#: At a table the sitter slides back until this close (m): the belly clears the table's edge.
BACK_GAP_AT_TABLE = 0.01
#: At a table, a sitter whose body would pass through it (a thick thigh through the apron, a
#: belly through the top's edge when the chair is pushed in) is given a shape nearer the mean:
#: the betas scaled by SHRINK, at most SHRINK_STEPS times.
SHRINK = 0.6
SHRINK_STEPS = 4
BACK_TOUCH = 0.01
#: A table edge this close in front of the buttocks (m) takes the sitter's hands.
TABLE_CLOSE = 0.3
#: The knee joints end at least this far beyond the seat's front edge (m).
KNEE_CLEARANCE = 0.02
#: A sitter perching on the front of a high seat keeps the lowest buttocks points this far (m)
#: behind its front edge.
PERCH_KEEP = 0.08
MAX_RECLINE = np.deg2rad(30.0)
#: A seat this high (m) may leave the feet hanging (a bar stool).
HANGING_SEAT = 0.65
#: A sitter faces within this many degrees of the seat's direction (away from the backrest).
MAX_FACING_ERROR = 45.0
_THIGH_DOWN = np.deg2rad(40.0)
_TOES_DOWN = np.deg2rad(35.0)
KNEES = [JOINT_INDEX["left_knee"], JOINT_INDEX["right_knee"]]
_KNEES_UP = np.deg2rad(25.0)


def recline(pose: BodyPose, theta: np.ndarray) -> BodyPose:
    """A copy of ``pose`` with the trunk turned back by ``theta`` (B,) radians about the hips;
    the thighs keep their direction."""
    out = pose.take(slice(None))
    turn_joint(out, "pelvis", "x", -np.asarray(theta, np.float64))
    for side in ("left", "right"):
        turn_joint(out, f"{side}_hip", "x", theta)
    return out


def seat_translation(vertices: np.ndarray, buttocks: np.ndarray, knees: np.ndarray,
                     spot: Spot, thighs: np.ndarray | None = None) -> np.ndarray:
    """(3,) translation that puts a sitter's (V, 3) vertices (already turned to face the seat)
    on the spot: the lowest buttocks points on the seat surface over it and, with a backrest,
    the buttocks :data:`BACK_GAP` in front of the backrest, but never so deep that the knees
    ((2, 3) joints) end behind the seat's front edge (a deep armchair: the legs go down in
    front of it, not through it), nor, given the ``thighs`` (V,) mask, so deep that thighs
    sloping down (a high seat) pass below its top before its front edge (:func:`perch`)."""
    low = vertices[buttocks, 1].min()
    seat = buttocks & (vertices[:, 1] < low + 0.02)
    t = spot.position - np.array([vertices[seat, 0].mean(), low, vertices[seat, 2].mean()])
    t[1] += 0.004
    f = spot.facing
    if spot.back is not None:
        gap = BACK_GAP_AT_TABLE if spot.table is not None else BACK_GAP
        behind = (spot.position - f * spot.back) @ f + gap
        t += f * (behind - ((vertices[buttocks] @ f).min() + t @ f))
    edge = (spot.position + f * spot.front) @ f + KNEE_CLEARANCE
    knee = float((knees @ f).min() + t @ f)
    if knee < edge:
        t += f * (edge - knee)
    if thighs is not None:
        t += f * perch(vertices + t, seat, thighs, spot)
    return t


def perch(vertices: np.ndarray, seat: np.ndarray, thighs: np.ndarray, spot: Spot) -> float:
    """How far (m) a sitter at (V, 3) ``vertices`` (placed on the spot) moves forward so that
    no thigh vertex lower than the seat's top (by more than 5 mm) is behind its front edge: on a
    high seat the thighs slope down and people sit on the front of it. At most until the
    ``seat`` (V,) vertices (the lowest buttocks points) are :data:`PERCH_KEEP` behind the edge
    (they stay on the seat)."""
    f = spot.facing
    edge = float((spot.position + f * spot.front) @ f)
    low = thighs & (vertices[:, 1] < spot.position[1] - 0.005)
    if not low.any():
        return 0.0
    need = edge + 0.005 - float((vertices[low] @ f).min())
    room = edge - PERCH_KEEP - float((vertices[seat] @ f).max())
    return float(np.clip(need, 0.0, max(room, 0.0)))


def legs(pose: BodyPose, s: np.ndarray) -> BodyPose:
    """A copy of ``pose`` with the legs moved by ``s`` (B,) in [-1, 1] (module docstring):
    ``s`` in [0, 0.5] points the feet down (up to :data:`_TOES_DOWN`: the toes reach for the
    floor), [0.5, 1] then tilts the thighs down (up to :data:`_THIGH_DOWN`, shins vertical);
    ``s < 0`` raises the knees and brings the feet forward, feet flat."""
    out = pose.take(slice(None))
    s = np.asarray(s, np.float64)
    toes = np.clip(2.0 * s, 0.0, 1.0) * _TOES_DOWN
    down = np.clip(2.0 * s - 1.0, 0.0, 1.0) * _THIGH_DOWN  # thighs down, shins kept vertical
    knees_up = np.clip(-s, 0.0, 1.0) * _KNEES_UP  # thighs up ...
    feet_forward = knees_up  # ... and the shins forward by as much
    for side in ("left", "right"):  # hip + knee + ankle about x stays 0 (but the toes)
        turn_joint(out, f"{side}_hip", "x", down - knees_up)
        turn_joint(out, f"{side}_knee", "x", -down + knees_up - feet_forward)
        turn_joint(out, f"{side}_ankle", "x", feet_forward + toes)
    return out


def _passes_through(objects: list, vertices: np.ndarray, depth: int = 3) -> bool:
    """Whether more than ``depth`` of the (V, 3) vertices lie inside one of ``objects``
    (libigl's fast winding number on their own triangles; boxes cull)."""
    import igl

    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    for obj in objects:
        olo, ohi = obj.bounds()
        if (olo > hi).any() or (ohi < lo).any():
            continue
        near = np.all((vertices >= olo) & (vertices <= ohi), axis=1)
        if near.sum() <= depth:
            continue
        w = igl.fast_winding_number(np.asarray(obj.vertices, np.float64),
                                    np.asarray(obj.faces, np.int64),
                                    np.asarray(vertices[near], np.float64))
        if (w > 0.5).sum() > depth:
            return True
    return False


class Sit(Interaction):
    name = "sit"
    spot = "seat"
    presets = ("sit",)
    description = ("sitting on a chair, sofa, bench or stool: feet on the floor (hanging from "
                   "a bar stool), back to the backrest, hands on the lap or the table")
    touches = (TouchSpec("buttocks on the seat", ("buttocks",), "spot", 0.02, up=True),
               TouchSpec("left foot on the floor", ("left_sole",), FLOOR, 0.03),
               TouchSpec("right foot on the floor", ("right_sole",), FLOOR, 0.03))
    weight = 3.0
    order = 10

    def excused(self, spec: TouchSpec, ctx: FitContext, vertices: np.ndarray,
                spot: Spot) -> bool:
        return "foot" in spec.name and spot.height >= HANGING_SEAT

    def extra_checks(self, ctx: FitContext, vertices: np.ndarray, joints: np.ndarray,
                     spot: Spot) -> tuple[dict, list[str]]:
        lateral = joints[JOINT_INDEX["left_hip"]] - joints[JOINT_INDEX["right_hip"]]
        forward = np.cross(lateral, [0.0, 1.0, 0.0])
        forward /= max(float(np.linalg.norm(forward)), 1e-9)
        facing = spot.facing / max(float(np.linalg.norm(spot.facing)), 1e-9)
        error = float(np.degrees(np.arccos(np.clip(forward @ facing, -1.0, 1.0))))
        failed = [] if error <= MAX_FACING_ERROR else [
            f"facing {error:.0f} degrees off the seat's direction (at most "
            f"{MAX_FACING_ERROR:.0f})"]
        return {"facing error (degrees)": error}, failed

    def vary(self, rng: np.random.Generator, pose: BodyPose, spots: list[Spot]) -> dict:
        b = len(pose)
        jitter_joints(rng, pose)
        jitter_joints(rng, pose, {"left_shoulder": 5.0, "right_shoulder": 5.0,
                                  "left_elbow": 6.0, "right_elbow": 6.0})
        # at a table the neighbours' knees and feet meet under it: kept closer in
        at_table = np.array([s.table is not None for s in spots])
        apart = np.deg2rad(rng.uniform(-3.0, 12.0, b) * np.where(at_table, 0.4, 1.0))
        turn_joint(pose, "left_hip", "y", apart)  # knees apart
        turn_joint(pose, "right_hip", "y", -apart)
        forward = np.deg2rad(np.where(at_table, rng.uniform(-8.0, 6.0, b),
                                      rng.uniform(-8.0, 18.0, b)))  # feet forward or tucked
        for side in ("left", "right"):
            turn_joint(pose, f"{side}_knee", "x", -forward)
            turn_joint(pose, f"{side}_ankle", "x", forward)
        # at a table close in front the hands go on it (in the lap they would meet its edge)
        on_table = np.array([s.table is not None and rng.random() < (
            0.75 if s.table[1] < TABLE_CLOSE else 0.6) for s in spots])
        for k in np.flatnonzero(on_table):  # forearms forward, ready for the table
            one = pose.take([k])
            turn_joint(one, "left_elbow", "y", -np.deg2rad(70.0))
            turn_joint(one, "right_elbow", "y", np.deg2rad(70.0))
            pose.body_pose[k] = one.body_pose[0]
        return {"on_table": on_table}

    def fit(self, ctx: FitContext, pose: BodyPose, spots: list[Spot],
            options: dict) -> Fitted:
        fitted = self._fit(ctx, pose, spots, options)
        rows = [k for k, spot in enumerate(spots) if spot.table is not None]
        tables = [o for o in ctx.objects.values() if o.class_id in TABLE_CLASSES]
        if not rows or not tables:
            return fitted
        first = ctx.vertices(fitted.pose.take(rows))  # one batch for the first look
        for j, k in enumerate(rows):
            spot, placed = spots[k], first[j]
            for _ in range(SHRINK_STEPS):
                placed = rotate_xz(placed, fitted.yaw[k]) + fitted.translation[k]
                if not _passes_through(tables, placed):
                    break
                one = pose.take([k])
                one.betas[:] *= SHRINK
                again = self._fit(ctx, one, [spot], {key: value[[k]]
                                                     for key, value in options.items()})
                fitted.pose.body_pose[k] = again.pose.body_pose[0]
                fitted.pose.betas[k] = again.pose.betas[0]
                fitted.translation[k] = again.translation[0]
                fitted.touches[k], fitted.free[k] = again.touches[0], again.free[0]
                placed = ctx.vertices(fitted.pose.take([k]))[0]
        pose.body_pose[:], pose.betas[:] = fitted.pose.body_pose, fitted.pose.betas
        return fitted

    def _fit(self, ctx: FitContext, pose: BodyPose, spots: list[Spot],
             options: dict) -> Fitted:
        parts = ctx.parts
        butt = parts.regions["buttocks"]
        soles = parts.mask("left_sole", "right_sole")
        index = np.flatnonzero(butt | soles)
        sub = ctx.model.subset(index)
        in_butt, in_soles = butt[index], soles[index]
        heights = np.array([s.height for s in spots]) - SINK
        self._lean_back(ctx, pose, spots)

        def drop(p: BodyPose) -> np.ndarray:
            from ...body import pose_body

            v = pose_body(sub, p).vertices
            return v[:, in_butt, 1].min(axis=1) - v[:, in_soles, 1].min(axis=1)

        s = bisect(lambda s: drop(legs(pose, s)) - heights, np.full(len(pose), -1.0),
                   np.full(len(pose), 1.0))
        fitted = legs(pose, s)
        hang = drop(fitted) < heights - 0.02  # the soles cannot reach the floor
        if hang.any():  # perch with the thighs a little down, the knees bent: feet dangle
            rows = np.flatnonzero(hang)
            dangle = legs(pose.take(rows), np.full(len(rows), 0.3))
            for side in ("left", "right"):
                turn_joint(dangle, f"{side}_knee", "x", np.deg2rad(15.0))
            fitted.body_pose[rows] = dangle.body_pose
        self._hands_on_table(ctx, fitted, spots, options["on_table"])
        pose.body_pose[:] = fitted.body_pose

        vertices = ctx.vertices(pose)
        yaw = np.array([s.yaw for s in spots])
        translation = np.zeros((len(pose), 3))
        touches, free = [], []
        feet, thighs = parts.masks["feet"], parts.masks["thighs"]
        joints = ctx.joints(pose)
        for k, spot in enumerate(spots):
            knees = rotate_xz(joints[k][KNEES], yaw[k])
            translation[k] = seat_translation(rotate_xz(vertices[k], yaw[k]), butt, knees, spot,
                                              thighs)
            mine = self.contact_touches(parts, spot)
            if hang[k]:
                mine = mine[:1]
            touches.append(mine)
            free.append(feet.copy() if hang[k] else None)
        offers = [TABLE_CLASSES if options["on_table"][k] else frozenset()
                  for k in range(len(spots))]
        return Fitted(pose, yaw, translation, touches, free, offers)

    def _lean_back(self, ctx: FitContext, pose: BodyPose, spots: list[Spot]) -> None:
        """Recline the sitters on seats with a backrest until the back touches it (in place)."""
        rows = np.array([k for k, s in enumerate(spots) if s.back is not None], np.int64)
        if not len(rows):
            return
        parts = ctx.parts
        butt, back = parts.regions["buttocks"], parts.regions["back"]
        index = np.flatnonzero(butt | back)
        sub = ctx.model.subset(index)
        in_butt, in_back = butt[index], back[index]
        base = pose.take(rows)
        mine = [spots[k] for k in rows]

        def gap(theta: np.ndarray) -> np.ndarray:
            from ...body import pose_body

            posed = pose_body(sub, recline(base, theta))
            v = posed.vertices.astype(np.float64)
            out = np.empty(len(rows))
            for j, spot in enumerate(mine):
                w = rotate_xz(v[j], spot.yaw)
                knees = rotate_xz(posed.joints[j][KNEES].astype(np.float64), spot.yaw)
                w = w + seat_translation(w, in_butt, knees, spot)
                out[j] = ctx.distance(w[in_back], spot.object).min()
            return out

        theta = bisect(lambda th: BACK_TOUCH - gap(th), np.zeros(len(rows)),
                       np.full(len(rows), MAX_RECLINE), steps=10)
        theta = np.where(gap(theta) <= 2 * BACK_TOUCH, theta, 0.0)  # no backrest in reach
        pose.global_orient[rows] = recline(base, theta).global_orient
        pose.body_pose[rows] = recline(base, theta).body_pose

    def _hands_on_table(self, ctx: FitContext, pose: BodyPose, spots: list[Spot],
                        on_table: np.ndarray) -> None:
        """Swing the arms of the sitters at a table forward until the hands reach its top."""
        rows = np.flatnonzero(on_table)
        rows = np.array([k for k in rows if spots[k].table is not None], dtype=np.int64)
        if not len(rows):
            return
        parts = ctx.parts
        hands = parts.mask("left_palm", "right_palm")
        butt = parts.regions["buttocks"]
        index = np.flatnonzero(hands | butt)
        sub = ctx.model.subset(index)
        in_hands, in_butt = hands[index], butt[index]
        base = pose.take(rows)
        want = np.array([spots[k].table[0] - spots[k].position[1] + 0.01 for k in rows])

        forward = np.tile([0.0, 0.0, 1.0], (len(rows), 1))  # the body frame faces +z

        def swung(theta: np.ndarray) -> BodyPose:
            out = base.take(slice(None))
            turn_joint(out, "left_shoulder", "x", -theta)
            turn_joint(out, "right_shoulder", "x", -theta)
            out.body_pose[:] = flatten_hands(out.body_pose, out.global_orient, forward,
                                             ctx.model.parents.cpu().numpy())
            return out

        def height(theta: np.ndarray) -> np.ndarray:
            from ...body import pose_body

            v = pose_body(sub, swung(theta)).vertices
            return v[:, in_hands, 1].min(axis=1) - v[:, in_butt, 1].min(axis=1)

        theta = bisect(lambda th: height(th) - want, np.full(len(rows), -np.deg2rad(40.0)),
                       np.full(len(rows), np.deg2rad(80.0)))
        pose.body_pose[rows] = swung(theta).body_pose


INTERACTION = Sit()
