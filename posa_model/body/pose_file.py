"""Pose files: SMPL-X parameters in ``.npz`` (ours, PROX-style, AMASS) <-> :class:`BodyPose`.

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
from pathlib import Path

import numpy as np

from ..errors import InputShapeError
from ..io_utils import atomic_savez, read_npz_bounded, require_regular_file
from .pose import BodyPose, array_fields

__all__ = ["read_pose_file", "write_pose_file"]

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


def write_pose_file(path: str | os.PathLike, pose: BodyPose, atomic: bool = True) -> Path:
    """Write ``pose`` as an SMPL-X-style ``.npz`` (every field (B, ...) float32, ``names``
    (B,) str), atomically (``atomic=False``: straight to ``path``, for a caller that writes a
    set of files as one unit); :func:`read_pose_file` reads it back exactly."""
    path = Path(path)
    if atomic and path.suffix.lower() != ".npz":
        raise InputShapeError(f"{path}: pose files are written as .npz")
    arrays = {key: getattr(pose, key) for key in array_fields()}
    arrays["names"] = np.asarray(pose.names, dtype=str)
    if atomic:
        return atomic_savez(path, **arrays)
    with open(path, "wb") as f:  # a handle: numpy would add ".npz" to another suffix
        np.savez_compressed(f, **arrays)
    return path
