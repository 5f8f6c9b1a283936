"""Which full-resolution vertices a mesh hierarchy level keeps."""

from __future__ import annotations

import numpy as np

from ..errors import InputShapeError

__all__ = ["level_indices"]


def level_indices(hierarchy, level: int) -> np.ndarray:
    """(N_level,) int64 full-resolution (level 0) ids of the vertices of ``level``: the
    composition of the hierarchy's down-selections ``down[0..level-1]``."""
    if not 0 <= level <= len(hierarchy.down):
        raise InputShapeError(f"level {level}: the hierarchy has levels 0..{len(hierarchy.down)}")
    index = np.arange(len(hierarchy.vertices[0]))
    for k in range(level):
        index = index[np.asarray(hierarchy.down[k])]
    return index.astype(np.int64)
