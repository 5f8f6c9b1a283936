"""Pose-adaptive placement: the pose of each posed body changes during refinement.

A body placed from a :class:`~posa_model.body.BodyPose` (not from bare vertices) has a pose
*change* per candidate: ``delta`` (66,) = (global orient (3), body pose (63)) added to its start
pose's axis-angle values. Its vertices at a hierarchy level are the level's
:meth:`~posa_model.body.BodyModel.subset` posed by the one posing function, then moved into the
body's centred frame (minus its fixed centre, the start pose's centroid in x and z). The
refinement adds two terms to the scene losses (:mod:`.losses`):

* a pose prior toward the start pose: ``w_pose_prior * sum_j stiffness_j * |delta_j|^2``
  (:data:`STIFFNESS`: the legs adapt most, the spine and collars least);
* joint limits: ``w_joint_limits * (relu(-flexion) + relu(flexion - 2.6) + relu(|twist| -
  0.25))^2`` summed over the knees and elbows (hinges: no limb bends the wrong way or twists
  about its own axis), on the total pose, so a start pose within the limits stays within them.

:meth:`PoseBank.final_pose` folds a placement (yaw, t) into ``global_orient`` and ``transl`` so
that posing the returned :class:`~posa_model.body.BodyPose` reproduces the placed vertices
(``R`` the yaw rotation, ``c`` the centre, ``J0`` the rest root joint, ``tau`` the start
translation: ``orient' = R * orient`` and ``transl' = R (J0 + tau - c) - J0 + t``).

Frame: SMPL-X world (+y up, metres); axis-angle radians.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from ..body import BodyModel, BodyPose
from ..body.joints import JOINT_INDEX, NUM_BODY_JOINTS

__all__ = ["DELTA_SIZE", "STIFFNESS", "PoseBank"]

DELTA_SIZE = 3 + 3 * NUM_BODY_JOINTS  # 66: global orient, then the 21 body joints
#: Relative stiffness of each joint's change (1 = the default): what the prior resists most.
STIFFNESS: dict[str, float] = {
    "global_orient": 4.0, "spine1": 6.0, "spine2": 6.0, "spine3": 6.0, "neck": 3.0,
    "head": 2.0, "left_collar": 8.0, "right_collar": 8.0, "left_hip": 0.6, "right_hip": 0.6,
    "left_knee": 0.6, "right_knee": 0.6, "left_ankle": 1.0, "right_ankle": 1.0,
    "left_foot": 4.0, "right_foot": 4.0, "left_shoulder": 1.0, "right_shoulder": 1.0,
    "left_elbow": 1.0, "right_elbow": 1.0, "left_wrist": 2.0, "right_wrist": 2.0,
}
#: Hinge joints: (delta slot of the joint, flexion axis, flexion sign).
_HINGES = [(JOINT_INDEX[n], axis, sign) for n, axis, sign in (
    ("left_knee", 0, 1.0), ("right_knee", 0, 1.0), ("left_elbow", 1, -1.0),
    ("right_elbow", 1, 1.0))]
_MAX_FLEX = 2.6  # rad (149 degrees)
_MAX_TWIST = 0.25  # rad about the non-hinge axes


def _stiffness() -> np.ndarray:
    out = np.ones(DELTA_SIZE)
    for name, value in STIFFNESS.items():
        k = 0 if name == "global_orient" else JOINT_INDEX[name]
        out[3 * k: 3 * k + 3] = value
    out[1] *= 10.0  # the heading is the placement's yaw: the pose barely turns about +y
    return out


class PoseBank:
    """The posed bodies of one placement call (see the module docstring).

    model: the body model; poses: {body index: its one-body start :class:`BodyPose`};
    centres: {body index: (3,) the centre of its centred frame}; levels: {level: (N,) the
    full-mesh vertex ids of the level}.
    """

    def __init__(self, model: BodyModel, poses: dict[int, BodyPose],
                 centres: dict[int, np.ndarray], levels: dict[int, np.ndarray],
                 num_bodies: int, device: torch.device, dtype: torch.dtype = torch.float32):
        self.model = model.to(device, dtype)
        self.device, self.dtype = device, dtype
        self.bodies = sorted(poses)
        self.slot_of = {b: k for k, b in enumerate(self.bodies)}
        #: (num_bodies,) bool: which bodies are posed; row_of: their rows here (-1: none)
        self.flags = torch.zeros(num_bodies, dtype=torch.bool, device=device)
        self.row_of = torch.full((num_bodies,), -1, dtype=torch.long, device=device)
        for b, k in self.slot_of.items():
            self.flags[b], self.row_of[b] = True, k
        self.poses = {b: p.with_betas(model.num_betas) for b, p in poses.items()}
        if self.bodies:
            stacked = BodyPose.concatenate([self.poses[b] for b in self.bodies])
            self.start = stacked.tensors(device, dtype)
        self.centres = {b: np.asarray(c, np.float64) for b, c in centres.items()}
        self.centre_t = torch.tensor(np.stack([self.centres[b] for b in self.bodies])
                                     if self.bodies else np.zeros((0, 3)), device=device,
                                     dtype=dtype)
        self.level_models = {lv: self.model.subset(idx) for lv, idx in levels.items()}
        self.stiffness = torch.tensor(_stiffness(), device=device, dtype=dtype)

    def posed(self, body: int) -> bool:
        return body in self.slot_of

    def _inputs(self, rows: torch.Tensor, delta: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {k: v[rows] for k, v in self.start.items()}
        out["global_orient"] = out["global_orient"] + delta[:, :3]
        out["body_pose"] = out["body_pose"] + delta[:, 3:]
        return out

    def rows(self, bodies: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Bank rows of body indices (every body must be posed)."""
        return self.row_of[torch.as_tensor(bodies, device=self.device).reshape(-1)]

    def vertices(self, level: int, bodies, delta: torch.Tensor) -> torch.Tensor:
        """(n, N, 3) centred-frame vertices at ``level`` of posed ``bodies`` (n,) with pose
        changes ``delta`` (n, 66); differentiable in delta."""
        rows = self.rows(bodies)
        out = self.level_models[level].forward(**self._inputs(rows, delta)).vertices
        return out - self.centre_t[rows][:, None, :]

    def penalty(self, bodies, delta: torch.Tensor, w_prior: float,
                w_limits: float) -> torch.Tensor:
        """(n,) pose prior plus joint-limit penalty of the pose changes (module docstring)."""
        rows = self.rows(bodies)
        prior = (self.stiffness * delta.square()).sum(-1)
        total = self.start["body_pose"][rows] + delta[:, 3:]
        excess = torch.zeros_like(prior)
        for joint, axis, sign in _HINGES:
            r = total[:, 3 * (joint - 1): 3 * joint]
            flex = sign * r[:, axis]
            twist = torch.cat([r[:, :axis], r[:, axis + 1:]], dim=1).abs()
            excess = excess + (torch.relu(-flex) + torch.relu(flex - _MAX_FLEX)).square() \
                + torch.relu(twist - _MAX_TWIST).square().sum(-1)
        return w_prior * prior + w_limits * excess

    @torch.no_grad()
    def full_vertices(self, body: int, delta: np.ndarray, yaw: float,
                      t: np.ndarray) -> np.ndarray:
        """(V, 3) float64 placed full-resolution world vertices."""
        pose = self.final_pose(body, delta, yaw, t)
        return self.model.pose(pose).vertices[0].double().cpu().numpy()

    def final_pose(self, body: int, delta: np.ndarray, yaw: float, t: np.ndarray) -> BodyPose:
        """The one-body :class:`BodyPose` whose posing gives the placed body (world frame)."""
        start = self.poses[body]
        d = np.asarray(delta, np.float64).reshape(DELTA_SIZE)
        orient = start.global_orient[0].astype(np.float64) + d[:3]
        turned = (Rotation.from_euler("y", yaw) * Rotation.from_rotvec(orient)).as_rotvec()
        with torch.no_grad():
            root = self.model.rest_root(torch.tensor(start.betas, device=self.device,
                                                     dtype=self.dtype),
                                        torch.tensor(start.expression, device=self.device,
                                                     dtype=self.dtype))
        j0 = root[0].double().cpu().numpy()
        c, s = np.cos(yaw), np.sin(yaw)
        rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        tau = start.transl[0].astype(np.float64)
        transl = rot @ (j0 + tau - self.centres[body]) - j0 + np.asarray(t, np.float64)
        return start.replace(global_orient=turned[None],
                             body_pose=(start.body_pose[0] + d[3:])[None],
                             transl=transl[None])
