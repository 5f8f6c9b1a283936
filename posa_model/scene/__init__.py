"""Scenes for placement: signed-distance + semantic grids, scene files, object classes.

Frame: SMPL-X world (+y up, metres) throughout; loaders convert other frames on the way in.

* :mod:`.grid`: :class:`SceneGrid` (numpy) / :class:`TorchSceneGrid` (differentiable lookup) and
  the reference's ``sdf/`` files.
* :mod:`.objects`: :class:`MeshObject`, one named triangle mesh with its MPCAT40 class.
* :mod:`.labels`: classes guessed from object names, explicit labels, the class report.
* :mod:`.rooms`: floor, walls and ceiling of unlabelled room meshes, from their shape.
* :mod:`.soup` / :mod:`.mesh_sdf`: :func:`build_scene_grid`, the grids of triangle meshes
  (libigl); :mod:`.grid_check`: how a grid compares with its meshes' winding number.
* :mod:`.files` (with the readers :mod:`.gltf`, :mod:`.meshfiles`): :func:`load_scene` for
  glTF/GLB, OBJ and PLY files, objects as Blender lists them, class mappings.
"""

from .files import LoadedScene, load_class_mapping, load_scene, scene_grid_from_file
from .grid import SceneGrid, TorchSceneGrid, load_scene_grid, save_scene_grid
from .grid_check import GridCheck, check_grid
from .labels import format_report, guess_class, guess_classes, parse_class
from .mesh_sdf import build_scene_grid
from .objects import MAX_SCENE_EXTENT, MeshObject
from .rooms import split_room_surfaces

__all__ = [
    "MAX_SCENE_EXTENT", "GridCheck", "LoadedScene", "MeshObject", "SceneGrid", "TorchSceneGrid",
    "build_scene_grid", "check_grid", "format_report", "guess_class", "guess_classes",
    "load_class_mapping", "load_scene", "load_scene_grid", "parse_class", "save_scene_grid",
    "scene_grid_from_file", "split_room_surfaces",
]  # fmt: skip
