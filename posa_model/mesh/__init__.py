"""Meshes at several resolutions: the COMA-style hierarchy (D/U), SpiralNet++ spirals in OpenMesh
order, the reference ``mesh_ds`` format.

Submodules, one purpose each:
    hierarchy: :class:`MeshHierarchy` and its file format (:func:`save_hierarchy`,
        :func:`load_hierarchy`).
    build: :func:`build_hierarchy` (decimate, up-sample, spirals; every level checked).
    topology: :func:`edge_twins` and the one manifold check :func:`check_manifold`.
    decimation: :func:`decimate`, quadric decimation keeping original vertices.
    upsample: :func:`upsampling`, closest-triangle barycentric weights (libigl).
    levels: :func:`level_indices`, the full-resolution ids of a level's vertices.
    halfedge: OpenMesh-identical halfedge construction and ``vv`` circulator order.
    spirals: :func:`extract_spirals` (reference order, KD-tree fallback).
    mesh_ds: the reference ``mesh_ds/`` folder format (:func:`read_mesh_ds`,
        :func:`write_mesh_ds`).

The stand-in body's shipped hierarchy is :func:`posa_model.assets.standin_hierarchy`; the tool
that builds it is ``tools/make_standin.py``. Names are imported lazily so that
``import posa_model.mesh`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .build import build_hierarchy
    from .decimation import decimate
    from .halfedge import HalfedgeMesh, vertex_vertex_orders
    from .hierarchy import MeshHierarchy, load_hierarchy, save_hierarchy
    from .levels import level_indices
    from .mesh_ds import read_mesh_ds, write_mesh_ds
    from .spirals import extract_spirals
    from .topology import check_manifold, edge_twins
    from .upsample import upsampling

_LAZY = {
    "HalfedgeMesh": ".halfedge",
    "vertex_vertex_orders": ".halfedge",
    "extract_spirals": ".spirals",
    "MeshHierarchy": ".hierarchy",
    "load_hierarchy": ".hierarchy",
    "save_hierarchy": ".hierarchy",
    "build_hierarchy": ".build",
    "check_manifold": ".topology",
    "edge_twins": ".topology",
    "decimate": ".decimation",
    "upsampling": ".upsample",
    "level_indices": ".levels",
    "read_mesh_ds": ".mesh_ds",
    "write_mesh_ds": ".mesh_ds",
}

__all__ = [
    "HalfedgeMesh",
    "MeshHierarchy",
    "build_hierarchy",
    "check_manifold",
    "decimate",
    "edge_twins",
    "extract_spirals",
    "level_indices",
    "load_hierarchy",
    "read_mesh_ds",
    "save_hierarchy",
    "upsampling",
    "vertex_vertex_orders",
    "write_mesh_ds",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
