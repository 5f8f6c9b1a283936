"""The stand-in's shape space: 20 designed components and 12 smooth bumps (see
:func:`_shape_space`)."""

from __future__ import annotations

import numpy as np

from posa_model.body.joints import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS

from .design import (
    DESIGNED_JOINTS,
    NUM_EXPRESSION_COMPONENTS,
    NUM_SHAPE_COMPONENTS,
    _mirror,
    _smoothstep,
)
from .rig import _chains, _segment_offsets
from .surface import _vertex_normals

NUM_DESIGNED_SHAPES = 20
NUM_BUMP_SHAPES = 12
_GIRTH = {  # radial inflation per unit beta of each part about its bone axis
    "pelvis": 0.14, "spine1": 0.14, "spine2": 0.14, "spine3": 0.12, "neck": 0.06,
    "head": 0.03, "jaw": 0.03, "collar": 0.08, "shoulder": 0.10, "elbow": 0.08, "wrist": 0.04,
    "hip": 0.10, "knee": 0.08, "ankle": 0.03, "foot": 0.03, "eye_smplhf": 0.0,
}  # fmt: skip
_FINGER_GIRTH = 0.03


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
