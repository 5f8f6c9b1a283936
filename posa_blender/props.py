"""Properties: the POSA settings of a scene (``Scene.posa``) and of an object (``Object.posa``)."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from posa_model.classes import MPCAT40_NAMES

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

#: "POSA Class" items: (identifier = MPCAT40 name, label, description, value = class id).
#: Class 0 (void) means the object takes no part in placement.
CLASS_ITEMS = [
    ("void", "Unlabelled", "No class: the object is ignored when populating the scene", 0),
    *((name, name.replace("_", " ").title(), f"MPCAT40 class {i} ({name})", i)
      for i, name in enumerate(MPCAT40_NAMES) if i),
]
UNLABELLED = "void"
#: "Fill" of Populate Scene (``--fill``): someone on every free seat, on every free bed place.
FILL_ITEMS = [
    ("seats", "Seats", "One sitter on every free seat (chairs, stools, sofas, benches)"),
    ("beds", "Beds", "One person lying in every free bed place"),
]
#: Where an object's POSA class came from (``Object.posa.class_source``), in the words of
#: ``posa_model.scene.MeshObject.class_source``: chosen by hand, from a class mapping,
#: ``"guess:<word>"`` (guessed from the word ``<word>`` of the name) or ``"file:<key>"`` (the
#: imported file's label: a glTF extras key of ``posa_model.scene.files.LABEL_KEYS``).
CLASS_SET_BY_HAND = "label"
CLASS_FROM_MAPPING = "classes"
CLASS_FROM_FILE = "file:"

_preset_items_cache: list[tuple[str, str, str]] = []


def preset_items(_self=None, _context=None) -> list[tuple[str, str, str]]:
    """Enum items of posa_model's pose presets (kept referenced, as Blender requires)."""
    if not _preset_items_cache:
        try:
            from posa_model.body.presets import PRESET_DESCRIPTIONS
        except ImportError:  # scipy missing: the panel says what to install
            return [("sit", "sit", "")]
        _preset_items_cache.extend(
            (name, name.replace("_", " ").title(), text)
            for name, text in PRESET_DESCRIPTIONS.items()
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
    people: StringProperty(
        name="People", description="Exact counts per interaction, e.g. 'sit:3,lie:1,stand:2' "
        "(sit, lie, stand, lean, kneel); empty: not used",
    )
    bodies: IntProperty(
        name="Bodies", default=0, min=0, max=2000,
        description="A number of people shared out by Mix over what the room offers (0: not "
        "used; with nothing else set, 10 people in the default mix)",
    )
    mix: StringProperty(
        name="Mix", description="Weights for Bodies, e.g. 'sit:3,stand:1' (empty: the "
        "interactions' own weights)",
    )
    fill: EnumProperty(
        name="Fill", items=FILL_ITEMS, options={"ENUM_FLAG"}, default=set(),
        description="Someone on every free seat and/or bed place",
    )
    genders: StringProperty(
        name="Genders", description="Weights of the people's genders, e.g. 'female:1,male:1': "
        "each person's SMPL-X model drawn by them (Model: SMPL-X; empty: Gender for everyone)",
    )
    on: StringProperty(
        name="On", description="Only these objects' seats and beds: names or glob patterns, "
        "e.g. 'Chair.*,Sofa' (alone: fill them)",
    )
    populate_seed: IntProperty(
        name="Seed", default=0, min=0, description="The same seed gives the same people",
    )
    grid_resolution: FloatProperty(
        name="Grid Resolution", default=0.05, min=0.01, max=0.5, subtype="DISTANCE",
        unit="LENGTH", description="Spacing of the scene's distance grid (finer is slower)",
    )
    replace: BoolProperty(
        name="Replace Unlocked People", default=False,
        description="Remove the people placed before (except locked ones) instead of adding "
        "people around them",
    )
    last_populate: StringProperty(
        name="Last Populate", description="What the last Populate call placed (its summary)",
    )
    refine_radius: FloatProperty(
        name="Radius", default=1.0, min=0.05, max=20.0, subtype="DISTANCE", unit="LENGTH",
        description="Refine Placement keeps the body within this distance of where it was",
    )


def _class_set_by_hand(self: PosaObjectInfo, _context: bpy.types.Context) -> None:
    """A class chosen in the interface is the user's own (Guess Classes keeps it)."""
    self.class_source = CLASS_SET_BY_HAND


class PosaObjectInfo(bpy.types.PropertyGroup):
    """What a POSA object is, what its stored contacts came from, and its scene class."""

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
    semantic_class: EnumProperty(
        name="POSA Class", items=CLASS_ITEMS, default=UNLABELLED, update=_class_set_by_hand,
        description="What the object is (MPCAT40), for placing bodies in the scene",
    )
    class_source: StringProperty(
        name="Class Source", description="Where the POSA class came from: 'label' (by hand), "
        "'classes' (a class mapping), 'guess:<word>' (guessed from a word of the name) or "
        "'file:<key>' (the imported file's label)",
    )
    locked: BoolProperty(
        name="Locked", default=False,
        description="A locked person is never moved, regenerated or replaced; populating and "
        "regenerating place others around them",
    )


classes = (PosaSceneSettings, PosaObjectInfo)


def scene_settings(context: bpy.types.Context) -> PosaSceneSettings:
    """``context.scene.posa``."""
    if context.scene is None:
        raise RuntimeError("no scene in this context")
    return context.scene.posa  # type: ignore[attr-defined]


def object_info(obj: bpy.types.Object) -> PosaObjectInfo:
    """``obj.posa``."""
    return obj.posa  # type: ignore[attr-defined]


def class_id(obj: bpy.types.Object) -> int:
    """The MPCAT40 id of ``obj``'s POSA class (0: unlabelled)."""
    return MPCAT40_NAMES.index(object_info(obj).semantic_class)


def set_class(obj: bpy.types.Object, class_id: int, source: str) -> None:
    """Give ``obj`` the POSA class ``class_id`` and record where it came from."""
    info = object_info(obj)
    info.semantic_class = MPCAT40_NAMES[class_id]
    info.class_source = source  # after the class: its update callback says "set by hand"


def class_source(obj: bpy.types.Object) -> str:
    """Where ``obj``'s POSA class came from, as ``MeshObject.class_source`` takes it ("none"
    when unlabelled; a class with no recorded source counts as set by hand)."""
    source = object_info(obj).class_source
    if class_id(obj) == 0:
        return "none"
    if source == CLASS_FROM_MAPPING or (source.startswith("guess:") and len(source) > 6):
        return source
    return CLASS_SET_BY_HAND  # by hand, or the file's own label (posa_model's word for both)


def describe_class_source(source: str) -> str:
    """``class_source`` in words, for the panel and reports."""
    if source.startswith("guess:"):
        return f"guessed from the name ('{source[6:]}')"
    if source.startswith(CLASS_FROM_FILE):
        return f"from the file ('{source[len(CLASS_FROM_FILE):]}')"
    return {CLASS_SET_BY_HAND: "set by hand", CLASS_FROM_MAPPING: "from a class mapping"}.get(
        source, "")


def register_properties() -> None:
    bpy.types.Scene.posa = PointerProperty(type=PosaSceneSettings)  # type: ignore[attr-defined,func-returns-value]
    bpy.types.Object.posa = PointerProperty(type=PosaObjectInfo)  # type: ignore[attr-defined,func-returns-value]


def unregister_properties() -> None:
    del bpy.types.Object.posa  # type: ignore[attr-defined]
    del bpy.types.Scene.posa  # type: ignore[attr-defined]
