"""Pose presets: the joint geometry each name promises, on the stand-in and a synthetic skeleton.

World frame: +y up, the rest body faces +z with its left at +x. The "synthetic" model is the
fake SMPL-X file of tests/test_body_loader.py (a plausible T-pose skeleton, random vertices), so
the joint checks run even where the stand-in asset is absent; the mesh checks need the stand-in.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_body_loader import fake_smplx_arrays

from posa_model.body import (
    JOINT_INDEX,
    PRESET_DESCRIPTIONS,
    PRESETS,
    BodyPose,
    get_preset,
    load_body_model,
    pose_body,
    preset_names,
)
from posa_model.errors import InputShapeError, PosaError, UnknownNameError

J = JOINT_INDEX


@pytest.fixture(scope="module", params=["standin", "synthetic"])
def model(request, tmp_path_factory):
    if request.param == "standin":
        return load_body_model()
    path = tmp_path_factory.mktemp("fake") / "SMPLX_NEUTRAL.npz"
    np.savez(path, **fake_smplx_arrays())
    return load_body_model(path)


@pytest.fixture(scope="module")
def standin():
    return load_body_model()


def posed(model, name: str):
    """(vertices (V, 3), joints (55, 3)) of one preset."""
    out = pose_body(model, name)
    return out.vertices[0], out.joints[0]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def seg(joints: np.ndarray, a: str, b: str) -> np.ndarray:
    """Unit direction from joint a to joint b."""
    return unit(joints[J[b]] - joints[J[a]])


def elevation_deg(v: np.ndarray) -> float:
    """Angle of a direction above the horizontal plane (negative: below)."""
    return math.degrees(math.asin(np.clip(unit(v)[1], -1, 1)))


def trunk(joints):
    return seg(joints, "pelvis", "spine3")


def facing(joints):
    lateral = joints[J["left_hip"]] - joints[J["right_hip"]]
    return unit(np.cross(lateral, joints[J["spine3"]] - joints[J["pelvis"]]))


def lateral(joints):
    return seg(joints, "right_hip", "left_hip")


def arm_elevations(joints):
    return [
        elevation_deg(joints[J[f"{s}_wrist"]] - joints[J[f"{s}_shoulder"]])
        for s in ("left", "right")
    ]


# --------------------------------------------------------------------------------------------
# API


def test_preset_table():
    assert preset_names() == tuple(PRESETS) == tuple(PRESET_DESCRIPTIONS)
    for name, preset in PRESETS.items():
        assert isinstance(preset, BodyPose) and len(preset) == 1
        assert preset.names == (name,) and PRESET_DESCRIPTIONS[name]
        assert preset.global_orient.shape == (1, 3) and preset.global_orient.dtype == np.float32
        assert preset.body_pose.shape == (1, 63) and preset.body_pose.dtype == np.float32
        assert preset.full_pose.shape == (1, 66)
        assert not np.any(preset.betas) and not np.any(preset.transl)
    assert not np.any(PRESETS["t_pose"].full_pose)


def test_get_preset():
    sit = get_preset("sit")
    np.testing.assert_array_equal(sit.body_pose, PRESETS["sit"].body_pose)
    sit.body_pose[0, 0] = 1.0  # a copy: the table is not changed
    assert PRESETS["sit"].body_pose[0, 0] != 1.0
    with pytest.raises(UnknownNameError, match="lie_back") as info:
        get_preset("dance")
    assert isinstance(info.value, ValueError) and isinstance(info.value, PosaError)
    with pytest.raises(InputShapeError, match=r"body_pose.*\(1, 63\)"):
        BodyPose(np.zeros(3), np.zeros(60))


def test_pose_body_outputs(model):
    body = pose_body(model, "stand")
    vertices, joints = body.vertices[0], body.joints[0]
    assert vertices.shape == (model.num_vertices, 3) and vertices.dtype == np.float32
    assert joints.shape == (55, 3) and joints.dtype == np.float32
    moved = pose_body(model, get_preset("stand").replace(transl=[[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(moved.joints[0] - joints, np.tile([1.0, 2.0, 3.0], (55, 1)),
                               atol=1e-5)
    shaped = pose_body(model, get_preset("stand").replace(betas=[[1.0, -1.0]]))
    assert shaped.vertices.shape == body.vertices.shape
    assert np.abs(shaped.vertices - body.vertices).max() > 1e-3
    with pytest.raises(InputShapeError, match="transl"):
        get_preset("stand").replace(transl=[[1.0, 2.0]])


# --------------------------------------------------------------------------------------------
# joint geometry per preset (runs on both models)


def test_t_pose_and_a_pose(model):
    for angle in arm_elevations(posed(model, "t_pose")[1]):
        assert abs(angle) < 6
    for angle in arm_elevations(posed(model, "a_pose")[1]):
        assert -52 < angle < -38


def test_stand(model):
    joints = posed(model, "stand")[1]
    assert trunk(joints)[1] > 0.98
    assert facing(joints)[2] > 0.98
    body = joints[:22]
    lowest = {int(i) for i in np.argsort(body[:, 1])[:4]}
    assert lowest == {J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"]}
    for angle in arm_elevations(joints):
        assert angle < -65  # arms hang down
    for side in ("left", "right"):  # hands beside the thighs, not in front of or behind them
        assert joints[J[f"{side}_wrist"], 1] < joints[J["pelvis"], 1] + 0.05
        assert abs(joints[J[f"{side}_wrist"], 2] - joints[J["pelvis"], 2]) < 0.15


def test_sit(model):
    joints = posed(model, "sit")[1]
    assert trunk(joints)[1] > 0.97
    for side in ("left", "right"):
        thigh = seg(joints, f"{side}_hip", f"{side}_knee")
        shin = seg(joints, f"{side}_knee", f"{side}_ankle")
        assert abs(elevation_deg(thigh)) < 8 and thigh[2] > 0.95  # horizontal, forward
        assert elevation_deg(shin) < -82  # vertical, down
        # hands rest on the thighs: the wrist is close above the hip-knee segment
        hip, knee, wrist = (joints[J[f"{side}_{n}"]] for n in ("hip", "knee", "wrist"))
        t = np.clip((wrist - hip) @ (knee - hip) / np.sum((knee - hip) ** 2), 0, 1)
        gap = wrist - (hip + t * (knee - hip))
        assert 0.2 < t < 0.95 and -0.02 < gap[1] < 0.16 and np.linalg.norm(gap) < 0.18


def test_sit_low(model):
    joints = posed(model, "sit_low")[1]
    recline = math.degrees(math.atan2(-trunk(joints)[2], trunk(joints)[1]))
    assert 15 < recline < 25
    for side in ("left", "right"):
        hip, knee, ankle = (joints[J[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
        assert knee[1] > hip[1] + 0.02  # knees above the hips
        assert ankle[2] > knee[2] + 0.1  # feet forward of the knees
        assert 20 < -elevation_deg(ankle - knee) < 75  # shins slanted, not vertical


def test_lie_back(model):
    joints = posed(model, "lie_back")[1]
    assert abs(trunk(joints)[1]) < 0.1  # trunk horizontal
    assert facing(joints)[1] > 0.95  # face up
    body = joints[:22]
    assert np.ptp(body[:, 1]) < 0.3  # everything near one height: lying flat
    for side in ("left", "right"):  # arms along the body, not sticking up
        assert abs(elevation_deg(joints[J[f"{side}_wrist"]] - joints[J[f"{side}_shoulder"]])) < 20


def test_lie_side(model):
    joints = posed(model, "lie_side")[1]
    assert abs(lateral(joints)[1]) > 0.9  # hip axis vertical
    assert abs(trunk(joints)[1]) < 0.15  # trunk horizontal
    assert abs(facing(joints)[1]) < 0.2
    for side in ("left", "right"):
        thigh = joints[J[f"{side}_knee"]] - joints[J[f"{side}_hip"]]
        assert 10 < math.degrees(math.acos(unit(thigh) @ -trunk(joints))) < 60  # slightly bent


def test_lean_back(model):
    joints = posed(model, "lean_back")[1]
    tilt = math.degrees(math.atan2(-trunk(joints)[2], trunk(joints)[1]))
    assert 8 < tilt < 18
    heels = joints[[J["left_ankle"], J["right_ankle"]]]
    head = joints[J["head"]]
    assert heels[:, 2].min() > head[2] + 0.2  # feet out in front of the wall, head against it


def test_kneel(model):
    joints = posed(model, "kneel")[1]
    assert trunk(joints)[1] > 0.97
    body = joints[:22]
    floor = body[:, 1].min()
    for side in ("left", "right"):
        assert joints[J[f"{side}_knee"], 1] - floor < 0.06  # knees down with the feet
        assert elevation_deg(seg(joints, f"{side}_hip", f"{side}_knee")) < -80  # thighs upright
        assert abs(elevation_deg(seg(joints, f"{side}_knee", f"{side}_ankle"))) < 10  # shins flat
        assert joints[J[f"{side}_ankle"], 2] < joints[J[f"{side}_knee"], 2] - 0.25  # behind


def test_reach_forward(model):
    joints = posed(model, "reach_forward")[1]
    chest = joints[J["spine3"]]
    for side in ("left", "right"):
        wrist = joints[J[f"{side}_wrist"]]
        assert wrist[2] > chest[2] + 0.35  # well in front of the chest
        assert wrist[1] < joints[J[f"{side}_shoulder"], 1]  # and lower than the shoulder
    for side in ("left", "right"):  # legs stay under the body
        assert elevation_deg(seg(joints, f"{side}_hip", f"{side}_ankle")) < -80


# --------------------------------------------------------------------------------------------
# mesh checks on the stand-in


def test_standin_mesh_contacts(standin):
    def lowest_near(name: str, joint_names: tuple[str, ...], radius=0.14) -> float:
        verts, joints = posed(standin, name)
        floor = verts[:, 1].min()
        near = np.zeros(len(verts), bool)
        for jn in joint_names:
            near |= np.linalg.norm(verts - joints[J[jn]], axis=1) < radius
        return float(verts[near, 1].min() - floor)

    # kneel: the knees touch the floor (within 2 cm of the lowest point)
    assert lowest_near("kneel", ("left_knee",)) < 0.02
    assert lowest_near("kneel", ("right_knee",)) < 0.02
    # stand: the feet touch the floor
    assert lowest_near("stand", ("left_foot", "left_ankle")) < 0.01
    # lie_back: the back of the pelvis and the shoulders touch the floor
    assert lowest_near("lie_back", ("pelvis",), 0.2) < 0.03
    assert lowest_near("lie_back", ("spine3",), 0.2) < 0.05


@pytest.mark.slow
def test_render_meshes(standin, tmp_path):
    pytest.importorskip("matplotlib")
    from posa_model.viz import render_meshes, view_basis

    faces = np.asarray(standin.faces, dtype=np.int64)
    verts = posed(standin, "sit")[0]
    heat = np.zeros((len(verts), 3))
    heat[:, 0] = verts[:, 1] < verts[:, 1].min() + 0.1  # red where near the floor
    path = render_meshes(
        [(verts, faces), (verts, faces)], tmp_path / "a" / "sit.png", colors=[None, heat],
        views=("front", (30.0, 10.0)), titles=["grey", "heat"],
    )  # fmt: skip
    assert path.is_file() and path.stat().st_size > 5_000
    np.testing.assert_allclose(view_basis("front"), np.eye(3), atol=1e-12)
    np.testing.assert_allclose(view_basis("side")[2], [-1, 0, 0], atol=1e-12)  # from the right
    with pytest.raises(UnknownNameError, match="view"):
        render_meshes([(verts, faces)], tmp_path / "x.png", views=("nadir",))
    with pytest.raises(InputShapeError, match="colors"):
        render_meshes([(verts, faces)], tmp_path / "x.png", colors=[np.zeros((5, 3))])
    with pytest.raises(InputShapeError, match="one per mesh"):
        render_meshes([(verts, faces)], tmp_path / "x.png", titles=["a", "b"])


@pytest.mark.slow
def test_render_preset_sheet(standin, tmp_path):
    pytest.importorskip("matplotlib")
    from posa_model.viz import render_preset_sheet

    path = render_preset_sheet(tmp_path / "presets.png", standin)
    assert 50_000 < path.stat().st_size < 600_000
