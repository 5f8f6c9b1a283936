"""The sampler on the stand-in: shapes, determinism, batching, frame invariance, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posa_model import load_sampler
from posa_model.body import BodyParts, load_body_model, pose_body
from posa_model.device import DeviceUnavailableError
from posa_model.errors import InputShapeError

V = 10475


@pytest.fixture(scope="module")
def sampler():
    return load_sampler(device="cpu")


@pytest.fixture(scope="module")
def bodies():
    model = load_body_model()
    return pose_body(model, ["sit", "stand"]).vertices


def test_shapes_and_value_ranges(sampler, bodies):
    out = sampler.sample(bodies, n_samples=3, seed=0, return_semantic_probs=True)
    assert out.contact.shape == out.semantics.shape == (2, 3, V)
    assert out.contact.dtype == np.float32 and out.semantics.dtype == np.int64
    assert out.contact.min() >= 0 and out.contact.max() <= 1
    assert out.semantics.min() >= 0 and out.semantics.max() <= 41
    assert (out.semantics[out.contact <= 0.5] == 0).all()
    assert (out.semantics[out.contact > 0.5] > 0).all()
    assert out.semantic_probs.shape == (2, 3, V, 42)
    np.testing.assert_allclose(out.semantic_probs.sum(-1), 1, atol=1e-4)


@pytest.mark.slow
def test_same_seed_same_result_other_seed_differs(sampler, bodies):
    a = sampler.sample(bodies, n_samples=2, seed=7)
    b = sampler.sample(bodies, n_samples=2, seed=7)
    c = sampler.sample(bodies, n_samples=2, seed=8)
    np.testing.assert_array_equal(a.contact, b.contact)
    np.testing.assert_array_equal(a.semantics, b.semantics)
    assert not np.array_equal(a.contact, c.contact)
    assert not np.array_equal(a.contact[0, 0], a.contact[0, 1]), "samples of one body differ"


def test_first_body_of_a_batch_matches_it_alone(sampler, bodies):
    alone = sampler.sample(bodies[:1], n_samples=2, seed=3)
    batch = sampler.sample(bodies, n_samples=2, seed=3)
    np.testing.assert_allclose(batch.contact[:1], alone.contact, atol=1e-5)


def test_maps_do_not_depend_on_position_or_heading(sampler, bodies):
    """The canonical frame removes translation and rotation about the up axis."""
    c, s = np.cos(1.1), np.sin(1.1)
    yaw = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float32)  # rotation about +y
    moved = bodies[0] @ yaw.T + np.array([3.0, 0.2, -5.0], np.float32)
    a = sampler.sample(bodies[0], n_samples=2, seed=1)
    b = sampler.sample(moved.astype(np.float32), n_samples=2, seed=1)
    np.testing.assert_allclose(a.contact, b.contact, atol=2e-4)


def test_accepts_torch_and_single_body(sampler, bodies):
    out = sampler.sample(torch.from_numpy(bodies[0]), n_samples=1, seed=0)
    assert out.contact.shape == (1, 1, V)


@pytest.mark.parametrize(
    "vertices, message",
    [
        (np.zeros((1, 6890, 3), np.float32), "6890 vertices"),
        (np.zeros((1, V, 2), np.float32), r"\(B, V, 3\)"),
        (np.full((1, V, 3), np.nan, np.float32), "finite"),
        (np.zeros((1, 1, V, 3), np.float32), r"\(B, V, 3\)"),
    ],
)
def test_bad_vertices_are_reported(sampler, vertices, message):
    with pytest.raises(InputShapeError, match=message):
        sampler.sample(vertices)


def test_bad_sample_count(sampler, bodies):
    with pytest.raises(InputShapeError, match="n_samples"):
        sampler.sample(bodies, n_samples=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda():
    with pytest.raises(DeviceUnavailableError, match="CUDA is not available"):
        load_sampler(device="cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(sampler, bodies):
    gpu = load_sampler(device="cuda").sample(bodies, n_samples=2, seed=5)
    cpu = sampler.sample(bodies, n_samples=2, seed=5)
    np.testing.assert_allclose(gpu.contact, cpu.contact, atol=1e-4)


@pytest.mark.slow
def test_shipped_checkpoint_is_trained_and_sits_on_a_seat(sampler):
    """On the stand-in in the sit preset most contact mass lies on buttocks/thighs and soles,
    touching the floor and a seat class."""
    assert sampler.trained, "the package should ship a trained checkpoint"
    model = load_body_model()
    seated = BodyParts.from_model(model).mask("pelvis", "thighs", "feet")
    vertices = pose_body(model, "sit").vertices[0]
    out = sampler.sample(vertices, n_samples=16, seed=0)
    contact = out.contact[0]
    assert contact[:, seated].sum() / contact.sum() > 0.8
    classes = {}
    for k in range(16):
        for name, count in out.classes_in_contact(0, k).items():
            classes[name] = classes.get(name, 0) + count
    seat = sum(classes.get(c, 0) for c in ("chair", "sofa", "bed", "stool", "toilet"))
    assert classes.get("floor", 0) > 0 and seat > 0.2 * sum(classes.values())
