"""Batched posing of an SMPL-X-format body, body-part groups, and the population's sizes.

:class:`BodyPoser` wraps an ``smplx.SMPLX`` module (the stand-in or a real model): it poses B
bodies in one forward pass from numpy parameters and knows which body part every vertex belongs
to (the joint with the largest skinning weight, grouped as :data:`PART_JOINTS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..body.joints import JOINT_INDEX, NUM_BODY_JOINTS
from ..errors import InputShapeError
from .furniture import BodyDims

__all__ = ["PART_JOINTS", "PART_NAMES", "BodyParams", "BodyPoser"]

NUM_BETAS = 10

#: Body parts for contact statistics and contact checks, from the dominant skinning joint.
PART_JOINTS: dict[str, tuple[str, ...]] = {
    "head": ("neck", "head", "jaw", "left_eye_smplhf", "right_eye_smplhf"),
    "torso": ("spine1", "spine2", "spine3", "left_collar", "right_collar"),
    "pelvis": ("pelvis",),
    "thighs": ("left_hip", "right_hip"),
    "shins": ("left_knee", "right_knee"),
    "feet": ("left_ankle", "right_ankle", "left_foot", "right_foot"),
    "arms": ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow"),
    "hands": ("left_wrist", "right_wrist") + tuple(
        n for n in JOINT_INDEX if n.startswith(("left_", "right_"))
        and n[n.index("_") + 1:].rstrip("123") in ("index", "middle", "pinky", "ring", "thumb")
    ),
}
PART_NAMES: tuple[str, ...] = tuple(PART_JOINTS)


@dataclass
class BodyParams:
    """SMPL-X parameters of B bodies (float32): ``betas`` (B, 10), ``global_orient`` (B, 3),
    ``body_pose`` (B, 63), ``transl`` (B, 3); hands relaxed (zero PCA), face neutral."""

    betas: np.ndarray
    global_orient: np.ndarray
    body_pose: np.ndarray
    transl: np.ndarray

    def __post_init__(self) -> None:
        b = len(self.betas)
        for name, width in (("betas", NUM_BETAS), ("global_orient", 3),
                            ("body_pose", 3 * NUM_BODY_JOINTS), ("transl", 3)):
            value = np.asarray(getattr(self, name), dtype=np.float32)
            if value.shape != (b, width):
                raise InputShapeError(f"BodyParams.{name}: expected ({b}, {width}), "
                                      f"found {value.shape}")
            setattr(self, name, value)

    def __len__(self) -> int:
        return len(self.betas)

    def take(self, index) -> BodyParams:
        return BodyParams(self.betas[index], self.global_orient[index], self.body_pose[index],
                          self.transl[index])

    @staticmethod
    def concatenate(items: list[BodyParams]) -> BodyParams:
        return BodyParams(*(np.concatenate([getattr(p, f) for p in items]) for f in
                            ("betas", "global_orient", "body_pose", "transl")))


class BodyPoser:
    """Poses batches of one body model; ``part_of_vertex`` (V,) indexes :data:`PART_NAMES`;
    ``part_masks`` (name -> (V,) bool), ``hand_masks`` / ``palm_masks`` (side -> (V,) bool) and
    the kinematic tree ``parents`` (55,)."""

    def __init__(self, model, chunk: int = 64):
        self.model = model
        self.chunk = chunk
        self.faces = np.asarray(model.faces, dtype=np.int64)
        weights = model.lbs_weights.detach().cpu().numpy()
        self.num_vertices = weights.shape[0]
        joint_part = np.full(weights.shape[1], -1)
        for k, names in enumerate(PART_JOINTS.values()):
            for name in names:
                joint_part[JOINT_INDEX[name]] = k
        self.part_of_vertex = joint_part[weights.argmax(axis=1)]
        if (self.part_of_vertex < 0).any():
            raise InputShapeError("body model: a vertex is skinned to an unknown joint")
        self.part_masks = {name: self.part_of_vertex == k for k, name in enumerate(PART_NAMES)}
        #: (55,) int parent joint of each joint (-1 for the pelvis)
        self.parents = model.parents.detach().cpu().numpy().astype(np.int64)
        rest = model.v_template.detach().cpu().numpy().astype(np.float64)
        dominant = weights.argmax(axis=1)
        names = {i: n for n, i in JOINT_INDEX.items()}
        side = np.array([names.get(int(k), "").split("_")[0] for k in dominant])
        hands = self.part_masks["hands"]
        #: "left" / "right" -> (V,) bool: the vertices of each hand
        self.hand_masks = {s: hands & (side == s) for s in ("left", "right")}
        #: "left" / "right" -> (V,) bool: the palm side of each hand (the lower half of the hand
        #: in the rest T-pose, where SMPL-X palms face down, -y)
        self.palm_masks = {}
        for s, mask in self.hand_masks.items():
            mid = np.median(rest[mask, 1]) if mask.any() else 0.0
            self.palm_masks[s] = mask & (rest[:, 1] < mid)
        self.num_betas = min(NUM_BETAS, int(model.num_betas))
        self.j_regressor = model.J_regressor.detach().cpu().numpy().astype(np.float64)
        self._setup_lbs()

    def _setup_lbs(self) -> None:
        """Constants of :meth:`forward`: the shape basis, the fixed face/hand rotations, and
        the skinning weights as (V, K) joint indices and weights (K = most joints per vertex)."""
        import torch
        from smplx.lbs import batch_rodrigues

        m = self.model
        with torch.no_grad():
            self._template = m.v_template.detach().float().cpu()
            shapedirs = m.shapedirs[:, :, : self.num_betas].detach().float().cpu()
            self._shapedirs = shapedirs.reshape(-1, self.num_betas).T.contiguous()  # (L, 3V)
            jreg = m.J_regressor.detach().float().cpu()
            # joints are linear in the betas: J = J_regressor (template + shapedirs betas)
            self._joint_template = torch.matmul(jreg, self._template)  # (55, 3)
            self._joint_dirs = torch.einsum("jv,lvc->ljc", jreg,
                                            self._shapedirs.reshape(self.num_betas, -1, 3))
            self._parents = m.parents.detach().cpu()
            mean = m.pose_mean.detach().float().cpu().reshape(-1, 3)
            if mean[:22].abs().max() > 0:  # never seen: smplx's mean is zero for the body
                raise InputShapeError("body model: non-zero mean pose for the body joints")
            self._fixed = batch_rodrigues(mean[22:])  # jaw, eyes, hands: constant here
            posedirs = m.posedirs.detach().float().cpu()
            self._posedirs = posedirs if posedirs.abs().max() > 0 else None
            self._skin = m.lbs_weights.detach().float().cpu().to_sparse()  # (V, 55)

    def forward(self, params: BodyParams) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (B, V, 3) and the 55 joints (B, 55, 3), float64, in the SMPL-X world.

        The same linear blend skinning as ``smplx.SMPLX.forward`` with the face and hands at
        rest (zero jaw, eyes, expression and hand PCA), but with sparse skinning weights and no
        pose correctives when the model has none (the stand-in); :meth:`forward_smplx` is the
        plain reference it is tested against.
        """
        import torch
        from smplx.lbs import batch_rigid_transform, batch_rodrigues

        verts, joints = [], []
        for start in range(0, len(params), self.chunk):
            p = params.take(slice(start, start + self.chunk))
            b = len(p)
            with torch.no_grad():
                betas = torch.as_tensor(p.betas[:, : self.num_betas])
                shaped = self._template + torch.matmul(betas, self._shapedirs).reshape(b, -1, 3)
                joints_rest = self._joint_template + torch.einsum("bl,ljc->bjc", betas,
                                                                  self._joint_dirs)
                pose = torch.cat([torch.as_tensor(p.global_orient),
                                  torch.as_tensor(p.body_pose)], dim=1).reshape(-1, 3)
                rot = torch.cat([batch_rodrigues(pose).reshape(b, 22, 3, 3),
                                 self._fixed.expand(b, -1, -1, -1)], dim=1)
                if self._posedirs is not None:
                    eye = torch.eye(3)
                    feature = (rot[:, 1:] - eye).reshape(b, -1)
                    shaped = shaped + torch.matmul(feature, self._posedirs).reshape(b, -1, 3)
                posed_joints, rel = batch_rigid_transform(rot, joints_rest, self._parents)
                # per-vertex transforms = sparse weights x joint transforms (top 3 rows)
                rel = rel[:, :, :3, :].reshape(b, -1, 12).permute(1, 0, 2).reshape(-1, b * 12)
                t = torch.sparse.mm(self._skin, rel).reshape(-1, b, 3, 4)  # (V, B, 3, 4)
                vb = shaped.permute(1, 0, 2)[:, :, None, :]  # (V, B, 1, 3)
                v = ((t[..., :3] * vb).sum(dim=-1) + t[..., 3]).permute(1, 0, 2)
                transl = torch.as_tensor(p.transl)[:, None]
                verts.append((v + transl).numpy().astype(np.float64))
                joints.append((posed_joints + transl).numpy().astype(np.float64))
        return np.concatenate(verts), np.concatenate(joints)

    def forward_smplx(self, params: BodyParams) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`forward` through ``smplx.SMPLX.forward`` itself (the reference)."""
        import torch

        verts, joints = [], []
        for start in range(0, len(params), self.chunk):
            p = params.take(slice(start, start + self.chunk))
            b = len(p)
            ref = self.model.shapedirs
            kw = {"dtype": ref.dtype, "device": ref.device}
            hand = self.model.num_pca_comps if getattr(self.model, "use_pca", False) else 45
            betas = torch.zeros(b, self.model.num_betas, **kw)
            betas[:, : self.num_betas] = torch.as_tensor(p.betas[:, : self.num_betas], **kw)
            with torch.no_grad():
                out = self.model(
                    betas=betas,
                    global_orient=torch.as_tensor(p.global_orient, **kw),
                    body_pose=torch.as_tensor(p.body_pose, **kw),
                    transl=torch.as_tensor(p.transl, **kw),
                    left_hand_pose=torch.zeros(b, hand, **kw),
                    right_hand_pose=torch.zeros(b, hand, **kw),
                    jaw_pose=torch.zeros(b, 3, **kw),
                    leye_pose=torch.zeros(b, 3, **kw),
                    reye_pose=torch.zeros(b, 3, **kw),
                    expression=torch.zeros(b, self.model.num_expression_coeffs, **kw),
                )
            verts.append(out.vertices.cpu().numpy().astype(np.float64))
            joints.append(out.joints[:, :55].cpu().numpy().astype(np.float64))
        return np.concatenate(verts), np.concatenate(joints)

    def dims(self, presets) -> BodyDims:
        """Sizes of the mean body (betas 0) in the ``sit``, ``stand`` and ``lie_back`` presets."""
        rows = [presets["sit"], presets["stand"], presets["lie_back"]]
        params = BodyParams(np.zeros((3, NUM_BETAS)), np.stack([p.global_orient for p in rows]),
                            np.stack([p.body_pose for p in rows]), np.zeros((3, 3)))
        v, _ = self.forward(params)
        seat = self.part_masks["pelvis"] | self.part_masks["thighs"]
        feet = self.part_masks["feet"]
        sit = v[0]
        seat_height = sit[seat, 1].min() - sit[feet, 1].min()
        hips = sit[seat & (sit[:, 1] < sit[seat, 1].min() + 0.12)]
        hip_width = hips[:, 0].max() - hips[:, 0].min()
        arms = sit[self.part_masks["arms"] | self.part_masks["hands"]]
        arm_width = np.ptp(arms[:, 0])
        stature = v[1, :, 1].max() - v[1, :, 1].min()
        lying = np.ptp(v[2, :, 2])
        return BodyDims(float(seat_height), float(hip_width), float(stature), float(lying),
                        float(arm_width))
