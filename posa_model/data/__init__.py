"""Training data: the reference POSA on-disk format, memory-mapped (see :mod:`.dataset`)."""

from __future__ import annotations

from .dataset import (
    Batch,
    DatasetError,
    IndexBatches,
    PosaDataset,
    Sample,
    make_features,
    scene_of,
    write_reference_split,
)

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
