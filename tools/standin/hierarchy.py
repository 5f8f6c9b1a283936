"""The stand-in body's mesh hierarchy: built from the stand-in body file with the reference
parameters and written with the body's build key (:func:`build_standin_hierarchy`).

The shipped file is :data:`posa_model.assets.STANDIN_HIERARCHY_PATH`; the runtime reads it with
:func:`posa_model.assets.standin_hierarchy` and never builds it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from posa_model.assets import STANDIN_BODY_PATH, STANDIN_HIERARCHY_PATH
from posa_model.errors import HierarchyError
from posa_model.io_utils import read_npz_bounded
from posa_model.mesh.build import DEFAULT_BUILD_PARAMS, build_hierarchy, input_key
from posa_model.mesh.hierarchy import MAX_FILE_BYTES, MeshHierarchy, save_hierarchy

#: SMPL-X's hierarchy: 10475 -> 2619 -> 655 -> 164 -> 41 vertices.
STANDIN_COUNTS = (10475, 2619, 655, 164, 41)


def _read_body(body_path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not os.path.lexists(body_path):
        raise HierarchyError(f"{body_path}: stand-in body file not found")
    z = read_npz_bounded(body_path, "stand-in body", keys=("v_template", "f"), kinds="fiu",
                         max_bytes=MAX_FILE_BYTES, error=HierarchyError)
    missing = [k for k in ("v_template", "f") if k not in z]
    if missing:
        raise HierarchyError(f"{body_path}: fields {missing} are missing")
    if z["f"].dtype.kind not in "iu":
        raise HierarchyError(f"{body_path}: field 'f' must hold integers, found {z['f'].dtype}")
    return z["v_template"], z["f"].astype(np.int64)


def body_source_key(body_path: str | os.PathLike = STANDIN_BODY_PATH) -> str:
    """:func:`posa_model.mesh.build.input_key` of a body file's template mesh with
    :data:`~posa_model.mesh.build.DEFAULT_BUILD_PARAMS`: what the hierarchy file records."""
    v, f = _read_body(Path(body_path))
    return input_key(v, f, **DEFAULT_BUILD_PARAMS)


def build_standin_hierarchy(
    body_path: str | os.PathLike = STANDIN_BODY_PATH,
    out_path: str | os.PathLike = STANDIN_HIERARCHY_PATH,
    expected_counts: Sequence[int] | None = STANDIN_COUNTS,
) -> MeshHierarchy:
    """Build the hierarchy of the body file ``body_path`` and write it to ``out_path``.

    The file records the body's :func:`body_source_key`, so tests can tell when the body
    changed and the asset must be rebuilt. Nothing is written when the vertex counts are not
    ``expected_counts``.

    Raises:
        HierarchyError: the body file is missing or malformed, a level is not a manifold, or
            the counts differ.
    """
    body_path = Path(body_path)
    v, f = _read_body(body_path)
    h = build_hierarchy(v, f, **DEFAULT_BUILD_PARAMS)
    if expected_counts is not None and h.num_vertices != tuple(expected_counts):
        raise HierarchyError(
            f"{body_path}: hierarchy vertex counts {h.num_vertices}, expected "
            f"{tuple(expected_counts)}"
        )
    save_hierarchy(h, out_path, source_key=input_key(v, f, **DEFAULT_BUILD_PARAMS))
    return h
