"""Add Body, Apply Preset, Load Pose File, Reset Pose: success and refusal paths."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
from bl_helpers import ADDON, bpy, select_only

from posa_blender import arrays, runtime
from posa_blender import body as posa_body
from posa_blender.body import ARMATURE_MODIFIER

torch = pytest.importorskip("torch")
from mathutils import Matrix  # noqa: E402

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
# reading a pose back from the armature


def posed_at_random(rig, model, seed: int = 0) -> BodyPose:
    """Pose ``rig`` with the sit preset changed a little, hands, jaw and a pelvis translation;
    returns the pose applied."""
    rng = np.random.default_rng(seed)
    preset = get_preset("sit")
    pose = preset.replace(global_orient=preset.global_orient + rng.normal(0, 0.2, (1, 3)),
                          body_pose=preset.body_pose + rng.normal(0, 0.1, (1, 63)),
                          left_hand_pose=rng.normal(0, 0.3, (1, 45)),
                          right_hand_pose=rng.normal(0, 0.3, (1, 45)),
                          jaw_pose=[[0.2, 0.0, 0.05]], transl=[[0.1, -0.2, 0.3]])
    apply_arrays(rig, pose, posa_body.hand_mean(model))
    return pose


def apply_arrays(rig, pose: BodyPose, mean=None) -> None:
    posa_body.apply_pose(rig, pose.global_orient[0], pose.body_pose[0], pose.transl[0],
                    left_hand_pose=pose.left_hand_pose[0],
                    right_hand_pose=pose.right_hand_pose[0], jaw_pose=pose.jaw_pose[0],
                    hand_mean=mean)


def assert_same_pose(a: BodyPose, b: BodyPose, atol: float) -> None:
    for name in ("global_orient", "body_pose", "transl", "left_hand_pose", "right_hand_pose",
                 "jaw_pose"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=atol, err_msg=name)


def evaluated_world(mesh_obj) -> np.ndarray:
    world, _, _ = arrays.evaluated_world_vertices(mesh_obj, bpy.context.evaluated_depsgraph_get())
    return world.astype(np.float64)


def test_read_pose_is_apply_poses_inverse_and_poses_the_evaluated_mesh(body):
    model = runtime.body_model("", "neutral")
    applied = posed_at_random(body.rig, model)
    read = posa_body.read_pose(body.rig, posa_body.hand_mean(model))
    assert_same_pose(read, applied, atol=1e-5)  # float32 quaternions in between
    apply_arrays(body.rig, read, posa_body.hand_mean(model))
    again = posa_body.read_pose(body.rig, posa_body.hand_mean(model))
    assert_same_pose(again, read, atol=1e-6)
    # the evaluated mesh is the model posed by the pose read, in Blender axes (rig frame)
    expected = pose_body(model, read).vertices[0].astype(np.float64)
    origin = np.array(body.rig.matrix_world.translation)
    np.testing.assert_allclose(evaluated_world(body.mesh),
                               smplx_to_blender(expected) + origin, atol=1e-4)


def test_bones_in_other_rotation_modes_are_read_as_their_rotation(body):
    bpy.ops.posa.apply_preset(preset="kneel")
    expected = evaluated_world(body.mesh)
    knee = body.rig.pose.bones["left_knee"]
    euler = knee.rotation_quaternion.to_euler("YXZ")
    knee.rotation_mode = "YXZ"
    knee.rotation_euler = euler
    hip = body.rig.pose.bones["right_hip"]
    axis, angle = hip.rotation_quaternion.to_axis_angle()
    hip.rotation_mode = "AXIS_ANGLE"
    hip.rotation_axis_angle = (angle, *axis)
    np.testing.assert_allclose(evaluated_world(body.mesh), expected, atol=1e-5)
    read = posa_body.read_pose(body.rig)
    posa_body.reset_pose(body.rig)
    apply_arrays(body.rig, read)
    np.testing.assert_allclose(evaluated_world(body.mesh), expected, atol=1e-5)


def test_world_pose_folds_in_the_rig_placement_and_set_world_pose_is_its_inverse(body):
    model = runtime.body_model("", "neutral")
    betas = np.array([1.0, -0.5, 0, 0, 0, 0, 0, 0, 0, 0.3])
    bpy.ops.posa.add_body(model="STANDIN", betas=tuple(betas))
    found = posa_body.find_body(bpy.context.active_object)
    posed_at_random(found.rig, model, seed=1)
    found.rig.location = (1.0, 2.0, 0.5)
    found.rig.rotation_euler = (0.1, 0.2, 0.7)
    bpy.context.view_layer.update()
    assert posa_body.pose_problem(found) is None
    pose = posa_body.world_pose(found, model)
    np.testing.assert_allclose(pose.betas[0], betas, atol=1e-6)
    posed = pose_body(model, pose).vertices[0].astype(np.float64)
    np.testing.assert_allclose(evaluated_world(found.mesh), smplx_to_blender(posed), atol=1e-4)
    # another pose, turned and moved in the world, written back with the rig turned about z
    turned = get_preset("lie_side").replace(global_orient=[[0.3, 1.2, -0.4]],
                                            transl=[[-1.0, 0.4, 2.0]], betas=pose.betas)
    rotation = np.array(Matrix.Rotation(-0.6, 3, "Z") @ found.rig.matrix_world.to_3x3())
    posa_body.set_world_pose(found, turned, rotation, model)
    bpy.context.view_layer.update()
    expected = smplx_to_blender(pose_body(model, turned).vertices[0].astype(np.float64))
    np.testing.assert_allclose(evaluated_world(found.mesh), expected, atol=1e-4)
    np.testing.assert_allclose(np.array(found.rig.matrix_world.to_3x3()), rotation, atol=1e-6)
    assert_same_pose(posa_body.world_pose(found, model), turned, atol=1e-5)


def test_finger_bones_turn_from_the_models_mean_hand():
    """A model whose mean hand is not flat (real SMPL-X's is not): the rig's rest is the mean
    hand, so hand poses (offsets from it) are converted for the bones, and read back."""
    model = runtime.body_model("", "neutral").to()
    rng = np.random.default_rng(2)
    model.left_hand_mean = torch.tensor(rng.normal(0, 0.3, 45), dtype=torch.float32)
    model.right_hand_mean = torch.tensor(rng.normal(0, 0.3, 45), dtype=torch.float32)
    made = posa_body.create_body(bpy.context, model, model_path="", gender="neutral",
                                 betas=np.zeros(10), location=np.zeros(3))
    mean = posa_body.hand_mean(model)
    applied = posed_at_random(made.rig, model, seed=3)
    expected = smplx_to_blender(pose_body(model, applied).vertices[0].astype(np.float64))
    gap = np.abs(evaluated_world(made.mesh) - expected).max()
    apply_arrays(made.rig, applied)  # as if the mean hand were flat
    flat_gap = np.abs(evaluated_world(made.mesh) - expected).max()
    # joints exactly; finger vertices blend two skinnings (the rest's and the bones'): 2 mm
    assert gap < 3e-3 and flat_gap > 4 * gap, (gap, flat_gap)
    apply_arrays(made.rig, applied, mean)
    read = posa_body.read_pose(made.rig, mean)
    assert_same_pose(read, applied, atol=1e-5)


def test_pose_problem_names_what_a_pose_cannot_hold(body):
    found = posa_body.find_body(body.mesh)
    assert posa_body.pose_problem(found) is None
    bones = body.rig.pose.bones
    changes = [  # (object, property, changed value, what the problem says)
        (body.rig, "scale", (1.0, 1.0, 1.2), "is scaled"),
        (body.mesh, "location", (0.0, 0.1, 0.0), "moved away from its armature"),
        (bones["left_knee"], "scale", (1.1, 1.0, 1.0), "'left_knee' is scaled"),
        (bones["neck"], "location", (0.0, 0.02, 0.0), "'neck' is moved"),
        (bones["left_eye_smplhf"], "rotation_quaternion", (0.9, 0.1, 0.0, 0.0),
         "eyes are turned"),
    ]
    for owner, name, value, message in changes:
        kept = tuple(getattr(owner, name))
        setattr(owner, name, value)
        bpy.context.view_layer.update()
        problem = posa_body.pose_problem(found)
        assert problem is not None and message in problem, (message, problem)
        setattr(owner, name, kept)
        bpy.context.view_layer.update()
        assert posa_body.pose_problem(found) is None
    assert posa_body.pose_problem(posa_body.BodyObjects(body.mesh, None)) == "it has no armature"


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
