"""The Blender scene as posa_model sees it: objects with their classes, people, grids.

Every mesh object that is not a POSA body goes to posa_model as a
:class:`posa_model.scene.MeshObject` (SMPL-X world, +y up): with its POSA class when it has one,
as an obstacle (class 0) when not, so that nothing in the scene is walked, sat or lain through.
An object's class is, in this order: the one set by hand (or from a class mapping), the label
its file carried (glTF node or mesh extras, which Blender's importer keeps as custom properties
of the object and of its mesh: ``posa_class`` and the other keys of
``posa_model.scene.files.LABEL_KEYS``), the class Guess Classes guessed from the name, none.
The bodies in the scene are obstacles for the people placed around them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import bpy
import numpy as np

from . import arrays, body, props

if TYPE_CHECKING:
    from . import runtime

#: Custom-property keys that hold a class in imported files (posa_model's glTF label keys; a
#: copy, so that drawing the panel imports nothing heavy; a test checks they agree).
LABEL_KEYS = ("posa_class", "posa_class_id", "class", "class_id", "mpcat40", "mpcat40_id")


# --------------------------------------------------------------------------------------------
# objects and classes


def is_body(obj: bpy.types.Object) -> bool:
    """Whether ``obj`` is the mesh of a POSA body (made by Add Body or Populate Scene)."""
    return obj.type == "MESH" and props.object_info(obj).role == body.BODY_ROLE


def scene_meshes(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """The scene's mesh objects that are not POSA bodies, by name."""
    return sorted((o for o in scene.objects if o.type == "MESH" and not is_body(o)),
                  key=lambda o: o.name)


def scene_bodies(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """The meshes of the POSA bodies in the scene, by name."""
    return sorted((o for o in scene.objects if is_body(o)), key=lambda o: o.name)


def parents(obj: bpy.types.Object) -> tuple[str, ...]:
    """The names of the objects above ``obj`` (its parent first), as
    ``posa_model.scene.MeshObject.parents`` takes them."""
    out: list[str] = []
    parent = obj.parent
    while parent is not None and len(out) < 64:
        out.append(parent.name)
        parent = parent.parent
    return tuple(out)


@dataclass(frozen=True)
class FileLabel:
    """The class an imported file gave an object: ``key`` (the custom property, e.g.
    "posa_class"), the stored ``value``, and the MPCAT40 ``class_id`` (-1 when the value is not
    a class; ``problem`` then says why)."""

    key: str
    value: Any
    class_id: int
    problem: str = ""


def file_label(obj: bpy.types.Object, resolve: bool = True) -> FileLabel | None:
    """The class label ``obj``'s file carried (node extras on the object, then mesh extras on
    its mesh), or None.

    Ids and MPCAT40 names are read here; other words (synonyms such as "couch") go to
    ``posa_model.scene.labels.parse_class``, which loads torch: with ``resolve=False`` (drawing
    the panel) such a label is returned with ``class_id`` -2 (not resolved yet) instead.
    """
    for owner in (obj, obj.data):
        if owner is None or not hasattr(owner, "keys"):
            continue
        for key in LABEL_KEYS:
            if key not in owner.keys():
                continue
            value = owner[key]
            try:
                return FileLabel(key, value, _parse_class(value, resolve))
            except ValueError as exc:
                return FileLabel(key, value, -1, f"'{obj.name}': {key} = {value!r} in its file "
                                 f"is not a class ({exc}); it is an obstacle")
    return None


def _parse_class(value: Any, resolve: bool) -> int:
    """An id or MPCAT40 name -> class id without importing torch; other words through
    ``posa_model.scene.labels.parse_class`` (``resolve``) or -2."""
    from posa_model.classes import CLASS_ID, NUM_CLASSES

    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected an MPCAT40 class name or id 0..{NUM_CLASSES - 1}")
    if isinstance(value, (int, float)) and float(value).is_integer() and 0 <= value < NUM_CLASSES:
        return int(value)
    if isinstance(value, str):
        key = "_".join(value.strip().lower().replace("-", " ").split())
        if key in CLASS_ID:
            return CLASS_ID[key]
        if not resolve:
            return -2
    from posa_model.scene.labels import parse_class

    return parse_class(value)


def effective_class(obj: bpy.types.Object, resolve: bool = True) -> tuple[int, str]:
    """(class id, source) of a scene mesh as placement uses it (module docstring for the
    order); ``source`` as ``Object.posa.class_source`` spells it ("" when unlabelled). With
    ``resolve=False`` a file label that is a synonym gives class id -2 (see
    :func:`file_label`)."""
    info = props.object_info(obj)
    chosen = props.class_id(obj)
    explicit = info.class_source in (props.CLASS_SET_BY_HAND, props.CLASS_FROM_MAPPING)
    if explicit and (chosen or info.class_source == props.CLASS_SET_BY_HAND):
        return chosen, info.class_source
    if info.class_source.startswith(props.CLASS_FROM_FILE) and chosen:
        return chosen, info.class_source
    label = file_label(obj, resolve)
    if label is not None and (label.class_id > 0 or label.class_id == -2):
        return label.class_id, props.CLASS_FROM_FILE + label.key
    return chosen, info.class_source if chosen else ""


def labelled_count(scene: bpy.types.Scene) -> tuple[int, int, int]:
    """(meshes with a class, of which from their file, scene meshes) for the panel (imports
    nothing heavy: file labels that are synonyms count as classes)."""
    meshes = scene_meshes(scene)
    classes = [effective_class(o, resolve=False) for o in meshes]
    labelled = sum(1 for c, _ in classes if c)
    from_file = sum(1 for c, s in classes if c and s.startswith(props.CLASS_FROM_FILE))
    return labelled, from_file, len(meshes)


def mesh_objects(objects: list[bpy.types.Object], depsgraph: bpy.types.Depsgraph) -> list:
    """``posa_model.scene.MeshObject`` per object with triangles (SMPL-X world), with its
    effective class (0: an obstacle) and its parents' names (``on`` patterns match them)."""
    from posa_model.frames import blender_to_smplx
    from posa_model.scene import MeshObject

    out = []
    for obj in objects:
        world, faces = arrays.evaluated_world_triangles(obj, depsgraph)
        if not len(faces):
            continue
        class_id, source = effective_class(obj)
        if not class_id:
            source = "none"
        elif source.startswith(props.CLASS_FROM_FILE):
            source = "label"  # posa_model's word for a file's own label
        else:
            source = props.class_source(obj)
        out.append(MeshObject(obj.name, blender_to_smplx(world), faces, class_id, source,
                              parents=parents(obj)))
    return out


def body_vertices(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A body's evaluated (posed) world vertices in SMPL-X axes (V, 3) float64, its polygon
    sizes (P,) and polygon vertex ids."""
    from posa_model.frames import blender_to_smplx

    world, sizes, loops = arrays.evaluated_world_vertices(obj, depsgraph)
    return blender_to_smplx(world.astype(np.float64)), sizes, loops


# --------------------------------------------------------------------------------------------
# the grid, cached between clicks


_GRID_CACHE: dict[str, Any] = {}


def scene_grid(objects: list, resolution: float):
    """``build_scene_grid`` of ``objects``; the last grid is reused while the scene (every
    object's name, class, triangles and placement) and the resolution stay the same."""
    from posa_model.scene import build_scene_grid

    digest = hashlib.blake2b(repr(round(resolution, 6)).encode(), digest_size=16)
    for obj in objects:
        digest.update(f"{obj.name}\0{obj.class_id}\0".encode())
        digest.update(np.ascontiguousarray(obj.vertices, dtype=np.float64).tobytes())
        digest.update(np.ascontiguousarray(obj.faces, dtype=np.int64).tobytes())
    key = digest.hexdigest()
    if _GRID_CACHE.get("key") != key:
        _GRID_CACHE.clear()
        _GRID_CACHE.update(key=key, grid=build_scene_grid(objects, resolution=resolution))
    return _GRID_CACHE["grid"]


def clear_cache() -> None:
    """Forget the cached scene grid (at unregister)."""
    _GRID_CACHE.clear()


# --------------------------------------------------------------------------------------------
# everything a placement call reads


@dataclass(frozen=True)
class SceneInputs:
    """What every placement call reads from the scene: its objects (``MeshObject``), their
    grid, the other bodies' vertices (SMPL-X world) and names, the sampler, the checkpoint
    path, and warnings for the report (labels in files that are not classes)."""

    objects: list
    grid: Any
    obstacles: list[np.ndarray]
    obstacle_names: list[str]
    loaded: runtime.LoadedSampler
    checkpoint: str
    warnings: list[str]


def scene_inputs(context: bpy.types.Context, device: str, resolution: float,
                 modules, skip: tuple[bpy.types.Object, ...] = ()) -> SceneInputs | str:
    """The scene's objects, grid, obstacles (every body but ``skip``) and sampler, or why they
    cannot be had (a message for the user). Changes nothing."""
    from . import deps, prefs, runtime

    if missing := deps.missing_modules(modules):
        return deps.missing_message(missing)
    scene = context.scene
    if scene is None:
        return "No scene in this context"
    meshes = scene_meshes(scene)
    warnings = [label.problem for o in meshes
                if (label := file_label(o)) is not None and label.class_id < 0
                and not props.class_id(o)]
    from posa_model.errors import PosaError
    from posa_model.scene import split_room_surfaces

    if not any(effective_class(o)[0] for o in meshes):
        return (f"Nothing to interact with: none of the scene's {len(meshes)} mesh object(s) "
                "has a POSA class. Run Guess Classes, or set 'POSA Class' (floor, chair, sofa, "
                "bed, ...) in the Scene panel for the objects people may touch (files with "
                "'posa_class' labels need neither)")
    depsgraph = context.evaluated_depsgraph_get()
    # an unlabelled mesh that spans the room (floor, walls and ceiling in one downloaded mesh)
    # is classed by its faces' shapes, as the command line does
    objects = split_room_surfaces(mesh_objects(meshes, depsgraph))
    if not any(o.class_id for o in objects):
        names = ", ".join(o.name for o in meshes if effective_class(o)[0])[:200]
        return f"Nothing to interact with: the labelled objects ({names}) have no faces"
    try:
        grid = scene_grid(objects, resolution)
    except PosaError as exc:
        return f"Cannot build the scene's distance grid: {exc}"
    settings = prefs.settings(context)
    try:
        loaded = runtime.sampler(settings.checkpoint, device.lower())
    except PosaError as exc:
        return f"Cannot load the checkpoint: {exc}"
    obstacles: list[np.ndarray] = []
    obstacle_names: list[str] = []
    for other in scene_bodies(scene):
        if other in skip:
            continue
        vertices, sizes, loops = body_vertices(other, depsgraph)
        if problem := body.mesh_problem(loaded.sampler, vertices, sizes, loops):
            return f"'{other.name}' (a body in the scene, kept as an obstacle): {problem}"
        obstacles.append(vertices)
        obstacle_names.append(other.name)
    return SceneInputs(objects, grid, obstacles, obstacle_names, loaded, settings.checkpoint,
                       warnings)
