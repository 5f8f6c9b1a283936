"""Procedural rooms: a floor, four walls and a randomised layout of catalogue furniture.

A room is ``width`` (x) by ``depth`` (z) inside, ``height`` tall; the floor's top is y = 0 and
the inside spans ``x in [0, width]``, ``z in [0, depth]``. Furniture either stands with its back
against a wall (sofa, bed, counter, cabinet, shelving, toilet, bathtub, desks) or free
(tables with chairs around them, stools, armchairs). Pieces never overlap, and every piece keeps
a free strip in front of it (its ``clearance``) so bodies have room to sit, reach and lie.
Rejected placements are retried; a piece that cannot be placed is left out.

Spots (where archetypes happen) come from the furniture, plus free wall stretches (``wall``,
for leaning) and free floor points (``floor``, for standing and kneeling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..classes import CLASS_ID, MPCAT40_NAMES
from .furniture import BodyDims, FurnitureSpec, build_furniture
from .primitives import Boxes
from .scene import Scene, SceneObject, Spot

__all__ = ["ROOM_TYPES", "generate_room"]

WALL_THICKNESS = 0.1
FLOOR_THICKNESS = 0.1

#: Room type -> (width range, depth range, furniture list of (item, min count, max count)).
#: Items are catalogue kinds, or ``table_group`` (a free table with 1-6 chairs around it) and
#: ``desk`` (a table against a wall with a chair in front).
ROOM_TYPES: dict[str, tuple[tuple[float, float], tuple[float, float], list]] = {
    "living": ((3.8, 6.0), (3.8, 6.0), [("sofa", 1, 2), ("coffee_table", 0, 1),
                                        ("table_group", 0, 1), ("chair", 0, 2),
                                        ("shelving", 0, 2), ("cabinet", 0, 1), ("stool", 0, 1)]),
    "bedroom": ((3.4, 5.2), (3.4, 5.2), [("bed", 1, 1), ("cabinet", 1, 2), ("desk", 0, 1),
                                         ("shelving", 0, 1), ("chair", 0, 1), ("stool", 0, 1),
                                         ("sofa", 0, 1)]),
    "kitchen": ((3.2, 5.5), (3.2, 5.5), [("counter", 1, 3), ("table_group", 1, 1),
                                         ("stool", 0, 2), ("cabinet", 0, 2), ("shelving", 0, 1)]),
    "bathroom": ((2.2, 3.6), (2.2, 3.6), [("toilet", 1, 1), ("bathtub", 0, 1), ("counter", 0, 1),
                                          ("cabinet", 0, 1), ("stool", 0, 1)]),
    "office": ((3.4, 5.5), (3.4, 5.5), [("desk", 1, 2), ("table_group", 0, 1), ("chair", 0, 2),
                                        ("shelving", 1, 2), ("cabinet", 0, 2), ("sofa", 0, 1)]),
}

# inward normal, yaw facing inward, and (origin, along) of each wall (0: z=0, 1: x=W, 2: z=D,
# 3: x=0), as functions of (W, D).
_WALL_YAW = (0.0, -np.pi / 2, np.pi, np.pi / 2)


@dataclass
class _Rect:
    """A footprint on the floor: centre (x, z), half sizes (along local x, local z), yaw."""

    cx: float
    cz: float
    hx: float
    hz: float
    yaw: float
    group: int

    def axes(self) -> np.ndarray:
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.array([[c, -s], [s, c]])  # local x and local z in world (x, z)

    def corners(self) -> np.ndarray:
        ax = self.axes()
        signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
        return np.array([self.cx, self.cz]) + (signs * [self.hx, self.hz]) @ ax


def _overlap(a: _Rect, b: _Rect) -> bool:
    """Separating-axis test of two oriented rectangles."""
    ca, cb = a.corners(), b.corners()
    for axis in np.concatenate([a.axes(), b.axes()]):
        pa, pb = ca @ axis, cb @ axis
        if pa.max() <= pb.min() or pb.max() <= pa.min():
            return False
    return True


def _related(a: int, b: int) -> bool:
    """Same group, or a table (group g) and one of its chairs (group 1000 g + k)."""
    return a == b or a // 1000 == b or b // 1000 == a


def _inside_room(r: _Rect, width: float, depth: float, margin: float = 0.0) -> bool:
    c = r.corners()
    return bool((c[:, 0] >= margin - 1e-9).all() and (c[:, 0] <= width - margin + 1e-9).all()
                and (c[:, 1] >= margin - 1e-9).all() and (c[:, 1] <= depth - margin + 1e-9).all())


def _front_rect(r: _Rect, clearance: float) -> _Rect:
    """The footprint grown by ``clearance`` in front (local +z)."""
    fx, fz = np.sin(r.yaw), np.cos(r.yaw)
    return _Rect(r.cx + fx * clearance / 2, r.cz + fz * clearance / 2, r.hx,
                 r.hz + clearance / 2, r.yaw, r.group)


class _Layout:
    """Placed pieces and the occupancy tests between them."""

    def __init__(self, width: float, depth: float):
        self.width, self.depth = width, depth
        self.items: list[tuple[FurnitureSpec, float, float, float]] = []  # spec, cx, cz, yaw
        self.feet: list[_Rect] = []
        self.uses: list[_Rect] = []

    def fits(self, spec: FurnitureSpec, cx: float, cz: float, yaw: float, group: int) -> bool:
        foot = _Rect(cx, cz, *spec.half_footprint, yaw, group)
        use = _front_rect(foot, spec.clearance)
        if not _inside_room(foot, self.width, self.depth):
            return False
        for f, u in zip(self.feet, self.uses, strict=True):
            if _related(f.group, group):
                continue
            if _overlap(foot, f) or _overlap(foot, u) or _overlap(use, f):
                return False
        return True

    def add(self, spec: FurnitureSpec, cx: float, cz: float, yaw: float, group: int) -> None:
        foot = _Rect(cx, cz, *spec.half_footprint, yaw, group)
        self.items.append((spec, cx, cz, yaw))
        self.feet.append(foot)
        self.uses.append(_front_rect(foot, spec.clearance))

    def try_wall(self, rng, spec: FurnitureSpec, group: int, tries: int = 30) -> bool:
        hx, hz = spec.half_footprint
        for _ in range(tries):
            wall = int(rng.integers(4))
            length = self.width if wall in (0, 2) else self.depth
            if length < 2 * hx + 0.04:
                continue
            u = rng.uniform(hx + 0.02, length - hx - 0.02)
            gap = rng.uniform(0.0, 0.03)
            off = hz + gap
            cx, cz = {0: (u, off), 1: (self.width - off, u), 2: (u, self.depth - off),
                      3: (off, u)}[wall]
            if self.fits(spec, cx, cz, _WALL_YAW[wall], group):
                self.add(spec, cx, cz, _WALL_YAW[wall], group)
                return True
        return False

    def try_free(self, rng, spec: FurnitureSpec, group: int, tries: int = 30,
                 jitter: float = 0.15) -> bool:
        for _ in range(tries):
            cx, cz = rng.uniform(0.3, self.width - 0.3), rng.uniform(0.3, self.depth - 0.3)
            yaw = _WALL_YAW[int(rng.integers(4))] + rng.uniform(-jitter, jitter)
            if self.fits(spec, cx, cz, yaw, group):
                self.add(spec, cx, cz, yaw, group)
                return True
        return False


def _place_table_group(rng, layout: _Layout, dims: BodyDims, group: int, desk: bool) -> None:
    table = build_furniture("table", rng, dims)
    if desk:
        ok = layout.try_wall(rng, table, group)
    else:
        ok = layout.try_free(rng, table, group, jitter=0.25)
    if not ok:
        return
    _, tx, tz, tyaw = layout.items[-1]
    hw, hd = table.half_footprint
    # edges: (local outward normal, local edge midpoint, half edge length)
    edges = [((0.0, 1.0), (0.0, hd), hw), ((0.0, -1.0), (0.0, -hd), hw),
             ((1.0, 0.0), (hw, 0.0), hd), ((-1.0, 0.0), (-hw, 0.0), hd)]
    if desk:
        edges = edges[:1]
    c, s = np.cos(tyaw), np.sin(tyaw)
    for (nx, nz), (ex, ez), half in edges:
        n_chairs = 1 if half < 0.55 or desk else int(rng.integers(1, 3))
        if not desk and rng.random() < 0.35:
            continue
        for k in range(n_chairs):
            ch = build_furniture("chair", rng, dims)
            along = 0.0 if n_chairs == 1 else (k - 0.5) * half
            pull = rng.uniform(0.0, 0.35)
            dist = ch.half_footprint[1] + pull
            lx = ex + nx * dist + (-nz) * along
            lz = ez + nz * dist + nx * along
            cx, cz = tx + c * lx + s * lz, tz - s * lx + c * lz
            # the chair faces the table: its local +z is the edge's inward normal
            wx, wz = c * -nx + s * -nz, -s * -nx + c * -nz
            yaw = float(np.arctan2(wx, wz)) + rng.uniform(-0.15, 0.15)
            member = 1000 * group + len(layout.items)
            if layout.fits(ch, cx, cz, yaw, member):
                layout.add(ch, cx, cz, yaw, member)


def generate_room(name: str, rng: np.random.Generator, room_type: str | None = None,
                  dims: BodyDims | None = None) -> Scene:
    """A random room called ``name`` (no ``_``), of ``room_type`` (a key of
    :data:`ROOM_TYPES`; random when None), furnished for bodies of size ``dims``."""
    dims = dims or BodyDims()
    if room_type is None:
        room_type = str(rng.choice(list(ROOM_TYPES)))
    (w0, w1), (d0, d1), items = ROOM_TYPES[room_type]
    width, depth = rng.uniform(w0, w1), rng.uniform(d0, d1)
    height = rng.uniform(2.5, 2.9)
    layout = _Layout(width, depth)
    group = 0
    for kind, lo, hi in items:
        for _ in range(int(rng.integers(lo, hi + 1))):
            group += 1
            if kind in ("table_group", "desk"):
                _place_table_group(rng, layout, dims, group, desk=kind == "desk")
                continue
            spec = build_furniture(kind, rng, dims)
            if spec.placement == "wall":
                layout.try_wall(rng, spec, group)
            else:
                layout.try_free(rng, spec, group)
    return _assemble(name, room_type, (width, height, depth), layout, rng)


def _assemble(name: str, room_type: str, size, layout: _Layout, rng) -> Scene:
    width, height, depth = size
    t, ft = WALL_THICKNESS, FLOOR_THICKNESS
    centers, halves, yaws, classes, owners, roles = [], [], [], [], [], []
    objects: list[SceneObject] = []
    counts: dict[str, int] = {}

    def add_object(kind: str, class_id: int, boxes: list[tuple]) -> int:
        """Add an object from (centre, half size, yaw, class, role) boxes; its index."""
        label = MPCAT40_NAMES[class_id]
        index = counts.get(label, 0)
        counts[label] = index + 1
        start = len(centers)
        for c, h, yaw, cls, role in boxes:
            roles.append(role)
            centers.append(c)
            halves.append(h)
            yaws.append(yaw)
            classes.append(cls)
            owners.append(len(objects))
        objects.append(SceneObject(f"{label}.{index}", kind, class_id,
                                   tuple(range(start, len(centers)))))
        return len(objects) - 1

    def aabox(x0, x1, y0, y1, z0, z1, cls, role):
        return (np.array([(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2]),
                np.array([(x1 - x0) / 2, (y1 - y0) / 2, (z1 - z0) / 2]), 0.0, cls, role)

    floor = add_object("floor", CLASS_ID["floor"],
                       [aabox(-t, width + t, -ft, 0.0, -t, depth + t, CLASS_ID["floor"], "floor")])
    wall_cls = CLASS_ID["wall"]
    walls = [
        add_object("wall", wall_cls, [aabox(-t, width + t, 0.0, height, -t, 0.0, wall_cls,
                                            "wall")]),
        add_object("wall", wall_cls, [aabox(width, width + t, 0.0, height, 0.0, depth,
                                            wall_cls, "wall")]),
        add_object("wall", wall_cls, [aabox(-t, width + t, 0.0, height, depth, depth + t,
                                            wall_cls, "wall")]),
        add_object("wall", wall_cls, [aabox(-t, 0.0, 0.0, height, 0.0, depth, wall_cls,
                                            "wall")]),
    ]
    spots: list[Spot] = []
    object_of_item: dict[int, int] = {}
    for n, (spec, cx, cz, yaw) in enumerate(layout.items):
        c, s = np.cos(yaw), np.sin(yaw)
        rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        origin = np.array([cx, 0.0, cz])
        boxes = [(rot @ np.asarray(p.center) + origin, np.asarray(p.size) / 2, yaw, p.class_id,
                  p.role) for p in spec.parts]
        index = add_object(spec.kind, spec.class_id, boxes)
        object_of_item[n] = index
        table = -1
        if layout.feet[n].group >= 1000:  # a chair of a table group: its table came first
            owner = layout.feet[n].group // 1000
            table = next(object_of_item[k] for k, f in enumerate(layout.feet[:n])
                         if f.group == owner)
        for ls in spec.spots:
            spot = Spot(ls.kind, rot @ np.asarray(ls.position) + origin,
                        float(_wrap(yaw + ls.yaw)), ls.height, index, ls.mode, ls.extent,
                        table)
            if _spot_is_free(spot, layout, n):
                spots.append(spot)

    # free stretches of wall (leaning) and free floor points (standing, kneeling)
    for k, wall in enumerate(walls):
        length = width if k in (0, 2) else depth
        for u in np.arange(0.4, length - 0.35, 0.4):
            off = 0.0
            cx, cz = {0: (u, off), 1: (width - off, u), 2: (u, depth - off), 3: (off, u)}[k]
            probe = _front_rect(_Rect(cx, cz, 0.35, 1e-3, _WALL_YAW[k], -1), 0.8)
            if not any(_overlap(probe, f) for f in layout.feet):
                spots.append(Spot("wall", np.array([cx, 0.0, cz]), _WALL_YAW[k], 0.0, wall,
                                  "", (0.1, 0.0)))
    for _ in range(40):
        x, z = rng.uniform(0.5, width - 0.5), rng.uniform(0.5, depth - 0.5)
        probe = _Rect(x, z, 0.45, 0.45, 0.0, -1)
        if not any(_overlap(probe, f) for f in layout.feet):
            spots.append(Spot("floor", np.array([x, 0.0, z]), float(rng.uniform(-np.pi, np.pi)),
                              0.0, floor, "", (0.0, 0.0)))
    boxes = Boxes(np.array(centers), np.array(halves), np.array(yaws), np.array(classes),
                  np.array(owners))
    return Scene(name, room_type, (float(width), float(height), float(depth)), boxes, objects,
                 spots, tuple(roles))


def _spot_is_free(spot: Spot, layout: _Layout, own: int) -> bool:
    """Whether the floor a body needs at ``spot`` is inside the room and clear of the other
    pieces: in front of a seat used from its centre or edge (the legs: 0.55 m x 0.5 m), behind
    a reach edge (where the body stands: 0.75 m x 0.7 m). Seats with a backrest keep the
    clearance their piece was placed with (chairs at a table put their legs under it)."""
    fwd = spot.forward[[0, 2]]
    if spot.kind == "seat" and spot.mode in ("centre", "edge"):
        start, length, half = spot.extent[1] if spot.mode == "centre" else 0.0, 0.55, 0.25
    elif spot.kind == "reach":
        start, length, half = -0.75, 0.75, 0.35
    else:
        return True
    centre = spot.position[[0, 2]] + fwd * (start + length / 2)
    zone = _Rect(centre[0], centre[1], half, length / 2, spot.yaw, -1)
    if not _inside_room(zone, layout.width, layout.depth):
        return False
    return not any(_overlap(zone, f) for k, f in enumerate(layout.feet) if k != own)


def _wrap(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)
