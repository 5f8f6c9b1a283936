"""The frame regressor a training run stores in its checkpoints: the (4, V_full) rows that give
pelvis, left hip, right hip and spine3 from the full-resolution vertices at sampling time
(:mod:`posa_model.frames`).

Sources, in order (:func:`frame_regressor_for`):

1. ``--frame-regressor FILE.npy`` (4, V_full), when given;
2. the stand-in's SMPL-X ``J_regressor`` rows, when the hierarchy's full mesh is the stand-in's
   (same faces);
3. the ``J_regressor`` rows of the body model a ``posa_model.synthesize`` dataset was made with
   (``summary.json`` ``config.body``), when that file is there and is the hierarchy's mesh;
4. otherwise an APPROXIMATE regressor from the hierarchy's rest mesh
   (:func:`approximate_frame_regressor`: pelvis = all vertices' mean, left/right hip = mean of
   the +x/-x halves, spine3 = mean of the upper half), which gives the identity frame for a
   rest-pose body facing +z with +y up. Pass a real one for production use.

The checkpoint's ``meta["frame_regressor"]`` records which was used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import PosaError
from .config import ConfigError, TrainConfig

__all__ = ["SMPLX_NUM_VERTICES", "approximate_frame_regressor", "frame_regressor_for"]

SMPLX_NUM_VERTICES = 10475


def approximate_frame_regressor(rest_vertices: np.ndarray) -> torch.Tensor:
    """(V, 3) rest mesh (+y up, facing +z, left at +x) -> (4, V) rows averaging: all vertices
    (pelvis), the +x half (left hip), the -x half (right hip), the upper half (spine3)."""
    v = np.asarray(rest_vertices, dtype=np.float64)
    c = v.mean(axis=0)
    masks = [np.ones(len(v), bool), v[:, 0] > c[0], v[:, 0] < c[0], v[:, 1] > c[1]]
    rows = [m / m.sum() if m.any() else np.full(len(v), 1.0 / len(v)) for m in masks]
    return torch.from_numpy(np.stack(rows).astype(np.float32))


def frame_regressor_for(config: TrainConfig, hierarchy: Any, standin: bool,
                        ) -> tuple[torch.Tensor, str]:
    """The (4, V_full) frame regressor to store, and a note of where it came from (the module
    docstring gives the order of the sources). ``standin``: the run uses the stand-in's
    hierarchy (no ``--hierarchy``), so the stand-in's rows must load."""
    n_full = int(hierarchy.vertices[0].shape[0])
    if config.frame_regressor:
        return _from_file(Path(config.frame_regressor), n_full)
    faces = _level0_faces(hierarchy)
    if standin or n_full == SMPLX_NUM_VERTICES:
        found = _standin_rows(faces, n_full, standin)
        if found is not None:
            return found, "stand-in SMPL-X J_regressor rows"
    body = _dataset_body(config.data)
    if body is not None and faces is not None:
        found = _body_rows(body, faces, n_full)
        if found is not None:
            return found, f"J_regressor rows of {body} (the dataset's body)"
    return (approximate_frame_regressor(hierarchy.vertices[0]),
            "approximate: rest-mesh halves (pass --frame-regressor for a real one)")


def _from_file(path: Path, n_full: int) -> tuple[torch.Tensor, str]:
    from ..io_utils import read_npy_bounded

    array = read_npy_bounded(path, "frame_regressor", kinds="f", error=ConfigError)
    if array.shape != (4, n_full) or not np.isfinite(array).all():
        raise ConfigError(f"frame_regressor {path}: expected a finite (4, {n_full}) array "
                          f"(pelvis, left_hip, right_hip, spine3), found {array.shape}")
    return torch.from_numpy(array.astype(np.float32)), f"file {path}"


def _standin_rows(faces: np.ndarray | None, n_full: int, standin: bool) -> torch.Tensor | None:
    """The stand-in's rows when the hierarchy's full mesh is the stand-in's, else None (a
    broken stand-in asset raises only when the run uses the stand-in's hierarchy)."""
    from ..assets import standin_frame_regressor, standin_hierarchy
    from ..nn.mesh_check import faces_match

    try:
        regressor = standin_frame_regressor()
        same = standin or faces is None or faces_match(
            faces, _level0_faces(standin_hierarchy()))
    except (PosaError, OSError):
        if standin:
            raise
        return None
    return regressor if same and tuple(regressor.shape) == (4, n_full) else None


def _body_rows(body: str, faces: np.ndarray, n_full: int) -> torch.Tensor | None:
    """The frame rows of ``body``'s ``J_regressor`` when its mesh is the hierarchy's, else
    None (also when it cannot be loaded)."""
    from ..body import load_body_model
    from ..frames import FRAME_JOINTS
    from ..nn.mesh_check import faces_match

    try:
        model = load_body_model(body)
    except (PosaError, OSError):
        return None
    if model.num_vertices != n_full or not faces_match(model.faces, faces):
        return None
    return model.j_regressor.detach().to("cpu", torch.float32)[list(FRAME_JOINTS)].clone()


def _level0_faces(hierarchy: Any) -> np.ndarray | None:
    faces = getattr(hierarchy, "faces", None)
    return None if faces is None or len(faces) == 0 else np.asarray(faces[0])


def _dataset_body(data: str | os.PathLike) -> str | None:
    """The ``--body`` a posa_model.synthesize dataset was made with (None: the stand-in, or
    not such a dataset)."""
    from ..io_utils import read_json_bounded
    from ..synth.writer import is_synthetic_dataset

    if not is_synthetic_dataset(data):
        return None
    try:
        summary = read_json_bounded(Path(data) / "summary.json", "dataset summary")
    except PosaError:
        return None
    body = summary.get("config", {}).get("body") if isinstance(summary, dict) else None
    return body if isinstance(body, str) and body else None
