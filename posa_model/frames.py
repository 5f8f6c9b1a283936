"""Coordinate frames: SMPL-X world <-> Blender axes, and POSA's canonical body frame.

This module is the one place where frames are defined. Everything else imports from here.

**SMPL-X world** (model files, smplx outputs, the rest of ``posa_model``): right-handed, metres,
+y up; a body in the rest pose faces +z with its left side at +x.

**Blender world**: right-handed, metres, +z up, "front" view looking along +y (so a character
facing the viewer faces -y). :func:`smplx_to_blender` is the rotation by +90 degrees about x,
``(x, y, z) -> (x, -z, y)``: SMPL-X up (+y) becomes Blender up (+z) and SMPL-X forward (+z)
becomes Blender -y, so a rest-pose body faces Blender's front view. :func:`blender_to_smplx` is
its inverse ``(x, y, z) -> (x, z, -y)``.

**Canonical body frame** (:func:`canonicalize`), the input frame of the contact model. It removes
the translation and the rotation about the world up axis, and keeps the tilt, so standing and
lying bodies stay distinct (the paper's definition; the reference code's fixed rotation does not
do this). Given SMPL-X joints in the SMPL-X world (+y up):

1. ``p`` = pelvis (joint 0); it moves to the origin.
2. ``a = normalize(left_hip - right_hip)`` (joints 1, 2), the body's lateral axis (points left);
   ``u = spine3 - pelvis`` (joint 9), the trunk; ``f = normalize(a x u)``, the facing direction;
   ``u' = f x a``. ``B = [a | u' | f]`` (columns) is the body's rotation: the identity for the
   rest pose.
3. The canonical rotation ``R = R_y(theta)`` is the rotation about +y that brings ``B`` closest
   to the identity in the chordal (Frobenius) sense, i.e. maximises ``trace(R_y(theta) B)``:
   ``theta = atan2(B[2,0] - B[0,2], B[0,0] + B[2,2])``, with
   ``R_y(theta) = [[cos, 0, sin], [0, 1, 0], [-sin, 0, cos]]`` (right-handed).
   (Derivation: ``trace(R_y B) = cos(theta) (B00 + B22) + sin(theta) (B20 - B02) + B11``.)
4. Canonical points are ``x_can = R (x - p)``; for row-vector arrays
   ``x_can = (x - p) @ R.T = x @ R.T + t`` with ``t = -p @ R.T`` (``translation``).

After canonicalisation the body's facing direction and lateral axis are as close to +z and +x as a
rotation about the vertical allows: a standing body faces +z with its left at +x, a body lying on
its back keeps facing +y with its left near +x, a body lying on its side keeps its left pointing
up. ``theta`` is a continuous function of the pose everywhere except at exactly upside-down bodies
(``B`` a half turn about a horizontal axis, where ``B00 + B22 = B20 - B02 = 0``); headings taken
from the hips alone break for bodies lying on their side, and headings from the facing direction
break for bodies lying on their back. The result does not change when the input is translated or
rotated about +y, and canonicalising a canonical body is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputShapeError

__all__ = [
    "BLENDER_TO_SMPLX",
    "FRAME_JOINTS",
    "SMPLX_TO_BLENDER",
    "CanonicalFrame",
    "blender_to_smplx",
    "canonical_joints_from_vertices",
    "canonicalize",
    "smplx_to_blender",
    "yaw_rotation",
]

#: Rotation matrix (column-vector convention, ``p_blender = M @ p_smplx``): +90 deg about x.
SMPLX_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
#: Its inverse (= transpose): ``p_smplx = M @ p_blender``.
BLENDER_TO_SMPLX = SMPLX_TO_BLENDER.T.copy()
SMPLX_TO_BLENDER.flags.writeable = False
BLENDER_TO_SMPLX.flags.writeable = False

#: SMPL-X joints the canonical frame uses: pelvis, left_hip, right_hip, spine3.
FRAME_JOINTS: tuple[int, int, int, int] = (0, 1, 2, 9)

_EPS = 1e-12


def smplx_to_blender(points):
    """(..., 3) points from SMPL-X axes (+y up) to Blender axes (+z up): (x, y, z) -> (x, -z, y).

    Works on numpy arrays and torch tensors; returns the same type and dtype.
    """
    _check_last3(points, "points")
    return _stack_last([points[..., 0], -points[..., 2], points[..., 1]], points)


def blender_to_smplx(points):
    """(..., 3) points from Blender axes (+z up) to SMPL-X axes (+y up): (x, y, z) -> (x, z, -y)."""
    _check_last3(points, "points")
    return _stack_last([points[..., 0], points[..., 2], -points[..., 1]], points)


@dataclass(frozen=True)
class CanonicalFrame:
    """A body moved into the canonical frame, and the rigid motion that did it.

    ``vertices`` (..., V, 3) and ``joints`` (..., J, 3) are canonical; ``rotation`` (..., 3, 3)
    and ``translation`` (..., 3) map SMPL-X world points ``x`` (row vectors) to canonical ones:
    ``x_can = x @ rotation.T + translation``. The type (numpy or torch) and dtype follow the input.
    """

    vertices: Any
    joints: Any
    rotation: Any
    translation: Any

    def apply(self, points):
        """Map (..., N, 3) world points (e.g. a scene) into this canonical frame."""
        return _matmul(points, _transpose(self.rotation)) + self.translation[..., None, :]

    def to_world(self, points):
        """Map (..., N, 3) canonical points back to the SMPL-X world: ``(x_can - t) @ R``."""
        return _matmul(points - self.translation[..., None, :], self.rotation)


def canonicalize(vertices, joints) -> CanonicalFrame:
    """Move bodies into the canonical frame defined in this module's docstring.

    Args:
        vertices: (..., V, 3) SMPL-X world vertices (numpy array or torch tensor, float32/64), or
            ``None`` to transform only the joints.
        joints: (..., J, 3) in the same frame and batch shape: either SMPL-X joints (J >= 10, the
            order of :mod:`posa_model.body.joints`; smplx's 127 outputs work) or exactly the four
            :data:`FRAME_JOINTS` (pelvis, left_hip, right_hip, spine3), as returned by
            :func:`canonical_joints_from_vertices` with a 4-row regressor.

    Returns:
        :class:`CanonicalFrame` with canonical ``vertices`` and ``joints``, ``rotation``
        (..., 3, 3) = ``R_y(theta)`` and ``translation`` (..., 3) = ``-pelvis @ R.T``.
        Differentiable for torch inputs.

    Raises:
        InputShapeError: bad shapes, mismatched batch shapes, or mixed numpy/torch inputs.
    """
    _check_last3(joints, "joints")
    nj = joints.shape[-2]
    if nj == 4:
        pelvis, lhip, rhip, spine3 = (joints[..., i, :] for i in range(4))
    elif nj >= 10:
        pelvis, lhip, rhip, spine3 = (joints[..., i, :] for i in FRAME_JOINTS)
    else:
        raise InputShapeError(
            f"joints: expected (..., J, 3) with J == 4 (FRAME_JOINTS) or J >= 10 (SMPL-X order), "
            f"found shape {tuple(joints.shape)}"
        )
    if vertices is not None:
        _check_last3(vertices, "vertices")
        if _is_torch(vertices) != _is_torch(joints):
            raise InputShapeError("vertices and joints: expected both numpy or both torch")
        if tuple(vertices.shape[:-2]) != tuple(joints.shape[:-2]):
            raise InputShapeError(
                f"vertices and joints: expected the same batch shape, found "
                f"{tuple(vertices.shape[:-2])} and {tuple(joints.shape[:-2])}"
            )

    rotation = yaw_rotation(pelvis, lhip, rhip, spine3)
    translation = -_matvec(rotation, pelvis)
    rot_t = _transpose(rotation)
    can_joints = _matmul(joints - pelvis[..., None, :], rot_t)
    can_vertices = None
    if vertices is not None:
        can_vertices = _matmul(vertices - pelvis[..., None, :], rot_t)
    return CanonicalFrame(can_vertices, can_joints, rotation, translation)


def yaw_rotation(pelvis, left_hip, right_hip, spine3):
    """The canonical rotation ``R_y(theta)`` (..., 3, 3) from four (..., 3) joint positions.

    See the module docstring, steps 2-3.
    """
    lateral = _normalize(left_hip - right_hip)
    trunk = spine3 - pelvis
    forward = _normalize(_cross(lateral, trunk))
    # B = [a | u' | f] as columns, so B[i, 0] = a_i and B[i, 2] = f_i; theta needs only those
    # (u' = f x a enters trace(R_y B) through B11, which does not depend on theta).
    b00, b20 = lateral[..., 0], lateral[..., 2]
    b02, b22 = forward[..., 0], forward[..., 2]
    theta = _atan2(b20 - b02, b00 + b22)
    c, s = _cos(theta), _sin(theta)
    zero, one = c * 0, c * 0 + 1
    rows = [
        _stack_last([c, zero, s], c),
        _stack_last([zero, one, zero], c),
        _stack_last([-s, zero, c], c),
    ]
    return _stack(rows, axis=-2, like=c)


def canonical_joints_from_vertices(vertices, regressor):
    """Joints regressed from vertices: (..., V, 3) x (K, V) -> (..., K, 3).

    ``regressor`` is SMPL-X's ``J_regressor`` (55, V) or its :data:`FRAME_JOINTS` rows (4, V)
    (``J_regressor[list(FRAME_JOINTS)]``); either result can be passed to :func:`canonicalize`.
    Lets callers that hold only a posed mesh (e.g. Blender) find the canonical frame. smplx
    regresses joints from the *rest* mesh and poses them rigidly, so joints regressed from posed
    (skinned) vertices differ where skinning is not rigid: on the stand-in, 0 mm for poses that
    do not bend the hips, 4 mm for ``reach_forward`` and up to 24 mm (hips of ``sit``), which
    moves canonical vertices by up to 26 mm. Use smplx's joints when you have them.
    """
    _check_last3(vertices, "vertices")
    if (
        regressor.ndim != 2
        or regressor.shape[0] not in (4, 55)
        or (regressor.shape[1] != vertices.shape[-2])
    ):
        raise InputShapeError(
            f"regressor: expected shape (4, {vertices.shape[-2]}) or (55, {vertices.shape[-2]}), "
            f"found {tuple(regressor.shape)}"
        )
    if _is_torch(vertices):
        import torch

        reg = torch.as_tensor(regressor, dtype=vertices.dtype, device=vertices.device)
        return torch.matmul(reg, vertices)
    if hasattr(regressor, "toarray"):  # scipy.sparse
        regressor = regressor.toarray()
    return np.matmul(np.asarray(regressor, dtype=vertices.dtype), vertices)


# --------------------------------------------------------------------------------------------
# tiny numpy/torch shim (same maths for both; torch keeps gradients)


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _check_last3(x, name: str) -> None:
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) < 1 or shape[-1] != 3:
        found = "no shape" if shape is None else f"shape {tuple(shape)}"
        raise InputShapeError(f"{name}: expected an array of shape (..., 3), found {found}")
    dtype = str(x.dtype)
    if "float" not in dtype:
        raise InputShapeError(f"{name}: expected a float32/float64 array, found dtype {dtype}")


def _stack_last(parts, like):
    return _stack(parts, axis=-1, like=like)


def _stack(parts, axis, like):
    if _is_torch(like):
        import torch

        return torch.stack(parts, dim=axis)
    return np.stack(parts, axis=axis)


def _cross(a, b):
    if _is_torch(a):
        import torch

        return torch.linalg.cross(a, b, dim=-1)
    return np.cross(a, b)


def _normalize(v):
    if _is_torch(v):
        import torch

        return v / torch.linalg.vector_norm(v, dim=-1, keepdim=True).clamp_min(_EPS)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), _EPS)


def _atan2(y, x):
    if _is_torch(y):
        import torch

        return torch.atan2(y, x)
    return np.arctan2(y, x)


def _cos(x):
    return x.cos() if _is_torch(x) else np.cos(x)


def _sin(x):
    return x.sin() if _is_torch(x) else np.sin(x)


def _transpose(m):
    return m.transpose(-1, -2) if _is_torch(m) else np.swapaxes(m, -1, -2)


def _matmul(a, b):
    return a @ b


def _matvec(m, v):
    return (m @ v[..., None])[..., 0]
