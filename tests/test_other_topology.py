"""The whole chain of a user with their own SMPL-X-format body, on another topology than the
stand-in's: convert --body -> synthesize --body -> train -> sample -> place (issue 12).

Nothing may silently assume the stand-in's 10,475 vertices or its faces: the body here has
10,999 vertices and 21,994 faces (``tests/other_topology.py``), and the shipped checkpoint and
this one each refuse the other's body.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from posa_model.body import BodyParts, BodyPose, load_body_model, pose_body
from posa_model.mesh.hierarchy import load_hierarchy
from posa_model.nn.checkpoint import read_checkpoint
from posa_model.sample import main as sample_main
from tests.other_topology import train_for_variant

pytestmark = pytest.mark.slow

ROOM = "examples/rooms/example_room.glb"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return train_for_variant(tmp_path_factory.mktemp("variant"), epochs=8)


@pytest.fixture(scope="module")
def variant(chain):
    return load_body_model(chain["body"])


def test_the_body_and_its_hierarchy_are_the_variant(chain, variant):
    assert (variant.num_vertices, len(variant.faces)) == (10999, 21994)
    hierarchy = load_hierarchy(chain["hierarchy"])
    assert len(hierarchy.vertices[0]) == 10999
    assert read_checkpoint(chain["checkpoint"]).hierarchy.fingerprint == hierarchy.fingerprint
    parts = BodyParts.from_model(variant)
    for region in ("buttocks", "back", "left_sole", "right_palm"):
        assert parts.mask(region).sum() > 30, region


def test_sample_on_the_variant_and_each_checkpoint_refuses_the_other_body(chain, tmp_path,
                                                                         capsys):
    body, ckpt = str(chain["body"]), str(chain["checkpoint"])
    out = tmp_path / "sit.ply"
    assert sample_main(["--body", body, "--checkpoint", ckpt, "--pose", "sit", "--device",
                        "cpu", "--out", str(out)]) == 0
    mesh = trimesh.load(out, process=False)
    assert mesh.vertices.shape == (10999, 3) and mesh.faces.shape == (21994, 3)
    capsys.readouterr()
    assert sample_main(["--body", body, "--device", "cpu",
                        "--out", str(tmp_path / "a.ply")]) == 2  # the shipped checkpoint
    assert "10999" in capsys.readouterr().err
    assert sample_main(["--checkpoint", ckpt, "--device", "cpu",
                        "--out", str(tmp_path / "b.ply")]) == 2  # the stand-in body
    assert "10475" in capsys.readouterr().err
    assert not (tmp_path / "a.ply").exists() and not (tmp_path / "b.ply").exists()


def test_place_populates_with_the_variant_and_round_trips(chain, variant, tmp_path, capsys):
    from posa_model.place import main as place_main

    out, metrics = tmp_path / "populated.glb", tmp_path / "m.json"
    code = place_main(["--scene", ROOM, "--body", str(chain["body"]), "--checkpoint",
                       str(chain["checkpoint"]), "--people", "sit:1,stand:1", "--seed", "0",
                       "--device", "cpu", "--out", str(out), "--metrics", str(metrics),
                       "--quiet"])
    assert code == 0, capsys.readouterr()
    doc = json.loads(metrics.read_text())
    assert [b["interaction"] for b in doc["bodies"]] == ["sit", "stand"]
    with np.load(tmp_path / "populated_bodies.npz", allow_pickle=False) as npz:
        placed = np.flatnonzero(npz["placed"])
        assert len(placed) >= 1, [b["reason"] for b in doc["bodies"]]
        assert npz["vertices"].shape[1] == 10999
        for k in placed:
            pose = BodyPose.from_file(tmp_path / "populated_bodies" / f"{npz['names'][k]}.npz")
            vertices = pose_body(variant, pose).vertices[0]
            assert np.abs(vertices - npz["vertices"][k]).max() < 1e-4
    glb = trimesh.load(out, force="scene", process=False)
    person = glb.geometry[str(doc["bodies"][placed[0]]["name"])]
    assert len(person.vertices) == 10999
