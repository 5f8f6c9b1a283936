"""Kneeling on the floor: knees, shins and feet down, upright or sitting back on the heels.

Fitting as standing (:mod:`.stand`), with the lowest shin point on the floor. Required
contact: the shins within 3 cm of the floor.
"""

from __future__ import annotations

import numpy as np

from ...body import BodyPose
from ..spots import Spot
from ..variety import jitter_joints
from .base import FLOOR, FitContext, Fitted, Interaction, TouchSpec, rotate_xz
from .stand import on_the_floor

__all__ = ["INTERACTION", "Kneel"]


class Kneel(Interaction):
    name = "kneel"
    spot = "floor"
    presets = ("kneel",)
    description = "kneeling on the floor: knees, shins and feet on it"
    touches = (TouchSpec("shins on the floor", ("shins",), FLOOR, 0.03),)
    weight = 0.3
    order = 40

    def vary(self, rng: np.random.Generator, pose: BodyPose, spots: list[Spot]) -> dict:
        jitter_joints(rng, pose)
        jitter_joints(rng, pose, {"left_shoulder": 8.0, "right_shoulder": 8.0,
                                  "left_elbow": 10.0, "right_elbow": 10.0})
        return {"turn": np.deg2rad(rng.uniform(-90.0, 90.0, len(pose)))}

    def fit(self, ctx: FitContext, pose: BodyPose, spots: list[Spot],
            options: dict) -> Fitted:
        shins = ctx.parts.mask("shins")
        vertices, joints = ctx.vertices(pose), ctx.joints(pose)
        yaw = np.array([s.yaw for s in spots]) + options["turn"]
        translation = np.zeros((len(pose), 3))
        for k, spot in enumerate(spots):
            v = rotate_xz(vertices[k], yaw[k])
            translation[k] = on_the_floor(v, shins, spot, rotate_xz(joints[k][0], yaw[k]))
        touches = [self.contact_touches(ctx.parts, s) for s in spots]
        return Fitted(pose, yaw, translation, touches, [None] * len(spots))


INTERACTION = Kneel()
