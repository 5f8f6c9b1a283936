"""SMPL-X-format bodies: loading (real model or stand-in), the one pose type, the one posing
function, body parts, the joint table and the presets.

    >>> from posa_model.body import BodyPose, load_body_model, pose_body
    >>> model = load_body_model()                          # the stand-in; or an SMPL-X file
    >>> posed = pose_body(model, BodyPose.from_preset("sit"))
    >>> posed.vertices.shape                               # (1, 10475, 3), y-up metres
"""

from __future__ import annotations

from ..assets import standin_path
from .joints import JOINT_INDEX, JOINT_NAMES, NUM_BODY_JOINTS, NUM_JOINTS, PARENTS
from .loader import GENDERS, load_body_model, validate_arrays
from .model import BodyModel, PosedBodies, pose_body
from .parts import PART_NAMES, BodyParts
from .pose import PRESETS, BodyPose, get_preset
from .presets import PRESET_DESCRIPTIONS, preset_names

__all__ = [
    "GENDERS",
    "JOINT_INDEX",
    "JOINT_NAMES",
    "NUM_BODY_JOINTS",
    "NUM_JOINTS",
    "PARENTS",
    "PART_NAMES",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "BodyModel",
    "BodyParts",
    "BodyPose",
    "PosedBodies",
    "get_preset",
    "load_body_model",
    "pose_body",
    "preset_names",
    "standin_path",
    "validate_arrays",
]
