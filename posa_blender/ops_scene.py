"""Scene population: Guess Classes, Populate Scene and Refine Placement.

Each operator: scene objects and bodies -> numpy (Blender world, +z up) -> SMPL-X world (+y up,
:mod:`posa_model.frames`) -> ``posa_model.scene`` / ``posa_model.place`` -> a rigid placement
per body -> the body's armature moved in Blender -> report. Every check that can refuse runs
before anything changes; the one step that can only run after the bodies exist (placement needs
their evaluated meshes) removes them again when it fails, so a refused call leaves the file as
it was.

A placement ``T`` (4, 4) acts on SMPL-X world points. For a body whose Blender world matrix is
``M_old`` when its vertices were read, the new world matrix is ``M_new = C T C^-1 M_old`` with
``C`` the 4x4 of :func:`posa_model.frames.smplx_to_blender`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import bpy
import numpy as np
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
)

from . import arrays, body, contacts, deps, prefs, props, runtime
from .ops_common import BodyModelOptions, ObjectModeOnly

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems as OperatorReturn

#: What guessing classes needs (posa_model.scene loads torch and libigl).
GUESS_MODULES = (("numpy", "numpy"), ("torch", "torch"), ("igl", "libigl"),
                 ("posa_model", "posa_model"))
#: What placing bodies needs: the scene grids, the sampler and the body model.
PLACE_MODULES = (("numpy", "numpy"), ("torch", "torch"), ("scipy", "scipy"), ("smplx", "smplx"),
                 ("igl", "libigl"), ("posa_model", "posa_model"))
#: Custom property of a placed body's mesh object: its pose and placement metrics.
PLACEMENT_KEY = "posa_placement"


# --------------------------------------------------------------------------------------------
# Blender scene -> posa_model inputs


def is_body(obj: bpy.types.Object) -> bool:
    """Whether ``obj`` is the mesh of a POSA body (made by Add Body or Populate Scene)."""
    return obj.type == "MESH" and props.object_info(obj).role == body.BODY_ROLE


def scene_meshes(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """The scene's mesh objects that are not POSA bodies, by name."""
    return sorted((o for o in scene.objects if o.type == "MESH" and not is_body(o)),
                  key=lambda o: o.name)


def labelled_objects(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """The scene's meshes that have a POSA class (not "Unlabelled")."""
    return [o for o in scene_meshes(scene) if props.class_id(o) != 0]


def scene_bodies(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """The meshes of the POSA bodies in the scene, by name."""
    return sorted((o for o in scene.objects if is_body(o)), key=lambda o: o.name)


def scene_objects(objects: list[bpy.types.Object], depsgraph: bpy.types.Depsgraph) -> list:
    """``posa_model.scene.MeshObject`` per labelled object with triangles (SMPL-X world)."""
    from posa_model.frames import blender_to_smplx
    from posa_model.scene import MeshObject

    out = []
    for obj in objects:
        world, faces = arrays.evaluated_world_triangles(obj, depsgraph)
        if len(faces):
            out.append(MeshObject(obj.name, blender_to_smplx(world), faces, props.class_id(obj),
                                  props.class_source(obj)))
    return out


def body_vertices(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A body's evaluated (posed) world vertices in SMPL-X axes (V, 3) float64 and its
    triangles (F, 3) int64."""
    from posa_model.frames import blender_to_smplx

    world, _sizes, loops = arrays.evaluated_world_vertices(obj, depsgraph)
    return blender_to_smplx(world.astype(np.float64)), loops.reshape(-1, 3).astype(np.int64)


_GRID_CACHE: dict[str, Any] = {}


def scene_grid(objects: list, resolution: float):
    """``build_scene_grid`` of ``objects``; the last grid is reused while the scene (every
    object's name, class, triangles and placement) and the resolution stay the same."""
    from posa_model.scene import build_scene_grid

    digest = hashlib.blake2b(repr(round(resolution, 6)).encode(), digest_size=16)
    for obj in objects:
        digest.update(f"{obj.name}\0{obj.class_id}\0".encode())
        digest.update(np.ascontiguousarray(obj.vertices, dtype=np.float64).tobytes())
        digest.update(np.ascontiguousarray(obj.faces, dtype=np.int64).tobytes())
    key = digest.hexdigest()
    if _GRID_CACHE.get("key") != key:
        _GRID_CACHE.clear()
        _GRID_CACHE.update(key=key, grid=build_scene_grid(objects, resolution=resolution))
    return _GRID_CACHE["grid"]


def clear_cache() -> None:
    """Forget the cached scene grid (at unregister)."""
    _GRID_CACHE.clear()


def mix_presets(mix: str, count: int, preset: str) -> list[str]:
    """Pose preset per body: the presets of ``props.POSE_MIXES[mix]`` in turn (``preset`` for
    every body when ``mix`` is "PRESET")."""
    names = (preset,) if mix == "PRESET" else props.POSE_MIXES[mix]
    return [names[i % len(names)] for i in range(count)]


# --------------------------------------------------------------------------------------------
# posa_model results -> Blender


def placement_matrix(transform: np.ndarray, matrix_world: np.ndarray) -> np.ndarray:
    """The Blender world matrix (4, 4) after placing: ``C @ transform @ C^-1 @ matrix_world``.

    ``transform`` (4, 4) acts on SMPL-X world points (column vectors); ``matrix_world`` is the
    object's Blender world matrix when its vertices were read.
    """
    from posa_model.frames import SMPLX_TO_BLENDER

    convert = np.eye(4)
    convert[:3, :3] = SMPLX_TO_BLENDER
    return convert @ np.asarray(transform, dtype=np.float64) @ convert.T @ matrix_world


def move_body(found: body.BodyObjects, transform: np.ndarray, matrix_world: np.ndarray) -> None:
    """Move a body's armature (or the mesh, without one) by a placement ``transform``."""
    from mathutils import Matrix

    target = found.rig if found.rig is not None else found.mesh
    target.matrix_world = Matrix(placement_matrix(transform, matrix_world).tolist())


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


def record_placement(obj: bpy.types.Object, pose: str, placed) -> None:
    """Keep the pose and the placement's metrics on the object (custom property)."""
    values: dict[str, Any] = {"pose": pose, "map_index": int(placed.map_index),
                              "yaw": float(placed.yaw)}
    for key, value in placed.metrics.items():
        if isinstance(value, (bool, np.bool_, int, np.integer)):
            values[key] = int(value)
        elif isinstance(value, (float, np.floating)):
            values[key] = float(value)
        elif isinstance(value, str):
            values[key] = value
        elif isinstance(value, dict):  # touched classes: {class name: vertices}
            values[key] = {str(k): int(v) for k, v in value.items()}
    obj[PLACEMENT_KEY] = values


def metrics_text(metrics: dict) -> str:
    """One line of a body's metrics: numbers to 3 decimals, flags as yes/no, touched classes."""
    parts = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            touched = ", ".join(f"{name} {count}" for name, count in value.items())
            parts.append(f"{key.replace('_', ' ')}: {touched or 'none'}")
        elif isinstance(value, (bool, np.bool_)):
            parts.append(f"{key.replace('_', ' ')} {'yes' if value else 'no'}")
        elif isinstance(value, (int, np.integer)):
            parts.append(f"{key.replace('_', ' ')} {int(value)}")
        elif isinstance(value, (float, np.floating)):
            parts.append(f"{key.replace('_', ' ')} {float(value):.3f}")
        elif isinstance(value, str):
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return ", ".join(parts)


def remove_bodies(made: list[body.BodyObjects], keep_material: bool = True) -> None:
    """Delete bodies made by this call, their mesh and armature data included, and the
    contacts material when it is left unused and ``keep_material`` is False (it was made by
    this call)."""
    for found in made:
        mesh, armature = found.mesh.data, found.rig.data if found.rig is not None else None
        bpy.data.objects.remove(found.mesh)
        if found.rig is not None:
            bpy.data.objects.remove(found.rig)
        if isinstance(mesh, bpy.types.Mesh) and mesh.users == 0:
            bpy.data.meshes.remove(mesh)
        if isinstance(armature, bpy.types.Armature) and armature.users == 0:
            bpy.data.armatures.remove(armature)
    material = bpy.data.materials.get(body.MATERIAL_NAME)
    if not keep_material and material is not None and material.users == 0:
        bpy.data.materials.remove(material)


@dataclass(frozen=True)
class _Selection:
    """Which objects are selected and which one is active (to put back after a refusal)."""

    selected: list[bpy.types.Object]
    active: bpy.types.Object | None

    @classmethod
    def take(cls, context: bpy.types.Context) -> _Selection:
        return cls(list(context.selected_objects), context.active_object)

    def restore(self, context: bpy.types.Context) -> None:
        view_layer = context.view_layer
        if view_layer is None:
            return
        for obj in view_layer.objects:
            obj.select_set(obj in self.selected)
        view_layer.objects.active = self.active


@dataclass(frozen=True)
class SceneInputs:
    """What every placement call reads from the scene: the grid, the other bodies, the model."""

    grid: Any
    obstacles: list[np.ndarray]
    loaded: runtime.LoadedSampler
    checkpoint: str


# --------------------------------------------------------------------------------------------
# operators


class _SceneOperator:
    """Shared options and checks of Populate Scene and Refine Placement."""

    seed: IntProperty(name="Seed", default=0, min=0)
    device: EnumProperty(name="Device", items=props.DEVICE_ITEMS, default="AUTO")
    resolution: FloatProperty(name="Grid Resolution", default=0.05, min=0.01, max=0.5,
                              subtype="DISTANCE", unit="LENGTH")

    def _refuse(self, message: str) -> set[OperatorReturn]:
        self.report({"ERROR"}, message)  # type: ignore[attr-defined]
        return {"CANCELLED"}

    def _inputs(self, context: bpy.types.Context, device: str, resolution: float,
                skip: bpy.types.Object | None = None) -> SceneInputs | str:
        """The scene's grid, obstacles and sampler, or why they cannot be had (a message)."""
        if missing := deps.missing_modules(PLACE_MODULES):
            return deps.missing_message(missing)
        scene = context.scene
        if scene is None:
            return "No scene in this context"
        labelled = labelled_objects(scene)
        if not labelled:
            count = len(scene_meshes(scene))
            return (f"Nothing to interact with: none of the scene's {count} mesh object(s) has "
                    "a POSA class. Run Guess Classes, or set 'POSA Class' (floor, chair, sofa, "
                    "bed, ...) in the Scene panel for the objects bodies may touch")
        from posa_model.errors import PosaError

        depsgraph = context.evaluated_depsgraph_get()
        objects = scene_objects(labelled, depsgraph)
        if not objects:
            names = ", ".join(o.name for o in labelled[:5])
            return f"Nothing to interact with: the labelled objects ({names}) have no faces"
        try:
            grid = scene_grid(objects, resolution)
        except PosaError as exc:
            return f"Cannot build the scene's distance grid: {exc}"
        settings = prefs.settings(context)
        try:
            loaded = runtime.sampler(settings.checkpoint, device.lower())
        except PosaError as exc:
            return f"Cannot load the checkpoint: {exc}"
        obstacles = []
        for other in scene_bodies(scene):
            if other == skip:
                continue
            vertices = body_vertices(other, depsgraph)[0]
            if len(vertices) != loaded.sampler.num_vertices:
                return (f"'{other.name}' (a body in the scene, kept as an obstacle) has "
                        f"{len(vertices)} evaluated vertices, the checkpoint's body has "
                        f"{loaded.sampler.num_vertices} (modifiers that add or remove vertices, "
                        "such as Subdivision, are not supported)")
            obstacles.append(vertices)
        return SceneInputs(grid, obstacles, loaded, settings.checkpoint)


class POSA_OT_guess_classes(bpy.types.Operator):
    """Set the POSA class of the selected meshes (all scene meshes when none is selected) from
    their names ("Chair.001" -> chair, "Couch" -> sofa)"""

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
        selected = [o for o in context.selected_objects if o.type == "MESH" and not is_body(o)]
        candidates = selected or scene_meshes(context.scene)
        if not candidates:
            self.report({"ERROR"}, "No mesh objects to guess classes for (POSA bodies are "
                        "skipped)")
            return {"CANCELLED"}
        from posa_model.classes import MPCAT40_NAMES
        from posa_model.scene.labels import guess_classes

        kept = [o for o in candidates if self.keep_by_hand
                and props.object_info(o).class_source == props.CLASS_SET_BY_HAND]
        todo = [o for o in candidates if o not in kept]
        guesses = guess_classes([o.name for o in todo])
        found, unknown = [], []
        for obj in todo:
            class_id, source = guesses[obj.name]
            if class_id == 0:
                unknown.append(obj.name)
                continue
            props.set_class(obj, int(class_id), source)
            found.append(f"{obj.name} -> {MPCAT40_NAMES[int(class_id)]} ('{source[6:]}')")
        scope = "selected" if selected else "scene"
        lines = [f"Guessed {len(found)} of {len(todo)} {scope} mesh(es)"
                 + (f": {'; '.join(found)}" if found else "")]
        if kept:
            lines.append(f"kept by hand: {', '.join(o.name for o in kept)}")
        for line in lines:
            self.report({"INFO"}, line)
        if unknown:
            self.report({"WARNING"}, f"Could not guess {len(unknown)}: {', '.join(unknown)} "
                        "(set their POSA Class by hand, or leave them Unlabelled to ignore them)")
        return {"FINISHED"}


class POSA_OT_populate_scene(_SceneOperator, BodyModelOptions, ObjectModeOnly,
                              bpy.types.Operator):
    """Add bodies posed from a mix of presets and place them in the scene so that they sit,
    lie, stand and lean on its labelled objects without passing through them or each other"""

    bl_idname = "posa.populate_scene"
    bl_label = "Populate Scene"
    bl_options = {"REGISTER", "UNDO"}

    n_bodies: IntProperty(name="Bodies", default=5, min=1, max=200)
    pose_mix: EnumProperty(name="Poses", items=props.POSE_MIX_ITEMS, default="MIXED")
    preset: EnumProperty(name="Preset", items=props.preset_items,
                         description="The pose of every body when Poses is Preset")
    object_mode_task = "populate the scene"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        started = time.perf_counter()
        inputs = self._inputs(context, self.device, self.resolution)
        if isinstance(inputs, str):
            return self._refuse(inputs)
        from posa_model.errors import PosaError

        loaded = self.load_body_model(context, "populate with the Stand-in body")
        if isinstance(loaded, str):
            return self._refuse(loaded)
        model, model_path = loaded
        poses = mix_presets(self.pose_mix, self.n_bodies, self.preset)

        had_material = body.MATERIAL_NAME in bpy.data.materials
        selection = _Selection.take(context)
        made, requests = self._add_bodies(context, model, model_path, poses)
        try:
            result = self._place(inputs, made, requests)
        except PosaError as exc:
            remove_bodies(made, keep_material=had_material)
            selection.restore(context)
            return self._refuse(f"Cannot populate the scene: {exc}")

        for found, pose, placed in zip(made, poses, result.bodies, strict=True):
            if not placed.placed:
                self.report({"WARNING"}, f"{found.mesh.name} ({pose}): not placed: "
                            f"{placed.reason}")
        kept = [(f, pose, request, placed) for f, pose, request, placed
                in zip(made, poses, requests, result.bodies, strict=True) if placed.placed]
        remove_bodies([f for f, p in zip(made, result.bodies, strict=True) if not p.placed],
                      keep_material=had_material or bool(kept))
        if not kept:
            selection.restore(context)
            return self._refuse(f"None of the {len(made)} bodies found a place in the scene "
                                "(the warnings say why); nothing was added")
        for found, pose, request, placed in kept:
            move_body(found, placed.transform, request["matrix_world"])
            write_contacts(context, found.mesh, placed, checkpoint=inputs.checkpoint,
                           seed=self.seed, device=inputs.loaded.device,
                           trained=bool(inputs.loaded.sampler.trained))
            record_placement(found.mesh, pose, placed)
            self.report({"INFO"}, f"{found.mesh.name} ({pose}): placed, "
                        f"{metrics_text(placed.metrics)}")
        _Selection([k[0].mesh for k in kept], kept[0][0].mesh).restore(context)
        if context.window_manager is not None:
            contacts.show_in_viewports(w.screen for w in context.window_manager.windows)
        if inputs.loaded.fallback:
            self.report({"WARNING"}, inputs.loaded.fallback)
        overall = metrics_text(result.metrics or {})
        self.report({"INFO"}, f"Placed {len(kept)} of {len(made)} bodies on "
                    f"{inputs.loaded.device} in {time.perf_counter() - started:.1f} s"
                    + (f"; {overall}" if overall else ""))
        return {"FINISHED"}

    def _add_bodies(self, context: bpy.types.Context, model, model_path: str, poses: list[str]
                    ) -> tuple[list[body.BodyObjects], list[dict]]:
        """Add and pose one body per pose; their evaluated SMPL-X world vertices and faces."""
        from posa_model.body import get_preset

        betas = np.asarray(self.betas, dtype=np.float32)[: model.num_betas]
        made = []
        for pose in poses:
            found = body.create_body(context, model, model_path=model_path, gender=self.gender,
                                     betas=betas)
            if found.rig is not None:
                preset = get_preset(pose)
                body.apply_pose(found.rig, preset.global_orient[0], preset.body_pose[0])
            made.append(found)
        depsgraph = context.evaluated_depsgraph_get()
        requests = []
        for found, pose in zip(made, poses, strict=True):
            vertices, faces = body_vertices(found.mesh, depsgraph)
            target = found.rig if found.rig is not None else found.mesh
            requests.append({"vertices": vertices, "faces": faces, "pose": pose,
                             "name": found.mesh.name,
                             "matrix_world": np.array(target.matrix_world, dtype=np.float64)})
        return made, requests

    def _place(self, inputs: SceneInputs, made: list[body.BodyObjects], requests: list[dict]):
        from posa_model.place import BodyRequest, PlacementConfig, place_bodies

        bodies = [BodyRequest(vertices=r["vertices"], name=r["name"], region=None,
                              info={"pose": r["pose"]}) for r in requests]
        config = PlacementConfig(seed=self.seed, device=inputs.loaded.device)
        return place_bodies(inputs.grid, bodies, sampler=inputs.loaded.sampler, config=config,
                            faces=requests[0]["faces"], obstacles=inputs.obstacles, progress=True)


class POSA_OT_refine_placement(_SceneOperator, ObjectModeOnly, bpy.types.Operator):
    """Move the selected body, dropped roughly where it should go, onto the nearest fitting
    place within a radius of where it is (other bodies are obstacles)"""

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
        if found is None or not is_body(found.mesh):
            return self._refuse(f"'{active.name}' is not a POSA body: select a body made by "
                                "Add Body or Populate Scene")
        inputs = self._inputs(context, self.device, self.resolution, skip=found.mesh)
        if isinstance(inputs, str):
            return self._refuse(inputs)
        from posa_model.errors import PosaError
        from posa_model.place import BodyRequest, PlacementConfig, refine_placement

        vertices, faces = body_vertices(found.mesh, context.evaluated_depsgraph_get())
        target = found.rig if found.rig is not None else found.mesh
        matrix_world = np.array(target.matrix_world, dtype=np.float64)
        centre = vertices.mean(axis=0)
        request = BodyRequest(vertices=vertices, name=found.mesh.name,
                              region=(centre, float(self.radius)), info={})
        config = PlacementConfig(seed=self.seed, device=inputs.loaded.device)
        try:
            placed = refine_placement(inputs.grid, request, sampler=inputs.loaded.sampler,
                                      config=config, faces=faces, obstacles=inputs.obstacles)
        except PosaError as exc:
            return self._refuse(f"Cannot refine '{found.mesh.name}': {exc}")
        if not placed.placed:
            return self._refuse(f"'{found.mesh.name}' was left where it is: {placed.reason}")
        move_body(found, placed.transform, matrix_world)
        write_contacts(context, found.mesh, placed, checkpoint=inputs.checkpoint, seed=self.seed,
                       device=inputs.loaded.device, trained=bool(inputs.loaded.sampler.trained))
        previous = found.mesh.get(PLACEMENT_KEY)
        pose = str(previous.get("pose", "")) if previous is not None else ""
        record_placement(found.mesh, pose, placed)
        moved = float(np.linalg.norm(np.asarray(placed.vertices).mean(axis=0) - centre))
        if inputs.loaded.fallback:
            self.report({"WARNING"}, inputs.loaded.fallback)
        self.report({"INFO"}, f"Refined '{found.mesh.name}' in "
                    f"{time.perf_counter() - started:.1f} s: moved {moved:.2f} m, "
                    f"{metrics_text(placed.metrics)}")
        return {"FINISHED"}


classes = (POSA_OT_guess_classes, POSA_OT_populate_scene, POSA_OT_refine_placement)
