"""Scenes for placement: signed-distance + semantic grids, scene files, object classes.

Frame: SMPL-X world (+y up, metres) throughout; loaders convert other frames on the way in.

* :mod:`.grid`: :class:`SceneGrid` (numpy) / :class:`TorchSceneGrid` (differentiable lookup) and
  the reference's ``sdf/`` files.
* :mod:`.objects`: :class:`MeshObject`, one named triangle mesh with its MPCAT40 class.
* :mod:`.labels`: classes guessed from object names, explicit labels, the class report.
* :mod:`.mesh_sdf`: :func:`build_scene_grid`, the grids of triangle meshes (libigl).
* :mod:`.files`: :func:`load_scene` for glTF/GLB, OBJ and PLY files, class mappings.
"""

from .files import LoadedScene, load_class_mapping, load_scene, scene_grid_from_file
from .grid import SceneGrid, TorchSceneGrid, load_scene_grid, save_scene_grid
from .labels import format_report, guess_class, guess_classes, parse_class
from .mesh_sdf import build_scene_grid
from .objects import MeshObject

__all__ = [
    "LoadedScene", "MeshObject", "SceneGrid", "TorchSceneGrid", "build_scene_grid",
    "format_report", "guess_class", "guess_classes", "load_class_mapping", "load_scene",
    "load_scene_grid", "parse_class", "save_scene_grid", "scene_grid_from_file",
]  # fmt: skip
