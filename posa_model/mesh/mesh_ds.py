"""Read and write the reference POSA ``mesh_ds/`` folder format.

A folder holds, for levels ``k = 0..L``: ``mesh_{k}.obj`` (level k), and for ``k = 1..L``:
``D_{k}.npz`` (V_k, V_{k-1}) selecting level k from level k - 1, ``U_{k}.npz`` (V_{k-1}, V_k)
interpolating level k - 1 from level k (up to 3 barycentric weights per row) and ``A_{k}.npz``
(a vertex adjacency the reference loads but does not use), all written with
``scipy.sparse.save_npz``. The reference network uses mesh_2..mesh_4 for spirals and D_3, D_4.
Spirals are not part of the format: they are recomputed from each obj in OpenMesh order.

Reading is bounded: files must be regular files (a FIFO is refused, not waited on), an obj of
at most :data:`MAX_OBJ_BYTES`, ``.npz`` files through :func:`posa_model.io_utils.read_npz_bounded`;
face indices (including OBJ's invalid index 0), degenerate faces, non-finite positions and
sparse index arrays are checked before anything is built. Every failure is a
:class:`HierarchyError` naming the file and the field.
"""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import HierarchyError, PosaError
from ..io_utils import atomic_write, read_bytes_bounded, read_npz_bounded
from .halfedge import HalfedgeMesh
from .hierarchy import MeshHierarchy
from .spirals import extract_spirals

log = logging.getLogger(__name__)

#: Largest ``mesh_{k}.obj`` read (SMPL-X's level 0 is about 1 MB).
MAX_OBJ_BYTES = 256 << 20
#: Largest ``D_k`` / ``U_k`` / ``A_k`` ``.npz`` content read (SMPL-X's largest is about 0.5 MB).
MAX_SPARSE_BYTES = 256 << 20
#: Most levels a mesh_ds folder may have.
MAX_LEVELS = 16

_FACE_LINE = re.compile(rb"^[ \t]*f[ \t]+([^\r\n#]*)", re.MULTILINE)


def _require_file(path: Path) -> None:
    if not os.path.lexists(path):
        raise HierarchyError(f"{path}: file is missing")


def _check_obj_indices(path: Path, data: bytes) -> None:
    """Refuse OBJ face indices of 0 (OBJ counts from 1; trimesh would silently wrap them)."""
    for match in _FACE_LINE.finditer(data):
        for token in match.group(1).split():
            head = token.split(b"/", 1)[0]
            if head.lstrip(b"+").isdigit() and int(head) == 0:
                line = data.count(b"\n", 0, match.start()) + 1
                raise HierarchyError(
                    f"{path}: line {line}: face index 0 (OBJ vertex indices start at 1)")


def _load_obj(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    _require_file(path)
    data = read_bytes_bounded(path, "mesh", MAX_OBJ_BYTES, HierarchyError)
    _check_obj_indices(path, data)
    try:
        mesh = trimesh.load(io.BytesIO(data), file_type="obj", process=False,
                            maintain_order=True, force="mesh")
        vertices = np.asarray(mesh.vertices, dtype=np.float64)
        faces = np.asarray(mesh.faces, dtype=np.int64)
    except Exception as exc:  # trimesh raises many types for malformed files
        raise HierarchyError(f"{path}: cannot read the mesh ({type(exc).__name__}: {exc})") from exc
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise HierarchyError(f"{path}: expected vertices of shape (V, 3), found {vertices.shape}")
    if not np.isfinite(vertices).all():
        row = int(np.flatnonzero(~np.isfinite(vertices).all(1))[0])
        raise HierarchyError(f"{path}: vertex {row} has a NaN or infinite coordinate")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise HierarchyError(f"{path}: expected triangle faces (F, 3), found {faces.shape}")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise HierarchyError(f"{path}: face indices must lie in 1..{len(vertices)} (OBJ), found "
                             f"{int(faces.min()) + 1}..{int(faces.max()) + 1}")
    degenerate = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (
        faces[:, 0] == faces[:, 2])
    if degenerate.any():
        i = int(np.flatnonzero(degenerate)[0])
        raise HierarchyError(f"{path}: {int(degenerate.sum())} degenerate faces repeat a vertex, "
                             f"e.g. face {i} (OBJ indices {(faces[i] + 1).tolist()})")
    return vertices, faces


def _sparse_from_arrays(path: Path, z: dict[str, np.ndarray],
                        shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix from ``scipy.sparse.save_npz`` arrays (csr, csc or coo), every index and
    length checked before scipy sees them."""
    def field(name: str, kinds: str, ndim: int = 1) -> np.ndarray:
        if name not in z:
            raise HierarchyError(f"{path}: field {name!r} is missing (not a scipy.sparse .npz)")
        a = z[name]
        if a.ndim != ndim or a.dtype.kind not in kinds:
            raise HierarchyError(f"{path}: field {name!r} must be a {ndim}-d array of kind "
                                 f"{kinds!r}, found {a.dtype} {a.shape}")
        return a

    fmt = z.get("format")
    if fmt is None or fmt.size != 1 or fmt.dtype.kind not in "US":
        raise HierarchyError(f"{path}: field 'format' is missing or not a string")
    fmt_text = fmt.reshape(()).item()
    fmt_text = fmt_text.decode("ascii", "replace") if isinstance(fmt_text, bytes) else fmt_text
    stored = field("shape", "iu")
    if stored.shape != (2,) or tuple(int(n) for n in stored) != shape:
        raise HierarchyError(f"{path}: expected shape {shape}, found {stored.tolist()}")
    data = field("data", "biuf")
    if not np.isfinite(data).all():
        raise HierarchyError(f"{path}: field 'data' has NaN or infinite values")
    if fmt_text in ("csr", "csc"):
        indices, indptr = field("indices", "iu"), field("indptr", "iu")
        major, minor = shape if fmt_text == "csr" else shape[::-1]
        if len(indptr) != major + 1 or len(indices) != len(data):
            raise HierarchyError(f"{path}: {fmt_text} arrays disagree: indptr has {len(indptr)} "
                                 f"entries (expected {major + 1}), indices {len(indices)}, data "
                                 f"{len(data)}")
        rising = (np.diff(indptr.astype(np.int64)) >= 0).all()
        if indptr[0] != 0 or indptr[-1] != len(data) or not rising:
            raise HierarchyError(f"{path}: field 'indptr' must rise from 0 to {len(data)}")
        if indices.size and (int(indices.max()) >= minor or indices.min() < 0):
            raise HierarchyError(f"{path}: field 'indices' must lie in [0, {minor})")
        cls = sp.csr_matrix if fmt_text == "csr" else sp.csc_matrix
        m = cls((data.astype(np.float64), indices.astype(np.int64), indptr.astype(np.int64)),
                shape=shape)
    elif fmt_text == "coo":
        row, col = field("row", "iu"), field("col", "iu")
        if not len(row) == len(col) == len(data):
            raise HierarchyError(f"{path}: coo arrays disagree: row {len(row)}, col {len(col)}, "
                                 f"data {len(data)}")
        for name, a, n in (("row", row, shape[0]), ("col", col, shape[1])):
            if a.size and (int(a.max()) >= n or a.min() < 0):
                raise HierarchyError(f"{path}: field {name!r} must lie in [0, {n})")
        m = sp.coo_matrix((data.astype(np.float64), (row.astype(np.int64), col.astype(np.int64))),
                          shape=shape)
    else:
        raise HierarchyError(f"{path}: field 'format': expected 'csr', 'csc' or 'coo', found "
                             f"{fmt_text!r}")
    return sp.csr_matrix(m, dtype=np.float64)


def _load_sparse(path: Path, shape: tuple[int, int]) -> sp.csr_matrix:
    _require_file(path)
    z = read_npz_bounded(path, "scipy.sparse matrix", max_bytes=MAX_SPARSE_BYTES,
                         error=HierarchyError)
    try:
        m = _sparse_from_arrays(path, z, shape)
    except (ValueError, TypeError, IndexError) as exc:  # scipy's own format checks
        raise HierarchyError(f"{path}: not a valid sparse matrix ({exc})") from exc
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
    try:
        is_dir = folder.is_dir()
    except (OSError, ValueError):
        is_dir = False
    if not is_dir:
        raise HierarchyError(f"{folder}: mesh_ds folder not found")
    if not 0 <= int(levels) <= MAX_LEVELS:
        raise HierarchyError(f"{folder}: levels must be in 0..{MAX_LEVELS}, got {levels}")
    vertices, faces, spirals = [], [], []
    for k in range(levels + 1):
        path = folder / f"mesh_{k}.obj"
        if not os.path.lexists(path):
            raise HierarchyError(
                f"{path}: file is missing (levels={levels} needs mesh_0..mesh_{levels})"
            )
        v, f = _load_obj(path)
        try:
            hm = HalfedgeMesh(len(v), f)
            orders = hm.all_vertex_vertex_orders()
            spirals.append(extract_spirals(v, f, seq_length, dilation, vertex_vertex=orders))
        except PosaError as exc:
            raise HierarchyError(f"{path}: {exc}") from exc
        vertices.append(v)
        faces.append(f)
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
