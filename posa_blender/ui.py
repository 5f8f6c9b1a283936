"""The "POSA" tab of the 3D View's sidebar: panels Body, Contacts, Legend and Scene."""

from __future__ import annotations

import bpy
import bpy.utils.previews
import numpy as np

from . import body, contacts, deps, ops_populate, people, props, runtime, scene

_icons: dict[str, bpy.utils.previews.ImagePreviewCollection] = {}


def register_icons() -> None:
    """One 16x16 swatch per MPCAT40 class, for the legend (best effort: none headless)."""
    try:
        from posa_model.classes import PALETTE
    except ImportError:
        return
    collection = bpy.utils.previews.new()
    for class_id, srgb in enumerate(PALETTE):
        preview = collection.new(f"class_{class_id}")
        preview.image_size = (16, 16)
        rgba = np.ones((16 * 16, 4), dtype=np.float32)
        rgba[:, :3] = np.asarray(srgb, dtype=np.float32) / 255.0
        preview.image_pixels_float = rgba.ravel().tolist()
    _icons["classes"] = collection


def unregister_icons() -> None:
    collection = _icons.pop("classes", None)
    if collection is not None:
        bpy.utils.previews.remove(collection)


def _icon(class_id: int) -> int:
    collection = _icons.get("classes")
    if collection is None:
        return 0
    return collection[f"class_{class_id}"].icon_id


def _missing_box(layout: bpy.types.UILayout, missing: list[str]) -> None:
    box = layout.box()
    box.label(text=f"Missing: {', '.join(missing)}", icon="ERROR")
    col = box.column(align=True)
    col.label(text="Edit > Preferences > Add-ons > POSA Contacts:")
    col.label(text="Install Dependencies, or set Site-packages")


def _untrained(layout: bpy.types.UILayout) -> None:
    box = layout.box()
    box.label(text="Untrained placeholder checkpoint:", icon="ERROR")
    box.label(text="the maps are not meaningful yet")


def _selected_mesh(context: bpy.types.Context) -> tuple[bpy.types.Object, bpy.types.Mesh] | None:
    found = body.find_body(context.active_object)
    return None if found is None else (found.mesh, body.mesh_data(found.mesh))


class POSA_PT_body(bpy.types.Panel):
    bl_label = "Body"
    bl_idname = "POSA_PT_body"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "POSA"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        if layout is None:
            return
        settings = props.scene_settings(context)
        missing = deps.missing_modules()
        if missing:
            _missing_box(layout, missing)

        col = layout.column(align=True)
        col.prop(settings, "body_model", expand=True)
        col.prop(settings, "gender")
        header, panel = layout.panel("posa_shape", default_closed=True)
        header.label(text="Shape")
        if panel is not None:
            panel.column(align=True).prop(settings, "betas", text="")
        op = layout.operator("posa.add_body", icon="OUTLINER_OB_ARMATURE")
        op.model = settings.body_model
        op.gender = settings.gender
        op.betas = settings.betas

        found = body.find_body(context.active_object)
        layout.separator()
        if found is None or found.rig is None:
            layout.label(text="Select a body to pose it", icon="INFO")
            return
        info = props.object_info(found.mesh)
        layout.label(text=f"{found.mesh.name}: {info.model_path or 'stand-in'}, {info.gender}",
                     icon="ARMATURE_DATA")
        row = layout.row(align=True)
        row.prop(settings, "preset", text="")
        apply = row.operator("posa.apply_preset", text="Apply")
        apply.preset = settings.preset
        row = layout.row(align=True)
        row.operator("posa.load_pose_file", icon="FILEBROWSER")
        row.operator("posa.reset_pose", icon="LOOP_BACK")


class POSA_PT_contacts(bpy.types.Panel):
    bl_label = "Contacts"
    bl_idname = "POSA_PT_contacts"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "POSA"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        if layout is None:
            return
        settings = props.scene_settings(context)
        col = layout.column()
        col.prop(settings, "n_samples")
        col.prop(settings, "seed")
        col.prop(settings, "device")
        op = layout.operator("posa.sample_contacts", icon="MOD_VERTEX_WEIGHT")
        op.n_samples = settings.n_samples
        op.seed = settings.seed
        op.device = settings.device

        layout.prop(settings, "display", expand=True)
        selected = _selected_mesh(context)
        stored = contacts.stored_samples(selected[1]) if selected else 0
        row = layout.row()
        row.enabled = stored > 1
        row.prop(settings, "shown_sample")
        if selected is not None and stored:
            info = props.object_info(selected[0])
            if not info.trained:
                _untrained(layout)
            layout.label(text=f"{stored} sample(s), seed {info.seed}, {info.device}")
        elif runtime.cached_sampler_trained() is False:
            _untrained(layout)


class POSA_PT_legend(bpy.types.Panel):
    bl_label = "Legend"
    bl_idname = "POSA_PT_legend"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "POSA"
    bl_parent_id = "POSA_PT_contacts"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        if layout is None:
            return
        selected = _selected_mesh(context)
        if selected is None or not contacts.stored_samples(selected[1]):
            layout.label(text="No contacts sampled on the selection")
            return
        rows = contacts.legend(selected[1], props.scene_settings(context).shown_sample)
        if not rows:
            layout.label(text="No vertex in contact in this sample")
            return
        layout.label(text=f"{sum(r.count for r in rows)} vertices in contact")
        grid = layout.grid_flow(columns=2, even_columns=False, align=True)
        for row in rows:
            grid.label(text=row.name.replace("_", " "), icon_value=_icon(row.class_id))
            grid.label(text=str(row.count))


class POSA_PT_scene(bpy.types.Panel):
    bl_label = "Scene"
    bl_idname = "POSA_PT_scene"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "POSA"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        if layout is None or context.scene is None:
            return
        settings = props.scene_settings(context)
        missing = deps.missing_modules(ops_populate.POPULATE_MODULES)
        if missing:
            _missing_box(layout, missing)

        active = context.active_object
        if active is not None and active.type == "MESH" and not scene.is_body(active):
            info = props.object_info(active)
            layout.prop(info, "semantic_class", text=active.name)
            class_id, source = scene.effective_class(active, resolve=False)
            label = scene.file_label(active, resolve=False)
            if class_id and class_id != props.class_id(active):  # the file's label counts
                name = props.CLASS_ITEMS[class_id][1] if class_id > 0 else ""
                if label is not None and not name:
                    name = str(label.value)
                layout.label(text=f"Class {props.describe_class_source(source)}: {name}")
            elif text := props.describe_class_source(source):
                layout.label(text=f"Class {text}")
        elif active is None or not scene.is_body(active):
            layout.label(text="Select a mesh to set its POSA class", icon="INFO")
        labelled, from_file, total = scene.labelled_count(context.scene)
        layout.operator("posa.guess_classes", icon="VIEWZOOM")
        note = f" ({from_file} from the file)" if from_file else ""
        layout.label(text=f"{labelled} of {total} scene meshes have a POSA class{note}")
        if total > labelled:
            layout.label(text="the others are obstacles nobody touches")

        layout.separator()
        col = layout.column()
        col.prop(settings, "people")
        col.prop(settings, "bodies")
        mix = col.row()
        mix.enabled = settings.bodies > 0
        mix.prop(settings, "mix")
        col.row().prop(settings, "fill", expand=True)
        col.prop(settings, "on")
        genders = col.row()
        genders.enabled = settings.body_model == "SMPLX"
        genders.prop(settings, "genders")
        col.prop(settings, "populate_seed")
        col.prop(settings, "device")
        col.prop(settings, "grid_resolution")
        col.prop(settings, "replace")
        row = layout.row()
        row.enabled = labelled > 0
        op = row.operator("posa.populate_scene", icon="COMMUNITY")
        op.people, op.bodies, op.mix = settings.people, settings.bodies, settings.mix
        op.fill, op.on, op.replace = settings.fill, settings.on, settings.replace
        _placement_options(op, settings)
        op.model, op.gender, op.genders = settings.body_model, settings.gender, settings.genders
        row = layout.row()
        furniture = [o for o in context.selected_objects
                     if (o.type == "MESH" and not scene.is_body(o)) or o.type == "EMPTY"]
        row.enabled = labelled > 0 and bool(furniture)
        op = row.operator("posa.populate_selected", icon="RESTRICT_SELECT_OFF")
        _placement_options(op, settings)
        op.model, op.gender, op.genders = settings.body_model, settings.gender, settings.genders
        if labelled == 0:
            layout.label(text="Nothing to interact with: label the scene first", icon="INFO")
        elif settings.last_populate:
            layout.label(text=settings.last_populate, icon="INFO")

        layout.separator()
        found = body.find_body(active)
        person = found is not None and scene.is_body(found.mesh)
        if found is not None and person:
            record = people.placement(found.mesh)
            info = props.object_info(found.mesh)
            box = layout.box()
            what = record.get("spot") or record.get("interaction") or "not placed by Populate"
            box.label(text=f"{found.mesh.name}: {what}", icon="ARMATURE_DATA")
            box.prop(info, "locked", icon="LOCKED" if info.locked else "UNLOCKED")
            row = box.row(align=True)
            row.operator("posa.lock_people", text="Lock Selected", icon="LOCKED").lock = True
            row.operator("posa.lock_people", text="Unlock Selected", icon="UNLOCKED").lock = False
            row = box.row(align=True)
            row.enabled = bool(record.get("interaction")) and not info.locked
            op = row.operator("posa.regenerate_people", icon="FILE_REFRESH")
            _placement_options(op, settings, seed=False)
        row = layout.row(align=True)
        row.prop(settings, "refine_radius")
        refine = row.row(align=True)
        refine.enabled = (person and found is not None and not people.is_locked(found.mesh)
                          and labelled > 0)
        op = refine.operator("posa.refine_placement", icon="SNAP_ON")
        op.radius = settings.refine_radius
        _placement_options(op, settings)


def _placement_options(op, settings: props.PosaSceneSettings, seed: bool = True) -> None:
    """The scene panel's seed, device and grid resolution on an operator button."""
    if seed:
        op.seed = settings.populate_seed
    op.device = settings.device
    op.grid_resolution = settings.grid_resolution


classes = (POSA_PT_body, POSA_PT_contacts, POSA_PT_legend, POSA_PT_scene)
