"""Beds (and long sofas, to lie on): the lanes a room offers people to lie in.

Regions of the bed class (sofa, seating; :data:`~.spot.LIE_CLASSES`) at least
:data:`LIE_LENGTH` long; the head end is the end with the higher matter (headboard, pillows);
``floor(width / LANE_WIDTH)`` lanes side by side (a double bed 2).

Frame: SMPL-X world (+y up, metres). Directions are unit (3,) vectors with y = 0; horizontal
(2,) vectors are (x, z).
"""

from __future__ import annotations

import numpy as np

from ...scene.objects import piece_members
from .context import SpotContext
from .spot import LIE_CLASSES, Spot
from .surfaces import _axes, _free, _regions, _top, _vec3, main_regions

LANE_WIDTH = 0.75  # m of bed width per lying person
LIE_LENGTH = 1.45  # m: the shortest surface a person lies on (legs may hang over a sofa's arm)
#: The free top of a bed or sofa (between pillows, headboard and arms) spans at least this (m).
LIE_MIN_SIDE, LIE_MIN_SPAN = 0.45, 1.0


def bed_spots(ctx: SpotContext) -> list[Spot]:
    """Every bed lane of the scene (module docstring for the rules)."""
    s = ctx.surf
    keep = np.isin(s.classes, sorted(LIE_CLASSES)) & (ctx.above_floor >= 0.15) & (
        ctx.above_floor <= 0.95)
    if keep.any():
        rows = np.flatnonzero(keep)
        keep[rows[~_free(ctx.grid, s.points[rows] + [0.0, 0.35, 0.0], 0.05)]] = False
    spots: list[Spot] = []
    for region, rows in enumerate(main_regions(s, ctx.grid, _regions(s, keep, ctx.grid,
                                                                     max_step=0.12))):
        pts = ctx.surf.points[rows]
        _, own_major, own_minor = _axes(pts[:, [0, 2]])
        sides = sorted((np.ptp(pts[:, [0, 2]] @ own_major), np.ptp(pts[:, [0, 2]] @ own_minor)))
        if sides[0] < LIE_MIN_SIDE or sides[1] < LIE_MIN_SPAN:  # a ledge, not a mattress
            continue
        owner_rows = ctx.surf.owner[rows]
        owner = int(np.bincount(np.maximum(owner_rows, 0)).argmax()) \
            if (owner_rows >= 0).any() else -1
        cls = int(np.bincount(ctx.surf.classes[rows]).argmax())
        # the lying frame: the whole piece's footprint (pillows and a headboard make the
        # free mattress top shorter than the bed, a blanket need not span it), else the
        # region's
        base = _piece(ctx, owner)[:, [0, 2]] if owner >= 0 else pts[:, [0, 2]]
        centre, major, minor = _axes(base)
        a, b = (base - centre) @ major, (base - centre) @ minor
        length, width = float(np.ptp(a)), float(np.ptp(b))
        if owner < 0:
            length += ctx.grid.spacing[0]
            width += ctx.grid.spacing[2]
        if length < LIE_LENGTH or width < 0.5:
            continue
        mid = centre + major * (a.max() + a.min()) / 2 + minor * (b.max() + b.min()) / 2
        ends = [_end_height(ctx, mid, major, length / 2),
                _end_height(ctx, mid, -major, length / 2)]
        head2 = major if ends[0] >= ends[1] else -major
        lanes = max(1, int(width // LANE_WIDTH))
        for slot in range(lanes):
            xz = mid + minor * ((slot + 0.5) / lanes - 0.5) * width
            d = np.linalg.norm(pts[:, [0, 2]] - xz, axis=1)
            y = _top(pts[d <= max(0.3, d.min() + 1e-9), 1])
            y = ctx.exact_height(owner, xz, y, radius=0.2)
            position = np.array([xz[0], y, xz[1]])
            floor_y = ctx.exact_floor(xz, float(ctx.floor.height_np(position)))
            offset = ((slot + 0.5) / lanes - 0.5)
            inward = -np.sign(offset) * _vec3(minor) if abs(offset) > 1e-9 else np.zeros(3)
            spots.append(Spot("bed", position, _vec3(head2), cls, ctx.name(owner),
                              y - floor_y, floor_y, np.array([width / lanes, length]),
                              float(length / 2), None, region, slot, 0.0, lanes, inward))
    return spots


def _piece(ctx: SpotContext, owner: int) -> np.ndarray:
    """(n, 3) vertices of the piece of furniture object ``owner`` belongs to
    (:func:`posa_model.scene.objects.piece_members`)."""
    members = piece_members(ctx.objects, ctx.objects[owner].name, ctx.pieces)
    return np.concatenate([np.asarray(o.vertices) for o in members])


def _end_height(ctx: SpotContext, mid, axis, half) -> float:
    """The highest solid point (y) within 0.3 m inside one end of a region."""
    best = -np.inf
    for d in np.linspace(half - 0.3, half + 0.1, 5):
        xz = mid + axis * d
        column = np.array([[xz[0], y, xz[1]] for y in np.arange(0.2, 1.5, 0.05)])
        solid = ctx.grid.lookup(column) <= 0.0
        if solid.any():
            best = max(best, float(column[solid, 1].max()))
    return best

