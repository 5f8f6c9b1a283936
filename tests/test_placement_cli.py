"""``python -m posa_model.place`` on a GLB room the test writes and on a synthetic scene's grid."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from posa_model.place import main
from posa_model.scene.grid import save_scene_grid
from posa_model.synth import compute_sdf_grid, generate_room
from posa_model.synth.export import save_scene


def _box(lo, hi) -> trimesh.Trimesh:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    return trimesh.creation.box(extents=hi - lo,
                                transform=trimesh.transformations.translation_matrix((lo + hi) / 2))


def _write_room(path, names=("Floor", "Chair")) -> None:
    """A 3 x 3 m floor and a chair (seat 0.37 m, the stand-in's sit height), y-up glTF."""
    scene = trimesh.Scene()
    floor = _box((-1.5, -0.1, -1.5), (1.5, 0.0, 1.5))
    parts = [_box((-0.23, 0.31, -0.22), (0.23, 0.37, 0.22)),
             _box((-0.23, 0.37, -0.22), (0.23, 0.82, -0.18))]
    parts += [_box((x, 0.0, z), (x + 0.04, 0.31, z + 0.04)) for x in (-0.22, 0.18)
              for z in (-0.21, 0.17)]
    scene.add_geometry(floor, node_name=names[0], geom_name=names[0])
    scene.add_geometry(trimesh.util.concatenate(parts), node_name=names[1], geom_name=names[1])
    path.write_bytes(scene.export(file_type="glb"))


@pytest.mark.slow
def test_cli_populates_a_glb_room(tmp_path, capsys):
    room = tmp_path / "room.glb"
    _write_room(room)
    out, metrics = tmp_path / "populated.glb", tmp_path / "m.json"
    code = main(["--scene", str(room), "--people", "sit:1,stand:1", "--seed", "0",
                 "--maps", "4", "--device", "cpu", "--out", str(out), "--metrics", str(metrics),
                 "--quiet"])
    printed = capsys.readouterr()
    assert code == 0, printed
    assert "nan" not in printed.out and "contact 0" not in printed.out
    doc = json.loads(metrics.read_text())
    assert doc["overall"]["bodies"] == 2 and doc["overall"]["placed"] == 2
    placed = [b for b in doc["bodies"] if b["placed"]]
    assert all(b["metrics"]["non_collision"] >= 0.95 for b in placed)
    assert [b["interaction"] for b in doc["bodies"]] == ["sit", "stand"]
    assert "Chair" in doc["bodies"][0]["spot"]
    glb = trimesh.load(out, force="scene", process=False)
    names = set(glb.graph.nodes_geometry)
    assert {"Floor", "Chair"} <= names
    assert {b["name"] for b in placed} <= names
    with np.load(tmp_path / "populated_bodies.npz", allow_pickle=False) as npz:
        assert npz["transforms"].shape == (2, 4, 4)
        assert npz["vertices"].shape[:2] == (2, npz["contact"].shape[1])
        assert npz["body_pose"].shape == (2, 63) and np.isfinite(npz["body_pose"]).all()
        assert list(npz["interactions"]) == ["sit", "stand"]
        names = list(npz["names"])
    for name in names:  # one SMPL-X file per person
        assert (tmp_path / "populated_bodies" / f"{name}.npz").is_file()


@pytest.mark.slow
def test_cli_placed_people_round_trip_to_their_vertices(tmp_path):
    """The parameters written for each person pose the model back to the placed vertices."""
    from posa_model.body import BodyPose, load_body_model, pose_body

    room = tmp_path / "room.glb"
    _write_room(room)
    out = tmp_path / "populated.glb"
    assert main(["--scene", str(room), "--people", "sit:1,stand:1", "--maps", "2",
                 "--device", "cpu", "--out", str(out), "--quiet"]) == 0
    model = load_body_model()
    with np.load(tmp_path / "populated_bodies.npz", allow_pickle=False) as npz:
        placed = np.flatnonzero(npz["placed"])
        assert len(placed) == 2
        for k in placed:
            pose = BodyPose.from_file(tmp_path / "populated_bodies" / f"{npz['names'][k]}.npz")
            vertices = pose_body(model, pose).vertices[0]
            assert np.abs(vertices - npz["vertices"][k]).max() < 1e-4


@pytest.mark.slow
def test_cli_on_a_synthetic_scene_grid(tmp_path, capsys):
    scene = generate_room("office1", np.random.default_rng(11), "office")
    save_scene_grid(tmp_path / "sdf", scene.name, compute_sdf_grid(scene.boxes, 0.1))
    save_scene(tmp_path / "scenes", scene)
    out = tmp_path / "out" / "populated.glb"
    code = main(["--scene", str(tmp_path / "sdf" / f"{scene.name}.json"), "--people",
                 "stand:1,lean:1", "--maps", "4", "--device", "cpu", "--out", str(out),
                 "--quiet"])
    text = capsys.readouterr().out
    assert code == 0
    assert "placed" in text and "objects from" in text
    glb = trimesh.load(out, force="scene", process=False)
    assert any(n.startswith("floor") for n in glb.graph.nodes_geometry)
    assert sum(n.startswith(("stand", "lean")) for n in glb.graph.nodes_geometry) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("names", [("Thing", "Other"), ("Chair", "Stool")])
def test_cli_scene_without_a_floor_exits_2(tmp_path, capsys, names):
    room = tmp_path / "room.glb"
    _write_room(room, names)
    code = main(["--scene", str(room), "--people", "stand:1", "--maps", "2",
                 "--device", "cpu", "--out", str(tmp_path / "o.glb"), "--quiet"])
    assert code == 2
    assert "no floor" in capsys.readouterr().err
    assert not (tmp_path / "o.glb").exists()


def test_cli_places_a_pose_file_of_its_own(tmp_path, capsys):
    """A user's pose (no interaction, no target) is placed where its maps fit, its pose
    refined with the smaller step of a body without a target (before, the full step undid a
    plain standing pose: "semantic agreement 0.15")."""
    from posa_model.body import BodyPose

    room = tmp_path / "room.glb"
    _write_room(room)
    BodyPose.from_preset("stand").to_file(tmp_path / "mine.npz")
    out = tmp_path / "o.glb"
    assert main(["--scene", str(room), "--people", "sit:1", "--pose-file",
                 str(tmp_path / "mine.npz"), "--device", "cpu", "--out", str(out),
                 "--metrics", str(tmp_path / "m.json"), "--quiet"]) == 0
    doc = json.loads((tmp_path / "m.json").read_text())
    mine = [b for b in doc["bodies"] if b["name"].startswith("mine")]
    assert len(mine) == 1 and mine[0]["placed"], mine
    assert mine[0]["metrics"]["touched_classes"].get("floor", 0) > 50


def _gendered_folder(folder, scales):
    """The stand-in's model file as SMPLX_<GENDER>.npz, each gender's template scaled (one
    mesh, three bodies of different sizes)."""
    from posa_model.assets import standin_path

    folder.mkdir()
    with np.load(standin_path(), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for gender, scale in scales.items():
        np.savez(folder / f"SMPLX_{gender.upper()}.npz",
                 **{**arrays, "v_template": arrays["v_template"] * np.float32(scale)})
    return folder


def test_cli_draws_each_persons_gender_from_the_mix(tmp_path, capsys):
    from posa_model.body import BodyPose, load_body_model, pose_body

    models = _gendered_folder(tmp_path / "smplx", {"female": 0.93, "male": 1.06})
    room = tmp_path / "room.glb"
    _write_room(room)
    out = tmp_path / "o.glb"
    assert main(["--scene", str(room), "--people", "stand:4", "--body", str(models),
                 "--genders", "female:1,male:1", "--seed", "3", "--maps", "4",
                 "--device", "cpu", "--out", str(out), "--quiet"]) == 0
    with np.load(tmp_path / "o_bodies.npz", allow_pickle=False) as npz:
        genders, placed, names = list(npz["genders"]), npz["placed"], list(npz["names"])
        vertices = npz["vertices"]
    assert set(genders) == {"female", "male"}  # seed 3 draws both
    for k in np.flatnonzero(placed):
        path = tmp_path / "o_bodies" / f"{names[k]}.npz"
        with np.load(path, allow_pickle=False) as one:
            assert str(one["gender"]) == genders[k]
        again = pose_body(load_body_model(models, genders[k]), BodyPose.from_file(path))
        assert np.abs(again.vertices[0] - vertices[k]).max() < 1e-4  # that gender's model
    # the stand-in has one body; a gender the folder lacks is named
    assert main(["--scene", str(room), "--genders", "female:1", "--device", "cpu",
                 "--out", str(tmp_path / "x.glb"), "--quiet"]) == 2
    assert "neutral body only" in capsys.readouterr().err
    (models / "SMPLX_MALE.npz").unlink()
    assert main(["--scene", str(room), "--body", str(models), "--genders", "male:1",
                 "--device", "cpu", "--out", str(tmp_path / "y.glb"), "--quiet"]) == 2
    assert "SMPLX_MALE" in capsys.readouterr().err
