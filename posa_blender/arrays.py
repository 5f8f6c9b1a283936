"""The one module that moves arrays between Blender data and numpy (``foreach_get``/``_set``).

Everything else in the add-on works on numpy arrays. Shapes: V vertices, F triangles, J joints.
Coordinates are whatever Blender stores (object-local, or world space where the name says so);
frame conversions between SMPL-X and Blender happen in :mod:`posa_model.frames` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import bpy
import numpy as np

ValueType = Literal["FLOAT", "INT"]
#: Attribute data types this module writes, and the element field that holds the value.
_VALUE_FIELD: dict[str, str] = {"FLOAT": "value", "INT": "value"}


# --------------------------------------------------------------------------------------------
# meshes


def new_mesh(name: str, vertices: np.ndarray, faces: np.ndarray) -> bpy.types.Mesh:
    """A new mesh datablock with (V, 3) ``vertices`` and (F, 3) triangle ``faces``."""
    vertices = np.ascontiguousarray(vertices, dtype=np.float32)
    faces = np.ascontiguousarray(faces, dtype=np.int32)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.update(calc_edges=True)  # no validate(): it may drop faces and change the topology
    return mesh


def vertex_positions(mesh: bpy.types.Mesh) -> np.ndarray:
    """(V, 3) float32 vertex positions of ``mesh`` (object-local)."""
    out = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", out)
    return out.reshape(-1, 3)


def polygon_vertices(mesh: bpy.types.Mesh) -> tuple[np.ndarray, np.ndarray]:
    """(sizes (P,), vertex ids (sum of sizes,)) of every polygon, in polygon order."""
    sizes = np.empty(len(mesh.polygons), dtype=np.int32)
    mesh.polygons.foreach_get("loop_total", sizes)
    starts = np.empty(len(mesh.polygons), dtype=np.int32)
    mesh.polygons.foreach_get("loop_start", starts)
    loops = np.empty(len(mesh.loops), dtype=np.int32)
    mesh.loops.foreach_get("vertex_index", loops)
    if len(starts) and not np.array_equal(starts, np.concatenate(([0], np.cumsum(sizes)[:-1]))):
        order = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, sizes, strict=True)])
        loops = loops[order]
    return sizes, loops


def evaluated_world_vertices(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The evaluated (deformed: bones, shape keys, modifiers) mesh of ``obj`` in world space.

    Returns (vertices (V, 3) float32 world coordinates, polygon sizes (P,), polygon vertex ids).
    """
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        local = vertex_positions(mesh).astype(np.float64)
        sizes, loops = polygon_vertices(mesh)
    finally:
        evaluated.to_mesh_clear()
    matrix = np.array(evaluated.matrix_world, dtype=np.float64)
    world = local @ matrix[:3, :3].T + matrix[:3, 3]
    return world.astype(np.float32), sizes, loops


def evaluated_world_triangles(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph
                              ) -> tuple[np.ndarray, np.ndarray]:
    """The evaluated mesh of ``obj`` (modifiers applied) as world triangles.

    Returns (vertices (V, 3) float64 Blender world coordinates, faces (T, 3) int64): Blender's
    own triangulation of every polygon (``Mesh.loop_triangles``), so n-gons, concave ones
    included, become the triangles Blender draws.
    """
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        local = vertex_positions(mesh).astype(np.float64)
        mesh.calc_loop_triangles()
        faces = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
        mesh.loop_triangles.foreach_get("vertices", faces)
    finally:
        evaluated.to_mesh_clear()
    matrix = np.array(evaluated.matrix_world, dtype=np.float64)
    return local @ matrix[:3, :3].T + matrix[:3, 3], faces.reshape(-1, 3).astype(np.int64)


# --------------------------------------------------------------------------------------------
# attributes


def set_point_attribute(mesh: bpy.types.Mesh, name: str, values: np.ndarray,
                        data_type: ValueType) -> None:
    """Write (V,) ``values`` to the per-vertex attribute ``name`` ("FLOAT" or "INT")."""
    if data_type not in _VALUE_FIELD:
        raise ValueError(f"data_type: expected one of {tuple(_VALUE_FIELD)}, found {data_type!r}")
    attribute = _fresh_attribute(mesh, name, data_type)
    dtype = np.float32 if data_type == "FLOAT" else np.int32
    attribute.data.foreach_set(_VALUE_FIELD[data_type], np.ascontiguousarray(values, dtype=dtype))


def point_attribute(mesh: bpy.types.Mesh, name: str) -> np.ndarray:
    """(V,) values of the FLOAT or INT per-vertex attribute ``name`` (KeyError if absent)."""
    attribute: Any = mesh.attributes[name]  # FloatAttribute | IntAttribute
    if attribute.data_type not in _VALUE_FIELD:
        raise TypeError(f"attribute {name!r} is {attribute.data_type}, not FLOAT or INT")
    dtype = np.float32 if attribute.data_type == "FLOAT" else np.int32
    out = np.empty(len(attribute.data), dtype=dtype)
    attribute.data.foreach_get(_VALUE_FIELD[attribute.data_type], out)
    return out


def set_color_attribute(mesh: bpy.types.Mesh, name: str, srgb: np.ndarray) -> None:
    """Write (V, 3) uint8 sRGB colours to the byte colour attribute ``name`` (per vertex)."""
    if name in mesh.attributes and (
        mesh.attributes[name].data_type != "BYTE_COLOR" or mesh.attributes[name].domain != "POINT"
    ):
        mesh.attributes.remove(mesh.attributes[name])
    if name not in mesh.color_attributes:
        mesh.color_attributes.new(name, "BYTE_COLOR", "POINT")
    attribute: Any = mesh.color_attributes[name]  # ByteColorAttribute
    rgba = np.ones((len(srgb), 4), dtype=np.float32)
    rgba[:, :3] = np.asarray(srgb, dtype=np.float32) / 255.0
    attribute.data.foreach_set("color_srgb", rgba.ravel())


def color_attribute_srgb(mesh: bpy.types.Mesh, name: str) -> np.ndarray:
    """(V, 3) uint8 sRGB colours of the colour attribute ``name``."""
    attribute: Any = mesh.color_attributes[name]
    out = np.empty(len(attribute.data) * 4, dtype=np.float32)
    attribute.data.foreach_get("color_srgb", out)
    return np.rint(out.reshape(-1, 4)[:, :3] * 255.0).astype(np.uint8)


def show_color_attribute(mesh: bpy.types.Mesh, name: str) -> None:
    """Make ``name`` the active colour attribute (viewport) and the render one (materials)."""
    attribute = mesh.color_attributes[name]
    mesh.color_attributes.active_color = attribute
    index = list(mesh.color_attributes).index(attribute)
    mesh.color_attributes.render_color_index = index


def remove_attributes(mesh: bpy.types.Mesh, names: Sequence[str]) -> None:
    """Remove the attributes among ``names`` that exist."""
    for name in names:
        attribute = mesh.attributes.get(name)
        if attribute is not None:
            mesh.attributes.remove(attribute)


def attribute_names(mesh: bpy.types.Mesh) -> list[str]:
    return [attribute.name for attribute in mesh.attributes]


def _fresh_attribute(mesh: bpy.types.Mesh, name: str, data_type: ValueType) -> Any:
    attribute: Any = mesh.attributes.get(name)
    if attribute is not None and (attribute.data_type != data_type or attribute.domain != "POINT"):
        mesh.attributes.remove(attribute)
        attribute = None
    if attribute is None:
        attribute = mesh.attributes.new(name, data_type, "POINT")
    return attribute


# --------------------------------------------------------------------------------------------
# skinning and bones


def set_vertex_groups(obj: bpy.types.Object, weights: np.ndarray, names: Sequence[str],
                      threshold: float = 1e-6) -> None:
    """Vertex group ``names[j]`` gets the vertices with ``weights[:, j] > threshold``.

    ``weights``: (V, J) skinning weights. Vertex groups have no ``foreach_set``; each group is
    filled with one ``add`` call per distinct weight value.
    """
    for j, name in enumerate(names):
        group = obj.vertex_groups.get(name) or obj.vertex_groups.new(name=name)
        column = np.asarray(weights[:, j], dtype=np.float32)
        ids = np.flatnonzero(column > threshold)
        if not len(ids):
            continue
        values, inverse = np.unique(column[ids], return_inverse=True)
        for k, value in enumerate(values):
            group.add(ids[inverse == k].tolist(), float(value), "REPLACE")


def vertex_group_weights(obj: bpy.types.Object, names: Sequence[str]) -> np.ndarray:
    """(V, J) weights of the vertex groups ``names`` (0 where a vertex is not in a group)."""
    mesh = obj.data
    if not isinstance(mesh, bpy.types.Mesh):
        raise TypeError(f"{obj.name!r} is not a mesh object")
    weights = np.zeros((len(mesh.vertices), len(names)), dtype=np.float32)
    column = {obj.vertex_groups[name].index: j for j, name in enumerate(names)
              if name in obj.vertex_groups}
    for vertex in mesh.vertices:
        for element in vertex.groups:
            j = column.get(element.group)
            if j is not None:
                weights[vertex.index, j] = element.weight
    return weights


def bone_rest_rotations(armature: bpy.types.Armature, names: Sequence[str]) -> np.ndarray:
    """(J, 3, 3) rest rotation of each named bone in armature space (``Bone.matrix_local``)."""
    return np.array([np.array(armature.bones[name].matrix_local)[:3, :3] for name in names],
                    dtype=np.float64)


def set_pose(pose: bpy.types.Pose, names: Sequence[str], quaternions: np.ndarray,
             root_location: np.ndarray | None = None) -> None:
    """Pose bone rotations (J, 4) as w, x, y, z quaternions in each bone's local frame.

    ``root_location`` (3,) is the first bone's location in its local frame (None: zero).
    """
    for name, quaternion in zip(names, np.asarray(quaternions, dtype=np.float64), strict=True):
        bone = pose.bones[name]
        bone.rotation_mode = "QUATERNION"
        bone.rotation_quaternion = tuple(quaternion)
    root = pose.bones[names[0]]
    root.location = (0.0, 0.0, 0.0) if root_location is None else tuple(root_location)


def pose_quaternions(pose: bpy.types.Pose, names: Sequence[str]) -> np.ndarray:
    """(J, 4) w, x, y, z rotation of each named pose bone, in any rotation mode."""
    out = np.zeros((len(names), 4))
    for k, name in enumerate(names):
        bone = pose.bones[name]
        if bone.rotation_mode == "QUATERNION":
            out[k] = bone.rotation_quaternion[:]
        else:  # Euler or axis-angle: the rotation of the bone's basis matrix
            out[k] = bone.matrix_basis.to_quaternion()[:]
    return out


def pose_locations_scales(pose: bpy.types.Pose, names: Sequence[str]
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) location and (J, 3) scale of each named pose bone (each bone's local frame)."""
    locations = np.array([pose.bones[name].location[:] for name in names], dtype=np.float64)
    scales = np.array([pose.bones[name].scale[:] for name in names], dtype=np.float64)
    return locations, scales
