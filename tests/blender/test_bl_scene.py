"""The scene in bpy: Guess Classes, labels read from files, unlabelled objects as obstacles,
Refine Placement, the Scene panel and the batch script (populating: test_bl_populate)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from bl_helpers import ROOT, bpy, child_env, select_only

from posa_blender import arrays, contacts, deps, scene, ui
from posa_blender import body as posa_body

torch = pytest.importorskip("torch")
pytest.importorskip("igl")
from bl_rooms import (  # noqa: E402
    bodies,
    build_room,
    evaluated_smplx,
    import_labelled_room,
    room_pieces,
    room_sdf,
)

from posa_model.frames import smplx_to_blender  # noqa: E402
from posa_model.synth.primitives import Boxes, box_signed_distance  # noqa: E402

SCRIPT = ROOT / "scripts" / "populate_scene.py"
POPULATE = deps.feature_modules("Populate Scene")


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


def test_a_part_takes_its_pieces_class_and_posa_model_gets_its_parents(capfd):
    """A mesh whose own name says nothing under an empty "Bed_Double" (as glTF files group a
    piece's parts): Guess Classes gives it the piece's class; posa_model sees the parents."""
    piece = bpy.data.objects.new("Bed_Double", None)
    bpy.context.scene.collection.objects.link(piece)
    part = build_room({"Mesh.003": Boxes([[0, 0.3, 0]], [[1, 0.3, 1]], [0.0], [0], [0])})
    part["Mesh.003"].parent = piece
    select_only(None)
    assert bpy.ops.posa.guess_classes() == {"FINISHED"}
    assert part["Mesh.003"].posa.semantic_class == "bed"
    assert "Mesh.003 -> bed ('bed' of 'Bed_Double')" in "".join(capfd.readouterr())
    sent = scene.mesh_objects([part["Mesh.003"]], bpy.context.evaluated_depsgraph_get())
    assert sent[0].parents == ("Bed_Double",) and sent[0].class_id == 11


# --------------------------------------------------------------------------------------------
# labels from the file


@pytest.fixture
def imported_room(tmp_path):
    return import_labelled_room(tmp_path)


def test_the_label_keys_are_posa_models():
    from posa_model.scene.files import LABEL_KEYS

    assert scene.LABEL_KEYS == LABEL_KEYS


def test_objects_imported_from_a_labelled_gltf_have_their_class_without_guessing(
        imported_room, capfd):
    expected, _ = imported_room
    meshes = scene.scene_meshes(bpy.context.scene)
    assert {o.name for o in meshes} == set(expected)
    for obj in meshes:
        assert obj.posa.semantic_class == "void"  # nothing guessed or set
        class_id, source = scene.effective_class(obj)
        assert class_id == expected[obj.name] and source.startswith("file:"), obj.name
        assert source[len("file:"):] in scene.LABEL_KEYS
    assert scene.labelled_count(bpy.context.scene) == (len(expected),) * 3
    # node extras (object custom properties) count too, synonyms included; a label that is no
    # class is an obstacle, and populating says so
    sofa = next(o for o in meshes if expected[o.name] == 10)
    chair = next(o for o in meshes if expected[o.name] == 3)
    sofa["posa_class"] = "couch"
    chair.data["class_id"] = "banana"
    assert scene.effective_class(sofa) == (10, "file:posa_class")
    assert scene.effective_class(chair) == (0, "")
    # what Populate Scene sends to posa_model: every object with its file's class
    inputs = scene.scene_inputs(bpy.context, "CPU", 0.05, POPULATE)
    assert not isinstance(inputs, str), inputs
    assert {o.name: o.class_id for o in inputs.objects} == {**expected, chair.name: 0}
    assert any("banana" in w and chair.name in w for w in inputs.warnings)
    # a class set by hand wins over the file's
    sofa.posa.semantic_class = "bed"
    assert scene.effective_class(sofa) == (11, "label")
    # Guess Classes takes the file's labels (not the names) for the rest
    select_only(None)
    assert bpy.ops.posa.guess_classes() == {"FINISHED"}
    for obj in meshes:
        if obj in (sofa, chair):
            continue
        assert props_class(obj) == expected[obj.name], obj.name
        assert obj.posa.class_source.startswith("file:")
    assert sofa.posa.semantic_class == "bed"  # kept: set by hand
    out = capfd.readouterr()
    assert "From the file's labels" in out.out + out.err and "banana" in out.out + out.err


def props_class(obj) -> int:
    from posa_blender import props

    return props.class_id(obj)


# --------------------------------------------------------------------------------------------
# unlabelled objects are obstacles


def test_unlabelled_meshes_go_to_posa_model_as_obstacles(room):
    """A blanket on the bed without a class is in the grid: solid where it is (before, only
    labelled objects were sent and bodies lay through it)."""
    bed = room.pieces["Bed"]
    k = int(np.argmax(bed.half_sizes[:, 0] * bed.half_sizes[:, 2]))  # the mattress
    lows, highs = bed.aabbs()
    low, high = lows[k], highs[k]
    centre = (low + high) / 2  # SMPL-X world, +y up: 6 cm of blanket 5 cm over the bed
    while room_sdf(room.pieces, centre[None])[0] < 0.08:
        centre[1] += 0.01
    lo, hi = centre - [0.5 * (high[0] - low[0]) - 0.3, 0.03, 0.5 * (high[2] - low[2]) - 0.3], \
        centre + [0.5 * (high[0] - low[0]) - 0.3, 0.03, 0.5 * (high[2] - low[2]) - 0.3]
    blanket = Boxes([centre], [(hi - lo) / 2], [0.0], [0], [0])
    build_room({"Blanket": blanket})
    assert bpy.data.objects["Blanket"].posa.semantic_class == "void"
    inputs = scene.scene_inputs(bpy.context, "CPU", 0.05, POPULATE)
    assert not isinstance(inputs, str), inputs
    sent = {o.name: (o.class_id, o.class_source) for o in inputs.objects}
    assert sent["Blanket"] == (0, "none") and sent["Bed"][0] == 11
    assert set(sent) == {o.name for o in bpy.context.scene.objects if o.type == "MESH"}
    # solid where the blanket is, which the room without it is not
    assert inputs.grid.lookup(centre[None])[0] < 0


# --------------------------------------------------------------------------------------------
# Refine Placement


def dropped_sitter(room) -> tuple:
    """A stand-in in the sit preset dropped 0.4 m beside and 0.3 m above the seat of
    "Chair.001", turned 40 degrees away from it: (its mesh, the seat's centre, the chair's seat
    box, its evaluated SMPL-X world vertices)."""
    roles: dict = {}
    room_pieces(roles=roles)
    chair = room.pieces["Chair.001"]
    seat = chair.centers[roles["Chair.001"].index("seat")]
    bpy.ops.posa.add_body(model="STANDIN")
    mesh = bpy.context.active_object
    bpy.ops.posa.apply_preset(preset="sit")
    vertices = evaluated_smplx(mesh)
    centre = vertices.mean(axis=0)
    dropped = smplx_to_blender(seat + np.array([0.4, 0.3, -0.2]) - centre)
    mesh.parent.location = tuple(np.array(mesh.parent.location) + dropped)
    mesh.parent.rotation_euler.z = np.radians(40)
    bpy.context.view_layer.update()
    seat_box = chair.subset(np.array([roles["Chair.001"].index("seat")]))
    return mesh, seat, seat_box, evaluated_smplx(mesh)


@pytest.fixture
def placements(monkeypatch):
    """The PlacedBody of every refine_placement call the operator makes."""
    import posa_model.place

    made: list = []
    original = posa_model.place.refine_placement

    def recording(*args, **kwargs):
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(posa_model.place, "refine_placement", recording)
    return made


@pytest.mark.slow
def test_refine_moves_a_dropped_body_onto_the_nearby_chair_within_the_radius(
        room, placements, capfd):
    mesh, seat, seat_box, before = dropped_sitter(room)
    mesh_name, rig = mesh.name, mesh.parent
    start = before.mean(axis=0)
    pose_before = posa_body.read_pose(rig)
    bpy.ops.ed.undo_push(message="before refining")

    assert bpy.ops.posa.refine_placement("EXEC_DEFAULT", True, radius=1.0,
                                         device="CPU") == {"FINISHED"}
    mesh = bpy.data.objects[mesh_name]
    after = evaluated_smplx(mesh)
    moved = (after.mean(axis=0) - start)[[0, 2]]  # the region is a vertical cylinder
    assert 0.05 < np.linalg.norm(moved) <= 1.0
    sdf = room_sdf(room.pieces, after)
    assert np.mean(sdf > 0) >= 0.98
    # sitting on the chair: the thighs rest on its seat (the feet touch the floor)
    on_seat = np.abs(box_signed_distance(after, seat_box)[:, 0]) <= 0.02
    assert on_seat.sum() >= 20, on_seat.sum()
    assert np.median(after[on_seat, 1]) > seat[1]  # on top of it, not under it
    assert "posa_contact_0" in arrays.attribute_names(mesh.data)
    assert mesh["posa_placement"]["touched_classes"]["chair"] > 0
    # the pose adapted, as Populate's do: the mesh is the placed body, posed by the rig
    (placed,) = placements
    assert placed.placed and placed.pose is not None
    np.testing.assert_allclose(after, placed.vertices, atol=1e-4)
    pose_after = posa_body.read_pose(mesh.parent)
    assert np.abs(pose_after.body_pose - pose_before.body_pose).max() > 1e-3
    assert np.abs(pose_after.global_orient - pose_before.global_orient).max() > 1e-3
    # both feet down to the floor as POSA counts contact (within 5 cm; its top is y = 0): the
    # seat is higher than the sit preset's shins are long, and the legs adapt only a little
    for foot in feet_vertices():
        assert -0.01 <= after[foot, 1].min() <= 0.05, after[foot, 1].min()
    out = capfd.readouterr()
    assert "pose adapted" in out.out + out.err
    # one undo step puts the body back where it was dropped, in its pose
    bpy.ops.ed.undo()
    np.testing.assert_allclose(evaluated_smplx(bpy.data.objects[mesh_name]), before, atol=1e-6)


@pytest.mark.slow
def test_refine_moves_a_body_whose_pose_it_cannot_read_rigidly(room, placements, capfd):
    """Turned eyes are no part of a BodyPose: the body keeps its pose and moves as a whole."""
    mesh, _, _, _ = dropped_sitter(room)
    mesh.parent.pose.bones["left_eye_smplhf"].rotation_quaternion = (0.98, 0.0, 0.2, 0.0)
    bpy.context.view_layer.update()
    pose_before = posa_body.read_pose(mesh.parent)
    assert bpy.ops.posa.refine_placement(radius=1.0, device="CPU", seed=2) == {"FINISHED"}
    (placed,) = placements
    assert placed.placed and placed.pose is None
    after = evaluated_smplx(mesh)
    np.testing.assert_allclose(after, placed.vertices, atol=1e-4)
    pose_after = posa_body.read_pose(mesh.parent)
    for name in ("global_orient", "body_pose", "transl"):
        np.testing.assert_allclose(getattr(pose_after, name), getattr(pose_before, name),
                                   atol=1e-6)
    out = capfd.readouterr()
    assert "moved rigidly, its pose kept: its eyes are turned" in out.out + out.err


def feet_vertices() -> list[np.ndarray]:
    """The vertices skinned mostly to each foot (ankle and foot joints): left, right."""
    from posa_blender import runtime
    from posa_model.body import JOINT_INDEX

    weights = runtime.body_model("", "neutral").lbs_weights.numpy()
    return [np.flatnonzero(weights[:, [JOINT_INDEX[f"{side}_ankle"],
                                       JOINT_INDEX[f"{side}_foot"]]].sum(1) > 0.5)
            for side in ("left", "right")]


def test_refine_refuses_without_a_body(room, unchanged):
    select_only(room.objects["Sofa"])
    unchanged.take()
    with pytest.raises(RuntimeError, match="'Sofa' is not a POSA body"):
        bpy.ops.posa.refine_placement(device="CPU")
    select_only(None)
    with pytest.raises(RuntimeError, match="Nothing is selected"):
        bpy.ops.posa.refine_placement(device="CPU")
    unchanged.check()


def test_refine_refuses_a_locked_body(room, body, unchanged):
    body.mesh.posa.locked = True
    unchanged.take()
    with pytest.raises(RuntimeError, match="is locked: unlock it"):
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
    assert "[posa.populate_selected]" in text and "[posa.refine_placement]" in text
    assert f"{len(room.objects)} of {len(room.objects)} scene meshes have a POSA class" in text
    if selection == "Sofa":
        assert "Class guessed from the name ('sofa')" in text
    if selection == "body":
        assert "[posa.regenerate_people]" in text and "[posa.lock_people]" in text


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
    result = run_script("--scene", str(scene_file), "--guess-classes", "--people", "stand:1",
                        "--seed", "0", "--device", "cpu", "--grid-resolution", "0.05",
                        "--out", str(out), "--render", str(picture), "--resolution", "96x54",
                        "--render-samples", "1")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"saved {out} in " in result.stdout
    assert "Placed 1 of 1 people (stand 1/1)" in result.stdout
    assert f"rendered {picture}" in result.stdout
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    bpy.ops.wm.open_mainfile(filepath=str(out))
    placed = bodies()
    assert len(placed) == 1 and placed[0]["posa_placement"]["interaction"] == "stand"
    assert contacts.stored_samples(placed[0].data) == 1
    assert placed[0]["posa_placement"]["non_collision"] >= 0.98
    assert bpy.data.objects["Sofa"].posa.semantic_class == "sofa"
    assert "POSA Camera" not in bpy.data.objects  # the render set-up is not saved


def test_script_help_and_bad_arguments():
    """The script takes python -m posa_model.place's options (--grid-resolution for the grid,
    --resolution for the picture)."""
    result = run_script("--help")
    assert result.returncode == 0
    for option in ("--scene", "--people", "--bodies", "--mix", "--fill", "--on", "--seed",
                   "--device", "--grid-resolution", "--resolution", "--out", "--render",
                   "--guess-classes"):
        assert option in result.stdout
    assert "--poses" not in result.stdout
    for args, message in ((["--people", "dance:1"], "'dance' is not an interaction"),
                          (["--device", "cuda:1"], "auto, cpu or cuda")):
        result = run_script(*args, "--out", "x.blend")
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)


def test_the_script_fails_with_a_message_on_an_unlabelled_scene(tmp_path):
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "cube.blend"))
    result = run_script("--scene", str(tmp_path / "cube.blend"), "--out", "x.blend",
                        cwd=tmp_path)
    assert result.returncode == 1 and "Nothing to interact with" in result.stderr
    assert not (tmp_path / "x.blend").exists()
