"""Named pose presets for any SMPL-X-format body model (the real SMPL-X or the stand-in).

A preset is SMPL-X's ``global_orient`` (3,) and ``body_pose`` (63,) = 21 body joints x 3, both
axis-angle (radians, float32), each joint's rotation expressed in its parent's frame. In the rest
frame (+y up, the body facing +z, its left at +x) the signs are:

* hip flexion (thigh forward) is a negative rotation about x; knee flexion (shin back) positive;
* spine flexion (bending forward) is positive about x; a body leaning back is a negative
  ``global_orient`` about x;
* from the T-pose, the left arm (along +x) comes down with a negative rotation about z, the right
  arm (along -x) with a positive one; an arm swings forward with a negative rotation about x once
  it hangs down; elbow flexion (forearm forward) is negative about y on the left, positive on the
  right.

Every preset was checked by rendering it (``docs/presets.png``, made by ``python -m
posa_model.viz``) and by the joint-geometry tests of ``tests/test_presets.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import InputShapeError
from .joints import JOINT_INDEX, NUM_BODY_JOINTS

__all__ = ["PRESETS", "PosePreset", "PosedBody", "get_preset", "pose_body", "preset_names"]


@dataclass(frozen=True, eq=False)
class PosePreset:
    """A named body pose: ``global_orient`` (3,) and ``body_pose`` (63,) axis-angle float32."""

    name: str
    description: str
    global_orient: np.ndarray
    body_pose: np.ndarray

    def __post_init__(self) -> None:
        for field, size in (("global_orient", 3), ("body_pose", NUM_BODY_JOINTS * 3)):
            value = np.array(getattr(self, field), dtype=np.float32).reshape(-1)
            if value.shape != (size,) or not np.isfinite(value).all():
                raise InputShapeError(
                    f"PosePreset {self.name!r}: {field}: expected ({size},) finite, "
                    f"found shape {value.shape}"
                )
            value.flags.writeable = False
            object.__setattr__(self, field, value)

    def full_pose(self) -> np.ndarray:
        """(66,) ``global_orient`` followed by ``body_pose``."""
        return np.concatenate([self.global_orient, self.body_pose])


class PosedBody(NamedTuple):
    """A posed body in the SMPL-X world: ``vertices`` (V, 3) and ``joints`` (55, 3) float32."""

    vertices: np.ndarray
    joints: np.ndarray


# --------------------------------------------------------------------------------------------
# building blocks


def _rot(*steps: tuple[str, float]) -> np.ndarray:
    """Axis-angle of the rotation that applies ``steps`` (axis, degrees) in order, parent frame."""
    total = Rotation.identity()
    for axis, degrees in steps:
        total = Rotation.from_euler(axis, degrees, degrees=True) * total
    return total.as_rotvec()


def _body_pose(**joints: np.ndarray) -> np.ndarray:
    pose = np.zeros((NUM_BODY_JOINTS, 3))
    for name, rotvec in joints.items():
        index = JOINT_INDEX[name]
        if not 1 <= index <= NUM_BODY_JOINTS:
            raise KeyError(f"{name} is not a body_pose joint")
        pose[index - 1] = rotvec
    return pose.reshape(-1)


def _arms_down(
    abduction: float = 18.0, forward: float = 0.0, elbow: float = 8.0, inward: float = 0.0
) -> dict:
    """Both arms hanging ``abduction`` degrees out from the body, swung ``forward``, then turned
    ``inward`` (towards the midline, about the vertical), elbows bent by ``elbow``; degrees, in
    the trunk's frame.
    """
    down = 90.0 - abduction
    return {
        "left_shoulder": _rot(("z", -down), ("x", -forward), ("y", -inward)),
        "right_shoulder": _rot(("z", down), ("x", -forward), ("y", inward)),
        "left_elbow": _rot(("y", -elbow)),
        "right_elbow": _rot(("y", elbow)),
    }


def _preset(name: str, description: str, orient=(0.0, 0.0, 0.0), **joints) -> PosePreset:
    return PosePreset(name, description, np.asarray(orient, dtype=float), _body_pose(**joints))


# Sitting: thighs horizontal (hip flexion 90), shins vertical (knee 90), forearms on the thighs.
_SIT_ARMS = _arms_down(abduction=4.0, forward=20.0, elbow=18.0, inward=18.0)
# Sofa: trunk reclined 20 degrees, thighs 10 degrees above horizontal (knees above the hips),
# shins 30 degrees forward of vertical (feet forward), feet flat.
_RECLINE = 20.0
_LOW_HIP = -(90.0 + 10.0 - _RECLINE)
_LOW_KNEE = 100.0 - 30.0
_LOW_ANKLE = _RECLINE - _LOW_HIP - _LOW_KNEE  # orient + hip + knee + ankle = 0: feet flat

PRESETS: dict[str, PosePreset] = {
    p.name: p
    for p in (
        _preset("t_pose", "SMPL-X rest pose: standing, arms straight out to the sides"),
        _preset(
            "a_pose",
            "standing, arms straight and 45 degrees below horizontal",
            left_shoulder=_rot(("z", -45.0)),
            right_shoulder=_rot(("z", 45.0)),
        ),
        _preset("stand", "standing upright, arms relaxed at the sides", **_arms_down()),
        _preset(
            "sit",
            "upright on a chair: hips and knees at 90 degrees, shins vertical, hands on thighs",
            left_hip=_rot(("x", -90.0)),
            right_hip=_rot(("x", -90.0)),
            left_knee=_rot(("x", 90.0)),
            right_knee=_rot(("x", 90.0)),
            **_SIT_ARMS,
        ),
        _preset(
            "sit_low",
            "deep in a sofa: back reclined 20 degrees, knees above the hips, feet forward",
            orient=_rot(("x", -_RECLINE)),
            left_hip=_rot(("x", _LOW_HIP)),
            right_hip=_rot(("x", _LOW_HIP)),
            left_knee=_rot(("x", _LOW_KNEE)),
            right_knee=_rot(("x", _LOW_KNEE)),
            left_ankle=_rot(("x", _LOW_ANKLE)),
            right_ankle=_rot(("x", _LOW_ANKLE)),
            **_arms_down(abduction=8.0, forward=24.0, elbow=12.0, inward=30.0),
        ),
        _preset(
            "lie_back",
            "lying on the back (supine) along the floor, face up, arms at the sides",
            orient=_rot(("x", -90.0)),
            left_ankle=_rot(("x", 25.0)),  # relaxed feet: toes tilt away from the head
            right_ankle=_rot(("x", 25.0)),
            **_arms_down(abduction=10.0, elbow=5.0),
        ),
        _preset(
            "lie_side",
            "on the right side, left side up, hips and knees slightly bent, lower arm forward",
            orient=_rot(("z", 90.0)),
            left_hip=_rot(("x", -35.0)),
            right_hip=_rot(("x", -25.0)),
            left_knee=_rot(("x", 45.0)),
            right_knee=_rot(("x", 35.0)),
            # top arm resting along the flank; bottom arm forward along the floor
            left_shoulder=_rot(("z", -78.0), ("x", -12.0)),
            right_shoulder=_rot(("y", 80.0), ("x", -20.0)),
            left_elbow=_rot(("y", -12.0)),
            right_elbow=_rot(("y", 20.0)),
        ),
        _preset(
            "lean_back",
            "standing, the whole body tilted back 12 degrees against a wall, arms relaxed",
            orient=_rot(("x", -12.0)),
            left_ankle=_rot(("x", 12.0)),  # feet flat on the floor
            right_ankle=_rot(("x", 12.0)),
            **_arms_down(abduction=14.0, elbow=10.0),
        ),
        _preset(
            "kneel",
            "kneeling upright on both knees, shins and feet on the floor, arms relaxed",
            left_knee=_rot(("x", 90.0)),
            right_knee=_rot(("x", 90.0)),
            left_ankle=_rot(("x", 60.0)),
            right_ankle=_rot(("x", 60.0)),
            **_arms_down(elbow=10.0),
        ),
        _preset(
            "reach_forward",
            "standing, bending forward from the hips, both arms reaching forward and down",
            orient=_rot(("x", 15.0)),
            left_hip=_rot(("x", -15.0)),
            right_hip=_rot(("x", -15.0)),
            spine1=_rot(("x", 6.0)),
            spine2=_rot(("x", 6.0)),
            spine3=_rot(("x", 4.0)),
            left_shoulder=_rot(("z", -82.0), ("x", -70.0)),
            right_shoulder=_rot(("z", 82.0), ("x", -70.0)),
            left_elbow=_rot(("y", -12.0)),
            right_elbow=_rot(("y", 12.0)),
        ),
    )
}


def preset_names() -> tuple[str, ...]:
    """Names of the presets, in a stable order."""
    return tuple(PRESETS)


def get_preset(name: str | PosePreset) -> PosePreset:
    """The preset called ``name`` (a :class:`PosePreset` is returned as is).

    Raises:
        InputShapeError: (also a ``ValueError``) for an unknown name, listing the valid ones.
    """
    if isinstance(name, PosePreset):
        return name
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise InputShapeError(
            f"pose preset: expected one of {', '.join(PRESETS)}, found {name!r}"
        ) from None


def pose_body(model: Any, preset: str | PosePreset, betas=None, transl=None) -> PosedBody:
    """Pose an ``smplx.SMPLX`` model with a preset; hands, face and expression at zero.

    Args:
        model: an ``smplx.SMPLX`` module (e.g. from :func:`load_body_model`).
        preset: a preset name or a :class:`PosePreset`.
        betas: optional (K,) shape coefficients, K <= ``model.num_betas`` (zero-padded).
        transl: optional (3,) translation in metres (SMPL-X world).

    Returns:
        :class:`PosedBody` (a named tuple): vertices (V, 3) and the 55 SMPL-X joints (55, 3),
        float32 numpy, SMPL-X world (+y up, metres).
    """
    import torch

    preset = get_preset(preset)
    ref = model.shapedirs
    kw = {"dtype": ref.dtype, "device": ref.device}

    def row(value, size: int, name: str):
        if value is None:
            return torch.zeros(1, size, **kw)
        arr = torch.as_tensor(np.asarray(value, dtype=np.float64), **kw).reshape(-1)
        if arr.numel() > size or (name == "transl" and arr.numel() != size):
            raise InputShapeError(f"{name}: expected ({size},) values, found {arr.numel()}")
        return torch.nn.functional.pad(arr, (0, size - arr.numel()))[None]

    hand_dim = model.num_pca_comps if getattr(model, "use_pca", False) else 45
    inputs = {
        "betas": row(betas, model.num_betas, "betas"),
        "transl": row(transl, 3, "transl"),
        "global_orient": torch.tensor(preset.global_orient.copy(), **kw)[None],
        "body_pose": torch.tensor(preset.body_pose.copy(), **kw)[None],
        "left_hand_pose": torch.zeros(1, hand_dim, **kw),
        "right_hand_pose": torch.zeros(1, hand_dim, **kw),
        "jaw_pose": torch.zeros(1, 3, **kw),
        "leye_pose": torch.zeros(1, 3, **kw),
        "reye_pose": torch.zeros(1, 3, **kw),
        "expression": torch.zeros(1, model.num_expression_coeffs, **kw),
    }
    with torch.no_grad():
        out = model(**inputs)
    vertices = out.vertices[0].detach().cpu().numpy().astype(np.float32)
    joints = out.joints[0, :55].detach().cpu().numpy().astype(np.float32)
    return PosedBody(vertices, joints)
