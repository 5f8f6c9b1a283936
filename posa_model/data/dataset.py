"""POSA training data in the reference on-disk format, memory-mapped so it may exceed RAM.

A split folder (``<root>/train`` or ``<root>/test``) holds N bodies at the network's level
(V = 655 vertices for SMPL-X):

==========================  ============  ====================================================
file                        shape, dtype  meaning
==========================  ============  ====================================================
``x.npy``                   (N, V) float  vertex-to-scene distance, metres (contact = x < thr)
``x_semantics.npy``         (N, V) int    MPCAT40 class of the nearest scene point, 0..41
``vertices_can.npy``        (N, V, 3)     canonical-frame vertices, metres (network input)
``recording_names.json``    N str         recording of each body; scene = text before '_'
``vertices.npy``            (N, V, 3)     scene-frame vertices (optional, checked if present)
``pkl_file_paths.json``     N str         source pose files (optional, checked if present)
``joints_can.npy``          any           unused
==========================  ============  ====================================================

Labels follow the reference: contact = distance < ``contact_threshold`` (0.05 m); class ids are
remapped with :data:`~posa_model.classes.REFERENCE_CLASS_REMAP` (seating -> sofa, bathtub ->
lighting) when ``remap_classes`` is on, and set to 0 (void) on vertices without contact when
``zero_semantics_without_contact`` is on. The feature map the cVAE reads is
``[contact (1), one-hot class (42)]`` = 43 channels per vertex (1 for a contact-only model).

Reading is bounded: every file must be a regular file (a FIFO is refused, not waited on), the
``.npy`` headers are checked (dtype kind, shape, data size covered by the file) before the
memory map is made, the JSON lists are read by :func:`posa_model.io_utils.read_json_bounded`;
errors are :class:`DatasetError` naming the file and the field.

Per-item access (``dataset[i]``) exists for inspection; training reads whole batches with
:meth:`PosaDataset.get_batch` (one fancy-indexed read per array instead of B Python calls).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from ..classes import NUM_CLASSES, REFERENCE_CLASS_REMAP
from ..errors import DatasetError
from ..io_utils import atomic_write, open_npy_memmap, read_json_bounded

__all__ = [
    "Batch",
    "DatasetError",
    "IndexBatches",
    "PosaDataset",
    "Sample",
    "make_features",
    "scene_of",
    "write_reference_split",
]

# name -> (required, trailing shape after (N, V)) for the .npy files we read.
_ARRAYS: dict[str, tuple[bool, tuple[int, ...]]] = {
    "x": (True, ()),
    "x_semantics": (True, ()),
    "vertices_can": (True, (3,)),
    "vertices": (False, (3,)),
}
_LISTS: dict[str, bool] = {"recording_names": True, "pkl_file_paths": False}
_CHUNK = 4096  # bodies per chunk when scanning values (keeps the check's memory bounded)
#: Largest recording_names.json / pkl_file_paths.json read.
MAX_LIST_BYTES = 1 << 30


def scene_of(recording_name: str) -> str:
    """The scene of a recording: the text before the first '_' (``'MPH16_00157_01'`` -> MPH16)."""
    return recording_name.split("_", 1)[0]


def make_features(contact: torch.Tensor, labels: torch.Tensor | None,
                  num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """The cVAE's feature map: (..., V) contact in {0, 1} and (..., V) int64 labels ->
    (..., V, 1 + num_classes) float32 ``[contact, one-hot(label)]``; labels None -> (..., V, 1).
    """
    c = contact.to(torch.float32).unsqueeze(-1)
    if labels is None:
        return c
    one_hot = torch.nn.functional.one_hot(labels.long(), num_classes).to(torch.float32)
    return torch.cat((c, one_hot), dim=-1)


class Sample(NamedTuple):
    """One body: ``features`` (V, F) float32 and ``vertices_can`` (V, 3) float32."""

    features: torch.Tensor
    vertices_can: torch.Tensor


@dataclass
class Batch:
    """A batch of bodies as the trainer wants it (the one-hot is built on the target device).

    contact: (B, V) float32 in {0, 1}; labels: (B, V) int64 class ids (0 without contact when
    the dataset zeroes them); vertices: (B, V, 3) float32 canonical vertices; indices: (B,) int64
    rows of the split.
    """

    contact: torch.Tensor
    labels: torch.Tensor
    vertices: torch.Tensor
    indices: torch.Tensor

    def features(self, use_semantics: bool = True) -> torch.Tensor:
        """(B, V, 43) or, without semantics, (B, V, 1) float32 feature map."""
        return make_features(self.contact, self.labels if use_semantics else None)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        return Batch(*(t.to(device, non_blocking=non_blocking) for t in
                       (self.contact, self.labels, self.vertices, self.indices)))

    def pin_memory(self) -> Batch:  # used by DataLoader(pin_memory=True)
        return Batch(*(t.pin_memory() for t in
                       (self.contact, self.labels, self.vertices, self.indices)))

    def __len__(self) -> int:
        return int(self.contact.shape[0])


class PosaDataset:
    """One split folder of the reference format, memory-mapped (``np.load(mmap_mode="r")``).

    Args:
        split_dir: the folder holding ``x.npy`` etc. (e.g. ``data/train``).
        num_vertices: the model's vertex count at its network level (655 for SMPL-X); a split
            with another V is refused. None accepts any V.
        contact_threshold: metres; contact = ``x < contact_threshold``.
        remap_classes: apply the reference's class remap {34: 10, 25: 28}.
        zero_semantics_without_contact: class 0 (void) where there is no contact.
        use_semantics: features with the 42-class one-hot (43 channels) or contact only (1).
        check_values: scan every value once (chunked) for NaN/inf and class ids outside 0..41.
            Shapes, dtypes and list lengths are always checked.

    Raises:
        DatasetError: naming the file and field on any missing file or malformed content.
    """

    def __init__(self, split_dir: str | os.PathLike, *, num_vertices: int | None = None,
                 contact_threshold: float = 0.05, remap_classes: bool = True,
                 zero_semantics_without_contact: bool = True, use_semantics: bool = True,
                 check_values: bool = True):
        self.root = Path(split_dir)
        try:
            is_dir = self.root.is_dir()
        except (OSError, ValueError):
            is_dir = False
        if not is_dir:
            raise DatasetError(f"dataset split folder not found: {self.root}")
        if not (contact_threshold > 0 and np.isfinite(contact_threshold)):
            raise DatasetError(f"contact_threshold must be > 0 metres, got {contact_threshold}")
        self.contact_threshold = float(contact_threshold)
        self.remap_classes = bool(remap_classes)
        self.zero_semantics_without_contact = bool(zero_semantics_without_contact)
        self.use_semantics = bool(use_semantics)
        lut = np.arange(NUM_CLASSES, dtype=np.int64)
        if self.remap_classes:
            for src, dst in REFERENCE_CLASS_REMAP.items():
                lut[src] = dst
        self._lut = torch.from_numpy(lut)
        self._arrays: dict[str, np.ndarray] = {}
        self._present = {name for name, (req, _) in _ARRAYS.items()
                         if req or os.path.lexists(self._file(name))}
        self._check_shapes(num_vertices)
        self.recording_names = self._read_list("recording_names")
        self.pkl_file_paths = (self._read_list("pkl_file_paths")
                               if os.path.lexists(self._json("pkl_file_paths")) else None)
        if check_values:
            self._check_values()

    # ---- files -------------------------------------------------------------------------
    def _file(self, name: str) -> Path:
        return self.root / f"{name}.npy"

    def _json(self, name: str) -> Path:
        return self.root / f"{name}.json"

    def _array(self, name: str) -> np.ndarray:
        """The memory-mapped array ``name`` (opened on first use, also in DataLoader workers)."""
        if name not in self._arrays:
            path = self._file(name)
            if not os.path.lexists(path):
                raise DatasetError(f"missing file {path} (field {name!r} of the POSA format)")
            kinds = "iu" if name == "x_semantics" else "f"
            self._arrays[name] = open_npy_memmap(path, f"field {name!r}", kinds=kinds,
                                                 error=DatasetError)
        return self._arrays[name]

    def __getstate__(self) -> dict[str, Any]:
        # Pickling a memmap copies its data; workers reopen the files instead.
        state = self.__dict__.copy()
        state["_arrays"] = {}
        return state

    # ---- validation --------------------------------------------------------------------
    def _check_shapes(self, num_vertices: int | None) -> None:
        x = self._array("x")
        if x.ndim != 2:
            raise DatasetError(f"{self._file('x')}: field 'x' must be (N, V) distances, found "
                               f"shape {x.shape}")
        n, v = x.shape
        if v < 1:
            raise DatasetError(f"{self._file('x')}: field 'x' must have at least one vertex, "
                               f"found shape {x.shape}")
        if num_vertices is not None and v != num_vertices:
            raise DatasetError(
                f"{self._file('x')}: bodies have {v} vertices, but the model's network level "
                f"has {num_vertices} (the data must be at the hierarchy level the model runs on)"
            )
        for name in (n for n in _ARRAYS if n in self._present):
            arr = self._array(name)
            expected = (n, v, *_ARRAYS[name][1])
            if arr.shape != expected:
                if arr.ndim == len(expected) and arr.shape[0] != n:
                    raise DatasetError(
                        f"{self._file(name)} has N={arr.shape[0]} bodies but "
                        f"{self._file('x')} has N={n}"
                    )
                raise DatasetError(f"{self._file(name)}: field {name!r} must have shape "
                                   f"{expected}, found {arr.shape}")
            kind = "iu" if name == "x_semantics" else "f"
            if arr.dtype.kind not in kind:
                want = "integer class ids" if name == "x_semantics" else "floating point"
                raise DatasetError(f"{self._file(name)}: field {name!r} must be {want}, found "
                                   f"dtype {arr.dtype}")

    def _read_list(self, name: str) -> list[str]:
        path = self._json(name)
        if not os.path.lexists(path):
            raise DatasetError(f"missing file {path} (field {name!r} of the POSA format)")
        data = read_json_bounded(path, f"field {name!r}", max_bytes=MAX_LIST_BYTES,
                                 error=DatasetError)
        if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
            raise DatasetError(f"{path}: field {name!r} must be a JSON list of strings")
        if len(data) != len(self):
            raise DatasetError(f"{path} has N={len(data)} entries but {self._file('x')} has "
                               f"N={len(self)}")
        return data

    def _check_values(self) -> None:
        n = len(self)
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            for name in (n for n in _ARRAYS if n in self._present):
                block = np.asarray(self._array(name)[start:stop])
                if name == "x_semantics":
                    lo, hi = int(block.min(initial=0)), int(block.max(initial=0))
                    if lo < 0 or hi >= NUM_CLASSES:
                        bad = lo if lo < 0 else hi
                        raise DatasetError(
                            f"{self._file(name)}: class id {bad} outside 0..{NUM_CLASSES - 1} "
                            f"in bodies {start}..{stop - 1}"
                        )
                elif not np.isfinite(block).all():
                    row = start + int(np.nonzero(~np.isfinite(block))[0][0])
                    raise DatasetError(f"{self._file(name)}: field {name!r} has NaN or inf "
                                       f"values (body {row})")

    # ---- access ------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._array("x").shape[0])

    @property
    def num_vertices(self) -> int:
        return int(self._array("x").shape[1])

    @property
    def feature_dim(self) -> int:
        return 1 + (NUM_CLASSES if self.use_semantics else 0)

    @property
    def scenes(self) -> list[str]:
        """Per body, the scene name (recording name before the first '_')."""
        return [scene_of(name) for name in self.recording_names]

    def scene_names(self) -> list[str]:
        """The distinct scenes of the split, sorted."""
        return sorted(set(self.scenes))

    def get_batch(self, indices: np.ndarray | torch.Tensor | list[int]) -> Batch:
        """Bodies ``indices`` (B,) as a :class:`Batch`, read with one sorted fancy index per
        array (sequential reads on disk), in the order given."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"{self.root}: index out of range for {n} bodies")
        idx = np.where(idx < 0, idx + n, idx)
        order = np.argsort(idx, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        sorted_idx = idx[order]

        def read(name: str, dtype) -> torch.Tensor:
            return torch.from_numpy(np.asarray(self._array(name)[sorted_idx], dtype=dtype)[inverse])

        distance = read("x", np.float32)
        contact = (distance < self.contact_threshold).to(torch.float32)
        labels = self._lut[read("x_semantics", np.int64)]
        if self.zero_semantics_without_contact:
            labels = torch.where(contact > 0, labels, torch.zeros_like(labels))
        vertices = read("vertices_can", np.float32)
        return Batch(contact, labels, vertices, torch.from_numpy(idx))

    def __getitem__(self, index: int) -> Sample:
        """Body ``index``: (features (V, F) float32, vertices_can (V, 3) float32)."""
        batch = self.get_batch([int(index)])
        return Sample(batch.features(self.use_semantics)[0], batch.vertices[0])


class IndexBatches(torch.utils.data.Dataset):
    """A map-style dataset whose item ``i`` is ``dataset.get_batch(batches[i])``.

    Use with ``DataLoader(IndexBatches(...), batch_size=None, num_workers=k)`` so that workers
    read whole batches (each worker reopens the memory maps).
    """

    def __init__(self, dataset: PosaDataset, batches: list[np.ndarray]):
        self.dataset = dataset
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> Batch:
        return self.dataset.get_batch(self.batches[i])


def write_reference_split(split_dir: str | os.PathLike, x: np.ndarray, x_semantics: np.ndarray,
                          vertices_can: np.ndarray, vertices: np.ndarray | None = None,
                          recording_names: list[str] | None = None,
                          pkl_file_paths: list[str] | None = None) -> Path:
    """Write one split in the reference format (atomically, file by file).

    x (N, V) metres, x_semantics (N, V) int, vertices_can / vertices (N, V, 3) metres;
    recording_names default to ``"scene_<i>"``, pkl_file_paths to ``""``. Returns the folder.
    """
    folder = Path(split_dir)
    n = len(x)
    arrays = {"x": np.asarray(x, np.float32), "x_semantics": np.asarray(x_semantics, np.int64),
              "vertices_can": np.asarray(vertices_can, np.float32)}
    if vertices is not None:
        arrays["vertices"] = np.asarray(vertices, np.float32)
    for name, arr in arrays.items():
        atomic_write(folder / f"{name}.npy", lambda f, arr=arr: np.save(f, arr))
    lists = {"recording_names": recording_names or [f"scene_{i}" for i in range(n)],
             "pkl_file_paths": pkl_file_paths or [""] * n}
    for name, items in lists.items():
        text = json.dumps(list(items)).encode("utf-8")
        atomic_write(folder / f"{name}.json", lambda f, text=text: f.write(text))
    return folder
