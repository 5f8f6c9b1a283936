"""Add Body, Apply Preset, Load Pose File, Reset Pose: success and refusal paths."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
from bl_helpers import ADDON, bpy, select_only

from posa_blender import arrays, runtime
from posa_blender.body import ARMATURE_MODIFIER

torch = pytest.importorskip("torch")
from posa_model.body import JOINT_NAMES, PARENTS, BodyPose, get_preset, pose_body  # noqa: E402
from posa_model.frames import blender_to_smplx, smplx_to_blender  # noqa: E402


def evaluated_smplx(mesh_obj) -> np.ndarray:
    """The body's evaluated world vertices, in SMPL-X axes, relative to the rig's origin."""
    world, _, _ = arrays.evaluated_world_vertices(mesh_obj, bpy.context.evaluated_depsgraph_get())
    origin = np.array(mesh_obj.parent.matrix_world.translation)
    return blender_to_smplx((world - origin).astype(np.float64))


def test_add_body_makes_a_rigged_mesh_that_records_what_it_is(body):
    mesh, rig = body.mesh, body.rig
    assert len(mesh.data.vertices) == 10475 and rig.type == "ARMATURE"
    assert sorted(b.name for b in rig.data.bones) == sorted(JOINT_NAMES)
    assert len(rig.data.bones) == 55
    for joint, parent in enumerate(PARENTS):
        bone = rig.data.bones[JOINT_NAMES[joint]]
        assert (bone.parent.name if bone.parent else None) == (
            JOINT_NAMES[parent] if parent >= 0 else None)
    assert [g.name for g in mesh.vertex_groups] == list(JOINT_NAMES)
    assert mesh.parent == rig and mesh.modifiers[ARMATURE_MODIFIER].object == rig
    assert mesh.posa.role == "BODY" and rig.posa.role == "RIG"
    assert mesh.posa.model_path == "" and mesh.posa.gender == "neutral"
    assert bpy.context.active_object == mesh


def test_the_rest_mesh_and_skinning_weights_are_the_models_in_blender_axes(body):
    model = runtime.body_model("", "neutral")
    rest = pose_body(model, "t_pose")
    rest_vertices, rest_joints = rest.vertices[0], rest.joints[0]
    offset = np.array(body.rig.location)
    local = arrays.vertex_positions(body.mesh.data)
    np.testing.assert_allclose(local, smplx_to_blender(rest_vertices), atol=1e-6)
    assert abs((local[:, 2] + offset[2]).min()) < 1e-5  # feet on the 3D cursor (origin)
    heads = np.array([body.rig.data.bones[n].head_local for n in JOINT_NAMES])
    np.testing.assert_allclose(heads, smplx_to_blender(rest_joints), atol=1e-5)
    weights = arrays.vertex_group_weights(body.mesh, JOINT_NAMES)
    np.testing.assert_allclose(weights, model.lbs_weights.numpy(), atol=1e-6)


def test_add_body_with_shape_records_the_betas():
    betas = (1.5, -1.0, 0, 0, 0, 0, 0, 0, 0, 0.5)
    bpy.ops.posa.add_body(model="STANDIN", betas=betas)
    mesh = bpy.context.active_object
    np.testing.assert_allclose(tuple(mesh.posa.betas), betas, atol=1e-6)
    model = runtime.body_model("", "neutral")
    rest = pose_body(model, BodyPose.zeros(1).replace(betas=[betas])).vertices[0]
    np.testing.assert_allclose(arrays.vertex_positions(mesh.data), smplx_to_blender(rest),
                               atol=1e-5)


@pytest.mark.parametrize("preset", ["sit", "lie_back", "reach_forward"])
def test_a_preset_posed_with_bones_matches_posa_models_posed_body(body, preset):
    """Blender's armature deform reproduces SMPL-X skinning (pose correctives aside)."""
    select_only(body.rig)
    assert bpy.ops.posa.apply_preset(preset=preset) == {"FINISHED"}
    model = runtime.body_model("", "neutral")
    expected = pose_body(model, preset).vertices[0]
    rest = pose_body(model, "t_pose").vertices[0]
    posed = evaluated_smplx(body.mesh)
    # the evaluated mesh moved away from the rest pose, onto posa_model's posed body
    assert np.abs(posed - rest).max() > 0.1
    correctives = model.posedirs is not None
    tolerance = 2e-2 if correctives else 1e-4
    np.testing.assert_allclose(posed, expected - expected.min(0) + posed.min(0), atol=tolerance)


def test_reset_pose_returns_to_rest(body):
    rest = evaluated_smplx(body.mesh)
    bpy.ops.posa.apply_preset(preset="kneel")
    assert np.abs(evaluated_smplx(body.mesh) - rest).max() > 0.1
    assert bpy.ops.posa.reset_pose() == {"FINISHED"}
    np.testing.assert_allclose(evaluated_smplx(body.mesh), rest, atol=1e-6)


def test_a_pose_file_gives_the_same_pose_as_the_preset_and_applies_transl(body, tmp_path):
    preset = get_preset("sit")
    bpy.ops.posa.apply_preset(preset="sit")
    by_preset = evaluated_smplx(body.mesh)
    bpy.ops.posa.reset_pose()
    path = tmp_path / "pose.npz"
    transl = np.array([0.1, 0.2, -0.3], np.float32)
    np.savez(path, global_orient=preset.global_orient, body_pose=preset.body_pose,
             transl=transl[None], betas=np.zeros((1, 10), np.float32))
    assert bpy.ops.posa.load_pose_file(filepath=str(path)) == {"FINISHED"}
    np.testing.assert_allclose(evaluated_smplx(body.mesh), by_preset + transl, atol=1e-5)


def test_an_amass_pose_file_frame_is_applied(body, tmp_path):
    poses = np.zeros((3, 156), np.float32)
    poses[2, :66] = get_preset("lie_side").full_pose[0]
    np.savez(tmp_path / "amass.npz", poses=poses, trans=np.zeros((3, 3), np.float32))
    bpy.ops.posa.apply_preset(preset="lie_side")
    expected = evaluated_smplx(body.mesh)
    bpy.ops.posa.reset_pose()
    bpy.ops.posa.load_pose_file(filepath=str(tmp_path / "amass.npz"), frame=2)
    np.testing.assert_allclose(evaluated_smplx(body.mesh), expected, atol=1e-5)


# --------------------------------------------------------------------------------------------
# refusals: a clear report, nothing changed


def test_pose_operators_need_a_posa_body(unchanged):
    select_only(None)
    unchanged.take()
    for call in (lambda: bpy.ops.posa.apply_preset(preset="sit"), bpy.ops.posa.reset_pose):
        with pytest.raises(RuntimeError, match="Nothing is selected"):
            call()
    select_only(bpy.data.objects["Cube"])
    with pytest.raises(RuntimeError, match="'Cube' is not a POSA body"):
        bpy.ops.posa.apply_preset(preset="sit")
    unchanged.check()


def test_smplx_without_a_folder_is_refused(unchanged):
    unchanged.take()
    with pytest.raises(RuntimeError, match="No SMPL-X folder set"):
        bpy.ops.posa.add_body(model="SMPLX")
    unchanged.check()


def test_smplx_from_a_folder_without_model_files_is_refused(unchanged, tmp_path):
    bpy.context.preferences.addons[ADDON].preferences.smplx_path = str(tmp_path)
    unchanged.take()
    with pytest.raises(RuntimeError, match="no SMPL-X model file found"):
        bpy.ops.posa.add_body(model="SMPLX", gender="female")
    unchanged.check()


def test_a_malformed_model_file_is_refused_naming_the_field(unchanged, tmp_path):
    bad = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(bad, v_template=np.zeros((10, 3)))
    unchanged.take()
    with pytest.raises(RuntimeError, match="v_template"):
        bpy.ops.posa.add_body(model="SMPLX", model_path=str(bad))
    unchanged.check()


def test_the_stand_in_is_neutral_only(unchanged):
    unchanged.take()
    with pytest.raises(RuntimeError, match="neutral only"):
        bpy.ops.posa.add_body(model="STANDIN", gender="male")
    unchanged.check()


def test_missing_modules_are_reported_not_raised(monkeypatch, unchanged):
    monkeypatch.setitem(sys.modules, "smplx", None)
    unchanged.take()
    with pytest.raises(RuntimeError, match="Missing Python modules: smplx.*Install Dependencies"):
        bpy.ops.posa.add_body()
    unchanged.check()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.npz", None, "pose file not found"),
        ("pose.txt", b"hello", "must be .npz"),
        ("broken.npz", b"not a zip", "not a readable .npz"),
        ("empty.npz", {"foo": np.zeros(3)}, "no pose found"),
        ("short.npz", {"global_orient": np.zeros(3), "body_pose": np.zeros(60)}, "body_pose"),
        ("nan.npz", {"global_orient": np.full(3, np.nan), "body_pose": np.zeros(63)}, "NaN"),
    ],
)
def test_bad_pose_files_are_refused(body, unchanged, tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        np.savez(path, **content)
    bpy.ops.posa.apply_preset(preset="sit")
    unchanged.take()
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.posa.load_pose_file(filepath=str(path))
    unchanged.check()


def test_a_pickle_pose_file_needs_explicit_trust(body, unchanged, tmp_path):
    path = tmp_path / "fit.pkl"
    preset = get_preset("sit")
    with open(path, "wb") as f:
        pickle.dump({"global_orient": preset.global_orient,
                     "body_pose": preset.body_pose}, f)
    unchanged.take()
    with pytest.raises(RuntimeError, match="pickle.*runs code.*Trust This Pickle File"):
        bpy.ops.posa.load_pose_file(filepath=str(path))
    unchanged.check()


def test_undo_removes_an_added_body_and_restores_a_pose(body):
    names = sorted(o.name for o in bpy.data.objects)
    rig_name, mesh_name = body.rig.name, body.mesh.name
    rest = evaluated_smplx(body.mesh)
    bpy.ops.ed.undo_push(message="before")
    bpy.ops.posa.apply_preset("EXEC_DEFAULT", True, preset="lie_side")
    assert np.abs(evaluated_smplx(bpy.data.objects[mesh_name]) - rest).max() > 0.1
    bpy.ops.ed.undo()
    np.testing.assert_allclose(evaluated_smplx(bpy.data.objects[mesh_name]), rest, atol=1e-6)
    bpy.ops.posa.add_body("EXEC_DEFAULT", True, model="STANDIN")
    assert len(bpy.data.objects) == len(names) + 2
    bpy.ops.ed.undo()
    assert sorted(o.name for o in bpy.data.objects) == names
    assert rig_name in bpy.data.objects


def test_a_trusted_pickle_pose_file_is_read(body, tmp_path):
    path = tmp_path / "fit.pkl"
    preset = get_preset("sit")
    with open(path, "wb") as f:
        pickle.dump({"global_orient": preset.global_orient,
                     "body_pose": preset.body_pose}, f)
    bpy.ops.posa.apply_preset(preset="sit")
    expected = evaluated_smplx(body.mesh)
    bpy.ops.posa.reset_pose()
    assert bpy.ops.posa.load_pose_file(filepath=str(path), allow_pickle=True) == {"FINISHED"}
    np.testing.assert_allclose(evaluated_smplx(body.mesh), expected, atol=1e-5)
