"""Build a COMA-style mesh hierarchy: decimate level by level, up-sample back, add spirals.

Level 0 is the input mesh; level ``k + 1`` keeps ``ceil(V_k / factor)`` of the ORIGINAL vertices
of level ``k`` (:func:`~posa_model.mesh.decimation.decimate`), ``U`` gives every level-``k``
vertex barycentric weights on its closest level-``k + 1`` triangle
(:func:`~posa_model.mesh.upsample.upsampling`), and every level gets SpiralNet++ spirals in the
reference (OpenMesh) order. Every level is checked to be a connected, oriented manifold
(:func:`~posa_model.mesh.topology.check_manifold`). For SMPL-X: 10475 -> 2619 -> 655 -> 164 -> 41.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np

from ..errors import HierarchyError, InputShapeError
from .decimation import decimate
from .halfedge import HalfedgeMesh
from .hierarchy import MeshHierarchy
from .spirals import extract_spirals
from .topology import check_manifold
from .upsample import upsampling

__all__ = ["BUILD_VERSION", "DEFAULT_BUILD_PARAMS", "build_hierarchy", "input_key"]

#: Bump when :func:`build_hierarchy` would produce different output for the same input: it is
#: part of :func:`input_key`.
BUILD_VERSION = 1
#: The parameters of the reference hierarchy (SMPL-X's ``mesh_ds``), used for every body here.
DEFAULT_BUILD_PARAMS = {"factor": 4, "levels": 4, "seq_length": 9, "dilation": 1}


def _check_input(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.asarray(vertices)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise InputShapeError(f"vertices: expected shape (V, 3), found {vertices.shape}")
    if not np.issubdtype(vertices.dtype, np.floating) or not np.isfinite(vertices).all():
        raise InputShapeError(f"vertices: expected finite floats, found {vertices.dtype}")
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise InputShapeError(
            f"faces: expected an integer array of shape (F, 3), found {faces.dtype} {faces.shape}"
        )
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise InputShapeError(
            f"faces: indices must lie in [0, {len(vertices)}), found [{faces.min()}, {faces.max()}]"
        )
    return vertices.astype(np.float64), faces.astype(np.int64)



def build_hierarchy(
    vertices: np.ndarray,
    faces: np.ndarray,
    factor: int = 4,
    levels: int = 4,
    seq_length: int = 9,
    dilation: int = 1,
) -> MeshHierarchy:
    """Build a COMA-style hierarchy with SpiralNet++ spirals on every level.

    Args:
        vertices: (V, 3) float positions of level 0 (metres for a body).
        faces: (F, 3) int, a connected, consistently oriented, manifold triangle mesh.
        factor: vertex reduction per level: ``V_{k+1} = ceil(V_k / factor)``.
        levels: number of decimation steps.
        seq_length, dilation: spiral parameters (reference: 9, 1).

    Raises:
        HierarchyError: a level is not manifold / oriented / connected, or decimation cannot
            reach the vertex count; the message names the level.
    """
    v0, f0 = _check_input(vertices, faces)
    if int(factor) < 2 or int(levels) < 0:
        raise InputShapeError(f"factor must be >= 2 and levels >= 0, found {factor}, {levels}")
    check_manifold(len(v0), f0, "level 0")
    verts, facs, down, up_i, up_w = [v0], [f0], [], [], []
    for k in range(int(levels)):
        target = math.ceil(len(verts[k]) / int(factor))
        dec = decimate(verts[k], facs[k], target, level=k + 1)
        check_manifold(target, dec.faces, f"level {k + 1}")
        coarse = verts[k][dec.survivors]
        ui, uw = upsampling(verts[k], coarse, dec.faces, dec.survivors)
        verts.append(coarse)
        facs.append(dec.faces)
        down.append(dec.survivors)
        up_i.append(ui)
        up_w.append(uw)
    spirals = []
    for k, (v, f) in enumerate(zip(verts, facs, strict=True)):
        hm = HalfedgeMesh(len(v), f)
        if hm.rejected_faces:
            i, why = hm.rejected_faces[0]
            raise HierarchyError(f"level {k}: face {i} is refused by the halfedge builder ({why})")
        spirals.append(
            extract_spirals(v, f, seq_length, dilation, vertex_vertex=hm.all_vertex_vertex_orders())
        )
    return MeshHierarchy(
        vertices=tuple(verts),
        faces=tuple(facs),
        down=tuple(down),
        up_index=tuple(up_i),
        up_weight=tuple(up_w),
        spirals=tuple(spirals),
        seq_length=seq_length,
        dilation=dilation,
    )



def input_key(vertices: np.ndarray, faces: np.ndarray, **params: int) -> str:
    """sha256 hex of a build's input: faces, positions rounded to 1e-6, parameters."""
    v, f = _check_input(vertices, faces)
    h = hashlib.sha256()
    h.update(f"posa_model.build_hierarchy/v{BUILD_VERSION}".encode())
    h.update(json.dumps(params, sort_keys=True).encode())
    h.update(repr(f.shape).encode() + np.ascontiguousarray(f, dtype="<i8").tobytes())
    h.update(repr(v.shape).encode() + (np.rint(v * 1e6) + 0.0).astype("<f8").tobytes())
    return h.hexdigest()

