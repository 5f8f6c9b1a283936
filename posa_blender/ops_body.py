"""Operators for bodies: Add Body, Apply Pose Preset, Load Pose File, Reset Pose.

Each one: properties -> posa_model -> arrays -> Blender data -> report. Every check runs before
anything is changed, so a refused call leaves the file as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from . import body, deps, props
from .ops_common import BodyModelOptions, ObjectModeOnly, ShapeOption

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems as OperatorReturn

#: What adding and posing bodies needs (sampling also needs the checkpoint's modules).
BODY_MODULES = (("torch", "torch"), ("scipy", "scipy"), ("smplx", "smplx"),
                ("posa_model", "posa_model"))


def missing_body_modules() -> list[str]:
    return deps.missing_modules(BODY_MODULES)


def selected_rig(context: bpy.types.Context) -> tuple[bpy.types.Object | None, str]:
    """The armature of the active POSA body, or (None, why not)."""
    found = body.find_body(context.active_object)
    if context.active_object is None:
        return None, "Nothing is selected: select a body made by Add Body (its mesh or armature)"
    if found is None or found.rig is None or props.object_info(found.rig).role != body.RIG_ROLE:
        return None, (f"'{context.active_object.name}' is not a POSA body with an armature: "
                      "select a body made by Add Body")
    return found.rig, ""


class POSA_OT_add_body(BodyModelOptions, ShapeOption, ObjectModeOnly, bpy.types.Operator):
    """Add a body (the stand-in or SMPL-X) with an armature of the 55 SMPL-X joints"""

    bl_idname = "posa.add_body"
    bl_label = "Add Body"
    bl_options = {"REGISTER", "UNDO"}
    object_mode_task = "add a body"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        if missing := missing_body_modules():
            self.report({"ERROR"}, deps.missing_message(missing))
            return {"CANCELLED"}
        loaded = self.load_body_model(context, "add the Stand-in body")
        if isinstance(loaded, str):
            self.report({"ERROR"}, loaded)
            return {"CANCELLED"}
        model, model_path = loaded
        betas = np.asarray(self.betas, dtype=np.float32)[: model.num_betas]
        made = body.create_body(context, model, model_path=model_path, gender=self.gender,
                                betas=betas)
        bones = len(body.armature_data(made.rig).bones) if made.rig else 0
        self.report({"INFO"}, f"Added '{made.mesh.name}' "
                    f"({len(body.mesh_data(made.mesh).vertices)} vertices, {bones} bones)")
        return {"FINISHED"}


class POSA_OT_apply_preset(bpy.types.Operator):
    """Pose the selected body with a preset (hands and face at rest)"""

    bl_idname = "posa.apply_preset"
    bl_label = "Apply Preset"
    bl_options = {"REGISTER", "UNDO"}

    preset: EnumProperty(name="Preset", items=props.preset_items)

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        if missing := missing_body_modules():
            self.report({"ERROR"}, deps.missing_message(missing))
            return {"CANCELLED"}
        rig, why = selected_rig(context)
        if rig is None:
            self.report({"ERROR"}, why)
            return {"CANCELLED"}
        from posa_model.body import PRESET_DESCRIPTIONS, get_preset

        preset = get_preset(self.preset)
        body.apply_pose(rig, preset.global_orient[0], preset.body_pose[0])
        self.report({"INFO"}, f"Posed '{rig.name}': {self.preset} "
                    f"({PRESET_DESCRIPTIONS[self.preset]})")
        return {"FINISHED"}


class POSA_OT_load_pose_file(bpy.types.Operator):
    """Pose the selected body from SMPL-X parameters in a file (.npz as PROX and AMASS write)"""

    bl_idname = "posa.load_pose_file"
    bl_label = "Load Pose File"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="File", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.npz;*.pkl", options={"HIDDEN"})
    frame: IntProperty(name="Frame", default=0, min=0, description="Frame of an AMASS sequence")
    allow_pickle: BoolProperty(
        name="Trust This Pickle File", default=False,
        description="Read a .pkl file. Unpickling runs code stored in the file: only for files "
        "from a source you trust",
    )

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[OperatorReturn]:
        if context.window_manager is None:
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        if missing := missing_body_modules():
            self.report({"ERROR"}, deps.missing_message(missing))
            return {"CANCELLED"}
        rig, why = selected_rig(context)
        if rig is None:
            self.report({"ERROR"}, why)
            return {"CANCELLED"}
        from posa_model.body import BodyPose
        from posa_model.errors import PosaError

        path = Path(bpy.path.abspath(self.filepath))
        if path.suffix.lower() == ".pkl" and not self.allow_pickle:
            self.report({"ERROR"}, f"{path.name} is a pickle: reading it runs code stored in the "
                        "file. Tick 'Trust This Pickle File' to read it, or convert it to .npz")
            return {"CANCELLED"}
        try:  # BodyPose.from_file checks existence, format and every field
            params = BodyPose.from_file(path, frame=self.frame, allow_pickle=self.allow_pickle)
        except PosaError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        body.apply_pose(rig, params.global_orient[0], params.body_pose[0], params.transl[0])
        note = ""
        if np.any(params.betas[0]):
            note = " (its shape (betas) was not applied: set the shape when adding a body)"
        self.report({"INFO"}, f"Posed '{rig.name}' from {path.name}{note}")
        return {"FINISHED"}


class POSA_OT_reset_pose(bpy.types.Operator):
    """Put the selected body back into its rest pose"""

    bl_idname = "posa.reset_pose"
    bl_label = "Reset Pose"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        rig, why = selected_rig(context)
        if rig is None:
            self.report({"ERROR"}, why)
            return {"CANCELLED"}
        body.reset_pose(rig)
        self.report({"INFO"}, f"'{rig.name}' is in its rest pose")
        return {"FINISHED"}


classes = (POSA_OT_add_body, POSA_OT_apply_preset, POSA_OT_load_pose_file, POSA_OT_reset_pose)
