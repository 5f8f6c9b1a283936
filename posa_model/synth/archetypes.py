"""Interaction archetypes: which preset, where in a room, which contacts, and how poses vary.

An :class:`Archetype` names a pose preset of :mod:`posa_model.body.presets`, the kind of spot it
uses (:class:`~.scene.Spot`), the furniture kinds it accepts, how the body is fitted
(:mod:`.fitting`) and the contacts a fitted body must make (body part, target, within
:data:`~.fitting.CONTACT_TOLERANCE`). Poses vary by per-joint noise around the preset (the legs
of standing and kneeling bodies stay noise-free so both feet keep touching the floor; sitting
bodies get mirror-symmetric leg noise so both feet land together) and shapes by
``betas ~ N(0, 1)`` on the first 10 components.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ..body.joints import JOINT_INDEX, NUM_BODY_JOINTS
from ..errors import UnknownNameError

__all__ = ["ARCHETYPES", "Archetype", "archetype_names", "compose_joint", "sample_pose"]


@dataclass(frozen=True)
class Archetype:
    """``name`` (recording names are ``<scene>_<name>_<k>``), ``presets`` (one is drawn),
    ``spot`` kind, accepted object ``kinds`` (empty: any), the ``fit`` method, the required
    ``contacts`` as (body part(s), target) with target ``"object"`` (the spot's object),
    ``"seat"`` (its seat or mattress boxes), ``"target"`` (the spot's second object, the table
    of a chair) or ``"floor"``, the leg-noise style and a relative weight when archetypes are
    drawn."""

    name: str
    presets: tuple[str, ...]
    spot: str
    kinds: tuple[str, ...]
    fit: str
    contacts: tuple[tuple[tuple[str, ...], str], ...]
    legs: str = "none"  # none | symmetric | free
    weight: float = 1.0
    description: str = ""


_SEAT_CONTACTS = ((("pelvis", "thighs"), "seat"), (("feet",), "floor"))
ARCHETYPES: dict[str, Archetype] = {a.name: a for a in (
    Archetype("stand", ("stand",), "floor", (), "floor", ((("feet",), "floor"),), weight=0.6,
              description="standing on the floor"),
    Archetype("sit_chair", ("sit",), "seat", ("chair",), "sit", _SEAT_CONTACTS, "symmetric",
              weight=1.5, description="sitting on a chair (back on the backrest if it has one)"),
    Archetype("sit_table", ("sit",), "seat", ("chair",), "sit_table",
              _SEAT_CONTACTS + ((("hands", "arms"), "target"),), "symmetric", weight=1.2,
              description="sitting on a chair at a table, hands or forearms on the table"),
    Archetype("sit_stool", ("sit",), "seat", ("stool",), "sit", _SEAT_CONTACTS, "symmetric",
              description="sitting on a stool"),
    Archetype("sit_sofa", ("sit", "sit_low"), "seat", ("sofa",), "sit", _SEAT_CONTACTS,
              "symmetric", weight=1.5, description="sitting on a sofa, back on the backrest"),
    Archetype("sit_bed", ("sit",), "seat", ("bed",), "sit", _SEAT_CONTACTS, "symmetric",
              description="sitting on the edge of a bed"),
    Archetype("sit_toilet", ("sit",), "seat", ("toilet",), "sit", _SEAT_CONTACTS, "symmetric",
              weight=2.0, description="sitting on a toilet"),
    Archetype("lie_bed", ("lie_back", "lie_side"), "lie", ("bed",), "lie",
              ((("torso", "pelvis", "thighs", "arms"), "seat"),), "free", weight=1.5,
              description="lying on a bed, on the back or the side"),
    Archetype("lie_sofa", ("lie_back", "lie_side"), "lie", ("sofa",), "lie",
              ((("torso", "pelvis", "thighs", "arms"), "seat"),), "free",
              description="lying on a sofa, on the back or the side"),
    Archetype("lean_wall", ("lean_back",), "wall", (), "lean",
              ((("torso", "pelvis", "head"), "object"), (("feet",), "floor")), weight=0.7,
              description="standing with the back against a wall"),
    Archetype("kneel", ("kneel",), "floor", (), "kneel",
              ((("thighs", "shins"), "floor"), (("feet",), "floor")), weight=0.6,
              description="kneeling: knees, shins and feet on the floor"),
    Archetype("reach_table", ("reach_forward",), "reach", ("table",), "reach",
              ((("hands",), "object"), (("feet",), "floor")), weight=2.0,
              description="standing at a table, both hands flat on its top"),
    Archetype("reach_counter", ("reach_forward",), "reach", ("counter",), "reach",
              ((("hands",), "object"), (("feet",), "floor")), weight=1.3,
              description="standing at a counter, both hands on its top"),
)}


def archetype_names() -> tuple[str, ...]:
    return tuple(ARCHETYPES)


def parse_archetypes(text: str | None) -> tuple[str, ...]:
    """A comma-separated list of archetype names (None or ``all``: every archetype)."""
    if text is None or text.strip().lower() in ("", "all"):
        return archetype_names()
    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    unknown = [n for n in names if n not in ARCHETYPES]
    if unknown or not names:
        raise UnknownNameError(f"--archetypes: unknown {', '.join(unknown) or '(none given)'}; "
                               f"expected a comma-separated list of {', '.join(ARCHETYPES)}")
    return names


# --------------------------------------------------------------------------------------------
# pose noise

#: Standard deviation (degrees) of the noise on each body joint, per axis, before clipping at
#: 2 sigma. Hinges (elbows, knees) get noise on their hinge axis only and never hyperextend.
_NOISE_DEG = {
    "spine1": 3.0, "spine2": 3.0, "spine3": 3.0, "neck": 6.0, "head": 8.0,
    "left_collar": 3.0, "right_collar": 3.0, "left_shoulder": 10.0, "right_shoulder": 10.0,
    "left_elbow": 10.0, "right_elbow": 10.0, "left_wrist": 12.0, "right_wrist": 12.0,
}  # fmt: skip
_LEG_NOISE_DEG = {"hip": 3.0, "knee": 5.0, "ankle": 4.0, "foot": 3.0}
# hinge axis and sign of flexion for elbows (about y) and knees (about x)
_HINGES = {"left_elbow": (1, -1.0), "right_elbow": (1, 1.0), "left_knee": (0, 1.0),
           "right_knee": (0, 1.0)}


def compose_joint(body_pose: np.ndarray, joint: str, axis: str, angles: np.ndarray) -> None:
    """Rotate ``joint`` by ``angles`` (B,) radians about its parent's ``axis``, in place.

    ``body_pose`` (B, 63) axis-angle; the new rotation is ``R_axis(angle) @ R_joint``.
    """
    k = JOINT_INDEX[joint] - 1
    current = Rotation.from_rotvec(body_pose[:, 3 * k: 3 * k + 3])
    extra = Rotation.from_euler(axis, np.asarray(angles, dtype=np.float64).reshape(-1, 1))
    body_pose[:, 3 * k: 3 * k + 3] = (extra * current).as_rotvec()


#: Lying bodies rest on their back (or side) only if no limb swings below it: their noise is
#: limited to rotations that keep limbs in the plane of the mattress (joint -> allowed axes;
#: joints not listed get none). Names without a side apply to both sides.
_LYING_AXES = {
    "lie_back": {"spine1": "y", "spine2": "y", "spine3": "y", "neck": "y", "head": "y",
                 "shoulder": "z", "hip": "yz"},
    "lie_side": {"spine1": "x", "spine2": "x", "spine3": "x", "neck": "x", "head": "x",
                 "shoulder": "x", "hip": "x", "knee": "x", "ankle": "x"},
}  # fmt: skip


#: Fixed corrections (joint -> (axis, radians), composed before the noise) of presets whose
#: limbs would hold the body off a flat support: on the side, the lower shoulder is drawn
#: forward (protracted) so the torso, not the upper arm, rests on the mattress.
_PRESET_FIX = {"lie_side": {"right_collar": ("y", 0.5), "right_shoulder": ("y", 0.3)}}


def sample_pose(rng: np.random.Generator, preset, legs: str, scale: float = 1.0) -> np.ndarray:
    """(63,) body pose: ``preset.body_pose`` (with :data:`_PRESET_FIX`) and per-joint noise
    (see :data:`_NOISE_DEG`).

    ``legs``: ``none`` (no leg noise), ``symmetric`` (left and right legs get mirrored noise) or
    ``free``. Lying presets get noise only about the axes of :data:`_LYING_AXES`.
    """
    name = preset.names[0]
    allowed = _LYING_AXES.get(name)
    flat = np.asarray(preset.body_pose[0], dtype=np.float64).reshape(1, -1).copy()
    for joint, (axis, angle) in _PRESET_FIX.get(name, {}).items():
        compose_joint(flat, joint, axis, np.array([angle]))
    pose = flat.reshape(NUM_BODY_JOINTS, 3)

    def clipped(std_deg: float, size=3) -> np.ndarray:
        return np.clip(rng.normal(0.0, 1.0, size), -2.0, 2.0) * np.deg2rad(std_deg) * scale

    def perturb(name: str, noise: np.ndarray) -> None:
        k = JOINT_INDEX[name] - 1
        if allowed is not None:
            axes = allowed.get(name, allowed.get(name.split("_", 1)[-1], ""))
            noise = noise * np.array([a in axes for a in "xyz"], dtype=float)
        if name in _HINGES:
            axis, sign = _HINGES[name]
            flex = max(sign * pose[k, axis] + noise[axis], 0.0)
            pose[k, axis] = sign * min(flex, np.deg2rad(150.0))
            return
        r = Rotation.from_rotvec(noise) * Rotation.from_rotvec(pose[k])
        pose[k] = r.as_rotvec()

    for name, std in _NOISE_DEG.items():
        perturb(name, clipped(std))
    if legs != "none":
        for part, std in _LEG_NOISE_DEG.items():
            joint = {"hip": "hip", "knee": "knee", "ankle": "ankle", "foot": "foot"}[part]
            left = clipped(std)
            if legs == "symmetric":
                right = left * np.array([1.0, -1.0, -1.0])  # mirror across the body's midplane
            else:
                right = clipped(std)
            perturb(f"left_{joint}", left)
            perturb(f"right_{joint}", right)
    return pose.reshape(-1)
