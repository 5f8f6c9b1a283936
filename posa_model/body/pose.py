"""The one pose type: SMPL-X parameters of B bodies, its file format and the named presets.

:class:`BodyPose` holds everything that poses an SMPL-X-format body (the real SMPL-X or the
stand-in), batched: B bodies, numpy float32, axis-angle radians, metres, SMPL-X world frame
(+y up). Presets (:func:`get_preset`, the numbers in :mod:`.presets`), pose files
(:func:`read_pose_file`, :func:`write_pose_file`), synthetic data, placement and the Blender
add-on all carry poses as a :class:`BodyPose`; :func:`.model.BodyModel.forward` turns one into
vertices.

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

Pose files (:func:`read_pose_file`, :func:`write_pose_file`): SMPL-X parameters in ``.npz``
(ours, PROX-style, AMASS) <-> :class:`BodyPose`.

``.npz`` files are read with :func:`posa_model.io_utils.read_npz_bounded` (no pickles, sizes
bounded, only the fields below inflated): no code runs. PROX's fitted
``.pkl`` files are pickles, and unpickling runs code from the file: they are read only with
``allow_pickle=True``, which callers pass only after the user explicitly trusted that file.

Accepted layouts (B bodies; a field of shape (n,) is one body):

* SMPL-X-style (ours, PROX exports): ``global_orient`` (B, 3) and ``body_pose`` (B, 63); optional
  ``betas`` (B, K), ``transl`` (B, 3), ``left_hand_pose`` / ``right_hand_pose`` (B, 45) (offsets
  from the mean hand), ``jaw_pose`` (B, 3), ``expression`` (B, E), ``names`` (B,) str.
* AMASS: ``poses`` (F, 156 or 165) axis-angle, root first; optional ``trans`` (F, 3) and
  ``betas`` (K,). One frame (``frame``) or every frame (``frame=None``). AMASS stores absolute
  hand poses for a flat mean hand, which this layout does not carry: hands are left at the
  model's mean (relaxed) hand.

:func:`write_pose_file` writes the SMPL-X-style layout, every field (B, ...) float32, atomically.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputShapeError
from ..io_utils import atomic_savez, read_npz_bounded, require_regular_file
from .joints import NUM_BODY_JOINTS
from .presets import PRESET_DESCRIPTIONS, preset_arrays

__all__ = ["BODY_POSE_SIZE", "HAND_POSE_SIZE", "PRESETS", "BodyPose", "array_fields",
           "get_preset", "read_pose_file", "write_pose_file"]

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
        :data:`PRESETS`. Unknown names raise UnknownNameError."""
        names = [names] if isinstance(names, str) else list(names)
        if not names:
            raise InputShapeError("BodyPose.from_preset: expected at least one preset name")
        return cls.concatenate([get_preset(n) for n in names])

    @classmethod
    def from_file(cls, path: str | os.PathLike, frame: int | None = 0,
                  allow_pickle: bool = False) -> BodyPose:
        """Read a pose file (see :func:`read_pose_file`)."""
        return read_pose_file(path, frame=frame, allow_pickle=allow_pickle)

    def to_file(self, path: str | os.PathLike, atomic: bool = True,
                gender: str | None = None) -> os.PathLike:
        """Write an SMPL-X-style ``.npz`` (see :func:`write_pose_file`), atomically unless
        ``atomic=False``; ``gender``: also recorded (the body model the pose is for); returns
        the path."""
        return write_pose_file(path, self, atomic, gender)

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


# ============================================================================================
# presets


def get_preset(name: str) -> BodyPose:
    """A copy of the preset called ``name`` (a one-body :class:`BodyPose` named after it; the
    numbers and what each shows are in :mod:`.presets`).

    Raises:
        UnknownNameError: (also a ``ValueError``) for an unknown name, listing the valid ones.
    """
    orient, body_pose = preset_arrays(name)
    return BodyPose(orient[None], body_pose[None], names=(name,))


#: name -> the preset's one-body pose (use :func:`get_preset`, which returns a copy).
PRESETS: dict[str, BodyPose] = {name: get_preset(name) for name in PRESET_DESCRIPTIONS}


# ============================================================================================
# pose files

#: At most this many frames are read from one AMASS file (a long capture is ~100k frames).
MAX_FRAMES = 1_000_000
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


#: The fields :func:`read_pose_file` reads; others (AMASS ``gender``, ``dmpls``, ...) are never
#: inflated.
_NPZ_FIELDS = ("global_orient", "body_pose", "betas", "transl", "left_hand_pose",
               "right_hand_pose", "jaw_pose", "expression", "poses", "trans", "names")


class _Fields(dict):
    """Fields (unpickled, or read from an npz) behind the npz interface (``.files``, ``[key]``)."""

    @property
    def files(self) -> list[str]:
        return list(self)


def _array(data, key: str, path: Path) -> np.ndarray:
    try:
        value = np.asarray(data[key])
    except _READ_ERRORS as exc:
        raise InputShapeError(f"{path}: field {key!r} cannot be read ({exc})") from exc
    if value.dtype.kind not in "fiub":
        raise InputShapeError(f"{path}: field {key!r}: expected a numeric array, found dtype "
                              f"{value.dtype}")
    value = value.astype(np.float64)
    if not np.isfinite(value).all():
        raise InputShapeError(f"{path}: field {key!r} contains NaN or infinite values")
    return value


def _rows(value: np.ndarray, key: str, width: int | None, path: Path) -> np.ndarray:
    """(B, width) from (width,), (1, width) or (B, width); ``width`` None = any."""
    if value.ndim == 1:
        value = value[None]
    if value.ndim != 2 or (width is not None and value.shape[1] != width):
        expected = f"(B, {width})" if width is not None else "(B, K)"
        raise InputShapeError(f"{path}: field {key!r} has shape {value.shape}; expected "
                              f"{expected} or ({width if width is not None else 'K'},)")
    return value


def _load_pickle(path: Path) -> _Fields:
    import pickle

    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")  # noqa: S301 - the user trusted this file
    except Exception as exc:  # unpickling can raise anything
        raise InputShapeError(f"{path}: not a readable pickle ({exc})") from exc
    if not isinstance(data, dict):
        raise InputShapeError(f"{path}: expected a dict of SMPL-X parameters, found "
                              f"{type(data).__name__}")
    return _Fields(data)


def read_pose_file(path: str | os.PathLike, frame: int | None = 0,
                   allow_pickle: bool = False) -> BodyPose:
    """Read the bodies of a pose file (module docstring for the layouts); errors name the file
    and the field.

    ``frame``: the AMASS frame to read (negative counts from the end), or None for all frames.
    ``allow_pickle=True`` lets a ``.pkl`` file (PROX fits) be unpickled, which runs code from
    the file: pass it only for a file the user explicitly chose to trust.

    Raises:
        InputShapeError: a missing or non-regular file, a wrong suffix, an unreadable archive,
            a missing, non-numeric, non-finite or wrongly shaped field.
    """
    path = require_regular_file(path, "pose file", InputShapeError)
    suffix = path.suffix.lower()
    if suffix == ".pkl":
        if not allow_pickle:
            raise InputShapeError(
                f"{path} is a pickle: reading it runs code from the file. Load it only if you "
                "trust it (allow_pickle=True, --allow-pickle), or convert it to .npz"
            )
        return _parse(_load_pickle(path), path, frame)
    if suffix != ".npz":
        raise InputShapeError(f"{path}: pose files must be .npz or .pkl (got {suffix!r})")
    data = read_npz_bounded(path, "pose file", keys=_NPZ_FIELDS, error=InputShapeError)
    return _parse(_Fields(data), path, frame)


def _parse(data, path: Path, frame: int | None) -> BodyPose:
    """The bodies in ``data`` (an open npz or a dict with ``.files``), validated."""
    keys = set(data.files)
    fields: dict[str, np.ndarray] = {}
    if {"global_orient", "body_pose"} <= keys:
        widths = {"global_orient": 3, "body_pose": 63, "betas": None, "transl": 3,
                  "left_hand_pose": 45, "right_hand_pose": 45, "jaw_pose": 3,
                  "expression": None}
        for key, width in widths.items():
            if key in keys:
                fields[key] = _rows(_array(data, key, path), key, width, path)
        batch = len(fields["global_orient"])
        for key, value in fields.items():
            if len(value) != batch:
                raise InputShapeError(f"{path}: field {key!r} has {len(value)} rows; "
                                      f"global_orient has {batch}")
    elif "poses" in keys:
        poses = _array(data, "poses", path)
        if poses.ndim != 2 or poses.shape[1] < 66 or not 0 < len(poses) <= MAX_FRAMES:
            raise InputShapeError(f"{path}: field 'poses' has shape {poses.shape}; expected "
                                  f"(F, 156 or 165) with 1..{MAX_FRAMES} frames")
        rows = np.arange(len(poses))
        if frame is not None:
            if not -len(poses) <= frame < len(poses):
                raise InputShapeError(f"{path}: frame {frame} is outside 0..{len(poses) - 1}")
            rows = rows[[frame]]
        fields["global_orient"] = poses[rows, :3]
        fields["body_pose"] = poses[rows, 3:66]
        if "trans" in keys:
            trans = _array(data, "trans", path)
            if trans.shape != (len(poses), 3):
                raise InputShapeError(f"{path}: field 'trans' has shape {trans.shape}; "
                                      f"expected ({len(poses)}, 3)")
            fields["transl"] = trans[rows]
        if "betas" in keys:
            betas = _array(data, "betas", path).reshape(-1)
            fields["betas"] = np.repeat(betas[None], len(rows), axis=0)
    else:
        raise InputShapeError(
            f"{path}: no pose found; expected fields 'global_orient' + 'body_pose' or "
            f"AMASS 'poses', found {sorted(keys)}"
        )
    batch = len(fields["global_orient"])
    names = (path.stem,) * batch
    if "names" in keys:
        raw = np.asarray(data["names"]).reshape(-1)
        if raw.dtype.kind != "U" or len(raw) != batch:
            raise InputShapeError(f"{path}: field 'names': expected ({batch},) strings, found "
                                  f"shape {raw.shape} dtype {raw.dtype}")
        names = tuple(str(n) for n in raw)
    try:
        return BodyPose(**fields, names=names)
    except InputShapeError as exc:
        raise InputShapeError(f"{path}: {exc}") from exc


def write_pose_file(path: str | os.PathLike, pose: BodyPose, atomic: bool = True,
                    gender: str | None = None) -> Path:
    """Write ``pose`` as an SMPL-X-style ``.npz`` (every field (B, ...) float32, ``names``
    (B,) str, and with ``gender`` a ``gender`` str as PROX and AMASS record it), atomically
    (``atomic=False``: straight to ``path``, for a caller that writes a set of files as one
    unit); :func:`read_pose_file` reads it back exactly."""
    path = Path(path)
    if atomic and path.suffix.lower() != ".npz":
        raise InputShapeError(f"{path}: pose files are written as .npz")
    arrays = {key: getattr(pose, key) for key in array_fields()}
    arrays["names"] = np.asarray(pose.names, dtype=str)
    if gender is not None:
        arrays["gender"] = np.asarray(gender, dtype=str)
    if atomic:
        return atomic_savez(path, **arrays)
    with open(path, "wb") as f:  # a handle: numpy would add ".npz" to another suffix
        np.savez_compressed(f, **arrays)
    return path
