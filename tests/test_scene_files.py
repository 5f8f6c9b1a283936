"""Scene files -> classified MeshObjects (posa_model.scene.files) and class guessing (labels)."""

from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest
import trimesh

from posa_model.classes import CLASS_ID
from posa_model.errors import PosaError
from posa_model.frames import blender_to_smplx
from posa_model.scene import (
    format_report,
    guess_class,
    guess_classes,
    load_class_mapping,
    load_scene,
    parse_class,
    scene_grid_from_file,
)
from posa_model.synth import generate_room
from posa_model.synth.export import save_scene


def _by_name(scene):
    return {o.name: o for o in scene.objects}


def _signed_volume(obj) -> float:
    v = obj.vertices[obj.faces]
    return float(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6)


# --------------------------------------------------------------------------------------------
# guessing


@pytest.mark.parametrize("name, expected", [
    ("Chair.001", "chair"), ("Couch", "sofa"), ("sofa_2", "sofa"), ("Floor", "floor"),
    ("ground", "floor"), ("Bed", "bed"), ("Table", "table"), ("desk", "table"),
    ("Stool", "stool"), ("Toilet", "toilet"), ("Wall", "wall"), ("Cabinet", "cabinet"),
    ("Cupboard", "cabinet"), ("wardrobe", "cabinet"), ("Counter", "counter"),
    ("worktop", "counter"), ("Shelf", "shelving"), ("bookcase", "shelving"),
    ("Bathtub", "bathtub"), ("armchair", "chair"), ("ArmChair", "chair"),
    ("sofa_table", "table"), ("BedsideTable", "chest_of_drawers"), ("Table_Lamp", "lighting"),
    ("Chair_Leg", "chair"), ("Sofa_Seat", "sofa"), ("DINING-TABLE_02", "table"),
    ("officechair", "chair"), ("Chairs", "chair"), ("Kitchen_Counter.004", "counter"),
    ("TVStand", "cabinet"), ("GroundPlane", "floor"),
])  # fmt: skip
def test_guess_class(name, expected):
    found = guess_class(name)
    assert found is not None and found[0] == CLASS_ID[expected], (name, found)


@pytest.mark.parametrize("name", ["Cube.001", "Plane", "Vegetable", "Empty", "", "123"])
def test_names_without_a_known_word_are_not_guessed(name):
    assert guess_class(name) is None


def test_guess_classes_and_report():
    guesses = guess_classes(["Chair.001", "Plane", "Couch"])
    assert guesses == {"Chair.001": (3, "guess:chair"), "Plane": (0, "none"),
                       "Couch": (10, "guess:couch")}
    report = format_report(guesses)
    summary = "3 objects: 0 labelled in the file, 0 from the mapping, 2 guessed, 1 unlabelled"
    assert summary in report
    assert "Couch" in report and "guessed from the word 'couch'" in report
    assert "unlabelled" in report.splitlines()[2]


def test_parse_class():
    assert parse_class("Chest of drawers") == 13
    assert parse_class("couch") == 10
    assert parse_class(5) == parse_class("5") == 5
    for bad in ("chiar", 42, -1, True, None):
        with pytest.raises(ValueError):
            parse_class(bad)


# --------------------------------------------------------------------------------------------
# glTF / GLB


def test_glb_names_extras_and_transforms_round_trip(tmp_path):
    scene = trimesh.Scene()
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    move = trimesh.transformations.translation_matrix([2.0, 0.0, 0.0])
    scene.add_geometry(box.copy(), node_name="Thing", geom_name="g1", transform=move,
                       metadata={"posa_class": "couch"})  # node extras
    mesa = box.copy()
    mesa.metadata["class_id"] = 5  # mesh extras
    scene.add_geometry(mesa, node_name="Mesa", geom_name="g2")
    scene.add_geometry(box.copy(), node_name="Chair.001", geom_name="g3")
    scene.add_geometry(box.copy(), node_name="Cube", geom_name="g4")
    mirror = np.diag([-1.0, 1.0, 1.0, 1.0]) @ trimesh.transformations.translation_matrix(
        [3.0, 0, 0])
    scene.add_geometry(box.copy(), node_name="Mirrored", geom_name="g5", transform=mirror)
    path = tmp_path / "room.glb"
    path.write_bytes(scene.export(file_type="glb"))

    loaded = load_scene(path)
    objs = _by_name(loaded)
    assert set(objs) == {"Thing", "Mesa", "Chair.001", "Cube", "Mirrored"}
    assert (objs["Thing"].class_id, objs["Thing"].class_source) == (10, "label")
    assert (objs["Mesa"].class_id, objs["Mesa"].class_source) == (5, "label")
    assert (objs["Chair.001"].class_id, objs["Chair.001"].class_source) == (3, "guess:chair")
    assert (objs["Cube"].class_id, objs["Cube"].class_source) == (0, "none")
    np.testing.assert_allclose(objs["Thing"].bounds(), [[1.5, -0.5, -0.5], [2.5, 0.5, 0.5]])
    np.testing.assert_allclose(objs["Mirrored"].bounds(), [[-3.5, -0.5, -0.5], [-2.5, 0.5, 0.5]])
    assert _signed_volume(objs["Mirrored"]) == pytest.approx(1.0)  # faces still face out
    assert loaded.unlabelled == ["Cube", "Mirrored"]
    assert "Cube" in loaded.report and "unlabelled" in loaded.report
    assert load_scene(path, guess=False).unlabelled == ["Chair.001", "Cube", "Mirrored"]


def _two_primitive_gltf(path, extras=None):
    """A .gltf whose node 'Sofa' holds one mesh of two primitives (two materials)."""
    tet = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    idx = np.array([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3], np.uint32)
    data = tet.tobytes() + (tet + [0, 0, 2]).astype(np.float32).tobytes() + idx.tobytes()
    views = [{"buffer": 0, "byteOffset": 0, "byteLength": 48},
             {"buffer": 0, "byteOffset": 48, "byteLength": 48},
             {"buffer": 0, "byteOffset": 96, "byteLength": 48}]
    accessors = [
        {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
         "min": [0, 0, 0], "max": [1, 1, 1]},
        {"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC3",
         "min": [0, 0, 2], "max": [1, 1, 3]},
        {"bufferView": 2, "componentType": 5125, "count": 12, "type": "SCALAR"},
    ]
    node = {"name": "Sofa", "mesh": 0, "translation": [0, 1, 0]}
    if extras:
        node["extras"] = extras
    gltf = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [node],
        "meshes": [{"name": "SofaMesh", "primitives": [
            {"attributes": {"POSITION": 0}, "indices": 2, "material": 0},
            {"attributes": {"POSITION": 1}, "indices": 2, "material": 1}]}],
        "materials": [{"name": "a"}, {"name": "b"}],
        "buffers": [{"byteLength": len(data), "uri": "data:application/octet-stream;base64,"
                     + base64.b64encode(data).decode()}],
        "bufferViews": views, "accessors": accessors,
    }
    path.write_text(json.dumps(gltf))
    return path


def test_gltf_mesh_of_several_primitives_is_one_object(tmp_path):
    loaded = load_scene(_two_primitive_gltf(tmp_path / "sofa.gltf", {"class": "bed"}))
    assert [o.name for o in loaded.objects] == ["Sofa"]
    sofa = loaded.objects[0]
    assert len(sofa.faces) == 8 and (sofa.class_id, sofa.class_source) == (11, "label")
    np.testing.assert_allclose(sofa.bounds(), [[0, 1, 0], [1, 2, 3]])


def test_synthetic_scene_loads_with_its_true_classes(tmp_path):
    room = generate_room("roomB", np.random.default_rng(3))
    path = save_scene(tmp_path, room)
    loaded = load_scene(path)
    truth = {o.name: o.class_id for o in room.objects}
    assert {o.name: o.class_id for o in loaded.objects} == truth
    assert {o.class_source for o in loaded.objects} == {"label"}
    # the sidecar alone is enough (a GLB written without class metadata)
    bare = trimesh.load(path, force="scene", process=False)
    for geom in bare.geometry.values():
        geom.metadata.pop("class_id", None)
    bare_path = tmp_path / "roomC.glb"
    bare_path.write_bytes(bare.export(file_type="glb"))
    assert all(o.class_source.startswith("guess:") for o in load_scene(bare_path).objects)
    (tmp_path / "roomC_objects.json").write_text((tmp_path / "roomB_objects.json").read_text())
    assert {o.name: o.class_id for o in load_scene(bare_path).objects} == truth


# --------------------------------------------------------------------------------------------
# OBJ and PLY

_OBJ = """o Chair.001
v 0 0 0
v 1 0 0
v 0 1 0
v 0 0 1
f 1 3 2
f 1 2 4
f 1 4 3
f 2 3 4
o Floor
v -2 0 -2
v 2 0 -2
v 2 0 2
v -2 0 2
f 5 7 6
f 5 8 7
"""


def test_obj_objects_groups_and_z_up(tmp_path):
    path = tmp_path / "scene.obj"
    path.write_text(_OBJ)
    loaded = load_scene(path)
    objs = _by_name(loaded)
    assert set(objs) == {"Chair.001", "Floor"}
    assert objs["Chair.001"].class_id == 3 and objs["Floor"].class_id == 2
    assert len(objs["Chair.001"].faces) == 4
    z_up = _by_name(load_scene(path, up="z"))
    np.testing.assert_allclose(z_up["Chair.001"].vertices,
                               blender_to_smplx(objs["Chair.001"].vertices))
    grouped = tmp_path / "grouped.obj"
    grouped.write_text(_OBJ.replace("o Chair.001", "g Stool").replace("o Floor", "g Rug"))
    assert {o.name: o.class_id for o in load_scene(grouped).objects} == {"Stool": 19, "Rug": 2}
    single = tmp_path / "bathtub.obj"
    single.write_text("\n".join(ln for ln in _OBJ.splitlines() if not ln.startswith("o ")))
    assert [(o.name, o.class_id) for o in load_scene(single).objects] == [("bathtub", 25)]


def _write_ply(path, vertices, faces, face_class=None):
    lines = ["ply", "format ascii 1.0", f"element vertex {len(vertices)}", "property float x",
             "property float y", "property float z", f"element face {len(faces)}",
             "property list uchar int vertex_indices"]
    if face_class is not None:
        lines.append("property int class_id")
    lines.append("end_header")
    lines += [" ".join(map(str, v)) for v in vertices]
    for i, f in enumerate(faces):
        extra = f" {face_class[i]}" if face_class is not None else ""
        lines.append("3 " + " ".join(map(str, f)) + extra)
    path.write_text("\n".join(lines) + "\n")


def test_ply_with_and_without_a_class_property(tmp_path):
    box = trimesh.creation.box()
    labels = np.where(box.triangles_center[:, 1] > 0.49, 3, 2)  # top: chair, rest: floor
    _write_ply(tmp_path / "scan.ply", box.vertices, box.faces, labels)
    objs = _by_name(load_scene(tmp_path / "scan.ply"))
    assert set(objs) == {"scan.chair", "scan.floor"}
    assert len(objs["scan.chair"].faces) == 2 and objs["scan.chair"].class_source == "label"
    _write_ply(tmp_path / "sofa.ply", box.vertices, box.faces)
    only = load_scene(tmp_path / "sofa.ply", up="z").objects
    assert [(o.name, o.class_id) for o in only] == [("sofa", 10)]
    np.testing.assert_allclose(only[0].vertices, blender_to_smplx(box.vertices), atol=1e-6)
    _write_ply(tmp_path / "bad.ply", box.vertices, box.faces, np.full(12, 77))
    with pytest.raises(PosaError, match=r"bad\.ply.*'class_id'.*0\.\.41"):
        load_scene(tmp_path / "bad.ply")


# --------------------------------------------------------------------------------------------
# class mappings


def test_classes_json_with_globs_overrides_labels_and_guesses(tmp_path):
    path = tmp_path / "scene.obj"
    second = [(ln.replace("Chair.001", "Chair.002").replace("Floor", "Mat")
               if ln.startswith("o ") else
               "f " + " ".join(str(int(i) + 8) for i in ln.split()[1:]) if ln.startswith("f ")
               else ln) for ln in _OBJ.splitlines()]
    path.write_text(_OBJ + "\n".join(second) + "\n")
    mapping = {"Chair.002": "sofa", "chair*": "stool", "Floor": 2, "Nothing*": "bed"}
    classes_file = tmp_path / "classes.json"
    classes_file.write_text(json.dumps(mapping))
    loaded = load_scene(path, classes=classes_file)
    got = {o.name: (o.class_id, o.class_source) for o in loaded.objects}
    assert got["Chair.002"] == (10, "classes")  # the exact name wins over the pattern
    assert got["Chair.001"] == (19, "classes")  # case-insensitive glob
    assert got["Floor"] == (2, "classes")
    assert got["Mat"] == (2, "guess:mat")
    assert "classes entry 'Nothing*' matched no object" in loaded.report
    assert load_class_mapping(mapping) == {"Chair.002": 10, "chair*": 19, "Floor": 2,
                                           "Nothing*": 11}


def test_mapping_overrides_a_file_label(tmp_path):
    path = _two_primitive_gltf(tmp_path / "sofa.gltf", {"class": "bed"})
    loaded = load_scene(path, classes={"So*": "sofa"})
    assert (loaded.objects[0].class_id, loaded.objects[0].class_source) == (10, "classes")


# --------------------------------------------------------------------------------------------
# errors and grids


def test_errors_name_the_file_and_the_entry(tmp_path):
    with pytest.raises(PosaError, match=r"nowhere\.glb: scene file not found"):
        load_scene(tmp_path / "nowhere.glb")
    (tmp_path / "scene.fbx").write_text("x")
    with pytest.raises(PosaError, match=r"scene\.fbx: unsupported scene format"):
        load_scene(tmp_path / "scene.fbx")
    empty = tmp_path / "empty.obj"
    empty.write_text("v 0 0 0\nv 1 0 0\n")
    with pytest.raises(PosaError, match=r"empty\.obj: the scene has no triangle meshes"):
        load_scene(empty)
    empty_gltf = tmp_path / "empty.gltf"
    empty_gltf.write_text(json.dumps({"asset": {"version": "2.0"}, "scene": 0,
                                      "scenes": [{"nodes": [0]}], "nodes": [{"name": "Empty"}]}))
    with pytest.raises(PosaError, match=r"empty\.gltf: the scene has no triangle meshes"):
        load_scene(empty_gltf)
    path = tmp_path / "scene.obj"
    path.write_text(_OBJ)
    with pytest.raises(PosaError, match=r"classes: entry 'Floor': unknown class 'flor'"):
        load_scene(path, classes={"Floor": "flor"})
    bad_json = tmp_path / "classes.json"
    bad_json.write_text(json.dumps({"Chair*": 99}))
    with pytest.raises(PosaError, match=r"classes\.json: entry 'Chair\*'.*outside 0\.\.41"):
        load_scene(path, classes=bad_json)
    with pytest.raises(PosaError, match=r"missing\.json: classes file not found"):
        load_scene(path, classes=tmp_path / "missing.json")
    bad_json.write_text("{not json")
    with pytest.raises(PosaError, match=r"classes\.json: classes file is not valid JSON"):
        load_scene(path, classes=bad_json)
    with pytest.raises(PosaError, match="up"):
        load_scene(path, up="x")
    gltf = _two_primitive_gltf(tmp_path / "odd.gltf", {"class": "spaceship"})
    with pytest.raises(PosaError, match=r"odd\.gltf: object 'Sofa': node extras\['class'\]"):
        load_scene(gltf)
    garbage = tmp_path / "garbage.glb"
    garbage.write_bytes(b"glTF not really")
    with pytest.raises(PosaError, match=r"garbage\.glb: GLB header: expected at least 20 bytes"):
        load_scene(garbage)


def test_scene_grid_from_file(tmp_path):
    path = tmp_path / "scene.obj"
    path.write_text(_OBJ)
    grid, scene = scene_grid_from_file(path, resolution=0.1, classes={"Chair*": "stool"})
    assert grid.classes_present() == {2, 19}
    assert [o.name for o in scene.objects] == ["Chair.001", "Floor"]
    below_floor = grid.lookup(np.array([[-1.5, -0.05, 1.5]]))[0]
    above_floor = grid.lookup(np.array([[-1.5, 0.3, 1.5]]))[0]
    assert below_floor < 0 < above_floor
    assert grid.lookup(np.array([[0.1, 0.1, 0.1]]))[0] < 0  # inside the closed tetrahedron


# --------------------------------------------------------------------------------------------
# objects as Blender lists them; OBJ and PLY as Blender writes them


def test_gltf_node_tree_nested_meshes_and_grouping_nodes(tmp_path):
    """A bed node with a mesh and pillow children, a mesh-less group of chairs, a multi-material
    sofa: every mesh node is its own object under its own name; nothing is swallowed."""
    scene = trimesh.Scene()
    box = trimesh.creation.box(extents=(1.0, 0.5, 2.0))
    scene.add_geometry(box, node_name="Bed", geom_name="bed")
    for x in (-0.3, 0.3):
        scene.add_geometry(trimesh.creation.box(extents=(0.4, 0.1, 0.3)),
                           node_name=f"Pillow_{x}", geom_name=f"pillow{x}", parent_node_name="Bed",
                           transform=trimesh.transformations.translation_matrix([x, 0.3, 0.8]))
    scene.graph.update(frame_to="Dining", frame_from=scene.graph.base_frame,
                       matrix=trimesh.transformations.translation_matrix([3.0, 0.0, 0.0]))
    for k in range(2):
        scene.add_geometry(trimesh.creation.box(extents=(0.4, 0.9, 0.4)), node_name=f"Chair.{k}",
                           geom_name=f"chair{k}", parent_node_name="Dining",
                           transform=trimesh.transformations.translation_matrix([k, 0.45, 0]))
    path = tmp_path / "room.glb"
    path.write_bytes(scene.export(file_type="glb"))
    objs = _by_name(load_scene(path))
    assert set(objs) == {"Bed", "Pillow_-0.3", "Pillow_0.3", "Chair.0", "Chair.1"}
    assert len(objs["Bed"].faces) == 12 and objs["Bed"].class_id == CLASS_ID["bed"]
    np.testing.assert_allclose(objs["Pillow_0.3"].bounds(), [[0.1, 0.25, 0.65], [0.5, 0.35, 0.95]])
    np.testing.assert_allclose(objs["Chair.1"].bounds()[0], [3.8, 0.0, -0.2], atol=1e-6)


_BLENDER_OBJ = """# Blender 4.5.4 LTS
v 0 0 0
v 1 0 0
v 0 1 0
v 0 0 1
v 1 1 0
f 1 2 3
o Chair
f 1 2 4
o Chair
f 1 3 4
f 2 3 4
o Empty
o Table
f -4 -3 -1 -2
"""


def test_obj_objects_as_blender_names_them(tmp_path):
    """Faces before the first o: an object named after the file; two 'o Chair': Chair and
    Chair.001 (trimesh merged them); an o without faces: no object; a quad: two triangles."""
    path = tmp_path / "scene.obj"
    path.write_text(_BLENDER_OBJ)
    got = {o.name: len(o.faces) for o in load_scene(path, guess=False).objects}
    assert got == {"scene": 1, "Chair": 1, "Chair.001": 2, "Table": 2}
    grouped = tmp_path / "scene_groups.obj"
    grouped.write_text(_BLENDER_OBJ.replace("o ", "g "))
    got["scene_groups"] = got.pop("scene")
    assert {o.name: len(o.faces) for o in load_scene(grouped, guess=False).objects} == got
    tabbed = tmp_path / "tabbed.obj"
    tabbed.write_text("o\tTab Chair\nv\t0 0 0\nv 1 0 0\nv 0 1 0\nf\t1/1/1 2//2 -1\n")
    assert [(o.name, len(o.faces)) for o in load_scene(tabbed).objects] == [("Tab Chair", 1)]


def _ply_bytes(vertices, polygons, fmt="binary_little_endian", face_class=None,
               vertex_class=None) -> bytes:
    """A PLY file with polygons of any size (Blender writes quads and n-gons as they are)."""
    order = "<" if fmt != "binary_big_endian" else ">"
    head = ["ply", f"format {fmt} 1.0", f"element vertex {len(vertices)}",
            "property float x", "property float y", "property float z"]
    if vertex_class is not None:
        head.append("property float class_id")  # as Blender writes an int attribute
    head += [f"element face {len(polygons)}", "property list uchar uint vertex_indices"]
    if face_class is not None:
        head.append("property ushort label")
    head.append("end_header")
    text = ("\n".join(head) + "\n").encode()
    rows = []
    for i, v in enumerate(vertices):
        extra = [] if vertex_class is None else [float(vertex_class[i])]
        rows.append((list(map(float, v)) + extra, "f" * (3 + len(extra))))
    for k, p in enumerate(polygons):
        extra = [] if face_class is None else [int(face_class[k])]
        rows.append(([len(p), *p, *extra], "B" + "I" * len(p) + "H" * len(extra)))
    if fmt == "ascii":
        return text + "".join(" ".join(str(x) for x in values) + "\n"
                              for values, _ in rows).encode()
    return text + b"".join(struct.pack(order + codes, *values) for values, codes in rows)


@pytest.mark.parametrize("fmt", ["ascii", "binary_little_endian", "binary_big_endian"])
def test_ply_with_quads_and_ngons_in_every_encoding(tmp_path, fmt):
    """Every binary PLY failed ('Cannot compare structured or void to non-void arrays') and
    trimesh cannot read binary faces of mixed sizes; both load now, with the class property."""
    cube = trimesh.creation.box()
    quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4]]
    hexagon = [1, 5, 7, 3]  # the last side as a quad, then one pentagon of a split edge
    vertices = np.concatenate([cube.vertices, [[0.5, 0.0, 0.5]]])
    polygons = quads + [hexagon]
    path = tmp_path / "cube.ply"
    path.write_bytes(_ply_bytes(vertices, polygons, fmt))
    (obj,) = load_scene(path, up="z").objects
    assert (obj.name, len(obj.faces)) == ("cube", 12)
    path.write_bytes(_ply_bytes(vertices, polygons + [[0, 1, 8]], fmt,
                                face_class=[3, 3, 3, 3, 3, 2, 2]))
    got = {o.name: (len(o.faces), o.class_id) for o in load_scene(path).objects}
    assert got == {"cube.chair": (10, 3), "cube.floor": (3, 2)}
    path.write_bytes(_ply_bytes(vertices, polygons, fmt, vertex_class=[5] * 8 + [0]))
    assert {o.name for o in load_scene(path).objects} == {"cube.table"}


def test_trimesh_binary_ply_loads(tmp_path):
    box = trimesh.creation.box()
    (tmp_path / "box.ply").write_bytes(box.export(file_type="ply", encoding="binary"))
    (obj,) = load_scene(tmp_path / "box.ply").objects
    assert len(obj.faces) == 12 and obj.name == "box"


def test_unlabelled_objects_are_obstacles_listed_never_refused(tmp_path):
    path = tmp_path / "scene.obj"
    path.write_text(_OBJ.replace("Chair.001", "Cube.003").replace("Floor", "Plane"))
    scene = load_scene(path)
    assert scene.unlabelled == ["Cube.003", "Plane"]
    assert "2 unlabelled" in scene.report and "an obstacle without a class" in scene.report
    grid, _ = scene_grid_from_file(path, resolution=0.1)
    assert grid.classes_present() == set() and (grid.sdf < 0).any()
