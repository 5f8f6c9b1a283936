"""Assemble the stand-in body: the fields of an SMPL-X ``.npz`` (:func:`build_standin_body`)
and the file (:func:`write_standin_body`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from posa_model.assets import STANDIN_BODY_PATH
from posa_model.body.joints import kintree_table
from posa_model.io_utils import atomic_savez

from .design import DESIGNED_JOINTS, NUM_POSE_BASIS, NUM_VERTICES, primitives
from .face import _face_landmarks
from .rig import (
    _joint_regressor,
    _keypoint_vertices,
    _mirror_joint_ids,
    _part_labels,
    _skinning_weights,
    _vertex_permutation,
)
from .shapes import _shape_space
from .surface import _surface_mesh, check_closed_mesh


def build_standin_body() -> dict[str, np.ndarray]:
    """Build the stand-in body: the fields of an SMPL-X ``.npz`` that smplx reads, plus ``J``
    (55, 3) designed joints and ``part_labels`` (V,) uint8 body part (joint id) per vertex.

    Deterministic: the same arrays on every run. Raises :class:`StandinBuildError` if a mesh or
    fitting check fails.
    """
    prims = primitives()
    verts, faces, mirror_of = _surface_mesh(prims)
    labels = _part_labels(verts, faces, prims)
    right = verts[:, 0] < 0  # exact mirror of the left half's labels
    labels[right] = _mirror_joint_ids()[labels[mirror_of[right]]]
    weights = _skinning_weights(verts, faces, labels)
    perm = _vertex_permutation(verts, labels, _keypoint_vertices(verts, labels, mirror_of))
    verts, labels, weights = verts[perm], labels[perm], weights[perm]
    faces = np.argsort(perm)[faces]
    faces = np.take_along_axis(faces, (np.argmin(faces, 1)[:, None] + np.arange(3)) % 3, 1)
    faces = faces[np.lexsort((faces[:, 2], faces[:, 1], faces[:, 0]))]  # same orientation
    check_closed_mesh(verts, faces, "stand-in mesh (renumbered)")
    lmk_faces, lmk_bary, dyn_faces, dyn_bary = _face_landmarks(verts, faces)
    hand_pca = np.eye(45, dtype=np.float32)
    return {
        "v_template": verts.astype(np.float32),
        "f": faces.astype(np.uint32),
        "J_regressor": _joint_regressor(verts, labels, DESIGNED_JOINTS),
        "weights": weights,
        "kintree_table": kintree_table(),
        "J": DESIGNED_JOINTS.astype(np.float32),
        "shapedirs": _shape_space(verts, faces, weights),
        "posedirs": np.zeros((NUM_VERTICES, 3, NUM_POSE_BASIS), dtype=np.float32),
        "hands_componentsl": hand_pca,
        "hands_componentsr": hand_pca.copy(),
        "hands_meanl": np.zeros(45, dtype=np.float32),
        "hands_meanr": np.zeros(45, dtype=np.float32),
        "lmk_faces_idx": lmk_faces,
        "lmk_bary_coords": lmk_bary,
        "dynamic_lmk_faces_idx": dyn_faces,
        "dynamic_lmk_bary_coords": dyn_bary,
        "part_labels": labels.astype(np.uint8),
    }


def write_standin_body(path: str | os.PathLike = STANDIN_BODY_PATH) -> Path:
    """Build the stand-in and write it atomically as a compressed ``.npz``; returns the path."""
    return atomic_savez(path, compressed=True, **build_standin_body())
