"""People in bpy: Populate Scene, Populate Selected, Regenerate, Lock, and their refusals.

Every placed person's Blender body is checked against what ``posa_model.populate.populate``
returned for it (recorded by wrapping the function): its evaluated mesh equals the person's
placed vertices in Blender axes, its shape is the person's betas.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from bl_helpers import bpy, select_only

from posa_blender import arrays, props, runtime

torch = pytest.importorskip("torch")
pytest.importorskip("igl")
from bl_rooms import (  # noqa: E402
    bodies,
    build_room,
    evaluated_smplx,
    import_labelled_room,
    penetration,
    room_pieces,
    room_sdf,
)

import posa_model.populate as populate_module  # noqa: E402
from posa_model.frames import smplx_to_blender  # noqa: E402


@pytest.fixture
def calls(monkeypatch):
    """The PopulateResult of every ``populate`` call the operators make, in order."""
    results = []
    real = populate_module.populate

    def recording(*args, **kwargs):
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(populate_module, "populate", recording)
    return results


def by_person(result) -> dict:
    return {p.name: p for p in result.people}


def output(capfd) -> str:
    out = capfd.readouterr()
    return out.out + out.err


def assert_body_is_the_person(obj, person, regenerated: bool = False) -> None:
    """The Blender body reproduces posa_model's placed person: vertices (1e-4 m) and shape
    (a regenerated person keeps the name it had in its first run)."""
    world, _, _ = arrays.evaluated_world_vertices(obj, bpy.context.evaluated_depsgraph_get())
    expected = smplx_to_blender(np.asarray(person.body.vertices, dtype=np.float64))
    assert np.abs(world - expected).max() <= 1e-4, (obj.name, np.abs(world - expected).max())
    betas = np.asarray(person.body.pose.betas[0])[:10]
    np.testing.assert_allclose(tuple(obj.posa.betas)[: len(betas)], betas, atol=1e-6)
    record = obj["posa_placement"]
    assert record["interaction"] == person.interaction
    assert regenerated or record["person"] == person.name


# --------------------------------------------------------------------------------------------
# Populate Scene


def test_populate_makes_each_placed_person_a_body_with_their_pose_and_shape(room, calls, capfd):
    assert bpy.ops.posa.populate_scene(people="sit:2,lie:1,stand:1", seed=0,
                                       device="CPU") == {"FINISHED"}
    result = calls[0]
    placed = [p for p in result.people if p.placed]
    assert len(placed) == len(bodies()) >= 3
    people = by_person(result)
    shapes = set()
    for obj in bodies():
        person = people[obj["posa_placement"]["person"]]
        assert_body_is_the_person(obj, person)
        shapes.add(tuple(np.round(obj.posa.betas, 4)))
        assert obj.name.split()[0].lower() == person.interaction  # "Sit 1", "Lie 1", ...
        smplx = evaluated_smplx(obj)
        assert np.mean(room_sdf(room.pieces, smplx) > 0) >= 0.98, obj.name
        # the chosen map is stored and shown, as Sample Contacts does
        np.testing.assert_array_equal(arrays.point_attribute(obj.data, "posa_contact_0"),
                                      np.asarray(person.body.contact, dtype=np.float32))
        assert obj.data.color_attributes.active_color.name == "posa_contact"
        for other in bodies():
            if other != obj:
                assert penetration(smplx, other) <= 0.01, (obj.name, other.name)
    assert len(shapes) == len(bodies())  # no two alike
    assert {o.name for o in bpy.context.selected_objects} == {o.name for o in bodies()}
    text = output(capfd)
    per = result.metrics["interactions"]
    assert f"sit {per['sit']['placed']}/2" in text and f"lie {per['lie']['placed']}/1" in text
    assert f"Placed {len(placed)} of 4 people" in text
    for person in result.people:
        if not person.placed:
            assert f"{person.name} not placed: {person.reason}" in text


def test_people_who_find_no_place_are_reported_and_leave_nothing_behind(capfd):
    """A floor and a table: the sleeper has no bed, the stander is placed."""
    pieces = room_pieces()
    build_room({name: pieces[name] for name in ("Floor", "Table")})
    select_only(None)
    bpy.ops.posa.guess_classes()
    count = len(bpy.data.objects)
    assert bpy.ops.posa.populate_scene(people="lie:1,stand:1", device="CPU") == {"FINISHED"}
    assert [o["posa_placement"]["interaction"] for o in bodies()] == ["stand"]
    assert len(bpy.data.objects) == count + 2  # the stander's mesh and armature
    text = output(capfd)
    assert "lie.000 not placed: no free bed spot" in text and "lie 0/1, stand 1/1" in text


def test_genders_are_drawn_from_the_mix_each_body_with_its_own_model(room, calls, tmp_path):
    """Two SMPL-X-format models of one mesh (the stand-in scaled): each person gets the model
    of their drawn gender, and the Blender body is that model posed."""
    from posa_model.assets import standin_path

    folder = tmp_path / "smplx"
    folder.mkdir()
    with np.load(standin_path(), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for gender, scale in (("female", 0.93), ("male", 1.06)):
        np.savez(folder / f"SMPLX_{gender.upper()}.npz",
                 **{**arrays, "v_template": arrays["v_template"] * np.float32(scale)})
    assert bpy.ops.posa.populate_scene(people="stand:4", seed=3, device="CPU", model="SMPLX",
                                       model_path=str(folder),
                                       genders="female:1,male:1") == {"FINISHED"}
    people = by_person(calls[-1])
    made = {people[o["posa_placement"]["person"]].gender: o for o in bodies()}
    assert set(made) == {"female", "male"}
    for gender, obj in made.items():
        person = people[obj["posa_placement"]["person"]]
        assert person.gender == gender and props.object_info(obj).gender == gender
        assert_body_is_the_person(obj, person)
    # the stand-in has one body
    with pytest.raises(RuntimeError, match="neutral body only"):
        bpy.ops.posa.populate_scene(people="stand:1", device="CPU", genders="male:1")


def test_a_downloaded_room_whose_floor_and_walls_are_one_mesh_is_populated(calls):
    """living_room_downloaded: floor, walls and ceiling are one unlabelled mesh ("Room") that
    Guess Classes cannot name; its faces are classed by their shapes, as on the command line
    (before: "the scene has no floor")."""
    from bl_helpers import ROOT

    bpy.ops.wm.read_homefile(use_empty=True)
    path = ROOT / "examples" / "rooms" / "living_room_downloaded.glb"
    assert bpy.ops.import_scene.gltf(filepath=str(path)) == {"FINISHED"}
    bpy.ops.posa.guess_classes()
    assert bpy.ops.posa.populate_scene(people="sit:2,stand:2", seed=0,
                                       device="CPU") == {"FINISHED"}
    placed = [p for p in calls[-1].people if p.placed]
    assert {p.interaction for p in placed} == {"sit", "stand"} and len(placed) >= 3
    assert all(p.spot.class_id == 2 for p in placed if p.interaction == "stand")  # the floor


def test_populate_uses_the_labels_of_an_imported_file_without_guess_classes(tmp_path, calls,
                                                                          capfd):
    """Before, a labelled GLB imported into Blender was refused ("none of the scene's mesh
    objects has a POSA class")."""
    expected, _ = import_labelled_room(tmp_path)
    assert all(o.posa.semantic_class == "void" for o in bpy.context.scene.objects)
    assert bpy.ops.posa.populate_scene(people="stand:1", device="CPU") == {"FINISHED"}
    assert [o["posa_placement"]["interaction"] for o in bodies()] == ["stand"]
    seats = sorted(n for n, c in expected.items() if c in (3, 10, 19))  # chair, sofa, stool
    assert all(name in calls[-1].metrics["spots"] for name in seats[:6]), calls[-1].metrics
    assert "seats (" in output(capfd)


def test_populate_refuses_when_nobody_finds_a_place(unchanged):
    pieces = room_pieces()
    build_room({name: pieces[name] for name in ("Floor", "Table")})
    select_only(None)
    bpy.ops.posa.guess_classes()
    select_only(bpy.data.objects["Cube"])
    unchanged.take()
    with pytest.raises(RuntimeError, match="None of the 2 people found a place"):
        bpy.ops.posa.populate_scene(people="lie:2", device="CPU")
    unchanged.check()
    assert bpy.context.active_object == bpy.data.objects["Cube"]
    assert "POSA Contacts" not in bpy.data.materials


def test_populate_refuses_a_scene_without_labelled_objects(unchanged):
    unchanged.take()
    with pytest.raises(RuntimeError, match="Nothing to interact with.*Guess Classes"):
        bpy.ops.posa.populate_scene(people="stand:2", device="CPU")
    unchanged.check()


def test_populate_refuses_a_scene_without_a_floor(unchanged):
    build_room(room_pieces(with_floor=False))
    select_only(None)
    bpy.ops.posa.guess_classes()
    unchanged.take()
    with pytest.raises(RuntimeError, match="(?i)floor"):
        bpy.ops.posa.populate_scene(bodies=2, device="CPU")
    unchanged.check()
    assert "POSA Contacts" not in bpy.data.materials


@pytest.mark.parametrize(("options", "message"), [
    ({"people": "dance:2"}, "'dance' is not an interaction"),
    ({"mix": "sit:1"}, "--mix: weights need --bodies"),
    ({"people": "sit"}, "expected name:number"),
])
def test_populate_refuses_bad_options_naming_them(room, unchanged, options, message):
    unchanged.take()
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.posa.populate_scene(device="CPU", **options)
    unchanged.check()


def test_populate_refuses_a_body_model_that_is_not_the_checkpoints(room, unchanged,
                                                                   monkeypatch):
    """The same vertex count, every triangle's winding reversed: sampler.check_body says no."""
    real = runtime.body_model

    def other_mesh(*args, **kwargs):
        model = copy.copy(real(*args, **kwargs))
        model.faces = np.ascontiguousarray(model.faces[:, ::-1])
        return model

    monkeypatch.setattr(runtime, "body_model", other_mesh)
    unchanged.take()
    with pytest.raises(RuntimeError, match="Cannot populate the scene: the stand-in.*not the "
                                           "mesh"):
        bpy.ops.posa.populate_scene(people="stand:1", device="CPU")
    unchanged.check()


def test_existing_bodies_are_obstacles_and_populating_can_be_undone(room):
    bpy.ops.posa.add_body(model="STANDIN")
    first = bpy.context.active_object
    first.parent.location = (1.2, -1.0, 0.0)  # standing on the floor, in the free space
    before = evaluated_smplx(first)
    bpy.ops.ed.undo_push(message="before populating")
    count = len(bpy.data.objects)
    assert bpy.ops.posa.populate_scene("EXEC_DEFAULT", True, people="stand:1", seed=0,
                                       device="CPU") == {"FINISHED"}
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
# Populate Selected, Lock, Regenerate


def test_populate_selected_seats_only_the_selected_chairs_then_regenerate_and_lock(
        room, calls, capfd):
    """Two chairs selected: a sitter on each, nobody on the sofa. Then one sitter is locked and
    both are regenerated: the locked one stays, the other gets a new shape and pose on the same
    chair; Populate Scene with Replace keeps the locked one too."""
    select_only(room.objects["Chair"])
    room.objects["Chair.001"].select_set(True)
    assert bpy.ops.posa.populate_selected(seed=3, device="CPU") == {"FINISHED"}
    sitters = bodies()
    assert sorted(o["posa_placement"]["object"] for o in sitters) == ["Chair", "Chair.001"]
    assert all(o["posa_placement"]["interaction"] == "sit" for o in sitters)
    people = by_person(calls[-1])
    for obj in sitters:
        assert_body_is_the_person(obj, people[obj["posa_placement"]["person"]])

    kept, redone = sitters
    kept_vertices, old = evaluated_smplx(kept), evaluated_smplx(redone)
    old_betas, old_object = tuple(redone.posa.betas), redone["posa_placement"]["object"]
    select_only(kept)
    assert bpy.ops.posa.lock_people() == {"FINISHED"}
    assert kept.posa.locked and not redone.posa.locked
    redone.select_set(True)
    name, kept_name = redone.name, kept.name
    bpy.ops.ed.undo_push(message="before regenerating")
    assert bpy.ops.posa.regenerate_people("EXEC_DEFAULT", True, device="CPU") == {"FINISHED"}
    assert "is locked: left as it is" in output(capfd)
    new_vertices = evaluated_smplx(bpy.data.objects[name])
    bpy.ops.ed.undo()  # the old person is back (object references go stale: look them up)
    np.testing.assert_allclose(evaluated_smplx(bpy.data.objects[name]), old, atol=1e-6)
    bpy.ops.ed.redo()
    np.testing.assert_allclose(evaluated_smplx(bpy.data.objects[name]), new_vertices, atol=1e-6)
    kept = bpy.data.objects[kept_name]
    assert len(bodies()) == 2 and bpy.data.objects.get(name) is not None
    new = bpy.data.objects[name]
    np.testing.assert_allclose(evaluated_smplx(kept), kept_vertices, atol=1e-6)
    assert np.abs(evaluated_smplx(new) - old).max() > 0.01
    assert tuple(new.posa.betas) != old_betas
    record = new["posa_placement"]
    assert record["object"] == old_object and record["generation"] == 1
    assert_body_is_the_person(new, calls[-1].people[0], regenerated=True)
    assert calls[-1].people[0].interaction == "sit"
    assert penetration(evaluated_smplx(new), kept) <= 0.01

    select_only(kept)
    with pytest.raises(RuntimeError, match="Nothing to regenerate.*is locked"):
        bpy.ops.posa.regenerate_people(device="CPU")
    assert bpy.ops.posa.populate_scene(people="stand:1", replace=True, seed=0,
                                       device="CPU") == {"FINISHED"}
    assert sorted(o["posa_placement"]["interaction"] for o in bodies()) == ["sit", "stand"]
    assert kept in bodies() and bpy.data.objects.get(name) is None
    np.testing.assert_allclose(evaluated_smplx(kept), kept_vertices, atol=1e-6)


def test_populate_selected_refuses_without_furniture_selected(room, unchanged):
    select_only(None)
    unchanged.take()
    with pytest.raises(RuntimeError, match="Nothing is selected: select the furniture"):
        bpy.ops.posa.populate_selected(device="CPU")
    select_only(room.objects["Table"])
    with pytest.raises(RuntimeError, match=r"\(Table\) offer no free seat or bed"):
        bpy.ops.posa.populate_selected(device="CPU")
    unchanged.check()


def test_regenerate_and_lock_refuse_without_people(room, body, unchanged):
    select_only(room.objects["Sofa"])
    unchanged.take()
    with pytest.raises(RuntimeError, match="Select the people to regenerate"):
        bpy.ops.posa.regenerate_people(device="CPU")
    with pytest.raises(RuntimeError, match="Select the people"):
        bpy.ops.posa.lock_people()
    select_only(body.mesh)  # added by hand: not placed by Populate Scene
    with pytest.raises(RuntimeError, match="was not placed by Populate Scene"):
        bpy.ops.posa.regenerate_people(device="CPU")
    unchanged.check()
