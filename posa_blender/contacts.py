"""Contact samples on a mesh: raw attributes per sample, colour attributes, viewport, legend.

Attributes written on the body's mesh (per vertex):

* ``posa_contact_<k>`` (FLOAT): contact probability of sample k, as the sampler returned it;
* ``posa_semantics_<k>`` (INT): MPCAT40 class id of sample k (0 = no contact);
* ``posa_contact`` (byte colour): the heat map of the shown sample
  (:func:`posa_model.classes.contact_colors`);
* ``posa_semantics`` (byte colour): the class palette of the shown sample
  (:func:`posa_model.classes.semantic_colors`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import bpy
import numpy as np

from . import arrays

CONTACT_COLOR = "posa_contact"
SEMANTICS_COLOR = "posa_semantics"
DISPLAY_ATTRIBUTE = {"CONTACT": CONTACT_COLOR, "SEMANTICS": SEMANTICS_COLOR}
_SAMPLE_ATTRIBUTE = re.compile(r"^posa_(contact|semantics)_(\d+)$")


def contact_attribute(sample: int) -> str:
    return f"posa_contact_{sample}"


def semantics_attribute(sample: int) -> str:
    return f"posa_semantics_{sample}"


@dataclass(frozen=True)
class LegendRow:
    """One class in contact: id, MPCAT40 name, number of vertices, sRGB colour (3,) uint8."""

    class_id: int
    name: str
    count: int
    srgb: tuple[int, int, int]


def write_samples(mesh: bpy.types.Mesh, contact: np.ndarray, semantics: np.ndarray) -> None:
    """Store (n, V) ``contact`` and ``semantics`` as raw per-sample attributes.

    Sample attributes left from an earlier, larger batch are removed.
    """
    stale = [name for name in arrays.attribute_names(mesh)
             if (match := _SAMPLE_ATTRIBUTE.match(name)) and int(match.group(2)) >= len(contact)]
    arrays.remove_attributes(mesh, stale)
    for k in range(len(contact)):
        arrays.set_point_attribute(mesh, contact_attribute(k), contact[k], "FLOAT")
        arrays.set_point_attribute(mesh, semantics_attribute(k), semantics[k], "INT")


def stored_samples(mesh: bpy.types.Mesh) -> int:
    """How many samples the mesh holds (consecutive ``posa_contact_<k>`` from k = 0)."""
    count = 0
    while contact_attribute(count) in mesh.attributes and (
        semantics_attribute(count) in mesh.attributes
    ):
        count += 1
    return count


def show_sample(mesh: bpy.types.Mesh, sample: int, display: str) -> int:
    """Colour the mesh by stored sample ``sample`` (clamped); ``display`` "CONTACT"/"SEMANTICS".

    Returns the sample shown, or -1 when the mesh holds none.
    """
    from posa_model.classes import contact_colors, semantic_colors

    count = stored_samples(mesh)
    if count == 0:
        return -1
    sample = min(max(int(sample), 0), count - 1)
    contact = arrays.point_attribute(mesh, contact_attribute(sample))
    semantics = arrays.point_attribute(mesh, semantics_attribute(sample))
    arrays.set_color_attribute(mesh, CONTACT_COLOR, contact_colors(contact))
    arrays.set_color_attribute(mesh, SEMANTICS_COLOR, semantic_colors(semantics))
    arrays.show_color_attribute(mesh, DISPLAY_ATTRIBUTE[display])
    mesh.update()
    return sample


def legend(mesh: bpy.types.Mesh, sample: int) -> list[LegendRow]:
    """Classes in contact in stored sample ``sample``, most vertices first ([] if none)."""
    from posa_model.classes import MPCAT40_NAMES, PALETTE

    count = stored_samples(mesh)
    if count == 0:
        return []
    semantics = arrays.point_attribute(mesh, semantics_attribute(min(max(sample, 0), count - 1)))
    counts = np.bincount(np.clip(semantics, 0, len(MPCAT40_NAMES) - 1),
                         minlength=len(MPCAT40_NAMES))
    rows = []
    for i in np.flatnonzero(counts):
        if i != 0:
            red, green, blue = (int(c) for c in PALETTE[i])
            rows.append(LegendRow(int(i), MPCAT40_NAMES[i], int(counts[i]), (red, green, blue)))
    return sorted(rows, key=lambda row: (-row.count, row.class_id))


def show_in_viewports(screens: Iterable[bpy.types.Screen]) -> int:
    """Solid shading coloured by the active colour attribute in every 3D view; returns how many."""
    changed = 0
    for screen in screens:
        for area in screen.areas:
            if area.type != "VIEW_3D":
                continue
            for space in area.spaces:
                if isinstance(space, bpy.types.SpaceView3D):
                    space.shading.type = "SOLID"
                    space.shading.color_type = "VERTEX"
                    changed += 1
            area.tag_redraw()
    return changed
