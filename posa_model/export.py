"""Writing a posed body with sampled contacts: coloured PLY / GLB meshes and NPZ arrays.

Every file holds the per-vertex arrays of all samples and vertex colours for one shown sample (a
contact heat map or the MPCAT40 class palette). The arrays are named (:func:`attribute_names`):

* ``.ply``: vertex properties ``contact_<k>`` (float32 probability) and ``semantics_<k>``
  (int32 class id);
* ``.glb``: vertex attributes ``_contact_<k>`` (float32) and ``_semantics_<k>`` (uint8): glTF
  requires application-specific attribute names to start with an underscore;
* ``.npz``: arrays ``contact`` (n, V) and ``semantics`` (n, V), plus ``vertices``, ``faces``,
  ``colors``.

Writes are atomic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from .classes import contact_colors, semantic_colors
from .errors import InputShapeError
from .io_utils import atomic_savez, atomic_write

Colour = Literal["contact", "semantics"]
FORMATS = (".ply", ".glb", ".npz")


def attribute_names(suffix: str, sample: int) -> tuple[str, str]:
    """(contact, semantics) per-vertex attribute names of sample ``sample`` in a ``.ply`` or
    ``.glb`` file written by :func:`write_contacts`."""
    prefix = "_" if suffix.lower() == ".glb" else ""
    return f"{prefix}contact_{sample}", f"{prefix}semantics_{sample}"


def vertex_colors(contact: np.ndarray, semantics: np.ndarray, colour: Colour) -> np.ndarray:
    """(V,) contact probability and class ids -> (V, 4) uint8 RGBA vertex colours."""
    if colour == "contact":
        rgb = contact_colors(contact)
    elif colour == "semantics":
        rgb = semantic_colors(semantics)
    else:
        raise InputShapeError(f"colour must be 'contact' or 'semantics', got {colour!r}")
    return np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)], axis=1)


def write_contacts(path: str | os.PathLike, vertices: np.ndarray, faces: np.ndarray,
                   contact: np.ndarray, semantics: np.ndarray, colour: Colour = "contact",
                   shown_sample: int = 0) -> Path:
    """Write one body with its sampled maps to ``path`` (.ply, .glb or .npz).

    Args:
        vertices: (V, 3) float posed vertices (metres, the body's frame: SMPL-X y-up).
        faces: (F, 3) int triangle indices.
        contact: (n, V) float contact probabilities; semantics: (n, V) int class ids.
        colour: which map colours the vertices; shown_sample: which sample colours them.
    """
    import trimesh

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputShapeError(f"{path}: output must end in one of {FORMATS}")
    contact = np.asarray(contact, np.float32)
    semantics = np.asarray(semantics)
    n, num_vertices = contact.shape
    if vertices.shape != (num_vertices, 3) or semantics.shape != (n, num_vertices):
        raise InputShapeError(
            f"shapes disagree: vertices {vertices.shape}, contact {contact.shape}, "
            f"semantics {semantics.shape}"
        )
    if not 0 <= shown_sample < n:
        raise InputShapeError(f"shown_sample {shown_sample} is outside 0..{n - 1}")
    colors = vertex_colors(contact[shown_sample], semantics[shown_sample], colour)
    if suffix == ".npz":
        return atomic_savez(path, vertices=np.asarray(vertices, np.float32),
                            faces=np.asarray(faces, np.int64), contact=contact,
                            semantics=semantics.astype(np.int64), colors=colors)
    mesh = trimesh.Trimesh(np.asarray(vertices, np.float64), np.asarray(faces), process=False)
    mesh.visual.vertex_colors = colors
    # glTF custom attributes cannot be int32; class ids (< 42) fit in uint8.
    sem_dtype = np.int32 if suffix == ".ply" else np.uint8
    for k in range(n):
        contact_name, semantics_name = attribute_names(suffix, k)
        mesh.vertex_attributes[contact_name] = contact[k]
        mesh.vertex_attributes[semantics_name] = semantics[k].astype(sem_dtype)
    data = mesh.export(file_type=suffix[1:])  # bytes for binary PLY and GLB
    return atomic_write(path, lambda f: f.write(data))
