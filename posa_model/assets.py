"""The files shipped in ``posa_model/assets/``: the one place their paths are defined, and the
small loaders the runtime needs.

* :data:`STANDIN_BODY_PATH` (``assets/standin/smplx/SMPLX_NEUTRAL.npz``): the procedural
  stand-in body in the SMPL-X file format (SMPL-X's 10,475 vertices and 55 joints, its own
  faces; not SMPL-X). ``load_body_model(None)`` loads it.
* :data:`STANDIN_HIERARCHY_PATH` (``assets/standin_hierarchy.npz``): the stand-in's mesh
  hierarchy, loaded by :func:`standin_hierarchy`.
* :data:`DEFAULT_CHECKPOINT_PATH` (``assets/posa_standin.pt``): the checkpoint trained on the
  stand-in, what ``load_sampler()`` reads.

The stand-in's frame regressor is no file of its own: :func:`standin_frame_regressor` takes its
four rows from the stand-in body's ``J_regressor``.

The files are made at build time by the tools in ``tools/``, never at run time:
``python tools/make_standin.py body`` and ``... hierarchy`` (the stand-in and its hierarchy),
``python tools/make_default_checkpoint.py --from RUN/best.pt`` (the checkpoint). Importing this
module imports nothing heavy.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from .mesh.hierarchy import MeshHierarchy

__all__ = [
    "ASSETS_DIR",
    "DEFAULT_CHECKPOINT_PATH",
    "SHIPPED_FILES",
    "STANDIN_BODY_PATH",
    "STANDIN_HIERARCHY_PATH",
    "default_checkpoint_path",
    "resolve_hierarchy",
    "standin_frame_regressor",
    "standin_hierarchy",
    "standin_path",
]

_PACKAGE_DIR = Path(__file__).resolve().parent
#: The folder of the shipped files.
ASSETS_DIR = _PACKAGE_DIR / "assets"
STANDIN_BODY_PATH = ASSETS_DIR / "standin" / "smplx" / "SMPLX_NEUTRAL.npz"
STANDIN_HIERARCHY_PATH = ASSETS_DIR / "standin_hierarchy.npz"
DEFAULT_CHECKPOINT_PATH = ASSETS_DIR / "posa_standin.pt"
#: Every shipped file, relative to the package folder ``posa_model/`` (what a wheel must carry).
SHIPPED_FILES: tuple[str, ...] = tuple(
    p.relative_to(_PACKAGE_DIR).as_posix()
    for p in (STANDIN_BODY_PATH, STANDIN_HIERARCHY_PATH, DEFAULT_CHECKPOINT_PATH)
)


def standin_path() -> Path:
    """Path of the procedural stand-in body (:data:`STANDIN_BODY_PATH`).

    The stand-in has SMPL-X's layout (10475 vertices, 55 joints, y-up, metres, T-pose rest, facing
    +z, body-left at +x) but is not SMPL-X: it lets everything run without the licensed model.
    """
    return STANDIN_BODY_PATH


def default_checkpoint_path() -> Path:
    """Path of the checkpoint shipped with the package (:data:`DEFAULT_CHECKPOINT_PATH`)."""
    return DEFAULT_CHECKPOINT_PATH


@functools.lru_cache(maxsize=1)
def standin_hierarchy() -> MeshHierarchy:
    """The stand-in body's mesh hierarchy, loaded once from :data:`STANDIN_HIERARCHY_PATH`.

    Validated and fingerprint-checked; nothing is built. Levels 10475 -> 2619 -> 655 -> 164 ->
    41, spirals seq_length 9, dilation 1.

    Raises:
        HierarchyError: the file is missing or corrupt.
    """
    from .errors import HierarchyError
    from .mesh.hierarchy import load_hierarchy

    if not STANDIN_HIERARCHY_PATH.is_file():
        raise HierarchyError(
            f"{STANDIN_HIERARCHY_PATH}: stand-in hierarchy asset is missing; rebuild it with "
            "`python tools/make_standin.py hierarchy`"
        )
    return load_hierarchy(STANDIN_HIERARCHY_PATH)


def standin_frame_regressor() -> torch.Tensor:
    """(4, 10475) float32 rows of the stand-in's ``J_regressor`` for the frame joints (pelvis,
    left_hip, right_hip, spine3: :data:`posa_model.frames.FRAME_JOINTS`)."""
    import numpy as np
    import torch

    from .frames import FRAME_JOINTS

    with np.load(STANDIN_BODY_PATH, allow_pickle=False) as data:
        regressor = np.asarray(data["J_regressor"], dtype=np.float32)
    return torch.from_numpy(regressor[list(FRAME_JOINTS)])


def resolve_hierarchy(hierarchy: MeshHierarchy | str | os.PathLike | None = None
                      ) -> MeshHierarchy:
    """The mesh hierarchy a ``hierarchy`` argument names: None -> the stand-in's shipped one
    (:func:`standin_hierarchy`); a MeshHierarchy as is; a folder -> a reference ``mesh_ds``; a
    file -> a hierarchy saved by ``posa_model.mesh.hierarchy.save_hierarchy``.

    Raises:
        PosaError: the path is neither a file nor a folder; HierarchyError: it is malformed.
    """
    from .errors import PosaError
    from .mesh.hierarchy import MeshHierarchy, load_hierarchy
    from .mesh.mesh_ds import read_mesh_ds

    if hierarchy is None:
        return standin_hierarchy()
    if isinstance(hierarchy, MeshHierarchy):
        return hierarchy
    path = Path(hierarchy)
    if path.is_dir():
        return read_mesh_ds(path)
    if path.is_file():
        return load_hierarchy(path)
    raise PosaError(f"mesh hierarchy not found: {path} (expected a .npz file or mesh_ds folder)")
