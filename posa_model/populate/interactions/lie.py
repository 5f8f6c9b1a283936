"""Lying on a bed or a long sofa, on the back or the side, the head at the head end.

Fitting: the body turned so that its head points to the spot's head end, centred on its lane,
the top of the head :data:`HEAD_GAP` from the head end; the lowest point of the trunk on the
mattress. Where the head lands on something higher than the mattress (a pillow), the body is
tilted about its lateral axis through the pelvis so that the head rests on it. Required
contacts: the trunk and the hips within 3 cm of the bed (or sofa), the legs within 5 cm: the
whole body lies on it, nothing hangs over its edge.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ...body import BodyPose
from ...body.joints import JOINT_INDEX
from ...scene.objects import piece_members
from ..spots import Spot
from ..variety import jitter_joints, mirror, turn_joint
from .base import FitContext, Fitted, Interaction, TouchSpec, rotate_xz, yaw_matrix

__all__ = ["INTERACTION", "Lie"]

#: The top of the head ends this far (m) from the bed's head end; a tall person on a short
#: bed moves up to MIN_HEAD_GAP rather than leave the feet over the foot end.
HEAD_GAP = 0.12
MIN_HEAD_GAP = 0.03
#: A lying person has at least this share of their vertices over the bed or sofa.
ON_IT = 0.95
_HEAD = JOINT_INDEX["head"]


class Lie(Interaction):
    name = "lie"
    spot = "bed"
    presets = ("lie_back", "lie_side")
    description = "lying on a bed or a sofa, on the back or the side, head on the pillow"
    touches = (TouchSpec("trunk on it", ("torso",), "spot", 0.03, up=True),
               TouchSpec("hips on it", ("pelvis", "buttocks"), "spot", 0.03, up=True),
               TouchSpec("legs on it", ("thighs", "shins", "feet"), "spot", 0.05, up=True))
    weight = 1.0
    order = 20

    def extra_checks(self, ctx: FitContext, vertices: np.ndarray, joints: np.ndarray,
                     spot: Spot) -> tuple[dict, list[str]]:
        """Fully on it: at least :data:`ON_IT` of the body over the piece's footprint (the
        convex hull, seen from above, of the spot's object and the parts of its piece)."""
        piece = piece_members(ctx.objects.values(), spot.object)
        if not piece:
            return {}, []
        from scipy.spatial import Delaunay

        footprint = Delaunay(np.concatenate([o.vertices[:, [0, 2]] for o in piece]))
        share = float((footprint.find_simplex(vertices[:, [0, 2]]) >= 0).mean())
        failed = [] if share >= ON_IT else [
            f"{100 * (1 - share):.0f}% of the body is off the {spot.object} (at most "
            f"{100 * (1 - ON_IT):.0f}%)"]
        return {"share on it": share}, failed

    def vary(self, rng: np.random.Generator, pose: BodyPose, spots: list[Spot]) -> dict:
        b = len(pose)
        jitter_joints(rng, pose, {"neck": 4.0, "head": 8.0})
        back = np.array([n == "lie_back" for n in pose.names])
        knee_up = back & (rng.random(b) < 0.3)  # one knee up, its foot flat on the mattress
        side = np.where(rng.random(b) < 0.5, "left", "right")
        for s in ("left", "right"):
            up = knee_up & (side == s)
            turn_joint(pose, f"{s}_hip", "x", -np.deg2rad(45.0) * up)
            turn_joint(pose, f"{s}_knee", "x", np.deg2rad(90.0) * up)
            turn_joint(pose, f"{s}_ankle", "x", -np.deg2rad(35.0) * up)
        return {}

    def _face_out(self, ctx: FitContext, pose: BodyPose, spots: list[Spot]) -> None:
        """Someone on their side in one lane of a shared bed faces its edge, not the other
        lane: the pose is mirrored (the other side) where its front points inwards."""
        sideways = [k for k, n in enumerate(pose.names) if n == "lie_side"]
        if not sideways:
            return
        joints = ctx.joints(pose.take(sideways))
        flip = []
        for j, k in enumerate(sideways):
            spot = spots[k]
            head = joints[j][_HEAD] - joints[j][0]
            yaw = spot.yaw - np.arctan2(head[0], head[2])
            hips = joints[j][JOINT_INDEX["left_hip"]] - joints[j][JOINT_INDEX["right_hip"]]
            front = rotate_xz(np.cross(hips, head), yaw)  # the body's front, world
            if front @ spot.inward > 0:
                flip.append(k)
        mirror(pose, flip)

    def fit(self, ctx: FitContext, pose: BodyPose, spots: list[Spot],
            options: dict) -> Fitted:
        parts = ctx.parts
        trunk = parts.mask("torso", "pelvis")
        self._face_out(ctx, pose, spots)
        vertices, joints = ctx.vertices(pose), ctx.joints(pose)
        yaw = np.zeros(len(pose))
        translation = np.zeros((len(pose), 3))
        for k, spot in enumerate(spots):
            head = joints[k][_HEAD] - joints[k][0]
            yaw[k] = spot.yaw - np.arctan2(head[0], head[2])
            v = rotate_xz(vertices[k], yaw[k])
            f = spot.facing
            lateral = np.array([f[2], 0.0, -f[0]])
            end = (spot.position + f * spot.back) @ f
            t = np.zeros(3)
            length = (v @ f).max() - (v @ f).min()
            over = length + HEAD_GAP - float(spot.extent[1])  # the feet past the foot end
            gap = HEAD_GAP - float(np.clip(over, 0.0, HEAD_GAP - MIN_HEAD_GAP))
            t += f * (end - gap - (v @ f).max())
            t += lateral * ((spot.position - v.mean(axis=0)) @ lateral)
            t[1] = spot.position[1] - v[trunk, 1].min() + 0.004
            translation[k] = t
            tilt = self._pillow_tilt(ctx, v + t, joints[k], yaw[k], t, spot)
            if tilt > 0:  # raise the head end about the lateral axis through the pelvis
                axis = yaw_matrix(-yaw[k]) @ np.cross(f, [0.0, 1.0, 0.0])  # f x up, body frame
                turned = Rotation.from_rotvec(axis * tilt) * Rotation.from_rotvec(
                    pose.global_orient[k].astype(np.float64))
                pose.global_orient[k] = turned.as_rotvec()
        if len(pose):
            vertices = ctx.vertices(pose)
            for k, spot in enumerate(spots):  # put the trunk back down after tilting
                v = rotate_xz(vertices[k], yaw[k])
                translation[k][1] = spot.position[1] - v[trunk, 1].min() + 0.004
        touches = [self.contact_touches(parts, s) for s in spots]
        return Fitted(pose, yaw, translation, touches, [None] * len(spots))

    def _pillow_tilt(self, ctx: FitContext, placed: np.ndarray, joints: np.ndarray,
                     yaw: float, t: np.ndarray, spot: Spot) -> float:
        """The angle (rad) that lifts the head onto what lies under it (a pillow): the height
        of the surface under the head above the mattress, over the pelvis-to-head distance."""
        head = rotate_xz(joints[_HEAD], yaw) + t
        pelvis = rotate_xz(joints[0], yaw) + t
        column = np.array([[head[0], y, head[2]] for y in np.arange(spot.position[1] + 0.25,
                                                                     spot.position[1], -0.01)])
        inside = ctx.grid.lookup(column) <= 0.5 * float(ctx.grid.spacing.min())
        if not inside.any():
            return 0.0
        rise = column[int(np.argmax(inside)), 1] - spot.position[1]
        reach = max(np.linalg.norm((head - pelvis)[[0, 2]]), 0.3)
        return float(np.arctan2(max(rise, 0.0), reach))


INTERACTION = Lie()
