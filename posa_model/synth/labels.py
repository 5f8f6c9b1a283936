"""Per-vertex training labels in the reference format, and the canonical frame the sampler uses.

For each fitted body (full resolution, V vertices, SMPL-X world):

* ``x``: unsigned distance (metres) from each vertex to the nearest scene surface, ``|sdf|`` of
  the union of boxes; the training loader thresholds it at 0.05 m (contact).
* ``x_semantics``: the MPCAT40 class of the nearest box, stored for every vertex as the
  reference does (NOT zeroed where there is no contact; the loader zeroes it).

Both are computed at full resolution and taken to the network level by composing the
hierarchy's vertex selections (``down[0]``, then ``down[1]``: 10475 -> 2619 -> 655). The
canonical vertices follow the sampler's exact path: the pelvis, hips and spine3 regressed from
the posed vertices with the 4-row frame regressor, then :func:`posa_model.frames.canonicalize`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputShapeError
from ..frames import canonicalize
from ..mesh.levels import level_indices
from .scene import Scene

__all__ = ["CONTACT_THRESHOLD", "BodyLabels", "LabelMaker"]

#: The reference's contact threshold on ``x`` (metres).
CONTACT_THRESHOLD = 0.05


@dataclass
class BodyLabels:
    """Labels of B bodies at the network level (N vertices): ``x`` (B, N) float32, ``x_semantics``
    (B, N) int64, ``vertices`` (B, N, 3) and ``vertices_can`` (B, N, 3) float32, ``joints_can``
    (B, 55, 3) float32."""

    x: np.ndarray
    x_semantics: np.ndarray
    vertices: np.ndarray
    vertices_can: np.ndarray
    joints_can: np.ndarray


class LabelMaker:
    """Turns full-resolution distances into network-level labels.

    Args:
        selection: (N,) int indices of the network-level vertices in the full mesh (the composed
            ``down`` selections of the hierarchy).
        frame_regressor: (4, V) rows regressing pelvis, left_hip, right_hip and spine3.
    """

    def __init__(self, selection: np.ndarray, frame_regressor: np.ndarray):
        self.selection = np.asarray(selection, dtype=np.int64)
        self.frame_regressor = np.asarray(frame_regressor, dtype=np.float64)
        if self.frame_regressor.ndim != 2 or self.frame_regressor.shape[0] != 4:
            raise InputShapeError(f"frame_regressor: expected (4, V), found "
                                  f"{self.frame_regressor.shape}")

    @classmethod
    def from_hierarchy(cls, hierarchy, frame_regressor, level: int = 2) -> LabelMaker:
        """The selection of ``level``'s vertices (:func:`posa_model.mesh.levels.level_indices`)."""
        return cls(level_indices(hierarchy, level), frame_regressor)

    def make(self, vertices: np.ndarray, joints: np.ndarray, scene: Scene) -> BodyLabels:
        """Labels of B fitted bodies: vertices (B, V, 3), joints (B, 55, 3), in ``scene``.

        The distance of a vertex does not depend on the others, so the full-resolution labels
        taken to the network level by selection are those of the selected vertices: only they
        are evaluated (exactly, against every box that can be nearest).
        """
        if vertices.ndim != 3 or vertices.shape[1] != self.frame_regressor.shape[1]:
            raise InputShapeError(f"vertices: expected (B, {self.frame_regressor.shape[1]}, 3), "
                                  f"found {vertices.shape}")
        sel = self.selection
        picked = vertices[:, sel]
        dist = [scene.distance(v) for v in picked]
        frame_joints = np.einsum("jv,bvc->bjc", self.frame_regressor, vertices)
        frame = canonicalize(picked, frame_joints)
        return BodyLabels(
            x=np.abs(np.stack([d.signed for d in dist])).astype(np.float32),
            x_semantics=np.stack([d.class_id for d in dist]).astype(np.int64),
            vertices=picked.astype(np.float32),
            vertices_can=frame.vertices.astype(np.float32),
            joints_can=frame.apply(joints).astype(np.float32),
        )
