"""load_body_model: files, folders, pickles, and the validation of every field smplx reads.

The tests build a synthetic SMPL-X-format file (10475 random vertices, a plausible T-pose
skeleton of the real 55 joints, one-hot regressor and weights) so they need neither SMPL-X nor
the stand-in asset. ``fake_smplx_arrays`` is reused by tests/test_presets.py.
"""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
import torch

from posa_model.body import JOINT_NAMES, PARENTS, load_body_model, standin_path
from posa_model.body.joints import kintree_table
from posa_model.body.loader import validate_arrays
from posa_model.errors import InputShapeError, ModelFileError, UnknownNameError

NUM_VERTS = 10475

# T-pose joint offsets from the pelvis (metres, +y up, facing +z, left at +x), roughly SMPL-X's.
_BODY_JOINTS = {
    "pelvis": (0.0, 0.0, 0.0), "left_hip": (0.06, -0.09, -0.01),
    "right_hip": (-0.06, -0.09, -0.01), "spine1": (0.0, 0.11, -0.02),
    "left_knee": (0.11, -0.47, 0.0), "right_knee": (-0.11, -0.47, 0.0),
    "spine2": (0.0, 0.25, 0.0), "left_ankle": (0.09, -0.87, -0.04),
    "right_ankle": (-0.09, -0.87, -0.04), "spine3": (0.0, 0.31, 0.02),
    "left_foot": (0.12, -0.93, 0.08), "right_foot": (-0.12, -0.93, 0.08),
    "neck": (0.0, 0.52, -0.01), "left_collar": (0.08, 0.43, 0.0),
    "right_collar": (-0.08, 0.43, 0.0),
    "head": (0.0, 0.60, 0.03), "left_shoulder": (0.17, 0.46, -0.02),
    "right_shoulder": (-0.17, 0.46, -0.02), "left_elbow": (0.43, 0.45, -0.04),
    "right_elbow": (-0.43, 0.45, -0.04), "left_wrist": (0.69, 0.45, -0.03),
    "right_wrist": (-0.69, 0.45, -0.03), "jaw": (0.0, 0.63, 0.05),
    "left_eye_smplhf": (0.03, 0.68, 0.09), "right_eye_smplhf": (-0.03, 0.68, 0.09),
}  # fmt: skip
_FINGER_Z = {"index": 0.03, "middle": 0.01, "pinky": -0.04, "ring": -0.015, "thumb": 0.05}


def fake_joints() -> np.ndarray:
    """(55, 3) T-pose joints of the synthetic model, pelvis at (0, -0.35, 0)."""
    out = np.zeros((55, 3))
    for i, name in enumerate(JOINT_NAMES):
        if name in _BODY_JOINTS:
            out[i] = _BODY_JOINTS[name]
            continue
        side, finger, k = name.split("_")[0], name.split("_")[1][:-1], int(name[-1])
        sign = 1.0 if side == "left" else -1.0
        start = 0.05 if finger == "thumb" else 0.09
        out[i] = (sign * (0.69 + start + 0.03 * (k - 1)), 0.44, _FINGER_Z[finger])
    return out + np.array([0.0, -0.35, 0.0])


def fake_smplx_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Every field smplx.SMPLX reads, with SMPL-X's shapes; joints regress to fake_joints()."""
    rng = np.random.default_rng(seed)
    joints = fake_joints()
    verts = rng.uniform([-0.8, -1.3, -0.15], [0.8, 0.4, 0.15], size=(NUM_VERTS, 3))
    verts[:55] = joints
    regressor = np.zeros((55, NUM_VERTS))
    regressor[np.arange(55), np.arange(55)] = 1.0
    nearest = np.argmin(((verts[:, None] - joints[None]) ** 2).sum(-1), axis=1)
    weights = np.zeros((NUM_VERTS, 55))
    weights[np.arange(NUM_VERTS), nearest] = 1.0
    faces = np.stack([np.arange(NUM_VERTS - 2), np.arange(1, NUM_VERTS - 1),
                      np.arange(2, NUM_VERTS)], axis=1).astype(np.uint32)  # fmt: skip
    return {
        "v_template": verts,
        "f": faces,
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": kintree_table(),
        "shapedirs": rng.normal(0, 1e-3, size=(NUM_VERTS, 3, 20)),
        "posedirs": np.zeros((NUM_VERTS * 3, 486), dtype=np.float32),
        "hands_componentsl": np.eye(45),
        "hands_componentsr": np.eye(45),
        "hands_meanl": np.zeros(45),
        "hands_meanr": np.zeros(45),
        "lmk_faces_idx": rng.integers(0, NUM_VERTS - 2, size=51).astype(np.int64),
        "lmk_bary_coords": np.full((51, 3), 1.0 / 3.0),
        "dynamic_lmk_faces_idx": rng.integers(0, NUM_VERTS - 2, size=(79, 17)).astype(np.int64),
        "dynamic_lmk_bary_coords": np.full((79, 17, 3), 1.0 / 3.0),
    }


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return fake_smplx_arrays()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, arrays):
    root = tmp_path_factory.mktemp("models")
    (root / "smplx").mkdir()
    np.savez_compressed(root / "smplx" / "SMPLX_NEUTRAL.npz", **arrays)
    return root


def _forward(model):
    with torch.no_grad():
        return model.forward(torch.zeros(1, 3), torch.zeros(1, 63))


# --------------------------------------------------------------------------------------------
# loading


@pytest.mark.slow
def test_load_folder_and_file(model_dir, arrays):
    for path in (model_dir, model_dir / "smplx", model_dir / "smplx" / "SMPLX_NEUTRAL.npz"):
        model = load_body_model(path)
        out = _forward(model)
        assert out.vertices.shape == (1, NUM_VERTS, 3)
        np.testing.assert_allclose(out.joints[0, :55].numpy(), fake_joints(), atol=1e-5)
        assert model.parents.tolist() == list(PARENTS)
        assert model.source_path.endswith("SMPLX_NEUTRAL.npz")


@pytest.mark.slow
def test_gender_selects_file(model_dir, arrays, tmp_path):
    np.savez(tmp_path / "SMPLX_FEMALE.npz", **arrays)
    assert load_body_model(tmp_path, gender="female").gender == "female"
    with pytest.raises(ModelFileError, match="SMPLX_MALE.npz"):
        load_body_model(tmp_path, gender="male")
    with pytest.raises(UnknownNameError, match="gender"):
        load_body_model(model_dir, gender="robot")


@pytest.mark.slow
def test_sizes_pass_through(model_dir):
    model = load_body_model(model_dir, num_betas=5, num_expression=3)
    assert model.num_betas == 5 and model.num_expression <= 10
    assert model.smplx.left_hand_pose.shape == (1, 45)  # full hand poses (use_pca=False)
    with pytest.raises(InputShapeError, match="num_betas"):
        load_body_model(model_dir, num_betas=0)


def test_missing_file_says_where_to_get_smplx(tmp_path):
    with pytest.raises(ModelFileError, match=r"smpl-x\.is\.tue\.mpg\.de") as info:
        load_body_model(tmp_path / "nope" / "SMPLX_NEUTRAL.npz")
    assert "nope" in str(info.value)
    with pytest.raises(ModelFileError, match=r"smpl-x\.is\.tue\.mpg\.de"):
        load_body_model(tmp_path)  # empty folder


def test_wrong_extension(tmp_path):
    path = tmp_path / "SMPLX_NEUTRAL.obj"
    path.write_text("v 0 0 0\n")
    with pytest.raises(ModelFileError, match=r"\.npz or \.pkl"):
        load_body_model(path)


def test_corrupt_and_non_zip_npz(tmp_path, model_dir):
    good = (model_dir / "smplx" / "SMPLX_NEUTRAL.npz").read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelFileError, match="truncated.npz"):
        load_body_model(truncated)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="text.npz"):
        load_body_model(text)
    single = tmp_path / "single.npz"
    with open(single, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ModelFileError, match="single.npz"):
        load_body_model(single)


def test_object_array_in_needed_field_is_refused(tmp_path, arrays):
    bad = dict(arrays)
    bad["J_regressor"] = np.array({"evil": 1}, dtype=object)
    path = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(path, **bad)
    with pytest.raises(ModelFileError, match=r"'J_regressor'.*object"):
        load_body_model(path)


class _Boom:
    def __reduce__(self):
        return (pytest.fail, ("an object array of a model file was unpickled",))


@pytest.mark.slow
def test_object_array_in_extra_field_is_never_unpickled(tmp_path, arrays):
    # Official SMPL-X npz files carry pickled dicts (joint2num, part2num) that smplx does not
    # need; they must not be unpickled, and the model must still load.
    path = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(path, joint2num=np.array([_Boom()], dtype=object), **arrays)
    model = load_body_model(path)
    assert model.source_path == str(path)
    assert _forward(model).vertices.shape == (1, NUM_VERTS, 3)


@pytest.mark.slow
def test_pickle_named_directly_loads(tmp_path, arrays):
    path = tmp_path / "SMPLX_NEUTRAL.pkl"
    with open(path, "wb") as f:
        pickle.dump(arrays, f)
    out = _forward(load_body_model(path))
    np.testing.assert_allclose(out.joints[0, :55].numpy(), fake_joints(), atol=1e-5)


@pytest.mark.slow
def test_pickle_in_folder_needs_allow_pickle(tmp_path, arrays):
    with open(tmp_path / "SMPLX_NEUTRAL.pkl", "wb") as f:
        pickle.dump(arrays, f)
    with pytest.raises(ModelFileError, match="allow_pickle"):
        load_body_model(tmp_path)
    assert load_body_model(tmp_path, allow_pickle=True).source_path.endswith(".pkl")


@pytest.mark.slow
def test_folder_prefers_npz_over_pkl(tmp_path, arrays):
    (tmp_path / "SMPLX_NEUTRAL.pkl").write_bytes(b"not a pickle at all")
    np.savez(tmp_path / "SMPLX_NEUTRAL.npz", **arrays)
    assert load_body_model(tmp_path, allow_pickle=True).source_path.endswith(".npz")


def test_corrupt_pickle(tmp_path):
    path = tmp_path / "SMPLX_NEUTRAL.pkl"
    path.write_bytes(b"\x80\x04garbage")
    with pytest.raises(ModelFileError, match="unpickle"):
        load_body_model(path)


def test_zip_with_bad_member(tmp_path):
    path = tmp_path / "SMPLX_NEUTRAL.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("v_template.npy", b"\x93NUMPY garbage header")
    with pytest.raises(ModelFileError, match="SMPLX_NEUTRAL.npz"):
        load_body_model(path)


# --------------------------------------------------------------------------------------------
# field validation (on arrays; the file path goes through the same function)


def _broken(arrays, **changes):
    out = dict(arrays)
    for key, value in changes.items():
        if value is None:
            del out[key]
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(
    ("field", "value", "pattern"),
    [
        ("v_template", None, r"'v_template'.*present"),
        ("v_template", np.zeros((100, 3)), r"'v_template'.*9930"),
        ("v_template", np.zeros((NUM_VERTS, 2)), r"'v_template'.*\(V, 3\)"),
        ("f", np.zeros((10, 4), dtype=np.int64), r"'f'.*\(\*, 3\).*\(10, 4\)"),
        ("f", np.zeros((10, 3)), r"'f'.*integer"),
        ("f", np.full((10, 3), NUM_VERTS, dtype=np.int64), r"'f'.*vertex ids"),
        ("J_regressor", np.zeros((24, NUM_VERTS)), r"'J_regressor'.*\(55, 10475\).*\(24, 10475\)"),
        ("weights", np.zeros((NUM_VERTS, 55)), r"'weights'.*summing to 1"),
        ("weights", np.zeros((NUM_VERTS, 24)), r"'weights'.*\(10475, 55\)"),
        ("kintree_table", np.zeros((2, 55), dtype=np.int64), r"'kintree_table'.*parent"),
        ("kintree_table", np.zeros((2, 24), dtype=np.int64), r"'kintree_table'.*\(2, 55\)"),
        ("shapedirs", np.zeros((NUM_VERTS, 3, 10)), r"'shapedirs'.*at least 20"),
        ("shapedirs", np.zeros((NUM_VERTS, 30)), r"'shapedirs'.*shape"),
        ("posedirs", np.zeros((NUM_VERTS, 3, 207)), r"'posedirs'.*486.*207"),
        ("hands_componentsl", np.zeros((45, 30)), r"'hands_componentsl'.*45"),
        ("hands_componentsr", np.zeros((3, 45)), r"'hands_componentsr'.*num_pca_comps=6"),
        ("hands_meanr", np.zeros(15), r"'hands_meanr'"),
        ("lmk_faces_idx", np.full(51, 10**6, dtype=np.int64), r"'lmk_faces_idx'.*face ids"),
        ("lmk_bary_coords", np.zeros((50, 3)), r"'lmk_bary_coords'.*\(51, 3\)"),
        ("lmk_bary_coords", None, r"'lmk_bary_coords'.*present"),
    ],
)
def test_validation_names_field_expected_found(arrays, field, value, pattern):
    with pytest.raises(ModelFileError, match=pattern) as info:
        validate_arrays(_broken(arrays, **{field: value}), source="/x/SMPLX_NEUTRAL.npz",
                        num_pca_comps=6)  # fmt: skip
    assert str(info.value).startswith("/x/SMPLX_NEUTRAL.npz")


def test_validation_nan(arrays):
    verts = arrays["v_template"].copy()
    verts[7, 1] = np.nan
    with pytest.raises(ModelFileError, match=r"'v_template'.*NaN"):
        validate_arrays(_broken(arrays, v_template=verts))


def test_validation_face_contour_fields(arrays):
    validate_arrays(arrays, face_contour=True)
    with pytest.raises(ModelFileError, match="dynamic_lmk_bary_coords"):
        validate_arrays(
            _broken(arrays, dynamic_lmk_bary_coords=np.zeros((79, 16, 3))), face_contour=True
        )


def test_bad_file_fails_before_smplx(tmp_path, arrays):
    path = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(path, **_broken(arrays, posedirs=np.zeros((NUM_VERTS, 3, 207), dtype=np.float32)))
    with pytest.raises(ModelFileError, match=r"SMPLX_NEUTRAL.npz: field 'posedirs'"):
        load_body_model(path)


# --------------------------------------------------------------------------------------------
# the stand-in


def test_standin_path_is_in_package():
    path = standin_path()
    assert path.name == "SMPLX_NEUTRAL.npz"
    assert path.parent.name == "smplx"
    assert "posa_model" in path.parts


def test_standin_is_neutral_only():
    with pytest.raises(ModelFileError, match="neutral"):
        load_body_model(None, gender="female")


@pytest.mark.slow
def test_standin_loads():
    model = load_body_model()
    out = _forward(model)
    assert out.vertices.shape == (1, NUM_VERTS, 3)
    assert model.faces.shape[1] == 3
    assert model.parents.tolist() == list(PARENTS)
