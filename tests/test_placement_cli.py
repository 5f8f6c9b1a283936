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


def test_cli_populates_a_glb_room(tmp_path, capsys):
    room = tmp_path / "room.glb"
    _write_room(room)
    out, metrics = tmp_path / "populated.glb", tmp_path / "m.json"
    code = main(["--scene", str(room), "--bodies", "2", "--poses", "sit,stand", "--seed", "0",
                 "--maps", "4", "--device", "cpu", "--out", str(out), "--metrics", str(metrics),
                 "--quiet"])
    assert code == 0, capsys.readouterr()
    doc = json.loads(metrics.read_text())
    assert doc["overall"]["bodies"] == 2 and doc["overall"]["placed"] >= 1
    placed = [b for b in doc["bodies"] if b["placed"]]
    assert all(b["metrics"]["non_collision"] >= 0.95 for b in placed)
    assert [b["pose"] for b in doc["bodies"]] == ["sit", "stand"]
    glb = trimesh.load(out, force="scene", process=False)
    names = set(glb.graph.nodes_geometry)
    assert {"Floor", "Chair"} <= names
    assert {b["name"] for b in placed} <= names
    with np.load(tmp_path / "populated_bodies.npz", allow_pickle=False) as npz:
        assert npz["transforms"].shape == (2, 4, 4)
        assert npz["vertices"].shape[:2] == (2, npz["contact"].shape[1])
        k = int(np.flatnonzero(npz["placed"])[0])
        body = next(b for b in doc["bodies"] if b["name"] == npz["names"][k])
        np.testing.assert_allclose(npz["transforms"][k], body["transform"])
        assert np.isfinite(npz["body_pose"][k]).all()


def test_cli_on_a_synthetic_scene_grid(tmp_path, capsys):
    scene = generate_room("office1", np.random.default_rng(11), "office")
    save_scene_grid(tmp_path / "sdf", scene.name, compute_sdf_grid(scene.boxes, 0.1))
    save_scene(tmp_path / "scenes", scene)
    out = tmp_path / "out" / "populated.glb"
    code = main(["--scene", str(tmp_path / "sdf" / f"{scene.name}.json"), "--bodies", "3",
                 "--poses", "stand,lean_back", "--maps", "4", "--device", "cpu", "--out",
                 str(out), "--quiet"])
    text = capsys.readouterr().out
    assert code == 0
    assert "placed" in text and "objects from" in text
    glb = trimesh.load(out, force="scene", process=False)
    assert any(n.startswith("floor") for n in glb.graph.nodes_geometry)
    assert sum(n.startswith(("stand", "lean_back")) for n in glb.graph.nodes_geometry) >= 2


@pytest.mark.parametrize("names, message", [(("Thing", "Other"), "no labelled object"),
                                            (("Chair", "Stool"), "no floor")])
def test_cli_bad_scenes_exit_2(tmp_path, capsys, names, message):
    room = tmp_path / "room.glb"
    _write_room(room, names)
    code = main(["--scene", str(room), "--bodies", "1", "--poses", "stand", "--maps", "2",
                 "--device", "cpu", "--out", str(tmp_path / "o.glb"), "--quiet"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.glb").exists()
