"""Write the scene-file fixtures of tests/test_scene_blender_files.py with real Blender (bpy).

    .venv-blender/bin/python tools/make_scene_fixtures.py [--out tests/fixtures/scenes]
        [--furniture /work/shared/real_furniture]

What it writes into ``--out`` (deterministic: the same bytes on every run of one Blender
version; the files name Blender's version in their headers):

* ``blender_room.glb`` / ``blender_room.gltf`` + ``blender_room.bin`` / ``blender_room.obj`` /
  ``blender_room_groups.obj`` / ``blender_room_ascii.ply`` / ``blender_room_binary.ply`` /
  ``blender_room_classes.ply``: one small Blender scene exported by Blender's own exporters with
  their default axes (glTF and OBJ +y up, PLY +z up). The scene: ``Room``, floor, walls and
  ceiling as one inside-out mesh with a door opening (unlabelled); ``Sofa``, one mesh with two
  materials (two glTF primitives); ``Bed`` with the children ``Pillow`` and ``Pillow.001``; the
  empty ``Dining`` (turned 30 degrees) with the children ``Chair`` and ``Chair.001``; ``Thing``
  with the custom property ``posa_class = "table"`` (glTF node extras); ``Gizmo`` whose mesh
  has ``posa_class = "shelving"`` (mesh extras); ``Mirrored``, scaled by -1 along x. The glTF
  files keep custom properties ("Include > Custom Properties"); the ``_classes`` PLY carries an
  integer point attribute ``class_id`` per object.
* ``names.gltf``: a hand-written glTF (embedded buffer) of the naming corner cases: unnamed
  nodes and meshes, repeated names, a node named like a suffixed name, nested mesh nodes, a
  multi-primitive mesh, a mirrored node and an empty with children.
* ``kenney_bed_double.glb``: the CC0 Kenney double bed copied unchanged from ``--furniture``
  (the other artist-made pieces are in ``examples/furniture``).
* ``blender_objects.json``: for every file above and every ``kenney_*``, ``polyhaven_*`` and
  ``quaternius_*`` piece of ``examples/furniture``, what Blender shows after importing it into an
  empty scene with its importer's defaults (OBJ files without ``o`` statements also split by
  group): per mesh object with triangles its name, triangle count, bounds in the file's y-up
  frame (Blender's z-up world turned back with ``(x, y, z) -> (x, z, -y)``, rounded to 0.1 mm)
  and custom properties.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

import bpy  # noqa: TID251 (a tool run with the bpy module, never imported by posa_model)
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "scenes"
FURNITURE = ROOT / "examples" / "furniture"
ARTIST_PREFIXES = ("kenney_", "polyhaven_", "quaternius_")


# -------------------------------------------------------------------------- the Blender scene
def _mesh_object(name: str, vertices, polygons, parent=None) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(map(float, v)) for v in vertices], [], [tuple(p) for p in polygons])
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.parent = parent
    return obj


def _box(name: str, size, centre, parent=None) -> bpy.types.Object:
    sx, sy, sz = (s / 2 for s in size)
    corners = [(x, y, z) for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)]
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    obj = _mesh_object(name, corners, quads, parent)
    obj.location = centre
    return obj


def _room() -> bpy.types.Object:
    """A 5 x 4 x 2.6 m box seen from inside (faces turned in) with a 0.9 x 2.0 m door in the
    wall at y = -2 (Blender's z-up frame)."""
    x0, x1, y0, y1, top, door, lintel = -2.5, 2.5, -2.0, 2.0, 2.6, 0.45, 2.0
    v = [(x0, y0, 0), (-door, y0, 0), (door, y0, 0), (x1, y0, 0), (x1, y1, 0), (x0, y1, 0),
         (x0, y0, top), (-door, y0, top), (door, y0, top), (x1, y0, top), (x1, y1, top),
         (x0, y1, top), (-door, y0, lintel), (door, y0, lintel)]
    outward = [(0, 5, 4, 3, 2, 1), (6, 7, 8, 9, 10, 11),  # floor (down), ceiling (up)
               (0, 1, 12, 7, 6), (2, 3, 9, 8, 13), (12, 13, 8, 7),  # door wall around the door
               (3, 4, 10, 9), (4, 5, 11, 10), (5, 0, 6, 11)]
    return _mesh_object("Room", v, [tuple(reversed(p)) for p in outward])


def build_scene() -> None:
    """The fixture scene of the module docstring, in an empty Blender file."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    _room()
    sofa = _box("Sofa", (2.0, 0.9, 0.8), (1.2, 1.4, 0.4))
    for name in ("Fabric", "Wood"):
        sofa.data.materials.append(bpy.data.materials.new(name))
    for polygon in sofa.data.polygons:
        polygon.material_index = 1 if polygon.index >= 4 else 0
    bed = _box("Bed", (1.6, 2.0, 0.5), (-1.4, 0.8, 0.25))
    for x in (-0.4, 0.4):
        _box("Pillow", (0.5, 0.3, 0.12), (x, 0.75, 0.31), parent=bed)
    dining = bpy.data.objects.new("Dining", None)
    bpy.context.scene.collection.objects.link(dining)
    dining.location = (1.0, -1.0, 0.0)
    dining.rotation_euler = (0.0, 0.0, math.radians(30.0))
    for x in (-0.4, 0.4):
        _box("Chair", (0.45, 0.45, 0.9), (x, 0.0, 0.45), parent=dining)
    thing = _box("Thing", (0.8, 0.6, 0.75), (-0.3, -1.2, 0.375))
    thing["posa_class"] = "table"
    gizmo = _box("Gizmo", (0.3, 0.8, 1.8), (2.2, 0.0, 0.9))
    gizmo.data["posa_class"] = "shelving"
    mirrored = _box("Mirrored", (0.4, 0.3, 0.5), (-2.0, -1.5, 0.25))
    mirrored.scale = (-1.0, 1.0, 1.0)
    bpy.context.view_layer.update()


def export_scene(out: Path) -> list[Path]:
    """Export the scene with Blender's exporters (module docstring); returns the files."""
    common = dict(export_extras=True, export_materials="PLACEHOLDER", export_normals=False,
                  export_texcoords=False, export_yup=True)
    glb, gltf = out / "blender_room.glb", out / "blender_room.gltf"
    bpy.ops.export_scene.gltf(filepath=str(glb), export_format="GLB", **common)
    bpy.ops.export_scene.gltf(filepath=str(gltf), export_format="GLTF_SEPARATE", **common)
    plain = dict(export_uv=False, export_normals=False, export_materials=False)
    obj, groups = out / "blender_room.obj", out / "blender_room_groups.obj"
    bpy.ops.wm.obj_export(filepath=str(obj), **plain)
    bpy.ops.wm.obj_export(filepath=str(groups), export_object_groups=True, **plain)
    ply = dict(export_uv=False, export_normals=False, export_colors="NONE",
               export_attributes=False)
    ascii_ply, binary_ply = out / "blender_room_ascii.ply", out / "blender_room_binary.ply"
    bpy.ops.wm.ply_export(filepath=str(ascii_ply), ascii_format=True, **ply)
    bpy.ops.wm.ply_export(filepath=str(binary_ply), ascii_format=False, **ply)
    classes = {"Room": 0, "Sofa": 10, "Bed": 11, "Pillow": 8, "Pillow.001": 8, "Chair": 3,
               "Chair.001": 3, "Thing": 5, "Gizmo": 31, "Mirrored": 39}
    for obj_ in bpy.context.scene.objects:
        if obj_.type == "MESH":
            attribute = obj_.data.attributes.new("class_id", "INT", "POINT")
            attribute.data.foreach_set("value", [classes[obj_.name]] * len(obj_.data.vertices))
    labelled = out / "blender_room_classes.ply"
    bpy.ops.wm.ply_export(filepath=str(labelled), ascii_format=False,
                          **{**ply, "export_attributes": True})
    return [glb, gltf, obj, groups, ascii_ply, binary_ply, labelled]


# -------------------------------------------------------------------------- the names glTF
def write_names_gltf(path: Path) -> Path:
    """The hand-written glTF of naming corner cases (module docstring)."""
    import base64

    tet = np.array([[0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]], np.float32)
    idx = np.array([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3], np.uint32)
    data = tet.tobytes() + (tet + np.float32([0, 0, 1])).tobytes() + idx.tobytes()
    views = [{"buffer": 0, "byteOffset": 0, "byteLength": 48},
             {"buffer": 0, "byteOffset": 48, "byteLength": 48},
             {"buffer": 0, "byteOffset": 96, "byteLength": 48}]
    accessors = [
        {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
         "min": [0, 0, 0], "max": [0.5, 0.5, 0.5]},
        {"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC3",
         "min": [0, 0, 1], "max": [0.5, 0.5, 1.5]},
        {"bufferView": 2, "componentType": 5125, "count": 12, "type": "SCALAR"}]
    one = {"attributes": {"POSITION": 0}, "indices": 2}
    meshes = [{"name": "SofaMesh", "primitives": [{**one, "material": 0},
                                                  {"attributes": {"POSITION": 1}, "indices": 2,
                                                   "material": 1}]},
              {"name": "Cushion", "primitives": [one]},
              {"primitives": [one]}]
    nodes = [
        {"name": "Sofa", "mesh": 0, "translation": [0, 0, 2], "children": [1, 2],
         "extras": {"posa_class": "sofa"}},
        {"name": "Cushion", "mesh": 1, "translation": [1, 0.5, 0]},
        {"mesh": 1, "translation": [2, 0.5, 0]},
        {"name": "Chair", "mesh": 1, "translation": [3, 0, 0]},
        {"name": "Chair", "mesh": 1, "translation": [4, 0, 0]},
        {"name": "Chair.001", "mesh": 1, "translation": [5, 0, 0]},
        {"name": "Group", "children": [7, 8], "rotation": [0, 0.3826834, 0, 0.9238795]},
        {"name": "Chair", "mesh": 2, "translation": [0, 0, 3]},
        {"mesh": 2, "scale": [-1, 1, 1], "translation": [1, 0, 3]},
        {"name": "Cushion", "translation": [0, 1, 0]},
        {"name": "A_name_that_is_longer_than_the_sixty_three_bytes_blender_keeps_for_objects",
         "mesh": 1, "translation": [0, 2, 0]},
    ]
    gltf = {"asset": {"version": "2.0", "generator": "tools/make_scene_fixtures.py"},
            "scene": 0, "scenes": [{"nodes": [0, 3, 4, 5, 6, 9, 10]}], "nodes": nodes,
            "meshes": meshes, "materials": [{"name": "a"}, {"name": "b"}],
            "buffers": [{"byteLength": len(data), "uri": "data:application/octet-stream;base64,"
                         + base64.b64encode(data).decode()}],
            "bufferViews": views, "accessors": accessors}
    path.write_text(json.dumps(gltf, indent=1) + "\n")
    return path


# -------------------------------------------------------------------------- Blender's imports
def blender_objects(path: Path) -> list[dict]:
    """What Blender lists after importing ``path`` into an empty scene (module docstring)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    suffix = path.suffix.lower()
    if suffix in (".glb", ".gltf"):
        bpy.ops.import_scene.gltf(filepath=str(path))
    elif suffix == ".obj":
        has_o = any(line.startswith("o ") for line in path.read_text().splitlines())
        bpy.ops.wm.obj_import(filepath=str(path), use_split_groups=not has_o)
    else:
        bpy.ops.wm.ply_import(filepath=str(path))
    out = []
    for obj in sorted(bpy.context.scene.objects, key=lambda o: o.name):
        if obj.type != "MESH":
            continue
        mesh = obj.data
        mesh.calc_loop_triangles()
        if not len(mesh.loop_triangles):
            continue
        used = sorted({i for t in mesh.loop_triangles for i in t.vertices})
        world = np.array([tuple(obj.matrix_world @ mesh.vertices[i].co) for i in used])
        y_up = np.stack([world[:, 0], world[:, 2], -world[:, 1]], axis=1)
        props = {k: obj[k] for k in obj.keys() if isinstance(obj[k], int | float | str)}
        mesh_props = {k: mesh[k] for k in mesh.keys() if isinstance(mesh[k], int | float | str)}
        out.append({"name": obj.name, "triangles": len(mesh.loop_triangles),
                    "bounds": np.round(np.stack([y_up.min(0), y_up.max(0)]), 4).tolist(),
                    "properties": props, "mesh_properties": mesh_props})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--furniture", type=Path, default=Path("/work/shared/real_furniture"),
                        help="where kenney_bed_double.glb is copied from")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    build_scene()
    files = export_scene(args.out)
    files.append(write_names_gltf(args.out / "names.gltf"))
    bed = args.furniture / "kenney_bed_double.glb"
    if bed.is_file():
        files.append(Path(shutil.copyfile(bed, args.out / bed.name)))
    elif (args.out / bed.name).is_file():
        files.append(args.out / bed.name)
    pieces = sorted(p for p in FURNITURE.glob("*.glb") if p.name.startswith(ARTIST_PREFIXES))
    record = {}
    for path in files + pieces:
        if path.suffix.lower() in (".glb", ".gltf", ".obj", ".ply"):
            key = (path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).as_posix()
            record[key] = blender_objects(path)
    record = {"blender": bpy.app.version_string, "files": record}
    (args.out / "blender_objects.json").write_text(json.dumps(record, indent=1) + "\n")
    for path in files:
        print(path, path.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
