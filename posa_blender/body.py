"""Bodies in the scene: a skinned mesh with an armature of the 55 SMPL-X joints, and its pose.

Blender-side tools used by the operators and the headless script. The body's geometry, skinning
weights and joints come from posa_model (``pose_body`` at the rest pose); SMPL-X's y-up frame
becomes Blender's z-up through :func:`posa_model.frames.smplx_to_blender` only.

Poses go both ways: :func:`apply_pose` turns SMPL-X parameters into bone rotations and
:func:`read_pose` reads them back (its exact inverse); :func:`world_pose` and
:func:`set_world_pose` do the same for a pose in the SMPL-X world, the rig object's own
placement folded into the root (the maths, without bpy, in :mod:`.bones`). Posing the model
with a pose read this way gives the evaluated mesh, pose correctives aside (Blender's armature
has none; the stand-in has none either) and, for a model whose mean hand is not flat, a few
millimetres on the fingers (:func:`.bones.rig_rotations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import bpy
import numpy as np

from . import arrays, bones
from .props import object_info

BODY_ROLE = "BODY"
RIG_ROLE = "RIG"
ARMATURE_MODIFIER = "POSA Armature"
MATERIAL_NAME = "POSA Contacts"
#: Rows of the 55 SMPL-X joints: the jaw, the eyes (a BodyPose has no eye rotations) and the
#: fingers of each hand.
JAW = 22
EYES = slice(23, 25)
LEFT_HAND, RIGHT_HAND, HANDS = slice(25, 40), slice(40, 55), slice(25, 55)


@dataclass(frozen=True)
class BodyObjects:
    """A POSA body: the skinned mesh object and the armature object that poses it."""

    mesh: bpy.types.Object
    rig: bpy.types.Object | None


def find_body(obj: bpy.types.Object | None) -> BodyObjects | None:
    """The POSA body that ``obj`` (a body mesh, its armature, or any mesh) belongs to.

    A mesh that was not made by "Add Body" is returned as a body without a rig, so contacts can
    still be sampled on it (the sampler then checks its vertex count and topology).
    """
    if obj is None:
        return None
    if obj.type == "ARMATURE":
        for child in obj.children:
            if child.type == "MESH" and object_info(child).role == BODY_ROLE:
                return BodyObjects(child, obj)
        return None
    if obj.type != "MESH":
        return None
    modifier = obj.modifiers.get(ARMATURE_MODIFIER)
    rig = None
    if isinstance(modifier, bpy.types.ArmatureModifier) and modifier.object is not None:
        rig = modifier.object
    return BodyObjects(obj, rig)


def mesh_data(obj: bpy.types.Object) -> bpy.types.Mesh:
    """The mesh of a mesh object (TypeError for other objects)."""
    if not isinstance(obj.data, bpy.types.Mesh):
        raise TypeError(f"{obj.name!r} is not a mesh object")
    return obj.data


def armature_data(rig: bpy.types.Object) -> bpy.types.Armature:
    """The armature of an armature object (TypeError for other objects)."""
    if not isinstance(rig.data, bpy.types.Armature):
        raise TypeError(f"{rig.name!r} is not an armature object")
    return rig.data


def rig_parts(rig: bpy.types.Object) -> tuple[bpy.types.Armature, bpy.types.Pose]:
    """The armature and pose of a (posable) armature object (TypeError for other objects)."""
    armature = armature_data(rig)
    if rig.pose is None:
        raise TypeError(f"{rig.name!r} has no pose")
    return armature, rig.pose


def create_body(context: bpy.types.Context, model, *, model_path: str, gender: str,
                betas: np.ndarray, name: str = "", location: np.ndarray | None = None,
                select: bool = True) -> BodyObjects:
    """Add ``model`` (a ``posa_model.body.BodyModel``) shaped by ``betas`` as a rigged mesh.

    The armature is placed at ``location`` (3,) (Blender world; the rig's origin is the SMPL-X
    origin of the body, so ``location = smplx_to_blender(transl)`` reproduces a pose's
    ``transl``), or, when None, so that the rest body's feet stand on the 3D cursor. The mesh
    is called ``name`` (default "POSA Body" or "SMPL-X <gender>"), the armature ``<name> Rig``.
    The objects record what the body is (``Object.posa``: model path, gender, betas); with
    ``select`` the new mesh becomes the only selected and the active object.
    """
    from posa_model.body import JOINT_NAMES, PARENTS, BodyPose, pose_body
    from posa_model.frames import smplx_to_blender

    shape = np.asarray(betas, dtype=np.float32).reshape(1, -1)
    rest = pose_body(model, BodyPose.zeros(1).replace(betas=shape))  # the rest pose: all zeros
    vertices = smplx_to_blender(rest.vertices[0].astype(np.float64))
    heads = smplx_to_blender(rest.joints[0].astype(np.float64))
    tails = bones.bone_tails(heads, PARENTS)
    faces = np.asarray(model.faces, dtype=np.int64)
    weights = model.lbs_weights.detach().cpu().numpy()
    label = name or ("POSA Body" if not model_path else f"SMPL-X {gender}")

    scene, view_layer = context.scene, context.view_layer
    if scene is None or view_layer is None:
        raise RuntimeError("Add Body needs a scene and a view layer")
    collection = context.collection or scene.collection
    armature = bpy.data.armatures.new(f"{label} Rig")
    rig = bpy.data.objects.new(f"{label} Rig", armature)
    collection.objects.link(rig)
    if location is None:
        rig.location = scene.cursor.location.copy()
        rig.location.z -= float(vertices[:, 2].min())
    else:
        rig.location = tuple(float(v) for v in np.asarray(location, dtype=np.float64).reshape(3))
    object_info(rig).role = RIG_ROLE
    _build_bones(view_layer, rig, JOINT_NAMES, PARENTS, heads, tails)

    mesh = arrays.new_mesh(label, vertices, faces)
    mesh.shade_smooth()
    obj = bpy.data.objects.new(label, mesh)
    collection.objects.link(obj)
    obj.parent = rig
    arrays.set_vertex_groups(obj, weights, JOINT_NAMES)
    modifier = cast(bpy.types.ArmatureModifier, obj.modifiers.new(ARMATURE_MODIFIER, "ARMATURE"))
    modifier.object = rig
    modifier.use_vertex_groups = True
    modifier.use_bone_envelopes = False
    mesh.materials.append(contacts_material())

    info = object_info(obj)
    info.role = BODY_ROLE
    info.model_path = model_path
    info.gender = gender
    info.betas = tuple(_padded(betas, len(info.betas)))

    if select:
        for other in view_layer.objects:
            other.select_set(False)
        obj.select_set(True)
        view_layer.objects.active = obj
    return BodyObjects(obj, rig)


def _build_bones(view_layer: bpy.types.ViewLayer, rig: bpy.types.Object, names, parents,
                 heads: np.ndarray, tails: np.ndarray) -> None:
    armature = armature_data(rig)
    previous = view_layer.objects.active
    view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        edit_bones = armature.edit_bones
        created = []
        for name, head, tail in zip(names, heads, tails, strict=True):
            bone = edit_bones.new(name)
            bone.head = tuple(head)
            bone.tail = tuple(tail)
            bone.roll = 0.0
            created.append(bone)
        for bone, parent in zip(created, parents, strict=True):
            if parent >= 0:
                bone.parent = created[parent]
                bone.use_connect = False
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = previous


def apply_pose(rig: bpy.types.Object, global_orient: np.ndarray, body_pose: np.ndarray,
               transl: np.ndarray | None = None, *, left_hand_pose: np.ndarray | None = None,
               right_hand_pose: np.ndarray | None = None, jaw_pose: np.ndarray | None = None,
               hand_mean: np.ndarray | None = None) -> None:
    """Pose ``rig`` with SMPL-X parameters (axis-angle, SMPL-X frame; eyes at rest).

    ``global_orient`` (3,) rotates the pelvis, ``body_pose`` (63,) joints 1..21, ``jaw_pose``
    (3,) the jaw (None: at rest), ``left_hand_pose`` / ``right_hand_pose`` (45,) the fingers as
    offsets from the model's mean hand ``hand_mean`` (2, 45) (left, right; None: zero), as
    :class:`posa_model.body.BodyPose` holds them (None: the mean hand, the rig's rest);
    ``transl`` (3,) metres moves the pelvis bone (the objects keep their placement in the
    scene). :func:`read_pose` is the inverse.
    """
    from posa_model.body import JOINT_NAMES, NUM_BODY_JOINTS, PARENTS

    rotvecs = np.zeros((len(JOINT_NAMES), 3))
    rotvecs[0] = np.asarray(global_orient, dtype=np.float64).reshape(3)
    rotvecs[1 : NUM_BODY_JOINTS + 1] = np.asarray(body_pose, dtype=np.float64).reshape(-1, 3)
    if jaw_pose is not None:
        rotvecs[JAW] = np.asarray(jaw_pose, dtype=np.float64).reshape(3)
    mean = _joint_means(hand_mean, len(JOINT_NAMES))
    rotvecs[HANDS] = mean[HANDS]
    for rows, hand in zip((LEFT_HAND, RIGHT_HAND), (left_hand_pose, right_hand_pose),
                          strict=True):
        if hand is not None:
            rotvecs[rows] += np.asarray(hand, dtype=np.float64).reshape(-1, 3)
    armature, pose = rig_parts(rig)
    rest = arrays.bone_rest_rotations(armature, JOINT_NAMES)
    turns = bones.rig_rotations(rotvecs, mean, PARENTS)
    quaternions = bones.quaternions(bones.local_rotation_vectors(turns, rest))
    location = None if transl is None else bones.local_location(transl, rest[0])
    arrays.set_pose(pose, JOINT_NAMES, quaternions, location)


def hand_mean(model) -> np.ndarray:
    """(2, 45) float64: the mean hand (left, right) of ``model`` (a
    ``posa_model.body.BodyModel``): what zero hand poses mean, and the rig's rest."""
    return np.stack([model.left_hand_mean.detach().cpu().numpy().reshape(-1),
                     model.right_hand_mean.detach().cpu().numpy().reshape(-1)]
                    ).astype(np.float64)


def _joint_means(hand_mean: np.ndarray | None, count: int) -> np.ndarray:
    """(J, 3) every joint's mean rotation: the mean hand on the fingers, zero elsewhere."""
    mean = np.zeros((count, 3))
    if hand_mean is not None:
        mean[HANDS] = np.asarray(hand_mean, dtype=np.float64).reshape(-1, 3)
    return mean


def read_pose(rig: bpy.types.Object, hand_mean: np.ndarray | None = None):
    """The pose of ``rig`` as the one-body ``posa_model.body.BodyPose`` that
    :func:`apply_pose` takes: ``global_orient``, ``body_pose``, ``jaw_pose``, the hands as
    offsets from ``hand_mean`` (2, 45) (None: zero) and ``transl`` (the pelvis bone's
    location), SMPL-X axes, in the rig's own frame (the rig object's placement is not
    included: :func:`world_pose`); betas zero. Bones in any rotation mode are read; the eyes,
    bone scales and the other bones' locations are not (:func:`pose_problem`)."""
    from posa_model.body import JOINT_NAMES, NUM_BODY_JOINTS, PARENTS, BodyPose

    armature, pose = rig_parts(rig)
    rest = arrays.bone_rest_rotations(armature, JOINT_NAMES)
    local = bones.rotation_vectors(arrays.pose_quaternions(pose, JOINT_NAMES))
    mean = _joint_means(hand_mean, len(JOINT_NAMES))
    rotvecs = bones.posing_rotations(bones.smplx_rotation_vectors(local, rest), mean, PARENTS)
    offsets = rotvecs - mean
    locations, _ = arrays.pose_locations_scales(pose, JOINT_NAMES[:1])
    return BodyPose(rotvecs[0][None], rotvecs[1 : NUM_BODY_JOINTS + 1].reshape(1, -1),
                    transl=bones.root_translation(locations[0], rest[0])[None],
                    left_hand_pose=offsets[LEFT_HAND].reshape(1, -1),
                    right_hand_pose=offsets[RIGHT_HAND].reshape(1, -1),
                    jaw_pose=rotvecs[JAW][None])


def pose_problem(found: BodyObjects) -> str | None:
    """Why the body's evaluated mesh is not a ``BodyPose`` its rig reads as (None if it is):
    no armature, an armature not made by Add Body or missing SMPL-X bones, a scaled or sheared
    armature object, a mesh moved away from its armature, scaled bones, moved bones other than
    the pelvis, turned eyes. (What this cannot see, such as shape keys, other modifiers or bone
    constraints, the caller finds by comparing the posed body with the evaluated mesh.)"""
    from posa_model.body import JOINT_NAMES

    rig = found.rig
    if rig is None or not isinstance(rig.data, bpy.types.Armature) or rig.pose is None:
        return "it has no armature"
    if object_info(rig).role != RIG_ROLE:
        return f"its armature '{rig.name}' was not made by Add Body"
    armature, pose = rig_parts(rig)
    missing = [n for n in JOINT_NAMES if n not in armature.bones or n not in pose.bones]
    if missing:
        return f"its armature lacks {len(missing)} SMPL-X bones ({', '.join(missing[:3])}, ...)"
    matrix = np.array(rig.matrix_world, dtype=np.float64)
    linear = matrix[:3, :3]
    if not np.allclose(linear.T @ linear, np.eye(3), atol=1e-5) or np.linalg.det(linear) <= 0:
        return f"its armature '{rig.name}' is scaled"
    relative = np.linalg.inv(matrix) @ np.array(found.mesh.matrix_world, dtype=np.float64)
    if not np.allclose(relative, np.eye(4), atol=1e-5):
        return "its mesh was moved away from its armature"
    locations, scales = arrays.pose_locations_scales(pose, JOINT_NAMES)
    if not np.allclose(scales, 1.0, atol=1e-6):
        return f"bone '{JOINT_NAMES[int(np.argmax(np.abs(scales - 1).max(1)))]}' is scaled"
    if not np.allclose(locations[1:], 0.0, atol=1e-6):
        return (f"bone '{JOINT_NAMES[1 + int(np.argmax(np.abs(locations[1:]).max(1)))]}' is "
                "moved (only the pelvis moves)")
    eyes = bones.rotation_vectors(arrays.pose_quaternions(pose, JOINT_NAMES[EYES]))
    if not np.allclose(eyes, 0.0, atol=1e-6):
        return "its eyes are turned (a pose has no eye rotations)"
    return None


def world_pose(found: BodyObjects, model):
    """The body's pose in the SMPL-X world: :func:`read_pose` with the rig object's placement
    folded into ``global_orient`` and ``transl`` (:func:`.bones.world_root`) and the body's
    stored shape (``Object.posa.betas``, the model's ``num_betas`` of them). Posing it with
    ``model`` gives the body's evaluated mesh in SMPL-X axes (pose correctives aside, which
    Blender's armature does not apply). Check :func:`pose_problem` first."""
    rig = cast(bpy.types.Object, found.rig)
    local = read_pose(rig, hand_mean(model))
    orient, transl = bones.world_root(local.global_orient[0], local.transl[0], _root(rig),
                                      np.array(rig.matrix_world, dtype=np.float64))
    betas = np.asarray(object_info(found.mesh).betas, dtype=np.float32)[: model.num_betas]
    return local.replace(global_orient=orient[None], transl=transl[None], betas=betas[None])


def set_world_pose(found: BodyObjects, pose, rotation: np.ndarray, model) -> None:
    """Pose and place the body's rig so that its evaluated mesh is ``pose`` (a one-body
    ``BodyPose``, SMPL-X world) posed by ``model``, in Blender axes: the rig object turned to
    ``rotation`` (3, 3, Blender world), its pelvis bone keeping its translation, the rest in
    the rig object's location and the bones (:func:`.bones.rig_root`). The inverse of
    :func:`world_pose`."""
    from mathutils import Matrix

    rig = cast(bpy.types.Object, found.rig)
    local_transl = read_pose(rig).transl[0]
    orient, location = bones.rig_root(pose.global_orient[0], pose.transl[0], _root(rig),
                                      rotation, local_transl)
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, location
    rig.matrix_world = Matrix(matrix.tolist())
    apply_pose(rig, orient, pose.body_pose[0], local_transl,
               left_hand_pose=pose.left_hand_pose[0], right_hand_pose=pose.right_hand_pose[0],
               jaw_pose=pose.jaw_pose[0], hand_mean=hand_mean(model))


def _root(rig: bpy.types.Object) -> np.ndarray:
    """(3,) the rest pelvis joint of ``rig`` (its pelvis bone's head), SMPL-X axes, rig frame."""
    from posa_model.frames import blender_to_smplx

    head = armature_data(rig).bones["pelvis"].head_local
    return blender_to_smplx(np.array(head, dtype=np.float64))


def mesh_problem(sampler, world: np.ndarray, sizes: np.ndarray, loops: np.ndarray
                 ) -> str | None:
    """Why an evaluated body mesh (world (V, 3), polygon sizes and vertex ids) cannot be fed to
    ``sampler`` (None if it can): polygons that are not triangles, a mesh that is not the
    checkpoint's (``sampler.check_body``: vertex count, triangles up to the rotation of their
    corners), or non-finite positions."""
    from posa_model.errors import PosaError

    triangles = not (len(sizes) and np.any(sizes != 3))
    if triangles or len(world) != sampler.num_vertices:
        faces = loops.reshape(-1, 3) if triangles else np.zeros((0, 3), dtype=np.int64)
        try:
            sampler.check_body(faces, "its mesh", num_vertices=len(world))
        except PosaError as exc:
            hint = ""
            if len(world) != sampler.num_vertices:
                hint = (" (modifiers that add or remove vertices, such as Subdivision, are "
                        "not supported)")
            return f"{exc}{hint}"
    if not triangles:
        return (f"it has {int(np.count_nonzero(sizes != 3))} polygons that are not triangles "
                "(the body mesh is all triangles)")
    if not np.isfinite(world).all():
        return "some of its vertices are at non-finite positions"
    return None


def reset_pose(rig: bpy.types.Object) -> None:
    """Every bone back to its rest pose (rotation, location and scale)."""
    _, pose = rig_parts(rig)
    for bone in pose.bones:
        bone.rotation_mode = "QUATERNION"
        bone.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
        bone.rotation_euler = (0.0, 0.0, 0.0)
        bone.rotation_axis_angle = (0.0, 0.0, 1.0, 0.0)
        bone.location = (0.0, 0.0, 0.0)
        bone.scale = (1.0, 1.0, 1.0)


def contacts_material() -> bpy.types.Material:
    """A material that renders the mesh's render colour attribute (the contact colours)."""
    material = bpy.data.materials.get(MATERIAL_NAME)
    if material is not None:
        return material
    material = bpy.data.materials.new(MATERIAL_NAME)
    material.use_nodes = True
    tree = material.node_tree
    if tree is None:
        return material
    shader = tree.nodes.get("Principled BSDF")
    colour = tree.nodes.new("ShaderNodeVertexColor")  # no layer name: the render colour attribute
    colour.location = (-300.0, 200.0)
    if shader is not None:
        tree.links.new(colour.outputs["Color"], shader.inputs["Base Color"])
        cast(bpy.types.NodeSocketFloat, shader.inputs["Roughness"]).default_value = 0.6
    return material


def _padded(values, size: int) -> np.ndarray:
    out = np.zeros(size)
    values = np.asarray(values if values is not None else [], dtype=np.float64).reshape(-1)
    out[: min(size, len(values))] = values[:size]
    return out
