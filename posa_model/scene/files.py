"""Scene files (glTF/GLB, OBJ, PLY) -> named :class:`~.objects.MeshObject` s with classes.

Every object ends in the SMPL-X world frame (+y up, metres). Formats:

* **glTF / GLB** (read with trimesh's scene graph): one object per node that holds a mesh, named
  after the node, with the node's world transform applied (a mirroring transform also flips the
  faces, so they keep facing out). A mesh of several primitives (materials) stays one object.
  glTF is +y up by definition, so ``up="y"`` is right for files from conforming exporters
  (Blender's default); ``up="z"`` is still allowed for files exported with Blender's "+Y Up"
  option off, which are z-up in violation of the format.
* **OBJ**: one object per ``o`` line (Blender's exporter writes one per object); a file without
  ``o`` lines is split at ``g`` groups; a file with neither is one object named after the file.
  Blender's OBJ exporter is y-up by default; ``up="z"`` for files exported z-up.
* **PLY**: one object named after the file, unless faces (or, failing that, vertices) carry an
  integer class property (``class_id``, ``class``, ``label``, ``semantic``, ``semantics``,
  ``category_id`` or ``mpcat40``, MPCAT40 ids): then one object per class
  (``<file>.<class name>``), labelled. Blender's PLY exporter writes z-up by default: pass
  ``up="z"``.

``up="z"`` converts with :func:`posa_model.frames.blender_to_smplx`.

Classes, strongest first:

1. ``classes``: the user's mapping ``{object name or glob pattern: class}`` (a dict or a JSON
   file; class = MPCAT40 name, a synonym such as ``"couch"``, or an id). An exact
   (case-sensitive) name wins, then the patterns in the mapping's order, matched with
   :func:`fnmatch.fnmatchcase` ignoring case (``"chair*"`` matches ``Chair.001``). A class
   that is not known raises an error naming the entry; an entry that matches nothing is noted in
   the report. The mapping overrides the file's labels because it is the user's latest word.
2. The file's own labels: glTF node ``extras``, then mesh ``extras`` (trimesh exposes them as
   the graph edge's ``metadata`` and ``geometry.metadata``), with one of the keys
   ``posa_class``, ``posa_class_id``, ``class``, ``class_id``, ``mpcat40``, ``mpcat40_id``; then
   a sidecar ``<file stem>_objects.json`` beside the file (written by
   :func:`posa_model.synth.export.save_scene`: ``{"objects": {name: {"class_id": id}}}``);
   then a PLY class property. A label that is not a known class raises an error naming the file
   and object.
3. ``guess=True``: the class guessed from the name (:func:`.labels.guess_class`).
4. Otherwise 0 (unlabelled), reported.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..classes import MPCAT40_NAMES
from ..errors import InputShapeError, PosaError
from ..frames import blender_to_smplx
from .grid import SceneGrid
from .labels import format_report, guess_class, parse_class
from .mesh_sdf import build_scene_grid
from .objects import MeshObject

__all__ = ["SCENE_SUFFIXES", "LoadedScene", "load_class_mapping", "load_scene",
           "scene_grid_from_file"]

SCENE_SUFFIXES = (".glb", ".gltf", ".obj", ".ply")
#: Keys of glTF extras that hold a class (name or id), in the order they are tried.
LABEL_KEYS = ("posa_class", "posa_class_id", "class", "class_id", "mpcat40", "mpcat40_id")
#: PLY element properties that hold MPCAT40 ids, in the order they are tried.
PLY_CLASS_FIELDS = ("class_id", "class", "label", "semantic", "semantics", "category_id",
                    "mpcat40")


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


@dataclass
class _Raw:
    """An object as read, before frames and classes: label is (value, where) or None."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    label: tuple[Any, str] | None = None


def load_scene(path: str | os.PathLike, classes: Mapping | str | os.PathLike | None = None,
               up: str = "y", guess: bool = True) -> LoadedScene:
    """Read a scene file into named, classified objects (module docstring for the rules).

    Args:
        path: a ``.glb``, ``.gltf``, ``.obj`` or ``.ply`` file.
        classes: ``{name or glob: class}`` as a dict or the path of a JSON file, or None.
        up: the file's up axis, ``"y"`` (glTF's own, the default) or ``"z"`` (Blender's).
        guess: guess the classes of objects that have none from their names.

    Raises:
        PosaError: a missing, unreadable or empty file, an unknown class in the mapping or the
            file, or a bad ``up``.
    """
    path = Path(path)
    if up not in ("y", "z"):
        raise InputShapeError(f"up: expected 'y' or 'z', found {up!r}")
    if not path.is_file():
        raise PosaError(f"{path}: scene file not found")
    suffix = path.suffix.lower()
    if suffix not in SCENE_SUFFIXES:
        raise PosaError(f"{path}: unsupported scene format {suffix!r}; expected one of "
                        f"{', '.join(SCENE_SUFFIXES)}")
    mapping = load_class_mapping(classes) if classes is not None else {}
    notes: list[str] = []
    try:
        if suffix in (".glb", ".gltf"):
            raws = _read_gltf(path, notes)
        elif suffix == ".obj":
            raws = _read_obj(path)
        else:
            raws = _read_ply(path)
    except PosaError:
        raise
    except Exception as exc:  # trimesh raises many types on malformed files
        raise PosaError(f"{path}: cannot read the scene ({type(exc).__name__}: {exc})") from exc
    raws = sorted((r for r in raws if len(r.faces)), key=lambda r: _natural_key(r.name))
    if not raws:
        raise PosaError(f"{path}: the scene has no triangle meshes (nothing to build a scene "
                        f"from)")
    _apply_sidecar(path, raws)

    used_entries: set[str] = set()
    objects = []
    for raw in raws:
        class_id, source = _classify(path, raw, mapping, used_entries, guess)
        vertices = np.asarray(raw.vertices, dtype=np.float64)
        if up == "z":
            vertices = blender_to_smplx(vertices)
        try:
            objects.append(MeshObject(raw.name, vertices, raw.faces, class_id, source))
        except InputShapeError as exc:
            raise InputShapeError(f"{path}: {exc}") from exc
    for key in mapping:
        if key not in used_entries:
            notes.append(f"classes entry {key!r} matched no object")
    header = f"{path} ({suffix[1:].upper()}, up={up}): " + format_report(objects)
    report = "\n".join([header, *(f"note: {n}" for n in notes)])
    return LoadedScene(objects, path, report)


def scene_grid_from_file(path: str | os.PathLike, resolution: float = 0.05, *,
                         padding: float = 0.3, cubic: bool = False, band: float | None = None,
                         max_nodes: int = 64_000_000, progress: bool = False,
                         **load_kwargs) -> tuple[SceneGrid, LoadedScene]:
    """:func:`load_scene` then :func:`~.mesh_sdf.build_scene_grid`; returns both results.

    ``load_kwargs`` go to :func:`load_scene` (``classes``, ``up``, ``guess``); the other
    arguments to :func:`~.mesh_sdf.build_scene_grid`.
    """
    scene = load_scene(path, **load_kwargs)
    grid = build_scene_grid(scene.objects, resolution=resolution, padding=padding, cubic=cubic,
                            band=band, max_nodes=max_nodes, progress=progress)
    return grid, scene


def load_class_mapping(classes: Mapping | str | os.PathLike) -> dict[str, int]:
    """``{name or glob pattern: class}`` (a dict or a JSON file of one) -> ``{key: class id}``.

    Raises PosaError naming the file (or ``classes``) and the entry when a class is unknown.
    """
    where = "classes"
    if not isinstance(classes, Mapping):
        where = str(classes)
        file = Path(classes)
        if not file.is_file():
            raise PosaError(f"{file}: classes file not found")
        try:
            classes = json.loads(file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PosaError(f"{file}: cannot read the classes JSON ({exc})") from exc
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


def _classify(path: Path, raw: _Raw, mapping: dict[str, int], used: set[str],
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
    return 0, "none"


def _label_from(metadata: Any, where: str) -> tuple[Any, str] | None:
    if isinstance(metadata, Mapping):
        for key in LABEL_KEYS:
            if key in metadata:
                return metadata[key], f"{where}[{key!r}]"
    return None


def _apply_sidecar(path: Path, raws: list[_Raw]) -> None:
    """Labels from ``<stem>_objects.json`` beside the file, for objects without a file label."""
    sidecar = path.with_name(f"{path.stem}_objects.json")
    if not sidecar.is_file():
        return
    try:
        info = json.loads(sidecar.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PosaError(f"{sidecar}: cannot read the objects JSON ({exc})") from exc
    entries = info.get("objects") if isinstance(info, dict) else None
    if not isinstance(entries, dict):
        raise PosaError(f"{sidecar}: expected a field 'objects' {{name: {{'class_id': id}}}}")
    for raw in raws:
        entry = entries.get(raw.name)
        if raw.label is None and isinstance(entry, dict):
            raw.label = _label_from(entry, f"{sidecar.name} objects[{raw.name!r}]")


# --------------------------------------------------------------------------------------------
# formats


def _read_gltf(path: Path, notes: list[str]) -> list[_Raw]:
    import trimesh

    scene = trimesh.load(path, force="scene", process=False)
    graph = scene.graph
    parents = graph.transforms.parents
    edges = graph.transforms.edge_data
    grouped: dict[str, _Raw] = {}
    for node in graph.nodes_geometry:
        transform, geom_name = graph[node]
        geom = scene.geometry[geom_name]
        if not isinstance(geom, trimesh.Trimesh):
            notes.append(f"node {node!r}: skipped a {type(geom).__name__} (not a triangle mesh)")
            continue
        name = node
        if geom.metadata.get("from_gltf_primitive") and node in parents:
            name = parents[node]  # one primitive of a multi-material mesh: its node's child
        extras = edges.get((parents.get(name), name), {}).get("metadata")
        label = _label_from(extras, "node extras") or _label_from(geom.metadata, "mesh extras")
        vertices = trimesh.transform_points(np.asarray(geom.vertices, np.float64), transform)
        faces = np.asarray(geom.faces, np.int64)
        if np.linalg.det(transform[:3, :3]) < 0:
            faces = faces[:, ::-1]  # a mirroring transform turns faces inside out
        raw = grouped.setdefault(str(name), _Raw(str(name), np.zeros((0, 3)),
                                                 np.zeros((0, 3), np.int64), label))
        raw.faces = np.concatenate([raw.faces, faces + len(raw.vertices)])
        raw.vertices = np.concatenate([raw.vertices, vertices])
        raw.label = raw.label or label
    return list(grouped.values())


def _read_obj(path: Path) -> list[_Raw]:
    import trimesh

    has_objects = has_groups = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            has_objects |= line.startswith("o ")
            has_groups |= line.startswith("g ")
    loaded = trimesh.load(path, force="scene", process=False, group_material=False,
                          split_objects=has_objects, split_groups=has_groups and not has_objects)
    raws = []
    for node in loaded.graph.nodes_geometry:
        transform, geom_name = loaded.graph[node]
        geom = loaded.geometry[geom_name]
        if isinstance(geom, trimesh.Trimesh):
            vertices = trimesh.transform_points(np.asarray(geom.vertices, np.float64), transform)
            raws.append(_Raw(str(node), vertices, np.asarray(geom.faces, np.int64)))
    if len(raws) == 1 and not (has_objects or has_groups):
        raws[0].name = path.stem
    return raws


def _read_ply(path: Path) -> list[_Raw]:
    import trimesh

    mesh = trimesh.load(path, process=False, force="mesh")
    vertices = np.asarray(mesh.vertices, np.float64)
    faces = np.asarray(mesh.faces, np.int64)
    raw = mesh.metadata.get("_ply_raw", {}) if isinstance(mesh.metadata, dict) else {}
    face_class = _ply_classes(path, raw, "face", len(faces))
    if face_class is None:
        vertex_class = _ply_classes(path, raw, "vertex", len(vertices))
        if vertex_class is not None and len(faces):
            corner = vertex_class[faces]  # (F, 3): a face takes the class two corners share
            face_class = np.where(corner[:, 1] == corner[:, 2], corner[:, 1], corner[:, 0])
    if face_class is None:
        return [_Raw(path.stem, vertices, faces)]
    out = []
    for class_id in np.unique(face_class):
        part = faces[face_class == class_id]
        used, local = np.unique(part, return_inverse=True)
        out.append(_Raw(f"{path.stem}.{MPCAT40_NAMES[class_id]}", vertices[used],
                        local.reshape(-1, 3), (int(class_id), "PLY class property")))
    return out


def _ply_classes(path: Path, raw: dict, element: str, count: int) -> np.ndarray | None:
    data = raw.get(element, {}).get("data", {}) if isinstance(raw, dict) else {}
    for field in PLY_CLASS_FIELDS:
        if field in data:
            values = np.asarray(data[field]).reshape(-1)
            if len(values) != count or values.dtype.kind not in "iu":
                raise PosaError(f"{path}: {element} property {field!r}: expected {count} integer "
                                f"MPCAT40 ids, found {len(values)} of {values.dtype}")
            if len(values) and (values.min() < 0 or values.max() >= len(MPCAT40_NAMES)):
                raise PosaError(f"{path}: {element} property {field!r}: expected ids in "
                                f"0..{len(MPCAT40_NAMES) - 1}, found "
                                f"{values.min()}..{values.max()}")
            return values.astype(np.int64)
    return None
