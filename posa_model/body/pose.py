"""The one pose type: SMPL-X parameters of B bodies.

:class:`BodyPose` holds everything that poses an SMPL-X-format body (the real SMPL-X or the
stand-in), batched: B bodies, numpy float32, axis-angle radians, metres, SMPL-X world frame
(+y up). Presets (:mod:`.presets`), pose files (:mod:`.pose_file`), synthetic data, placement
and the Blender add-on all carry poses as a :class:`BodyPose`; :func:`.model.BodyModel.forward`
turns one into vertices.

Fields (B = batch):

* ``global_orient`` (B, 3): the root (pelvis) rotation.
* ``body_pose`` (B, 63): joints 1..21 of :data:`.joints.JOINT_NAMES`, each in its parent's frame.
* ``betas`` (B, K): shape coefficients, K >= 0 (missing ones are 0).
* ``transl`` (B, 3): metres, added to every vertex and joint.
* ``left_hand_pose`` / ``right_hand_pose`` (B, 45): 15 finger joints, axis-angle offsets from
  the model's mean hand (smplx's ``use_pca=False, flat_hand_mean=False``: zeros give the model's
  relaxed hand).
* ``jaw_pose`` (B, 3) and ``expression`` (B, E), E >= 0.
* ``names`` (B,) str: a label per body (the preset or interaction it came from; "" when none).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InputShapeError
from .joints import NUM_BODY_JOINTS

__all__ = ["BODY_POSE_SIZE", "HAND_POSE_SIZE", "BodyPose", "array_fields"]

BODY_POSE_SIZE = NUM_BODY_JOINTS * 3  # 63
HAND_POSE_SIZE = 45  # 15 finger joints x 3
#: Upper bounds on the sizes a pose may carry (SMPL-X has 300 shape and 100 expression
#: components at most); they bound what a file can make us allocate.
MAX_BETAS = 400
MAX_EXPRESSION = 100
MAX_BATCH = 1_000_000

#: (field, width or None for "any up to the bound") of the array fields, in file order.
_ARRAY_FIELDS: tuple[tuple[str, int | None], ...] = (
    ("global_orient", 3), ("body_pose", BODY_POSE_SIZE), ("betas", None), ("transl", 3),
    ("left_hand_pose", HAND_POSE_SIZE), ("right_hand_pose", HAND_POSE_SIZE), ("jaw_pose", 3),
    ("expression", None),
)


@dataclass(eq=False)
class BodyPose:
    """SMPL-X parameters of B bodies (see the module docstring); arrays are float32.

    Build one with :meth:`zeros`, :meth:`from_preset`, :meth:`from_file` or the constructor
    (missing optional fields become zeros). Every field is checked: shapes agree on B, values
    are finite.
    """

    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray = None  # type: ignore[assignment]  # None -> zeros
    transl: np.ndarray = None  # type: ignore[assignment]  # None -> zeros
    left_hand_pose: np.ndarray = None  # type: ignore[assignment]  # None -> zeros
    right_hand_pose: np.ndarray = None  # type: ignore[assignment]  # None -> zeros
    jaw_pose: np.ndarray = None  # type: ignore[assignment]  # None -> zeros
    expression: np.ndarray = None  # type: ignore[assignment]  # None -> zeros
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        orient = np.asarray(self.global_orient)
        if orient.ndim == 1:
            orient = orient[None]
        if orient.ndim != 2 or orient.shape[1] != 3:
            raise InputShapeError(f"BodyPose.global_orient: expected (B, 3), found "
                                  f"{np.shape(self.global_orient)}")
        batch = orient.shape[0]
        if not 0 < batch <= MAX_BATCH:
            raise InputShapeError(f"BodyPose: expected 1..{MAX_BATCH} bodies, found {batch}")
        for name, width in _ARRAY_FIELDS:
            value = getattr(self, name)
            if value is None:
                default = 10 if name == "betas" else (0 if name == "expression" else width)
                value = np.zeros((batch, default), np.float32)
            value = np.asarray(value)
            if value.ndim == 1 and batch == 1:
                value = value[None]
            limit = MAX_BETAS if name == "betas" else MAX_EXPRESSION
            ok_width = value.ndim == 2 and (value.shape[1] == width if width is not None
                                            else value.shape[1] <= limit)
            if not ok_width or value.shape[0] != batch:
                expected = f"({batch}, {width if width is not None else f'<= {limit}'})"
                raise InputShapeError(f"BodyPose.{name}: expected {expected}, found "
                                      f"{np.shape(getattr(self, name))}")
            if value.dtype.kind not in "fiu":
                raise InputShapeError(f"BodyPose.{name}: expected numbers, found dtype "
                                      f"{value.dtype}")
            value = np.array(value, dtype=np.float32)  # a copy: callers' arrays stay theirs
            if not np.isfinite(value).all():
                raise InputShapeError(f"BodyPose.{name}: expected finite values, found NaN or "
                                      f"infinity")
            setattr(self, name, value)
        names = tuple(str(n) for n in self.names) if len(self.names) else ("",) * batch
        if len(names) != batch:
            raise InputShapeError(f"BodyPose.names: expected {batch} names, found {len(names)}")
        self.names = names

    # ----------------------------------------------------------------------------------------
    # construction

    @classmethod
    def zeros(cls, batch: int = 1, num_betas: int = 10) -> BodyPose:
        """B bodies in the rest pose (the T-pose), mean shape."""
        return cls(np.zeros((batch, 3)), np.zeros((batch, BODY_POSE_SIZE)),
                   betas=np.zeros((batch, num_betas)))

    @classmethod
    def from_preset(cls, names: str | Sequence[str]) -> BodyPose:
        """The presets called ``names`` (one name or several), one body each; see
        :data:`posa_model.body.presets.PRESETS`. Unknown names raise UnknownNameError."""
        from .presets import get_preset

        names = [names] if isinstance(names, str) else list(names)
        if not names:
            raise InputShapeError("BodyPose.from_preset: expected at least one preset name")
        return cls.concatenate([get_preset(n) for n in names])

    @classmethod
    def from_file(cls, path: str | os.PathLike, frame: int | None = 0,
                  allow_pickle: bool = False) -> BodyPose:
        """Read a pose file (see :func:`posa_model.body.pose_file.read_pose_file`)."""
        from .pose_file import read_pose_file

        return read_pose_file(path, frame=frame, allow_pickle=allow_pickle)

    def to_file(self, path: str | os.PathLike, atomic: bool = True) -> os.PathLike:
        """Write an SMPL-X-style ``.npz`` (see :func:`posa_model.body.pose_file.write_pose_file`),
        atomically unless ``atomic=False``; returns the path."""
        from .pose_file import write_pose_file

        return write_pose_file(path, self, atomic)

    # ----------------------------------------------------------------------------------------
    # batches

    def __len__(self) -> int:
        return int(self.global_orient.shape[0])

    def take(self, index: Any) -> BodyPose:
        """The bodies at ``index`` (an int, a slice, indices or a mask), as a new pose (copies)."""
        rows = np.arange(len(self))[index]
        rows = np.atleast_1d(rows)
        arrays = {name: getattr(self, name)[rows] for name, _ in _ARRAY_FIELDS}
        return BodyPose(**arrays, names=tuple(self.names[int(r)] for r in rows))

    @staticmethod
    def concatenate(poses: Sequence[BodyPose]) -> BodyPose:
        """One pose of all the bodies of ``poses``, in order. Betas and expressions of different
        widths are zero-padded to the widest."""
        if not poses:
            raise InputShapeError("BodyPose.concatenate: expected at least one pose")
        arrays = {}
        for name, width in _ARRAY_FIELDS:
            parts = [getattr(p, name) for p in poses]
            if width is None:
                wide = max(p.shape[1] for p in parts)
                parts = [np.pad(p, ((0, 0), (0, wide - p.shape[1]))) for p in parts]
            arrays[name] = np.concatenate(parts)
        return BodyPose(**arrays, names=tuple(n for p in poses for n in p.names))

    def repeat(self, count: int) -> BodyPose:
        """Each body ``count`` times in a row (``[a, a, b, b]`` for count 2)."""
        return self.take(np.repeat(np.arange(len(self)), count))

    def replace(self, **changes: Any) -> BodyPose:
        """A copy with some fields replaced (``pose.replace(transl=t)``)."""
        return replace(self, **changes)

    def with_betas(self, num_betas: int) -> BodyPose:
        """A copy whose betas have exactly ``num_betas`` columns (cut or zero-padded)."""
        betas = self.betas[:, :num_betas]
        return self.replace(betas=np.pad(betas, ((0, 0), (0, num_betas - betas.shape[1]))))

    @property
    def full_pose(self) -> np.ndarray:
        """(B, 66) ``global_orient`` followed by ``body_pose``."""
        return np.concatenate([self.global_orient, self.body_pose], axis=1)

    def arrays(self) -> dict[str, np.ndarray]:
        """{field: (B, ...) float32 array} of every array field (for files and tensors)."""
        return {name: getattr(self, name) for name, _ in _ARRAY_FIELDS}

    def tensors(self, device: Any = "cpu", dtype: Any = None) -> dict[str, Any]:
        """{field: torch tensor} for :meth:`posa_model.body.model.BodyModel.forward`."""
        import torch

        dtype = dtype or torch.float32
        return {name: torch.tensor(value, device=device, dtype=dtype)
                for name, value in self.arrays().items()}

    def __repr__(self) -> str:
        shown = ", ".join(self.names[:4]) + (", ..." if len(self) > 4 else "")
        return f"BodyPose({len(self)} bodies: {shown or 'unnamed'})"


def array_fields() -> tuple[str, ...]:
    """The names of :class:`BodyPose`'s array fields, in file order."""
    return tuple(name for name, _ in _ARRAY_FIELDS)

