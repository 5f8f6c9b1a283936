"""Blender bone conventions for SMPL-X joints (numpy and scipy: no ``bpy``).

SMPL-X poses a joint with an axis-angle vector in its parent's frame, and at rest every joint's
frame is aligned with the world (SMPL-X: +y up). A Blender bone rotates in its own rest frame
``B`` (``Bone.matrix_local``, armature space: the bone's y axis runs head to tail). For a joint
rotation ``R`` given in SMPL-X world axes, the same rotation in Blender's armature axes is
``R' = C R C^T`` with ``C`` = :data:`posa_model.frames.SMPLX_TO_BLENDER`, and the pose bone's
rotation is ``Q = B^T R' B``. For rotation vectors this is ``q = B^T (C r)``: ``C r`` is
:func:`posa_model.frames.smplx_to_blender` applied to the axis, then the axis is expressed in
the bone's rest axes. Because pose bones compose like SMPL-X's kinematic chain
(``M_j = M_parent B_parent^T B_j Q_j``), the armature reproduces SMPL-X's linear blend skinning.

A rig's rest is the body posed with its model's mean hand (what zero hand poses mean), so finger
bones turn relative to it (:func:`rig_rotations`); the rig object's own world placement folds
into the pose's root (:func:`world_root`, :func:`rig_root`). Every conversion here has its
inverse beside it.
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


def smplx_rotation_vectors(local_rotvecs: np.ndarray, rest_rotations: np.ndarray) -> np.ndarray:
    """Pose-bone rotation vectors (J, 3) -> SMPL-X joint rotation vectors (J, 3): the exact
    inverse of :func:`local_rotation_vectors`, ``r = C^T (B^T)^-1 q``. (Blender keeps a bone's
    rest rotation orthonormal only to about 4e-5, so ``B`` is not quite ``(B^T)^-1``.)"""
    from posa_model.frames import blender_to_smplx

    rest = np.asarray(rest_rotations, dtype=np.float64)
    local = np.asarray(local_rotvecs, dtype=np.float64)
    armature_axes = np.linalg.solve(np.swapaxes(rest, -1, -2), local[..., None])[..., 0]
    return blender_to_smplx(armature_axes)


def local_location(translation_smplx: np.ndarray, rest_rotation: np.ndarray) -> np.ndarray:
    """A root translation (3,) in SMPL-X axes -> the root pose bone's location (3,)."""
    from posa_model.frames import smplx_to_blender

    blender = smplx_to_blender(np.asarray(translation_smplx, dtype=np.float64))
    return np.asarray(rest_rotation, dtype=np.float64).T @ blender


def root_translation(location: np.ndarray, rest_rotation: np.ndarray) -> np.ndarray:
    """The root pose bone's location (3,) -> the root translation (3,) in SMPL-X axes: the
    exact inverse of :func:`local_location`."""
    from posa_model.frames import blender_to_smplx

    rest = np.asarray(rest_rotation, dtype=np.float64)
    return blender_to_smplx(np.linalg.solve(rest.T, np.asarray(location, dtype=np.float64)))


def quaternions(rotvecs: np.ndarray) -> np.ndarray:
    """(J, 3) rotation vectors -> (J, 4) unit quaternions w, x, y, z (Blender's order)."""
    rotvecs = np.asarray(rotvecs, dtype=np.float64)
    angle = np.linalg.norm(rotvecs, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(a/2)/a, with its limit 1/2 near a = 0
    scale = np.where(angle > 1e-8, np.sin(half) / np.maximum(angle, 1e-300), 0.5 - angle**2 / 48)
    return np.concatenate([np.cos(half), rotvecs * scale], axis=-1)


def rotation_vectors(quaternions: np.ndarray) -> np.ndarray:
    """(J, 4) quaternions w, x, y, z (any length but 0) -> (J, 3) rotation vectors, angles in
    [0, pi]: the inverse of :func:`quaternions`."""
    q = np.asarray(quaternions, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    q = np.where(q[..., :1] < 0, -q, q)  # the same rotation, the shorter way round
    w, v = q[..., :1], q[..., 1:]
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(norm, w)
    # angle / |v|, with its limit 2 / w near the identity
    scale = np.where(norm > 1e-12, angle / np.maximum(norm, 1e-300), 2.0 / np.maximum(w, 1e-300))
    return v * scale


# --------------------------------------------------------------------------------------------
# the mean hand: a rig's rest is the body posed with its model's mean hand


def _mean_chains(mean: np.ndarray, parents: Sequence[int]):
    """(J,) rotations: each joint's rest orientation when every joint is turned by ``mean``
    (J, 3), and (J,) bool: the joints under (or at) a non-zero mean rotation."""
    from scipy.spatial.transform import Rotation

    mean = np.asarray(mean, dtype=np.float64)
    chain = [Rotation.identity()] * len(mean)
    moved = np.zeros(len(mean), dtype=bool)
    own = Rotation.from_rotvec(mean)
    for joint, parent in enumerate(parents):  # parents come before children
        turned = bool(np.any(mean[joint] != 0))
        base = chain[parent] if parent >= 0 else Rotation.identity()
        chain[joint] = base * own[joint]
        moved[joint] = turned or (parent >= 0 and moved[parent])
    return chain, moved


def rig_rotations(rotvecs: np.ndarray, mean: np.ndarray | None,
                  parents: Sequence[int]) -> np.ndarray:
    """Joint rotations as SMPL-X poses with them (J, 3) -> the rotations (J, 3, SMPL-X axes)
    a rig whose rest is the body posed by ``mean`` (J, 3) (its model's mean hand) needs.

    SMPL-X turns joint ``j`` by ``exp(r_j)`` where ``r_j`` already includes the mean (hand
    pose + mean hand); the rig's bones start from the mean-posed rest, so bone ``j`` turns by
    ``W_j = M_p exp(r_j) exp(m_j)^-1 M_p^-1`` with ``M_p`` the parent's mean chain (the product
    of the mean rotations from the root down to the parent). Joints under no mean rotation keep
    their vectors unchanged (``W_j = exp(r_j)``). ``mean`` None: all zero. The joints then land
    exactly where SMPL-X puts them; a vertex skinned to several finger joints is skinned twice
    (the rest, then the bones), which differs from SMPL-X's one skinning by a second-order
    amount (2 mm for mean rotations of 0.3 rad).
    """
    from scipy.spatial.transform import Rotation

    rotvecs = np.asarray(rotvecs, dtype=np.float64)
    if mean is None or not np.any(mean):
        return rotvecs.copy()
    mean = np.asarray(mean, dtype=np.float64)
    chain, moved = _mean_chains(mean, parents)
    out = rotvecs.copy()
    for joint in np.flatnonzero(moved):
        parent = parents[joint]
        above = chain[parent] if parent >= 0 else Rotation.identity()
        turn = (above * Rotation.from_rotvec(rotvecs[joint])
                * Rotation.from_rotvec(mean[joint]).inv() * above.inv())
        out[joint] = turn.as_rotvec()
    return out


def posing_rotations(rig_rotvecs: np.ndarray, mean: np.ndarray | None,
                     parents: Sequence[int]) -> np.ndarray:
    """The inverse of :func:`rig_rotations`: a rig's joint rotations (J, 3, SMPL-X axes) ->
    the rotations SMPL-X poses with (mean included), ``exp(r_j) = M_p^-1 W_j M_p exp(m_j)``."""
    from scipy.spatial.transform import Rotation

    rig_rotvecs = np.asarray(rig_rotvecs, dtype=np.float64)
    if mean is None or not np.any(mean):
        return rig_rotvecs.copy()
    mean = np.asarray(mean, dtype=np.float64)
    chain, moved = _mean_chains(mean, parents)
    out = rig_rotvecs.copy()
    for joint in np.flatnonzero(moved):
        parent = parents[joint]
        above = chain[parent] if parent >= 0 else Rotation.identity()
        turn = (above.inv() * Rotation.from_rotvec(rig_rotvecs[joint]) * above
                * Rotation.from_rotvec(mean[joint]))
        out[joint] = turn.as_rotvec()
    return out


# --------------------------------------------------------------------------------------------
# the rig object's placement folded into the pose's root, and back


def world_root(orient: np.ndarray, transl: np.ndarray, root: np.ndarray,
               matrix_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A pose's root in the rig's frame -> the same body's root in the world (SMPL-X axes).

    ``orient`` (3,) and ``transl`` (3,) as the rig poses them (SMPL-X axes, rig frame: what
    :func:`local_rotation_vectors` and :func:`local_location` take), ``root`` (3,) the rest
    pelvis joint (SMPL-X axes, rig frame), ``matrix_world`` (4, 4) the rig object's rigid
    Blender world matrix ``[R | t]``. With ``S = C^T R C`` and ``s = C^T t``:
    ``orient' = S exp(orient)`` and ``transl' = S (root + transl) + s - root``, so that posing
    with (orient', transl') gives ``C^T`` of the rig's world vertices.
    """
    from scipy.spatial.transform import Rotation

    from posa_model.frames import SMPLX_TO_BLENDER as C

    matrix = np.asarray(matrix_world, dtype=np.float64)
    turn = C.T @ matrix[:3, :3] @ C
    shift = C.T @ matrix[:3, 3]
    root = np.asarray(root, dtype=np.float64)
    out = Rotation.from_matrix(turn) * Rotation.from_rotvec(np.asarray(orient, np.float64))
    return out.as_rotvec(), turn @ (root + np.asarray(transl, np.float64)) + shift - root


def rig_root(orient: np.ndarray, transl: np.ndarray, root: np.ndarray, rotation: np.ndarray,
             local_transl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`world_root` for a rig turned by ``rotation`` (3, 3, Blender world)
    whose root bone keeps the translation ``local_transl`` (3,): (the root's orientation in the
    rig (3,), SMPL-X axes; the rig object's location (3,), Blender world) that pose the world
    root (``orient``, ``transl``)."""
    from scipy.spatial.transform import Rotation

    from posa_model.frames import SMPLX_TO_BLENDER as C

    turn = C.T @ np.asarray(rotation, dtype=np.float64) @ C
    root = np.asarray(root, dtype=np.float64)
    local = Rotation.from_matrix(turn).inv() * Rotation.from_rotvec(np.asarray(orient,
                                                                               np.float64))
    shift = np.asarray(transl, np.float64) + root - turn @ (root + np.asarray(local_transl,
                                                                              np.float64))
    return local.as_rotvec(), C @ shift
