"""Reference POSA weights as a first-class checkpoint: ``python -m posa_model.convert``.

The reference checkpoint and mesh_ds folder are built as tests/test_reference.py builds them (an
icosphere mesh_ds, random weights under the reference names). The converted checkpoint must
sample exactly what ``load_reference`` + the mesh_ds hierarchy + the reference frame give, load
without being told its hierarchy, and refuse bodies of another mesh.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from posa_model.convert import convert_reference, main
from posa_model.errors import CheckpointError
from posa_model.mesh.build import build_hierarchy
from posa_model.mesh.mesh_ds import read_mesh_ds, write_mesh_ds
from posa_model.nn.checkpoint import read_checkpoint
from posa_model.nn.mesh_check import BodyMeshMismatch
from posa_model.reference import load_reference
from posa_model.sample import Sampler, load_sampler
from tests.test_reference import _save_reference, reference_state_dict


@pytest.fixture(scope="module")
def icosphere():
    sphere = trimesh.creation.icosphere(subdivisions=4)
    rng = np.random.default_rng(0)
    vertices = sphere.vertices * (1 + 0.1 * rng.random((len(sphere.vertices), 1)))
    return vertices, np.asarray(sphere.faces)


@pytest.fixture(scope="module")
def mesh_ds(tmp_path_factory, icosphere):
    """A reference-format mesh_ds folder: 2562 -> 641 -> 161 -> 41 -> 11 vertices."""
    folder = tmp_path_factory.mktemp("mesh_ds")
    write_mesh_ds(build_hierarchy(*icosphere), folder)
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mesh_ds):
    n4 = len(trimesh.load(mesh_ds / "mesh_4.obj", process=False).vertices)
    return _save_reference(tmp_path_factory.mktemp("ref"), reference_state_dict(n4, seed=4))


def _regressor(n: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    rows = rng.random((4, n)) * (rng.random((4, n)) < 0.01)
    rows[:, 0] += 1e-3
    return (rows / rows.sum(1, keepdims=True)).astype(np.float32)


def _bodies(icosphere, n=3):
    rng = np.random.default_rng(2)
    v = icosphere[0][None] * 0.8 + rng.normal(scale=0.02, size=(n, *icosphere[0].shape))
    return (v + rng.normal(size=(n, 1, 3))).astype(np.float32)


@pytest.mark.slow
def test_converted_checkpoint_samples_exactly_what_load_reference_gives(
        tmp_path, mesh_ds, reference, icosphere):
    regressor = _regressor(len(icosphere[0]))
    np.save(tmp_path / "reg.npy", regressor)
    out = tmp_path / "posa_ref.pt"
    assert main(["--reference", str(reference), "--mesh-ds", str(mesh_ds), "--frame-regressor",
                 str(tmp_path / "reg.npy"), "--out", str(out)]) == 0

    ckpt = read_checkpoint(out)
    assert ckpt.meta["frame"] == "reference" and ckpt.meta["source_format"] == "reference"
    assert ckpt.trained and ckpt.hierarchy is not None
    hierarchy = read_mesh_ds(mesh_ds)
    assert ckpt.hierarchy.fingerprint == ckpt.hierarchy_fingerprint == hierarchy.fingerprint

    converted = load_sampler(out, device="cpu")  # no hierarchy given: the embedded one
    assert converted.frame == "reference" and converted.num_vertices == 2562
    direct = Sampler(load_reference(reference, mesh_ds), hierarchy, torch.from_numpy(regressor),
                     torch.device("cpu"), frame="reference")
    bodies = _bodies(icosphere)
    a = converted.sample(bodies, n_samples=4, seed=11, return_semantic_probs=True)
    b = direct.sample(bodies, n_samples=4, seed=11, return_semantic_probs=True)
    np.testing.assert_array_equal(a.contact, b.contact)
    np.testing.assert_array_equal(a.semantics, b.semantics)
    np.testing.assert_array_equal(a.semantic_probs, b.semantic_probs)
    assert not np.array_equal(a.contact[:, 0], a.contact[:, 1])  # samples differ: real maps


@pytest.mark.slow
def test_converted_checkpoint_checks_the_body_mesh(tmp_path, mesh_ds, reference, icosphere):
    out = convert_reference(reference, mesh_ds, tmp_path / "c.pt",
                            frame_regressor=_regressor(len(icosphere[0])))
    sampler = load_sampler(out, device="cpu")
    faces = icosphere[1]
    sampler.check_body(faces[::-1].copy(), "icosphere", num_vertices=2562)  # faces reordered
    rolled = np.roll(faces, 1, axis=1)  # each triangle's corners rotated: the same triangles
    sampler.check_body(rolled, "icosphere", num_vertices=2562)
    perm = np.random.default_rng(0).permutation(2562)
    with pytest.raises(BodyMeshMismatch, match="posa_model.convert"):
        sampler.check_body(perm[faces], "renumbered", num_vertices=2562)
    from posa_model.body import load_body_model

    standin = load_body_model()
    with pytest.raises(BodyMeshMismatch, match="10475 vertices") as info:
        sampler.check_body(standin.faces, "--body standin", num_vertices=standin.num_vertices)
    assert "2562" in str(info.value) and str(out) in str(info.value)


@pytest.mark.slow
def test_cli_refusals(tmp_path, mesh_ds, reference, capsys):
    before = reference.read_bytes()
    args = ["--reference", str(reference), "--mesh-ds", str(mesh_ds)]
    # the output is the input: refused before any work, the input intact
    assert main([*args, "--frame-regressor", "x.npy", "--out", str(reference)]) == 2
    assert "refusing to overwrite an input" in capsys.readouterr().err
    assert reference.read_bytes() == before
    # a mesh_ds that is not the stand-in's needs the body (or a regressor) for the frame joints
    assert main([*args, "--out", str(tmp_path / "c.pt")]) == 2
    assert "--body" in capsys.readouterr().err and not (tmp_path / "c.pt").exists()
    # the stand-in body is not the icosphere of this mesh_ds: refused, naming both meshes
    assert main([*args, "--body", "standin", "--out", str(tmp_path / "c.pt")]) == 2
    assert "not the mesh" in capsys.readouterr().err
    # a .pkl body needs --allow-pickle; --reference needs --mesh-ds
    assert main(["--body", "evil.pkl", "--out", str(tmp_path / "h.npz")]) == 2
    assert "--allow-pickle" in capsys.readouterr().err
    assert main(["--reference", str(reference), "--out", str(tmp_path / "c.pt")]) == 2
    assert "--mesh-ds" in capsys.readouterr().err
    assert main(["--reference", str(tmp_path / "x.pt"), "--mesh-ds", str(mesh_ds),
                 "--frame-regressor", "r.npy", "--out", str(tmp_path / "x.pt")]) == 2
    assert "input" in capsys.readouterr().err


@pytest.mark.slow
def test_embedded_hierarchy_is_checked(tmp_path, mesh_ds, reference, icosphere):
    out = convert_reference(reference, mesh_ds, tmp_path / "c.pt",
                            frame_regressor=_regressor(len(icosphere[0])))
    payload = torch.load(out, weights_only=True)
    spirals = payload["hierarchy"]["spirals"][2]
    spirals[:, 1:] = spirals[:, 1:].flip(1)  # another spiral order: another network
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="fingerprint"):
        read_checkpoint(tmp_path / "edited.pt")
    payload["hierarchy"]["faces"] = "not a list"
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="hierarchy.faces"):
        read_checkpoint(tmp_path / "bad.pt")


@pytest.mark.slow
def test_standin_sampler_refuses_the_hierarchy_of_another_checkpoint(tmp_path, mesh_ds):
    """A converted checkpoint's hierarchy is its own: the stand-in hierarchy is refused."""
    from tools.make_default_checkpoint import make_untrained_checkpoint

    path = make_untrained_checkpoint(tmp_path / "u.pt")
    with pytest.raises(CheckpointError, match="hierarchy"):
        load_sampler(path, device="cpu", hierarchy=mesh_ds)


@pytest.mark.slow
def test_a_body_hierarchy_built_from_the_standin_is_the_shipped_one(tmp_path, capsys):
    """``convert --body`` uses the shipped pipeline: the stand-in gives the shipped hierarchy,
    so a hierarchy built this way for another body is what training and sampling expect."""
    from posa_model.assets import standin_hierarchy
    from posa_model.mesh.hierarchy import load_hierarchy

    assert main(["--body", "standin", "--out", str(tmp_path / "h.npz")]) == 0
    assert "(10475, 2619, 655, 164, 41)" in capsys.readouterr().out
    assert load_hierarchy(tmp_path / "h.npz").fingerprint == standin_hierarchy().fingerprint
    assert main(["--body", "standin", "--out", str(tmp_path / "h.pt")]) == 2
    assert ".npz" in capsys.readouterr().err
