"""The one posing function (BodyModel.forward) against smplx's own forward, its gradients,
vertex subsets (hierarchy levels), body parts, and BodyPose batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posa_model.body import BodyParts, BodyPose, load_body_model, pose_body, standin_path
from posa_model.errors import InputShapeError, UnknownNameError


@pytest.fixture(scope="module")
def standin():
    return load_body_model()


@pytest.fixture(scope="module")
def corrective_model(tmp_path_factory):
    """The stand-in with random pose correctives (real SMPL-X has them, the stand-in has none),
    and 300 shape components, so that every term of the skinning is exercised."""
    with np.load(standin_path(), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    rng = np.random.default_rng(0)
    arrays["posedirs"] = (rng.normal(size=arrays["posedirs"].shape) * 1e-3).astype(np.float32)
    path = tmp_path_factory.mktemp("model") / "SMPLX_NEUTRAL.npz"
    np.savez(path, **arrays)
    return load_body_model(path, num_betas=16)


def random_pose(batch: int, seed: int = 0, num_betas: int = 10) -> BodyPose:
    rng = np.random.default_rng(seed)
    return BodyPose(rng.normal(size=(batch, 3)) * 0.5, rng.normal(size=(batch, 63)) * 0.3,
                    betas=rng.normal(size=(batch, num_betas)), transl=rng.normal(size=(batch, 3)),
                    left_hand_pose=rng.normal(size=(batch, 45)) * 0.2,
                    right_hand_pose=rng.normal(size=(batch, 45)) * 0.2,
                    jaw_pose=rng.normal(size=(batch, 3)) * 0.1,
                    expression=rng.normal(size=(batch, 10)))


def smplx_forward(model, pose: BodyPose):
    """smplx.SMPLX.forward itself, the reference."""
    kw = {k: torch.tensor(v) for k, v in pose.with_betas(model.num_betas).arrays().items()}
    zeros = torch.zeros(len(pose), 3)
    with torch.no_grad():
        out = model.smplx(**kw, leye_pose=zeros, reye_pose=zeros)
    return out.vertices.numpy(), out.joints[:, :55].numpy()


@pytest.mark.parametrize("which", ["standin", "corrective_model"])
def test_forward_equals_smplx(which, request):
    model = request.getfixturevalue(which)
    pose = random_pose(4, num_betas=model.num_betas)
    ours = pose_body(model, pose)
    vertices, joints = smplx_forward(model, pose)
    assert ours.vertices.shape == (4, model.num_vertices, 3)
    np.testing.assert_allclose(ours.vertices, vertices, atol=2e-5)
    np.testing.assert_allclose(ours.joints, joints, atol=2e-5)


def test_subset_is_the_same_vertices(corrective_model):
    model = corrective_model
    pose = random_pose(3, seed=1, num_betas=model.num_betas)
    index = np.random.default_rng(2).choice(model.num_vertices, 655, replace=False)
    full = pose_body(model, pose)
    part = pose_body(model.subset(index), pose)
    np.testing.assert_allclose(part.vertices, full.vertices[:, index], atol=1e-5)
    np.testing.assert_allclose(part.joints, full.joints, atol=1e-6)
    inner = model.subset(index).subset(np.arange(10))  # a subset of a subset
    np.testing.assert_allclose(pose_body(inner, pose).vertices, full.vertices[:, index[:10]],
                               atol=1e-5)
    with pytest.raises(InputShapeError, match="vertex ids"):
        model.subset([model.num_vertices])


def test_gradients_match_smplx(corrective_model):
    """Gradients of a scalar of the vertices with respect to pose, shape and translation
    equal those through smplx's forward (float64 both)."""
    model = corrective_model.to(dtype=torch.float64)
    ref = corrective_model.smplx.to(torch.float64)
    pose = random_pose(2, seed=3, num_betas=model.num_betas)
    weights = torch.tensor(np.random.default_rng(4).normal(size=(2, model.num_vertices, 3)))

    def grads(run, weights=weights):
        inputs = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
                  for k, v in pose.arrays().items() if k != "expression"}
        (run(inputs) * weights).sum().backward()
        return {k: v.grad.numpy() for k, v in inputs.items()}

    ours = grads(lambda kw: model.forward(**kw).vertices)
    zeros = torch.zeros(2, 3, dtype=torch.float64)
    theirs = grads(lambda kw: ref(**kw, leye_pose=zeros, reye_pose=zeros,
                                  expression=torch.zeros(2, 10, dtype=torch.float64)).vertices)
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-7, atol=1e-8,
                                   err_msg=key)
    assert np.abs(ours["body_pose"]).max() > 0 and np.abs(ours["betas"]).max() > 0
    # a vertex subset (a hierarchy level, as placement refines poses) has smplx's gradients of
    # the same vertices
    index = np.random.default_rng(5).choice(model.num_vertices, 655, replace=False)
    part = grads(lambda kw: model.subset(index).forward(**kw).vertices, weights[:, index])
    theirs = grads(lambda kw: ref(**kw, leye_pose=zeros, reye_pose=zeros,
                                  expression=torch.zeros(2, 10, dtype=torch.float64)
                                  ).vertices[:, index], weights[:, index])
    for key in part:
        np.testing.assert_allclose(part[key], theirs[key], rtol=1e-7, atol=1e-8,
                                   err_msg=f"subset {key}")


def test_forward_checks_shapes(standin):
    with pytest.raises(InputShapeError, match="body_pose"):
        standin.forward(torch.zeros(2, 3), torch.zeros(2, 60))
    out = standin.forward(torch.zeros(2, 3), torch.zeros(2, 63), betas=torch.ones(2, 30))
    assert out.vertices.shape == (2, standin.num_vertices, 3)  # extra betas are cut


def test_body_parts(standin):
    parts = BodyParts.from_model(standin)
    v = pose_body(standin, "t_pose").vertices[0]
    assert set(parts.masks) >= {"pelvis", "thighs", "feet", "hands", "torso"}
    assert sum(m.sum() for m in parts.masks.values()) == standin.num_vertices
    assert v[parts.regions["left_hand"], 0].min() > 0.5  # the left hand is at +x, arm out
    assert v[parts.regions["right_sole"], 1].max() < v[:, 1].min() + 0.03
    back, torso = parts.regions["back"], parts.masks["torso"]
    assert v[back, 2].mean() < v[torso & ~back, 2].mean()  # the back is behind (-z)
    assert parts.mask("left_palm", "right_palm").sum() == (
        parts.regions["left_palm"].sum() + parts.regions["right_palm"].sum())
    with pytest.raises(UnknownNameError, match="body part"):
        parts.mask("tail")


def test_body_pose_batches():
    pose = BodyPose.from_preset(["sit", "stand", "kneel"])
    assert len(pose) == 3 and pose.names == ("sit", "stand", "kneel")
    assert pose.take([2]).names == ("kneel",) and len(pose.repeat(2)) == 6
    wide = BodyPose.concatenate([pose.take([0]), pose.take([1]).with_betas(16)])
    assert wide.betas.shape == (2, 16)
    taken = pose.take(slice(0, 1))
    taken.body_pose[0, 0] = 9.0  # a copy
    assert pose.body_pose[0, 0] != 9.0
    with pytest.raises(InputShapeError, match="finite"):
        BodyPose(np.full(3, np.nan), np.zeros(63))
    with pytest.raises(InputShapeError, match="names"):
        BodyPose(np.zeros((2, 3)), np.zeros((2, 63)), names=("one",))
