"""Body parts of an SMPL-X-format mesh: which vertices are the pelvis, thighs, feet, back, hands.

Every vertex belongs to the part of the joint with its largest skinning weight (:data:`PART_JOINTS`
groups the 55 joints into :data:`PART_NAMES`), so parts work on any SMPL-X-format model (the
real SMPL-X and the stand-in) without a vertex table. Regions that cut across parts are taken
from the rest pose (T-pose, +y up, facing +z): the *back* is the torso's half behind its
middle (z below the torso's median z), the *buttocks* the pelvis and thigh vertices behind the
hip joints and above the gluteal fold (:data:`GLUTEAL_FOLD` below the hip joints), the *palms*
the lower half of each hand (SMPL-X's palms face down, -y, at rest), the *soles* the lowest
2 cm of each foot.

    >>> parts = BodyParts.from_model(model)       # model: posa_model.body.BodyModel
    >>> parts.masks["feet"], parts.regions["buttocks"]      # (V,) bool each
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputShapeError, UnknownNameError
from .joints import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS

__all__ = ["GLUTEAL_FOLD", "PART_JOINTS", "PART_NAMES", "REGION_NAMES", "BodyParts",
           "part_of_vertex"]

#: Metres below the hip joints (rest pose) where the buttocks end and the thighs begin.
GLUTEAL_FOLD = 0.12

#: Body parts for contact statistics and checks, from the dominant skinning joint.
PART_JOINTS: dict[str, tuple[str, ...]] = {
    "head": ("neck", "head", "jaw", "left_eye_smplhf", "right_eye_smplhf"),
    "torso": ("spine1", "spine2", "spine3", "left_collar", "right_collar"),
    "pelvis": ("pelvis",),
    "thighs": ("left_hip", "right_hip"),
    "shins": ("left_knee", "right_knee"),
    "feet": ("left_ankle", "right_ankle", "left_foot", "right_foot"),
    "arms": ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow"),
    "hands": ("left_wrist", "right_wrist") + tuple(
        n for n in JOINT_INDEX if n.startswith(("left_", "right_"))
        and n[n.index("_") + 1:].rstrip("123") in ("index", "middle", "pinky", "ring", "thumb")
    ),
}
PART_NAMES: tuple[str, ...] = tuple(PART_JOINTS)
#: Regions across parts (see the module docstring).
REGION_NAMES: tuple[str, ...] = ("back", "buttocks", "left_palm", "right_palm", "left_sole",
                                 "right_sole", "left_hand", "right_hand")


def part_of_vertex(lbs_weights: np.ndarray) -> np.ndarray:
    """(V,) int64 index into :data:`PART_NAMES` of each vertex, from (V, 55) skinning weights."""
    weights = np.asarray(lbs_weights)
    if weights.ndim != 2 or weights.shape[1] != NUM_JOINTS:
        raise InputShapeError(f"lbs_weights: expected (V, {NUM_JOINTS}), found {weights.shape}")
    joint_part = np.full(NUM_JOINTS, -1, np.int64)
    for k, names in enumerate(PART_JOINTS.values()):
        for name in names:
            joint_part[JOINT_INDEX[name]] = k
    return joint_part[weights.argmax(axis=1)]


@dataclass
class BodyParts:
    """Per-vertex parts and regions of one body mesh (V vertices).

    ``part_of_vertex`` (V,) int64 index into :data:`PART_NAMES`; ``masks`` {part: (V,) bool};
    ``regions`` {region: (V,) bool} for :data:`REGION_NAMES`; ``side`` (V,) str "left",
    "right" or "" (the side of the dominant joint).
    """

    part_of_vertex: np.ndarray
    masks: dict[str, np.ndarray]
    regions: dict[str, np.ndarray]
    side: np.ndarray

    @classmethod
    def from_arrays(cls, lbs_weights: np.ndarray, rest_vertices: np.ndarray,
                    rest_joints: np.ndarray) -> BodyParts:
        """From (V, 55) skinning weights, (V, 3) rest vertices and (55, 3) rest joints (T-pose,
        SMPL-X frame)."""
        weights = np.asarray(lbs_weights, np.float64)
        rest = np.asarray(rest_vertices, np.float64)
        joints = np.asarray(rest_joints, np.float64)
        if rest.shape != (len(weights), 3) or joints.shape != (NUM_JOINTS, 3):
            raise InputShapeError(f"BodyParts: expected rest vertices ({len(weights)}, 3) and "
                                  f"joints ({NUM_JOINTS}, 3), found {rest.shape} and "
                                  f"{joints.shape}")
        parts = part_of_vertex(weights)
        masks = {name: parts == k for k, name in enumerate(PART_NAMES)}
        dominant = weights.argmax(axis=1)
        side = np.array([JOINT_NAMES[j].split("_")[0] if JOINT_NAMES[j].startswith(
            ("left_", "right_")) else "" for j in dominant])
        regions: dict[str, np.ndarray] = {}
        torso = masks["torso"]
        regions["back"] = torso & (rest[:, 2] < np.median(rest[torso, 2]))
        hips = joints[[JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]]].mean(axis=0)
        regions["buttocks"] = ((masks["pelvis"] | masks["thighs"]) & (rest[:, 2] < hips[2])
                               & (rest[:, 1] > hips[1] - GLUTEAL_FOLD))
        for s in ("left", "right"):
            hand = masks["hands"] & (side == s)
            regions[f"{s}_hand"] = hand
            mid = np.median(rest[hand, 1]) if hand.any() else 0.0
            regions[f"{s}_palm"] = hand & (rest[:, 1] < mid)
            foot = masks["feet"] & (side == s)
            low = rest[foot, 1].min() if foot.any() else 0.0
            regions[f"{s}_sole"] = foot & (rest[:, 1] < low + 0.02)
        return cls(parts, masks, regions, side)

    @classmethod
    def from_model(cls, model) -> BodyParts:
        """The parts of a :class:`~.model.BodyModel` (its full mesh, rest pose, mean shape)."""
        import torch

        with torch.no_grad():
            rest_joints = model.joint_template.cpu().numpy()
        full = model._full("v_template").detach().cpu().numpy()
        weights = model.lbs_weights.detach().cpu().numpy()
        if len(weights) != len(full):
            raise InputShapeError("BodyParts.from_model: expected a full-mesh model, found a "
                                  "subset (BodyModel.subset)")
        return cls.from_arrays(weights, full, rest_joints)

    def mask(self, *names: str) -> np.ndarray:
        """(V,) bool union of parts and regions called ``names``."""
        out = np.zeros(len(self.part_of_vertex), bool)
        for name in names:
            if name in self.masks:
                out |= self.masks[name]
            elif name in self.regions:
                out |= self.regions[name]
            else:
                raise UnknownNameError(f"body part: expected one of "
                                       f"{', '.join(PART_NAMES + REGION_NAMES)}, found {name!r}")
        return out
