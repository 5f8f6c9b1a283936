"""posa_model.frames: Blender axes and the canonical body frame.

Bodies are posed with a small forward-kinematics routine (independent of smplx) on the synthetic
T-pose skeleton of tests/test_body_loader.py, using the pose presets; "vertices" are points
rigidly attached to the joints.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation
from test_body_loader import fake_joints

from posa_model.body import PARENTS, PRESETS
from posa_model.errors import InputShapeError
from posa_model.frames import (
    BLENDER_TO_SMPLX,
    FRAME_JOINTS,
    SMPLX_TO_BLENDER,
    blender_to_smplx,
    canonical_joints_from_vertices,
    canonicalize,
    smplx_to_blender,
    yaw_rotation,
)

REST = fake_joints()
_RNG = np.random.default_rng(7)
_ANCHORS = _RNG.integers(0, 55, size=300)
_OFFSETS = _RNG.normal(0, 0.05, size=(300, 3))


def posed(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (300, 3), joints (55, 3)) of preset ``name`` by forward kinematics."""
    preset = PRESETS[name]
    local = np.zeros((55, 3))
    local[0] = preset.global_orient
    local[1:22] = preset.body_pose.reshape(21, 3)
    rots = Rotation.from_rotvec(local).as_matrix()
    world = np.zeros((55, 3, 3))
    joints = np.zeros((55, 3))
    world[0], joints[0] = rots[0], REST[0]
    for j in range(1, 55):
        p = PARENTS[j]
        world[j] = world[p] @ rots[j]
        joints[j] = joints[p] + world[p] @ (REST[j] - REST[p])
    verts = joints[_ANCHORS] + np.einsum("nij,nj->ni", world[_ANCHORS], _OFFSETS)
    return verts, joints


def yaw(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def body_axes(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lateral, trunk, forward) unit vectors of joints in any frame."""
    a = joints[1] - joints[2]
    a = a / np.linalg.norm(a)
    u = joints[9] - joints[0]
    f = np.cross(a, u)
    return a, u / np.linalg.norm(u), f / np.linalg.norm(f)


POSES = tuple(PRESETS)
poses = st.sampled_from(POSES)
angles = st.floats(-math.pi, math.pi, allow_nan=False)
shifts = st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=3)


# --------------------------------------------------------------------------------------------
# Blender axes


def test_blender_axes():
    up, forward, left = np.eye(3)[1], np.eye(3)[2], np.eye(3)[0]
    np.testing.assert_array_equal(smplx_to_blender(up), [0, 0, 1])  # up stays up
    np.testing.assert_array_equal(smplx_to_blender(forward), [0, -1, 0])  # faces Blender front
    np.testing.assert_array_equal(smplx_to_blender(left), [1, 0, 0])
    np.testing.assert_array_equal(smplx_to_blender(np.array([1.0, 2.0, 3.0])), [1, -3, 2])
    np.testing.assert_allclose(SMPLX_TO_BLENDER, Rotation.from_euler("x", 90, True).as_matrix(),
                               atol=1e-15)  # fmt: skip
    np.testing.assert_array_equal(BLENDER_TO_SMPLX @ SMPLX_TO_BLENDER, np.eye(3))
    assert np.linalg.det(SMPLX_TO_BLENDER) == pytest.approx(1.0)
    pts = _RNG.normal(size=(4, 7, 3))
    np.testing.assert_allclose(smplx_to_blender(pts), pts @ SMPLX_TO_BLENDER.T)
    np.testing.assert_allclose(blender_to_smplx(pts), pts @ BLENDER_TO_SMPLX.T)
    np.testing.assert_array_equal(blender_to_smplx(smplx_to_blender(pts)), pts)
    t = torch.from_numpy(pts).float()
    assert torch.equal(smplx_to_blender(blender_to_smplx(t)), t)
    assert smplx_to_blender(t).dtype == torch.float32
    with pytest.raises(InputShapeError):
        smplx_to_blender(np.zeros((4, 2)))


# --------------------------------------------------------------------------------------------
# the canonical frame: definition


def test_rest_pose_is_already_canonical():
    verts, joints = posed("t_pose")
    frame = canonicalize(verts, joints)
    np.testing.assert_allclose(frame.rotation, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(frame.joints, joints - joints[0], atol=1e-12)
    np.testing.assert_allclose(frame.translation, -joints[0], atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(lambda q: np.dot(q, q) > 0.01))
def test_theta_maximises_chordal_alignment(quat):
    body = Rotation.from_quat(quat).as_matrix()  # B: columns = lateral, up', forward
    # Joints whose body axes are exactly B's columns.
    joints = np.zeros((4, 3))
    joints[1], joints[2], joints[3] = body[:, 0] * 0.1, -body[:, 0] * 0.1, body[:, 1] * 0.4
    rot = yaw_rotation(*joints)
    best = np.trace(rot @ body)
    grid = np.linspace(-math.pi, math.pi, 721)
    assert best >= max(np.trace(yaw(t) @ body) for t in grid) - 1e-9
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert rot[1, 1] == pytest.approx(1.0)  # a pure rotation about +y


def test_yawed_standing_body_faces_forward():
    verts, joints = posed("stand")
    for theta in (0.3, -2.0, math.pi - 1e-6, 3.0):
        frame = canonicalize(verts @ yaw(theta).T, joints @ yaw(theta).T)
        a, u, f = body_axes(frame.joints)
        assert a @ [1, 0, 0] > 0.99  # left at +x
        assert f @ [0, 0, 1] > 0.99  # faces +z
        assert u @ [0, 1, 0] > 0.99  # trunk up


# --------------------------------------------------------------------------------------------
# invariance, idempotence, tilt kept


@settings(max_examples=80, deadline=None)
@given(poses, angles, shifts)
def test_invariant_to_yaw_and_translation(name, theta, shift):
    verts, joints = posed(name)
    ref = canonicalize(verts, joints)
    moved = canonicalize(verts @ yaw(theta).T + shift, joints @ yaw(theta).T + shift)
    np.testing.assert_allclose(moved.vertices, ref.vertices, atol=1e-9)
    np.testing.assert_allclose(moved.joints, ref.joints, atol=1e-9)
    # The stored motion maps the moved input onto the canonical body, and back.
    np.testing.assert_allclose(moved.apply(verts @ yaw(theta).T + shift), ref.vertices, atol=1e-9)
    np.testing.assert_allclose(moved.to_world(moved.vertices), verts @ yaw(theta).T + shift,
                               atol=1e-9)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(poses, angles)
def test_idempotent(name, theta):
    verts, joints = posed(name)
    once = canonicalize(verts @ yaw(theta).T, joints @ yaw(theta).T)
    twice = canonicalize(once.vertices, once.joints)
    np.testing.assert_allclose(twice.rotation, np.eye(3), atol=1e-9)
    np.testing.assert_allclose(twice.vertices, once.vertices, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "trunk_up"),
    [("stand", (0.97, 1.0)), ("sit", (0.97, 1.0)), ("lean_back", (0.9, 0.995)),
     ("lie_back", (-0.2, 0.2)), ("lie_side", (-0.2, 0.2)), ("kneel", (0.97, 1.0))],
)  # fmt: skip
def test_tilt_is_kept(name, trunk_up):
    verts, joints = posed(name)
    frame = canonicalize(verts @ yaw(1.234).T, joints @ yaw(1.234).T)
    a, u, f = body_axes(frame.joints)
    assert trunk_up[0] <= u[1] <= trunk_up[1]
    if name == "lie_back":
        assert f[1] > 0.95  # facing up
        assert a[0] > 0.95  # left at +x
    if name == "lie_side":
        assert a[1] > 0.95  # left side up
        assert f[2] > 0.95  # facing +z
    if name in ("stand", "sit", "kneel", "lean_back"):
        assert f[2] > 0.95 and a[0] > 0.99


def test_standing_and_lying_stay_distinguishable():
    trunks = {}
    for name in ("stand", "lie_back", "lie_side"):
        verts, joints = posed(name)
        frame = canonicalize(verts @ yaw(-0.7).T, joints @ yaw(-0.7).T)
        trunks[name] = body_axes(frame.joints)[1]
    assert trunks["stand"][1] > 0.97
    assert abs(trunks["lie_back"][1]) < 0.2 and abs(trunks["lie_side"][1]) < 0.2


@pytest.mark.parametrize("name", ["lie_side", "lie_back"])
def test_continuous_near_lying(name):
    """Small rotations of a lying body move its canonical form by about as much, never a jump."""
    verts, joints = posed(name)
    ref = canonicalize(verts, joints).vertices
    rng = np.random.default_rng(3)
    for _ in range(200):
        eps = 1e-3
        small = Rotation.from_rotvec(rng.normal(size=3) * eps).as_matrix()
        moved = canonicalize(verts @ small.T, joints @ small.T).vertices
        # Points lie within ~1.3 m of the pelvis; a rotation by |w| moves them by <= 1.3 |w|.
        assert np.abs(moved - ref).max() < 1.5 * 4 * eps


def test_upside_down_is_finite():
    verts, joints = posed("stand")
    flip = Rotation.from_euler("x", 180, degrees=True).as_matrix()
    frame = canonicalize(verts @ flip.T, joints @ flip.T)
    assert np.isfinite(frame.vertices).all() and np.isfinite(frame.rotation).all()


# --------------------------------------------------------------------------------------------
# numpy / torch, dtypes, batches, shapes


def _batch(names=("stand", "lie_side", "sit")):
    pairs = [posed(n) for n in names]
    verts = np.stack([p[0] for p in pairs]) @ yaw(0.4).T + [1.0, 0.2, -3.0]
    joints = np.stack([p[1] for p in pairs]) @ yaw(0.4).T + [1.0, 0.2, -3.0]
    return verts, joints


def test_numpy_and_torch_agree():
    verts, joints = _batch()
    ref = canonicalize(verts, joints)
    out = canonicalize(torch.from_numpy(verts), torch.from_numpy(joints))
    for name in ("vertices", "joints", "rotation", "translation"):
        value = getattr(out, name)
        assert isinstance(value, torch.Tensor) and value.dtype == torch.float64
        np.testing.assert_allclose(value.numpy(), getattr(ref, name), atol=1e-12)
    out32 = canonicalize(torch.from_numpy(verts).float(), torch.from_numpy(joints).float())
    assert out32.vertices.dtype == torch.float32
    np.testing.assert_allclose(out32.vertices.numpy(), ref.vertices, atol=1e-5)
    ref32 = canonicalize(verts.astype(np.float32), joints.astype(np.float32))
    assert ref32.vertices.dtype == np.float32 and ref32.rotation.dtype == np.float32


def test_torch_gradients_flow():
    verts, joints = _batch()
    v = torch.from_numpy(verts).requires_grad_()
    j = torch.from_numpy(joints).requires_grad_()
    canonicalize(v, j).vertices.square().sum().backward()
    assert torch.isfinite(v.grad).all() and torch.isfinite(j.grad).all()
    assert j.grad.abs().sum() > 0


def test_batch_shapes_match_per_item():
    verts, joints = _batch()
    whole = canonicalize(verts, joints)
    assert whole.vertices.shape == verts.shape and whole.rotation.shape == (3, 3, 3)
    assert whole.translation.shape == (3, 3)
    for i in range(3):
        single = canonicalize(verts[i], joints[i])
        np.testing.assert_allclose(whole.vertices[i], single.vertices, atol=1e-12)
    nested = canonicalize(np.stack([verts, verts]), np.stack([joints, joints]))
    assert nested.vertices.shape == (2, *verts.shape) and nested.rotation.shape == (2, 3, 3, 3)
    only_joints = canonicalize(None, joints)
    assert only_joints.vertices is None
    np.testing.assert_allclose(only_joints.joints, whole.joints)


def test_frame_joints_and_regressor():
    verts, joints = _batch()
    # A regressor whose rows average a few "vertices": put the joints among the vertices.
    cloud = np.concatenate([verts, joints], axis=1)
    regressor = np.zeros((55, cloud.shape[1]))
    regressor[np.arange(55), verts.shape[1] + np.arange(55)] = 1.0
    full = canonical_joints_from_vertices(cloud, regressor)
    np.testing.assert_allclose(full, joints)
    four = canonical_joints_from_vertices(cloud, regressor[list(FRAME_JOINTS)])
    assert four.shape == (3, 4, 3)
    np.testing.assert_allclose(
        canonicalize(cloud, four).vertices, canonicalize(cloud, full).vertices, atol=1e-12
    )
    t = canonical_joints_from_vertices(torch.from_numpy(cloud).float(), regressor)
    assert t.dtype == torch.float32 and t.shape == (3, 55, 3)
    with pytest.raises(InputShapeError, match="regressor"):
        canonical_joints_from_vertices(cloud, regressor[:10])


@pytest.mark.parametrize(
    ("verts", "joints", "pattern"),
    [
        (np.zeros((10, 3)), np.zeros((5, 3)), "J == 4"),
        (np.zeros((10, 3)), np.zeros((55, 2)), r"joints.*\(\.\.\., 3\)"),
        (np.zeros((10, 2)), np.zeros((55, 3)), r"vertices.*\(\.\.\., 3\)"),
        (np.zeros((2, 10, 3)), np.zeros((3, 55, 3)), "batch shape"),
        (np.zeros((10, 3)), np.zeros((55, 3), dtype=np.int64), "float"),
        (torch.zeros(10, 3), np.zeros((55, 3)), "numpy or both torch"),
        (np.zeros((10, 3)), [[0.0, 0.0, 0.0]] * 55, "no shape"),
    ],
)
def test_bad_shapes(verts, joints, pattern):
    with pytest.raises(InputShapeError, match=pattern):
        canonicalize(verts, joints)
