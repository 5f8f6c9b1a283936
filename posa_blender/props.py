"""Properties: the POSA settings of a scene (``Scene.posa``) and of an object (``Object.posa``)."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from . import contacts

NUM_BETAS = 10
DEVICE_ITEMS = [
    ("AUTO", "Auto", "CUDA when available, else the CPU"),
    ("CPU", "CPU", "Sample on the CPU"),
    ("CUDA", "CUDA", "Sample on the GPU (falls back to the CPU when CUDA is unavailable)"),
]
DISPLAY_ITEMS = [
    ("CONTACT", "Contact", "Heat map of the contact probability"),
    ("SEMANTICS", "Semantics", "Colour of the class of surface each vertex touches"),
]
MODEL_ITEMS = [
    ("STANDIN", "Stand-in", "The procedural stand-in body shipped with the add-on"),
    ("SMPLX", "SMPL-X", "SMPL-X from the folder set in the add-on preferences"),
]
GENDER_ITEMS = [
    ("neutral", "Neutral", ""),
    ("male", "Male", ""),
    ("female", "Female", ""),
]
ROLE_ITEMS = [
    ("NONE", "None", "Not a POSA body"),
    ("BODY", "Body", "The skinned mesh of a POSA body"),
    ("RIG", "Rig", "The armature of a POSA body"),
]

_preset_items_cache: list[tuple[str, str, str]] = []


def preset_items(_self=None, _context=None) -> list[tuple[str, str, str]]:
    """Enum items of posa_model's pose presets (kept referenced, as Blender requires)."""
    if not _preset_items_cache:
        try:
            from posa_model.body.presets import PRESETS
        except ImportError:  # scipy missing: the panel says what to install
            return [("sit", "sit", "")]
        _preset_items_cache.extend(
            (name, name.replace("_", " ").title(), preset.description)
            for name, preset in PRESETS.items()
        )
    return _preset_items_cache


def _redisplay(self: PosaSceneSettings, context: bpy.types.Context) -> None:
    """Recolour the bodies with stored samples after the shown sample or display changed."""
    if context.scene is None:
        return
    for obj in context.scene.objects:
        if isinstance(obj.data, bpy.types.Mesh) and contacts.stored_samples(obj.data):
            contacts.show_sample(obj.data, self.shown_sample, self.display)


class PosaSceneSettings(bpy.types.PropertyGroup):
    """Settings of the POSA panel, saved with the scene."""

    body_model: EnumProperty(name="Model", items=MODEL_ITEMS, default="STANDIN")
    gender: EnumProperty(name="Gender", items=GENDER_ITEMS, default="neutral")
    betas: FloatVectorProperty(
        name="Shape", size=NUM_BETAS, soft_min=-3.0, soft_max=3.0,
        description="SMPL-X shape coefficients (betas)",
    )
    preset: EnumProperty(name="Preset", items=preset_items)
    n_samples: IntProperty(
        name="Samples", default=1, min=1, max=64, description="Feature maps to sample",
    )
    seed: IntProperty(
        name="Seed", default=0, min=0, description="The same seed gives the same maps",
    )
    device: EnumProperty(name="Device", items=DEVICE_ITEMS, default="AUTO")
    display: EnumProperty(
        name="Display", items=DISPLAY_ITEMS, default="CONTACT", update=_redisplay,
    )
    shown_sample: IntProperty(
        name="Sample Shown", default=0, min=0, update=_redisplay,
        description="Which stored sample the colours show",
    )


class PosaObjectInfo(bpy.types.PropertyGroup):
    """What a POSA object is, and what its stored contacts came from."""

    role: EnumProperty(name="Role", items=ROLE_ITEMS, default="NONE")
    model_path: StringProperty(
        name="Model", description="SMPL-X model file or folder; empty for the stand-in",
    )
    gender: StringProperty(name="Gender", default="neutral")
    betas: FloatVectorProperty(name="Shape", size=NUM_BETAS)
    checkpoint: StringProperty(name="Checkpoint")
    seed: IntProperty(name="Seed")
    device: StringProperty(name="Device")
    trained: BoolProperty(name="Trained", default=True)


classes = (PosaSceneSettings, PosaObjectInfo)


def scene_settings(context: bpy.types.Context) -> PosaSceneSettings:
    """``context.scene.posa``."""
    if context.scene is None:
        raise RuntimeError("no scene in this context")
    return context.scene.posa  # type: ignore[attr-defined]


def object_info(obj: bpy.types.Object) -> PosaObjectInfo:
    """``obj.posa``."""
    return obj.posa  # type: ignore[attr-defined]


def register_properties() -> None:
    bpy.types.Scene.posa = PointerProperty(type=PosaSceneSettings)  # type: ignore[attr-defined,func-returns-value]
    bpy.types.Object.posa = PointerProperty(type=PosaObjectInfo)  # type: ignore[attr-defined,func-returns-value]


def unregister_properties() -> None:
    del bpy.types.Object.posa  # type: ignore[attr-defined]
    del bpy.types.Scene.posa  # type: ignore[attr-defined]
