"""No two people alike: shapes and pose variation, seeded.

* **Shape**: ``betas`` for the first :data:`NUM_BETAS` components drawn from N(0, 1) and clipped
  at +-:data:`BETA_CLIP` sigma (SMPL-X's first component is mostly stature, so heights spread
  like a population's).
* **Pose**: per-joint noise on the head, neck and spine (:data:`SPINE_NOISE_DEG`), and the
  interactions' own variants (arms on the lap or the table, feet forward or back, legs apart);
  :func:`turn_joint` composes a rotation about an axis of the joint's parent frame with the
  joint's rotation, which is how every variant is built.

Every function takes a ``numpy.random.Generator``; the same seed gives the same people.
Angles in degrees where named ``*_deg``, else radians.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ..body import BodyPose
from ..body.joints import JOINT_INDEX

__all__ = ["BETA_CLIP", "DISTINCT_POSE", "NUM_BETAS", "SPINE_NOISE_DEG", "crowd_variety",
           "draw_betas", "jitter_joints", "mirror", "pose_distance", "turn_joint"]

NUM_BETAS = 10
BETA_CLIP = 2.0
#: Standard deviation (degrees) of the noise per axis, clipped at 2 sigma.
SPINE_NOISE_DEG = {"spine1": 3.0, "spine2": 3.0, "spine3": 3.0, "neck": 6.0, "head": 10.0}


def draw_betas(rng: np.random.Generator, count: int) -> np.ndarray:
    """(count, NUM_BETAS) float32 shapes, N(0, 1) clipped at +-BETA_CLIP."""
    return np.clip(rng.normal(0.0, 1.0, (count, NUM_BETAS)), -BETA_CLIP,
                   BETA_CLIP).astype(np.float32)


def turn_joint(pose: BodyPose, joint: str, axis: str, angles) -> None:
    """Rotate ``joint`` of every body of ``pose`` by ``angles`` ((B,) or scalar, radians) about
    ``axis`` ("x", "y" or "z") of its parent's frame, in place: ``R <- R_axis(angle) R``.
    ``joint`` "pelvis" turns ``global_orient``."""
    b = len(pose)
    angles = np.broadcast_to(np.asarray(angles, np.float64), (b,))
    if joint == "pelvis":
        field, cols = pose.global_orient, slice(0, 3)
    else:
        k = JOINT_INDEX[joint] - 1
        field, cols = pose.body_pose, slice(3 * k, 3 * k + 3)
    current = Rotation.from_rotvec(field[:, cols].astype(np.float64))
    field[:, cols] = (Rotation.from_euler(axis, angles[:, None]) * current).as_rotvec()


def jitter_joints(rng: np.random.Generator, pose: BodyPose,
                  noise_deg: dict[str, float] | None = None) -> None:
    """Add clipped Gaussian noise (per axis) to the joints of ``noise_deg`` (default
    :data:`SPINE_NOISE_DEG`), in place."""
    for joint, std in (noise_deg or SPINE_NOISE_DEG).items():
        for axis in "xyz":
            angle = np.clip(rng.normal(0.0, 1.0, len(pose)), -2.0, 2.0) * np.deg2rad(std)
            turn_joint(pose, joint, axis, angle)


def mirror(pose: BodyPose, rows) -> None:
    """Mirror the bodies ``rows`` of ``pose`` across their sagittal plane (left <-> right), in
    place: the left and right joints swap, and every rotation (x, y, z) becomes (x, -y, -z).
    A person lying on the right side then lies on the left."""
    rows = np.atleast_1d(np.asarray(rows))
    if not len(rows):
        return
    flip = np.array([1.0, -1.0, -1.0])
    pose.global_orient[rows] = pose.global_orient[rows] * flip
    body = pose.body_pose[rows].reshape(len(rows), -1, 3) * flip
    out = body.copy()
    for name, index in JOINT_INDEX.items():
        if name.startswith("left_") and 1 <= index <= body.shape[1]:
            other = JOINT_INDEX["right_" + name[5:]]
            out[:, index - 1], out[:, other - 1] = body[:, other - 1], body[:, index - 1]
    pose.body_pose[rows] = out.reshape(len(rows), -1)


def pose_distance(a: BodyPose, b: BodyPose) -> np.ndarray:
    """(len(a), len(b)) mean geodesic angle (radians) between the 21 body joints' rotations of
    every pair of bodies: 0 for the same pose. Global orientation is left out (a turned person
    is the same pose)."""
    ra = Rotation.from_rotvec(a.body_pose.reshape(-1, 3).astype(np.float64))
    rb = Rotation.from_rotvec(b.body_pose.reshape(-1, 3).astype(np.float64))
    qa = ra.as_quat().reshape(len(a), -1, 4)
    qb = rb.as_quat().reshape(len(b), -1, 4)
    dots = np.abs(np.einsum("ajq,bjq->abj", qa, qb)).clip(0.0, 1.0)
    return (2.0 * np.arccos(dots)).mean(axis=-1)


#: Two people in one crowd count as posed alike below this mean joint angle (radians, about
#: 1.7 degrees per joint): the jitter alone moves every joint by a few degrees.
DISTINCT_POSE = 0.03


def crowd_variety(poses: list[BodyPose], interactions: list[str]) -> dict:
    """How varied a crowd is: ``people``, ``distinct_shapes`` (different betas to 1e-4),
    ``closest_pose`` (the smallest :func:`pose_distance` between two people of the same
    interaction, radians; None with fewer than two), ``alike_pairs`` (pairs of the same
    interaction closer than :data:`DISTINCT_POSE`) and the ``threshold``."""
    shapes = {tuple(np.round(np.asarray(p.betas[0], np.float64), 4)) for p in poses}
    closest, alike = None, 0
    for name in dict.fromkeys(interactions):
        mine = [p for p, i in zip(poses, interactions, strict=True) if i == name]
        if len(mine) < 2:
            continue
        d = pose_distance(BodyPose.concatenate(mine), BodyPose.concatenate(mine))
        pairs = d[np.triu_indices(len(mine), 1)]
        closest = float(pairs.min()) if closest is None else min(closest, float(pairs.min()))
        alike += int((pairs < DISTINCT_POSE).sum())
    return {"people": len(poses), "distinct_shapes": len(shapes), "closest_pose": closest,
            "alike_pairs": alike, "threshold": DISTINCT_POSE}
