"""Scenes as triangle meshes: one node per object (``chair.0``), coloured by class, and GLB files.

The meshes are the exact boxes of :class:`~.scene.Scene` (12 triangles each), so the analytic
distances and the mesh agree (``tests/test_synthesize.py`` checks it with trimesh).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..classes import PALETTE
from ..io_utils import atomic_write
from .scene import Scene

__all__ = ["BOX_FACES", "object_mesh", "save_scene", "scene_mesh", "scene_to_trimesh"]

#: Outward-facing triangles of a box whose corners come from :meth:`Boxes.corners` (index =
#: 4 * x + 2 * y + z with 0 = minus side, 1 = plus side).
BOX_FACES = np.array([
    [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5],  # -x, +x
    [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],  # -y, +y
    [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],  # -z, +z
], dtype=np.int64)  # fmt: skip


def object_mesh(scene: Scene, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) float vertices and (F, 3) faces of object ``index`` (its boxes, not welded)."""
    parts = np.asarray(scene.objects[index].parts, dtype=np.int64)
    corners = scene.boxes.subset(parts).corners()  # (P, 8, 3)
    faces = (BOX_FACES[None] + 8 * np.arange(len(parts))[:, None, None]).reshape(-1, 3)
    return corners.reshape(-1, 3), faces


def scene_mesh(scene: Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The whole scene as one triangle soup: vertices (V, 3), faces (F, 3), face classes (F,)."""
    corners = scene.boxes.corners()
    n = len(scene.boxes)
    faces = (BOX_FACES[None] + 8 * np.arange(n)[:, None, None]).reshape(-1, 3)
    return corners.reshape(-1, 3), faces, np.repeat(scene.boxes.class_ids, len(BOX_FACES))


def scene_to_trimesh(scene: Scene):
    """A ``trimesh.Scene`` with one node per object, named after it, coloured by its class."""
    import trimesh

    out = trimesh.Scene()
    for i, obj in enumerate(scene.objects):
        vertices, faces = object_mesh(scene, i)
        mesh = trimesh.Trimesh(vertices, faces, process=False)
        rgba = np.append(PALETTE[obj.class_id], 255).astype(np.uint8)
        mesh.visual.face_colors = np.tile(rgba, (len(faces), 1))
        mesh.metadata["class_id"] = int(obj.class_id)
        out.add_geometry(mesh, node_name=obj.name, geom_name=obj.name)
    return out


def save_scene(folder: str | os.PathLike, scene: Scene) -> Path:
    """Write ``<scene>.glb`` (one node per object) and ``<scene>_objects.json`` atomically."""
    folder = Path(folder)
    data = scene_to_trimesh(scene).export(file_type="glb")
    path = atomic_write(folder / f"{scene.name}.glb", lambda f: f.write(data))
    info = {"scene": scene.name, "room_type": scene.room_type,
            "size": {"width": scene.size[0], "height": scene.size[1], "depth": scene.size[2]},
            "frame": "SMPL-X world: +y up, metres; floor top at y = 0",
            "objects": scene.object_names()}
    text = json.dumps(info, indent=1).encode()
    atomic_write(folder / f"{scene.name}_objects.json", lambda f: f.write(text))
    return path
