"""People in the scene: a placed person (``posa_model.populate.Person``) as a POSA body.

A person becomes a body of the model it was placed with, shaped by the person's own betas and
posed by its pose (``person.body.pose``, a one-body ``BodyPose`` in the SMPL-X world: the yaw
folded into ``global_orient``, the position into ``transl``): the armature sits at
``smplx_to_blender(transl)`` (so the rig's origin travels with the person) and its bones take
``global_orient`` and ``body_pose``. Blender's evaluated mesh is then the person's placed
vertices in Blender axes (``smplx_to_blender``). The mesh object keeps what was placed
(``Object["posa_placement"]``: interaction, spot, seed, metrics) and whether the person is
locked (``Object.posa.locked``).
"""

from __future__ import annotations

import re
from typing import Any

import bpy
import numpy as np

from . import body, contacts, props

#: Custom property of a placed body's mesh object: its interaction, spot and metrics.
PLACEMENT_KEY = "posa_placement"


def free_name(interaction: str) -> str:
    """"Sit 1", "Sit 2", ...: the first name of an interaction not taken by an object (nor by
    its armature, "<name> Rig")."""
    stem = interaction.replace("_", " ").title()
    taken = set(bpy.data.objects.keys())
    number = 1
    while f"{stem} {number}" in taken or f"{stem} {number} Rig" in taken:
        number += 1
    return f"{stem} {number}"


def add_person(context: bpy.types.Context, model, person, *, model_path: str, gender: str,
               name: str = "") -> body.BodyObjects:
    """A body for a placed ``person`` (module docstring), called ``name`` (default: the first
    free name of its interaction). Not selected."""
    from posa_model.frames import smplx_to_blender

    pose = person.body.pose
    betas = np.asarray(pose.betas[0], dtype=np.float32)[: model.num_betas]
    location = smplx_to_blender(np.asarray(pose.transl[0], dtype=np.float64))
    made = body.create_body(context, model, model_path=model_path, gender=gender, betas=betas,
                            name=name or free_name(person.interaction), location=location,
                            select=False)
    if made.rig is not None:
        body.apply_pose(made.rig, pose.global_orient[0], pose.body_pose[0])
    return made


def write_contacts(context: bpy.types.Context, obj: bpy.types.Object, placed, *, checkpoint: str,
                   seed: int, device: str, trained: bool) -> None:
    """Store a placed body's chosen contact map as Sample Contacts does, and colour it."""
    mesh = body.mesh_data(obj)
    contacts.write_samples(mesh, np.asarray(placed.contact)[None],
                           np.asarray(placed.semantics)[None])
    settings = props.scene_settings(context)
    contacts.show_sample(mesh, 0, settings.display)
    info = props.object_info(obj)
    info.checkpoint, info.seed, info.device, info.trained = checkpoint, seed, device, trained


def record_placement(obj: bpy.types.Object, placed, **fields: Any) -> None:
    """Keep what was placed on the object (custom property :data:`PLACEMENT_KEY`): ``fields``
    (interaction, spot, object, seed, generation, ...) and the placement's metrics."""
    values: dict[str, Any] = {}
    for key, value in {**fields, "map_index": int(placed.map_index), "yaw": float(placed.yaw),
                       **placed.metrics}.items():
        if isinstance(value, (bool, np.bool_, int, np.integer)):
            values[key] = int(value)
        elif isinstance(value, (float, np.floating)):
            values[key] = float(value)
        elif isinstance(value, str):
            values[key] = value
        elif isinstance(value, dict):  # touched classes: {class name: vertices}
            values[key] = {str(k): int(v) for k, v in value.items()}
    obj[PLACEMENT_KEY] = values


def placement(obj: bpy.types.Object) -> dict:
    """The object's placement record ({} when it was not placed)."""
    record = obj.get(PLACEMENT_KEY)
    if record is None:
        return {}
    return record.to_dict() if hasattr(record, "to_dict") else dict(record)


def is_locked(obj: bpy.types.Object) -> bool:
    return bool(props.object_info(obj).locked)


def escape_pattern(name: str) -> str:
    """An object name as an ``fnmatch`` pattern that matches only that name."""
    return re.sub(r"([\[\]*?])", r"[\1]", name)


def summary_text(metrics: dict) -> str:
    """The few metrics a person's report line shows: non-collision, touch, semantic match and
    what they touch."""
    parts = [f"{label} {float(metrics[key]):.3f}" for key, label in
             (("non_collision", "non-collision"), ("touch", "touch"),
              ("semantic_match", "semantic match")) if key in metrics]
    touched = metrics.get("touched_classes") or {}
    parts.append("touches " + (", ".join(f"{k} {v}" for k, v in touched.items()) or "nothing"))
    return ", ".join(parts)


def remove_bodies(made: list[body.BodyObjects]) -> None:
    """Delete bodies, their mesh and armature data included when nothing else uses them."""
    for found in made:
        mesh, armature = found.mesh.data, found.rig.data if found.rig is not None else None
        bpy.data.objects.remove(found.mesh)
        if found.rig is not None:
            bpy.data.objects.remove(found.rig)
        if isinstance(mesh, bpy.types.Mesh) and mesh.users == 0:
            bpy.data.meshes.remove(mesh)
        if isinstance(armature, bpy.types.Armature) and armature.users == 0:
            bpy.data.armatures.remove(armature)
