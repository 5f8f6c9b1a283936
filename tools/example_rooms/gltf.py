"""A small, deterministic binary glTF (GLB) writer with real node hierarchies.

Why not ``trimesh.Scene.export``: an artist's export has nodes with children, meshes of several
primitives (one per material), instanced meshes (several nodes, one mesh) and embedded files
whose nodes keep their own matrices; and the example rooms must come out byte for byte the same
on every run. This writer does exactly that and no more:

* :class:`GlbBuilder` collects materials, meshes (each a list of primitives: vertices (N, 3)
  float, faces (M, 3) int, material index), nodes (name, optional mesh, children, optional 4x4
  matrix) and whole other GLB files (:meth:`GlbBuilder.embed`: their buffers, materials,
  textures and meshes copied unchanged, their node tree added under a node of ours);
* :meth:`GlbBuilder.to_bytes` writes the JSON chunk (keys sorted, no spaces) and the binary
  chunk, both 4-byte aligned.

Coordinates are written as given: glTF is +y up, metres. Vertices are rounded to 10 µm and
matrices to 1e-9 before they become float32 / JSON, so that the last bits of platform maths
(SIMD sine and cosine) cannot change the bytes. Node names are made unique the way Blender does
(``chair``, ``chair.001``, ``chair.002``).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["GlbBuilder", "Primitive", "read_glb", "write_glb"]

_GLB_MAGIC = 0x46546C67
_JSON_CHUNK = 0x4E4F534A
_BIN_CHUNK = 0x004E4942
_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_FLOAT = 5126
_UNSIGNED_SHORT = 5123
_UNSIGNED_INT = 5125
#: glTF keys inside a material that refer to a texture index.
_TEXTURE_KEYS = ("baseColorTexture", "metallicRoughnessTexture", "normalTexture",
                 "occlusionTexture", "emissiveTexture")


@dataclass(frozen=True)
class Primitive:
    """One primitive: ``vertices`` (N, 3) metres, ``faces`` (M, 3) indices into them
    (counter-clockwise seen from outside), ``material`` an index from
    :meth:`GlbBuilder.material`."""

    vertices: np.ndarray
    faces: np.ndarray
    material: int


def read_glb(path: str | Path) -> tuple[dict, bytes]:
    """(glTF JSON dict, binary chunk bytes) of a ``.glb`` file.

    Raises ValueError naming the file when it is not a version-2 GLB with a JSON chunk.
    """
    data = Path(path).read_bytes()
    if len(data) < 20 or struct.unpack_from("<II", data, 0) != (_GLB_MAGIC, 2):
        raise ValueError(f"{path}: not a version 2 binary glTF file")
    length, kind = struct.unpack_from("<II", data, 12)
    if kind != _JSON_CHUNK:
        raise ValueError(f"{path}: the first chunk is not JSON")
    doc = json.loads(data[20:20 + length])
    binary = b""
    offset = 20 + length
    if offset + 8 <= len(data):
        blength, bkind = struct.unpack_from("<II", data, offset)
        if bkind == _BIN_CHUNK:
            binary = data[offset + 8:offset + 8 + blength]
    return doc, binary


def _pad4(data: bytes | bytearray, fill: bytes = b"\0") -> bytes:
    return bytes(data) + fill * (-len(data) % 4)


@dataclass
class GlbBuilder:
    """Collects the parts of one glTF file (see the module docstring); ``generator`` goes into
    ``asset.generator``."""

    generator: str = "POSA for Blender tools/make_example_rooms.py"
    nodes: list[dict] = field(default_factory=list)
    meshes: list[dict] = field(default_factory=list)
    materials: list[dict] = field(default_factory=list)
    accessors: list[dict] = field(default_factory=list)
    buffer_views: list[dict] = field(default_factory=list)
    textures: list[dict] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    samplers: list[dict] = field(default_factory=list)
    binary: bytearray = field(default_factory=bytearray)
    _names: set[str] = field(default_factory=set)
    _embedded: dict[str, tuple[dict, dict]] = field(default_factory=dict)

    # ---------------------------------------------------------------- names and raw data
    def unique_name(self, name: str) -> str:
        """``name``, or ``name.001``, ``name.002``... when taken (Blender's rule)."""
        out, k = name, 0
        while out in self._names:
            k += 1
            out = f"{name}.{k:03d}"
        self._names.add(out)
        return out

    def _view(self, data: bytes, target: int | None) -> int:
        self.binary.extend(b"\0" * (-len(self.binary) % 4))
        view = {"buffer": 0, "byteOffset": len(self.binary), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.binary.extend(data)
        self.buffer_views.append(view)
        return len(self.buffer_views) - 1

    # ---------------------------------------------------------------- our own content
    def material(self, name: str, rgba, roughness: float = 0.8, metallic: float = 0.0) -> int:
        """A plain PBR material (base colour ``rgba`` in [0, 1], linear); returns its index.
        A material of the same name is reused."""
        for k, m in enumerate(self.materials):
            if m.get("name") == name:
                return k
        self.materials.append({
            "name": name,
            "pbrMetallicRoughness": {"baseColorFactor": [round(float(c), 4) for c in rgba],
                                     "metallicFactor": float(metallic),
                                     "roughnessFactor": float(roughness)}})
        return len(self.materials) - 1

    def mesh(self, name: str, primitives: list[Primitive]) -> int:
        """A mesh of one or more primitives; returns its index."""
        out = []
        for prim in primitives:
            vertices = np.round(np.asarray(prim.vertices, np.float64), 5).astype("<f4")
            faces = np.asarray(prim.faces, np.int64)
            if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
                raise ValueError(f"mesh {name!r}: expected (N, 3) vertices, found "
                                 f"{vertices.shape}")
            if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 \
                    or faces.max() >= len(vertices):
                raise ValueError(f"mesh {name!r}: faces must be (M, 3) indices into "
                                 f"{len(vertices)} vertices")
            index_type = "<u2" if len(vertices) < 65536 else "<u4"
            position = len(self.accessors)
            self.accessors.append({
                "bufferView": self._view(vertices.tobytes(), _ARRAY_BUFFER),
                "componentType": _FLOAT, "count": len(vertices), "type": "VEC3",
                "min": [float(v) for v in vertices.min(axis=0)],
                "max": [float(v) for v in vertices.max(axis=0)]})
            self.accessors.append({
                "bufferView": self._view(faces.astype(index_type).tobytes(),
                                         _ELEMENT_ARRAY_BUFFER),
                "componentType": _UNSIGNED_SHORT if index_type == "<u2" else _UNSIGNED_INT,
                "count": int(faces.size), "type": "SCALAR"})
            out.append({"attributes": {"POSITION": position}, "indices": position + 1,
                        "material": int(prim.material), "mode": 4})
        self.meshes.append({"name": name, "primitives": out})
        return len(self.meshes) - 1

    def node(self, name: str, mesh: int | None = None, children: list[int] | None = None,
             matrix: np.ndarray | None = None, unique: bool = True) -> int:
        """A node (``matrix`` a (4, 4) local transform, column vectors; None: identity);
        returns its index. The name is made unique unless ``unique`` is False."""
        node: dict = {"name": self.unique_name(name) if unique else name}
        if mesh is not None:
            node["mesh"] = int(mesh)
        if children:
            node["children"] = [int(c) for c in children]
        if matrix is not None and not np.allclose(matrix, np.eye(4), atol=1e-12):
            flat = np.asarray(matrix, np.float64).T.reshape(-1)  # glTF: column-major
            node["matrix"] = [float(round(v, 9)) + 0.0 for v in flat]
        self.nodes.append(node)
        return len(self.nodes) - 1

    # ---------------------------------------------------------------- other files
    def embed(self, path: str | Path, root_name: str | None = None) -> tuple[list[int], dict]:
        """Add the node tree of the GLB ``path`` (its scene's root nodes and below, names made
        unique; a file with one root node gets ``root_name`` for it when given) and return (the
        new root node indices, the file's JSON). Buffers, materials,
        textures and meshes of a file are copied once; embedding it again adds only nodes
        (instances sharing the meshes, as Blender's linked duplicates export)."""
        key = str(Path(path).resolve())
        if key not in self._embedded:
            doc, binary = read_glb(path)
            self._embedded[key] = (doc, self._copy_resources(doc, binary))
        doc, maps = self._embedded[key]
        scene = doc.get("scenes", [{}])[doc.get("scene", 0)]
        nodes = scene.get("nodes", [])
        rename = root_name if len(nodes) == 1 else None
        return [self._copy_node(doc, n, maps, rename) for n in nodes], doc

    def _copy_resources(self, doc: dict, binary: bytes) -> dict:
        """Copy buffer views, accessors, images, samplers, textures, materials and meshes of
        ``doc``; returns the index maps (old -> new) of meshes."""
        if len(doc.get("buffers", [])) > 1:
            raise ValueError("embedding supports GLB files with one buffer")
        views = []
        for view in doc.get("bufferViews", []):
            start = view.get("byteOffset", 0)
            data = binary[start:start + view["byteLength"]]
            new = self._view(data, view.get("target"))
            if "byteStride" in view:
                self.buffer_views[new]["byteStride"] = view["byteStride"]
            views.append(new)
        accessors = []
        for acc in doc.get("accessors", []):
            acc = dict(acc)
            if "bufferView" in acc:
                acc["bufferView"] = views[acc["bufferView"]]
            self.accessors.append(acc)
            accessors.append(len(self.accessors) - 1)
        images = []
        for image in doc.get("images", []):
            image = dict(image)
            if "bufferView" in image:
                image["bufferView"] = views[image["bufferView"]]
            self.images.append(image)
            images.append(len(self.images) - 1)
        samplers = []
        for sampler in doc.get("samplers", []):
            self.samplers.append(dict(sampler))
            samplers.append(len(self.samplers) - 1)
        textures = []
        for tex in doc.get("textures", []):
            tex = dict(tex)
            if "source" in tex:
                tex["source"] = images[tex["source"]]
            if "sampler" in tex:
                tex["sampler"] = samplers[tex["sampler"]]
            self.textures.append(tex)
            textures.append(len(self.textures) - 1)
        materials = []
        for mat in doc.get("materials", []):
            mat = json.loads(json.dumps(mat))
            for holder in (mat, mat.get("pbrMetallicRoughness", {})):
                for key in _TEXTURE_KEYS:
                    if key in holder:
                        holder[key]["index"] = textures[holder[key]["index"]]
            self.materials.append(mat)
            materials.append(len(self.materials) - 1)
        meshes = []
        for mesh in doc.get("meshes", []):
            mesh = json.loads(json.dumps(mesh))
            for prim in mesh["primitives"]:
                prim["attributes"] = {k: accessors[v] for k, v in prim["attributes"].items()}
                if "indices" in prim:
                    prim["indices"] = accessors[prim["indices"]]
                if "material" in prim:
                    prim["material"] = materials[prim["material"]]
                for target in prim.get("targets", []):
                    for k in target:
                        target[k] = accessors[target[k]]
            self.meshes.append(mesh)
            meshes.append(len(self.meshes) - 1)
        return {"meshes": meshes}

    def _copy_node(self, doc: dict, index: int, maps: dict, name: str | None = None) -> int:
        src = doc["nodes"][index]
        children = [self._copy_node(doc, c, maps) for c in src.get("children", [])]
        node = {k: v for k, v in src.items() if k not in ("children", "mesh", "name")}
        node["name"] = self.unique_name(name or src.get("name", f"node{index}"))
        if "mesh" in src:
            node["mesh"] = maps["meshes"][src["mesh"]]
        if children:
            node["children"] = children
        self.nodes.append(node)
        return len(self.nodes) - 1

    # ---------------------------------------------------------------- output
    def to_bytes(self, roots: list[int], extras: dict | None = None) -> bytes:
        """The GLB bytes of a file whose one scene holds the nodes ``roots``; ``extras`` go
        into the scene's extras."""
        doc: dict = {"asset": {"version": "2.0", "generator": self.generator},
                     "scene": 0, "scenes": [{"name": "Scene", "nodes": list(roots)}],
                     "nodes": self.nodes}
        if extras:
            doc["scenes"][0]["extras"] = extras
        for key, value in (("meshes", self.meshes), ("materials", self.materials),
                           ("accessors", self.accessors), ("bufferViews", self.buffer_views),
                           ("textures", self.textures), ("images", self.images),
                           ("samplers", self.samplers)):
            if value:
                doc[key] = value
        binary = _pad4(self.binary)
        if binary:
            doc["buffers"] = [{"byteLength": len(binary)}]
        text = _pad4(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode(), b" ")
        total = 12 + 8 + len(text) + (8 + len(binary) if binary else 0)
        out = bytearray(struct.pack("<III", _GLB_MAGIC, 2, total))
        out += struct.pack("<II", len(text), _JSON_CHUNK) + text
        if binary:
            out += struct.pack("<II", len(binary), _BIN_CHUNK) + binary
        return bytes(out)


def write_glb(path: str | Path, builder: GlbBuilder, roots: list[int],
              extras: dict | None = None) -> Path:
    """Write ``builder`` (scene ``roots``) to ``path`` (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(builder.to_bytes(roots, extras))
    return path
