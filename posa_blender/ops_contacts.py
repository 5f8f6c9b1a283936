"""Sample Contacts: the evaluated body -> posa_model's sampler -> attributes and colours."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import bpy
from bpy.props import EnumProperty, IntProperty

from . import arrays, body, contacts, deps, prefs, props, runtime

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems as OperatorReturn

#: What sampling needs (:data:`.deps.FEATURES`).
SAMPLE_MODULES = deps.feature_modules("Sample Contacts")


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
        if problem := body.mesh_problem(loaded.sampler, world, sizes, loops):
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
