"""Leaning with the back against a wall, feet on the floor a step in front of it.

Fitting: facing away from the wall; the soles on the floor; moved back until the back (torso
behind its middle, buttocks, head) is :data:`GAP` from the wall. Required contacts: each sole
within 3 cm of the floor, the back within 3 cm of the wall.
"""

from __future__ import annotations

import numpy as np

from ...body import BodyPose
from ...classes import CLASS_ID
from ..spots import LEAN_CLEARANCE, Spot
from ..variety import jitter_joints, turn_joint
from .base import FLOOR, FitContext, Fitted, Interaction, TouchSpec, rotate_xz
from .stand import on_the_floor

__all__ = ["INTERACTION", "Lean"]

GAP = 0.005
WALL = frozenset({CLASS_ID["wall"]})


class Lean(Interaction):
    name = "lean"
    spot = "wall"
    presets = ("lean_back",)
    description = "leaning with the back against a wall, feet on the floor"
    touches = (TouchSpec("back on the wall", ("back", "buttocks"), WALL, 0.03),
               TouchSpec("left foot on the floor", ("left_sole",), FLOOR, 0.03),
               TouchSpec("right foot on the floor", ("right_sole",), FLOOR, 0.03))
    weight = 0.6
    order = 35

    def vary(self, rng: np.random.Generator, pose: BodyPose, spots: list[Spot]) -> dict:
        b = len(pose)
        jitter_joints(rng, pose)
        jitter_joints(rng, pose, {"left_shoulder": 6.0, "right_shoulder": 6.0,
                                  "left_elbow": 10.0, "right_elbow": 10.0})
        apart = np.deg2rad(rng.uniform(0.0, 8.0, b))  # feet apart
        turn_joint(pose, "left_hip", "z", apart)
        turn_joint(pose, "right_hip", "z", -apart)
        return {"turn": np.deg2rad(rng.uniform(-10.0, 10.0, b))}

    def fit(self, ctx: FitContext, pose: BodyPose, spots: list[Spot],
            options: dict) -> Fitted:
        soles = ctx.parts.mask("left_sole", "right_sole")
        back = ctx.parts.mask("back", "buttocks", "head")
        vertices, joints = ctx.vertices(pose), ctx.joints(pose)
        yaw = np.array([s.yaw for s in spots]) + options["turn"]
        translation = np.zeros((len(pose), 3))
        for k, spot in enumerate(spots):
            v = rotate_xz(vertices[k], yaw[k])
            t = on_the_floor(v, soles, spot, rotate_xz(joints[k][0], yaw[k]))
            f = spot.facing
            wall = (spot.position - f * LEAN_CLEARANCE) @ f
            t += f * (wall + GAP - ((v[back] @ f).min() + t @ f))
            translation[k] = t
        touches = [self.contact_touches(ctx.parts, s) for s in spots]
        return Fitted(pose, yaw, translation, touches, [None] * len(spots))


INTERACTION = Lean()
