"""The one posing function: differentiable linear blend skinning of an SMPL-X-format body.

:class:`BodyModel` holds an SMPL-X-format model (the real SMPL-X or the stand-in) as torch
tensors and poses B bodies in one batched pass: :meth:`BodyModel.forward` takes the
:class:`~.pose.BodyPose` fields as tensors, returns :class:`PosedBodies` and carries gradients
to every pose, shape and translation input. It is the same linear blend skinning as
``smplx.SMPLX.forward`` (shape and expression blend shapes, pose correctives, the kinematic
chain, skinning; smplx's own ``batch_rodrigues`` and ``batch_rigid_transform``), checked against
it in ``tests/test_body_model.py``, with two additions:

* any subset of the vertices (:meth:`BodyModel.subset`): a mesh hierarchy level's vertices
  (655 of 10475 at the network level) are posed without posing the rest; the joints are always
  those of the whole body (they are linear in the shape: ``J = J_template + J_dirs @ shape``);
* no pose correctives when the model has none (the stand-in), and the skinning as one matmul.

Frames and units: SMPL-X world (+y up, metres), axis-angle radians.

    >>> model = load_body_model()                      # posa_model.body
    >>> posed = pose_body(model, BodyPose.from_preset(["sit", "stand"]))
    >>> posed.vertices.shape                           # (2, 10475, 3) numpy float32
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import InputShapeError
from .joints import NUM_JOINTS
from .pose import BODY_POSE_SIZE, HAND_POSE_SIZE, BodyPose

__all__ = ["BodyModel", "PosedBodies", "pose_body"]


@dataclass
class PosedBodies:
    """``vertices`` (B, N, 3) and ``joints`` (B, 55, 3), SMPL-X world (+y up, metres); torch
    tensors from :meth:`BodyModel.forward`, numpy float32 from :func:`pose_body`."""

    vertices: Any
    joints: Any


class BodyModel:
    """An SMPL-X-format body model as tensors; see the module docstring.

    Attributes: ``faces`` (F, 3) int64 numpy (full mesh); ``num_vertices`` V (full mesh) and
    ``vertex_index`` (N,) the full-mesh ids of the vertices this model poses (all of them unless
    made by :meth:`subset`); ``num_betas``, ``num_expression``; ``lbs_weights`` (N, 55) and
    ``v_template`` (N, 3) tensors; ``parents`` (55,) long; ``gender`` and ``source_path``;
    ``smplx``: the ``smplx.SMPLX`` module it was made from (the reference; None for a subset).
    """

    def __init__(self, *, v_template: torch.Tensor, shapedirs: torch.Tensor,
                 exprdirs: torch.Tensor, posedirs: torch.Tensor | None,
                 j_regressor: torch.Tensor, lbs_weights: torch.Tensor, parents: torch.Tensor,
                 left_hand_mean: torch.Tensor, right_hand_mean: torch.Tensor,
                 faces: np.ndarray, gender: str = "neutral", source_path: str = "",
                 smplx_module: Any = None):
        n = v_template.shape[0]
        if v_template.shape != (n, 3) or lbs_weights.shape != (n, NUM_JOINTS):
            raise InputShapeError(f"BodyModel: expected v_template (V, 3) and lbs_weights "
                                  f"(V, {NUM_JOINTS}), found {tuple(v_template.shape)} and "
                                  f"{tuple(lbs_weights.shape)}")
        self.v_template = v_template
        self.shapedirs = shapedirs  # (V, 3, num_betas)
        self.exprdirs = exprdirs  # (V, 3, num_expression)
        self.posedirs = posedirs  # (486, 3V) or None when the model has no correctives
        self.j_regressor = j_regressor  # (55, V_full), only for the joint bases below
        self.lbs_weights = lbs_weights
        self.parents = parents
        self.left_hand_mean, self.right_hand_mean = left_hand_mean, right_hand_mean
        self.faces = np.asarray(faces, dtype=np.int64)
        self.gender, self.source_path = gender, source_path
        self.smplx = smplx_module
        self.num_vertices = int(j_regressor.shape[1])
        self.vertex_index = torch.arange(n, device=v_template.device)
        self.num_betas = int(shapedirs.shape[2])
        self.num_expression = int(exprdirs.shape[2])
        self._depth_groups: list[torch.Tensor] | None = None
        self._joint_bases()

    def _joint_bases(self) -> None:
        """Joints are linear in (betas, expression): J = J_template + J_dirs @ shape."""
        self.joint_template = self.j_regressor @ self._full("v_template")  # (55, 3)
        dirs = torch.cat([self._full("shapedirs"), self._full("exprdirs")], dim=2)
        self.joint_dirs = torch.einsum("jv,vcl->jcl", self.j_regressor, dirs)  # (55, 3, L)

    def _full(self, name: str) -> torch.Tensor:
        """A per-vertex tensor of the full mesh (subsets keep the full ones for the joints)."""
        return getattr(self, f"_full_{name}", getattr(self, name))

    @classmethod
    def from_smplx(cls, module: Any) -> BodyModel:
        """Build from an ``smplx.SMPLX`` module created with ``use_pca=False`` (full hand
        poses); its buffers are copied (float32, the module's device)."""
        if getattr(module, "use_pca", False):
            raise InputShapeError("BodyModel.from_smplx: expected an smplx.SMPLX made with "
                                  "use_pca=False (full 45-value hand poses)")

        def get(name: str) -> torch.Tensor:
            return getattr(module, name).detach().clone().float()

        posedirs = get("posedirs")
        return cls(
            v_template=get("v_template"), shapedirs=get("shapedirs"), exprdirs=get("expr_dirs"),
            posedirs=posedirs if bool(posedirs.abs().max() > 0) else None,
            j_regressor=get("J_regressor"), lbs_weights=get("lbs_weights"),
            parents=module.parents.detach().clone().long(),
            left_hand_mean=get("left_hand_mean"), right_hand_mean=get("right_hand_mean"),
            faces=np.asarray(module.faces, dtype=np.int64),
            gender=str(getattr(module, "gender", "neutral")),
            source_path=str(getattr(module, "source_path", "")), smplx_module=module)

    # ----------------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.v_template.device

    @property
    def dtype(self) -> torch.dtype:
        return self.v_template.dtype

    def to(self, device: Any = None, dtype: torch.dtype | None = None) -> BodyModel:
        """A copy on ``device`` with float tensors in ``dtype`` (the smplx module stays)."""
        out = object.__new__(BodyModel)
        for key, value in self.__dict__.items():
            if isinstance(value, torch.Tensor):
                value = value.to(device=device, dtype=dtype if value.is_floating_point()
                                 else None)
            setattr(out, key, value)
        if dtype is not None and dtype != self.dtype:
            out._joint_bases()  # from the converted full-mesh tensors, not rounded copies
        return out

    def subset(self, vertex_index: Any) -> BodyModel:
        """A model that poses only the full-mesh vertices ``vertex_index`` (N,) (e.g. a mesh
        hierarchy level, :func:`posa_model.mesh.levels.level_indices`); joints are unchanged."""
        index = torch.as_tensor(np.asarray(vertex_index), dtype=torch.long, device=self.device)
        if index.ndim != 1 or not len(index) or int(index.min()) < 0 \
                or int(index.max()) >= self.num_vertices:
            raise InputShapeError(f"BodyModel.subset: expected (N,) vertex ids in "
                                  f"0..{self.num_vertices - 1}")
        base = self.vertex_index[index]
        out = self.to()
        for name in ("v_template", "shapedirs", "exprdirs"):
            setattr(out, f"_full_{name}", self._full(name))
        out.v_template = self.v_template[index]
        out.shapedirs, out.exprdirs = self.shapedirs[index], self.exprdirs[index]
        out.lbs_weights = self.lbs_weights[index]
        if self.posedirs is not None:
            cols = (3 * index[:, None] + torch.arange(3, device=self.device)).reshape(-1)
            out.posedirs = self.posedirs[:, cols]
        out.vertex_index = base
        out.smplx = None
        return out

    # ----------------------------------------------------------------------------------------

    def forward(self, global_orient: torch.Tensor, body_pose: torch.Tensor,
                betas: torch.Tensor | None = None, transl: torch.Tensor | None = None,
                left_hand_pose: torch.Tensor | None = None,
                right_hand_pose: torch.Tensor | None = None,
                jaw_pose: torch.Tensor | None = None,
                expression: torch.Tensor | None = None) -> PosedBodies:
        """Pose B bodies; differentiable in every input.

        Args: ``global_orient`` (B, 3), ``body_pose`` (B, 63), ``betas`` (B, K) (zero-padded or
        cut to ``num_betas``), ``transl`` (B, 3), hand poses (B, 45) (offsets from the mean
        hand), ``jaw_pose`` (B, 3), ``expression`` (B, E); None = zeros. Axis-angle radians,
        metres.

        Returns: :class:`PosedBodies` with vertices (B, N, 3) (N = this model's vertices) and
        joints (B, 55, 3), SMPL-X world.
        """
        from smplx.lbs import batch_rodrigues

        b = global_orient.shape[0]
        dev, dt = self.device, self.dtype

        def part(value: torch.Tensor | None, width: int, name: str) -> torch.Tensor:
            if value is None:
                return torch.zeros(b, width, device=dev, dtype=dt)
            value = value.to(dev, dt)
            if value.ndim != 2 or value.shape[0] != b:
                raise InputShapeError(f"BodyModel.forward: {name}: expected ({b}, {width}), "
                                      f"found {tuple(value.shape)}")
            if value.shape[1] == width:
                return value
            if name in ("betas", "expression"):
                cut = value[:, :width]
                return torch.nn.functional.pad(cut, (0, width - cut.shape[1]))
            raise InputShapeError(f"BodyModel.forward: {name}: expected ({b}, {width}), found "
                                  f"{tuple(value.shape)}")

        orient = part(global_orient, 3, "global_orient")
        body = part(body_pose, BODY_POSE_SIZE, "body_pose")
        shape = torch.cat([part(betas, self.num_betas, "betas"),
                           part(expression, self.num_expression, "expression")], dim=1)
        left = part(left_hand_pose, HAND_POSE_SIZE, "left_hand_pose") + self.left_hand_mean
        right = part(right_hand_pose, HAND_POSE_SIZE, "right_hand_pose") + self.right_hand_mean
        eyes = torch.zeros(b, 6, device=dev, dtype=dt)
        full = torch.cat([orient, body, part(jaw_pose, 3, "jaw_pose"), eyes, left, right], 1)

        dirs = torch.cat([self.shapedirs, self.exprdirs], dim=2)  # (N, 3, L)
        shaped = self.v_template + torch.einsum("bl,ncl->bnc", shape, dirs)
        joints_rest = self.joint_template + torch.einsum("bl,jcl->bjc", shape, self.joint_dirs)
        rot = batch_rodrigues(full.reshape(-1, 3)).reshape(b, NUM_JOINTS, 3, 3)
        if self.posedirs is not None:
            feature = (rot[:, 1:] - torch.eye(3, device=dev, dtype=dt)).reshape(b, -1)
            shaped = shaped + (feature @ self.posedirs).reshape(b, -1, 3)
        joints, rel = _rigid_transforms(rot, joints_rest, self.parents, self._depths(),
                                        self._parent_list)
        skin = (self.lbs_weights @ rel[:, :, :3, :].reshape(b, NUM_JOINTS, 12))  # (B, N, 12)
        skin = skin.reshape(b, -1, 3, 4)
        vertices = (skin[..., 0] * shaped[..., :1] + skin[..., 1] * shaped[..., 1:2]
                    + skin[..., 2] * shaped[..., 2:] + skin[..., 3])
        t = part(transl, 3, "transl")[:, None]
        return PosedBodies(vertices + t, joints + t)

    __call__ = forward

    def _depths(self) -> list[torch.Tensor]:
        """The non-root joints grouped by their depth in the kinematic tree (cached)."""
        if self._depth_groups is None:
            parents = self.parents.cpu().tolist()
            self._parent_list = parents
            depth = [0] * len(parents)
            for j in range(1, len(parents)):
                depth[j] = depth[parents[j]] + 1
            self._depth_groups = [torch.tensor([j for j in range(1, len(parents))
                                                if depth[j] == d], device=self.device)
                                  for d in range(1, max(depth) + 1)]
        return self._depth_groups

    def rest_root(self, betas: torch.Tensor | None = None,
                  expression: torch.Tensor | None = None, batch: int = 1) -> torch.Tensor:
        """(B, 3) the root (pelvis) joint of the rest pose for these shapes: the point every
        ``global_orient`` turns the body about (translation excluded)."""
        dev, dt = self.device, self.dtype
        b = betas.shape[0] if betas is not None else batch
        parts = []
        for value, width in ((betas, self.num_betas), (expression, self.num_expression)):
            if value is None:
                value = torch.zeros(b, width, device=dev, dtype=dt)
            value = value.to(dev, dt)[:, :width]
            parts.append(torch.nn.functional.pad(value, (0, width - value.shape[1])))
        shape = torch.cat(parts, dim=1)
        return self.joint_template[0] + shape @ self.joint_dirs[0].T

    def pose(self, pose: BodyPose) -> PosedBodies:
        """:meth:`forward` of a :class:`BodyPose` (tensors on this model's device)."""
        return self.forward(**pose.tensors(self.device, self.dtype))


def _rigid_transforms(rot: torch.Tensor, joints: torch.Tensor, parents: torch.Tensor,
                      depths: list[torch.Tensor], parent_list: list[int]
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """smplx's ``batch_rigid_transform``, the joints of one tree depth at a time.

    rot (B, J, 3, 3) local rotations, joints (B, J, 3) rest joints; returns the posed joints
    (B, J, 3) and the transforms relative to the rest pose (B, J, 4, 4). One batched matmul per
    depth of the tree (11 for SMPL-X) instead of one per joint (54).
    """
    b, j = joints.shape[:2]
    rel = torch.cat([joints[:, :1], joints[:, 1:] - joints[:, parents[1:]]], dim=1)
    local = torch.cat([torch.cat([rot, rel[..., None]], dim=-1),
                       torch.tensor([0.0, 0.0, 0.0, 1.0], device=rot.device, dtype=rot.dtype)
                       .expand(b, j, 1, 4)], dim=-2)  # (B, J, 4, 4)
    world: list[torch.Tensor | None] = [None] * j
    world[0] = local[:, 0]
    for group in depths:
        ids = group.tolist()
        above = torch.stack([world[parent_list[i]] for i in ids], dim=1)
        for k, node in enumerate((above @ local[:, group]).unbind(1)):
            world[ids[k]] = node
    transforms = torch.stack(world, dim=1)  # type: ignore[arg-type]
    posed = transforms[:, :, :3, 3]
    offset = (transforms[:, :, :3, :3] @ joints[..., None])[..., 0]
    relative = torch.cat([transforms[:, :, :3, :3], (posed - offset)[..., None]], dim=-1)
    relative = torch.cat([relative, transforms[:, :, 3:, :]], dim=-2)
    return posed, relative


def pose_body(model: BodyModel, pose: BodyPose | str | list[str],
              chunk: int = 256) -> PosedBodies:
    """Pose ``model`` with ``pose`` (a :class:`BodyPose` or preset name(s)); numpy results.

    Returns :class:`PosedBodies` with vertices (B, N, 3) and joints (B, 55, 3), float32 numpy,
    SMPL-X world (+y up, metres). Runs :meth:`BodyModel.forward` without gradients, ``chunk``
    bodies at a time.
    """
    if not isinstance(pose, BodyPose):
        pose = BodyPose.from_preset(pose)
    verts, joints = [], []
    with torch.no_grad():
        for start in range(0, len(pose), chunk):
            out = model.pose(pose.take(slice(start, start + chunk)))
            verts.append(out.vertices.cpu().numpy().astype(np.float32))
            joints.append(out.joints.cpu().numpy().astype(np.float32))
    return PosedBodies(np.concatenate(verts), np.concatenate(joints))
