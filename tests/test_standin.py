"""The procedural stand-in body: mesh, anatomy, SMPL-X vertex ids, skinning, shapes, smplx loading.

Most tests read the shipped asset; one regenerates it with the build-time generator
(``tools/standin``) and compares (about 15-30 s on two cores).
"""

from __future__ import annotations

import contextlib
import io
import zipfile

import numpy as np
import pytest
import smplx
import torch

from posa_model.assets import STANDIN_BODY_PATH as ASSET_PATH
from posa_model.body.joints import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS, kintree_table
from tools.standin.body import write_standin_body
from tools.standin.design import (
    DESIGNED_JOINTS,
    NUM_FACES,
    NUM_VERTICES,
    SMPLX_VERTEX_IDS,
    StandinBuildError,
    _foot_forward,
    body_sdf,
    designed_keypoints,
)
from tools.standin.surface import _manifold_collapses, check_closed_mesh

ix = JOINT_INDEX
FINGERS = ("index", "middle", "ring", "pinky", "thumb")


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    with np.load(ASSET_PATH, allow_pickle=False) as data:  # no object arrays in the file
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def model():
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        body = smplx.create(str(ASSET_PATH), model_type="smplx", use_pca=False,
                            num_betas=10)
    assert "WARNING" not in printed.getvalue()  # 300 shape + 100 expression components
    return body


def _pose(model, betas=None, **joint_rotations) -> np.ndarray:
    """Posed vertices (V, 3) for axis-angle rotations given by joint name."""
    body = torch.zeros(1, 63)
    hands = {"left": torch.zeros(1, 45), "right": torch.zeros(1, 45)}
    for name, aa in joint_rotations.items():
        j = ix[name]
        if 1 <= j <= 21:
            body[0, 3 * (j - 1): 3 * j] = torch.tensor(aa)
        else:
            side, start = ("left", 25) if j < 40 else ("right", 40)
            hands[side][0, 3 * (j - start): 3 * (j - start + 1)] = torch.tensor(aa)
    with torch.no_grad():
        out = model(body_pose=body, left_hand_pose=hands["left"], right_hand_pose=hands["right"],
                    betas=None if betas is None else torch.tensor([betas], dtype=torch.float32))
    return out.vertices[0].numpy().astype(np.float64)


def _parts(arrays, *names: str) -> np.ndarray:
    """Mask of vertices whose body part is one of the named joints."""
    return np.isin(arrays["part_labels"], [ix[n] for n in names])


# --------------------------------------------------------------------------------------------
# file and mesh


def test_file_is_small_and_has_the_smplx_fields(arrays):
    assert ASSET_PATH.stat().st_size < 1.5e6
    expected = {
        "v_template": ((NUM_VERTICES, 3), "f"), "f": ((NUM_FACES, 3), "u"),
        "J_regressor": ((NUM_JOINTS, NUM_VERTICES), "f"),
        "weights": ((NUM_VERTICES, NUM_JOINTS), "f"), "kintree_table": ((2, NUM_JOINTS), "i"),
        "shapedirs": ((NUM_VERTICES, 3, 400), "f"), "posedirs": ((NUM_VERTICES, 3, 486), "f"),
        "hands_componentsl": ((45, 45), "f"), "hands_componentsr": ((45, 45), "f"),
        "hands_meanl": ((45,), "f"), "hands_meanr": ((45,), "f"),
        "lmk_faces_idx": ((51,), "i"), "lmk_bary_coords": ((51, 3), "f"),
        "dynamic_lmk_faces_idx": ((79, 17), "i"), "dynamic_lmk_bary_coords": ((79, 17, 3), "f"),
        "J": ((NUM_JOINTS, 3), "f"), "part_labels": ((NUM_VERTICES,), "u"),
    }  # fmt: skip
    for key, (shape, kind) in expected.items():
        assert arrays[key].shape == shape, key
        assert arrays[key].dtype.kind == kind, key
    for key, value in arrays.items():
        if value.dtype.kind == "f":
            assert np.isfinite(value).all(), key
    with zipfile.ZipFile(ASSET_PATH) as z:  # compressed members
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())


def test_mesh_is_one_closed_outward_genus0_manifold(arrays):
    verts, faces = arrays["v_template"].astype(np.float64), arrays["f"].astype(np.int64)
    check_closed_mesh(verts, faces, "shipped stand-in")
    assert len(verts) - len(faces) // 2 == 2  # V - E + F with E = 3F/2


def test_check_closed_mesh_rejects_broken_meshes():
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    faces = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])
    check_closed_mesh(verts, faces)
    with pytest.raises(StandinBuildError, match="not closed"):
        check_closed_mesh(verts, faces[:3])
    with pytest.raises(StandinBuildError, match="inconsistent face orientation"):
        check_closed_mesh(verts, np.concatenate([faces[:3], faces[3:, ::-1]]))
    with pytest.raises(StandinBuildError, match="inwards"):
        check_closed_mesh(verts, faces[:, ::-1])
    flat = verts.copy()
    flat[3] = (0.5, 0.5, 0.0)
    with pytest.raises(StandinBuildError, match="degenerate"):
        check_closed_mesh(flat, np.array([[0, 1, 3], [1, 2, 3], [0, 3, 2], [0, 2, 1]]))


def test_exact_count_decimation_replays_only_manifold_collapses():
    """The exactness trick on a small closed sphere: every kept collapse removes one vertex."""
    import fast_simplification
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=4)
    verts, faces = np.asarray(sphere.vertices), np.asarray(sphere.faces, dtype=np.int32)
    _, _, collapses = fast_simplification.simplify(verts, faces, target_count=200,
                                                   return_collapses=True)
    for n in (1, 97, 1000):
        keep = _manifold_collapses(len(verts), faces, np.zeros(len(verts), bool), collapses,
                                   2 * n)
        assert len(keep) == n
        out_v, out_f, _ = fast_simplification.replay_simplification(verts, faces, keep)
        assert len(out_v) == len(verts) - n and len(out_f) == len(faces) - 2 * n
        check_closed_mesh(np.asarray(out_v, float), np.asarray(out_f, np.int64), min_area=0)


def test_mesh_is_left_right_symmetric(arrays):
    from scipy.spatial import cKDTree

    verts = arrays["v_template"].astype(np.float64)
    dist, _ = cKDTree(verts).query(verts * (-1.0, 1.0, 1.0))
    assert dist.max() < 1e-6


def test_proportions_and_rest_pose(arrays):
    verts = arrays["v_template"]
    joints = DESIGNED_JOINTS
    height = verts[:, 1].max() - verts[:, 1].min()
    assert 1.70 <= height <= 1.78
    assert -1.31 <= verts[:, 1].min() <= -1.15  # soles
    assert abs(joints[ix["pelvis"], 1] + 0.35) < 0.03
    # facing +z, left at +x
    assert verts[SMPLX_VERTEX_IDS["nose"], 2] > 0.1
    assert verts[SMPLX_VERTEX_IDS["LBigToe"], 2] > verts[SMPLX_VERTEX_IDS["LHeel"], 2] + 0.2
    assert joints[ix["left_hip"], 0] > 0 and joints[ix["left_wrist"], 0] > 0.6
    # T-pose: arms straight out sideways, nearly level; legs straight; feet slightly apart
    for side in ("left", "right"):
        chain = joints[[ix[f"{side}_{n}"] for n in ("shoulder", "elbow", "wrist")]]
        arm = chain[-1] - chain[0]
        assert abs(arm[0]) / np.linalg.norm(arm) > 0.99
        leg = joints[ix[f"{side}_ankle"]] - joints[ix[f"{side}_hip"]]
        assert -leg[1] / np.linalg.norm(leg) > 0.99
    assert 0.1 < joints[ix["left_ankle"], 0] - joints[ix["right_ankle"], 0] < 0.3
    # palms down: a flat, horizontal hand, thumb in front of the fingers
    hand = verts[verts[:, 0] > joints[ix["left_wrist"], 0] + 0.02]
    extent = hand.max(0) - hand.min(0)
    assert extent[1] < 0.5 * extent[2] < 0.5 * extent[0]
    assert verts[SMPLX_VERTEX_IDS["lthumb"], 2] > verts[SMPLX_VERTEX_IDS["lindex"], 2]


def test_designed_joints_are_anatomical(arrays):
    J = DESIGNED_JOINTS
    np.testing.assert_array_equal(arrays["kintree_table"], kintree_table())
    np.testing.assert_allclose(arrays["J"], J, atol=1e-6)
    y = {name: J[ix[name], 1] for name in JOINT_NAMES}
    for side in ("left", "right"):
        j = {n: J[ix[f"{side}_{n}"]] for n in ("hip", "knee", "ankle", "foot", "collar",
                                                "shoulder", "elbow", "wrist", "eye_smplhf")}
        assert y["pelvis"] > j["hip"][1] > j["knee"][1] > j["ankle"][1] > j["foot"][1]
        assert j["foot"][2] > j["ankle"][2] + 0.08  # the ball of the foot is in front
        reach = [abs(j[n][0]) for n in ("collar", "shoulder", "elbow", "wrist")]
        assert reach == sorted(reach)
        for finger in FINGERS:
            xs = [abs(J[ix[f"{side}_{finger}{k}"], 0]) for k in (1, 2, 3)]
            assert reach[-1] < xs[0] < xs[1] < xs[2]
        assert j["eye_smplhf"][2] > J[ix["head"], 2]
    assert y["pelvis"] < y["spine1"] < y["spine2"] < y["spine3"] < y["neck"] < y["head"]
    assert y["neck"] < y["jaw"] < y["left_eye_smplhf"]
    # every joint lies inside the body
    sdf = body_sdf(J)
    assert (sdf < 0).all(), [JOINT_NAMES[j] for j in np.flatnonzero(sdf >= 0)]


# --------------------------------------------------------------------------------------------
# vertex ids smplx reads


def test_vertex_ids_match_smplx():
    from smplx.vertex_ids import vertex_ids

    assert SMPLX_VERTEX_IDS == vertex_ids["smplx"]


def test_keypoint_vertices_sit_on_their_anatomy(arrays):
    verts = arrays["v_template"].astype(np.float64)
    labels = arrays["part_labels"]
    designed = designed_keypoints()
    for key, vid in SMPLX_VERTEX_IDS.items():
        assert np.linalg.norm(verts[vid] - designed[key]) < 0.015, key
    head = verts[:, 1] > 0.22
    nose = SMPLX_VERTEX_IDS["nose"]
    assert verts[nose, 2] == verts[head, 2].max()
    assert verts[SMPLX_VERTEX_IDS["lear"], 0] == verts[head, 0].max()
    assert verts[SMPLX_VERTEX_IDS["rear"], 0] == verts[head, 0].min()
    assert verts[SMPLX_VERTEX_IDS["leye"], 0] > 0 > verts[SMPLX_VERTEX_IDS["reye"], 0]
    for side, prefix in (("left", "l"), ("right", "r")):
        for finger in FINGERS:
            tip = SMPLX_VERTEX_IDS[f"{prefix}{finger}"]
            direction = DESIGNED_JOINTS[ix[f"{side}_{finger}3"]] - DESIGNED_JOINTS[
                ix[f"{side}_{finger}2"]]
            own = labels == ix[f"{side}_{finger}3"]
            assert labels[tip] == ix[f"{side}_{finger}3"]
            assert verts[tip] @ direction == (verts[own] @ direction).max(), (side, finger)
        assert verts[SMPLX_VERTEX_IDS[f"{prefix}middle"], 0] == (
            verts[:, 0].max() if side == "left" else verts[:, 0].min())
    for side, prefix in (("left", "L"), ("right", "R")):
        sign = 1.0 if side == "left" else -1.0
        foot = (verts[:, 1] < -1.2) & (sign * verts[:, 0] > 0)
        forward = _foot_forward() * (sign, 1.0, 1.0)
        big, small = SMPLX_VERTEX_IDS[f"{prefix}BigToe"], SMPLX_VERTEX_IDS[f"{prefix}SmallToe"]
        heel = SMPLX_VERTEX_IDS[f"{prefix}Heel"]
        reach = verts[foot] @ forward
        assert verts[big] @ forward == reach.max()  # the big toe is the most forward
        assert sign * verts[small, 0] > sign * verts[big, 0] + 0.03  # small toe lateral
        low_back = verts[foot, 1] + verts[foot] @ forward
        assert verts[heel, 1] + verts[heel] @ forward <= low_back.min() + 0.005
        assert verts[heel, 1] < verts[foot, 1].min() + 0.015  # at the bottom...
        assert verts[heel] @ forward < reach.min() + 0.02  # ...and the back of the foot


# --------------------------------------------------------------------------------------------
# joint regressor and skinning weights


def test_joint_regressor_reproduces_the_designed_joints(arrays):
    reg, verts = arrays["J_regressor"].astype(np.float64), arrays["v_template"].astype(np.float64)
    assert reg.min() >= 0.0
    np.testing.assert_allclose(reg.sum(1), 1.0, atol=1e-5)
    assert ((reg > 0).sum(1) <= 400).all()  # a few nearby vertices, not the whole body
    err = np.linalg.norm(reg @ verts - DESIGNED_JOINTS, axis=1)
    assert err.max() < 1e-3, JOINT_NAMES[int(err.argmax())]
    for j in range(NUM_JOINTS):  # the vertices lie around the joint
        used = verts[reg[j] > 0]
        assert np.linalg.norm(used - DESIGNED_JOINTS[j], axis=1).max() < 0.25, JOINT_NAMES[j]


def test_weights_are_partition_of_unity_on_related_parts(arrays):
    w, labels = arrays["weights"].astype(np.float64), arrays["part_labels"]
    assert w.min() >= 0.0
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-6)
    assert (w.argmax(1) == labels).all()
    assert (w[np.arange(len(w)), labels] >= 0.5).all()
    assert np.bincount(labels, minlength=NUM_JOINTS)[
        [j for j in range(NUM_JOINTS) if "eye" not in JOINT_NAMES[j]]].min() > 0
    for side in ("left", "right"):
        for finger in FINGERS:
            own = _parts(arrays, *(f"{side}_{finger}{k}" for k in (1, 2, 3)))
            others = [ix[f"{side}_{f}{k}"] for f in FINGERS if f != finger for k in (1, 2, 3)]
            assert w[np.ix_(own, others)].max() == 0.0, (side, finger)
    other_leg = {"left": "right", "right": "left"}
    for side in ("left", "right"):
        thigh = _parts(arrays, f"{side}_hip")
        leg = [ix[f"{other_leg[side]}_{n}"] for n in ("hip", "knee", "ankle", "foot")]
        assert w[np.ix_(thigh, leg)].max() == 0.0


def test_bending_the_left_elbow_moves_only_the_left_forearm_and_hand(model, arrays):
    rest = _pose(model)
    bent = _pose(model, left_elbow=(0.0, -np.pi / 2, 0.0))
    moved = np.linalg.norm(bent - rest, axis=1)
    still = _parts(arrays, "pelvis", "spine1", "spine2", "spine3", "neck", "head", "jaw",
                   "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                   "right_ankle", "left_foot", "right_foot", "right_collar", "right_shoulder",
                   "right_elbow", "right_wrist", "left_collar")
    still |= rest[:, 0] < 0.0  # the whole right side
    assert moved[still].max() < 1e-6
    assert moved[SMPLX_VERTEX_IDS["lmiddle"]] > 0.2
    upper_arm = _parts(arrays, "left_shoulder") & (rest[:, 0] < DESIGNED_JOINTS[
        ix["left_elbow"], 0] - 0.06)
    assert moved[upper_arm].max() < 1e-6


def test_bending_the_left_knee_moves_only_the_left_shin_and_foot(model, arrays):
    rest = _pose(model)
    bent = _pose(model, left_knee=(np.pi / 2, 0.0, 0.0))
    moved = np.linalg.norm(bent - rest, axis=1)
    lower_leg = _parts(arrays, "left_knee", "left_ankle", "left_foot", "left_hip")
    assert moved[~lower_leg].max() < 1e-6
    thigh_top = _parts(arrays, "left_hip") & (rest[:, 1] > DESIGNED_JOINTS[ix["left_knee"], 1]
                                              + 0.06)
    assert moved[thigh_top].max() < 1e-6
    assert moved[SMPLX_VERTEX_IDS["LHeel"]] > 0.3


def test_bending_the_left_index_finger_moves_only_that_finger(model, arrays):
    rest = _pose(model)
    bent = _pose(model, left_index1=(0.0, 0.0, -np.pi / 2))
    moved = np.linalg.norm(bent - rest, axis=1)
    others = _parts(arrays, *(f"left_{f}{k}" for f in FINGERS if f != "index" for k in (1, 2, 3)))
    assert moved[others].max() < 1e-6
    assert moved[rest[:, 0] < DESIGNED_JOINTS[ix["left_index1"], 0] - 0.03].max() < 1e-6
    assert moved[SMPLX_VERTEX_IDS["lindex"]] > 0.04


# --------------------------------------------------------------------------------------------
# shape space, pose space, hands, landmarks


def test_shape_space_has_meaningful_leading_components(model, arrays):
    dirs = arrays["shapedirs"]
    shape_norm = np.abs(dirs[:, :, :300]).max((0, 1))
    assert (shape_norm > 0).sum() >= 20
    assert (shape_norm[:20] > 0).all()
    assert np.all(dirs == np.round(dirs * 65536) / 65536)  # quantised
    rest = _pose(model)
    taller = _pose(model, betas=[2.0] + [0.0] * 9)
    gain = np.ptp(taller[:, 1]) - np.ptp(rest[:, 1])
    assert 0.10 < gain < 0.18  # about +7 cm per unit
    waist = (np.abs(rest[:, 1] + 0.13) < 0.02) & (np.abs(rest[:, 0]) < 0.2)
    wider = _pose(model, betas=[0.0, 2.0] + [0.0] * 8)
    radius = lambda v: np.linalg.norm(v[waist][:, [0, 2]], axis=1).mean()  # noqa: E731
    assert radius(wider) > radius(rest) + 0.01
    limbs = _pose(model, betas=[0.0, 0.0, 2.0] + [0.0] * 7)
    assert limbs[:, 0].max() > rest[:, 0].max() + 0.03  # longer arms
    assert limbs[:, 1].min() < rest[:, 1].min() - 0.05  # longer legs


def test_shape_components_are_left_right_symmetric(arrays):
    from scipy.spatial import cKDTree

    verts = arrays["v_template"].astype(np.float64)
    _, mirror = cKDTree(verts).query(verts * (-1.0, 1.0, 1.0))
    dirs = arrays["shapedirs"][:, :, :40].astype(np.float64)
    np.testing.assert_allclose(dirs[mirror] * np.array([-1.0, 1.0, 1.0])[None, :, None], dirs,
                               atol=2e-5)


def test_pose_space_and_hand_pca_are_neutral(arrays):
    assert not arrays["posedirs"].any()
    for side in "lr":
        np.testing.assert_array_equal(arrays[f"hands_components{side}"], np.eye(45))
        assert not arrays[f"hands_mean{side}"].any()


def test_face_landmarks_lie_on_the_face(arrays):
    verts = arrays["v_template"].astype(np.float64)
    faces = arrays["f"].astype(np.int64)

    def points(face_ids, bary):
        return np.einsum("...k,...kd->...d", bary, verts[faces[face_ids]])

    bary = arrays["lmk_bary_coords"]
    assert bary.min() >= 0 and np.allclose(bary.sum(-1), 1.0, atol=1e-5)
    lmk = points(arrays["lmk_faces_idx"], bary.astype(np.float64))
    assert (lmk[:, 2] > 0.06).all() and (np.abs(lmk[:, 0]) < 0.07).all()
    brows, nose, eyes, mouth = lmk[:10], lmk[10:19], lmk[19:31], lmk[31:]
    assert brows[:, 1].min() > eyes[:, 1].max() > nose[:, 1].min() > mouth[:, 1].max()
    assert (brows[:5, 0] < 0).all() and (brows[5:, 0] > 0).all()  # subject's right first
    assert lmk[13, 2] == lmk[:, 2].max()  # nose tip in front
    dyn = points(arrays["dynamic_lmk_faces_idx"], arrays["dynamic_lmk_bary_coords"].astype(float))
    assert dyn.shape == (79, 17, 3)
    assert (dyn[..., 1] > 0.2).all() and (dyn[..., 1] < 0.36).all()
    assert (dyn[0, :8, 0] < 0).all() and (dyn[0, 9:, 0] > 0).all()  # right ear to left ear


@pytest.mark.slow
def test_smplx_loads_the_file_and_the_folder():
    for kwargs in ({"model_path": str(ASSET_PATH)},
                   {"model_path": str(ASSET_PATH.parent.parent), "gender": "neutral"}):
        body = smplx.create(model_type="smplx", **kwargs)
        with torch.no_grad():
            out = body()
        assert out.vertices.shape == (1, NUM_VERTICES, 3)
        assert out.joints.shape == (1, 127, 3)  # 55 + 21 vertex keypoints + 51 landmarks
        assert body.parents.tolist() == list(PARENTS)
    contour = smplx.create(str(ASSET_PATH), model_type="smplx", use_face_contour=True)
    with torch.no_grad():
        assert contour().joints.shape == (1, 144, 3)


def test_joints_from_smplx_match_the_design(model):
    with torch.no_grad():
        out = model()
    np.testing.assert_allclose(out.joints[0, :NUM_JOINTS].numpy(), DESIGNED_JOINTS, atol=1e-4)


# --------------------------------------------------------------------------------------------
# regeneration


@pytest.mark.slow
def test_regenerating_gives_the_shipped_file(arrays, tmp_path):
    """Deterministic generator: a fresh build equals the shipped asset, the arrays and the file
    byte for byte (about 15-30 s)."""
    path = write_standin_body(tmp_path / "SMPLX_NEUTRAL.npz")
    with np.load(path, allow_pickle=False) as data:
        fresh = {key: data[key] for key in data.files}
    assert sorted(fresh) == sorted(arrays)
    for key, value in fresh.items():
        assert value.dtype == arrays[key].dtype, key
        np.testing.assert_array_equal(value, arrays[key], err_msg=key)
    assert path.read_bytes() == ASSET_PATH.read_bytes()
