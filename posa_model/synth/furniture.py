"""The furniture catalogue: randomised pieces built from axis-aligned boxes in a local frame.

Local frame of a piece: origin on the floor at the centre of its footprint, +y up, the front
(where a user sits, or reaches from) towards +z, width along x. Every box carries an MPCAT40
class id and a ``role`` (``seat``, ``back``, ``arm``, ``leg``, ``top``, ``mattress`` ...).
Sizes depend on :class:`BodyDims` so seats suit the bodies that will use them (seat height from
the lower-leg length of the population's mean body), with random variation around it; each body
then adjusts its legs to the actual seat (:mod:`.fitting`).

A piece also lists its *spots*: where an archetype can happen (sit on this seat facing +z, lie
on this mattress with the head towards -z, reach across this edge...). See :class:`LocalSpot`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..classes import CLASS_ID

__all__ = ["CATALOGUE", "BodyDims", "FurnitureSpec", "LocalSpot", "Part", "build_furniture"]


@dataclass(frozen=True)
class BodyDims:
    """Sizes of the population's mean body that furniture is designed around (metres).

    ``seat_height``: the height of a seat on which the mean body sits with thighs horizontal and
    feet flat (buttock bottom to sole in the ``sit`` preset). ``hip_width``: width across the hips
    when sitting; ``arm_width``: across the arms when sitting. ``stature``: standing height.
    ``lying_length``: head-to-heel length lying flat.
    """

    seat_height: float = 0.45
    hip_width: float = 0.38
    stature: float = 1.72
    lying_length: float = 1.78
    arm_width: float = 0.5


@dataclass(frozen=True)
class Part:
    """A box in the piece's local frame: centre (3,), full ``size`` (3,), class and role."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]
    class_id: int
    role: str


@dataclass(frozen=True)
class LocalSpot:
    """An interaction place in the piece's local frame (see :class:`.scene.Spot`).

    ``kind``: ``seat`` (sit facing ``yaw``), ``lie`` (lie with the head towards ``yaw``),
    ``reach`` (stand facing ``yaw``, hands on the top at ``height``). ``position``: a point on
    the surface (seat/mattress centre, middle of a table edge). ``extent``: half sizes of the
    usable area (across, along) the ``yaw`` direction.
    """

    kind: str
    position: tuple[float, float, float]
    yaw: float
    height: float
    mode: str = ""
    extent: tuple[float, float] = (0.0, 0.0)


@dataclass
class FurnitureSpec:
    """A built piece: ``kind``, its main class, boxes, half footprint (x, z), spots, and how it
    is placed (``wall``: back against a wall; ``free``: anywhere) with the free depth needed in
    front of it (``clearance``)."""

    kind: str
    class_id: int
    parts: list[Part]
    half_footprint: tuple[float, float]
    spots: list[LocalSpot] = field(default_factory=list)
    placement: str = "wall"
    clearance: float = 0.5
    style: dict = field(default_factory=dict)


def _box(x0, x1, y0, y1, z0, z1, cls: str, role: str) -> Part:
    """A part from its bounds (x0 < x1 ...), class name and role."""
    return Part(((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2),
                (x1 - x0, y1 - y0, z1 - z0), CLASS_ID[cls], role)


def _legs(hw: float, hd: float, height: float, size: float, cls: str, inset: float = 0.0):
    """Four legs of cross-section ``size`` under a rectangle of half sizes (hw, hd)."""
    out = []
    for sx in (-1, 1):
        for sz in (-1, 1):
            x = sx * (hw - inset - size / 2)
            z = sz * (hd - inset - size / 2)
            out.append(_box(x - size / 2, x + size / 2, 0.0, height, z - size / 2, z + size / 2,
                            cls, "leg"))
    return out


# --------------------------------------------------------------------------------------------
# seats


def chair(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """Four legs, a seat, a backrest (85 %) and armrests (30 % of those with a back)."""
    h = float(np.clip(dims.seat_height + rng.uniform(-0.05, 0.04), 0.36, 0.56))
    has_back = rng.random() < 0.85
    has_arms = has_back and rng.random() < 0.3
    w = rng.uniform(0.42, 0.52) if not has_arms else dims.arm_width + rng.uniform(0.04, 0.12)
    d = rng.uniform(0.40, 0.48)
    t = rng.uniform(0.03, 0.06)
    leg = rng.uniform(0.03, 0.05)
    parts = [_box(-w / 2, w / 2, h - t, h, -d / 2, d / 2, "chair", "seat")]
    parts += _legs(w / 2, d / 2, h - t, leg, "chair")
    z_back = -d / 2
    if has_back:
        bt, bh = rng.uniform(0.03, 0.06), rng.uniform(0.30, 0.50)
        parts.append(_box(-w / 2, w / 2, h, h + bh, -d / 2, -d / 2 + bt, "chair", "back"))
        z_back = -d / 2 + bt
    aw = 0.0
    if has_arms:
        aw, ah = rng.uniform(0.04, 0.07), rng.uniform(0.18, 0.25)
        for s in (-1, 1):
            x0, x1 = sorted((s * w / 2, s * (w / 2 + aw)))
            parts.append(_box(x0, x1, h + ah - 0.04, h + ah, z_back, d / 2 - 0.03, "chair", "arm"))
            parts.append(_box(x0, x1, h - t, h + ah - 0.04, d / 2 - 0.07, d / 2 - 0.03,
                              "chair", "arm"))
    seat_mid = (z_back + d / 2) / 2
    spot = LocalSpot("seat", (0.0, h, seat_mid), 0.0, h, "back" if has_back else "centre",
                     (w / 2, (d / 2 - z_back) / 2))
    return FurnitureSpec("chair", CLASS_ID["chair"], parts, (w / 2 + aw, d / 2), [spot],
                         placement="free", clearance=0.55,
                         style={"back": has_back, "arms": has_arms})


def stool(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """A square top on four legs or on a pedestal; sat on from any side."""
    h = float(np.clip(dims.seat_height + rng.uniform(-0.04, 0.06), 0.36, 0.58))
    s = rng.uniform(0.30, 0.40)
    t = rng.uniform(0.03, 0.05)
    parts = [_box(-s / 2, s / 2, h - t, h, -s / 2, s / 2, "stool", "seat")]
    pedestal = rng.random() < 0.4
    if pedestal:
        c = rng.uniform(0.05, 0.08)
        parts.append(_box(-c / 2, c / 2, 0.02, h - t, -c / 2, c / 2, "stool", "leg"))
        parts.append(_box(-s / 2, s / 2, 0.0, 0.02, -s / 2, s / 2, "stool", "leg"))
    else:
        parts += _legs(s / 2, s / 2, h - t, rng.uniform(0.025, 0.04), "stool", inset=0.01)
    spots = [LocalSpot("seat", (0.0, h, 0.0), a, h, "centre", (s / 2, s / 2))
             for a in (0.0, np.pi / 2, np.pi, -np.pi / 2)]
    return FurnitureSpec("stool", CLASS_ID["stool"], parts, (s / 2, s / 2), spots,
                         placement="free", clearance=0.5, style={"pedestal": pedestal})


def sofa(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """A base, seat cushion, backrest, two armrests and (50 %) back cushions (class cushion)."""
    w = rng.uniform(1.5, 2.4)
    d = rng.uniform(0.80, 0.95)
    h = float(np.clip(dims.seat_height + rng.uniform(-0.08, -0.01), 0.34, 0.50))
    aw = rng.uniform(0.10, 0.22)
    ah = h + rng.uniform(0.15, 0.25)
    bt = rng.uniform(0.15, 0.25)
    top = rng.uniform(0.75, 0.95)
    ct = rng.uniform(0.10, 0.15)
    legs = rng.random() < 0.5
    y0 = 0.08 if legs else 0.0
    x0, x1 = -w / 2 + aw, w / 2 - aw
    parts = [
        _box(x0, x1, y0, h - ct, -d / 2 + bt, d / 2, "sofa", "base"),
        _box(x0, x1, h - ct, h, -d / 2 + bt, d / 2, "sofa", "seat"),
        _box(-w / 2, w / 2, y0, top, -d / 2, -d / 2 + bt, "sofa", "back"),
        _box(-w / 2, x0, y0, ah, -d / 2 + bt, d / 2, "sofa", "arm"),
        _box(x1, w / 2, y0, ah, -d / 2 + bt, d / 2, "sofa", "arm"),
    ]
    if legs:
        parts += _legs(w / 2, d / 2, y0, 0.05, "sofa", inset=0.03)
    z_back = -d / 2 + bt
    cushions = rng.random() < 0.5
    if cushions:
        ck = rng.uniform(0.10, 0.16)
        parts.append(_box(x0, x1, h, top - 0.04, z_back, z_back + ck, "cushion", "back"))
        z_back += ck
    inner = x1 - x0
    n = max(1, int(round(inner / 0.6)))
    depth = d / 2 - z_back
    spots = [LocalSpot("seat", (x0 + (i + 0.5) * inner / n, h, z_back + depth / 2), 0.0, h,
                       "back", (inner / (2 * n), depth / 2)) for i in range(n)]
    for side in (-1, 1):  # lie along the seat, head towards one armrest, back to the backrest
        spots.append(LocalSpot("lie", (0.0, h, z_back + depth / 2), side * np.pi / 2, h,
                               "front", (depth / 2, inner / 2)))
    return FurnitureSpec("sofa", CLASS_ID["sofa"], parts, (w / 2, d / 2), spots,
                         placement="wall", clearance=0.7,
                         style={"seats": n, "back_cushions": cushions, "legs": legs})


def bed(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """A frame (on legs or solid), a mattress and (80 %) a headboard; the head end is -z."""
    w = rng.choice([rng.uniform(0.9, 1.1), rng.uniform(1.35, 1.85)])
    length = max(rng.uniform(1.95, 2.15), dims.lying_length + 0.2)
    top = float(np.clip(dims.seat_height + rng.uniform(-0.02, 0.10), 0.35, 0.62))
    mt = rng.uniform(0.15, 0.25)
    legs = rng.random() < 0.5
    y0 = min(rng.uniform(0.10, 0.20), top - mt - 0.05) if legs else 0.0
    head = rng.random() < 0.8
    hb = rng.uniform(0.05, 0.08) if head else 0.0
    z0 = -length / 2 + hb
    parts = [
        _box(-w / 2, w / 2, y0, top - mt, z0, length / 2, "bed", "frame"),
        _box(-w / 2 + 0.02, w / 2 - 0.02, top - mt, top, z0 + 0.02, length / 2 - 0.02,
             "bed", "mattress"),
    ]
    if legs:
        parts += _legs(w / 2, (length / 2 - z0) / 2, y0, 0.06, "bed")
        # the legs were made around z = 0; shift them under the frame
        shift = (z0 + length / 2) / 2
        parts[-4:] = [Part((p.center[0], p.center[1], p.center[2] + shift), p.size, p.class_id,
                           p.role) for p in parts[-4:]]
    if head:
        parts.append(_box(-w / 2, w / 2, 0.0, rng.uniform(0.9, 1.2), -length / 2, z0, "bed",
                          "headboard"))
    mid = (z0 + length / 2) / 2
    inner_len = length / 2 - 0.02 - (z0 + 0.02)
    spots = [LocalSpot("lie", (0.0, top, mid), np.pi, top, "",
                       ((w - 0.04) / 2, inner_len / 2))]
    for side in (-1, 1):  # sit on the long sides, facing out
        for z in np.arange(z0 + 0.45, length / 2 - 0.3, 0.55):
            spots.append(LocalSpot("seat", (side * (w / 2 - 0.02), top, float(z)),
                                   side * np.pi / 2, top, "edge", (0.25, 0.3)))
    return FurnitureSpec("bed", CLASS_ID["bed"], parts, (w / 2, length / 2), spots,
                         placement="wall", clearance=0.3,
                         style={"headboard": head, "legs": legs, "width": float(w)})


def toilet(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """A pedestal, a bowl (its lower part set back, as real bowls taper), a seat and a tank."""
    h = float(np.clip(dims.seat_height + rng.uniform(-0.04, 0.02), 0.34, 0.46))
    d = rng.uniform(0.65, 0.72)
    w = rng.uniform(0.36, 0.40)
    tank_d = rng.uniform(0.16, 0.20)
    z_seat = -d / 2 + tank_d
    rim = h - 0.03 - rng.uniform(0.10, 0.14)  # bottom of the bowl's full-depth upper part
    parts = [
        _box(-0.12, 0.12, 0.0, rim, -d / 2 + 0.1, d / 2 - 0.16, "toilet", "base"),
        _box(-w / 2 + 0.02, w / 2 - 0.02, rim, h - 0.03, -d / 2 + 0.04, d / 2, "toilet", "bowl"),
        _box(-w / 2, w / 2, h - 0.03, h, z_seat, d / 2, "toilet", "seat"),
        _box(-w / 2 - 0.02, w / 2 + 0.02, h - 0.03, h + rng.uniform(0.30, 0.40), -d / 2,
             z_seat, "toilet", "tank"),
    ]
    # the buttocks sit at the back of the seat (just clear of the tank), thighs over the front
    spot = LocalSpot("seat", (0.0, h, (z_seat + d / 2) / 2), 0.0, h, "rear",
                     (w / 2, (d / 2 - z_seat) / 2))
    return FurnitureSpec("toilet", CLASS_ID["toilet"], parts, (w / 2 + 0.02, d / 2), [spot],
                         placement="wall", clearance=0.6)


# --------------------------------------------------------------------------------------------
# surfaces and storage


def table(rng: np.random.Generator, dims: BodyDims, height: float | None = None) -> FurnitureSpec:
    """A top on four legs; reach spots on every edge of a table at least 0.65 m high."""
    h = rng.uniform(0.70, 0.78) if height is None else height
    w, d = rng.uniform(0.8, 1.8), rng.uniform(0.6, 1.0)
    t = rng.uniform(0.03, 0.05)
    parts = [_box(-w / 2, w / 2, h - t, h, -d / 2, d / 2, "table", "top")]
    parts += _legs(w / 2, d / 2, h - t, rng.uniform(0.04, 0.07), "table",
                   inset=rng.uniform(0.02, 0.08))
    spots = []
    if h >= 0.65:
        for yaw, (px, pz), half in ((np.pi, (0.0, d / 2), w / 2), (0.0, (0.0, -d / 2), w / 2),
                                    (-np.pi / 2, (w / 2, 0.0), d / 2),
                                    (np.pi / 2, (-w / 2, 0.0), d / 2)):
            spots.append(LocalSpot("reach", (px, h, pz), yaw, h, "", (max(half - 0.25, 0.0),
                                                                      0.0)))
    return FurnitureSpec("table", CLASS_ID["table"], parts, (w / 2, d / 2), spots,
                         placement="free", clearance=0.6, style={"height": float(h)})


def coffee_table(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """A low table (class table)."""
    spec = table(rng, dims, height=rng.uniform(0.35, 0.50))
    spec.kind = "coffee_table"
    spec.clearance = 0.4
    return spec


def counter(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """A kitchen/bathroom counter: recessed plinth, cabinet body, overhanging top; reach spots
    along the front."""
    w = rng.uniform(1.2, 3.0)
    d = rng.uniform(0.55, 0.65)
    h = rng.uniform(0.86, 0.94)
    t = rng.uniform(0.03, 0.04)
    kick = rng.uniform(0.05, 0.08)
    parts = [
        _box(-w / 2, w / 2, 0.0, 0.1, -d / 2, d / 2 - 0.03 - kick, "counter", "plinth"),
        _box(-w / 2, w / 2, 0.1, h - t, -d / 2, d / 2 - 0.03, "counter", "base"),
        _box(-w / 2, w / 2, h - t, h, -d / 2, d / 2, "counter", "top"),
    ]
    n = max(1, int((w - 0.3) / 0.5))
    spots = [LocalSpot("reach", (float(x), h, d / 2), np.pi, h, "", (0.1, 0.0))
             for x in np.linspace(-w / 2 + 0.35, w / 2 - 0.35, n)] if w > 0.7 else []
    return FurnitureSpec("counter", CLASS_ID["counter"], parts, (w / 2, d / 2), spots,
                         placement="wall", clearance=0.7)


def cabinet(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """A closed box on a plinth or legs, 0.6 to 2 m high."""
    w, d, h = rng.uniform(0.4, 1.2), rng.uniform(0.35, 0.6), rng.uniform(0.6, 2.0)
    legs = rng.random() < 0.4
    y0 = 0.1 if legs else 0.0
    parts = [_box(-w / 2, w / 2, y0, h, -d / 2, d / 2, "cabinet", "body")]
    if legs:
        parts += _legs(w / 2, d / 2, y0, 0.04, "cabinet", inset=0.02)
    return FurnitureSpec("cabinet", CLASS_ID["cabinet"], parts, (w / 2, d / 2), [],
                         placement="wall", clearance=0.4, style={"legs": legs})


def shelving(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """Two sides, a back panel (70 %) and 3-6 shelves."""
    w, d, h = rng.uniform(0.6, 1.2), rng.uniform(0.25, 0.40), rng.uniform(1.0, 2.0)
    st = 0.02
    parts = [_box(-w / 2, -w / 2 + st, 0.0, h, -d / 2, d / 2, "shelving", "side"),
             _box(w / 2 - st, w / 2, 0.0, h, -d / 2, d / 2, "shelving", "side")]
    back = rng.random() < 0.7
    if back:
        parts.append(_box(-w / 2 + st, w / 2 - st, 0.0, h, -d / 2, -d / 2 + 0.01, "shelving",
                          "back"))
    n = int(rng.integers(3, 7))
    for y in np.linspace(0.05, h - st, n):
        parts.append(_box(-w / 2 + st, w / 2 - st, float(y), float(y) + st,
                          -d / 2 + (0.01 if back else 0.0), d / 2, "shelving", "shelf"))
    return FurnitureSpec("shelving", CLASS_ID["shelving"], parts, (w / 2, d / 2), [],
                         placement="wall", clearance=0.4, style={"shelves": n, "back": back})


def bathtub(rng: np.random.Generator, dims: BodyDims) -> FurnitureSpec:
    """A hollow tub: bottom slab and four walls."""
    w, d, h = rng.uniform(1.5, 1.8), rng.uniform(0.7, 0.8), rng.uniform(0.5, 0.6)
    t = rng.uniform(0.06, 0.10)
    parts = [
        _box(-w / 2, w / 2, 0.0, 0.1, -d / 2, d / 2, "bathtub", "bottom"),
        _box(-w / 2, w / 2, 0.1, h, -d / 2, -d / 2 + t, "bathtub", "wall"),
        _box(-w / 2, w / 2, 0.1, h, d / 2 - t, d / 2, "bathtub", "wall"),
        _box(-w / 2, -w / 2 + t, 0.1, h, -d / 2 + t, d / 2 - t, "bathtub", "wall"),
        _box(w / 2 - t, w / 2, 0.1, h, -d / 2 + t, d / 2 - t, "bathtub", "wall"),
    ]
    return FurnitureSpec("bathtub", CLASS_ID["bathtub"], parts, (w / 2, d / 2), [],
                         placement="wall", clearance=0.5)


CATALOGUE: dict[str, Callable[[np.random.Generator, BodyDims], FurnitureSpec]] = {
    "chair": chair, "stool": stool, "sofa": sofa, "bed": bed, "toilet": toilet,
    "table": table, "coffee_table": coffee_table, "counter": counter, "cabinet": cabinet,
    "shelving": shelving, "bathtub": bathtub,
}  # fmt: skip


def build_furniture(kind: str, rng: np.random.Generator,
                    dims: BodyDims | None = None) -> FurnitureSpec:
    """Build one random piece of ``kind`` (a key of :data:`CATALOGUE`)."""
    if kind not in CATALOGUE:
        raise KeyError(f"unknown furniture kind {kind!r}; known: {', '.join(CATALOGUE)}")
    return CATALOGUE[kind](rng, dims or BodyDims())
