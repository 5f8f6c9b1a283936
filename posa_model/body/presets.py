"""Named pose presets for any SMPL-X-format body model (the real SMPL-X or the stand-in): the
numbers. :func:`posa_model.body.pose.get_preset` (and ``BodyPose.from_preset``) makes of one a
one-body :class:`~.pose.BodyPose` named after it.

A preset is SMPL-X's ``global_orient`` (3,) and ``body_pose`` (63,) = 21 body joints x 3, both
axis-angle (radians), each joint's rotation expressed in its parent's frame; shape, hands and
face at zero. In the rest frame (+y up, the body facing +z, its left at +x) the signs are:

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

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import UnknownNameError
from .joints import JOINT_INDEX, NUM_BODY_JOINTS

__all__ = ["PRESET_DESCRIPTIONS", "preset_arrays", "preset_names"]


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


def _preset(name: str, description: str, orient=(0.0, 0.0, 0.0),
            **joints) -> tuple[str, str, tuple[np.ndarray, np.ndarray]]:
    return name, description, (np.asarray(orient, dtype=float), _body_pose(**joints))


# Sitting: thighs horizontal (hip flexion 90), shins vertical (knee 90), forearms on the thighs.
_SIT_ARMS = _arms_down(abduction=4.0, forward=20.0, elbow=18.0, inward=18.0)
# Sofa: trunk reclined 20 degrees, thighs 10 degrees above horizontal (knees above the hips),
# shins 30 degrees forward of vertical (feet forward), feet flat.
_RECLINE = 20.0
_LOW_HIP = -(90.0 + 10.0 - _RECLINE)
_LOW_KNEE = 100.0 - 30.0
_LOW_ANKLE = _RECLINE - _LOW_HIP - _LOW_KNEE  # orient + hip + knee + ankle = 0: feet flat

_TABLE = tuple(
    p
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
)
#: name -> (global_orient (3,), body_pose (63,)) float64 axis-angle (use :func:`preset_arrays`).
_ARRAYS: dict[str, tuple[np.ndarray, np.ndarray]] = {name: arrays for name, _, arrays in _TABLE}
#: name -> what the preset shows, in words.
PRESET_DESCRIPTIONS: dict[str, str] = {name: text for name, text, _ in _TABLE}


def preset_names() -> tuple[str, ...]:
    """Names of the presets, in a stable order."""
    return tuple(PRESET_DESCRIPTIONS)


def preset_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the preset's ``global_orient`` (3,) and ``body_pose`` (63,) (float64 radians).

    Raises:
        UnknownNameError: (also a ``ValueError``) for an unknown name, listing the valid ones.
    """
    if not isinstance(name, str) or name not in _ARRAYS:
        raise UnknownNameError(
            f"pose preset: expected one of {', '.join(_ARRAYS)}, found {name!r}"
        )
    orient, body_pose = _ARRAYS[name]
    return orient.copy(), body_pose.copy()
