"""The procedural stand-in body, stored in the SMPL-X ``.npz`` format.

posa_model must run without the licensed SMPL-X model, so it ships a humanoid that plain
``smplx.create(path)`` / ``smplx.SMPLX(model_path=path)`` loads: 10475 vertices, 20946 faces, the
55 SMPL-X joints with SMPL-X's parents, y up, metres, facing +z, the body's left at +x, in the
SMPL-X rest pose (T-pose, palms down, feet slightly apart, soles at y = -1.30, pelvis at -0.35,
top of the head at +0.45: 1.75 m tall). It is *not* SMPL-X: the shapes, weights and regressor
below are designed by hand, not learnt.

Construction (:func:`build_standin`; deterministic; about 12 s of CPU, 15-40 s wall on two
shared cores; needs scikit-image, a dev dependency):

1. **Design.** :data:`DESIGNED_JOINTS` places the 55 joints anatomically (hips, knees, ankles,
   toe bases, three spine joints, neck, head, jaw, eyeball centres, collars, shoulders, elbows,
   wrists and three joints per finger). Around them, :func:`primitives` lists 97 signed-distance
   primitives (round cones, ellipsoids, a rounded box) for torso, head (nose, ears, eyeballs in
   sockets, lips), arms, palms, five fingers, legs, heels, soles and toes; the left half is
   designed and mirrored. :func:`body_sdf` is their smooth union (quadratic smooth-min with a
   per-primitive radius: wide on the trunk, a few millimetres between fingers).
2. **Surface.** Marching cubes (scikit-image) on a 2.5 mm grid of the left half only (x >= 0,
   evaluated per voxel only in 2 cm blocks near the surface), one Newton step onto the zero set.
   The half's boundary lies exactly on x = 0.
3. **Exact vertex count.** The seam polyline on x = 0 is thinned (Douglas-Peucker, finer on the
   face profile) to an odd number of vertices; the interior is decimated by quadric edge collapses
   (``fast_simplification``) with the seam locked. Its collapse history is filtered to proper
   edge collapses (link condition) and replayed so that the mirrored whole, ``2 V - S`` vertices,
   has exactly 10475 (a replayed prefix of the history alone is not always a manifold).
   Delaunay flips and tangential smoothing, each re-projected onto the surface, even the
   triangles out. Mirroring and welding on the seam gives a symmetric, closed,
   consistently outward-oriented genus-0 manifold (:func:`check_closed_mesh`, fails loudly).
4. **Parts and weights.** Every vertex belongs to the bone (joint to next joint) of its nearest
   primitive's chain (the top of the thighs below the groin goes to the leg); LBS weights are 1
   on that part and blend only with parent/child parts (plus armpit, neck-collar and neck-jaw)
   within a geodesic band around their boundary, so bending a joint moves only its own body
   part and the vertices next to the joint.
5. **Vertex order.** Vertices are sorted by part and position, except the 21 vertex ids smplx
   hard-codes for extra joints (:data:`SMPLX_VERTEX_IDS`: nose tip, eyes, ears, finger tips, big
   and small toes, heels), which hold exactly that anatomy.
6. **Regressor, shapes, landmarks.** ``J_regressor`` rows are convex combinations of nearby
   surface vertices that reproduce the designed joints exactly; ``shapedirs`` hold 300 shape
   components (the first 20 designed, see :func:`_shape_space`, then 12 smooth bumps, the rest
   zero) and 100 zero expression components; the 51 face landmarks and the 79 x 17 jaw-contour
   table are ray-cast onto the face. ``posedirs`` are zero and the hand PCA is the identity.

The file also carries ``J`` (the designed joints) and ``part_labels`` (the part of each vertex),
which smplx ignores. Regenerate with ``python -m posa_model.body.standin --out PATH``; the
runtime loader never regenerates.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import PosaError
from ..io_utils import atomic_savez
from .joints import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS, kintree_table
from .loader import standin_path

__all__ = [
    "ASSET_PATH", "DESIGNED_JOINTS", "NUM_FACES", "NUM_VERTICES", "SMPLX_VERTEX_IDS",
    "StandinBuildError", "body_sdf", "build_standin", "check_closed_mesh", "designed_joints",
    "designed_keypoints", "write_standin",
]  # fmt: skip

NUM_VERTICES = 10475
NUM_FACES = 2 * NUM_VERTICES - 4  # closed genus 0
NUM_SHAPE_COMPONENTS = 300
NUM_EXPRESSION_COMPONENTS = 100
NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9
ASSET_PATH = standin_path()  # posa_model/assets/standin/smplx/SMPLX_NEUTRAL.npz

#: ``smplx.vertex_ids.vertex_ids['smplx']``: smplx takes these vertices as extra joints (OpenPose
#: face, feet and finger-tip keypoints), so the stand-in puts the matching anatomy there.
SMPLX_VERTEX_IDS: dict[str, int] = {
    "nose": 9120, "reye": 9929, "leye": 9448, "rear": 616, "lear": 6,
    "rthumb": 8079, "rindex": 7669, "rmiddle": 7794, "rring": 7905, "rpinky": 8022,
    "lthumb": 5361, "lindex": 4933, "lmiddle": 5058, "lring": 5169, "lpinky": 5286,
    "LBigToe": 5770, "LSmallToe": 5780, "LHeel": 8846,
    "RBigToe": 8463, "RSmallToe": 8474, "RHeel": 8635,
}  # fmt: skip


class StandinBuildError(PosaError):
    """The procedural stand-in could not be built: a mesh or fitting check failed."""


# --------------------------------------------------------------------------------------------
# design: joints (left half + centre line; the right half is the mirror image)

_PALM_Y = 0.088  # the palm plane; the hands point along +-x, palms down
#: Left fingers: MCP (x, z), fan angle (degrees, + towards the thumb), phalanx lengths, radius at
#: the MCP and at the tip.
_FINGERS = {
    "index": (0.783, -0.007, 7.0, (0.042, 0.025, 0.021), 0.0080, 0.0066),
    "middle": (0.786, -0.027, 2.0, (0.046, 0.029, 0.022), 0.0082, 0.0068),
    "ring": (0.781, -0.047, -4.0, (0.043, 0.027, 0.021), 0.0078, 0.0065),
    "pinky": (0.771, -0.066, -11.0, (0.034, 0.020, 0.019), 0.0070, 0.0059),
}
_THUMB = ((0.712, 0.080, -0.004), (0.742, 0.071, 0.024), (0.765, 0.067, 0.041),
          (0.786, 0.065, 0.054))  # CMC, MCP, IP, tip
_THUMB_RADII = (0.0105, 0.0095, 0.0085, 0.0078)
_LEFT_FINGERS = ("index", "middle", "ring", "pinky", "thumb")
_ANKLE = np.array([0.100, -1.220, -0.035])
_FOOT_YAW = 7.0  # toe-out of the left foot, degrees


def _yaw(theta_deg: float) -> np.ndarray:
    """Rotation about +y by theta: maps +z to (sin, 0, cos)."""
    t = np.deg2rad(theta_deg)
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _foot(rel) -> np.ndarray:
    """A left-foot design point given relative to the ankle before the toe-out."""
    return _ANKLE + _yaw(_FOOT_YAW) @ np.asarray(rel, dtype=float)


def _mirror(p) -> np.ndarray:
    p = np.array(p, dtype=float)
    p[..., 0] *= -1.0
    return p


def _finger_points(name: str) -> np.ndarray:
    """(4, 3) MCP, PIP, DIP and tip centre of a left finger (thumb: CMC, MCP, IP, tip)."""
    if name == "thumb":
        return np.array(_THUMB, dtype=float)
    x, z, angle, lengths, _, _ = _FINGERS[name]
    t = np.deg2rad(angle)
    direction = np.array([np.cos(t), 0.0, np.sin(t)])
    pts = [np.array([x, _PALM_Y, z])]
    for length in lengths:
        pts.append(pts[-1] + length * direction)
    return np.array(pts)


_CENTRE_JOINTS = {
    "pelvis": (0.0, -0.350, 0.000),
    "spine1": (0.0, -0.235, -0.012),
    "spine2": (0.0, -0.115, -0.008),
    "spine3": (0.0, 0.000, -0.010),
    "neck": (0.0, 0.165, -0.020),
    "head": (0.0, 0.255, 0.000),
    "jaw": (0.0, 0.282, 0.015),
}
_LEFT_JOINTS = {
    "hip": (0.082, -0.440, -0.005),
    "knee": (0.095, -0.840, 0.000),
    "ankle": tuple(_ANKLE),
    "foot": tuple(_foot((0.012, -0.052, 0.120))),  # ball of the foot (toe base)
    "collar": (0.070, 0.110, -0.020),
    "shoulder": (0.180, 0.115, -0.025),
    "elbow": (0.440, 0.100, -0.030),
    "wrist": (0.690, 0.090, -0.030),
    "eye_smplhf": (0.032, 0.345, 0.068),  # eyeball centre
}


def designed_joints() -> np.ndarray:
    """The (55, 3) float64 rest joint positions of the stand-in, metres, SMPL-X joint order."""
    joints = np.zeros((NUM_JOINTS, 3))
    for name, p in _CENTRE_JOINTS.items():
        joints[JOINT_INDEX[name]] = p
    for name, p in _LEFT_JOINTS.items():
        joints[JOINT_INDEX[f"left_{name}"]] = p
        joints[JOINT_INDEX[f"right_{name}"]] = _mirror(p)
    for finger in _LEFT_FINGERS:
        pts = _finger_points(finger)
        for i in range(3):
            joints[JOINT_INDEX[f"left_{finger}{i + 1}"]] = pts[i]
            joints[JOINT_INDEX[f"right_{finger}{i + 1}"]] = _mirror(pts[i])
    return joints


#: (55, 3) designed rest joints (read-only); ``J_regressor @ v_template`` reproduces them.
DESIGNED_JOINTS = designed_joints()
DESIGNED_JOINTS.flags.writeable = False


def _J(name: str) -> np.ndarray:
    return DESIGNED_JOINTS[JOINT_INDEX[name]]


# --------------------------------------------------------------------------------------------
# design: signed-distance primitives


@dataclass(frozen=True)
class _Prim:
    """One SDF primitive: 'cone' (segment a-b, radii ra-rb), 'ellipsoid' (centre a, radii, rot)
    or 'box' (centre a, half extents radii, rounding ra, rot). ``k`` is the smooth-union radius
    with everything before it; ``sub`` carves instead. ``chain`` names its bone chain."""

    name: str
    kind: str
    chain: str
    k: float
    a: tuple = (0.0, 0.0, 0.0)
    b: tuple = (0.0, 0.0, 0.0)
    ra: float = 0.0
    rb: float = 0.0
    radii: tuple = (1.0, 1.0, 1.0)
    rot: tuple = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    sub: bool = False


def _cone(name, chain, a, b, ra, rb, k) -> _Prim:
    return _Prim(name, "cone", chain, k, a=tuple(a), b=tuple(b), ra=ra, rb=rb)


def _ell(name, chain, c, radii, k, rot=None, sub=False) -> _Prim:
    rot = np.eye(3) if rot is None else np.asarray(rot)
    return _Prim(name, "ellipsoid", chain, k, a=tuple(c), radii=tuple(radii),
                 rot=tuple(map(tuple, rot)), sub=sub)


def _box(name, chain, c, half, rounding, k) -> _Prim:
    return _Prim(name, "box", chain, k, a=tuple(c), radii=tuple(half), ra=rounding)


def _left_primitives() -> list[_Prim]:
    """Primitives of the body's left half (x > 0); mirrored for the right half."""
    J = _J
    foot_rot = _yaw(_FOOT_YAW)
    prims = [
        # shoulder girdle and arm
        _cone("girdle", "arm", (0.03, 0.142, -0.030), (0.17, 0.127, -0.030), 0.055, 0.048, 0.05),
        _ell("deltoid", "arm", (0.195, 0.122, -0.025), (0.060, 0.054, 0.055), 0.04),
        _cone("upper_arm", "arm", J("left_shoulder"), J("left_elbow"), 0.046, 0.036, 0.03),
        _ell("biceps", "arm", (0.31, 0.106, -0.025), (0.11, 0.043, 0.044), 0.03),
        _ell("elbow", "arm", J("left_elbow"), (0.036, 0.035, 0.036), 0.02),
        _cone("forearm", "arm", J("left_elbow"), J("left_wrist"), 0.036, 0.024, 0.02),
        _ell("forearm_muscle", "arm", (0.51, 0.097, -0.030), (0.11, 0.035, 0.041), 0.02),
        _ell("wrist", "arm", J("left_wrist"), (0.024, 0.018, 0.029), 0.015),
        # hand
        _box("palm", "palm", (0.738, _PALM_Y, -0.033), (0.040, 0.006, 0.029), 0.0095, 0.012),
        _ell("thenar", "thumb", (0.722, 0.080, -0.006), (0.030, 0.014, 0.020), 0.01),
        # leg
        _cone("thigh", "leg", J("left_hip") + (0.004, 0.02, 0.0), J("left_knee"), 0.085, 0.050,
              0.03),
        _ell("knee", "leg", J("left_knee") + (0.0, 0.0, 0.006), (0.046, 0.050, 0.046), 0.03),
        _cone("shin", "leg", J("left_knee"), J("left_ankle"), 0.048, 0.033, 0.02),
        _ell("calf", "leg", (0.097, -0.960, -0.025), (0.046, 0.110, 0.044), 0.03),
        # foot (designed in the ankle frame, then toed out)
        _ell("ankle", "foot", J("left_ankle"), (0.036, 0.030, 0.032), 0.015),
        _ell("heel", "foot", _foot((0.0, -0.043, -0.013)), (0.031, 0.032, 0.040), 0.02,
             rot=foot_rot),
        _cone("instep", "foot", _foot((0.0, -0.012, 0.0)), _foot((0.010, -0.050, 0.115)),
              0.034, 0.022, 0.02),
        _ell("sole", "foot", _foot((0.006, -0.058, 0.058)), (0.042, 0.017, 0.092), 0.02,
             rot=foot_rot),
        _cone("big_toe", "toes", _foot((-0.014, -0.058, 0.130)), _foot((-0.015, -0.060, 0.178)),
              0.0145, 0.0125, 0.006),
        _cone("toe2", "toes", _foot((0.006, -0.061, 0.125)), _foot((0.008, -0.062, 0.163)),
              0.0110, 0.0095, 0.006),
        _cone("toe34", "toes", _foot((0.024, -0.063, 0.118)), _foot((0.028, -0.064, 0.150)),
              0.0100, 0.0085, 0.006),
        _cone("toe5", "toes", _foot((0.040, -0.064, 0.108)), _foot((0.045, -0.065, 0.133)),
              0.0085, 0.0075, 0.006),
        # halves of the trunk and head
        _ell("pec", "spine", (0.065, 0.035, 0.045), (0.070, 0.055, 0.055), 0.04),
        _ell("buttock", "spine", (0.062, -0.430, -0.055), (0.078, 0.085, 0.075), 0.04),
        _ell("ear", "head", (0.076, 0.335, -0.010), (0.011, 0.029, 0.018), 0.006),
    ]
    for finger in _LEFT_FINGERS:
        pts = _finger_points(finger)
        if finger == "thumb":
            radii, k0 = _THUMB_RADII, 0.006
        else:
            radii, k0 = np.linspace(_FINGERS[finger][4], _FINGERS[finger][5], 4), 0.004
        for i in range(3):
            prims.append(_cone(f"{finger}{i + 1}", finger, pts[i], pts[i + 1], radii[i],
                               radii[i + 1], k0 if i == 0 else 0.002))
    return prims


def _centre_primitives() -> list[_Prim]:
    J = _J
    return [
        _ell("chest", "spine", (0.0, 0.020, -0.005), (0.160, 0.150, 0.105), 0.06),
        _ell("upper_back", "spine", (0.0, 0.070, -0.035), (0.150, 0.100, 0.080), 0.06),
        _ell("waist", "spine", (0.0, -0.130, -0.005), (0.132, 0.110, 0.094), 0.06),
        _ell("abdomen", "spine", (0.0, -0.235, 0.000), (0.140, 0.110, 0.097), 0.06),
        _ell("pelvis", "spine", (0.0, -0.385, -0.010), (0.150, 0.100, 0.100), 0.06),
        _cone("neck", "neck", (0.0, 0.110, -0.020), (0.0, 0.280, -0.005), 0.056, 0.050, 0.03),
        _ell("cranium", "head", (0.0, 0.355, -0.008), (0.077, 0.097, 0.095), 0.03),
        _ell("face", "head", (0.0, 0.330, 0.030), (0.066, 0.062, 0.062), 0.03),
        _ell("jaw", "jaw", (0.0, 0.280, 0.030), (0.056, 0.050, 0.058), 0.03),
        _ell("chin", "jaw", (0.0, 0.245, 0.060), (0.026, 0.020, 0.025), 0.02),
        _cone("nose", "head", (0.0, 0.352, 0.088), (0.0, 0.318, 0.112), 0.008, 0.011, 0.01),
        _ell("nostrils", "head", (0.0, 0.313, 0.100), (0.017, 0.009, 0.012), 0.008),
        _cone("lips", "jaw", (-0.022, 0.277, 0.087), (0.022, 0.277, 0.087), 0.007, 0.007, 0.01),
        _ell("socket_l", "head", (0.032, 0.347, 0.092), (0.016, 0.016, 0.016), 0.008, sub=True),
        _ell("socket_r", "head", (-0.032, 0.347, 0.092), (0.016, 0.016, 0.016), 0.008, sub=True),
        _ell("eye_l", "head", J("left_eye_smplhf"), (0.0125, 0.0125, 0.0125), 0.003),
        _ell("eye_r", "head", J("right_eye_smplhf"), (0.0125, 0.0125, 0.0125), 0.003),
    ]


_CENTRE_CHAINS = ("spine", "neck", "head", "jaw")


def _sided(p: _Prim, side: str) -> _Prim:
    """``p`` as the left ('l') or mirrored right ('r') copy, with a sided chain name."""
    chain = p.chain if p.chain in _CENTRE_CHAINS else f"{p.chain}_{side}"
    if side == "l":
        return replace(p, name=f"{p.name}_l", chain=chain)
    m = np.diag([-1.0, 1.0, 1.0])
    return replace(p, name=f"{p.name}_r", chain=chain, a=tuple(_mirror(p.a)),
                   b=tuple(_mirror(p.b)), rot=tuple(map(tuple, m @ np.asarray(p.rot) @ m)))


def primitives() -> list[_Prim]:
    """All SDF primitives in union order: trunk and head, both halves, then eye sockets/balls."""
    centre = _centre_primitives()
    late = ("socket", "eye")
    halves = [_sided(p, side) for p in _left_primitives() for side in "lr"]
    return ([p for p in centre if not p.name.startswith(late)] + halves
            + [p for p in centre if p.name.startswith(late)])


# --------------------------------------------------------------------------------------------
# signed distance


def _prim_sdf(p: _Prim, x: np.ndarray) -> np.ndarray:
    """Approximate signed distance of points ``x`` (..., 3) to one primitive (negative inside)."""
    if p.kind == "cone":
        a, b = np.asarray(p.a), np.asarray(p.b)
        ba = b - a
        t = np.clip(((x - a) @ ba) / (ba @ ba), 0.0, 1.0)
        q = x - a - t[..., None] * ba
        return np.sqrt((q * q).sum(-1)) - (p.ra + t * (p.rb - p.ra))
    q = (x - np.asarray(p.a)) @ np.asarray(p.rot)  # local coordinates (rot columns = axes)
    r = np.asarray(p.radii)
    if p.kind == "ellipsoid":
        k0 = np.sqrt(((q / r) ** 2).sum(-1))
        k1 = np.sqrt(((q / (r * r)) ** 2).sum(-1))
        return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)
    q = np.abs(q) - r
    outside = np.sqrt((np.maximum(q, 0.0) ** 2).sum(-1))
    return outside + np.minimum(q.max(-1), 0.0) - p.ra


def _prim_bounds(p: _Prim) -> tuple[np.ndarray, np.ndarray]:
    if p.kind == "cone":
        a, b = np.asarray(p.a), np.asarray(p.b)
        r = max(p.ra, p.rb)
        return np.minimum(a, b) - r, np.maximum(a, b) + r
    ext = np.abs(np.asarray(p.rot)) @ (np.asarray(p.radii) + p.ra)
    return np.asarray(p.a) - ext, np.asarray(p.a) + ext


def _combine(d: np.ndarray, di: np.ndarray, p: _Prim) -> np.ndarray:
    """Quadratic smooth union of ``d`` with primitive distance ``di`` (or smooth carving)."""
    a, b = (-d, di) if p.sub else (d, di)
    h = np.clip(0.5 + 0.5 * (b - a) / p.k, 0.0, 1.0)
    out = b + (a - b) * h - p.k * h * (1.0 - h)
    return -out if p.sub else out


def body_sdf(x: np.ndarray, prims: list[_Prim] | None = None) -> np.ndarray:
    """Signed distance (metres, negative inside) of the stand-in's implicit body at ``x`` (N, 3).

    Exact up to the primitives' own approximation within a few centimetres of the surface;
    farther away a primitive is skipped outside its padded bounding box (the sign stays right).
    """
    prims = primitives() if prims is None else prims
    x = np.asarray(x, dtype=np.float64).reshape(-1, 3)
    d = np.full(len(x), 1.0)
    for p in prims:
        lo, hi = _prim_bounds(p)
        margin = 2.0 * p.k + 0.02
        hit = np.flatnonzero(np.all((x >= lo - margin) & (x <= hi + margin), 1))
        if hit.size:
            d[hit] = _combine(d[hit], _prim_sdf(p, x[hit]), p)
    return d


def _sdf_normals(x: np.ndarray, prims: list[_Prim], eps: float = 1e-6) -> np.ndarray:
    d = body_sdf(x, prims)
    g = np.stack([body_sdf(x + eps * e, prims) - d for e in np.eye(3)], 1)
    return g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-20)


def _project(x: np.ndarray, prims: list[_Prim], iters: int = 3) -> np.ndarray:
    """Newton steps that move points onto the SDF's zero set along its gradient."""
    x = x.copy()
    eps = 1e-6
    for _ in range(iters):
        d = body_sdf(x, prims)
        g = np.stack([(body_sdf(x + eps * e, prims) - d) / eps for e in np.eye(3)], 1)
        x -= (d / np.maximum((g * g).sum(1), 1e-6))[:, None] * g
    return x


# --------------------------------------------------------------------------------------------
# implicit surface -> dense mesh of the left half

_GRID_STEP = 0.0025  # marching-cubes voxel, metres
_BLOCK = 8  # voxels per block side; blocks far from the surface are not evaluated per voxel
_HALF_BOUNDS = (np.array([0.0, -1.31, -0.17]), np.array([0.92, 0.47, 0.21]))  # x = 0 exactly


def _volume(prims: list[_Prim], step: float) -> tuple[np.ndarray, np.ndarray]:
    """The SDF sampled on the grid of the left half (x >= 0), exact only near the surface.

    Returns the (nx, ny, nz) float32 volume and the grid origin (whose x is exactly 0).
    """
    lo, hi = _HALF_BOUNDS
    nblocks = np.ceil((hi - lo) / (step * _BLOCK)).astype(int)
    axes = [lo[i] + step * (_BLOCK * np.arange(nblocks[i]) + (_BLOCK - 1) / 2) for i in range(3)]
    centres = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    d_centre = body_sdf(centres, prims)
    half_diag = step * (_BLOCK - 1) / 2 * np.sqrt(3.0)
    near = np.flatnonzero(np.abs(d_centre) < 1.5 * half_diag + 2 * step)
    local = step * np.stack(np.meshgrid(*[np.arange(_BLOCK)] * 3, indexing="ij"), -1)
    corner = lo + step * _BLOCK * np.stack(np.unravel_index(near, nblocks), -1)
    pts = corner[:, None, :] + local.reshape(1, -1, 3)
    d = np.full(pts.shape[:2], 1.0)
    block_lo, block_hi = corner, corner + step * (_BLOCK - 1)
    for p in prims:  # the culling of body_sdf, per block instead of per point
        plo, phi = _prim_bounds(p)
        margin = 2.0 * p.k + 0.02
        hit = np.flatnonzero(np.all((block_hi >= plo - margin) & (block_lo <= phi + margin), 1))
        if hit.size:
            d[hit] = _combine(d[hit], _prim_sdf(p, pts[hit]), p)
    vol = np.repeat(d_centre.astype(np.float32), _BLOCK**3).reshape(-1, _BLOCK**3)
    vol[near] = d
    vol = vol.reshape(*nblocks, _BLOCK, _BLOCK, _BLOCK).transpose(0, 3, 1, 4, 2, 5)
    return np.ascontiguousarray(vol.reshape(*(nblocks * _BLOCK))), lo


def _dense_half_mesh(prims: list[_Prim], step: float) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of the body's left half: an open mesh whose boundary lies on x = 0.

    Vertices are moved onto the exact zero set by one Newton step along the sampled gradient.
    Returns (V, 3) float64 vertices and (F, 3) int64 faces, oriented outwards.
    """
    from skimage.measure import marching_cubes

    vol, origin = _volume(prims, step)
    vol[vol == 0.0] = 1e-9  # no vertex exactly on a grid point
    verts, faces, normals, _ = marching_cubes(vol, 0.0, spacing=(step,) * 3,
                                              allow_degenerate=False)
    verts = verts.astype(np.float64) + origin
    faces = faces.astype(np.int64)
    normals = normals.astype(np.float64)
    seam = verts[:, 0] == 0.0
    # skimage's normals follow the sampled gradient up to sign: make them point outwards
    probe = verts[:1000]
    if np.mean(body_sdf(probe + 1e-4 * normals[:1000], prims) > body_sdf(probe, prims)) < 0.5:
        normals = -normals
    tri = verts[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    if (face_n * normals[faces].sum(1)).sum() < 0:
        faces = faces[:, ::-1].copy()
    verts -= body_sdf(verts, prims)[:, None] * normals
    verts[seam, 0] = 0.0
    return verts, faces


# --------------------------------------------------------------------------------------------
# mesh helpers and checks


def _directed_edges(faces: np.ndarray) -> np.ndarray:
    return np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])


def _lonely_edges(n_verts: int, faces: np.ndarray) -> np.ndarray:
    """The directed edges (E, 2) whose reverse edge is in no face: the mesh boundary."""
    directed = _directed_edges(faces)
    key = directed[:, 0] * n_verts + directed[:, 1]
    sorted_key = np.sort(key)
    twin = directed[:, 1] * n_verts + directed[:, 0]
    pos = np.minimum(np.searchsorted(sorted_key, twin), len(key) - 1)
    return directed[sorted_key[pos] != twin]


def _boundary_vertices(n_verts: int, faces: np.ndarray) -> np.ndarray:
    mask = np.zeros(n_verts, dtype=bool)
    mask[_lonely_edges(n_verts, faces).ravel()] = True
    return mask


def _signed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = (verts[faces[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = verts[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros_like(verts)
    for i in range(3):
        np.add.at(vn, faces[:, i], face_n)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-20)


def check_closed_mesh(verts: np.ndarray, faces: np.ndarray, what: str = "mesh",
                      min_area: float = 1e-10) -> None:
    """Raise :class:`StandinBuildError` unless ``faces`` (F, 3) over ``verts`` (V, 3) form one
    closed, consistently and outward oriented genus-0 2-manifold: every directed edge used once
    and its reverse once, one connected component, Euler characteristic 2, every vertex link a
    single cycle, no unused vertex and no face of area <= ``min_area`` (square metres)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nv = len(verts)

    def fail(msg: str) -> StandinBuildError:
        return StandinBuildError(f"{what}: {msg}")

    if faces.min() < 0 or faces.max() >= nv:
        raise fail(f"face ids outside [0, {nv})")
    if np.any((faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2])
              | (faces[:, 0] == faces[:, 2])):
        raise fail("a face repeats a vertex")
    tri = verts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if area.min() <= min_area:
        raise fail(f"{int((area <= min_area).sum())} degenerate faces (area <= {min_area} m2)")
    unused = nv - np.unique(faces).size
    if unused:
        raise fail(f"{unused} vertices are not used by any face")
    directed = _directed_edges(faces)
    if np.unique(directed[:, 0] * nv + directed[:, 1]).size != len(directed):
        raise fail("a directed edge is used twice (non-manifold or inconsistent orientation)")
    lonely = len(_lonely_edges(nv, faces))
    if lonely:
        raise fail(f"{lonely} boundary half-edges (the mesh is not closed)")
    graph = coo_matrix((np.ones(len(directed)), (directed[:, 0], directed[:, 1])), (nv, nv))
    n_comp, _ = connected_components(graph, directed=False)
    if n_comp != 1:
        raise fail(f"{n_comp} connected components, expected 1")
    euler = nv - len(directed) // 2 + len(faces)
    if euler != 2:
        raise fail(f"Euler characteristic {euler}, expected 2 (genus 0)")
    # vertex links: the corners (v, a) -> (v, b) of the faces (v, a, b) form one cycle per vertex
    rolled = [faces, faces[:, [1, 2, 0]], faces[:, [2, 0, 1]]]
    src = np.concatenate([r[:, 0] * nv + r[:, 1] for r in rolled])
    dst = np.concatenate([r[:, 0] * nv + r[:, 2] for r in rolled])
    _, node = np.unique(np.concatenate([src, dst]), return_inverse=True)
    m = len(src)
    corners = coo_matrix((np.ones(m), (node[:m], node[m:])), (node.max() + 1,) * 2)
    n_links, _ = connected_components(corners, directed=False)
    if n_links != nv:
        raise fail(f"{n_links - nv} pinched vertices (a vertex link is not one cycle)")
    if _signed_volume(verts, faces) <= 0:
        raise fail("the faces point inwards (negative signed volume)")


# --------------------------------------------------------------------------------------------
# decimation of the half so that the mirrored whole has exactly NUM_VERTICES vertices

#: fast_simplification's error thresholds (1e-9 (iteration + 3) ** 7) are tuned for larger
#: coordinates; in metres almost every edge qualifies after a few sweeps and the decimation
#: is nearly uniform, starving the hands. Scaled by 40 (units of 2.5 cm) it follows the quadric
#: error: hands, face and feet keep more vertices than the smooth trunk and limbs.
_QEM_UNIT = 40.0


def _decimate_half(verts: np.ndarray, faces: np.ndarray, n_whole: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Decimate the left half until the mirrored whole has exactly ``n_whole`` vertices.

    The whole has ``2 V - S`` vertices (``S`` on the seam x = 0). First the seam polyline is
    thinned to an odd number of its own vertices (:func:`_seam_collapses`), then the interior is
    decimated by quadrics with the seam locked, each collapse removing two whole vertices.
    ``fast_simplification`` stops near, not at, a target and a few of its collapses break the
    manifold (it checks normal flips, not the link condition), but with ``return_collapses`` it
    reports every collapse in order: :func:`_manifold_collapses` keeps the valid ones until the
    count is exact and ``replay_simplification`` applies exactly those (a few rounds at most).
    """
    import fast_simplification

    verts, faces = _apply_collapses(verts, faces, _seam_collapses(verts, faces))
    seam = _boundary_vertices(len(verts), faces)
    seam_points = verts[seam]
    whole = 2 * len(verts) - int(seam.sum())
    points, faces = verts * _QEM_UNIT, faces.astype(np.int32)
    for _ in range(8):
        if whole == n_whole:
            points = np.asarray(points, dtype=np.float64) / _QEM_UNIT
            points[seam] = seam_points  # locked during decimation: exactly as before
            return points, faces.astype(np.int64)
        _, _, collapses = fast_simplification.simplify(
            points, faces, target_count=max(2 * (n_whole // 2 - 1500), 1000),
            return_collapses=True, preserve_border=True)
        keep = _manifold_collapses(len(points), faces, seam, collapses, whole - n_whole)
        if len(keep) == 0:
            break
        points, faces, mapping = fast_simplification.replay_simplification(points, faces, keep)
        faces = np.asarray(faces, dtype=np.int32)
        if len(points) + len(keep) != len(seam):
            raise StandinBuildError(
                f"decimation replay: {len(keep)} collapses of {len(seam)} vertices left "
                f"{len(points)}, expected {len(seam) - len(keep)}")
        new_seam = np.zeros(len(points), dtype=bool)
        new_seam[mapping[seam]] = True
        seam, seam_points = new_seam, seam_points[np.argsort(mapping[seam], kind="stable")]
        whole = 2 * len(points) - int(seam.sum())
    raise StandinBuildError(f"decimation: stuck at {whole} vertices, expected {n_whole}")


def _neighbour_sets(n_verts: int, faces: np.ndarray) -> list[set[int]]:
    nbrs: list[set[int]] = [set() for _ in range(n_verts)]
    for u, w in _directed_edges(faces).tolist():
        nbrs[u].add(w)
        nbrs[w].add(u)
    return nbrs


def _try_collapse(nbrs: list[set[int]], on_seam: list[bool], a: int, b: int, budget: int) -> int:
    """Collapse ``b`` into ``a`` in the neighbour sets if that is a valid edge collapse removing
    at most ``budget`` whole-body vertices; returns how many it removed (0: not applied).

    Valid: ``a`` and ``b`` are adjacent and both interior, sharing exactly two neighbours (the
    link condition), or both on the seam along a boundary edge, sharing one interior neighbour;
    every shared neighbour keeps enough neighbours to stay a manifold vertex. An interior
    collapse removes two vertices of the mirrored whole, a seam collapse one.
    """
    na, nb = nbrs[a], nbrs[b]
    if b not in na or on_seam[a] != on_seam[b]:
        return 0
    common = na & nb
    if on_seam[a]:
        if len(common) != 1 or any(on_seam[c] or len(nbrs[c]) <= 3 for c in common):
            return 0
        cost = 1
    else:
        if len(common) != 2 or any(len(nbrs[c]) <= (2 if on_seam[c] else 3) for c in common):
            return 0
        cost = 2
    if cost > budget:
        return 0
    for c in nb:
        nbrs[c].discard(b)
        if c != a:
            nbrs[c].add(a)
            na.add(c)
    na.discard(b)
    nbrs[b] = set()
    return cost


def _manifold_collapses(n_verts: int, faces: np.ndarray, seam: np.ndarray,
                        collapses: np.ndarray, remove: int) -> np.ndarray:
    """The valid edge collapses among ``collapses`` (rows ``[keep, gone]``), applied in order,
    until the mirrored whole has lost exactly ``remove`` vertices; invalid ones are skipped."""
    nbrs = _neighbour_sets(n_verts, faces)
    on_seam = seam.tolist()
    kept = []
    for a, b in collapses.tolist():
        cost = _try_collapse(nbrs, on_seam, a, b, remove)
        if cost:
            kept.append((a, b))
            remove -= cost
            if remove == 0:
                break
    return np.array(kept, dtype=np.int32).reshape(-1, 2)


def _seam_loop(n_verts: int, faces: np.ndarray) -> np.ndarray:
    """The boundary vertices in loop order; the half mesh must have exactly one boundary loop."""
    lonely = _lonely_edges(n_verts, faces)
    nxt = dict(zip(lonely[:, 0].tolist(), lonely[:, 1].tolist(), strict=True))
    start = min(nxt)
    loop = [start]
    while nxt[loop[-1]] != start and len(loop) <= len(nxt):
        loop.append(nxt[loop[-1]])
    if len(loop) != len(nxt):
        raise StandinBuildError(
            f"half mesh: expected one seam loop on x = 0, found {len(nxt)} boundary vertices "
            f"of which one loop holds {len(loop)}")
    return np.array(loop)


def _seam_keep(pts: np.ndarray, tol: float, max_len: np.ndarray) -> np.ndarray:
    """Douglas-Peucker on a closed polyline (M, 2): a mask of the vertices to keep so that the
    dropped ones lie within ``tol`` of the kept chords and no chord is longer than ``max_len``
    (per vertex) where the polyline allows."""
    m = len(pts)
    keep = np.zeros(m, dtype=bool)
    first, second = int(np.argmax(pts[:, 1])), int(np.argmin(pts[:, 1]))
    keep[[first, second]] = True
    stack = [(first, second), (second, first)]
    while stack:
        i, j = stack.pop()
        idx = np.arange(i + 1, i + 1 + (j - i - 1) % m) % m
        if idx.size == 0:
            continue
        a, ab = pts[i], pts[j] - pts[i]
        t = np.clip(((pts[idx] - a) @ ab) / max(ab @ ab, 1e-30), 0.0, 1.0)
        dist = np.linalg.norm(pts[idx] - a - t[:, None] * ab, axis=1)
        k = int(np.argmax(dist))
        if dist[k] > tol or np.linalg.norm(ab) > min(max_len[i], max_len[j]):
            mid = int(idx[k if dist[k] > tol else idx.size // 2])
            keep[mid] = True
            stack += [(i, mid), (mid, j)]
    return keep


def _seam_collapses(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Valid collapses (rows ``[keep, gone]``) that thin the seam loop of the dense half mesh to
    an odd number of its own vertices, finer on the face profile than on the trunk."""
    loop = _seam_loop(len(verts), faces)
    pts = verts[loop][:, 1:]
    on_face = (pts[:, 0] > 0.20) & (pts[:, 1] > 0.0)
    max_len = np.where(on_face, 0.006, np.where(pts[:, 0] > 0.2, 0.010, 0.014))
    keep = _seam_keep(pts, 3e-4, max_len).tolist()
    nbrs = _neighbour_sets(len(verts), faces)
    on_seam = _boundary_vertices(len(verts), faces).tolist()
    start = keep.index(True)
    rows, anchor, n_seam = [], int(loop[start]), len(loop)
    for i in np.roll(np.arange(len(loop)), -start)[1:].tolist():
        b = int(loop[i])
        if not keep[i] and _try_collapse(nbrs, on_seam, anchor, b, 1):
            rows.append((anchor, b))
            n_seam -= 1
        else:
            anchor = b  # kept by design, or its collapse would break the manifold
    if n_seam % 2 == 0:  # an odd seam makes the whole's 2 V - S odd like NUM_VERTICES
        for a, b in zip(loop.tolist(), np.roll(loop, -1).tolist(), strict=True):
            if nbrs[a] and nbrs[b] and _try_collapse(nbrs, on_seam, a, b, 1):
                rows.append((a, b))
                break
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def _apply_collapses(verts: np.ndarray, faces: np.ndarray, collapses: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Merge each ``gone`` vertex into its ``keep`` vertex (kept vertices do not move), drop the
    faces that degenerate and renumber; each collapse must remove one vertex and one face."""
    target = np.arange(len(verts))
    for a, b in collapses.tolist():
        target[b] = a
    while True:  # resolve chains b -> a -> ...
        nxt = target[target]
        if np.array_equal(nxt, target):
            break
        target = nxt
    f = target[faces]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    used = np.unique(f)
    if len(verts) - len(used) != len(collapses) or len(faces) - len(f) != len(collapses):
        raise StandinBuildError(
            f"seam thinning: {len(collapses)} seam collapses removed {len(verts) - len(used)} "
            f"vertices and {len(faces) - len(f)} faces, expected {len(collapses)} of each")
    renumber = np.full(len(verts), -1)
    renumber[used] = np.arange(len(used))
    return verts[used], renumber[f]


def _mirror_whole(verts: np.ndarray, faces: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The whole body from its left half: the right half is the mirror image, welded on the seam
    (the vertices with x == 0). Returns vertices, faces and, per vertex, its mirror's index."""
    seam = verts[:, 0] == 0.0
    n = len(verts)
    off = np.flatnonzero(~seam)
    index = np.arange(n)
    index[off] = n + np.arange(len(off))
    whole_v = np.concatenate([verts, _mirror(verts[off])])
    whole_f = np.concatenate([faces, index[faces][:, ::-1]])
    mirror_of = np.arange(len(whole_v))
    mirror_of[off] = index[off]
    mirror_of[index[off]] = off
    return whole_v, whole_f, mirror_of


# --------------------------------------------------------------------------------------------
# relaxation: Delaunay flips and tangential smoothing on the implicit surface


def _angles(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.arctan2(np.linalg.norm(np.cross(u, w), axis=1), (u * w).sum(1))


def _flip_edges(verts: np.ndarray, faces: np.ndarray, seam: np.ndarray,
                max_dihedral_deg: float = 25.0, passes: int = 3) -> np.ndarray:
    """Delaunay edge flips between nearly coplanar faces of the half; returns the new faces.

    Each pass finds, vectorised, the interior edges whose opposite angles sum to more than pi,
    then flips them greedily (worst first) while no face is touched twice, the new edge is new
    and does not join two seam vertices (its mirror would duplicate it in the whole).
    """
    faces = faces.copy()
    nv = len(verts)
    cos_max = np.cos(np.deg2rad(max_dihedral_deg))
    for _ in range(passes):
        nf = len(faces)
        directed = _directed_edges(faces)
        opposite = np.concatenate([faces[:, 2], faces[:, 0], faces[:, 1]])
        owner = np.tile(np.arange(nf), 3)
        key = directed[:, 0] * nv + directed[:, 1]
        order = np.argsort(key)
        twin_key = directed[:, 1] * nv + directed[:, 0]
        twin = order[np.minimum(np.searchsorted(key[order], twin_key), len(key) - 1)]
        half = np.flatnonzero((directed[:, 0] < directed[:, 1]) & (key[twin] == twin_key))
        a, b = directed[half, 0], directed[half, 1]
        c, d = opposite[half], opposite[twin[half]]
        f1, f2 = owner[half], owner[twin[half]]
        pa, pb, pc, pd = verts[a], verts[b], verts[c], verts[d]
        n1, n2 = np.cross(pb - pa, pc - pa), np.cross(pa - pb, pd - pb)
        m1, m2 = np.cross(pd - pa, pc - pa), np.cross(pb - pd, pc - pd)
        nsum = n1 + n2
        badness = _angles(pa - pc, pb - pc) + _angles(pa - pd, pb - pd) - np.pi
        ok = ((badness > 1e-9) & (c != d) & ~(seam[c] & seam[d])
              & ((n1 * n2).sum(1) >= cos_max * np.linalg.norm(n1, axis=1)
                 * np.linalg.norm(n2, axis=1))
              & ((m1 * nsum).sum(1) > 0) & ((m2 * nsum).sum(1) > 0))
        cand = np.flatnonzero(ok)
        cand = cand[np.argsort(-badness[cand], kind="stable")]
        edges = set((np.minimum(directed[:, 0], directed[:, 1]) * nv
                     + np.maximum(directed[:, 0], directed[:, 1])).tolist())
        touched = np.zeros(nf, dtype=bool)
        flipped = 0
        for i in cand.tolist():
            g1, g2 = f1[i], f2[i]
            ci, di = int(c[i]), int(d[i])
            new_key = min(ci, di) * nv + max(ci, di)
            if touched[g1] or touched[g2] or new_key in edges:
                continue
            ai, bi = int(a[i]), int(b[i])
            faces[g1] = (ai, di, ci)
            faces[g2] = (di, bi, ci)
            edges.discard(min(ai, bi) * nv + max(ai, bi))
            edges.add(new_key)
            touched[g1] = touched[g2] = True
            flipped += 1
        if flipped == 0:
            break
    return faces


def _relax_half(verts: np.ndarray, faces: np.ndarray, prims: list[_Prim], rounds: int = 6,
                step: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Even out the decimated half without changing its vertex count or topology: Delaunay flips
    alternate with tangential Laplacian smoothing (neighbour centroids taken on the mirrored
    whole), each followed by a projection onto the surface. Seam vertices stay where they are."""
    from scipy.sparse import coo_matrix

    seam = verts[:, 0] == 0.0
    n = len(verts)
    verts = _project(verts, prims)
    verts[seam, 0] = 0.0
    for _ in range(rounds):
        faces = _flip_edges(verts, faces, seam)
        whole_v, whole_f, _ = _mirror_whole(verts, faces)
        e = _directed_edges(whole_f)
        adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), (len(whole_v),) * 2).tocsr()
        centroid = ((adj @ whole_v) / np.asarray(adj.sum(1)))[:n]
        normal = _sdf_normals(verts, prims)
        delta = centroid - verts
        delta -= (delta * normal).sum(1, keepdims=True) * normal
        delta[seam] = 0.0
        moved = _project(verts + step * delta, prims)
        verts[~seam] = moved[~seam]
    return verts, _flip_edges(verts, faces, seam)


def _surface_mesh(prims: list[_Prim]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The closed stand-in mesh: (NUM_VERTICES, 3) vertices, (NUM_FACES, 3) faces, mirror map."""
    dense_v, dense_f = _dense_half_mesh(prims, _GRID_STEP)
    half_v, half_f = _decimate_half(dense_v, dense_f, NUM_VERTICES)
    half_v, half_f = _relax_half(half_v, half_f, prims)
    verts, faces, mirror_of = _mirror_whole(half_v, half_f)
    check_closed_mesh(verts, faces, "stand-in mesh")
    if len(verts) != NUM_VERTICES or len(faces) != NUM_FACES:
        raise StandinBuildError(
            f"stand-in mesh: expected {NUM_VERTICES} vertices and {NUM_FACES} faces, found "
            f"{len(verts)} and {len(faces)}")
    return verts, faces, mirror_of


# --------------------------------------------------------------------------------------------
# body parts: each vertex belongs to the bone (joint -> next joint) of its nearest primitive


def _chains() -> dict[str, tuple[tuple[int, ...], np.ndarray]]:
    """Bone chains: name -> (joint ids, end point). Segment i runs from joint ids[i] to the
    next joint (or the end point) and is the body part of joint ids[i]."""
    J, ix = DESIGNED_JOINTS, JOINT_INDEX
    chains = {
        "spine": ((0, 3, 6, 9), J[12]),
        "neck": ((12,), J[15]),
        "head": ((15,), np.array([0.0, 0.45, 0.0])),
        "jaw": ((22,), np.array([0.0, 0.235, 0.07])),
    }
    toe_tip = _foot((0.0, -0.062, 0.19))
    left = {
        "arm": (("collar", "shoulder", "elbow", "wrist"), np.array([0.74, _PALM_Y, -0.03])),
        "palm": (("wrist",), _finger_points("middle")[0]),
        "leg": (("hip", "knee", "ankle"), J[ix["left_foot"]]),
        "foot": (("ankle", "foot"), toe_tip),
        "toes": (("foot",), toe_tip),
    }
    for finger in _LEFT_FINGERS:
        left[finger] = ((f"{finger}1", f"{finger}2", f"{finger}3"), _finger_points(finger)[3])
    for side, word in (("l", "left"), ("r", "right")):
        for name, (joints, end) in left.items():
            chains[f"{name}_{side}"] = (tuple(ix[f"{word}_{j}"] for j in joints),
                                        end if side == "l" else _mirror(end))
    return chains


def _part_labels(verts: np.ndarray, faces: np.ndarray, prims: list[_Prim]) -> np.ndarray:
    """(V,) joint id of the body part of each vertex.

    The nearest primitive gives a chain and the nearest segment of that chain the part. The big
    pelvis ellipsoids reach down over the top of the thighs, so trunk vertices below the groin
    (at hip height in front, the gluteal fold 8 cm lower behind) go to the thighs; vertices on
    the seam x = 0 only see centre chains. Two passes of a majority filter over each vertex's
    neighbours then smooth the part boundaries.
    """
    from scipy.sparse import coo_matrix

    chains = _chains()
    adds = [p for p in prims if not p.sub]
    dist = np.stack([_prim_sdf(p, verts) for p in adds], 1)
    centre = np.array([p.chain in _CENTRE_CHAINS for p in adds])
    seam = verts[:, 0] == 0.0
    dist[np.ix_(seam, ~centre)] = np.inf
    nearest = np.argmin(dist, 1)
    labels = np.empty(len(verts), dtype=np.int64)
    for pi in np.unique(nearest):
        rows = np.flatnonzero(nearest == pi)
        ids, end = chains[adds[pi].chain]
        pts = np.concatenate([DESIGNED_JOINTS[list(ids)], end[None]])
        seg = np.stack([_segment_offsets(verts[rows], pts[i], pts[i + 1])
                        for i in range(len(ids))], 1)
        labels[rows] = np.asarray(ids)[np.argmin(np.linalg.norm(seg, axis=2), 1)]
    hip_y = _J("left_hip")[1]
    groin = hip_y + 0.01 - 0.09 * _smoothstep(-verts[:, 2], -0.02, 0.06)
    below = (labels == JOINT_INDEX["pelvis"]) & (verts[:, 1] < groin) & ~seam
    labels[below] = np.where(verts[below, 0] > 0, JOINT_INDEX["left_hip"],
                             JOINT_INDEX["right_hip"])
    e = _directed_edges(faces)
    adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), (len(verts),) * 2).tocsr()
    for _ in range(2):
        onehot = np.zeros((len(verts), NUM_JOINTS))
        onehot[np.arange(len(verts)), labels] = 1.0
        votes = adj @ onehot + 1.5 * onehot
        votes[np.ix_(seam, np.flatnonzero(_mirror_joint_ids() != np.arange(NUM_JOINTS)))] = 0
        labels = np.argmax(votes, 1)
    return labels


def _segment_offsets(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3) vectors from the closest points of segment a-b to the points ``x``."""
    ab = b - a
    t = np.clip(((x - a) @ ab) / max(ab @ ab, 1e-30), 0.0, 1.0)
    return x - a - t[:, None] * ab


def _mirror_joint_ids() -> np.ndarray:
    """(55,) the id of each joint's mirror image (left <-> right; centre joints themselves)."""
    out = np.arange(NUM_JOINTS)
    for name, i in JOINT_INDEX.items():
        if name.startswith("left_"):
            j = JOINT_INDEX["right_" + name[5:]]
            out[i], out[j] = j, i
    return out


# --------------------------------------------------------------------------------------------
# skinning weights

_BLEND_WIDTH = {  # metres of geodesic blending on each side of a part boundary, by child joint
    "hip": 0.09, "knee": 0.045, "ankle": 0.03, "foot": 0.015, "spine1": 0.05, "spine2": 0.05,
    "spine3": 0.05, "neck": 0.045, "head": 0.03, "jaw": 0.02, "collar": 0.04, "shoulder": 0.05,
    "elbow": 0.035, "wrist": 0.025, "eye_smplhf": 0.01, "thumb1": 0.015, "1": 0.012,
    "2": 0.008, "3": 0.006,
}  # fmt: skip


def _blend_pairs() -> list[tuple[int, int, float]]:
    """(part, other part, width) pairs that may blend: each bone with its parent, plus the armpit
    (spine3-shoulder), the neck-collar slopes and under the chin (neck-jaw)."""
    pairs = []
    for j in range(1, NUM_JOINTS):
        name = JOINT_NAMES[j].removeprefix("left_").removeprefix("right_")
        pairs.append((PARENTS[j], j, _BLEND_WIDTH.get(name, _BLEND_WIDTH.get(name[-1]))))
    ix = JOINT_INDEX
    pairs.append((ix["neck"], ix["jaw"], 0.02))
    for side in ("left", "right"):
        pairs.append((ix["spine3"], ix[f"{side}_shoulder"], 0.05))
        pairs.append((ix["neck"], ix[f"{side}_collar"], 0.03))
    return pairs


def _skinning_weights(verts: np.ndarray, faces: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(V, 55) float32 LBS weights: 1 on the vertex's own part, blended only across boundaries
    between related parts (:func:`_blend_pairs`) within a geodesic band of the pair's width.

    A vertex of part a at geodesic distance g (along edges inside parts a and b) from the a|b
    boundary gives b ``0.5 (1 - smoothstep(g / width))``: 0.5 at the boundary, 0 beyond the
    width, a the rest (the others are scaled to leave a more than half). Weights are quantised
    to 2**-12 with the own part taking the remainder, so each row sums to exactly 1.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    nv = len(verts)
    e = _directed_edges(faces)
    e = e[e[:, 0] < e[:, 1]]
    length = np.linalg.norm(verts[e[:, 0]] - verts[e[:, 1]], axis=1)
    la, lb = labels[e[:, 0]], labels[e[:, 1]]
    other = np.zeros((nv, NUM_JOINTS))
    for a, b, width in _blend_pairs():
        cross = ((la == a) & (lb == b)) | ((la == b) & (lb == a))
        if not cross.any():
            continue
        inside = np.isin(la, (a, b)) & np.isin(lb, (a, b)) & ~cross
        # a virtual source sits on the boundary, half an edge from both ends of each crossing
        src = np.concatenate([e[inside, 0], e[inside, 1], np.full(2 * cross.sum(), nv)])
        dst = np.concatenate([e[inside, 1], e[inside, 0], e[cross].ravel()])
        w = np.concatenate([length[inside], length[inside], np.repeat(length[cross] / 2, 2)])
        graph = coo_matrix((w, (src, dst)), (nv + 1, nv + 1)).tocsr()
        g = dijkstra(graph, indices=nv, limit=width)[:nv]
        near = np.flatnonzero(np.isfinite(g))
        t = np.clip(g[near] / width, 0.0, 1.0)
        to = np.where(labels[near] == a, b, a)
        other[near, to] = np.maximum(other[near, to], 0.5 * (1.0 - t * t * (3.0 - 2.0 * t)))
    cap = 0.5 - 1.0 / 4096.0  # the own part always keeps more than half
    total = other.sum(1)
    scale = np.where(total > cap, cap / np.maximum(total, 1e-12), 1.0)
    weights = np.floor(other * scale[:, None] * 4096.0) / 4096.0
    weights[np.arange(nv), labels] = 1.0 - weights.sum(1)
    return weights.astype(np.float32)


# --------------------------------------------------------------------------------------------
# joint regressor


def _joint_regressor(verts: np.ndarray, labels: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(55, V) float32 non-negative rows summing to 1 with ``J_regressor @ verts == joints``.

    Each joint is a convex combination of surface vertices of its own and adjacent parts: the
    weights closest to a smooth falloff over its nearest such vertices that reproduce the joint
    exactly (a bounded least-squares problem with the constraints weighted 1e4), taking more
    vertices until the joint lies inside their convex hull.
    """
    from scipy.optimize import lsq_linear

    reg = np.zeros((NUM_JOINTS, len(verts)))
    present = np.bincount(labels, minlength=NUM_JOINTS) > 0
    for j in range(NUM_JOINTS):
        related = {j, PARENTS[j]} | {c for c in range(NUM_JOINTS) if PARENTS[c] == j}
        related = sorted(r for r in related if r >= 0 and present[r])
        pool = np.flatnonzero(np.isin(labels, related))
        pool = pool[np.argsort(np.linalg.norm(verts[pool] - joints[j], axis=1), kind="stable")]
        count = 24
        for _ in range(12):
            cand = pool[:count]
            d = np.linalg.norm(verts[cand] - joints[j], axis=1)
            prior = np.exp(-2.0 * (d / d.max()) ** 2)
            big = 1e4
            a = np.concatenate([big * verts[cand].T, big * np.ones((1, len(cand))),
                                np.eye(len(cand))])
            b = np.concatenate([big * joints[j], [big], prior / prior.sum()])
            w = lsq_linear(a, b, bounds=(0.0, np.inf), method="bvls").x
            w = np.where(w < 1e-7, 0.0, w)
            w /= w.sum()
            if np.linalg.norm(w @ verts[cand] - joints[j]) < 1e-5:
                break
            count = int(count * 1.5)
        else:
            raise StandinBuildError(
                f"J_regressor: joint {JOINT_NAMES[j]} is not inside its surrounding vertices")
        reg[j, cand] = w
    return reg.astype(np.float32)


# --------------------------------------------------------------------------------------------
# the vertex ids smplx reads extra joints from


def _foot_forward() -> np.ndarray:
    """Unit toe direction of the left foot."""
    return _yaw(_FOOT_YAW) @ np.array([0.0, 0.0, 1.0])


def designed_keypoints() -> dict[str, np.ndarray]:
    """Designed surface points (metres) of the anatomy behind :data:`SMPLX_VERTEX_IDS`: nose tip,
    front of the eyeballs, outer ear, finger and thumb tips, big and small toe tips, and the
    back-bottom of the heels."""
    prims = {p.name: p for p in primitives()}
    out: dict[str, np.ndarray] = {}
    nose = prims["nose"]
    out["nose"] = np.asarray(nose.b) + np.array([0.0, 0.0, nose.rb])
    out["leye"] = _J("left_eye_smplhf") + np.array([0.0, 0.0, prims["eye_l"].radii[2]])
    ear = prims["ear_l"]
    out["lear"] = np.asarray(ear.a) + np.array([ear.radii[0], 0.0, 0.0])
    for finger in _LEFT_FINGERS:
        pts = _finger_points(finger)
        direction = (pts[3] - pts[2]) / np.linalg.norm(pts[3] - pts[2])
        tip_r = _THUMB_RADII[3] if finger == "thumb" else _FINGERS[finger][5]
        out[f"l{finger}"] = pts[3] + tip_r * direction
    for key, name in (("LBigToe", "big_toe_l"), ("LSmallToe", "toe5_l")):
        toe = prims[name]
        out[key] = np.asarray(toe.b) + toe.rb * _foot_forward()
    heel = prims["heel_l"]
    local = np.array([0.0, -1.0, -1.0]) * np.asarray(heel.radii)
    local /= np.linalg.norm(local / np.asarray(heel.radii))  # on the ellipsoid
    out["LHeel"] = np.asarray(heel.a) + np.asarray(heel.rot) @ local
    for key in list(out):
        if key[0] in "lL":
            out[("r" if key[0] == "l" else "R") + key[1:]] = _mirror(out[key])
    return out


def _keypoint_vertices(verts: np.ndarray, labels: np.ndarray, mirror_of: np.ndarray
                       ) -> dict[str, int]:
    """The vertex for each of :data:`SMPLX_VERTEX_IDS`, the extreme one in the anatomical sense
    near the designed point: most anterior nose, most lateral ear, most distal finger tip, most
    forward toe, lowest-rearmost heel, the eyeball vertex nearest to its front; right = mirror."""
    kp = designed_keypoints()
    ix = JOINT_INDEX
    near = {k: np.linalg.norm(verts - p, axis=1) for k, p in kp.items()}
    out: dict[str, int] = {}
    nose = np.flatnonzero((labels == ix["head"]) & (near["nose"] < 0.03))
    out["nose"] = int(nose[np.argmax(verts[nose, 2])])
    out["leye"] = int(np.argmin(near["leye"]))
    ear = np.flatnonzero(near["lear"] < 0.02)
    out["lear"] = int(ear[np.argmax(verts[ear, 0])])
    for finger in _LEFT_FINGERS:
        pts = _finger_points(finger)
        tip = np.flatnonzero(labels == ix[f"left_{finger}3"])
        out[f"l{finger}"] = int(tip[np.argmax(verts[tip] @ (pts[3] - pts[2]))])
    forward = _foot_forward()
    for key in ("LBigToe", "LSmallToe"):
        toe = np.flatnonzero(near[key] < 0.012)
        out[key] = int(toe[np.argmax(verts[toe] @ forward)])
    heel = np.flatnonzero(near["LHeel"] < 0.03)
    out["LHeel"] = int(heel[np.argmin(verts[heel, 1] + verts[heel] @ forward)])
    for key in list(out):
        if key[0] in "lL":
            out[("r" if key[0] == "l" else "R") + key[1:]] = int(mirror_of[out[key]])
    return out


def _vertex_permutation(verts: np.ndarray, labels: np.ndarray, keypoints: dict[str, int]
                        ) -> np.ndarray:
    """``perm`` with ``new_verts = verts[perm]``: vertices sorted by body part, then position,
    except that each keypoint vertex sits at its SMPL-X vertex id."""
    order = np.lexsort((verts[:, 2], verts[:, 1], verts[:, 0], labels))
    special = np.array([SMPLX_VERTEX_IDS[k] for k in keypoints])
    chosen = np.array([keypoints[k] for k in keypoints])
    if len(set(chosen.tolist())) != len(chosen):
        raise StandinBuildError("keypoints: two SMPL-X keypoints picked the same vertex")
    perm = np.full(len(verts), -1)
    perm[special] = chosen
    perm[perm < 0] = order[~np.isin(order, chosen)]
    return perm


# --------------------------------------------------------------------------------------------
# shape space

NUM_DESIGNED_SHAPES = 20
NUM_BUMP_SHAPES = 12
_GIRTH = {  # radial inflation per unit beta of each part about its bone axis
    "pelvis": 0.14, "spine1": 0.14, "spine2": 0.14, "spine3": 0.12, "neck": 0.06,
    "head": 0.03, "jaw": 0.03, "collar": 0.08, "shoulder": 0.10, "elbow": 0.08, "wrist": 0.04,
    "hip": 0.10, "knee": 0.08, "ankle": 0.03, "foot": 0.03, "eye_smplhf": 0.0,
}  # fmt: skip
_FINGER_GIRTH = 0.03


def _smoothstep(x: np.ndarray, e0: float, e1: float) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _bone_offsets(verts: np.ndarray) -> np.ndarray:
    """(V, 55, 3): for each part's bone segment, the vectors from it to the vertices."""
    out = np.zeros((len(verts), NUM_JOINTS, 3))
    for ids, end in _chains().values():
        pts = np.concatenate([DESIGNED_JOINTS[list(ids)], end[None]])
        for i, j in enumerate(ids):
            out[:, j] = _segment_offsets(verts, pts[i], pts[i + 1])
    return out


def _shape_space(verts: np.ndarray, faces: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(V, 3, 400) float32 shape (0..299) and expression (300..399) directions, metres per unit.

    One unit of a beta is meant as about one standard deviation of an adult population:

    ==  ==========================================================================
    0   height: uniform scale about the pelvis, +7 cm of stature
    1   girth: radial inflation about every bone axis (waist radius +1.6 cm)
    2   limb length: arms +3 cm (along the arm) and legs +4.5 cm (downwards)
    3   shoulder width: shoulders and arms 1.2 cm further out on each side
    4   hip width: hips and legs 1 cm further out on each side
    5   head size: +5 % about the middle of the head
    6   belly: pushed forward and sideways by up to 2.5 cm
    7   torso length: hips to shoulders +2.8 cm (everything above moves up)
    8   chest: radial inflation of the rib cage
    9   neck length: +1.8 cm
    10  hand size: +8 % about the wrists
    11  foot size: +7 % about the ankles, on the floor
    12  buttocks: pushed back by up to 1.5 cm
    13  thigh girth
    14  upper-arm girth
    15  waist girth
    16  chest depth: front-back scale of the chest
    17  head forward: the head and upper neck 1.5 cm forward
    18  shoulder height: shoulders and arms 1 cm up
    19  leg length: legs +3 cm (downwards)
    20  twelve smooth symmetric bumps along the normals, 8 mm decreasing to 2 mm
    ==  ==========================================================================

    Components 32..299 and all expression components are zero. All components are left-right
    symmetric. Values are quantised to 2**-16 m so that the file compresses well.
    """
    ix = JOINT_INDEX
    J = DESIGNED_JOINTS
    x, y, z = verts[:, 0], verts[:, 1], verts[:, 2]
    ax, sx = np.abs(x), np.sign(x)
    w = weights.astype(np.float64)
    offsets = _bone_offsets(verts)
    dirs = np.zeros((len(verts), 3, NUM_DESIGNED_SHAPES + NUM_BUMP_SHAPES))

    def inflate(parts: list[int], coeff: float) -> np.ndarray:
        return coeff * np.einsum("vj,vjk->vk", w[:, parts], offsets[:, parts])

    girth = np.array([_GIRTH.get(n.removeprefix("left_").removeprefix("right_"), _FINGER_GIRTH)
                      for n in JOINT_NAMES])
    torso = [ix["pelvis"], ix["spine1"], ix["spine2"], ix["spine3"]]
    hip_y, shoulder_y = J[ix["left_hip"], 1], J[ix["left_shoulder"], 1]
    legs = np.maximum(hip_y - y, 0.0)
    chest_band = np.exp(-(((y - 0.02) / 0.1) ** 2))

    dirs[:, :, 0] = 0.07 / 1.75 * (verts - J[ix["pelvis"]])
    dirs[:, :, 1] = np.einsum("vj,j,vjk->vk", w, girth, offsets)
    dirs[:, 1, 2] = -0.045 / 0.85 * legs
    for sign, side in ((1.0, "left"), (-1.0, "right")):
        this_side = sign * x > 0
        shoulder, wrist = J[ix[f"{side}_shoulder"]], J[ix[f"{side}_wrist"]]
        u = (wrist - shoulder) / np.linalg.norm(wrist - shoulder)
        along = np.maximum((verts - shoulder) @ u, 0.0) * this_side * _smoothstep(y, -0.15, -0.05)
        dirs[:, :, 2] += 0.03 / 0.7 * along[:, None] * u
        hand = _smoothstep((verts - wrist) @ u, -0.03, 0.0) * this_side
        dirs[:, :, 10] += 0.08 * hand[:, None] * (verts - wrist)
        floor_ankle = J[ix[f"{side}_ankle"]] * np.array([1.0, 0.0, 1.0]) + (0.0, -1.29, 0.0)
        foot = (1.0 - _smoothstep(y, -1.17, -1.12)) * this_side
        dirs[:, :, 11] += 0.07 * foot[:, None] * (verts - floor_ankle)
        buttock = np.exp(-((np.linalg.norm(verts - (sign * 0.062, -0.43, -0.12), axis=1)
                            / 0.08) ** 2))
        dirs[:, 2, 12] -= 0.015 * buttock * (z < 0)
    dirs[:, 0, 3] = 0.012 * sx * _smoothstep(ax, 0.03, 0.17) * _smoothstep(y, -0.1, 0.0)
    dirs[:, 0, 4] = 0.010 * sx * _smoothstep(ax, 0.0, 0.10) * (1.0 - _smoothstep(y, -0.3, -0.15))
    dirs[:, :, 5] = 0.05 * _smoothstep(y, 0.18, 0.24)[:, None] * (verts - (0.0, 0.33, 0.0))
    belly = np.exp(-((x / 0.13) ** 2 + ((y + 0.2) / 0.11) ** 2 + ((z - 0.1) / 0.12) ** 2))
    level = offsets[:, ix["spine1"]] * (1.0, 0.0, 1.0)
    level /= np.maximum(np.linalg.norm(level, axis=1, keepdims=True), 1e-9)
    dirs[:, :, 6] = 0.025 * (belly * w[:, torso].sum(1))[:, None] * level
    dirs[:, 1, 7] = 0.05 * np.clip(y - hip_y, 0.0, shoulder_y - hip_y)
    dirs[:, :, 8] = chest_band[:, None] * inflate(torso, 0.08)
    dirs[:, 1, 9] = 0.15 * np.clip(y - 0.14, 0.0, 0.12)
    dirs[:, :, 13] = inflate([ix["left_hip"], ix["right_hip"]], 0.12)
    dirs[:, :, 14] = inflate([ix["left_shoulder"], ix["right_shoulder"]], 0.12)
    dirs[:, :, 15] = np.exp(-(((y + 0.12) / 0.1) ** 2))[:, None] * inflate(torso, 0.10)
    dirs[:, 2, 16] = 0.06 * chest_band * (z + 0.01) * w[:, torso].sum(1)
    dirs[:, 2, 17] = 0.015 * _smoothstep(y, 0.12, 0.26)
    dirs[:, 1, 18] = 0.010 * _smoothstep(ax, 0.04, 0.16) * _smoothstep(y, -0.05, 0.05)
    dirs[:, 1, 19] = -0.03 / 0.85 * legs
    normals = _vertex_normals(verts, faces)
    rng = np.random.default_rng(20260)
    left = np.flatnonzero(x > 0.02)
    for k in range(NUM_BUMP_SHAPES):
        centre = verts[left[rng.integers(len(left))]]
        sigma = rng.uniform(0.05, 0.12)
        amp = 0.008 / (1.0 + 0.25 * k) * rng.choice([-1.0, 1.0])
        for c in (centre, _mirror(centre)):
            d = np.linalg.norm(verts - c, axis=1)
            bump = np.where(d < 3 * sigma, np.exp(-0.5 * (d / sigma) ** 2), 0.0)
            dirs[:, :, NUM_DESIGNED_SHAPES + k] += amp * bump[:, None] * normals
    out = np.zeros((len(verts), 3, NUM_SHAPE_COMPONENTS + NUM_EXPRESSION_COMPONENTS),
                   dtype=np.float32)
    out[:, :, : dirs.shape[2]] = np.round(dirs * 65536.0) / 65536.0
    return out


# --------------------------------------------------------------------------------------------
# face landmarks

#: The 51 static face landmarks in iBUG 68-point order without the 17 jaw points (brows, nose
#: bridge, nostrils, eyes, outer and inner lips; the subject's right, -x, first): (x, y) in
#: metres, projected onto the face along -z.
_FACE_LANDMARKS_XY = (
    (-0.058, 0.365), (-0.047, 0.371), (-0.036, 0.373), (-0.025, 0.372), (-0.014, 0.369),
    (0.014, 0.369), (0.025, 0.372), (0.036, 0.373), (0.047, 0.371), (0.058, 0.365),
    (0.0, 0.352), (0.0, 0.340), (0.0, 0.328), (0.0, 0.318),
    (-0.016, 0.307), (-0.008, 0.305), (0.0, 0.304), (0.008, 0.305), (0.016, 0.307),
    (-0.047, 0.345), (-0.039, 0.351), (-0.026, 0.351), (-0.018, 0.345), (-0.026, 0.340),
    (-0.039, 0.340),
    (0.018, 0.345), (0.026, 0.351), (0.039, 0.351), (0.047, 0.345), (0.039, 0.340),
    (0.026, 0.340),
    (-0.024, 0.277), (-0.016, 0.283), (-0.007, 0.286), (0.0, 0.285), (0.007, 0.286),
    (0.016, 0.283), (0.024, 0.277), (0.016, 0.270), (0.007, 0.267), (0.0, 0.266),
    (-0.007, 0.267), (-0.016, 0.270),
    (-0.020, 0.277), (-0.007, 0.279), (0.0, 0.279), (0.007, 0.279), (0.020, 0.277),
    (0.007, 0.275), (0.0, 0.275), (-0.007, 0.275),
)  # fmt: skip


def _raycast(verts: np.ndarray, faces: np.ndarray, origins: np.ndarray, dirs: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """First hit of each ray on the mesh (Moeller-Trumbore): face ids (R,), barycentrics (R, 3)."""
    a = verts[faces[:, 0]]
    e1, e2 = verts[faces[:, 1]] - a, verts[faces[:, 2]] - a
    face_ids = np.empty(len(origins), dtype=np.int64)
    bary = np.empty((len(origins), 3))
    for r, (o, d) in enumerate(zip(origins, dirs, strict=True)):
        p = np.cross(d, e2)
        det = (e1 * p).sum(1)
        ok = np.abs(det) > 1e-15
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = o - a
        u = (s * p).sum(1) * inv
        q = np.cross(s, e1)
        v = (q @ d) * inv
        t = (e2 * q).sum(1) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        if not hit.any():
            raise StandinBuildError(f"landmarks: the ray from {o} along {d} misses the body")
        i = np.flatnonzero(hit)[np.argmin(t[hit])]
        face_ids[r] = i
        bary[r] = np.maximum((1.0 - u[i] - v[i], u[i], v[i]), 0.0)
    return face_ids, bary / bary.sum(1, keepdims=True)


def _face_landmarks(verts: np.ndarray, faces: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``lmk_faces_idx`` (51,), ``lmk_bary_coords`` (51, 3), ``dynamic_lmk_faces_idx``
    (79, 17) and ``dynamic_lmk_bary_coords`` (79, 17, 3).

    The 17 contour points run along the jaw from the right ear over the chin to the left ear;
    row ``i`` of the dynamic table is for a head yaw of ``i`` degrees (0..39) or ``39 - i``
    (40..78), as smplx indexes it, and turns the contour rays by half the yaw.
    """
    head = np.isin(faces, np.flatnonzero(verts[:, 1] > 0.2)).all(1)
    sub, ids = faces[head], np.flatnonzero(head)
    xy = np.array(_FACE_LANDMARKS_XY)
    origins = np.column_stack([xy, np.full(len(xy), 0.3)])
    f, lmk_bary = _raycast(verts, sub, origins, np.tile([0.0, 0.0, -1.0], (len(xy), 1)))
    lmk_faces = ids[f]
    phi = np.deg2rad(np.linspace(-90.0, 90.0, 17))
    height = 0.236 + 0.095 * (1.0 - np.cos(phi))
    target = np.column_stack([np.zeros(17), height + 0.02, np.full(17, 0.01)])
    dyn_faces = np.empty((79, 17), dtype=np.int64)
    dyn_bary = np.empty((79, 17, 3))
    for row in range(79):
        yaw = np.deg2rad(row if row < 40 else 39 - row)
        psi = phi * (1.0 - abs(yaw) / np.pi) - yaw / 2.0
        origins = target + 0.3 * np.column_stack([np.sin(psi), np.zeros(17), np.cos(psi)])
        origins[:, 1] = height
        dirs = target - origins
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        f, dyn_bary[row] = _raycast(verts, sub, origins, dirs)
        dyn_faces[row] = ids[f]
    return lmk_faces, lmk_bary.astype(np.float32), dyn_faces, dyn_bary.astype(np.float32)


# --------------------------------------------------------------------------------------------
# assembly


def build_standin() -> dict[str, np.ndarray]:
    """Build the stand-in body: the fields of an SMPL-X ``.npz`` that smplx reads, plus ``J``
    (55, 3) designed joints and ``part_labels`` (V,) uint8 body part (joint id) per vertex.

    Deterministic: the same arrays on every run. Raises :class:`StandinBuildError` if a mesh or
    fitting check fails.
    """
    prims = primitives()
    verts, faces, mirror_of = _surface_mesh(prims)
    labels = _part_labels(verts, faces, prims)
    right = verts[:, 0] < 0  # exact mirror of the left half's labels
    labels[right] = _mirror_joint_ids()[labels[mirror_of[right]]]
    weights = _skinning_weights(verts, faces, labels)
    perm = _vertex_permutation(verts, labels, _keypoint_vertices(verts, labels, mirror_of))
    verts, labels, weights = verts[perm], labels[perm], weights[perm]
    faces = np.argsort(perm)[faces]
    faces = np.take_along_axis(faces, (np.argmin(faces, 1)[:, None] + np.arange(3)) % 3, 1)
    faces = faces[np.lexsort((faces[:, 2], faces[:, 1], faces[:, 0]))]  # same orientation
    check_closed_mesh(verts, faces, "stand-in mesh (renumbered)")
    lmk_faces, lmk_bary, dyn_faces, dyn_bary = _face_landmarks(verts, faces)
    hand_pca = np.eye(45, dtype=np.float32)
    return {
        "v_template": verts.astype(np.float32),
        "f": faces.astype(np.uint32),
        "J_regressor": _joint_regressor(verts, labels, DESIGNED_JOINTS),
        "weights": weights,
        "kintree_table": kintree_table(),
        "J": DESIGNED_JOINTS.astype(np.float32),
        "shapedirs": _shape_space(verts, faces, weights),
        "posedirs": np.zeros((NUM_VERTICES, 3, NUM_POSE_BASIS), dtype=np.float32),
        "hands_componentsl": hand_pca,
        "hands_componentsr": hand_pca.copy(),
        "hands_meanl": np.zeros(45, dtype=np.float32),
        "hands_meanr": np.zeros(45, dtype=np.float32),
        "lmk_faces_idx": lmk_faces,
        "lmk_bary_coords": lmk_bary,
        "dynamic_lmk_faces_idx": dyn_faces,
        "dynamic_lmk_bary_coords": dyn_bary,
        "part_labels": labels.astype(np.uint8),
    }


def write_standin(path: str | os.PathLike = ASSET_PATH) -> Path:
    """Build the stand-in and write it atomically as a compressed ``.npz``; returns the path."""
    return atomic_savez(path, compressed=True, **build_standin())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m posa_model.body.standin",
        description="Regenerate the procedural stand-in body (an SMPL-X format .npz).")
    parser.add_argument("--out", default=str(ASSET_PATH), help=f"output file ({ASSET_PATH})")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    path = write_standin(args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in "
          f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
