"""Pose files: our/PROX-style fields and AMASS 'poses', with errors naming file and field."""

from __future__ import annotations

import numpy as np
import pytest

from posa_model.body import BodyPose
from posa_model.body.pose import read_pose_file as load_pose_file
from posa_model.errors import InputShapeError


def test_prox_style_fields(tmp_path):
    path = tmp_path / "pose.npz"
    np.savez(path, global_orient=np.ones((1, 3)), body_pose=np.zeros((1, 63)),
             betas=np.arange(10.0)[None], transl=np.array([0.0, 1.0, 2.0]))
    pose = load_pose_file(path)
    assert pose.global_orient.tolist() == [[1, 1, 1]] and pose.body_pose.shape == (1, 63)
    assert pose.betas.shape == (1, 10) and pose.transl.tolist() == [[0, 1, 2]]
    assert pose.names == ("pose",)


def test_amass_poses_frame(tmp_path):
    path = tmp_path / "amass.npz"
    poses = np.arange(5 * 165, dtype=np.float64).reshape(5, 165) / 1000
    np.savez(path, poses=poses, trans=np.zeros((5, 3)), betas=np.zeros(16))
    pose = load_pose_file(path, frame=2)
    np.testing.assert_allclose(pose.global_orient[0], poses[2, :3], rtol=1e-6)
    np.testing.assert_allclose(pose.body_pose[0], poses[2, 3:66], rtol=1e-6)
    with pytest.raises(InputShapeError, match="frame 9"):
        load_pose_file(path, frame=9)
    every = load_pose_file(path, frame=None)
    assert len(every) == 5 and every.betas.shape == (5, 16)
    np.testing.assert_allclose(every.body_pose, poses[:, 3:66], rtol=1e-6)


def test_round_trip_every_field(tmp_path):
    rng = np.random.default_rng(0)
    pose = BodyPose(rng.normal(size=(3, 3)), rng.normal(size=(3, 63)),
                    betas=rng.normal(size=(3, 10)), transl=rng.normal(size=(3, 3)),
                    left_hand_pose=rng.normal(size=(3, 45)),
                    right_hand_pose=rng.normal(size=(3, 45)), jaw_pose=rng.normal(size=(3, 3)),
                    expression=rng.normal(size=(3, 10)), names=("a", "b", "c"))
    path = pose.to_file(tmp_path / "three.npz")
    back = BodyPose.from_file(path, frame=None)
    assert back.names == ("a", "b", "c")
    for key, value in pose.arrays().items():
        np.testing.assert_array_equal(getattr(back, key), value)
    with np.load(path, allow_pickle=False) as data:  # SMPL-X-style, readable without pickle
        assert data["global_orient"].shape == (3, 3) and data["body_pose"].shape == (3, 63)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"global_orient": np.zeros(3), "body_pose": np.zeros(60)}, "'body_pose' has shape"),
        ({"global_orient": np.zeros((2, 3)), "body_pose": np.zeros((3, 63))}, "3 rows"),
        ({"global_orient": np.full(3, np.nan), "body_pose": np.zeros(63)}, "NaN"),
        ({"something": np.zeros(3)}, "no pose found"),
        ({"poses": np.zeros((2, 10))}, "'poses' has shape"),
    ],
)
def test_bad_pose_files_name_the_field(tmp_path, fields, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **fields)
    with pytest.raises(InputShapeError, match=message) as info:
        load_pose_file(path)
    assert "bad.npz" in str(info.value)


def test_missing_wrong_type_and_pickled_files(tmp_path):
    with pytest.raises(InputShapeError, match="not found"):
        load_pose_file(tmp_path / "none.npz")
    (tmp_path / "pose.pkl").write_bytes(b"x")
    with pytest.raises(InputShapeError, match=".npz"):
        load_pose_file(tmp_path / "pose.pkl")
    path = tmp_path / "obj.npz"
    np.savez(path, global_orient=np.array([{"code": 1}], dtype=object), body_pose=np.zeros(63))
    with pytest.raises(InputShapeError, match="'global_orient'"):
        load_pose_file(path)


def test_pickle_only_when_trusted(tmp_path):
    import pickle

    path = tmp_path / "fit.pkl"
    with open(path, "wb") as f:
        pickle.dump({"global_orient": np.zeros((1, 3)), "body_pose": np.full((1, 63), 0.1),
                     "betas": np.zeros((1, 10))}, f)
    with pytest.raises(InputShapeError, match="runs code"):
        load_pose_file(path)
    pose = load_pose_file(path, allow_pickle=True)
    np.testing.assert_allclose(pose.body_pose, 0.1)
    assert pose.betas.shape == (1, 10)
    with open(path, "wb") as f:
        pickle.dump([1, 2], f)
    with pytest.raises(InputShapeError, match="expected a dict"):
        load_pose_file(path, allow_pickle=True)
