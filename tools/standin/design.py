"""The stand-in's design: its numbers, the 55 joints, the signed-distance primitives and their
smooth union (:func:`body_sdf`), and the designed keypoints behind SMPL-X's vertex ids.

Metres, y up, facing +z, the body's left at +x; the left half is designed and mirrored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from posa_model.body.joints import JOINT_INDEX, NUM_JOINTS
from posa_model.errors import PosaError

NUM_VERTICES = 10475
NUM_FACES = 2 * NUM_VERTICES - 4  # closed genus 0
NUM_SHAPE_COMPONENTS = 300
NUM_EXPRESSION_COMPONENTS = 100
NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9

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


def _smoothstep(x: np.ndarray, e0: float, e1: float) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# --------------------------------------------------------------------------------------------
# designed keypoints: the anatomy behind the vertex ids smplx reads extra joints from


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
