"""Rooms whose floor, walls and ceiling are one unlabelled mesh (posa_model.scene.rooms): the
faces get classes from their shape, and the grid of such a room is free inside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from posa_model.classes import CLASS_ID
from posa_model.scene import MeshObject, build_scene_grid, load_scene, split_room_surfaces
from posa_model.scene.rooms import surface_classes

ROOT = Path(__file__).resolve().parents[1]
FURNITURE = ROOT / "examples" / "furniture"
FLOOR, WALL, CEILING = CLASS_ID["floor"], CLASS_ID["wall"], CLASS_ID["ceiling"]


def _room_box(size=(5.0, 2.6, 4.0), inward=True) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=size)
    box.apply_translation([0, size[1] / 2, 0])
    if inward:
        box.invert()
    return box


def test_inside_out_and_outward_boxes_split_into_floor_walls_ceiling():
    for inward in (True, False):
        room = _room_box(inward=inward)
        kind = surface_classes(room.vertices, room.faces, 0.0, 2.6)
        up = room.face_normals[:, 1]
        below = room.triangles_center[:, 1] < 0.1
        assert (kind[below] == FLOOR).all() and (kind[np.abs(up) < 0.1] == WALL).all()
        assert (kind[~below & (np.abs(up) > 0.9)] == CEILING).all()


def test_furniture_slabs_and_small_rooms_are_not_split():
    """A chair seat is level but high and small; a table spans nothing; a lone floor slab has
    no walls; none of them is split (the chair and table are unlabelled here on purpose)."""
    chair = trimesh.creation.box(extents=(0.5, 0.05, 0.5))
    chair.apply_translation([0, 0.45, 0])
    table = trimesh.creation.box(extents=(1.6, 0.75, 0.9))
    table.apply_translation([1.0, 0.375, 0.5])
    slab = trimesh.creation.box(extents=(6.0, 0.1, 5.0))
    slab.apply_translation([0, -0.05, 0])
    lone = [MeshObject("Object_7", chair.vertices, chair.faces)]
    assert split_room_surfaces(lone) == lone
    objects = [MeshObject("Object_1", slab.vertices, slab.faces),
               MeshObject("Object_2", table.vertices, table.faces)]
    assert [o.name for o in split_room_surfaces(objects)] == ["Object_1", "Object_2"]


def test_only_unlabelled_meshes_are_split_and_the_rest_stays_an_obstacle():
    room = _room_box()
    column = trimesh.creation.box(extents=(0.3, 1.0, 0.3))  # a low block in the same mesh
    column.apply_translation([1.0, 0.5, 1.0])
    merged = trimesh.util.concatenate([room, column])
    labelled = MeshObject("Walls", merged.vertices, merged.faces, WALL, "guess:walls")
    assert split_room_surfaces([labelled]) == [labelled]
    parts = split_room_surfaces([MeshObject("Room", merged.vertices, merged.faces)])
    got = {o.name: (len(o.faces), o.class_id, o.class_source, o.part_of) for o in parts}
    assert got["Room.floor"] == (2, FLOOR, "geometry:floor", "Room")
    assert got["Room.wall"] == (8, WALL, "geometry:wall", "Room")
    assert got["Room.ceiling"] == (2, CEILING, "geometry:ceiling", "Room")
    assert got["Room"] == (12, 0, "none", "Room")  # the block: not tall, not big


def _furnished_room(path: Path, inward: bool) -> Path:
    """A 5 x 4 x 2.6 m room as one mesh, a Kenney chair (seat 0.45) and the Poly Haven table
    (top 0.80) inside it, written as a GLB."""
    scene = trimesh.Scene()
    scene.add_geometry(_room_box(inward=inward), node_name="Room", geom_name="Room")
    for file, name, where in (("kenney_chair.glb", "Chair", [-1.2, 0, 0.9]),
                              ("polyhaven_wooden_table_02.glb", "Table", [1.0, 0, -0.8])):
        mesh = trimesh.load(FURNITURE / file, force="scene", process=False).to_mesh()
        mesh.apply_translation(where)
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    path.write_bytes(scene.export(file_type="glb"))
    return path


def _crossing(grid, x: float, z: float, start: float, stop: float) -> float:
    """Height where the grid first reads <= 0 going down from ``start`` at (x, z)."""
    ys = np.arange(start, stop, -0.001)
    values = grid.lookup(np.stack([np.full(len(ys), x), ys, np.full(len(ys), z)], axis=1))
    return float(ys[np.argmax(values <= 0)]) if (values <= 0).any() else float("nan")


@pytest.mark.slow
@pytest.mark.parametrize("inward", [True, False], ids=["normals_in", "normals_out"])
def test_furnished_room_mesh_is_free_inside_with_floor_and_furniture(tmp_path, inward):
    scene = load_scene(_furnished_room(tmp_path / "room.glb", inward))
    classes = {o.name: (o.class_id, o.class_source) for o in scene.objects}
    assert classes["Room.floor"] == (FLOOR, "geometry:floor")
    assert classes["Room.wall"] == (WALL, "geometry:wall")
    assert classes["Room.ceiling"] == (CEILING, "geometry:ceiling")
    assert classes["Chair"][0] == CLASS_ID["chair"] and classes["Table"][0] == CLASS_ID["table"]
    assert "3 classed by shape" in scene.report
    grid = build_scene_grid(scene.objects, resolution=0.05)

    # free space throughout the interior, 10 cm away from the shell and the furniture
    nodes = np.stack(np.meshgrid(*grid.node_coords(), indexing="ij"), axis=-1)
    interior = ((np.abs(nodes[..., 0]) < 2.4) & (nodes[..., 1] > 0.1) & (nodes[..., 1] < 2.5)
                & (np.abs(nodes[..., 2]) < 1.9))
    for name in ("Chair", "Table"):
        lo, hi = next(o for o in scene.objects if o.name == name).bounds()
        interior &= ~((nodes > lo - 0.1) & (nodes < hi + 0.1)).all(axis=-1)
    assert interior.sum() > 200_000 and (grid.sdf[interior] > 0).all()

    # the floor's top at y = 0, the ceiling 2.6 m up, blocking nothing below it
    for x, z in ((0.0, 0.0), (-2.0, -1.5), (2.2, 1.7)):
        assert abs(_crossing(grid, x, z, 1.0, -0.2)) < 0.01
        assert grid.lookup_semantics(np.array([[x, 0.02, z]]))[0] == FLOOR
        below, above = grid.lookup(np.array([[x, 2.5, z], [x, 2.65, z]]))
        assert below == pytest.approx(0.1, abs=1e-3) and above < 0
        assert grid.lookup_semantics(np.array([[x, 2.55, z]]))[0] == CEILING
    assert grid.lookup_semantics(np.array([[2.45, 1.2, 0.0]]))[0] == WALL

    # the furniture inside: the chair's seat at 0.45 m, the table top at 0.80 m, solid
    assert abs(_crossing(grid, -1.2, 0.9, 0.6, 0.3) - 0.45) < 0.01
    assert abs(_crossing(grid, 1.0, -0.8, 1.0, 0.6) - 0.80) < 0.01
    assert grid.lookup(np.array([[1.0, 0.785, -0.8]]))[0] < 0
    assert grid.lookup_semantics(np.array([[1.0, 0.82, -0.8]]))[0] == CLASS_ID["table"]


def test_blender_room_with_a_door_opening_is_free_inside():
    """The room of tests/fixtures/scenes (made and exported by Blender, a door in one wall)."""
    scene = load_scene(ROOT / "tests" / "fixtures" / "scenes" / "blender_room.glb")
    grid = build_scene_grid(scene.objects, resolution=0.1)
    free = grid.lookup(np.array([[0.0, 1.3, 0.0], [-2.0, 2.0, -1.5], [0.0, 1.3, 0.2]]))
    assert (free > 0.3).all()
    outside = grid.lookup(np.array([[0.0, 1.0, 2.1], [0.0, 2.7, 0.0]]))  # behind a wall, above
    assert (outside < 0).all()
    assert abs(_crossing(grid, 0.0, 0.0, 1.0, -0.2)) < 0.01


def test_example_downloaded_room_is_split():
    path = ROOT / "examples" / "rooms" / "living_room_downloaded.glb"
    parts = {o.name: o for o in load_scene(path).objects if o.name.startswith("Room")}
    assert set(parts) == {"Room.floor", "Room.wall", "Room.ceiling"}
    np.testing.assert_allclose(parts["Room.floor"].bounds(), [[0, 0, 0], [5, 0, 4.5]], atol=1e-4)
    np.testing.assert_allclose(parts["Room.ceiling"].bounds()[:, 1], [2.5, 2.5], atol=1e-4)
