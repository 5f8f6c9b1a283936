"""SMPL-X body models: loading (real model or stand-in), the joint table, and pose presets."""

from __future__ import annotations

from .joints import JOINT_INDEX, JOINT_NAMES, NUM_BODY_JOINTS, NUM_JOINTS, PARENTS
from .loader import GENDERS, load_body_model, standin_path, validate_arrays
from .presets import PRESETS, PosedBody, PosePreset, get_preset, pose_body, preset_names

__all__ = [
    "GENDERS",
    "JOINT_INDEX",
    "JOINT_NAMES",
    "NUM_BODY_JOINTS",
    "NUM_JOINTS",
    "PARENTS",
    "PRESETS",
    "PosePreset",
    "PosedBody",
    "get_preset",
    "load_body_model",
    "pose_body",
    "preset_names",
    "standin_path",
    "validate_arrays",
]
