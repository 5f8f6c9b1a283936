"""Reading SMPL-X pose parameters from ``.npz`` files (our presets' format, AMASS, PROX exports).

``.npz`` files are read with ``np.load(allow_pickle=False)``: no code runs. PROX's fitted
``.pkl`` files are pickles, and unpickling runs code from the file: they are read only with
``allow_pickle=True``, which callers pass only after the user explicitly trusted that file.

Accepted layouts:
    * ``global_orient`` (3,) or (1, 3) and ``body_pose`` (63,) or (1, 63); optional ``betas``
      (K,) or (1, K) and ``transl`` (3,) or (1, 3). PROX-style exports of the fitted parameters.
    * AMASS: ``poses`` (F, 156 or 165) axis-angle, root first; optional ``trans`` (F, 3) and
      ``betas`` (K,); one frame is taken (``frame``).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputShapeError


@dataclass(frozen=True)
class PoseParams:
    """One body's SMPL-X pose: axis-angle radians, metres, in the SMPL-X (y-up) frame."""

    global_orient: np.ndarray  # (3,) float32
    body_pose: np.ndarray  # (63,) float32
    betas: np.ndarray | None = None  # (K,) float32
    transl: np.ndarray | None = None  # (3,) float32


def _array(data: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(data[key], dtype=np.float64)
    except (ValueError, TypeError) as exc:  # object arrays (pickles) and non-numeric data
        raise InputShapeError(f"{path}: field {key!r} is not a numeric array ({exc})") from exc


def _field(data: np.lib.npyio.NpzFile, key: str, size: int, path: Path) -> np.ndarray:
    value = _array(data, key, path)
    if value.ndim == 2 and value.shape[0] == 1:
        value = value[0]
    if value.shape != (size,):
        raise InputShapeError(f"{path}: field {key!r} has shape {value.shape}; expected ({size},)")
    if not np.isfinite(value).all():
        raise InputShapeError(f"{path}: field {key!r} contains NaN or infinite values")
    return value.astype(np.float32)


class _Fields(dict):
    """A pickled dict seen through the npz file interface (``.files`` and ``[key]``)."""

    @property
    def files(self) -> list[str]:
        return list(self)


def _load_pickle(path: Path) -> _Fields:
    import pickle

    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")
    except Exception as exc:  # unpickling can raise anything
        raise InputShapeError(f"{path}: not a readable pickle ({exc})") from exc
    if not isinstance(data, dict):
        raise InputShapeError(f"{path}: expected a dict of SMPL-X parameters, found "
                              f"{type(data).__name__}")
    return _Fields(data)


def load_pose_file(path: str | os.PathLike, frame: int = 0,
                   allow_pickle: bool = False) -> PoseParams:
    """Read one body pose from ``path``; errors name the file and the field.

    ``allow_pickle=True`` lets a ``.pkl`` file (PROX fits) be unpickled, which runs code from
    the file: pass it only for a file the user explicitly chose to trust.
    """
    path = Path(path)
    if not path.is_file():
        raise InputShapeError(f"Pose file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".pkl":
        if not allow_pickle:
            raise InputShapeError(
                f"{path} is a pickle: reading it runs code from the file. Load it only if you "
                "trust it (allow_pickle=True), or convert it to .npz"
            )
        return _parse(_load_pickle(path), path, frame)
    if suffix != ".npz":
        raise InputShapeError(f"{path}: pose files must be .npz or .pkl (got {suffix!r})")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputShapeError(f"{path}: not a readable .npz file ({exc})") from exc
    with data:
        return _parse(data, path, frame)


def _parse(data, path: Path, frame: int) -> PoseParams:
    """The pose in ``data`` (an open npz or a dict with ``.files``), validated."""
    keys = set(data.files)
    betas = transl = None
    if {"global_orient", "body_pose"} <= keys:
        orient = _field(data, "global_orient", 3, path)
        body = _field(data, "body_pose", 63, path)
        if "transl" in keys:
            transl = _field(data, "transl", 3, path)
    elif "poses" in keys:
        poses = _array(data, "poses", path)
        if poses.ndim != 2 or poses.shape[1] < 66:
            raise InputShapeError(
                f"{path}: field 'poses' has shape {poses.shape}; expected (F, 156 or 165)"
            )
        if not -poses.shape[0] <= frame < poses.shape[0]:
            raise InputShapeError(f"{path}: frame {frame} is outside 0..{poses.shape[0] - 1}")
        if not np.isfinite(poses[frame]).all():
            raise InputShapeError(f"{path}: field 'poses' frame {frame} has NaN values")
        orient = poses[frame, :3].astype(np.float32)
        body = poses[frame, 3:66].astype(np.float32)
        if "trans" in keys:
            trans = _array(data, "trans", path)
            if trans.shape != (poses.shape[0], 3):
                raise InputShapeError(
                    f"{path}: field 'trans' has shape {trans.shape}; expected "
                    f"({poses.shape[0]}, 3)"
                )
            transl = trans[frame].astype(np.float32)
    else:
        raise InputShapeError(
            f"{path}: no pose found; expected fields 'global_orient' + 'body_pose' or "
            f"AMASS 'poses', found {sorted(keys)}"
        )
    if "betas" in keys:
        raw = _array(data, "betas", path).reshape(-1)
        if not np.isfinite(raw).all():
            raise InputShapeError(f"{path}: field 'betas' contains NaN values")
        betas = raw.astype(np.float32)
    return PoseParams(orient, body, betas, transl)
