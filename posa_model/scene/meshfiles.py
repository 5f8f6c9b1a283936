"""OBJ and PLY files -> :class:`~.readers.RawObject` s, as Blender's importers list them.

**OBJ.** One object per ``o`` statement, as Blender's OBJ importer splits by default; a file
without ``o`` statements is split at ``g`` groups (Blender's "Split by Group"); faces before the
first ``o`` (or ``g``) form an object named after the file, and a file with neither is one object
named after the file. Statements without faces make no object. Two ``o`` statements of the same
name are two objects (``Chair``, ``Chair.001``, Blender's names). Polygons are split into
triangles as fans (``n - 2`` triangles, Blender's count). Only ``v`` positions and ``f`` faces
are read (index forms ``i``, ``i/t``, ``i/t/n``, ``i//n``, negative indices counting back);
materials, normals, texture coordinates, lines and points are ignored. This small reader is used
rather than trimesh's because trimesh merges objects of one name and cannot split at ``o`` and
``g`` the way Blender does.

**PLY** (ASCII and binary, little or big endian): one object named after the file, unless faces (or,
failing that, vertices) carry an integer class property (:data:`PLY_CLASS_FIELDS`, MPCAT40 ids;
float properties holding whole numbers count, as Blender's PLY exporter writes integer attributes
as ``float``): then one object per class (``<file>.<class name>``), labelled. The header is read
first and the declared counts are checked (against ``max_triangles`` and, for binary files, the
file's size) before anything is allocated. Polygons become fans of triangles. This reader is used
rather than trimesh's because trimesh cannot read binary PLY files whose faces have different
numbers of corners (Blender's exporter writes quads and n-gons as they are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..classes import MPCAT40_NAMES
from ..errors import PosaError
from .readers import BlenderNames, RawObject, check_triangle_budget

__all__ = ["PLY_CLASS_FIELDS", "read_obj", "read_ply"]

#: PLY element properties that hold MPCAT40 ids, in the order they are tried.
PLY_CLASS_FIELDS = ("class_id", "class", "label", "semantic", "semantics", "category_id",
                    "mpcat40")
_PLY_TYPES = {"char": "i1", "uchar": "u1", "int8": "i1", "uint8": "u1", "short": "i2",
              "ushort": "u2", "int16": "i2", "uint16": "u2", "int": "i4", "uint": "u4",
              "int32": "i4", "uint32": "u4", "float": "f4", "float32": "f4", "double": "f8",
              "float64": "f8"}
_MAX_PLY_HEADER = 1 << 20


# ------------------------------------------------------------------------------------ OBJ
def read_obj(path: Path, data: bytes, max_triangles: int) -> list[RawObject]:
    """The objects of an OBJ file whose bytes are ``data`` (module docstring)."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    statements = sum(1 for line in lines if line[:2] in ("f ", "f\t"))
    check_triangle_budget(path, statements, max_triangles, "face statements")
    split = "o" if any(line[:2] in ("o ", "o\t") for line in lines) else "g"
    positions: list[list[str]] = []
    groups: list[tuple[str, list[list[int]]]] = [(path.stem, [])]
    triangles = 0
    for number, line in enumerate(lines, start=1):
        words = line.split(None, 1)
        if not words:
            continue
        head, rest = words[0], words[1] if len(words) > 1 else ""
        if head == "v":
            positions.append(rest.split()[:3])
        elif head == "f":
            corners = [_obj_index(path, number, token, len(positions)) for token in rest.split()]
            if len(corners) >= 3:
                triangles += len(corners) - 2
                groups[-1][1].append(corners)
        elif head == split:
            groups.append((rest.strip() or path.stem, []))
    check_triangle_budget(path, triangles, max_triangles, "faces")
    vertices = _obj_positions(path, positions)
    names = BlenderNames()
    out = []
    for name, polygons in groups:
        if not polygons:
            continue
        faces = np.array([(p[0], p[k], p[k + 1]) for p in polygons for k in range(1, len(p) - 1)],
                         np.int64)
        if faces.min() < 0 or faces.max() >= len(vertices):
            bad = int(faces.max() if faces.max() >= len(vertices) else faces.min())
            raise PosaError(f"{path}: object {name!r}: face index {bad + 1} is outside the "
                            f"{len(vertices)} vertices of the file")
        used, local = np.unique(faces, return_inverse=True)
        out.append(RawObject(names.add(name), vertices[used], local.reshape(-1, 3)))
    return out


def _obj_index(path: Path, number: int, token: str, count: int) -> int:
    """One ``f`` corner -> a 0-based vertex index (negative indices count back from the last
    vertex read so far)."""
    text = token.split("/", 1)[0]
    try:
        index = int(text)
    except ValueError:
        raise PosaError(f"{path}: line {number}: face corner {token!r}: expected a vertex index"
                        ) from None
    if index == 0:
        raise PosaError(f"{path}: line {number}: face corner {token!r}: vertex indices start "
                        f"at 1")
    return index - 1 if index > 0 else count + index


def _obj_positions(path: Path, positions: list[list[str]]) -> np.ndarray:
    if not positions:
        return np.zeros((0, 3))
    if any(len(p) != 3 for p in positions):
        raise PosaError(f"{path}: a 'v' statement has fewer than 3 coordinates")
    try:
        vertices = np.array(positions, dtype=np.float64)
    except ValueError as exc:
        raise PosaError(f"{path}: 'v' statements: expected numbers ({exc})") from None
    return vertices


# ------------------------------------------------------------------------------------ PLY
@dataclass
class _Property:
    """One PLY property: ``name``, numpy ``dtype``, and for a list the ``count`` dtype."""

    name: str
    dtype: np.dtype
    count: np.dtype | None = None


@dataclass
class _Element:
    """One PLY element: ``name``, declared ``size`` and its properties."""

    name: str
    size: int
    properties: list[_Property] = field(default_factory=list)


def read_ply(path: Path, data: bytes, max_triangles: int) -> list[RawObject]:
    """The objects of a PLY file whose bytes are ``data`` (module docstring)."""
    elements, fmt, start = _ply_header(path, data, max_triangles)
    values = _ply_ascii(path, data[start:], elements) if fmt == "ascii" else _ply_binary(
        path, data[start:], elements, "<" if fmt == "binary_little_endian" else ">")
    vertex = values.get("vertex", {})
    if not all(axis in vertex for axis in "xyz"):
        raise PosaError(f"{path}: PLY element vertex: expected properties x, y, z")
    vertices = np.stack([np.asarray(vertex[a], np.float64) for a in "xyz"], axis=1)
    polygons = _ply_polygons(values.get("face", {}))
    faces, face_of = _fan(polygons)
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise PosaError(f"{path}: PLY element face: expected vertex indices in "
                        f"0..{len(vertices) - 1}, found {faces.min()}..{faces.max()}")
    face_class = _ply_classes(path, values.get("face", {}), "face", len(polygons))
    if face_class is not None:
        face_class = face_class[face_of]
    else:
        vertex_class = _ply_classes(path, vertex, "vertex", len(vertices))
        if vertex_class is not None and len(faces):
            corner = vertex_class[faces]  # (F, 3): a face takes the class two corners share
            face_class = np.where(corner[:, 1] == corner[:, 2], corner[:, 1], corner[:, 0])
    if face_class is None:
        return [RawObject(path.stem, vertices, faces)]
    out = []
    for class_id in np.unique(face_class):
        part = faces[face_class == class_id]
        used, local = np.unique(part, return_inverse=True)
        out.append(RawObject(f"{path.stem}.{MPCAT40_NAMES[class_id]}", vertices[used],
                             local.reshape(-1, 3), (int(class_id), "PLY class property")))
    return out


def _ply_header(path: Path, data: bytes, max_triangles: int
                ) -> tuple[list[_Element], str, int]:
    """Parse and check the header: the elements, the format and where the data start."""
    end = data.find(b"end_header", 0, _MAX_PLY_HEADER)
    if not data.startswith(b"ply") or end < 0:
        raise PosaError(f"{path}: PLY header: expected 'ply' ... 'end_header' within the first "
                        f"{_MAX_PLY_HEADER} bytes")
    newline = data.find(b"\n", end)
    start = len(data) if newline < 0 else newline + 1
    fmt, elements = "", []
    for number, line in enumerate(data[:end].decode("ascii", "replace").splitlines(), start=1):
        words = line.split()
        if words[:1] == ["format"] and len(words) >= 2:
            fmt = words[1]
        elif words[:1] == ["element"]:
            if len(words) != 3 or not words[2].isdigit():
                raise PosaError(f"{path}: PLY header line {number}: expected 'element <name> "
                                f"<count>', found {line.strip()!r}")
            elements.append(_Element(words[1], int(words[2])))
        elif words[:1] == ["property"]:
            if not elements:
                raise PosaError(f"{path}: PLY header line {number}: property before any "
                                f"element")
            elements[-1].properties.append(_ply_property(path, number, words))
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise PosaError(f"{path}: PLY header: expected format ascii, binary_little_endian or "
                        f"binary_big_endian, found {fmt!r}")
    sizes = {e.name: e.size for e in elements}
    check_triangle_budget(path, sizes.get("face", 0), max_triangles, "header: element face")
    least = sum(e.size * sum(_least_bytes(p) for p in e.properties) for e in elements)
    if fmt != "ascii" and least > len(data) - start:
        raise PosaError(f"{path}: PLY header declares {least:,} bytes of data at least, the file "
                        f"holds {len(data) - start:,} after the header (truncated or lying)")
    if fmt == "ascii" and sum(e.size for e in elements) > len(data) - start:
        raise PosaError(f"{path}: PLY header declares more items than the file has bytes")
    return elements, fmt, start


def _ply_property(path: Path, number: int, words: list[str]) -> _Property:
    try:
        if words[1] == "list":
            return _Property(words[4], np.dtype(_PLY_TYPES[words[3]]),
                             np.dtype(_PLY_TYPES[words[2]]))
        return _Property(words[2], np.dtype(_PLY_TYPES[words[1]]))
    except (KeyError, IndexError):
        raise PosaError(f"{path}: PLY header line {number}: unknown property "
                        f"{' '.join(words)!r}") from None


def _least_bytes(prop: _Property) -> int:
    """Least bytes one item of a binary property takes (a list at least its count)."""
    return prop.dtype.itemsize if prop.count is None else prop.count.itemsize


def _ply_binary(path: Path, body: bytes, elements: list[_Element], order: str) -> dict:
    """``{element: {property: values}}``; list properties give a list of arrays."""
    out, pos = {}, 0
    for element in elements:
        props = [_Property(p.name, p.dtype.newbyteorder(order),
                           None if p.count is None else p.count.newbyteorder(order))
                 for p in element.properties]
        if all(p.count is None for p in props):
            dtype = np.dtype([(p.name, p.dtype) for p in props])
            end = pos + element.size * dtype.itemsize
            if end > len(body):
                raise PosaError(f"{path}: PLY element {element.name}: the file ends early")
            rows = np.frombuffer(body, dtype, element.size, pos)
            out[element.name] = {p.name: rows[p.name] for p in props}
            pos = end
        else:
            uniform = _uniform_lists(body, pos, element, props)
            if uniform is None:
                out[element.name], pos = _binary_lists(path, body, pos, element, props)
            else:
                out[element.name], pos = uniform
    return out


def _uniform_lists(body: bytes, pos: int, element: _Element, props: list[_Property]
                   ) -> tuple[dict, int] | None:
    """The element read in one go when every list has the length of the first item's (all
    triangles, say); None when they differ or the file is too short."""
    fields, offset = [], pos
    for p in props:
        if p.count is None:
            fields.append((p.name, p.dtype))
            offset += p.dtype.itemsize
            continue
        if offset + p.count.itemsize > len(body):
            return None
        n = int(np.frombuffer(body, p.count, 1, offset)[0])
        fields += [(f"{p.name}:count", p.count), (p.name, p.dtype, (n,))]
        offset += p.count.itemsize + n * p.dtype.itemsize
    dtype = np.dtype(fields)
    if pos + element.size * dtype.itemsize > len(body):
        return None
    rows = np.frombuffer(body, dtype, element.size, pos)
    for p in props:
        if p.count is not None and (rows[f"{p.name}:count"] != dtype[p.name].shape[0]).any():
            return None
    return {p.name: rows[p.name] for p in props}, pos + element.size * dtype.itemsize


def _binary_lists(path: Path, body: bytes, pos: int, element: _Element,
                  props: list[_Property]) -> tuple[dict, int]:
    """An element with list properties, item by item (lists may differ in length: Blender
    writes quads and n-gons)."""
    values: dict[str, list] = {p.name: [] for p in props}
    for _ in range(element.size):
        for p in props:
            if p.count is None:
                item = np.frombuffer(body, p.dtype, 1, pos) if pos + p.dtype.itemsize <= len(
                    body) else None
                size = p.dtype.itemsize
            else:
                if pos + p.count.itemsize > len(body):
                    item = None
                else:
                    n = int(np.frombuffer(body, p.count, 1, pos)[0])
                    pos += p.count.itemsize
                    size = n * p.dtype.itemsize
                    item = np.frombuffer(body, p.dtype, n, pos) if pos + size <= len(
                        body) else None
            if item is None:
                raise PosaError(f"{path}: PLY element {element.name}: the file ends early")
            values[p.name].append(item if p.count is not None else item[0])
            pos += size
    return {k: (v if any(p.name == k and p.count is not None for p in props) else np.array(v))
            for k, v in values.items()}, pos


def _ply_ascii(path: Path, body: bytes, elements: list[_Element]) -> dict:
    """``{element: {property: values}}`` of an ASCII body; list properties give arrays."""
    tokens = body.split()
    out, pos = {}, 0
    for element in elements:
        props = element.properties
        if all(p.count is None for p in props):
            n = len(props) * element.size
            if pos + n > len(tokens):
                raise PosaError(f"{path}: PLY element {element.name}: the file ends early")
            rows = _numbers(path, element, tokens[pos:pos + n]).reshape(element.size, -1)
            out[element.name] = {p.name: rows[:, k].astype(p.dtype) for k, p in
                                 enumerate(props)}
            pos += n
            continue
        uniform = _uniform_ascii(path, tokens, pos, element)
        if uniform is not None:
            out[element.name], pos = uniform
            continue
        values: dict[str, list] = {p.name: [] for p in props}
        for _ in range(element.size):
            for p in props:
                count = 1
                if p.count is not None:
                    count = int(_numbers(path, element, tokens[pos:pos + 1])[0])
                    pos += 1
                item = _numbers(path, element, tokens[pos:pos + count])
                if len(item) < count:
                    raise PosaError(f"{path}: PLY element {element.name}: the file ends early")
                values[p.name].append(item.astype(p.dtype) if p.count is not None else item[0])
                pos += count
        out[element.name] = {p.name: values[p.name] if p.count is not None
                             else np.array(values[p.name], p.dtype) for p in props}
    return out


def _uniform_ascii(path: Path, tokens: list[bytes], pos: int, element: _Element
                   ) -> tuple[dict, int] | None:
    """An ASCII element whose lists all have the first item's length, read in one go (None
    when they differ)."""
    columns, width = [], 0
    for p in element.properties:
        if p.count is None:
            columns.append((p, width, 1))
            width += 1
            continue
        if pos + width >= len(tokens) or not tokens[pos + width].isdigit():
            return None
        n = int(tokens[pos + width])
        columns.append((p, width, n))
        width += 1 + n
    end = pos + element.size * width
    if end > len(tokens):
        return None
    rows = _numbers(path, element, tokens[pos:end]).reshape(element.size, width)
    out = {}
    for p, start, n in columns:
        if p.count is None:
            out[p.name] = rows[:, start].astype(p.dtype)
        elif (rows[:, start] != n).any():
            return None
        else:
            out[p.name] = rows[:, start + 1:start + 1 + n].astype(p.dtype)
    return out, end


def _numbers(path: Path, element: _Element, tokens: list[bytes]) -> np.ndarray:
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        raise PosaError(f"{path}: PLY element {element.name}: expected numbers") from None


def _ply_polygons(face: dict) -> list[np.ndarray] | np.ndarray:
    """The faces' corner lists: an (F, n) array when every face has n corners, else a list."""
    for key in ("vertex_indices", "vertex_index"):
        if key in face:
            values = face[key]
            if isinstance(values, np.ndarray) and values.ndim == 2:
                return values.astype(np.int64)
            return [np.asarray(p, np.int64) for p in values]
    return []


def _fan(polygons: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygons -> (F, 3) int64 triangles (fans, ``n - 2`` each) and (F,) the polygon of
    each."""
    if isinstance(polygons, np.ndarray):
        n = polygons.shape[1]
        if n < 3:
            return np.zeros((0, 3), np.int64), np.zeros(0, np.int64)
        tris = np.stack([np.stack([polygons[:, 0], polygons[:, j], polygons[:, j + 1]], axis=1)
                         for j in range(1, n - 1)], axis=1).reshape(-1, 3)
        return tris, np.repeat(np.arange(len(polygons)), n - 2)
    tris, owner = [], []
    for k, p in enumerate(polygons):
        for j in range(1, len(p) - 1):
            tris.append((p[0], p[j], p[j + 1]))
            owner.append(k)
    return np.array(tris, np.int64).reshape(-1, 3), np.array(owner, np.int64)


def _ply_classes(path: Path, data: dict, element: str, count: int) -> np.ndarray | None:
    for field_name in PLY_CLASS_FIELDS:
        values = data.get(field_name)
        if values is None or isinstance(values, list):
            continue
        values = np.asarray(values).reshape(-1)
        whole = values.dtype.kind in "iu" or (
            values.dtype.kind == "f" and np.isfinite(values).all()
            and (values == np.round(values)).all())  # Blender writes int attributes as float
        if len(values) != count or not whole:
            raise PosaError(f"{path}: {element} property {field_name!r}: expected {count} "
                            f"integer MPCAT40 ids, found {len(values)} of {values.dtype}")
        if len(values) and (values.min() < 0 or values.max() >= len(MPCAT40_NAMES)):
            raise PosaError(f"{path}: {element} property {field_name!r}: expected ids in "
                            f"0..{len(MPCAT40_NAMES) - 1}, found {values.min()}..{values.max()}")
        return values.astype(np.int64)
    return None
