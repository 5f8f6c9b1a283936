"""The synthetic bodies' model: posing batches, body parts, and the population's sizes.

:class:`BodyPoser` pairs a :class:`~posa_model.body.BodyModel` (the stand-in or a real model)
with its :class:`~posa_model.body.BodyParts` and poses :class:`~posa_model.body.BodyPose`
batches through :func:`posa_model.body.pose_body`, the project's one posing function.
"""

from __future__ import annotations

import numpy as np

from ..body import BodyModel, BodyParts, BodyPose, pose_body
from ..body.parts import PART_JOINTS, PART_NAMES
from .furniture import BodyDims

__all__ = ["NUM_BETAS", "PART_JOINTS", "PART_NAMES", "BodyPoser"]

NUM_BETAS = 10


class BodyPoser:
    """Poses batches of one body model; ``parts`` its :class:`BodyParts`, with shortcuts
    ``part_of_vertex`` (V,) (index into :data:`PART_NAMES`), ``part_masks`` (name -> (V,) bool),
    ``hand_masks`` / ``palm_masks`` (side -> (V,) bool) and the kinematic tree ``parents``
    (55,)."""

    def __init__(self, model: BodyModel, chunk: int = 64):
        self.model = model
        self.chunk = chunk
        self.faces = model.faces
        self.num_vertices = model.num_vertices
        self.parts = BodyParts.from_model(model)
        self.part_of_vertex = self.parts.part_of_vertex
        self.part_masks = self.parts.masks
        self.hand_masks = {s: self.parts.regions[f"{s}_hand"] for s in ("left", "right")}
        self.palm_masks = {s: self.parts.regions[f"{s}_palm"] for s in ("left", "right")}
        self.parents = model.parents.cpu().numpy().astype(np.int64)
        self.num_betas = min(NUM_BETAS, int(model.num_betas))
        self.j_regressor = model.j_regressor.cpu().numpy().astype(np.float64)

    def forward(self, pose: BodyPose) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (B, V, 3) and the 55 joints (B, 55, 3), float64, SMPL-X world."""
        posed = pose_body(self.model, pose, chunk=self.chunk)
        return posed.vertices.astype(np.float64), posed.joints.astype(np.float64)

    def dims(self, presets) -> BodyDims:
        """Sizes of the mean body (betas 0) in the ``sit``, ``stand`` and ``lie_back`` presets."""
        v, _ = self.forward(BodyPose.concatenate([presets["sit"], presets["stand"],
                                                  presets["lie_back"]]))
        seat = self.part_masks["pelvis"] | self.part_masks["thighs"]
        feet = self.part_masks["feet"]
        sit = v[0]
        seat_height = sit[seat, 1].min() - sit[feet, 1].min()
        hips = sit[seat & (sit[:, 1] < sit[seat, 1].min() + 0.12)]
        hip_width = hips[:, 0].max() - hips[:, 0].min()
        arms = sit[self.part_masks["arms"] | self.part_masks["hands"]]
        arm_width = np.ptp(arms[:, 0])
        stature = v[1, :, 1].max() - v[1, :, 1].min()
        lying = np.ptp(v[2, :, 2])
        return BodyDims(float(seat_height), float(hip_width), float(stature), float(lying),
                        float(arm_width))
