"""Mesh hierarchy (COMA-style D/U), SpiralNet++ spirals in OpenMesh order, mesh_ds I/O.

Submodules:
    halfedge: OpenMesh-identical halfedge construction and ``vv`` circulator order.
    spirals: :func:`extract_spirals` (reference order, KD-tree fallback).
    hierarchy: :class:`MeshHierarchy`, :func:`build_hierarchy`, save/load, on-disk cache;
        ``python -m posa_model.mesh.hierarchy --standin`` rebuilds the shipped stand-in asset.
    mesh_ds: the reference ``mesh_ds/`` folder format (:func:`read_mesh_ds`,
        :func:`write_mesh_ds`).

Names are imported lazily so that ``import posa_model.mesh`` stays cheap and
``python -m posa_model.mesh.hierarchy`` runs without a double import.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .halfedge import HalfedgeMesh, vertex_vertex_orders
    from .hierarchy import (
        STANDIN_HIERARCHY_PATH,
        MeshHierarchy,
        build_hierarchy,
        check_level_mesh,
        decimate,
        load_hierarchy,
        load_or_build_hierarchy,
        save_hierarchy,
    )
    from .mesh_ds import read_mesh_ds, write_mesh_ds
    from .spirals import extract_spirals

_LAZY = {
    "HalfedgeMesh": "halfedge",
    "vertex_vertex_orders": "halfedge",
    "extract_spirals": "spirals",
    "MeshHierarchy": "hierarchy",
    "STANDIN_HIERARCHY_PATH": "hierarchy",
    "build_hierarchy": "hierarchy",
    "check_level_mesh": "hierarchy",
    "decimate": "hierarchy",
    "load_hierarchy": "hierarchy",
    "load_or_build_hierarchy": "hierarchy",
    "save_hierarchy": "hierarchy",
    "read_mesh_ds": "mesh_ds",
    "write_mesh_ds": "mesh_ds",
}

__all__ = [
    "STANDIN_HIERARCHY_PATH",
    "HalfedgeMesh",
    "MeshHierarchy",
    "build_hierarchy",
    "check_level_mesh",
    "decimate",
    "extract_spirals",
    "load_hierarchy",
    "load_or_build_hierarchy",
    "read_mesh_ds",
    "save_hierarchy",
    "standin_hierarchy",
    "vertex_vertex_orders",
    "write_mesh_ds",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=1)
def standin_hierarchy() -> MeshHierarchy:
    """The hierarchy of the stand-in SMPL-X body shipped in ``posa_model/assets``.

    Loads ``standin_hierarchy.npz`` (validated, fingerprint checked); nothing is built. Levels:
    10475 -> 2619 -> 655 -> 164 -> 41, spirals seq_length 9, dilation 1.

    Raises:
        HierarchyError: the asset is missing or corrupt; rebuild it with
            ``python -m posa_model.mesh.hierarchy --standin``.
    """
    from ..errors import HierarchyError
    from .hierarchy import STANDIN_HIERARCHY_PATH, load_hierarchy

    if not STANDIN_HIERARCHY_PATH.is_file():
        raise HierarchyError(
            f"{STANDIN_HIERARCHY_PATH}: stand-in hierarchy asset is missing; build it with "
            "`python -m posa_model.mesh.hierarchy --standin`"
        )
    return load_hierarchy(STANDIN_HIERARCHY_PATH)
