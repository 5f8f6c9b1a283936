"""Fitting posed bodies to a scene so that contacts are real and nothing sinks in.

Every body is posed with its yaw folded into ``global_orient`` (so the stored SMPL-X parameters
reproduce it exactly with ``transl``) and placed by translation, using exact ray sweeps of its
vertices against the analytic boxes (:func:`~.primitives.sweep_distance`). Where two supports
must both be touched, one pose parameter ``s`` per body is solved by secant steps, each step one
batched forward pass of the bodies not yet converged (to 3 mm; arms: one ``s`` per arm):

* ``floor`` (stand): the lowest vertex on the floor, the pelvis over a free floor point.
* ``kneel``: as ``floor``; ``s`` pitches the whole body about its lateral axis until the shins
  and the feet reach the floor together.
* ``sit``: seats with a backrest: drop onto the seat, slide back until the back or buttocks touch
  the backrest (toilets: then forward 1-5 cm, clear of the tank); bed edges: slide back (2 cm
  above the mattress) until the calves touch the bed's side, forward 0-5 cm, drop; stools:
  buttocks over the seat's centre, drop. ``s`` adjusts the legs until the lowest foot vertex is
  on the floor: ``s > 0`` raises the thighs (hips and knees flex by the same angle, the shins keep
  their direction), ``s < 0`` lowers them a little and points the feet.
* ``sit_table``: ``sit``, then ``s`` swings the arms (shoulder flexion, each arm on its own,
  palms turned flat) until the hands come down onto the table in front of the chair, then the
  legs are solved again.
* ``lie``: across the mattress/seat (on a sofa: back 1-5 cm from the backrest, overhanging the
  front edge if need be), head 0-15 cm from the head end, dropped from above the whole piece (legs
  may rest on an armrest); ``s`` tilts the body about the horizontal axis across it until the
  torso and the lower body (pelvis, legs) both touch the piece (lying on the side, the lower
  shoulder is drawn forward so the upper arm does not hold the torso up:
  ``archetypes._PRESET_FIX``).
* ``lean``: feet on the floor, slid back until the body touches the wall.
* ``reach``: feet on the floor, palms turned flat (:func:`flatten_hands`), first ``s`` bends the
  spine forward (the arms keep their direction in the world; the start is already bent over low
  tops) until the higher hand's lowest vertex is at the top's height, then one ``s`` per arm
  swings it until its own hand is there too; at every step the body moves towards the table
  until both wrists are 4-16 cm over the edge (or the body touches the edge first).

A fitted body is kept only if no vertex is deeper than :data:`PENETRATION_TOLERANCE` inside any
box of the scene and each contact its archetype requires is within :data:`CONTACT_TOLERANCE`
(reaching bodies: each hand on its own; lying bodies: the torso itself, on a mattress or seat
box).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ..body import BodyPose
from ..body.hands import flatten_hands
from ..body.joints import JOINT_INDEX
from .archetypes import ARCHETYPES, compose_joint
from .body import BodyPoser
from .labels import CONTACT_THRESHOLD
from .primitives import aabb_distance, box_signed_distance, sweep_distance
from .scene import Scene

__all__ = ["CONTACT_TOLERANCE", "PENETRATION_TOLERANCE", "FitResult", "Job", "fit_jobs",
           "flatten_hands"]

#: No vertex of an accepted body is deeper than this inside furniture, walls or floor (metres).
PENETRATION_TOLERANCE = 0.01
#: A required contact holds when the closest vertex of the body part is within this (metres).
CONTACT_TOLERANCE = 0.01
#: Reaching bodies: the median distance of each hand's palm-side vertices to the top is at most
#: this (metres; the palm-side half of a flat hand spans about 0-3 cm above the surface).
PALM_TOLERANCE = 0.03
#: Box roles a body sits or lies on (contact target ``seat`` of the archetypes).
SEAT_ROLES = ("seat", "mattress")
#: Leg / shoulder adjustments stop when the feet / hands are this close to their surface.
_SOLVE_TOLERANCE = 0.003
_MAX_SOLVE_STEPS = 6
_LIFT = 0.02


@dataclass
class Job:
    """One body to fit: its archetype, preset, spot (index into ``scene.spots``), parameters
    (yaw already in ``global_orient``) and uniform random numbers for its placement choices."""

    archetype: str
    preset: str
    spot: int
    yaw: float
    betas: np.ndarray
    global_orient: np.ndarray
    body_pose: np.ndarray
    u: np.ndarray  # (4,) uniform [0, 1) numbers


@dataclass
class FitResult:
    """Fitted bodies: ``params`` (B rows, ``transl`` set), ``vertices`` (B, V, 3),
    ``joints`` (B, 55, 3), ``ok`` (B,), ``reason`` (B,) str ('' when ok) and ``depth`` (B,)
    of the deepest vertex inside the scene (metres, NaN where placement failed)."""

    params: BodyPose
    vertices: np.ndarray
    joints: np.ndarray
    ok: np.ndarray
    reason: list[str]
    depth: np.ndarray


def fit_jobs(poser: BodyPoser, scene: Scene, jobs: list[Job]) -> FitResult:
    """Fit every job (batched forward passes) and check it; see the module docstring."""
    n = len(jobs)
    params = BodyPose(global_orient=np.stack([j.global_orient for j in jobs]),
                      body_pose=np.stack([j.body_pose for j in jobs]),
                      betas=np.stack([j.betas for j in jobs]), transl=np.zeros((n, 3)))
    verts = np.zeros((n, poser.num_vertices, 3))
    joints = np.zeros((n, 55, 3))
    transl = np.full((n, 3), np.nan)
    fitter = _Fitter(poser, scene)
    groups: dict[str, list[int]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault(ARCHETYPES[job.archetype].fit, []).append(i)
    for method, rows in groups.items():
        rows = np.asarray(rows)
        sub = params.take(rows)
        if method in ("sit", "reach", "kneel", "lie", "sit_table"):
            group = [jobs[i] for i in rows]
            if method != "reach":
                pose, orient, v, j, t = fitter.solve("sit" if method == "sit_table" else method,
                                                     group, sub)
            stages = {"sit_table": ("arms", "sit"), "reach": ("reach",)}.get(method, ())
            if method == "reach":  # first the bend at the spine, then each arm on its own
                pose, orient, v, j, t = fitter.solve("bend", group, sub)
            for stage in stages:  # sit_table: the arms onto the table, then the legs again
                sub.body_pose, sub.global_orient = pose.astype(np.float32), orient
                pose, orient, v, j, t = fitter.solve(stage, group, sub)
            params.body_pose[rows] = pose
            params.global_orient[rows] = orient
        else:
            v, j = poser.forward(sub)
            t = np.stack([fitter.place(method, jobs[i], v[k], j[k]) for k, i in enumerate(rows)])
        verts[rows], joints[rows], transl[rows] = v, j, t

    ok = np.zeros(n, bool)
    reason = ["" for _ in range(n)]
    depth = np.full(n, np.nan)
    for i, job in enumerate(jobs):
        if not np.isfinite(transl[i]).all():
            reason[i] = "placement failed"
            continue
        verts[i] += transl[i]
        joints[i] += transl[i]
        reason[i], depth[i] = fitter.check_depth(job, verts[i])
        ok[i] = reason[i] == ""
    params.transl[:] = np.nan_to_num(transl).astype(np.float32)
    return FitResult(params, verts, joints, ok, reason, depth)


class _Fitter:
    def __init__(self, poser: BodyPoser, scene: Scene):
        self.poser = poser
        self.scene = scene
        self.masks = poser.part_masks
        self.floor = scene.objects_of_kind("floor")[0]

    # ----------------------------------------------------------------------------------------
    # placement by translation

    def place(self, method: str, job: Job, v: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Translation (3,) that places body ``v`` (joints ``j``) for ``job``; NaN if impossible."""
        spot = self.scene.spots[job.spot]
        fail = np.full(3, np.nan)
        if method in ("floor", "kneel"):
            t = spot.position - j[0]
            t[1] = -v[:, 1].min()
            return t
        boxes = self.scene.object_boxes(spot.object)
        fwd = spot.forward
        if method == "lean":
            across = np.array([fwd[2], 0.0, -fwd[0]])
            t = spot.position + fwd * 0.6 + across * (job.u[0] - 0.5) * 0.2 - j[0]
            t[1] = -v[:, 1].min() + 0.002
            d = sweep_distance(v + t, boxes, -fwd)
            if not np.isfinite(d):
                return fail
            t += -fwd * d
            t[1] -= 0.002
            return t
        if method == "lie":
            return self._place_lie(job, spot, boxes, v, j)
        if method in ("sit", "arms"):
            return self._place_sit(job, spot, boxes, v)
        if method in ("reach", "bend"):
            return self._place_reach(job, spot, boxes, v, j)
        raise ValueError(method)

    def _place_sit(self, job, spot, boxes, v) -> np.ndarray:
        fwd = spot.forward
        seat = v[self.masks["pelvis"] | self.masks["thighs"]]
        bottom = seat[:, 1].min()
        buttocks = v[self.masks["pelvis"]]
        anchor = buttocks[buttocks[:, 1] < buttocks[:, 1].min() + 0.03].mean(axis=0)
        t = spot.position - anchor
        t[1] = spot.height + _LIFT - bottom
        down = np.array([0.0, -1.0, 0.0])
        if spot.mode in ("back", "rear"):  # drop onto the seat, then slide back to the back
            t += fwd * 0.6 * spot.extent[1]
            d = sweep_distance(v + t, boxes, down)
            if not np.isfinite(d) or d > 0.2:
                return np.full(3, np.nan)
            t[1] -= d
            d = sweep_distance(v + t, boxes, -fwd)
            t -= fwd * (d if np.isfinite(d) else 0.0)
            if spot.mode == "rear":  # ... and forward again by 1-5 cm (toilet: not touching)
                t += fwd * (0.01 + 0.04 * job.u[0])
            return t
        if spot.mode == "edge":  # slide back until the calves touch the side, then drop
            t += fwd * 0.4
            d = sweep_distance(v + t, boxes, -fwd)
            if not np.isfinite(d):
                return np.full(3, np.nan)
            t += -fwd * (d - 0.05 * job.u[0])
        else:  # centre
            t += fwd * (job.u[0] - 0.5) * 0.04
        d = sweep_distance(v + t, boxes, down)
        if not np.isfinite(d) or d > 0.2:
            return np.full(3, np.nan)
        t[1] -= d
        return t

    def _place_lie(self, job, spot, boxes, v, j) -> np.ndarray:
        head = spot.forward
        across = np.array([head[2], 0.0, -head[0]])
        rel = v - j[0]
        along_v, across_v = rel @ head, rel @ across
        half_across, half_along = spot.extent
        lo, hi = -half_across - across_v.min(), half_across - across_v.max()
        o = lo + (hi - lo) * job.u[0] if hi >= lo else -(across_v.min() + across_v.max()) / 2
        if spot.mode == "front":  # close to the backrest (1-5 cm); may overhang the front edge
            yaw = self.scene.boxes.yaws[self.scene.objects[spot.object].parts[0]]
            gap = 0.01 + 0.04 * job.u[0]
            if across @ np.array([np.sin(yaw), 0.0, np.cos(yaw)]) > 0:
                o = -half_across - across_v.min() + gap
            else:
                o = half_across - across_v.max() - gap
        o_l = half_along - along_v.max() - 0.15 * job.u[1]
        t = spot.position + across * o + head * o_l - j[0]
        t[1] = self.scene.part_hi[self.scene.objects[spot.object].parts, 1].max() + _LIFT - (
            v[:, 1].min())  # above the whole piece, then drop (legs may rest on an armrest)
        d = sweep_distance(v + t, boxes, np.array([0.0, -1.0, 0.0]))
        if not np.isfinite(d):
            return np.full(3, np.nan)
        t[1] -= d
        return t

    def _place_reach(self, job, spot, boxes, v, j) -> np.ndarray:
        fwd = spot.forward
        across = np.array([fwd[2], 0.0, -fwd[0]])
        t = spot.position - fwd * 1.0 + across * (2 * job.u[0] - 1) * spot.extent[0] - j[0]
        t[1] = -v[:, 1].min() + 0.005
        d_body = sweep_distance(v + t, boxes, fwd)  # until the body touches the edge
        if not np.isfinite(d_body):
            return np.full(3, np.nan)
        # the wrists reach 4-16 cm over the edge (the palms on the top), unless the body
        # touches the edge first
        wrists = (j[[_WRIST["left"], _WRIST["right"]]] + t) @ fwd
        d_hands = spot.position @ fwd + 0.04 + 0.12 * job.u[1] - wrists.min()
        t += fwd * min(d_body - 0.01, d_hands)
        t[1] -= 0.005
        return t

    # ----------------------------------------------------------------------------------------
    # pose adjustment by secant steps on one parameter per body

    def solve(self, method: str, jobs: list[Job], params: BodyPose):
        """Adjust legs (sit), shoulders (reach, arms: one parameter per arm) or the pitch (kneel,
        lie) of each body; returns (body_pose, global_orient, vertices, joints, transl)."""
        n = len(jobs)
        base = params.body_pose.astype(np.float64)
        if method == "bend":  # start bent forward over low tops (see _reach_bend)
            base = _reach_bend(base, [self.scene.spots[job.spot].height for job in jobs])
        base_orient = params.global_orient.astype(np.float64)
        if method == "lie":  # tilt the head end up about the horizontal axis across the body
            head = np.stack([self.scene.spots[job.spot].forward for job in jobs])
            axis = np.cross(head, [0.0, 1.0, 0.0])
        else:  # pitch about the body's lateral axis (kneel)
            axis = np.stack([[np.cos(job.yaw), 0.0, -np.sin(job.yaw)] for job in jobs])
        facing = np.stack([[np.sin(job.yaw), 0.0, np.cos(job.yaw)] for job in jobs])
        arms = method in ("reach", "arms", "bend")
        sides = ("left", "right")
        k_params = 2 if method in ("reach", "arms") else 1  # each shoulder on its own
        orient = base_orient.copy()
        s = np.zeros((n, k_params))
        s_prev = np.full((n, k_params), np.nan)
        r_prev = np.full((n, k_params), np.nan)
        active = np.arange(n)
        pose = base.copy()
        verts = np.zeros((n, self.poser.num_vertices, 3))
        joints = np.zeros((n, 55, 3))
        transl = np.full((n, 3), np.nan)
        lo, hi = {"sit": (-0.7, 0.8), "reach": (-1.0, 0.9), "arms": (-0.6, 1.2),
                  "bend": (-0.4, 0.8), "kneel": (-0.4, 0.4), "lie": (-0.35, 0.35)}[method]
        torso = self.masks["torso"]
        lower = (self.masks["pelvis"] | self.masks["thighs"] | self.masks["shins"]
                 | self.masks["feet"])
        for _ in range(_MAX_SOLVE_STEPS * (2 if arms else 1)):
            if method in ("kneel", "lie"):  # turn the whole body about `axis`
                turn = Rotation.from_rotvec(axis[active] * s[active, 0, None])
                orient[active] = (turn * Rotation.from_rotvec(base_orient[active])).as_rotvec()
            else:
                pose[active] = _adjusted(method, base[active], s[active])
                if arms:  # palms flat on the top, fingers along the forearms
                    pose[active] = flatten_hands(pose[active], orient[active], facing[active],
                                                 self.poser.parents)
            p = params.take(active)
            p.body_pose = pose[active].astype(np.float32)
            p.global_orient = orient[active].astype(np.float32)
            v, j = self.poser.forward(p)
            verts[active], joints[active] = v, j
            r = np.full((len(active), k_params), np.nan)
            slope = np.ones((len(active), k_params))
            for k, i in enumerate(active):
                t = self.place(method, jobs[i], v[k], j[k])
                transl[i] = t
                if not np.isfinite(t).all():
                    continue
                if method == "kneel":  # shins and feet both on the floor
                    r[k] = v[k][self.masks["shins"], 1].min() - v[k][self.masks["feet"], 1].min()
                    slope[k] = -0.4
                elif method == "lie":  # the torso and the lower body both on the piece
                    boxes = self.scene.object_boxes(self.scene.spots[jobs[i].spot].object)
                    gap = box_signed_distance(v[k] + t, boxes).min(axis=1)
                    r[k] = gap[torso].min() - gap[lower].min()
                    slope[k] = 0.8
                elif method == "sit":
                    r[k] = (v[k][self.masks["feet"], 1] + t[1]).min()
                    thigh = np.linalg.norm(j[k, 4] - j[k, 1])
                    slope[k] = thigh if s[i, 0] >= 0 else 0.3 * thigh + 0.1
                else:  # reach, arms: the lowest vertex of each hand at the height of the top
                    spot = self.scene.spots[jobs[i].spot]
                    top = spot.height if method in ("reach", "bend") else self.scene.part_hi[
                        list(self.scene.objects[spot.target].parts), 1].max()
                    gaps = [(v[k][self.poser.hand_masks[side], 1] + t[1]).min() - top
                            for side in sides]
                    if method == "bend":  # the higher hand down by the bend; the lower
                        r[k, 0] = max(gaps)  # one then swings up (forward) in "reach"
                        slope[k, 0] = -0.6
                        continue
                    for c, side in enumerate(sides):
                        r[k, c] = gaps[c]
                        arm = j[k, _WRIST[side]] - j[k, _SHOULDER[side]]
                        slope[k, c] = max(np.linalg.norm(arm[[0, 2]]), 0.2)
            done = (~np.isfinite(r) | (np.abs(r) < _SOLVE_TOLERANCE)).all(axis=1)
            step = -r / slope
            secant = np.isfinite(r_prev[active]) & (np.abs(r - r_prev[active]) > 1e-6)
            ratio = (s[active] - s_prev[active]) / np.where(secant, r - r_prev[active], 1.0)
            step = np.where(secant, -r * ratio, step)
            step = np.clip(np.nan_to_num(step), -0.3, 0.3)
            s_prev[active], r_prev[active] = s[active], r
            s[active] = np.clip(s[active] + step, lo, hi)
            stuck = (s_prev[active] == s[active]).all(axis=1)
            active = active[~done & ~stuck]
            if len(active) == 0:
                break
        return pose, orient, verts, joints, transl

    # ----------------------------------------------------------------------------------------
    # checks

    def check(self, job: Job, v: np.ndarray) -> str:
        """'' if the fitted body ``v`` (V, 3) passes, else why it fails.

        Only boxes whose bounds come within :data:`CONTACT_THRESHOLD` of the body's bounds can
        be penetrated or touched, so only those are evaluated, at every vertex.
        """
        reason, _ = self.check_depth(job, v)
        return reason

    def check_depth(self, job: Job, v: np.ndarray) -> tuple[str, float]:
        """:meth:`check` and the depth (metres, >= 0) of the deepest vertex."""
        scene = self.scene
        lo, hi = v.min(axis=0), v.max(axis=0)
        gap = aabb_distance(lo[None], hi[None], scene.part_lo, scene.part_hi)
        near = np.flatnonzero(gap <= CONTACT_THRESHOLD)
        # (V, K) signed distances, evaluated only where a vertex is within the threshold of the
        # box's bounds (elsewhere it is farther than that: +inf stands in)
        sd = np.full((len(v), len(near)), np.inf)
        for col, b in enumerate(near):
            close = ((v > scene.part_lo[b] - CONTACT_THRESHOLD)
                     & (v < scene.part_hi[b] + CONTACT_THRESHOLD)).all(axis=1)
            if close.any():
                sd[close, col] = box_signed_distance(v[close], scene.boxes.subset([b]))[:, 0]
        depth = max(0.0, -float(sd.min())) if sd.size else 0.0
        depth = 0.0 if not np.isfinite(depth) else depth
        if depth > PENETRATION_TOLERANCE:
            vertex, col = np.unravel_index(sd.argmin(), sd.shape)
            owner = scene.objects[int(scene.boxes.object_ids[near[col]])]
            return f"penetration: {owner.kind} ({depth * 100:.1f} cm)", depth
        spot = scene.spots[job.spot]
        owners = scene.boxes.object_ids[near]
        for parts, target in ARCHETYPES[job.archetype].contacts:
            mask = np.zeros(len(v), bool)
            for part in parts:
                mask |= self.masks[part]
            obj = {"floor": self.floor, "target": spot.target}.get(target, spot.object)
            cols = owners == obj
            if target == "seat":  # the seat or mattress of the spot's piece, not its arms
                cols &= np.isin(scene.role_array[near], SEAT_ROLES)
            best = sd[np.ix_(mask, cols)].min() if cols.any() else np.inf
            if best > CONTACT_TOLERANCE:
                return f"no contact: {'+'.join(parts)}-{target} ({best * 100:.1f} cm)", depth
        if ARCHETYPES[job.archetype].fit == "lie":  # the torso itself on the mattress/seat
            cols = (owners == spot.object) & np.isin(scene.role_array[near], SEAT_ROLES)
            best = sd[np.ix_(self.masks["torso"], cols)].min() if cols.any() else np.inf
            if best > CONTACT_TOLERANCE:
                return f"no contact: torso-seat ({best * 100:.1f} cm)", depth
        if ARCHETYPES[job.archetype].fit == "reach":  # both hands on the top, not just one
            cols = owners == spot.object
            for side, mask in self.poser.hand_masks.items():
                best = sd[np.ix_(mask, cols)].min() if cols.any() else np.inf
                if best > CONTACT_TOLERANCE:
                    return f"no contact: {side} hand-object ({best * 100:.1f} cm)", depth
                palm = sd[np.ix_(self.poser.palm_masks[side], cols)].min(axis=1)
                if np.median(palm) > PALM_TOLERANCE:  # the palm flat on it, not just a corner
                    return (f"no contact: {side} palm-object (median "
                            f"{np.median(palm) * 100:.1f} cm)"), depth
        return "", depth


def _adjusted(method: str, pose: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Body poses (B, 63) with the adjustment parameters ``s`` (B, k) applied (see module doc;
    sit, bend: k = 1; reach, arms: k = 2, the left and the right shoulder)."""
    pose = pose.copy()
    s = np.asarray(s, dtype=np.float64).reshape(len(pose), -1)
    if method == "bend":  # bend forward at the spine by s (shared by spine1..3); the arms
        for joint in ("spine1", "spine2", "spine3"):  # keep their direction in the world
            compose_joint(pose, joint, "x", s[:, 0] / 3.0)
        compose_joint(pose, "left_shoulder", "x", -s[:, 0])
        compose_joint(pose, "right_shoulder", "x", -s[:, 0])
    elif method == "sit":
        up = np.maximum(s[:, 0], 0.0)
        down = np.minimum(s[:, 0], 0.0)
        for side in ("left", "right"):
            # raise the thighs by `up` keeping the shins' direction; lower them by 0.3 `down`
            compose_joint(pose, f"{side}_hip", "x", -(up + 0.3 * down))
            compose_joint(pose, f"{side}_knee", "x", up + 0.3 * down)
            compose_joint(pose, f"{side}_ankle", "x", -down)  # point the feet
    else:  # reach: swing each arm forward (up) by its s
        compose_joint(pose, "left_shoulder", "x", -s[:, 0])
        compose_joint(pose, "right_shoulder", "x", -s[:, -1])
    return pose


def _reach_bend(pose: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Body poses (B, 63) bent forward at the spine for tops of ``heights`` (B,) metres:
    :data:`_BEND_PER_M` radians per metre below :data:`_BEND_BELOW` (at most
    :data:`_BEND_MAX`), shared by spine1..3, so flat hands reach low tables."""
    pose = pose.copy()
    bend = np.clip(_BEND_PER_M * (_BEND_BELOW - np.asarray(heights)), 0.0, _BEND_MAX) / 3.0
    for joint in ("spine1", "spine2", "spine3"):
        compose_joint(pose, joint, "x", bend)
    return pose


_BEND_BELOW, _BEND_PER_M, _BEND_MAX = 1.0, 3.0, 0.8


#: Joint indices (SMPL-X) of the wrists and shoulders.
_WRIST = {"left": JOINT_INDEX["left_wrist"], "right": JOINT_INDEX["right_wrist"]}
_SHOULDER = {"left": JOINT_INDEX["left_shoulder"], "right": JOINT_INDEX["right_shoulder"]}


