"""Scene files (glTF/GLB, OBJ, PLY) -> named :class:`~.objects.MeshObject` s with classes.

Every object ends in the SMPL-X world frame (+y up, metres). The objects are those a person sees
in Blender's outliner after importing the file into an empty scene, under Blender's names:

* **glTF / GLB** (:mod:`.gltf`): one object per node that holds a mesh, named after the node,
  with the node's world transform applied; a mesh of several primitives (materials) is one
  object; nested nodes are objects of their own; mesh-less nodes group and swallow nothing.
  glTF is +y up by definition, so ``up="y"`` is right for files from conforming exporters
  (Blender's default); ``up="z"`` is still allowed for files exported with Blender's "+Y Up"
  option off, which are z-up in violation of the format.
* **OBJ** (:mod:`.meshfiles`): one object per ``o`` statement (Blender's exporter writes one per
  object); a file without ``o`` is split at ``g`` groups; faces before them, or a file with
  neither, form an object named after the file. Blender's OBJ exporter is y-up by default;
  ``up="z"`` for files exported z-up.
* **PLY** (:mod:`.meshfiles`, ASCII and binary): one object named after the file, unless faces
  (or vertices) carry an integer class property (``class_id``, ``class``, ``label``,
  ``semantic``, ``semantics``, ``category_id`` or ``mpcat40``, MPCAT40 ids): then one object per
  class (``<file>.<class name>``), labelled. Blender's PLY exporter writes z-up by default: pass
  ``up="z"``.

``up="z"`` converts with :func:`posa_model.frames.blender_to_smplx`.

Classes, strongest first:

1. ``classes``: the user's mapping ``{object name or glob pattern: class}`` (a dict or a JSON
   file; class = MPCAT40 name, a synonym such as ``"couch"``, or an id). An exact
   (case-sensitive) name wins, then the patterns in the mapping's order, matched with
   :func:`fnmatch.fnmatchcase` ignoring case (``"chair*"`` matches ``Chair.001``). A class
   that is not known raises an error naming the entry; an entry that matches nothing is noted in
   the report. The mapping overrides the file's labels because it is the user's latest word.
2. The file's own labels: glTF node ``extras``, then mesh ``extras`` (Blender's custom
   properties ``obj["posa_class"]`` and ``mesh["posa_class"]``), with one of the keys
   ``posa_class``, ``posa_class_id``, ``class``, ``class_id``, ``mpcat40``, ``mpcat40_id``; then
   a sidecar ``<file stem>_objects.json`` beside the file (written by
   :func:`posa_model.synth.export.save_scene`: ``{"objects": {name: {"class_id": id}}}``);
   then a PLY class property. A label that is not a known class raises an error naming the file
   and object.
3. ``guess=True``: the class guessed from the name (:func:`.labels.guess_class`).
4. ``geometry=True``: an unlabelled mesh that spans the scene (a room's floor, walls and ceiling
   in one mesh) is split into ``<name>.floor``, ``<name>.wall`` and ``<name>.ceiling`` by the
   shape of its faces (:mod:`.rooms`; class source ``"geometry:<class>"``).
5. Otherwise 0 (unlabelled): an obstacle, listed in the report, never a reason to refuse.

**Hostile files.** Only regular files are opened (a FIFO or device is refused before it could
block), at most :data:`~.readers.MAX_SCENE_BYTES`; declared triangle counts are checked against
``max_triangles`` before anything is allocated; glTF buffers must lie inside the scene's folder;
JSON (classes, sidecars, glTF) is read bounded (nesting, integer size, UTF-8); objects whose
every triangle is degenerate are dropped (noted), and a scene wider than 1 km is refused naming
the object. Every failure is a :class:`~posa_model.errors.PosaError` naming the file and the
field or object.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputShapeError, PosaError
from ..frames import blender_to_smplx
from ..io_utils import read_bytes_bounded, read_json_bounded, require_regular_file
from .gltf import LABEL_KEYS, read_gltf
from .grid import SceneGrid
from .labels import format_report, guess_class, parse_class
from .mesh_sdf import build_scene_grid
from .meshfiles import PLY_CLASS_FIELDS, read_obj, read_ply
from .objects import MeshObject, check_scene_extent
from .readers import MAX_SCENE_BYTES, MAX_TRIANGLES, RawObject
from .rooms import split_room_surfaces

__all__ = ["LABEL_KEYS", "MAX_TRIANGLES", "PLY_CLASS_FIELDS", "SCENE_SUFFIXES", "LoadedScene",
           "load_class_mapping", "load_scene", "scene_grid_from_file"]

SCENE_SUFFIXES = (".glb", ".gltf", ".obj", ".ply")
#: Largest classes or sidecar JSON file read (bytes).
MAX_JSON_BYTES = 16 << 20
_WELD = 1e-6  # metres: corners closer than this make a triangle degenerate


@dataclass
class LoadedScene:
    """The objects of a scene file (SMPL-X world, +y up, metres), the file, and a readable
    report of every object's class and where it came from."""

    objects: list[MeshObject]
    source: Path
    report: str

    @property
    def unlabelled(self) -> list[str]:
        """Names of the objects without a class (class 0)."""
        return [o.name for o in self.objects if o.class_id == 0]


def load_scene(path: str | os.PathLike, classes: Mapping | str | os.PathLike | None = None,
               up: str = "y", guess: bool = True, geometry: bool = True,
               max_triangles: int = MAX_TRIANGLES) -> LoadedScene:
    """Read a scene file into named, classified objects (module docstring for the rules).

    Args:
        path: a ``.glb``, ``.gltf``, ``.obj`` or ``.ply`` file.
        classes: ``{name or glob: class}`` as a dict or the path of a JSON file, or None.
        up: the file's up axis, ``"y"`` (glTF's own, the default) or ``"z"`` (Blender's).
        guess: guess the classes of objects that have none from their names.
        geometry: split unlabelled room meshes into floor, walls and ceiling by shape.
        max_triangles: refuse files declaring more triangles than this.

    Raises:
        PosaError: a missing, non-regular, unreadable, oversized or empty file, an unknown
            class in the mapping or the file, a scene wider than 1 km, or a bad ``up``.
    """
    path = Path(path)
    if up not in ("y", "z"):
        raise InputShapeError(f"up: expected 'y' or 'z', found {up!r}")
    require_regular_file(path, "scene file")
    suffix = path.suffix.lower()
    if suffix not in SCENE_SUFFIXES:
        raise PosaError(f"{path}: unsupported scene format {suffix!r}; expected one of "
                        f"{', '.join(SCENE_SUFFIXES)}")
    mapping = load_class_mapping(classes) if classes is not None else {}
    notes: list[str] = []
    raws = _read(path, suffix, notes, max_triangles)
    raws = sorted(_with_area(raws, notes), key=lambda r: _natural_key(r.name))
    if not raws:
        raise PosaError(f"{path}: the scene has no triangle meshes with area (nothing to build "
                        f"a scene from)" + (f"; {'; '.join(notes)}" if notes else ""))
    _apply_sidecar(path, raws)

    used_entries: set[str] = set()
    objects = []
    for raw in raws:
        class_id, source = _classify(path, raw, mapping, used_entries, guess)
        vertices = np.asarray(raw.vertices, dtype=np.float64)
        if up == "z":
            vertices = blender_to_smplx(vertices)
        try:
            objects.append(MeshObject(raw.name, vertices, raw.faces, class_id, source,
                                      parents=raw.parents))
        except InputShapeError as exc:
            raise InputShapeError(f"{path}: {exc}") from exc
    check_scene_extent(objects, str(path))
    if geometry:
        objects = split_room_surfaces(objects)
    for key in mapping:
        if key not in used_entries:
            notes.append(f"classes entry {key!r} matched no object")
    header = f"{path} ({suffix[1:].upper()}, up={up}): " + format_report(objects)
    report = "\n".join([header, *(f"note: {n}" for n in notes)])
    return LoadedScene(objects, path, report)


def _read(path: Path, suffix: str, notes: list[str], max_triangles: int) -> list[RawObject]:
    """The file's raw objects; every reader failure becomes a PosaError naming the file."""
    data = read_bytes_bounded(path, "scene file", MAX_SCENE_BYTES)
    try:
        if suffix in (".glb", ".gltf"):
            return read_gltf(path, data, notes, max_triangles)
        if suffix == ".obj":
            return read_obj(path, data, max_triangles)
        return read_ply(path, data, max_triangles)
    except PosaError:
        raise
    except Exception as exc:  # trimesh raises many types on malformed files
        raise PosaError(f"{path}: cannot read the scene ({type(exc).__name__}: {exc})") from exc


def _with_area(raws: list[RawObject], notes: list[str]) -> list[RawObject]:
    """The objects with at least one triangle whose corners are 1 um apart or more and whose
    area is not zero; the others are dropped and noted (libigl's distance tree cannot be built
    on nothing)."""
    out = []
    for raw in raws:
        if len(raw.faces) == 0:
            continue
        corners = np.round(np.asarray(raw.vertices, np.float64)[raw.faces] / _WELD)
        distinct = ((corners[:, 0] != corners[:, 1]).any(axis=1)
                    & (corners[:, 1] != corners[:, 2]).any(axis=1)
                    & (corners[:, 2] != corners[:, 0]).any(axis=1))
        area = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0],
                                       corners[:, 2] - corners[:, 0]), axis=1)
        if (distinct & (area > 0)).any():
            out.append(raw)
        else:
            notes.append(f"object {raw.name!r}: dropped, all {len(raw.faces)} triangles are "
                         f"degenerate (corners closer than 1 um or in a line)")
    return out


def scene_grid_from_file(path: str | os.PathLike, resolution: float = 0.05, *,
                         padding: float = 0.3, cubic: bool = False, band: float | None = None,
                         max_nodes: int = 64_000_000, progress: bool = False,
                         **load_kwargs) -> tuple[SceneGrid, LoadedScene]:
    """:func:`load_scene` then :func:`~.mesh_sdf.build_scene_grid`; returns both results.

    ``load_kwargs`` go to :func:`load_scene` (``classes``, ``up``, ``guess``, ``geometry``,
    ``max_triangles``); the other arguments to :func:`~.mesh_sdf.build_scene_grid`.
    """
    scene = load_scene(path, **load_kwargs)
    grid = build_scene_grid(scene.objects, resolution=resolution, padding=padding, cubic=cubic,
                            band=band, max_nodes=max_nodes, progress=progress)
    return grid, scene


def load_class_mapping(classes: Mapping | str | os.PathLike) -> dict[str, int]:
    """``{name or glob pattern: class}`` (a dict or a JSON file of one) -> ``{key: class id}``.

    A file is read bounded (a regular file of at most 16 MB, UTF-8, nesting and integers
    bounded). Raises PosaError naming the file (or ``classes``) and the entry when a class is
    unknown.
    """
    where = "classes"
    if not isinstance(classes, Mapping):
        where = str(classes)
        file = Path(classes)
        classes = read_json_bounded(file, "classes file", max_bytes=MAX_JSON_BYTES)
        if not isinstance(classes, dict):
            raise PosaError(f"{file}: expected a JSON object {{name or pattern: class}}, found "
                            f"{type(classes).__name__}")
    out: dict[str, int] = {}
    for key, value in classes.items():
        if not isinstance(key, str) or not key:
            raise PosaError(f"{where}: expected object names or patterns as keys, found {key!r}")
        try:
            out[key] = parse_class(value)
        except ValueError as exc:
            raise PosaError(f"{where}: entry {key!r}: {exc}") from exc
    return out


def _natural_key(name: str) -> list:
    """Sort key that orders ``chair.2`` before ``chair.10`` (trimesh's node order is not the
    file's, so objects are listed by name)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower())
            for t in re.split(r"(\d+)", name)]


# --------------------------------------------------------------------------------------------
# classes


def _classify(path: Path, raw: RawObject, mapping: dict[str, int], used: set[str],
              guess: bool) -> tuple[int, str]:
    if raw.name in mapping:
        used.add(raw.name)
        return mapping[raw.name], "classes"
    lowered = raw.name.lower()
    for key, class_id in mapping.items():
        if fnmatch.fnmatchcase(lowered, key.lower()):
            used.add(key)
            return class_id, "classes"
    if raw.label is not None:
        value, where = raw.label
        try:
            return parse_class(value), "label"
        except ValueError as exc:
            raise PosaError(f"{path}: object {raw.name!r}: {where}: {exc}") from exc
    if guess:
        found = guess_class(raw.name)
        if found is not None:
            return found[0], f"guess:{found[1]}"
    for parent in raw.parents:  # a part whose own name says nothing: its piece's class
        if parent in mapping:
            used.add(parent)
            return mapping[parent], "classes"
        for key, class_id in mapping.items():
            if fnmatch.fnmatchcase(parent.lower(), key.lower()):
                used.add(key)
                return class_id, "classes"
        found = guess_class(parent) if guess else None
        if found is not None:
            return found[0], f"guess:{found[1]}"
    return 0, "none"


def _label_from(metadata: Any, where: str) -> tuple[Any, str] | None:
    if isinstance(metadata, Mapping):
        for key in LABEL_KEYS:
            if key in metadata:
                return metadata[key], f"{where}[{key!r}]"
    return None


def _apply_sidecar(path: Path, raws: list[RawObject]) -> None:
    """Labels from ``<stem>_objects.json`` beside the file, for objects without a file label."""
    sidecar = path.with_name(f"{path.stem}_objects.json")
    if not sidecar.exists():
        return
    info = read_json_bounded(sidecar, "objects JSON", max_bytes=MAX_JSON_BYTES)
    entries = info.get("objects") if isinstance(info, dict) else None
    if not isinstance(entries, dict):
        raise PosaError(f"{sidecar}: expected a field 'objects' {{name: {{'class_id': id}}}}")
    for raw in raws:
        entry = entries.get(raw.name)
        if raw.label is None and isinstance(entry, dict):
            raw.label = _label_from(entry, f"{sidecar.name} objects[{raw.name!r}]")


