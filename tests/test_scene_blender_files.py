"""load_scene lists the objects Blender lists: files exported by Blender, real artist furniture.

``tests/fixtures/scenes/blender_objects.json`` is what Blender 4.5 showed after importing each
file into an empty scene (``tools/make_scene_fixtures.py``): mesh object names, triangle counts,
bounds (in the file's y-up frame) and custom properties. The tests here compare
:func:`posa_model.scene.load_scene` with it; the ``bpy`` tests at the end do the same against a
live Blender for files made here (a room composed with trimesh, the example rooms) and skip
cleanly without the ``bpy`` module.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from posa_model.classes import CLASS_ID
from posa_model.scene import load_scene
from posa_model.scene.labels import parse_class

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "scenes"
RECORD = json.loads((FIXTURES / "blender_objects.json").read_text())
FURNITURE = ROOT / "examples" / "furniture"


def _up(path: str) -> str:
    return "z" if path.endswith(".ply") else "y"  # Blender's PLY exporter writes z-up


def _ours(path: Path, **kwargs) -> dict[str, tuple[int, np.ndarray]]:
    scene = load_scene(path, up=_up(str(path)), guess=False, geometry=False, **kwargs)
    return {o.name: (len(o.faces), o.bounds()) for o in scene.objects}


def _assert_same_objects(ours: dict, blender: dict, path) -> None:
    assert sorted(ours) == sorted(blender), path
    for name, (triangles, bounds) in blender.items():
        assert ours[name][0] == triangles, (path, name)
        np.testing.assert_allclose(ours[name][1], bounds, atol=2e-4, err_msg=f"{path} {name}")


@pytest.mark.parametrize("key", sorted(k for k in RECORD["files"]
                                       if not k.endswith("_classes.ply")))
def test_objects_match_blenders_import(key):
    path = ROOT / key
    blender = {o["name"]: (o["triangles"], np.array(o["bounds"])) for o in RECORD["files"][key]}
    _assert_same_objects(_ours(path), blender, key)


def test_blender_custom_properties_are_labels():
    """obj["posa_class"] (node extras) and mesh["posa_class"] (mesh extras) as Blender exports
    them with "Include > Custom Properties"; OBJ and PLY carry no labels."""
    record = {o["name"]: o for o in RECORD["files"]["tests/fixtures/scenes/blender_room.glb"]}
    assert record["Thing"]["properties"] == {"posa_class": "table"}
    assert record["Gizmo"]["mesh_properties"] == {"posa_class": "shelving"}
    for name in ("blender_room.glb", "blender_room.gltf"):
        objs = {o.name: o for o in load_scene(FIXTURES / name, guess=False).objects}
        assert (objs["Thing"].class_id, objs["Thing"].class_source) == (5, "label")
        assert (objs["Gizmo"].class_id, objs["Gizmo"].class_source) == (31, "label")
        assert objs["Sofa"].class_id == 0  # guess=False: a name is no label
    guessed = {o.name: o.class_source for o in load_scene(FIXTURES / "blender_room.obj").objects}
    assert guessed["Sofa"] == "guess:sofa" and guessed["Pillow.001"] == "guess:pillow"


def test_blender_room_mesh_is_split_by_shape_and_the_rest_keeps_its_names():
    scene = load_scene(FIXTURES / "blender_room.glb")
    sources = {o.name: (o.class_id, o.class_source) for o in scene.objects}
    assert sources["Room.floor"] == (CLASS_ID["floor"], "geometry:floor")
    assert sources["Room.wall"] == (CLASS_ID["wall"], "geometry:wall")
    assert sources["Room.ceiling"] == (CLASS_ID["ceiling"], "geometry:ceiling")
    assert "Room" not in sources  # every face of the room is floor, wall or ceiling
    assert {"Bed", "Pillow", "Pillow.001", "Chair", "Chair.001", "Mirrored"} <= set(sources)


def test_blender_ply_class_attribute_splits_the_merged_mesh():
    """Blender's PLY exporter merges all objects into one mesh and writes an integer point
    attribute as a float property; the classes come back per class, and the class-0 part (the
    room) is split by shape like any unlabelled room mesh."""
    scene = load_scene(FIXTURES / "blender_room_classes.ply", up="z")
    parts = {o.name.removeprefix("blender_room_classes."): (len(o.faces), o.class_source)
             for o in scene.objects}
    assert parts == {"sofa": (12, "label"), "bed": (12, "label"), "cushion": (24, "label"),
                     "chair": (24, "label"), "table": (12, "label"), "shelving": (12, "label"),
                     "objects": (12, "label"), "void.floor": (3, "geometry:floor"),
                     "void.wall": (14, "geometry:wall"), "void.ceiling": (4, "geometry:ceiling")}
    # the room's hexagonal floor, fanned, has one triangle without area: dropped
    assert sum(n for n, _ in parts.values()) + 1 == RECORD["files"][
        "tests/fixtures/scenes/blender_room_classes.ply"][0]["triangles"]


def test_names_follow_blender_rules():
    """Unnamed nodes take their mesh's name (or Mesh_<i>), repeated names get .001 in the order
    Blender makes objects, names are cut to 63 bytes, a mirrored node keeps its faces out."""
    scene = load_scene(FIXTURES / "names.gltf", guess=False)
    names = sorted(o.name for o in scene.objects)
    assert names == sorted(o["name"] for o in RECORD["files"]["tests/fixtures/scenes/names.gltf"])
    assert {"Chair", "Chair.001", "Chair.002", "Chair.003", "Cushion", "Cushion.001",
            "Mesh_2", "Sofa"} <= set(names)
    sofa = next(o for o in scene.objects if o.name == "Sofa")
    assert len(sofa.faces) == 8 and (sofa.class_id, sofa.class_source) == (10, "label")
    mirrored = next(o for o in scene.objects if o.name == "Mesh_2")
    tri = mirrored.vertices[mirrored.faces]
    volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
    assert volume > 0  # faces still face out after the mirroring scale


def compose_room(out: Path) -> Path:
    """A room composed with trimesh from the artist furniture, each piece merged into one mesh
    (trimesh's to_mesh keeps the pieces' metadata, which trimesh writes into the mesh extras:
    the stale ``from_gltf_primitive`` that made the old reader swallow four pieces)."""
    pieces = [("polyhaven_wooden_table_02.glb", (0, 0, 0), 0, "Table"),
              ("kenney_chair.glb", (-0.3, 0, 0.6), 0, "Chair.001"),
              ("kenney_chair.glb", (0.3, 0, -0.6), 180, "Chair.002"),
              ("kenney_bed_single.glb", (3, 0, 0), 0, "Bed"),
              ("kenney_lounge_armchair.glb", (0, 0, 3), 180, "Armchair"),
              ("kenney_bar_stool.glb", (-2.5, 0, 2.5), 0, "Stool.001"),
              ("quaternius_office_chair.glb", (2.5, 0, 3), 180, "OfficeChair")]
    scene = trimesh.Scene()
    floor = trimesh.creation.box([9, 0.05, 9])
    floor.apply_translation([0.25, -0.025, 0.5])
    scene.add_geometry(floor, node_name="Floor", geom_name="Floor")
    for file, xyz, yaw, name in pieces:
        mesh = trimesh.load(FURNITURE / file, force="scene", process=False).to_mesh()
        move = trimesh.transformations.rotation_matrix(np.radians(yaw), [0, 1, 0])
        move[:3, 3] = xyz
        mesh.apply_transform(move)
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    out.write_bytes(scene.export(file_type="glb"))
    return out


@pytest.mark.slow
def test_composed_room_lists_every_piece_under_its_node(tmp_path):
    scene = load_scene(compose_room(tmp_path / "room.glb"))
    triangles = {o.name: len(o.faces) for o in scene.objects}
    assert triangles == {"Armchair": 128, "Bed": 214, "Chair.001": 168, "Chair.002": 168,
                         "Floor": 12, "OfficeChair": 2116, "Stool.001": 176, "Table": 196}
    assert scene.unlabelled == []
    assert "world" not in scene.report


# ------------------------------------------------------------------------------ live Blender
def _blender_objects(path: Path) -> dict[str, tuple[int, np.ndarray]]:
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if path.suffix in (".glb", ".gltf"):
        bpy.ops.import_scene.gltf(filepath=str(path))
    elif path.suffix == ".obj":
        bpy.ops.wm.obj_import(filepath=str(path))
    else:
        bpy.ops.wm.ply_import(filepath=str(path))
    out = {}
    for obj in bpy.context.scene.objects:
        if obj.type != "MESH":
            continue
        mesh = obj.data
        mesh.calc_loop_triangles()
        if not len(mesh.loop_triangles):
            continue
        used = sorted({i for t in mesh.loop_triangles for i in t.vertices})
        world = np.array([tuple(obj.matrix_world @ mesh.vertices[i].co) for i in used])
        y_up = np.stack([world[:, 0], world[:, 2], -world[:, 1]], axis=1)
        out[obj.name] = (len(mesh.loop_triangles), np.stack([y_up.min(0), y_up.max(0)]))
    return out


def _live_cases() -> list[Path]:
    files = [FIXTURES / n for n in ("blender_room.glb", "blender_room.gltf", "blender_room.obj",
                                    "blender_room_binary.ply", "names.gltf",
                                    "kenney_bed_double.glb")]
    return files + sorted((ROOT / "examples" / "rooms").glob("*.glb"))


@pytest.mark.parametrize("path", _live_cases(), ids=lambda p: p.name)
def test_live_blender_import_lists_the_same_objects(path):
    blender = _blender_objects(path)
    _assert_same_objects(_ours(path), blender, path)


def test_live_blender_import_of_a_composed_room(tmp_path):
    pytest.importorskip("bpy")
    path = compose_room(tmp_path / "room.glb")
    _assert_same_objects(_ours(path), _blender_objects(path), path)


def test_live_blender_keeps_extras_as_custom_properties():
    bpy = pytest.importorskip("bpy")
    _blender_objects(FIXTURES / "blender_room.glb")
    thing = bpy.data.objects["Thing"]
    assert parse_class(thing["posa_class"]) == CLASS_ID["table"]
