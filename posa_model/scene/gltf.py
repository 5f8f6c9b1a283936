"""glTF 2.0 / GLB files -> :class:`~.readers.RawObject` s, one per object Blender would show.

**Objects.** Blender's glTF importer makes one object per node and walks the nodes depth-first
from the roots (every node that is no node's child, in index order, whichever scene lists it),
children in the order the file lists them. A node with a mesh is one object: every triangle
primitive of its mesh (one per material) in one mesh, under the node's name, with the node's
world transform applied (a mirroring transform also turns the faces, so they keep facing out).
A node's children are objects of their own (pillows under a bed keep their names), and nodes
without a mesh (grouping empties, cameras, lights) are no objects and swallow nothing. This is
what a person sees in Blender's outliner after importing the file (``tests/fixtures/scenes``
holds Blender's own lists for the test files).

**Names** as Blender gives them in an empty scene (:class:`~.readers.BlenderNames`): the node's
name, or for an unnamed node its mesh's name (``Mesh_<index>`` when that has none either; empty
nodes ``Node_<index>``), cut to 63 bytes and made unique with ``.001``, ``.002``, ... in the
order the objects are made (empties and cameras take names too).

**Classes** from ``extras``: the node's (Blender writes an object's custom properties there
when exporting with "Include > Custom Properties", and puts them back on import as
``obj["posa_class"]``), then the mesh's (Blender's mesh data properties).

**Reading.** The JSON (a ``.gltf`` file, or a GLB's first chunk) is parsed here, bounded, and
checked before anything is decoded: the node tree, the declared triangles (at most
``max_triangles``), and every buffer ``uri`` that is not a ``data:`` URI must name a regular
file inside the scene's folder (no absolute paths, URLs or ``..`` out of it; trimesh >= 5 refuses
those too). The accessors are decoded by trimesh's glTF reader (materials and images skipped);
its geometries come one per point, line or triangle primitive in mesh order, which is checked
primitive by primitive against the accessors' vertex counts. Triangle fans and line loops are
skipped by trimesh (and noted; Blender reads them); points and lines carry no triangles.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np

from ..errors import PosaError
from ..io_utils import check_plain_data
from .readers import BlenderNames, RawObject, check_triangle_budget

__all__ = ["read_gltf"]

_TRIANGLES, _STRIP = 4, 5
_DECODED_MODES = (0, 1, 4, 5)  # points, lines, triangles, strips: what trimesh decodes
_UNREADABLE = {"KHR_draco_mesh_compression", "EXT_meshopt_compression",
               "KHR_meshopt_compression"}
_MODE_NAMES = {0: "points", 1: "lines", 2: "line loop", 3: "line strip", 4: "triangles",
               5: "triangle strip", 6: "triangle fan"}


@dataclass
class _Node:
    """One node of the file: its index, name in Blender, mesh index, world matrix (4, 4)."""

    index: int
    name: str
    mesh: int | None
    world: np.ndarray
    extras: Any = None
    children: list[int] = field(default_factory=list)
    parents: tuple[str, ...] = ()  # the Blender names of the nodes above it, nearest first


def read_gltf(path: Path, data: bytes, notes: list[str], max_triangles: int) -> list[RawObject]:
    """The objects of a ``.gltf`` / ``.glb`` file whose bytes are ``data`` (module docstring).

    ``notes`` receives what was skipped. Raises PosaError naming the file and the field.
    """
    header, binary = _split(path, data)
    meshes = _list(path, header, "meshes")
    nodes = _walk(path, header, meshes)
    _check_buffers(path, header, binary is not None)
    _check_triangles(path, header, meshes, nodes, max_triangles)
    primitives = _decode(path, data, header, meshes)
    out = []
    for node in nodes:
        if node.mesh is None:
            continue
        raw = _node_object(path, node, meshes[node.mesh], primitives[node.mesh], notes)
        if raw is not None:
            out.append(raw)
    return out


# ------------------------------------------------------------------------------ the JSON part
def _split(path: Path, data: bytes) -> tuple[dict, bytes | None]:
    """The JSON header (a dict) and, for a GLB, its binary chunk (None for ``.gltf``)."""
    binary = None
    if data[:4] == b"glTF":
        if len(data) < 20:
            raise PosaError(f"{path}: GLB header: expected at least 20 bytes, found {len(data)}")
        version, length, chunk_length, chunk_type = struct.unpack("<IIII", data[4:20])
        if version != 2:
            raise PosaError(f"{path}: GLB header: expected version 2, found {version}")
        if chunk_type != 0x4E4F534A or 20 + chunk_length > len(data):
            raise PosaError(f"{path}: GLB header: expected a JSON chunk of {chunk_length} bytes "
                            f"within the {len(data)}-byte file")
        text, binary = data[20:20 + chunk_length], data[20 + chunk_length:]
    else:
        text = data
    try:
        header = json.loads(text.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError as exc:
        raise PosaError(f"{path}: glTF JSON is nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise PosaError(f"{path}: glTF JSON cannot be read ({str(exc)[:200]})") from exc
    check_plain_data(header, f"{path}: glTF JSON", PosaError)
    if not isinstance(header, dict):
        raise PosaError(f"{path}: glTF JSON: expected an object, found {type(header).__name__}")
    version = str((header.get("asset") or {}).get("version", "")) if isinstance(
        header.get("asset"), dict) else ""
    if not version.startswith("2"):
        raise PosaError(f"{path}: asset.version: expected glTF 2.x, found {version!r}")
    required = header.get("extensionsRequired", [])
    unreadable = sorted(set(required) & _UNREADABLE) if isinstance(required, list) else []
    if unreadable:
        raise PosaError(f"{path}: extensionsRequired: {', '.join(unreadable)} cannot be read "
                        f"(compressed geometry); export the file without mesh compression")
    return header, binary


def _no_constant(text: str):
    raise ValueError(f"{text} is not a number glTF allows")


def _list(path: Path, header: dict, key: str) -> list:
    value = header.get(key, [])
    if not isinstance(value, list):
        raise PosaError(f"{path}: {key}: expected a list, found {type(value).__name__}")
    return value


def _walk(path: Path, header: dict, meshes: list) -> list[_Node]:
    """Every node reachable from a root, depth-first in Blender's order, with world matrices
    and Blender names."""
    raw_nodes = _list(path, header, "nodes")
    parent: dict[int, int] = {}
    for i, node in enumerate(raw_nodes):
        if not isinstance(node, dict):
            raise PosaError(f"{path}: nodes[{i}]: expected an object, found {node!r:.60}")
        children = node.get("children", [])
        if not isinstance(children, list):
            raise PosaError(f"{path}: nodes[{i}].children: expected a list of node indices")
        for child in children:
            if not (isinstance(child, int) and 0 <= child < len(raw_nodes)) or child == i:
                raise PosaError(f"{path}: nodes[{i}].children: expected node indices in "
                                f"0..{len(raw_nodes) - 1} other than {i}, found {child!r}")
            if child in parent:
                raise PosaError(f"{path}: nodes[{child}]: listed as a child of nodes "
                                f"{parent[child]} and {i} (a node has one parent)")
            parent[child] = i
    names, mesh_names = BlenderNames(), BlenderNames()
    mesh_name: dict[int, str] = {}
    order: list[_Node] = []
    stack = [(i, np.eye(4), ()) for i in reversed(range(len(raw_nodes))) if i not in parent]
    while stack:
        index, above, parents = stack.pop()
        node = raw_nodes[index]
        world = above @ _local_matrix(path, index, node)
        mesh = node.get("mesh")
        if mesh is not None and not (isinstance(mesh, int) and 0 <= mesh < len(meshes)):
            raise PosaError(f"{path}: nodes[{index}].mesh: expected a mesh index in "
                            f"0..{len(meshes) - 1}, found {mesh!r}")
        if mesh is not None and mesh not in mesh_name:
            given = meshes[mesh].get("name") if isinstance(meshes[mesh], dict) else None
            mesh_name[mesh] = mesh_names.add(_text(given) or f"Mesh_{mesh}")
        fallback = mesh_name[mesh] if mesh is not None else f"Node_{index}"
        name = names.add(_text(node.get("name")) or fallback)
        order.append(_Node(index, name, mesh, world, node.get("extras"),
                           list(node.get("children", [])), parents))
        stack.extend((child, world, (name, *parents))
                     for child in reversed(node.get("children", [])))
    if len(order) < len(raw_nodes):
        raise PosaError(f"{path}: nodes: {len(raw_nodes) - len(order)} nodes are in a cycle of "
                        f"children (no root reaches them)")
    return order


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _local_matrix(path: Path, index: int, node: dict) -> np.ndarray:
    """A node's (4, 4) local transform: ``matrix`` (column-major), or T @ R @ S."""
    where = f"{path}: nodes[{index}]"
    if "matrix" in node:
        matrix = _numbers(where, "matrix", node["matrix"], 16)
        return matrix.reshape(4, 4).T
    out = np.eye(4)
    if "scale" in node:
        out = np.diag([*_numbers(where, "scale", node["scale"], 3), 1.0])
    if "rotation" in node:
        x, y, z, w = _numbers(where, "rotation", node["rotation"], 4)
        norm = math.sqrt(x * x + y * y + z * z + w * w)
        if norm < 1e-12:
            raise PosaError(f"{where}.rotation: expected a unit quaternion, found zero")
        x, y, z, w = x / norm, y / norm, z / norm, w / norm
        rotation = np.eye(4)
        rotation[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
        out = rotation @ out
    if "translation" in node:
        move = np.eye(4)
        move[:3, 3] = _numbers(where, "translation", node["translation"], 3)
        out = move @ out
    return out


def _numbers(where: str, key: str, value: Any, count: int) -> np.ndarray:
    ok = isinstance(value, list) and len(value) == count and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in value)
    if not ok:
        raise PosaError(f"{where}.{key}: expected {count} finite numbers, found {value!r:.80}")
    return np.asarray(value, dtype=np.float64)


def _check_buffers(path: Path, header: dict, glb: bool) -> None:
    """Every buffer URI is a data: URI or a regular file inside the scene's folder."""
    folder = path.resolve().parent
    for i, buffer in enumerate(_list(path, header, "buffers")):
        uri = buffer.get("uri") if isinstance(buffer, dict) else None
        if uri is None:
            if not glb or i > 0:
                raise PosaError(f"{path}: buffers[{i}].uri: expected a URI (only a GLB's first "
                                f"buffer may be its binary chunk)")
            continue
        if not isinstance(uri, str):
            raise PosaError(f"{path}: buffers[{i}].uri: expected a string, found {uri!r:.60}")
        if uri.startswith("data:"):
            continue
        parts = urlsplit(uri)
        name = unquote(parts.path)
        target = (folder / name).resolve()
        if parts.scheme or parts.netloc or os.path.isabs(name) or not target.is_relative_to(
                folder):
            raise PosaError(f"{path}: buffers[{i}].uri: expected a file inside {folder}, found "
                            f"{uri!r} (outside the scene's folder; refused)")
        try:
            mode = os.stat(target).st_mode
        except OSError as exc:
            raise PosaError(f"{path}: buffers[{i}].uri: {uri!r} cannot be read ({exc})") from exc
        if not stat.S_ISREG(mode):
            raise PosaError(f"{path}: buffers[{i}].uri: {uri!r} is not a regular file")


def _check_triangles(path: Path, header: dict, meshes: list, nodes: list[_Node],
                     limit: int) -> None:
    """Refuse files that declare too much, from the accessors' counts, before decoding: every
    accessor (trimesh decodes them all) at most ``3 * limit`` items, and the triangles of every
    mesh, and of every mesh counted once per node using it, at most ``limit``."""
    accessors = _list(path, header, "accessors")
    for i in range(len(accessors)):
        count = _accessor_count(path, accessors, i, f"accessors[{i}]")
        if count > 3 * limit:
            raise PosaError(f"{path}: accessors[{i}].count: the file declares {count:,} items, "
                            f"over the limit of {3 * limit:,} (pass max_triangles to load it)")
    per_mesh = [_mesh_triangles(path, meshes, accessors, m) for m in range(len(meshes))]
    check_triangle_budget(path, sum(per_mesh), limit, "accessors")
    used = sum(per_mesh[n.mesh] for n in nodes if n.mesh is not None)
    check_triangle_budget(path, used, limit, "accessors, counted per node")


def _mesh_triangles(path: Path, meshes: list, accessors: list, mesh: int) -> int:
    """Triangles one mesh declares (triangles, strips and fans)."""
    total = 0
    for k, prim in enumerate(_primitives(path, meshes, mesh)):
        mode = prim.get("mode", _TRIANGLES)
        if mode not in (_TRIANGLES, _STRIP, 6):
            continue
        index = prim.get("indices", (prim.get("attributes") or {}).get("POSITION"))
        count = _accessor_count(path, accessors, index, f"meshes[{mesh}].primitives[{k}]")
        total += count // 3 if mode == _TRIANGLES else max(count - 2, 0)
    return total


def _primitives(path: Path, meshes: list, mesh: int) -> list[dict]:
    entry = meshes[mesh]
    prims = entry.get("primitives") if isinstance(entry, dict) else None
    if not isinstance(prims, list) or not all(isinstance(p, dict) for p in prims):
        raise PosaError(f"{path}: meshes[{mesh}].primitives: expected a list of objects")
    return prims


def _accessor_count(path: Path, accessors: list, index: Any, where: str) -> int:
    if not (isinstance(index, int) and 0 <= index < len(accessors)):
        raise PosaError(f"{path}: {where}: expected an accessor index in 0..{len(accessors) - 1}"
                        f", found {index!r}")
    count = accessors[index].get("count") if isinstance(accessors[index], dict) else None
    if not (isinstance(count, int) and count >= 0):
        raise PosaError(f"{path}: accessors[{index}].count: expected a count >= 0, found "
                        f"{count!r}")
    return count


# ------------------------------------------------------------------------------ the geometry
def _decode(path: Path, data: bytes, header: dict, meshes: list) -> dict[int, list]:
    """Per mesh index, per primitive: ``(vertices (V, 3), faces (F, 3))`` or a mode name when
    the primitive holds no triangles trimesh decodes."""
    from trimesh.exchange import gltf as trimesh_gltf
    from trimesh.resolvers import FilePathResolver

    resolver = FilePathResolver(str(path))
    reader = trimesh_gltf.load_glb if data[:4] == b"glTF" else trimesh_gltf.load_gltf
    loaded = reader(io.BytesIO(data), resolver=resolver, skip_materials=True)
    geometries = list(loaded["geometry"].values())
    accessors = header.get("accessors", [])
    out: dict[int, list] = {}
    k = 0
    for mesh in range(len(meshes)):
        out[mesh] = []
        for p, prim in enumerate(_primitives(path, meshes, mesh)):
            mode = prim.get("mode", _TRIANGLES)
            if mode not in _DECODED_MODES:
                out[mesh].append(_MODE_NAMES.get(mode, f"mode {mode}"))
                continue
            where = f"meshes[{mesh}].primitives[{p}]"
            if k >= len(geometries):
                raise PosaError(f"{path}: {where}: trimesh decoded fewer primitives than the "
                                f"file lists")
            geometry = geometries[k]
            k += 1
            expected = _accessor_count(path, accessors,
                                       (prim.get("attributes") or {}).get("POSITION"), where)
            vertices = np.asarray(geometry.get("vertices", np.zeros((0, 3))), np.float64)
            if len(vertices) != expected:
                raise PosaError(f"{path}: {where}: expected {expected} decoded vertices, found "
                                f"{len(vertices)} (the primitives could not be matched)")
            if mode in (_TRIANGLES, _STRIP) and "faces" in geometry:
                out[mesh].append((vertices.reshape(-1, 3),
                                  np.asarray(geometry["faces"], np.int64).reshape(-1, 3)))
            else:
                out[mesh].append(_MODE_NAMES[mode])
    return out


def _node_object(path: Path, node: _Node, mesh: dict, primitives: list,
                 notes: list[str]) -> RawObject | None:
    """One node's object: its mesh's triangle primitives in the world frame."""
    vertices, faces, offset = [], [], 0
    for k, prim in enumerate(primitives):
        if isinstance(prim, str):
            if prim not in ("points", "lines"):
                notes.append(f"object {node.name!r}: skipped primitive {k} ({prim}: not read)")
            continue
        v, f = prim
        if len(f) and (f.min() < 0 or f.max() >= len(v)):
            raise PosaError(f"{path}: object {node.name!r}: primitive {k}: expected indices in "
                            f"0..{len(v) - 1}, found {f.min()}..{f.max()}")
        vertices.append(v)
        faces.append(f + offset)
        offset += len(v)
    if not faces:
        return None
    world = node.world
    v = np.concatenate(vertices) @ world[:3, :3].T + world[:3, 3]
    f = np.concatenate(faces)
    if np.linalg.det(world[:3, :3]) < 0:
        f = f[:, ::-1]  # a mirroring transform turns faces inside out
    label = _label(node.extras, "node extras")
    if label is None:
        label = _label(mesh.get("extras"), "mesh extras")
    return RawObject(node.name, v, f, label, node.parents)


#: Keys of glTF extras that hold a class (name or id), in the order they are tried.
LABEL_KEYS = ("posa_class", "posa_class_id", "class", "class_id", "mpcat40", "mpcat40_id")


def _label(extras: Any, where: str) -> tuple[Any, str] | None:
    if isinstance(extras, dict):
        for key in LABEL_KEYS:
            if key in extras:
                return extras[key], f"{where}[{key!r}]"
    return None
