"""The scene's classes and one body's place: Guess Classes and Refine Placement.

Refine Placement: the body's evaluated mesh (Blender world, +z up) -> SMPL-X world (+y up,
:mod:`posa_model.frames`), and its pose read from its armature (:func:`.body.world_pose`: a
one-body ``BodyPose`` with the rig object's placement folded into ``global_orient`` and
``transl``, the body's stored shape, its model from its stored model path and gender) ->
``posa_model.place.refine_placement`` with ``pose=`` and ``model=``, so the pose adapts as
Populate Scene's does (pose changes with a prior and joint limits; a body without a target
takes a smaller step, :data:`posa_model.placement.losses.FREE_POSE_STEP`) -> the placed pose
written back (:func:`.body.set_world_pose`: the rig turned by the placement's yaw, the bones
posed, the rig moved so that its evaluated mesh is the placed body) -> report. Every check
that can refuse runs before anything changes.

A body whose mesh is not its armature's pose of its model (no armature, scaled bones, turned
eyes, shape keys or other modifiers, a model file that no longer loads: :func:`posable`) is
moved rigidly, as before, and the report says why. A rigid placement ``T`` (4, 4) acts on
SMPL-X world points; for a body whose Blender world matrix is ``M_old`` when its vertices were
read, the new world matrix is ``M_new = C T C^-1 M_old`` with ``C`` the 4x4 of
:func:`posa_model.frames.smplx_to_blender`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import bpy
import numpy as np
from bpy.props import BoolProperty, FloatProperty

from . import body, deps, people, props, runtime, scene
from .ops_common import ObjectModeOnly
from .ops_populate import POPULATE_MODULES, PlacementOptions

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems as OperatorReturn

#: What guessing classes needs (:data:`.deps.FEATURES`).
GUESS_MODULES = deps.feature_modules("Guess Classes")
#: How far (m) a body's evaluated mesh may be from its model posed by the pose its armature
#: reads as: float32 skinning differs by ~1e-5 m; a model with pose correctives (real SMPL-X),
#: which Blender's armature does not apply, by up to a few cm.
POSE_TOLERANCE = 1e-3
CORRECTIVES_TOLERANCE = 0.05


def placement_matrix(transform: np.ndarray, matrix_world: np.ndarray) -> np.ndarray:
    """The Blender world matrix (4, 4) after placing: ``C @ transform @ C^-1 @ matrix_world``.

    ``transform`` (4, 4) acts on SMPL-X world points (column vectors); ``matrix_world`` is the
    object's Blender world matrix when its vertices were read.
    """
    from posa_model.frames import SMPLX_TO_BLENDER

    convert = np.eye(4)
    convert[:3, :3] = SMPLX_TO_BLENDER
    return convert @ np.asarray(transform, dtype=np.float64) @ convert.T @ matrix_world


def posable(found: body.BodyObjects, vertices: np.ndarray, sampler) -> tuple | str:
    """(model, pose): the body's model and its world pose (a one-body ``BodyPose``, SMPL-X
    world) when posing it gives the body's evaluated ``vertices`` (V, 3, SMPL-X world) to
    :data:`POSE_TOLERANCE` (:data:`CORRECTIVES_TOLERANCE` for a model with pose correctives);
    else why its pose cannot adapt (it is then moved rigidly)."""
    from posa_model.body import pose_body
    from posa_model.errors import PosaError

    if problem := body.pose_problem(found):
        return problem
    info = props.object_info(found.mesh)
    try:
        model = runtime.body_model(info.model_path, info.gender)
        sampler.check_body(model.faces, info.model_path or "the stand-in",
                           num_vertices=model.num_vertices)
    except PosaError as exc:
        return f"its body model cannot be used ({exc})"
    pose = body.world_pose(found, model)
    gap = float(np.abs(pose_body(model, pose).vertices[0] - vertices).max())
    tolerance = POSE_TOLERANCE if model.posedirs is None else CORRECTIVES_TOLERANCE
    if not gap <= tolerance:
        return (f"its mesh is {gap * 100:.1f} cm from its armature's pose of its model (shape "
                "keys, other modifiers or bone constraints?)")
    return model, pose


def move_body(found: body.BodyObjects, transform: np.ndarray, matrix_world: np.ndarray) -> None:
    """Move a body's armature (or the mesh, without one) by a placement ``transform``."""
    from mathutils import Matrix

    target = found.rig if found.rig is not None else found.mesh
    target.matrix_world = Matrix(placement_matrix(transform, matrix_world).tolist())


class POSA_OT_guess_classes(bpy.types.Operator):
    """Set the POSA class of the selected meshes (all scene meshes when none is selected) from
    the labels their file carried ('posa_class' in glTF extras), else from their names
    ("Chair.001" -> chair, "Couch" -> sofa) or their parents' ("Blanket" under "Bed_Double")"""

    bl_idname = "posa.guess_classes"
    bl_label = "Guess Classes"
    bl_options = {"REGISTER", "UNDO"}

    keep_by_hand: BoolProperty(
        name="Keep Classes Set by Hand", default=True,
        description="Leave objects whose POSA class was chosen by hand as they are",
    )

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        if missing := deps.missing_modules(GUESS_MODULES):
            self.report({"ERROR"}, deps.missing_message(missing))
            return {"CANCELLED"}
        if context.scene is None:
            self.report({"ERROR"}, "No scene in this context")
            return {"CANCELLED"}
        selected = [o for o in context.selected_objects
                    if o.type == "MESH" and not scene.is_body(o)]
        candidates = selected or scene.scene_meshes(context.scene)
        if not candidates:
            self.report({"ERROR"}, "No mesh objects to guess classes for (POSA bodies are "
                        "skipped)")
            return {"CANCELLED"}
        from posa_model.classes import MPCAT40_NAMES
        from posa_model.scene.labels import guess_classes

        kept = [o for o in candidates if self.keep_by_hand
                and props.object_info(o).class_source == props.CLASS_SET_BY_HAND]
        todo = [o for o in candidates if o not in kept]
        labels = {o.name: scene.file_label(o) for o in todo}
        from_file, bad = [], []
        for obj in todo:
            label = labels[obj.name]
            if label is not None and label.class_id > 0:
                props.set_class(obj, label.class_id, props.CLASS_FROM_FILE + label.key)
                from_file.append(f"{obj.name} -> {MPCAT40_NAMES[label.class_id]}")
            elif label is not None and label.class_id < 0:
                bad.append(label.problem)
        rest = [o for o in todo
                if (label := labels[o.name]) is None or label.class_id <= 0]
        guesses = guess_classes({n for o in rest for n in (o.name, *scene.parents(o))})
        found, unknown = [], []
        for obj in rest:
            # a part whose own name says nothing takes its piece's (a parent's) class
            named = next((n for n in (obj.name, *scene.parents(obj)) if guesses[n][0]), "")
            class_id, source = guesses[named] if named else (0, "none")
            if class_id == 0:
                unknown.append(obj.name)
                continue
            props.set_class(obj, int(class_id), source)
            via = f" of '{named}'" if named != obj.name else ""
            found.append(f"{obj.name} -> {MPCAT40_NAMES[int(class_id)]} ('{source[6:]}'{via})")
        scope = "selected" if selected else "scene"
        lines = []
        if from_file:
            lines.append(f"From the file's labels: {len(from_file)} of {len(todo)} {scope} "
                         f"mesh(es): {'; '.join(from_file)}")
        lines.append(f"Guessed {len(found)} of {len(rest)} {scope} mesh(es)"
                     + (f": {'; '.join(found)}" if found else ""))
        if kept:
            lines.append(f"kept by hand: {', '.join(o.name for o in kept)}")
        for line in lines:
            self.report({"INFO"}, line)
        for problem in bad:
            self.report({"WARNING"}, problem)
        if unknown:
            self.report({"WARNING"}, f"Could not guess {len(unknown)}: {', '.join(unknown)} "
                        "(set their POSA Class by hand, or leave them Unlabelled: then they are "
                        "obstacles nobody touches)")
        return {"FINISHED"}



class POSA_OT_refine_placement(PlacementOptions, ObjectModeOnly, bpy.types.Operator):
    """Move the selected body, dropped roughly where it should go, onto the nearest fitting
    place within a radius of where it is (other bodies are obstacles), adapting its pose a
    little as Populate Scene does"""

    bl_idname = "posa.refine_placement"
    bl_label = "Refine Placement"
    bl_options = {"REGISTER", "UNDO"}

    radius: FloatProperty(name="Radius", default=1.0, min=0.05, max=20.0, subtype="DISTANCE",
                          unit="LENGTH")
    object_mode_task = "refine a placement"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        started = time.perf_counter()
        active = context.active_object
        found = body.find_body(active)
        if active is None:
            return self._refuse("Nothing is selected: select a body (its mesh or armature) "
                                "dropped near where it should go")
        if found is None or not scene.is_body(found.mesh):
            return self._refuse(f"'{active.name}' is not a POSA body: select a body made by "
                                "Add Body or Populate Scene")
        if people.is_locked(found.mesh):
            return self._refuse(f"'{found.mesh.name}' is locked: unlock it to move it")
        inputs = scene.scene_inputs(context, self.device, self.grid_resolution,
                                    POPULATE_MODULES, skip=(found.mesh,))
        if isinstance(inputs, str):
            return self._refuse(inputs)
        from posa_model.errors import PosaError
        from posa_model.frames import SMPLX_TO_BLENDER
        from posa_model.place import BodyRequest, PlacementConfig, refine_placement
        from posa_model.placement.types import yaw_matrix

        vertices, sizes, loops = scene.body_vertices(found.mesh, context.evaluated_depsgraph_get())
        if problem := body.mesh_problem(inputs.loaded.sampler, vertices, sizes, loops):
            return self._refuse(f"'{found.mesh.name}' is not a supported body: {problem}")
        target = found.rig if found.rig is not None else found.mesh
        matrix_world = np.array(target.matrix_world, dtype=np.float64)
        centre = vertices.mean(axis=0)
        region = (centre, float(self.radius))
        posed = posable(found, vertices, inputs.loaded.sampler)
        model, pose = (None, None) if isinstance(posed, str) else posed
        request = BodyRequest(vertices=vertices if pose is None else None, name=found.mesh.name,
                              region=region, info={}, pose=pose)
        config = PlacementConfig(seed=self.seed, device=inputs.loaded.device)
        try:
            placed = refine_placement(inputs.grid, request, sampler=inputs.loaded.sampler,
                                      config=config, faces=loops.reshape(-1, 3).astype(np.int64),
                                      obstacles=inputs.obstacles, model=model)
        except PosaError as exc:
            return self._refuse(f"Cannot refine '{found.mesh.name}': {exc}")
        if not placed.placed:
            return self._refuse(f"'{found.mesh.name}' was left where it is: {placed.reason}")
        if pose is not None and placed.pose is not None:
            turn = SMPLX_TO_BLENDER @ yaw_matrix(placed.yaw) @ SMPLX_TO_BLENDER.T
            body.set_world_pose(found, placed.pose, turn @ matrix_world[:3, :3], model)
            change = np.linalg.norm((placed.pose.body_pose - pose.body_pose).reshape(-1, 3),
                                    axis=1)
            how = f"pose adapted (joints turned up to {np.degrees(change.max()):.1f} degrees)"
        else:
            move_body(found, placed.transform, matrix_world)
            how = "moved rigidly, its pose kept" + (f": {posed}" if isinstance(posed, str)
                                                    else "")
        people.write_contacts(context, found.mesh, placed, checkpoint=inputs.checkpoint,
                              seed=self.seed, device=inputs.loaded.device,
                              trained=bool(inputs.loaded.sampler.trained))
        previous = people.placement(found.mesh)
        keep = {k: previous[k] for k in ("interaction", "pose", "person", "object", "seed",
                                         "generation", "spot", "spot_kind") if k in previous}
        people.record_placement(found.mesh, placed, **keep, refined=1)
        moved = float(np.linalg.norm(np.asarray(placed.vertices).mean(axis=0) - centre))
        if inputs.loaded.fallback:
            self.report({"WARNING"}, inputs.loaded.fallback)
        self.report({"INFO"}, f"Refined '{found.mesh.name}' in "
                    f"{time.perf_counter() - started:.1f} s: moved {moved:.2f} m, {how}; "
                    f"{people.summary_text(placed.metrics)}")
        return {"FINISHED"}


classes = (POSA_OT_guess_classes, POSA_OT_refine_placement)
