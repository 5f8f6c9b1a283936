"""The one body-mesh check: a body must be the checkpoint's mesh, in its vertex order.

Reproduces issue 12: a model file holding the stand-in's vertices in another order sampled
"sofa 223, bed 105, table 16" for a sitting pose with exit 0; a real-SMPL-X-like body (20,908
faces against the stand-in's 20,946) was accepted on its vertex count alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from posa_model.body import load_body_model, standin_path
from posa_model.nn.mesh_check import (
    BodyMeshMismatch,
    canonical_triangles,
    check_body_mesh,
    faces_match,
)
from posa_model.sample import load_sampler, main


def _write_model(path, perm=None, faces=None):
    """The stand-in's model file with its vertices renumbered by ``perm`` (new i = old
    perm[i]) and/or other faces."""
    with np.load(standin_path(), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if perm is not None:
        inverse = np.empty_like(perm)
        inverse[perm] = np.arange(len(perm))
        for key in ("v_template", "weights", "shapedirs", "posedirs", "part_labels"):
            arrays[key] = arrays[key][perm]
        arrays["J_regressor"] = arrays["J_regressor"][:, perm]
        arrays["f"] = inverse[arrays["f"].astype(np.int64)].astype(np.uint32)
    if faces is not None:
        arrays["f"] = faces.astype(np.uint32)
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def sampler():
    return load_sampler(device="cpu")


@pytest.fixture(scope="module")
def standin():
    return load_body_model()


def test_triangles_compare_up_to_corner_rotation_and_face_order():
    faces = np.array([[0, 1, 2], [2, 3, 0], [1, 3, 2]])
    rotated = np.array([[1, 2, 0], [0, 2, 3], [3, 2, 1]])  # each triangle's corners rotated
    assert faces_match(rotated, faces)
    assert faces_match(faces[[2, 0, 1]], faces)  # faces in another order
    assert not faces_match(faces[:, [0, 2, 1]], faces)  # flipped: another orientation
    assert not faces_match(np.array([[1, 0, 2], [2, 3, 1], [0, 3, 2]]), faces)  # 0 <-> 1
    assert not faces_match(faces[:2], faces)
    np.testing.assert_array_equal(canonical_triangles(rotated), canonical_triangles(faces))


def test_the_standin_passes_and_a_renumbered_standin_fails(sampler, standin):
    sampler.check_body(standin.faces, "--body standin", num_vertices=standin.num_vertices)
    shuffled = standin.faces[np.random.default_rng(0).permutation(len(standin.faces))]
    sampler.check_body(np.roll(shuffled, 1, axis=1), "shuffled", num_vertices=10475)
    perm = np.random.default_rng(1).permutation(10475)
    with pytest.raises(BodyMeshMismatch) as info:
        sampler.check_body(perm[standin.faces], "renumbered", num_vertices=10475)
    message = str(info.value)
    assert "renumbered" in message and "another vertex order" in message
    assert "posa_model.convert" in message and "synthesize --body" in message
    with pytest.raises(BodyMeshMismatch, match="vertices"):
        check_body_mesh(standin.faces, sampler.hierarchy, "x", num_vertices=10474)


@pytest.mark.slow
def test_sample_cli_refuses_the_standin_in_another_vertex_order(tmp_path, capsys):
    perm = np.random.default_rng(2).permutation(10475)
    model = _write_model(tmp_path / "SMPLX_NEUTRAL.npz", perm=perm)
    out = tmp_path / "x.ply"
    assert main(["--body", str(model), "--pose", "sit", "--device", "cpu",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(model) in err and "is not the mesh" in err and "posa_model.convert" in err
    assert not out.exists()
    # the same file with the stand-in's order restored samples fine
    assert main(["--body", str(_write_model(tmp_path / "same.npz", perm=np.arange(10475))),
                 "--device", "cpu", "--out", str(out)]) == 0


@pytest.mark.slow
def test_a_real_smplx_face_count_is_refused_with_the_counts(tmp_path, sampler, standin,
                                                            capsys):
    """Real SMPL-X has 20,908 faces, the stand-in 20,946 on the same 10,475 vertices."""
    faces = standin.faces[:20908]
    with pytest.raises(BodyMeshMismatch) as info:
        sampler.check_body(faces, "--body SMPLX_NEUTRAL.npz", num_vertices=10475)
    message = str(info.value)
    assert "20908 faces: real SMPL-X's topology" in message and "20946" in message
    assert "reference POSA weights" in message
    model = _write_model(tmp_path / "fewer.npz", faces=faces)
    assert main(["--body", str(model), "--device", "cpu", "--out",
                 str(tmp_path / "x.ply")]) == 2
    assert "20908 faces" in capsys.readouterr().err


def test_bad_face_arrays_are_named(sampler):
    with pytest.raises(BodyMeshMismatch, match=r"\(F, 3\) integer"):
        sampler.check_body(np.zeros((4, 3)), "floats")
    with pytest.raises(BodyMeshMismatch, match=r"\(F, 3\) integer"):
        sampler.check_body(np.zeros((4, 4), int), "quads")
