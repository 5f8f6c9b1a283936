"""Standing on the floor: arms relaxed, on the hips or held in front; weight on one leg.

Fitting: the heading is the spot's (towards the room's middle) turned by up to 60 degrees
either way; the soles on the floor (:data:`SINK` into it), the pelvis over the spot. Required
contacts: each sole within 3 cm of the floor.
"""

from __future__ import annotations

import numpy as np

from ...body import BodyPose
from ..spots import Spot
from ..variety import jitter_joints, turn_joint
from .base import FLOOR, FitContext, Fitted, Interaction, TouchSpec, rotate_xz

__all__ = ["INTERACTION", "Stand", "on_the_floor"]

SINK = 0.004


def on_the_floor(vertices: np.ndarray, soles: np.ndarray, spot: Spot,
                 anchor: np.ndarray) -> np.ndarray:
    """(3,) translation putting (V, 3) vertices (already turned) with their lowest sole point
    :data:`SINK` below the floor at the spot and ``anchor`` (3,) over the spot horizontally."""
    t = spot.position - anchor
    t[1] = spot.floor - vertices[soles, 1].min() - SINK
    return t


class Stand(Interaction):
    name = "stand"
    spot = "floor"
    presets = ("stand",)
    description = "standing on the floor: arms relaxed, on the hips or held in front"
    touches = (TouchSpec("left foot on the floor", ("left_sole",), FLOOR, 0.03),
               TouchSpec("right foot on the floor", ("right_sole",), FLOOR, 0.03))
    weight = 1.0
    order = 30

    def vary(self, rng: np.random.Generator, pose: BodyPose, spots: list[Spot]) -> dict:
        b = len(pose)
        jitter_joints(rng, pose)
        jitter_joints(rng, pose, {"left_shoulder": 6.0, "right_shoulder": 6.0,
                                  "left_elbow": 8.0, "right_elbow": 8.0})
        arms = rng.integers(0, 3, b)  # 0 relaxed, 1 hands on the hips, 2 hands held in front
        hips, front = arms == 1, arms == 2
        for side, sign in (("left", 1.0), ("right", -1.0)):
            turn_joint(pose, f"{side}_shoulder", "z", sign * np.deg2rad(35.0) * hips)
            turn_joint(pose, f"{side}_elbow", "y", -sign * np.deg2rad(95.0) * hips)
            turn_joint(pose, f"{side}_shoulder", "x", -np.deg2rad(25.0) * front)
            turn_joint(pose, f"{side}_elbow", "y", -sign * np.deg2rad(80.0) * front)
        weight = np.deg2rad(rng.uniform(0.0, 10.0, b)) * rng.choice([-1.0, 1.0], b)
        relaxed = np.where(weight > 0, "left", "right")  # the relaxed knee bends a little
        for side in ("left", "right"):
            bend = np.abs(weight) * (relaxed == side)
            turn_joint(pose, f"{side}_hip", "x", -bend)
            turn_joint(pose, f"{side}_knee", "x", 2 * bend)
            turn_joint(pose, f"{side}_ankle", "x", -bend)
        turn = np.deg2rad(rng.uniform(-60.0, 60.0, b))
        return {"turn": turn}

    def fit(self, ctx: FitContext, pose: BodyPose, spots: list[Spot],
            options: dict) -> Fitted:
        soles = ctx.parts.mask("left_sole", "right_sole")
        vertices, joints = ctx.vertices(pose), ctx.joints(pose)
        yaw = np.array([s.yaw for s in spots]) + options["turn"]
        translation = np.zeros((len(pose), 3))
        for k, spot in enumerate(spots):
            v = rotate_xz(vertices[k], yaw[k])
            pelvis = rotate_xz(joints[k][0], yaw[k])
            translation[k] = on_the_floor(v, soles, spot, pelvis)
        touches = [self.contact_touches(ctx.parts, s) for s in spots]
        return Fitted(pose, yaw, translation, touches, [None] * len(spots))


INTERACTION = Stand()
