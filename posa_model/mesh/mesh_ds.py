"""Read and write the reference POSA ``mesh_ds/`` folder format.

A folder holds, for levels ``k = 0..L``: ``mesh_{k}.obj`` (level k), and for ``k = 1..L``:
``D_{k}.npz`` (V_k, V_{k-1}) selecting level k from level k - 1, ``U_{k}.npz`` (V_{k-1}, V_k)
interpolating level k - 1 from level k (up to 3 barycentric weights per row) and ``A_{k}.npz``
(a vertex adjacency the reference loads but does not use), all written with
``scipy.sparse.save_npz``. The reference network uses mesh_2..mesh_4 for spirals and D_3, D_4.
Spirals are not part of the format: they are recomputed from each obj in OpenMesh order.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import HierarchyError
from ..io_utils import atomic_write
from .halfedge import HalfedgeMesh
from .hierarchy import MeshHierarchy
from .spirals import extract_spirals

log = logging.getLogger(__name__)


def _load_obj(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    try:
        mesh = trimesh.load(path, process=False, maintain_order=True, force="mesh")
    except Exception as exc:  # trimesh raises many types for malformed files
        raise HierarchyError(f"{path}: cannot read the mesh ({type(exc).__name__}: {exc})") from exc
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise HierarchyError(f"{path}: expected vertices of shape (V, 3), found {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise HierarchyError(f"{path}: expected triangle faces (F, 3), found {faces.shape}")
    return vertices, faces


def _load_sparse(path: Path, shape: tuple[int, int]) -> sp.csr_matrix:
    if not path.is_file():
        raise HierarchyError(f"{path}: file is missing")
    try:
        m = sp.load_npz(path)
    except (OSError, ValueError, KeyError) as exc:
        raise HierarchyError(f"{path}: not a scipy.sparse .npz file ({exc})") from exc
    if m.shape != shape:
        raise HierarchyError(f"{path}: expected shape {shape}, found {m.shape}")
    m = sp.csr_matrix(m, dtype=np.float64)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    return m


def _down_from(m: sp.csr_matrix, path: Path) -> np.ndarray:
    nnz = np.diff(m.indptr)
    if (nnz != 1).any():
        row = int(np.flatnonzero(nnz != 1)[0])
        raise HierarchyError(
            f"{path}: D must have exactly one entry per row; row {row} has {int(nnz[row])}"
        )
    if np.abs(m.data - 1.0).max() > 1e-6:
        row = int(np.argmax(np.abs(m.data - 1.0)))
        raise HierarchyError(f"{path}: D entries must be 1; row {row} holds {m.data[row]:.6g}")
    return m.indices.astype(np.int64)


def _up_from(m: sp.csr_matrix, path: Path) -> tuple[np.ndarray, np.ndarray]:
    nnz = np.diff(m.indptr)
    if (nnz > 3).any() or (nnz == 0).any():
        row = int(np.flatnonzero((nnz > 3) | (nnz == 0))[0])
        raise HierarchyError(
            f"{path}: U must have 1 to 3 entries per row; row {row} has {int(nnz[row])}"
        )
    sums = np.asarray(m.sum(1)).ravel()
    if np.abs(sums - 1).max() > 1e-4:
        row = int(np.argmax(np.abs(sums - 1)))
        raise HierarchyError(
            f"{path}: U rows must sum to 1 (+-1e-4); row {row} sums to {sums[row]:.6g}"
        )
    index = np.empty((m.shape[0], 3), dtype=np.int64)
    weight = np.zeros((m.shape[0], 3), dtype=np.float64)
    for slot in range(3):
        has = nnz > slot
        at = m.indptr[:-1] + np.minimum(slot, nnz - 1)  # pad with the row's first entry
        index[:, slot] = m.indices[np.where(has, at, m.indptr[:-1])]
        weight[has, slot] = m.data[at[has]]
    return index, weight


def read_mesh_ds(
    folder: str | os.PathLike, levels: int = 4, seq_length: int = 9, dilation: int = 1
) -> MeshHierarchy:
    """Read a reference ``mesh_ds`` folder as a :class:`MeshHierarchy` (spirals recomputed).

    Raises:
        HierarchyError: a file is missing or malformed; the message names the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise HierarchyError(f"{folder}: mesh_ds folder not found")
    vertices, faces, spirals = [], [], []
    for k in range(levels + 1):
        path = folder / f"mesh_{k}.obj"
        if not path.is_file():
            raise HierarchyError(
                f"{path}: file is missing (levels={levels} needs mesh_0..mesh_{levels})"
            )
        v, f = _load_obj(path)
        hm = HalfedgeMesh(len(v), f)
        vertices.append(v)
        faces.append(f)
        spirals.append(
            extract_spirals(v, f, seq_length, dilation, vertex_vertex=hm.all_vertex_vertex_orders())
        )
    down, up_index, up_weight = [], [], []
    for k in range(1, levels + 1):
        fine, coarse = len(vertices[k - 1]), len(vertices[k])
        d_path, u_path = folder / f"D_{k}.npz", folder / f"U_{k}.npz"
        down.append(_down_from(_load_sparse(d_path, (coarse, fine)), d_path))
        gap = float(np.abs(vertices[k - 1][down[-1]] - vertices[k]).max())
        if gap > 1e-4:
            log.warning(
                "%s: the vertices it selects from mesh_%d.obj differ from mesh_%d.obj by up "
                "to %.3g (expected the same positions)",
                d_path,
                k - 1,
                k,
                gap,
            )
        ui, uw = _up_from(_load_sparse(u_path, (fine, coarse)), u_path)
        up_index.append(ui)
        up_weight.append(uw)
    try:
        return MeshHierarchy(
            vertices=tuple(vertices),
            faces=tuple(faces),
            down=tuple(down),
            up_index=tuple(up_index),
            up_weight=tuple(up_weight),
            spirals=tuple(spirals),
            seq_length=seq_length,
            dilation=dilation,
        )
    except HierarchyError as exc:
        raise HierarchyError(f"{folder}: {exc}") from exc


def _obj_bytes(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    out = io.StringIO()
    np.savetxt(out, np.asarray(vertices, dtype=np.float64), fmt="v %.9g %.9g %.9g")
    np.savetxt(out, np.asarray(faces, dtype=np.int64) + 1, fmt="f %d %d %d")
    return out.getvalue().encode()


def _save_sparse(path: Path, m: sp.spmatrix) -> None:
    atomic_write(path, lambda f: sp.save_npz(f, m.tocsr()))


def adjacency(num_vertices: int, faces: np.ndarray) -> sp.csr_matrix:
    """Symmetric 0/1 vertex adjacency (V, V) of a triangle mesh."""
    faces = np.asarray(faces, dtype=np.int64)
    i = np.r_[faces[:, 0], faces[:, 1], faces[:, 2]]
    j = np.r_[faces[:, 1], faces[:, 2], faces[:, 0]]
    a = sp.csr_matrix(
        (np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(num_vertices, num_vertices)
    )
    a.data[:] = 1.0
    return a


def write_mesh_ds(hierarchy: MeshHierarchy, folder: str | os.PathLike) -> Path:
    """Write ``hierarchy`` in the reference ``mesh_ds`` format (every file atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(hierarchy.levels + 1):
        data = _obj_bytes(hierarchy.vertices[k], hierarchy.faces[k])
        atomic_write(folder / f"mesh_{k}.obj", lambda f, data=data: f.write(data))
    for k in range(hierarchy.levels + 1):
        _save_sparse(
            folder / f"A_{k}.npz", adjacency(len(hierarchy.vertices[k]), hierarchy.faces[k])
        )
    for k in range(1, hierarchy.levels + 1):
        _save_sparse(folder / f"D_{k}.npz", hierarchy.D(k))
        _save_sparse(folder / f"U_{k}.npz", hierarchy.U(k))
    return folder
