"""Blender bone conventions for SMPL-X joints (pure numpy: no ``bpy``).

SMPL-X poses a joint with an axis-angle vector in its parent's frame, and at rest every joint's
frame is aligned with the world (SMPL-X: +y up). A Blender bone rotates in its own rest frame
``B`` (``Bone.matrix_local``, armature space: the bone's y axis runs head to tail). For a joint
rotation ``R`` given in SMPL-X world axes, the same rotation in Blender's armature axes is
``R' = C R C^T`` with ``C`` = :data:`posa_model.frames.SMPLX_TO_BLENDER`, and the pose bone's
rotation is ``Q = B^T R' B``. For rotation vectors this is ``q = B^T (C r)``: ``C r`` is
:func:`posa_model.frames.smplx_to_blender` applied to the axis, then the axis is expressed in
the bone's rest axes. Because pose bones compose like SMPL-X's kinematic chain
(``M_j = M_parent B_parent^T B_j Q_j``), the armature reproduces SMPL-X's linear blend skinning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Joint whose position a bone with several children points at (pelvis -> spine1, spine3 -> neck,
#: wrists -> middle fingers); the head has none (it points up, like its parent).
PRIMARY_CHILD = {0: 3, 9: 12, 15: -1, 20: 28, 21: 43}
MIN_BONE_LENGTH = 0.01  # metres
LEAF_FRACTION = 0.5  # a leaf bone is this fraction of its parent's length


def bone_tails(heads: np.ndarray, parents: Sequence[int]) -> np.ndarray:
    """(J, 3) tail positions for bones whose heads are the joints ``heads`` (J, 3).

    A bone points at its child joint (or :data:`PRIMARY_CHILD`'s choice); a leaf continues its
    parent's direction. Every bone is at least :data:`MIN_BONE_LENGTH` long.
    """
    heads = np.asarray(heads, dtype=np.float64)
    count = len(heads)
    children: list[list[int]] = [[] for _ in range(count)]
    for joint, parent in enumerate(parents):
        if parent >= 0:
            children[parent].append(joint)
    tails = np.zeros_like(heads)
    length = np.zeros(count)
    for joint in range(count):  # parents come before children in SMPL-X order
        child = PRIMARY_CHILD.get(joint, children[joint][0] if len(children[joint]) == 1 else -1)
        if child >= 0:
            vector = heads[child] - heads[joint]
        elif parents[joint] >= 0:
            parent = parents[joint]
            direction = heads[joint] - heads[parent]
            norm = np.linalg.norm(direction)
            direction = direction / norm if norm > 1e-9 else np.array([0.0, 0.0, 1.0])
            vector = direction * max(LEAF_FRACTION * length[parent], MIN_BONE_LENGTH)
        else:
            vector = np.array([0.0, 0.0, 0.1])
        norm = np.linalg.norm(vector)
        if norm < MIN_BONE_LENGTH:
            vector = (vector / norm if norm > 1e-9 else np.array([0.0, 0.0, 1.0])) * MIN_BONE_LENGTH
        tails[joint] = heads[joint] + vector
        length[joint] = np.linalg.norm(vector)
    return tails


def local_rotation_vectors(rotvecs_smplx: np.ndarray, rest_rotations: np.ndarray) -> np.ndarray:
    """SMPL-X joint rotation vectors (J, 3) -> pose-bone rotation vectors (J, 3) (module doc).

    ``rest_rotations``: (J, 3, 3) bone rest rotations in Blender armature axes.
    """
    from posa_model.frames import smplx_to_blender

    blender_axes = smplx_to_blender(np.asarray(rotvecs_smplx, dtype=np.float64))
    return np.einsum("jik,ji->jk", np.asarray(rest_rotations, dtype=np.float64), blender_axes)


def local_location(translation_smplx: np.ndarray, rest_rotation: np.ndarray) -> np.ndarray:
    """A root translation (3,) in SMPL-X axes -> the root pose bone's location (3,)."""
    from posa_model.frames import smplx_to_blender

    blender = smplx_to_blender(np.asarray(translation_smplx, dtype=np.float64))
    return np.asarray(rest_rotation, dtype=np.float64).T @ blender


def quaternions(rotvecs: np.ndarray) -> np.ndarray:
    """(J, 3) rotation vectors -> (J, 4) unit quaternions w, x, y, z (Blender's order)."""
    rotvecs = np.asarray(rotvecs, dtype=np.float64)
    angle = np.linalg.norm(rotvecs, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(a/2)/a, with its limit 1/2 near a = 0
    scale = np.where(angle > 1e-8, np.sin(half) / np.maximum(angle, 1e-300), 0.5 - angle**2 / 48)
    return np.concatenate([np.cos(half), rotvecs * scale], axis=-1)
