"""The mesh hierarchy: :class:`MeshHierarchy` (levels, D/U operators, spirals, fingerprint) and
its file format (:func:`save_hierarchy` / :func:`load_hierarchy`, a compressed ``.npz``).

Building one is :func:`posa_model.mesh.build.build_hierarchy`; the reference ``mesh_ds/`` folder
format is :mod:`posa_model.mesh.mesh_ds`.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import HierarchyError
from ..io_utils import atomic_savez, npz_scalar, read_npz_bounded

__all__ = ["FORMAT_VERSION", "MAX_DILATION", "MAX_FILE_BYTES", "MAX_LEVELS", "MAX_SEQ_LENGTH",
           "MeshHierarchy", "load_hierarchy", "save_hierarchy", "stored_source_key",
           "validate_hierarchy"]

#: Version of the on-disk ``.npz`` layout written by :func:`save_hierarchy`.
FORMAT_VERSION = 1
#: Most levels a stored hierarchy may have, and the largest spiral length / dilation it may use.
MAX_LEVELS = 16
MAX_SEQ_LENGTH = 64
MAX_DILATION = 16
#: Largest uncompressed content of a hierarchy (or stand-in body) ``.npz`` that is read.
MAX_FILE_BYTES = 1 << 30

# Stored field -> the numpy kinds it may have ("f" float, "iu" integer).
_FIELD_KINDS = {"vertices": "fiu", "faces": "iu", "spirals": "iu", "down": "iu",
                "up_index": "iu", "up_weight": "fiu"}


@dataclass(frozen=True, eq=False)
class MeshHierarchy:
    """A mesh at ``levels + 1`` resolutions with the operators between them.

    Per level ``k = 0..levels``:
        vertices[k]: (V_k, 3) float32 positions (level k > 0: surviving original vertices).
        faces[k]: (F_k, 3) int64, counter-clockwise as the input.
        spirals[k]: (V_k, seq_length) int64 SpiralNet++ indices into level k.
    Per step ``k = 0..levels-1`` (level k -> level k + 1):
        down[k]: (V_{k+1},) int64, level-k index of each level-(k+1) vertex (``D_{k+1}``).
        up_index[k]: (V_k, 3) int64 level-(k+1) vertices of the triangle each level-k vertex is
            projected on; up_weight[k]: (V_k, 3) float32 barycentric weights, rows sum to 1
            (``U_{k+1}``). A surviving vertex maps to itself with weight 1.

    Arrays are read-only. Use :meth:`D` / :meth:`U` for scipy matrices in the reference
    orientation and :attr:`fingerprint` to tie trained weights to this exact hierarchy.
    """

    vertices: tuple[np.ndarray, ...]
    faces: tuple[np.ndarray, ...]
    down: tuple[np.ndarray, ...]
    up_index: tuple[np.ndarray, ...]
    up_weight: tuple[np.ndarray, ...]
    spirals: tuple[np.ndarray, ...]
    seq_length: int = 9
    dilation: int = 1

    def __post_init__(self) -> None:
        fields = {
            "vertices": (np.float32, self.vertices),
            "faces": (np.int64, self.faces),
            "down": (np.int64, self.down),
            "up_index": (np.int64, self.up_index),
            "up_weight": (np.float32, self.up_weight),
            "spirals": (np.int64, self.spirals),
        }
        for name, (dtype, arrays) in fields.items():
            frozen = []
            for a in arrays:
                a = np.array(a, dtype=dtype, copy=True, order="C")
                a.setflags(write=False)
                frozen.append(a)
            object.__setattr__(self, name, tuple(frozen))
        object.__setattr__(self, "seq_length", int(self.seq_length))
        object.__setattr__(self, "dilation", int(self.dilation))
        validate_hierarchy(self)

    @property
    def levels(self) -> int:
        """Number of decimation steps (``len(vertices) - 1``)."""
        return len(self.vertices) - 1

    @property
    def num_vertices(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.vertices)

    def D(self, k: int) -> sp.csr_matrix:
        """``D_k`` (V_k, V_{k-1}): one 1 per row, selects level-k vertices from level k - 1."""
        self._check_step(k)
        idx = self.down[k - 1]
        n_rows, n_cols = len(idx), len(self.vertices[k - 1])
        data = np.ones(n_rows, dtype=np.float64)
        return sp.csr_matrix((data, (np.arange(n_rows), idx)), shape=(n_rows, n_cols))

    def U(self, k: int) -> sp.csr_matrix:
        """``U_k`` (V_{k-1}, V_k): barycentric interpolation from level k up to level k - 1."""
        self._check_step(k)
        idx, w = self.up_index[k - 1], self.up_weight[k - 1].astype(np.float64)
        rows = np.repeat(np.arange(len(idx)), 3)
        m = sp.csr_matrix((w.ravel(), (rows, idx.ravel())), shape=(len(idx), len(self.vertices[k])))
        m.sum_duplicates()
        m.eliminate_zeros()
        return m

    def _check_step(self, k: int) -> None:
        if not 1 <= k <= self.levels:
            raise IndexError(f"level step must be in 1..{self.levels}, got {k}")

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 hex over what a trained network depends on: faces, D, U, spirals, params.

        Positions are not included. U enters as an operator (canonical sparse matrix, weights
        rounded to 1e-4, zero weights dropped), so last-bit differences between machines and
        the padding of ``up_index`` rows with fewer than 3 weights do not change it.
        """
        h = hashlib.sha256()
        h.update(f"posa_model.MeshHierarchy/v1 seq={self.seq_length} dil={self.dilation}".encode())

        def put(name: str, a: np.ndarray) -> None:
            a = np.ascontiguousarray(a, dtype="<i8")
            h.update(f"|{name}{a.shape}|".encode())
            h.update(a.tobytes())

        for k in range(self.levels + 1):
            put(f"faces{k}", self.faces[k])
            put(f"spirals{k}", self.spirals[k])
        for k in range(self.levels):
            put(f"down{k}", self.down[k])
            # U as an operator: canonical CSR, weights rounded, zero weights dropped
            u = self.U(k + 1)
            u.data = np.rint(u.data * 1e4)
            u.eliminate_zeros()
            u.sort_indices()
            put(f"up_indptr{k}", u.indptr)
            put(f"up_indices{k}", u.indices)
            put(f"up_data{k}", u.data)
        return h.hexdigest()


def validate_hierarchy(h: MeshHierarchy, source: str = "MeshHierarchy") -> None:
    """Raise HierarchyError (naming ``source`` and the field) if ``h`` is inconsistent."""
    n_levels = len(h.vertices)
    if n_levels < 1:
        raise HierarchyError(f"{source}: needs at least one level, found none")
    for name, arrays, expected in (
        ("faces", h.faces, n_levels),
        ("spirals", h.spirals, n_levels),
        ("down", h.down, n_levels - 1),
        ("up_index", h.up_index, n_levels - 1),
        ("up_weight", h.up_weight, n_levels - 1),
    ):
        if len(arrays) != expected:
            raise HierarchyError(
                f"{source}: field {name!r}: expected {expected} arrays for "
                f"{n_levels} levels, found {len(arrays)}"
            )
    if h.seq_length < 1 or h.dilation < 1:
        raise HierarchyError(
            f"{source}: seq_length and dilation must be >= 1, found {h.seq_length}, {h.dilation}"
        )

    def fail(field: str, k: int, what: str) -> None:
        raise HierarchyError(f"{source}: field '{field}_{k}': {what}")

    counts = []
    for k in range(n_levels):
        v, f, s = h.vertices[k], h.faces[k], h.spirals[k]
        if v.ndim != 2 or v.shape[1] != 3:
            fail("vertices", k, f"expected shape (V, 3), found {v.shape}")
        if not np.isfinite(v).all():
            fail("vertices", k, "contains NaN or infinite values")
        n = len(v)
        counts.append(n)
        if f.ndim != 2 or f.shape[1] != 3:
            fail("faces", k, f"expected shape (F, 3), found {f.shape}")
        if f.size and (f.min() < 0 or f.max() >= n):
            fail("faces", k, f"indices must lie in [0, {n}), found [{f.min()}, {f.max()}]")
        if f.size:
            bad = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                fail("faces", k, f"{int(bad.sum())} degenerate faces repeat a vertex, e.g. "
                     f"face {i} {f[i].tolist()}")
        if s.shape != (n, h.seq_length):
            fail("spirals", k, f"expected shape ({n}, {h.seq_length}), found {s.shape}")
        if s.size and (s.min() < 0 or s.max() >= n):
            fail("spirals", k, f"indices must lie in [0, {n}), found [{s.min()}, {s.max()}]")
        if n and not np.array_equal(s[:, 0], np.arange(n)):
            fail("spirals", k, "column 0 must be the vertex itself (0..V-1)")
    for k in range(n_levels - 1):
        d, ui, uw = h.down[k], h.up_index[k], h.up_weight[k]
        fine, coarse = counts[k], counts[k + 1]
        if d.shape != (coarse,):
            fail("down", k, f"expected shape ({coarse},), found {d.shape}")
        if d.size and (d.min() < 0 or d.max() >= fine):
            fail("down", k, f"indices must lie in [0, {fine}), found [{d.min()}, {d.max()}]")
        if len(np.unique(d)) != len(d):
            fail("down", k, "selects some level vertex twice")
        if ui.shape != (fine, 3):
            fail("up_index", k, f"expected shape ({fine}, 3), found {ui.shape}")
        if ui.size and (ui.min() < 0 or ui.max() >= coarse):
            found = f"[{ui.min()}, {ui.max()}]"
            fail("up_index", k, f"indices must lie in [0, {coarse}), found {found}")
        if uw.shape != (fine, 3):
            fail("up_weight", k, f"expected shape ({fine}, 3), found {uw.shape}")
        if not np.isfinite(uw).all() or (uw.size and uw.min() < -1e-4):
            fail("up_weight", k, "weights must be finite and non-negative")
        sums = uw.astype(np.float64).sum(1)
        if sums.size and np.abs(sums - 1).max() > 1e-4:
            row = int(np.argmax(np.abs(sums - 1)))
            fail("up_weight", k, f"rows must sum to 1, row {row} sums to {sums[row]:.6g}")



def _arrays_of(h: MeshHierarchy) -> dict[str, np.ndarray]:
    def small(a: np.ndarray) -> np.ndarray:
        return a.astype(np.int32) if a.size == 0 or a.max() < 2**31 - 1 else a

    out: dict[str, np.ndarray] = {
        "format_version": np.int64(FORMAT_VERSION),
        "levels": np.int64(h.levels),
        "seq_length": np.int64(h.seq_length),
        "dilation": np.int64(h.dilation),
        "fingerprint": np.str_(h.fingerprint),
    }
    for k in range(h.levels + 1):
        out[f"vertices_{k}"] = h.vertices[k]
        out[f"faces_{k}"] = small(h.faces[k])
        out[f"spirals_{k}"] = small(h.spirals[k])
    for k in range(h.levels):
        out[f"down_{k}"] = small(h.down[k])
        out[f"up_index_{k}"] = small(h.up_index[k])
        out[f"up_weight_{k}"] = h.up_weight[k]
    return out


def save_hierarchy(
    h: MeshHierarchy, path: str | os.PathLike, source_key: str | None = None
) -> Path:
    """Write ``h`` to a compressed ``.npz`` atomically (no pickles); returns the path.

    ``source_key`` (optional, e.g. :func:`posa_model.mesh.build.input_key` of the mesh it was
    built from) is stored as field ``source_key`` so that a stale file can be detected;
    :func:`load_hierarchy` ignores it, :func:`stored_source_key` reads it.
    """
    arrays = _arrays_of(h)
    if source_key is not None:
        arrays["source_key"] = np.str_(source_key)
    return atomic_savez(path, compressed=True, **arrays)


def _require_hierarchy_file(path: Path) -> None:
    if not os.path.lexists(path):
        raise HierarchyError(f"{path}: hierarchy file not found")


def stored_source_key(path: str | os.PathLike) -> str | None:
    """The ``source_key`` saved with a hierarchy file, or None if it has none."""
    path = Path(path)
    _require_hierarchy_file(path)
    data = read_npz_bounded(path, "hierarchy", keys=("source_key",), kinds="US",
                            error=HierarchyError)
    if "source_key" not in data:
        return None
    return npz_scalar(data, "source_key", str(path), "US", HierarchyError)


def _int_field(data: dict[str, np.ndarray], path: Path, key: str, lo: int, hi: int) -> int:
    value = npz_scalar(data, key, str(path), "iu", HierarchyError)
    if not lo <= value <= hi:
        raise HierarchyError(f"{path}: field {key!r} must be in {lo}..{hi}, found {value}")
    return int(value)


def load_hierarchy(path: str | os.PathLike) -> MeshHierarchy:
    """Read a file written by :func:`save_hierarchy`, validating it and its fingerprint.

    Bounded: the file must be a regular file, its arrays are read through
    :func:`posa_model.io_utils.read_npz_bounded` (at most :data:`MAX_FILE_BYTES`), the header
    fields must be integer scalars in range and each array of the kind its field needs.

    Raises:
        HierarchyError: naming the file and the field, for every malformed input.
    """
    path = Path(path)
    _require_hierarchy_file(path)
    data = read_npz_bounded(path, "hierarchy", max_bytes=MAX_FILE_BYTES, error=HierarchyError)
    version = npz_scalar(data, "format_version", str(path), "iu", HierarchyError)
    if version != FORMAT_VERSION:
        raise HierarchyError(
            f"{path}: field 'format_version': expected {FORMAT_VERSION}, found {version}"
        )
    levels = _int_field(data, path, "levels", 0, MAX_LEVELS)
    seq_length = _int_field(data, path, "seq_length", 1, MAX_SEQ_LENGTH)
    dilation = _int_field(data, path, "dilation", 1, MAX_DILATION)
    stored = npz_scalar(data, "fingerprint", str(path), "US", HierarchyError)

    def get(name: str, k: int) -> np.ndarray:
        key = f"{name}_{k}"
        if key not in data:
            raise HierarchyError(f"{path}: field {key!r} is missing")
        a = data[key]
        if a.dtype.kind not in _FIELD_KINDS[name]:
            raise HierarchyError(f"{path}: field {key!r} must hold "
                                 f"{'numbers' if 'f' in _FIELD_KINDS[name] else 'integers'}, "
                                 f"found dtype {a.dtype}")
        return a

    try:
        h = MeshHierarchy(
            vertices=tuple(get("vertices", k) for k in range(levels + 1)),
            faces=tuple(get("faces", k) for k in range(levels + 1)),
            down=tuple(get("down", k) for k in range(levels)),
            up_index=tuple(get("up_index", k) for k in range(levels)),
            up_weight=tuple(get("up_weight", k) for k in range(levels)),
            spirals=tuple(get("spirals", k) for k in range(levels + 1)),
            seq_length=seq_length,
            dilation=dilation,
        )
    except HierarchyError as exc:
        raise HierarchyError(f"{path}: {exc}") from exc
    if stored != h.fingerprint:
        raise HierarchyError(
            f"{path}: field 'fingerprint': stored {stored[:16]}..., recomputed "
            f"{h.fingerprint[:16]}... (the file was modified or is corrupt)"
        )
    return h

