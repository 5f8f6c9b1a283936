"""Sample Contacts: the evaluated body -> posa_model's sampler -> attributes and colours."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import bpy
import numpy as np
from bpy.props import EnumProperty, IntProperty

from . import arrays, body, contacts, deps, prefs, props, runtime

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems as OperatorReturn

#: What sampling needs (smplx only builds bodies).
SAMPLE_MODULES = (("numpy", "numpy"), ("torch", "torch"), ("scipy", "scipy"),
                  ("posa_model", "posa_model"))


def body_problem(sampler, world: np.ndarray, sizes: np.ndarray, loops: np.ndarray) -> str | None:
    """Why the evaluated mesh (world (V, 3), polygons) cannot be sampled (None if it can)."""
    if len(world) != sampler.num_vertices:
        return (f"its evaluated mesh has {len(world)} vertices, the checkpoint's body has "
                f"{sampler.num_vertices} (modifiers that add or remove vertices, such as "
                "Subdivision, are not supported)")
    if problem := topology_problem(sampler, sizes, loops):
        return problem
    if not np.isfinite(world).all():
        return "some of its vertices are at non-finite positions"
    return None


def topology_problem(sampler, sizes: np.ndarray, loops: np.ndarray) -> str | None:
    """Why a mesh with these polygons cannot be sampled by ``sampler`` (None if it can).

    The mesh must have the triangles of the checkpoint's body mesh (any order, any rotation of
    a triangle's corners, the same winding): ``sampler.check_faces`` when posa_model offers it,
    else a comparison with the full-resolution faces of the sampler's mesh hierarchy.
    """
    if len(sizes) and np.any(sizes != 3):
        return (f"it has {int(np.count_nonzero(sizes != 3))} polygons that are not triangles "
                "(the body mesh is all triangles)")
    faces = loops.reshape(-1, 3)
    check = getattr(sampler, "check_faces", None)
    if check is not None:
        from posa_model.errors import PosaError

        try:
            check(faces)
        except PosaError as exc:
            return str(exc)
        return None
    expected = np.asarray(sampler.hierarchy.faces[0])
    if faces.shape != expected.shape:
        return f"it has {len(faces)} triangles, the checkpoint's body has {len(expected)}"
    if not np.array_equal(_canonical_triangles(faces), _canonical_triangles(expected)):
        return ("its triangles differ from the checkpoint's body mesh (same vertex count, "
                "other topology)")
    return None


def _canonical_triangles(faces: np.ndarray) -> np.ndarray:
    """(F, 3) triangles rotated to start at their smallest vertex id, rows sorted."""
    faces = np.asarray(faces, dtype=np.int64)
    start = np.argmin(faces, axis=1)[:, None]
    rotated = np.take_along_axis(faces, (start + np.arange(3)) % 3, axis=1)
    return rotated[np.lexsort(rotated.T[::-1])]


class POSA_OT_sample_contacts(bpy.types.Operator):
    """Sample where the selected body touches the world and what it touches, and colour it"""

    bl_idname = "posa.sample_contacts"
    bl_label = "Sample Contacts"
    bl_options = {"REGISTER", "UNDO"}

    n_samples: IntProperty(name="Samples", default=1, min=1, max=64)
    seed: IntProperty(name="Seed", default=0, min=0)
    device: EnumProperty(name="Device", items=props.DEVICE_ITEMS, default="AUTO")

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        started = time.perf_counter()
        found = body.find_body(context.active_object)
        if context.active_object is None:
            return self._refuse("Nothing is selected: select a body (its mesh or armature)")
        if found is None:
            return self._refuse(f"'{context.active_object.name}' is not a body: select the mesh "
                                "(or armature) of a body made by Add Body")
        if missing := deps.missing_modules(SAMPLE_MODULES):
            return self._refuse(deps.missing_message(missing))

        from posa_model.errors import PosaError
        from posa_model.frames import blender_to_smplx

        settings = prefs.settings(context)
        try:
            loaded = runtime.sampler(settings.checkpoint, self.device.lower())
        except PosaError as exc:
            return self._refuse(f"Cannot load the checkpoint: {exc}")
        obj = found.mesh
        world, sizes, loops = arrays.evaluated_world_vertices(
            obj, context.evaluated_depsgraph_get())
        if problem := body_problem(loaded.sampler, world, sizes, loops):
            return self._refuse(f"'{obj.name}' is not a supported body: {problem}")
        try:
            samples = loaded.sampler.sample(blender_to_smplx(world)[None],
                                            n_samples=self.n_samples, seed=self.seed)
        except PosaError as exc:
            return self._refuse(str(exc))

        scene_settings = props.scene_settings(context)
        mesh = body.mesh_data(obj)
        contacts.write_samples(mesh, samples.contact[0], samples.semantics[0])
        shown = contacts.show_sample(mesh, scene_settings.shown_sample, scene_settings.display)
        info = props.object_info(obj)
        info.checkpoint, info.seed, info.device = settings.checkpoint, self.seed, loaded.device
        info.trained = bool(loaded.sampler.trained)
        if context.window_manager is not None:
            contacts.show_in_viewports(w.screen for w in context.window_manager.windows)

        if loaded.fallback:
            self.report({"WARNING"}, loaded.fallback)
        in_contact = int((samples.contact[0, shown] > samples.threshold).sum())
        classes = ", ".join(f"{name} {count}" for name, count in
                            list(samples.classes_in_contact(0, shown).items())[:4]) or "none"
        untrained = "" if info.trained else " [untrained placeholder checkpoint]"
        self.report({"INFO"}, f"Sampled {self.n_samples} map(s) on {loaded.device} in "
                    f"{time.perf_counter() - started:.2f} s; sample {shown}: {in_contact} "
                    f"vertices in contact ({classes}){untrained}")
        return {"FINISHED"}

    def _refuse(self, message: str) -> set[OperatorReturn]:
        self.report({"ERROR"}, message)
        return {"CANCELLED"}


classes = (POSA_OT_sample_contacts,)
