"""Hands flat on a surface: the wrists turned so that the palms face straight down.

Used by the synthetic data (reaching bodies' palms on a table) and by populating (sitters'
hands on a table). Frame: SMPL-X world (+y up), axis-angle radians.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from .joints import JOINT_INDEX

__all__ = ["MAX_WRIST_TURN", "flatten_hands"]

_WRIST = {"left": JOINT_INDEX["left_wrist"], "right": JOINT_INDEX["right_wrist"]}
#: In the rest T-pose the fingers point along +x (left hand) / -x (right) and palms face -y.
_REST_FINGERS = {"left": np.array([1.0, 0.0, 0.0]), "right": np.array([-1.0, 0.0, 0.0])}
_DOWN = np.array([0.0, -1.0, 0.0])
#: A wrist turns by at most this much (radians) to put the palm flat.
MAX_WRIST_TURN = np.deg2rad(90.0)


def flatten_hands(pose: np.ndarray, orient: np.ndarray, facing: np.ndarray,
                  parents: np.ndarray) -> np.ndarray:
    """Body poses (B, 63) with both wrists turned so the palms face straight down.

    Each hand's fingers point along the horizontal direction of its current fingers (``facing``
    (B, 3), the body's horizontal forward, where those are near vertical), palm normal -y, in the
    SMPL-X world (+y up). ``orient`` (B, 3) axis-angle global orientation, ``parents`` (55,) the
    kinematic tree. A wrist turns by at most :data:`MAX_WRIST_TURN` (the rest of the way is
    left undone rather than bending the wrist unnaturally).
    """
    pose = np.asarray(pose, dtype=np.float64).copy()
    if len(pose) == 0:
        return pose
    for side in ("left", "right"):
        wrist = _WRIST[side]
        chain = []
        joint = int(parents[wrist])
        while joint > 0:
            chain.append(joint)
            joint = int(parents[joint])
        parent = Rotation.from_rotvec(orient)
        for joint in reversed(chain):  # global rotation of the elbow
            parent = parent * Rotation.from_rotvec(pose[:, 3 * joint - 3: 3 * joint])
        local = Rotation.from_rotvec(pose[:, 3 * wrist - 3: 3 * wrist])
        fingers = (parent * local).apply(_REST_FINGERS[side])
        fingers[:, 1] = 0.0
        norm = np.linalg.norm(fingers, axis=1, keepdims=True)
        fingers = np.where(norm > 0.3, fingers / np.maximum(norm, 1e-9), facing)
        target_frame = np.stack([fingers, np.broadcast_to(_DOWN, fingers.shape),
                                 np.cross(fingers, _DOWN)], axis=2)  # columns
        rest = _REST_FINGERS[side]
        rest_frame = np.stack([rest, _DOWN, np.cross(rest, _DOWN)], axis=1)
        wanted = Rotation.from_matrix(target_frame @ rest_frame.T)  # global hand rotation
        turn = (parent.inv() * wanted * local.inv()).as_rotvec()  # local: turn * local
        angle = np.linalg.norm(turn, axis=1, keepdims=True)
        turn *= np.minimum(1.0, MAX_WRIST_TURN / np.maximum(angle, 1e-12))
        pose[:, 3 * wrist - 3: 3 * wrist] = (Rotation.from_rotvec(turn) * local).as_rotvec()
    return pose
