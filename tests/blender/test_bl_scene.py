"""Scene population in bpy: Guess Classes, Populate Scene, Refine Placement, the batch script.

The test room is built from boxes in the SMPL-X world (+y up) with the synthetic furniture
catalogue (chairs with seats and backs, a sofa, a bed, a table), then turned into Blender objects
with :func:`posa_model.frames.smplx_to_blender`; its exact signed distance (the boxes') checks the
placements independently of the distance grid placement works with.
"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from bl_helpers import ROOT, bpy, child_env, select_only

from posa_blender import arrays, contacts, ops_scene, ui

torch = pytest.importorskip("torch")
pytest.importorskip("igl")
from posa_model.frames import blender_to_smplx, smplx_to_blender  # noqa: E402
from posa_model.synth.export import BOX_FACES  # noqa: E402
from posa_model.synth.furniture import build_furniture  # noqa: E402
from posa_model.synth.primitives import Boxes, box_signed_distance  # noqa: E402

SCRIPT = ROOT / "scripts" / "populate_scene.py"
WIDTH, DEPTH, HEIGHT, THICK = 5.0, 4.0, 2.5, 0.1


# --------------------------------------------------------------------------------------------
# the test room


def room_pieces(with_floor: bool = True, roles: dict | None = None) -> dict[str, Boxes]:
    """Object name -> its boxes (SMPL-X world: floor top y = 0, inside x in [0, 5], z in [0, 4]).

    ``roles``, when given, receives each furniture object's part roles ("seat", "back", ...).
    """
    rng = np.random.default_rng(0)
    pieces: dict[str, Boxes] = {}

    def slab(name, lo, hi):
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        pieces[name] = Boxes([(lo + hi) / 2], [(hi - lo) / 2], [0.0], [0], [0])

    def furniture(name, kind, x, z, yaw):
        spec = build_furniture(kind, rng)
        c, s = np.cos(yaw), np.sin(yaw)
        rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        centres = np.array([p.center for p in spec.parts]) @ rotation.T + [x, 0.0, z]
        pieces[name] = Boxes(centres, np.array([p.size for p in spec.parts]) / 2,
                             np.full(len(centres), yaw), np.zeros(len(centres), int),
                             np.zeros(len(centres), int))
        if roles is not None:
            roles[name] = [p.role for p in spec.parts]
        return spec

    if with_floor:
        slab("Floor", (-THICK, -THICK, -THICK), (WIDTH + THICK, 0.0, DEPTH + THICK))
    slab("Wall", (-THICK, 0, -THICK), (WIDTH + THICK, HEIGHT, 0.0))
    slab("Wall.001", (-THICK, 0, DEPTH), (WIDTH + THICK, HEIGHT, DEPTH + THICK))
    slab("Wall.002", (-THICK, 0, 0), (0.0, HEIGHT, DEPTH))
    slab("Wall.003", (WIDTH, 0, 0), (WIDTH + THICK, HEIGHT, DEPTH))
    spec = furniture("Sofa", "sofa", 3.3, 0.0, 0.0)
    pieces["Sofa"] = _shifted(pieces["Sofa"], (0, 0, 0.02 + spec.half_footprint[1]))
    spec = furniture("Bed", "bed", 0.0, 3.0, np.pi / 2)
    pieces["Bed"] = _shifted(pieces["Bed"], (0.02 + spec.half_footprint[1], 0, 0))
    furniture("Table", "table", 3.4, 2.6, 0.0)
    furniture("Chair", "chair", 3.0, 3.35, np.pi)
    furniture("Chair.001", "chair", 3.8, 1.85, 0.0)
    return pieces


def _shifted(boxes: Boxes, offset) -> Boxes:
    return Boxes(boxes.centers + np.asarray(offset, float), boxes.half_sizes, boxes.yaws,
                 boxes.class_ids, boxes.object_ids)


def build_room(pieces: dict[str, Boxes]) -> dict[str, bpy.types.Object]:
    """One Blender mesh object per piece (its boxes' triangles in Blender axes), unlabelled."""
    made = {}
    for name, boxes in pieces.items():
        corners = boxes.corners().reshape(-1, 3)
        faces = (BOX_FACES[None] + 8 * np.arange(len(boxes))[:, None, None]).reshape(-1, 3)
        obj = bpy.data.objects.new(name, arrays.new_mesh(name, smplx_to_blender(corners), faces))
        bpy.context.scene.collection.objects.link(obj)
        assert obj.name == name
        made[name] = obj
    return made


def room_sdf(pieces: dict[str, Boxes], points_smplx: np.ndarray) -> np.ndarray:
    """Exact signed distance (N,) of SMPL-X world points to the room's boxes."""
    every = Boxes.concatenate(list(pieces.values()))
    return box_signed_distance(points_smplx, every).min(axis=1)


@pytest.fixture
def room():
    """The default file without its cube, and the test room with guessed classes."""
    bpy.data.objects.remove(bpy.data.objects["Cube"])
    pieces = room_pieces()
    objects = build_room(pieces)
    bpy.context.view_layer.update()  # drop the removed cube's base
    select_only(None)
    assert bpy.ops.posa.guess_classes() == {"FINISHED"}
    return SimpleNamespace(pieces=pieces, objects=objects)


def evaluated_smplx(obj) -> np.ndarray:
    world, _, _ = arrays.evaluated_world_vertices(obj, bpy.context.evaluated_depsgraph_get())
    return blender_to_smplx(world.astype(np.float64))


def bodies() -> list:
    return ops_scene.scene_bodies(bpy.context.scene)


# --------------------------------------------------------------------------------------------
# Guess Classes


def test_guess_classes_from_names_reports_what_it_could_not_guess(capfd):
    for name in ("Chair.001", "Couch", "Floor", "Thing"):
        obj = bpy.data.objects.new(name, bpy.data.meshes.new(name))
        bpy.context.scene.collection.objects.link(obj)
    select_only(None)
    assert bpy.ops.posa.guess_classes() == {"FINISHED"}
    got = {o.name: o.posa.semantic_class for o in bpy.data.objects if o.type == "MESH"}
    assert got["Chair.001"] == "chair" and got["Couch"] == "sofa" and got["Floor"] == "floor"
    assert got["Thing"] == "void" and got["Cube"] == "void"
    assert bpy.data.objects["Couch"].posa.class_source == "guess:couch"
    out = capfd.readouterr()
    text = out.out + out.err
    assert "Couch -> sofa" in text and "Could not guess" in text and "Thing" in text


def test_guess_classes_works_on_the_selection_and_keeps_classes_set_by_hand():
    for name in ("Sofa", "Table.002", "Bed"):
        obj = bpy.data.objects.new(name, bpy.data.meshes.new(name))
        bpy.context.scene.collection.objects.link(obj)
    bpy.data.objects["Bed"].posa.semantic_class = "sofa"  # by hand (the update callback)
    assert bpy.data.objects["Bed"].posa.class_source == "label"
    select_only(bpy.data.objects["Sofa"])
    bpy.data.objects["Bed"].select_set(True)
    bpy.ops.posa.guess_classes()
    assert bpy.data.objects["Sofa"].posa.semantic_class == "sofa"
    assert bpy.data.objects["Table.002"].posa.semantic_class == "void"  # not selected
    assert bpy.data.objects["Bed"].posa.semantic_class == "sofa"  # kept
    bpy.ops.posa.guess_classes(keep_by_hand=False)
    assert bpy.data.objects["Bed"].posa.semantic_class == "bed"


# --------------------------------------------------------------------------------------------
# Populate Scene


@pytest.mark.slow
def test_populate_places_bodies_that_touch_and_do_not_collide(room, monkeypatch, capfd):
    """5 bodies (mixed poses) in the room: at least 4 placed, touching, not in the furniture or
    each other, and each Blender body exactly where posa_model placed it; a body that finds no
    place is reported with the reason and removed. (Whether a given sampled map fits this
    room's one sofa, chair and bed depends on the checkpoint; placement rates are measured in
    bench/RESULTS.md.)"""
    import posa_model.place as place

    results = []
    real = place.place_bodies

    def recording(*args, **kwargs):
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(place, "place_bodies", recording)
    assert bpy.ops.posa.populate_scene(n_bodies=5, seed=0, device="CPU") == {"FINISHED"}
    placed = bodies()
    unplaced = [p for p in results[0].bodies if not p.placed]
    assert len(placed) == 5 - len(unplaced) >= 4
    assert {obj.name for obj in placed} == {p.name for p in results[0].bodies if p.placed}
    out = capfd.readouterr()
    for p in unplaced:
        assert f"{p.name} (" in out.out + out.err and "not placed" in out.out + out.err
        assert p.reason and p.name not in bpy.data.objects

    by_name = {p.name: p for p in results[0].bodies}
    vertices = []
    for obj in placed:
        record = by_name[obj.name]
        world, _, _ = arrays.evaluated_world_vertices(obj, bpy.context.evaluated_depsgraph_get())
        np.testing.assert_allclose(world, smplx_to_blender(np.asarray(record.vertices)),
                                   atol=1e-4)
        smplx = evaluated_smplx(obj)
        vertices.append(smplx)
        sdf = room_sdf(room.pieces, smplx)
        assert np.mean(sdf > 0) >= 0.98, (obj.name, np.mean(sdf > 0))
        in_contact = np.asarray(record.contact) > 0.5
        assert np.abs(sdf[in_contact]).min() <= 0.02, obj.name  # touch
        # the contact map the operator wrote is the chosen one
        np.testing.assert_array_equal(arrays.point_attribute(obj.data, "posa_contact_0"),
                                      np.asarray(record.contact, dtype=np.float32))
        assert obj.data.color_attributes.active_color.name == "posa_contact"
        assert obj["posa_placement"]["pose"] in ("sit", "stand", "lie_back", "sit_low",
                                                 "lean_back")
    for i in range(len(vertices)):
        for j in range(len(vertices)):
            if i != j:
                assert penetration(vertices[i], placed[j]) <= 0.01, (placed[i].name,
                                                                       placed[j].name)


def penetration(points_smplx: np.ndarray, other) -> float:
    """How deep (m) any of ``points`` lies inside the body ``other`` (0 if none does)."""
    import igl

    vertices = evaluated_smplx(other)
    _, loops = arrays.polygon_vertices(other.data)
    faces = loops.reshape(-1, 3).astype(np.int64)
    lo, hi = vertices.min(0) - 0.01, vertices.max(0) + 0.01
    near = points_smplx[np.all((points_smplx > lo) & (points_smplx < hi), axis=1)]
    if not len(near):
        return 0.0
    inside = igl.fast_winding_number(vertices, faces, near) > 0.5
    if not inside.any():
        return 0.0
    distance, _, _ = igl.point_mesh_squared_distance(near[inside], vertices, faces)
    return float(np.sqrt(distance).max())


def test_populate_refuses_a_scene_without_labelled_objects(unchanged):
    unchanged.take()
    with pytest.raises(RuntimeError, match="Nothing to interact with.*Guess Classes"):
        bpy.ops.posa.populate_scene(n_bodies=2, device="CPU")
    unchanged.check()


def test_populate_refuses_a_scene_without_a_floor(unchanged):
    build_room(room_pieces(with_floor=False))
    select_only(None)
    bpy.ops.posa.guess_classes()
    unchanged.take()
    with pytest.raises(RuntimeError, match="(?i)floor"):
        bpy.ops.posa.populate_scene(n_bodies=2, device="CPU")
    unchanged.check()
    assert "POSA Contacts" not in bpy.data.materials


def test_populate_refuses_when_no_body_finds_a_place(unchanged):
    """Lying bodies in a room of a floor and a small table: their maps want a bed or sofa."""
    pieces = room_pieces()
    build_room({name: pieces[name] for name in ("Floor", "Table")})
    select_only(None)
    bpy.ops.posa.guess_classes()
    select_only(bpy.data.objects["Cube"])
    unchanged.take()
    with pytest.raises(RuntimeError, match="None of the 2 bodies found a place"):
        bpy.ops.posa.populate_scene(n_bodies=2, pose_mix="LIE", device="CPU")
    unchanged.check()
    assert bpy.context.active_object == bpy.data.objects["Cube"]
    assert "POSA Contacts" not in bpy.data.materials


def test_existing_bodies_are_obstacles_and_populating_can_be_undone(room):
    bpy.ops.posa.add_body(model="STANDIN")
    first = bpy.context.active_object
    first.parent.location = (1.2, -1.0, 0.0)  # standing on the floor, in the free space
    before = evaluated_smplx(first)
    bpy.ops.ed.undo_push(message="before populating")
    count = len(bpy.data.objects)
    assert bpy.ops.posa.populate_scene("EXEC_DEFAULT", True, n_bodies=1, pose_mix="STAND",
                                       seed=0, device="CPU") == {"FINISHED"}
    assert len(bodies()) == 2
    np.testing.assert_allclose(evaluated_smplx(first), before, atol=1e-6)
    new = next(o for o in bodies() if o != first)
    assert penetration(evaluated_smplx(new), first) <= 0.01
    assert penetration(before, new) <= 0.01
    bpy.ops.ed.undo()
    assert len(bodies()) == 1 and len(bpy.data.objects) == count
    bpy.ops.ed.redo()
    assert len(bodies()) == 2


# --------------------------------------------------------------------------------------------
# Refine Placement


@pytest.mark.slow
def test_refine_moves_a_dropped_body_onto_the_nearby_chair_within_the_radius(room):
    roles: dict = {}
    room_pieces(roles=roles)
    chair = room.pieces["Chair.001"]
    seat = chair.centers[roles["Chair.001"].index("seat")]
    bpy.ops.posa.add_body(model="STANDIN")
    mesh = bpy.context.active_object
    bpy.ops.posa.apply_preset(preset="sit")
    # dropped 0.4 m beside and 0.3 m above the seat, turned 40 degrees away from it
    vertices = evaluated_smplx(mesh)
    centre = vertices.mean(axis=0)
    dropped = smplx_to_blender(seat + np.array([0.4, 0.3, -0.2]) - centre)
    mesh.parent.location = tuple(np.array(mesh.parent.location) + dropped)
    mesh.parent.rotation_euler.z = np.radians(40)
    bpy.context.view_layer.update()
    start = evaluated_smplx(mesh).mean(axis=0)

    assert bpy.ops.posa.refine_placement(radius=1.0, device="CPU") == {"FINISHED"}
    after = evaluated_smplx(mesh)
    moved = (after.mean(axis=0) - start)[[0, 2]]  # the region is a vertical cylinder
    assert 0.05 < np.linalg.norm(moved) <= 1.0
    sdf = room_sdf(room.pieces, after)
    assert np.mean(sdf > 0) >= 0.98
    # sitting on the chair: the thighs rest on its seat (the feet touch the floor)
    seat_box = chair.subset(np.array([roles["Chair.001"].index("seat")]))
    on_seat = np.abs(box_signed_distance(after, seat_box)[:, 0]) <= 0.02
    assert on_seat.sum() >= 20, on_seat.sum()
    assert after[on_seat, 1].min() >= seat[1]  # on top of it, not under it
    assert "posa_contact_0" in arrays.attribute_names(mesh.data)
    assert mesh["posa_placement"]["touched_classes"]["chair"] > 0


def test_refine_refuses_without_a_body(room, unchanged):
    select_only(room.objects["Sofa"])
    unchanged.take()
    with pytest.raises(RuntimeError, match="'Sofa' is not a POSA body"):
        bpy.ops.posa.refine_placement(device="CPU")
    select_only(None)
    with pytest.raises(RuntimeError, match="Nothing is selected"):
        bpy.ops.posa.refine_placement(device="CPU")
    unchanged.check()


def test_refine_refuses_without_labelled_objects(body, unchanged):
    unchanged.take()
    with pytest.raises(RuntimeError, match="Nothing to interact with"):
        bpy.ops.posa.refine_placement(device="CPU")
    unchanged.check()


# --------------------------------------------------------------------------------------------
# panel


@pytest.mark.parametrize("selection", ["nothing", "Sofa", "body"])
def test_the_scene_panel_draws_the_class_and_the_buttons(room, selection):
    from test_bl_ui import draw

    if selection == "body":
        bpy.ops.posa.add_body(model="STANDIN")
    else:
        select_only(room.objects.get(selection))
    text = draw(ui.POSA_PT_scene)
    assert "[posa.guess_classes]" in text and "[posa.populate_scene]" in text
    assert "[posa.refine_placement]" in text
    assert f"{len(room.objects)} of {len(room.objects)} scene meshes have a POSA class" in text
    if selection == "Sofa":
        assert "Class guessed from the name ('sofa')" in text


# --------------------------------------------------------------------------------------------
# the batch script


def run_script(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--", *args], capture_output=True,
                          text=True, timeout=600, env=child_env(), cwd=cwd or ROOT)


@pytest.mark.slow
def test_the_script_populates_a_saved_room_and_renders_it(tmp_path):
    build_room(room_pieces())
    bpy.data.objects.remove(bpy.data.objects["Cube"])
    bpy.context.view_layer.update()
    scene_file, out, picture = tmp_path / "room.blend", tmp_path / "out.blend", tmp_path / "p.png"
    bpy.ops.wm.save_as_mainfile(filepath=str(scene_file))
    result = run_script("--scene", str(scene_file), "--guess-classes", "--bodies", "1",
                        "--poses", "sitting", "--seed", "0", "--device", "cpu", "--out", str(out),
                        "--render", str(picture), "--resolution", "96x54",
                        "--render-samples", "1")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"saved {out} (1 of 1 bodies placed" in result.stdout
    assert f"rendered {picture}" in result.stdout
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    bpy.ops.wm.open_mainfile(filepath=str(out))
    placed = bodies()
    assert len(placed) == 1 and placed[0]["posa_placement"]["pose"] == "sit"
    assert contacts.stored_samples(placed[0].data) == 1
    assert placed[0]["posa_placement"]["non_collision"] >= 0.98
    assert bpy.data.objects["Sofa"].posa.semantic_class == "sofa"
    assert "POSA Camera" not in bpy.data.objects  # the render set-up is not saved


def test_script_help_and_bad_arguments():
    result = run_script("--help")
    assert result.returncode == 0
    for option in ("--scene", "--bodies", "--seed", "--out", "--render", "--guess-classes"):
        assert option in result.stdout
    result = run_script("--bodies", "0", "--out", "x.blend")
    assert result.returncode == 2 and "--bodies must be at least 1" in result.stderr


def test_the_script_fails_with_a_message_on_an_unlabelled_scene(tmp_path):
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "cube.blend"))
    result = run_script("--scene", str(tmp_path / "cube.blend"), "--out", "x.blend",
                        cwd=tmp_path)
    assert result.returncode == 1 and "Nothing to interact with" in result.stderr
    assert not (tmp_path / "x.blend").exists()
