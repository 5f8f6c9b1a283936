"""What the scene-file readers share: the raw object, Blender's object names, size limits.

The readers (:mod:`.gltf`, :mod:`.meshfiles`) turn one file into :class:`RawObject` s, in the
file's own frame, before classes and frames are applied by :func:`~.files.load_scene`. They list
objects as Blender's importers would show them in the outliner after importing the file into an
empty scene, with Blender's names (:class:`BlenderNames`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PosaError

__all__ = ["MAX_NAME_BYTES", "MAX_SCENE_BYTES", "MAX_TRIANGLES", "BlenderNames", "RawObject",
           "check_triangle_budget"]

#: Most triangles a scene file may declare (checked from its header before anything is read).
MAX_TRIANGLES = 20_000_000
#: Largest scene file read (bytes).
MAX_SCENE_BYTES = 2 << 30
#: Blender keeps the first 63 bytes (UTF-8) of a name.
MAX_NAME_BYTES = 63


@dataclass
class RawObject:
    """An object as read: ``name``, ``vertices`` (V, 3) float64 and ``faces`` (F, 3) int64 in
    the file's frame (node transforms applied), ``label`` ``(value, where)`` from the file or
    None, ``parents``: the names of the nodes above it (glTF), nearest first."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    label: tuple[Any, str] | None = None
    parents: tuple[str, ...] = ()


class BlenderNames:
    """Unique names as Blender gives them to new objects (or meshes) of one file, in order.

    A name is cut to 63 bytes of UTF-8 (at a character boundary); a name already taken becomes
    ``<base>.001``, ``<base>.002``, ... with the lowest free number, where ``<base>`` is the name
    without a ``.NNN`` suffix (``Chair.001`` taken again gives ``Chair.002``), cut so the result
    fits 63 bytes. Blender's names depend on what the scene already holds; these are the names
    of an import into an empty scene.
    """

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def add(self, name: str) -> str:
        """Take and return the Blender name of a new object called ``name``."""
        name = _cut(name, MAX_NAME_BYTES)
        if name not in self.taken:
            self.taken.add(name)
            return name
        base, dot, number = name.rpartition(".")
        if not (dot and number.isdigit() and base):
            base = name
        k = 1
        while True:
            suffix = f".{k:03d}"
            candidate = _cut(base, MAX_NAME_BYTES - len(suffix)) + suffix
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
            k += 1


def _cut(name: str, limit: int) -> str:
    data = name.encode("utf-8")
    if len(data) <= limit:
        return name
    return data[:limit].decode("utf-8", errors="ignore")


def check_triangle_budget(path: Path, count: int, limit: int, where: str) -> None:
    """Refuse a file declaring more than ``limit`` triangles, before anything is allocated.

    ``where`` names what declared them (``"accessors"``, ``"header: element face"``, ...).
    """
    if count > limit:
        raise PosaError(f"{path}: {where}: the file declares {count:,} triangles, over the limit "
                        f"of {limit:,} (pass max_triangles to load it anyway)")
