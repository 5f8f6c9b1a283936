"""The example rooms: layouts, the room GLB files and their ground-truth JSON.

Room frame (glTF, as the SMPL-X world): +y up, metres, the floor's top at y = 0, the interior
``x`` in [0, width], ``z`` in [0, depth]. A piece is placed by its position (x, 0, z) and its yaw
(degrees about +y, glTF's sense: +z turns towards +x); the room file holds one node per piece,
named as an artist would ("Chair.003", "Sofa"), with the piece file's node tree below it. Two
kinds of room shell:

* ``"walls"``: a ``Floor`` slab under the whole room and walls as separate boxes
  (``Wall.001``...), 0.12 m thick, outside the interior, with door openings;
* ``"merged"`` (as rooms downloaded from model stores come): floor, four walls (one with a door
  opening) and ceiling are ONE inside-out mesh (faces towards the interior) on a node named
  ``Room``, and the whole file hangs under a ``Sketchfab_model`` node whose matrix turns a z-up
  tree into glTF's y-up.

The JSON beside each room (``<room>.json``) lists every piece with its kind, world position,
yaw, seats (world positions; y the seat or lying-surface height), the direction its users face
(world (x, 0, z), unit) and the piece it belongs to (``at``: chairs at their table...).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .furniture import CATALOGUE, MATERIALS, PieceSpec
from .gltf import GlbBuilder, Primitive
from .shapes import box

__all__ = ["ROOMS", "Placed", "RoomPlan", "build_room", "facing_yaw", "write_room", "yaw_matrix"]

WALL_THICKNESS = 0.12
DOOR_WIDTH, DOOR_HEIGHT = 0.9, 2.1


@dataclass(frozen=True)
class Placed:
    """A piece in a room: ``name`` (node name), ``piece`` (a :data:`CATALOGUE` key), the world
    position (``x``, 0, ``z``) of its origin and its ``yaw`` (degrees). ``at``: the piece it is
    used with (a chair's table); ``faces``: the direction (x, z) its users face when the piece
    itself has none (a round stool at a counter)."""

    name: str
    piece: str
    x: float
    z: float
    yaw: float = 0.0
    at: str | None = None
    faces: tuple[float, float] | None = None

    @property
    def spec(self) -> PieceSpec:
        return CATALOGUE[self.piece]


@dataclass(frozen=True)
class RoomPlan:
    """A room: interior ``width`` (x) by ``depth`` (z) metres, ``height`` of the walls,
    ``shell`` ("walls" or "merged"), the walls present (``"-z"``, ``"+x"``, ``"+z"``, ``"-x"``;
    all four unless a corner), doors as (wall, centre along the wall in metres), and the
    pieces."""

    name: str
    width: float
    depth: float
    pieces: tuple[Placed, ...]
    height: float = 2.6
    shell: str = "walls"
    walls: tuple[str, ...] = ("-z", "+x", "+z", "-x")
    doors: tuple[tuple[str, float], ...] = ()
    description: str = ""
    extras: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- placement maths


def yaw_matrix(x: float, z: float, yaw: float) -> np.ndarray:
    """(4, 4) transform: turn by ``yaw`` degrees about +y, then move to (x, 0, z)."""
    a = math.radians(yaw)
    c, s = math.cos(a), math.sin(a)
    out = np.eye(4)
    out[:3, :3] = [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
    out[0, 3], out[2, 3] = x, z
    return out


def facing_yaw(local: tuple[float, float], world: tuple[float, float]) -> float:
    """The yaw (degrees, in (-180, 180]) that turns the piece-frame direction ``local`` (x, z)
    into the room direction ``world`` (x, z)."""
    yaw = math.degrees(math.atan2(world[0], world[1]) - math.atan2(local[0], local[1]))
    yaw = (yaw + 180.0) % 360.0 - 180.0
    return 180.0 if yaw == -180.0 else round(yaw, 6) + 0.0


def _turn(direction: tuple[float, float], yaw: float) -> list[float]:
    """``direction`` (x, z) turned by ``yaw`` degrees: world (x, 0, z), rounded to 1e-6."""
    m = yaw_matrix(0.0, 0.0, yaw)[:3, :3]
    v = m @ np.array([direction[0], 0.0, direction[1]])
    return [round(float(c), 6) + 0.0 for c in v]


def facing_piece(name: str, piece: str, faces: tuple[float, float], x: float, z: float,
                 **kw) -> Placed:
    """A piece at (x, z) turned so that its users face the room direction ``faces``."""
    local = CATALOGUE[piece].facing or (0.0, -1.0)
    return Placed(name, piece, x, z, facing_yaw(local, faces), **kw)


def pushed_in(name: str, piece: str, table: tuple[float, float, float, float], side: str,
              along: float = 0.0, push: float = 0.08, **kw) -> Placed:
    """A seat pushed in at a table: ``table`` = (x, z, half size x, half size z) of its top in
    the room, ``side`` the table side the seat stands at (``"-z"``, ``"+z"``, ``"-x"``,
    ``"+x"``), ``along`` its offset along that side from the table's middle (m), ``push`` how
    far (m) the seat's front edge reaches under the table edge. The seat faces the table."""
    tx, tz, hx, hz = table
    spec = CATALOGUE[piece]
    direction = {"-z": (0.0, 1.0), "+z": (0.0, -1.0), "-x": (1.0, 0.0), "+x": (-1.0, 0.0)}[side]
    half = hz if side in ("-z", "+z") else hx
    edge = half - push + spec.seat_front  # from the table's middle to the seat's origin
    x = tx - direction[0] * edge + (along if side in ("-z", "+z") else 0.0)
    z = tz - direction[1] * edge + (along if side in ("-x", "+x") else 0.0)
    faces = direction if spec.facing is None else None
    local = spec.facing or (0.0, -1.0)
    return Placed(name, piece, round(x, 6), round(z, 6), facing_yaw(local, direction),
                  faces=faces, **kw)


# --------------------------------------------------------------------------- the rooms


def _dining_room() -> RoomPlan:
    table = (2.5, 2.2, 0.8, 0.45)
    at = {"at": "DiningTable"}
    chairs = [pushed_in("Chair.001", "kenney_chair", table, "-z", -0.42, **at),
              pushed_in("Chair.002", "kenney_chair", table, "-z", 0.42, **at),
              pushed_in("Chair.003", "kenney_chair", table, "+z", -0.42, **at),
              pushed_in("Chair.004", "kenney_chair", table, "+z", 0.42, **at),
              pushed_in("Chair.005", "kenney_chair", table, "-x", **at),
              pushed_in("Chair.006", "kenney_chair", table, "+x", **at)]
    return RoomPlan("dining_room", 5.0, 4.4, (
        Placed("DiningTable", "dining_table", 2.5, 2.2),
        *chairs,
        Placed("Sideboard", "sideboard", 2.5, 4.4 - 0.23),
        facing_piece("Bookshelf", "bookshelf", (1.0, 0.0), 0.165, 0.9),
    ), doors=(("-z", 4.1),), description="dining table with six chairs pushed in, sideboard, "
              "bookshelf")


def _bedroom() -> RoomPlan:
    width, depth = 5.8, 4.4
    bed_x = 3.3
    return RoomPlan("bedroom", width, depth, (
        Placed("Bed_Double", "bed_double", bed_x, depth - 1.065),
        Placed("Nightstand.001", "nightstand", bed_x - 1.145, depth - 0.205, at="Bed_Double"),
        Placed("Nightstand.002", "nightstand", bed_x + 1.145, depth - 0.205, at="Bed_Double"),
        facing_piece("Bed_Single", "kenney_bed_single", (1.0, 0.0), 1.06, 1.0),
        facing_piece("Wardrobe", "wardrobe", (0.0, 1.0), 4.6, 0.305),
        facing_piece("Chair", "kenney_chair", (0.0, 1.0), 3.05, 0.45),
    ), doors=(("+x", 1.9),), description="double bed with two nightstands, single bed, "
              "wardrobe, chair")


def _living_room() -> RoomPlan:
    width, depth = 5.6, 4.6
    return RoomPlan("living_room", width, depth, (
        Placed("Sofa", "sofa_3seat", 2.8, depth - 0.455),
        Placed("Rug", "rug", 2.8, 2.55),
        Placed("CoffeeTable", "coffee_table", 2.8, 2.69),
        facing_piece("Armchair", "armchair", (-1.0, 0.0), 4.5, 2.5),
        facing_piece("Bench", "kenney_bench", (1.0, 0.0), 0.195, 2.3),
        Placed("Stool.001", "polyhaven_painted_wooden_stool", 1.3, 2.75),
        Placed("Stool.002", "polyhaven_painted_wooden_stool", 1.3, 1.6),
        facing_piece("TVStand", "tv_stand", (0.0, 1.0), 2.8, 0.215),
    ), doors=(("+x", 1.0),), description="three-seat sofa, armchair, coffee table on a rug, "
              "bench, two stools, TV")


def _office() -> RoomPlan:
    width, depth = 5.0, 4.2
    desk_z = depth - 0.355
    desk2 = (0.358, 1.7, 0.353, 0.567)  # the wooden table turned 90 degrees: long side along z
    return RoomPlan("office", width, depth, (
        Placed("Desk", "desk", 2.6, desk_z),
        pushed_in("Office_Chair", "quaternius_office_chair", (2.43, desk_z, 0.45, 0.35), "-z",
                  at="Desk"),
        Placed("Desk.001", "polyhaven_wooden_table_02", desk2[0], desk2[1], 90.0),
        pushed_in("Chair", "kenney_chair", desk2, "+x", at="Desk.001"),
        facing_piece("Bookshelf", "bookshelf", (-1.0, 0.0), width - 0.165, 1.6),
        facing_piece("Bookshelf.001", "bookshelf", (-1.0, 0.0), width - 0.165, 2.55,
                     at="Bookshelf"),
    ), doors=(("-z", 3.6),), description="desk with an office chair, a second desk (wooden "
              "table) with a dining chair, two bookshelves")


def _kitchen() -> RoomPlan:
    width, depth = 5.0, 4.0
    counter = (2.5, 1.8, 1.0, 0.33)
    at = {"at": "Bar_Counter"}
    return RoomPlan("kitchen", width, depth, (
        Placed("Kitchen_Counter", "kitchen_counter", 2.0, depth - 0.305),
        Placed("Fridge", "fridge", 3.9, depth - 0.345, at="Kitchen_Counter"),
        Placed("Bar_Counter", "bar_counter", counter[0], counter[1]),
        pushed_in("Stool.001", "kenney_bar_stool", counter, "-z", -0.7, **at),
        pushed_in("Stool.002", "kenney_bar_stool", counter, "-z", 0.0, **at),
        pushed_in("Stool.003", "kenney_bar_stool", counter, "-z", 0.7, **at),
    ), doors=(("-x", 1.0),), description="kitchen run with a fridge, bar counter (1.05 m) with "
              "three bar stools (0.82 m)")


def _example_room() -> RoomPlan:
    table = (1.4, 1.6, 0.45, 0.45)
    return RoomPlan("example_room", 4.2, 3.6, (
        Placed("Table", "round_table", table[0], table[1]),
        pushed_in("Chair.001", "kenney_chair", table, "-x", at="Table"),
        pushed_in("Chair.002", "kenney_chair", table, "+x", at="Table"),
        Placed("Armchair", "kenney_lounge_armchair", 1.4, 3.6 - 0.39),
        Placed("Bed", "kenney_bed_single", 3.5, 3.6 - 1.06),
    ), walls=("+z", "-x"), description="a corner: round table with two chairs, armchair, "
              "single bed (small file for the README)")


def _living_room_downloaded() -> RoomPlan:
    width, depth = 5.0, 4.5
    return RoomPlan("living_room_downloaded", width, depth, (
        facing_piece("Sofa", "sofa_3seat", (1.0, 0.0), 0.455, 2.3),
        facing_piece("CoffeeTable", "coffee_table", (1.0, 0.0), 1.91, 2.3),
        facing_piece("Armchair.001", "kenney_lounge_armchair", (-1.0, 0.0), 3.3, 1.45),
        facing_piece("Armchair.002", "kenney_lounge_armchair", (-1.0, 0.0), 3.3, 3.15),
        facing_piece("Bench", "kenney_bench", (0.0, -1.0), 1.7, depth - 0.195),
        facing_piece("Bookshelf", "bookshelf", (-1.0, 0.0), width - 0.165, 3.7),
    ), height=2.5, shell="merged", doors=(("-z", 4.0),),
        description="floor, walls and ceiling are one inside-out mesh 'Room' (as downloaded "
                    "rooms come); sofa, coffee table, two armchairs, bench, bookshelf")


def _apartment() -> RoomPlan:
    """An open-plan apartment, 7 x 6 m, no interior walls: living corner (sofa, coffee table,
    armchair) and bed at the back wall (+z), desk at the left wall (-x), dining table in the
    middle and a bar counter on the right; a walkway through the middle, 0.8 m or more of floor
    between the groups."""
    width, depth = 7.0, 6.0
    dining = (3.2, 1.7, 0.8, 0.45)
    desk = (0.355, 1.4, 0.35, 0.7)  # turned -90 degrees: against the left wall, sitter at +x
    counter = (5.9, 1.4, 1.0, 0.33)  # turned 180 degrees: the stools' overhang at +z
    bed_x, bed_z, stand_z = 5.6, 4.935, 5.795  # headboard and nightstands at the +z wall
    dine = {"at": "DiningTable"}
    bar = {"at": "Bar_Counter"}
    return RoomPlan("apartment", width, depth, (
        Placed("Sofa", "sofa_3seat", 1.6, 5.545),  # its back at the +z wall
        Placed("CoffeeTable", "coffee_table", 1.6, 4.35, at="Sofa"),
        facing_piece("Armchair", "armchair", (1.0, 0.0), 0.47, 4.2, at="CoffeeTable"),
        Placed("Bed_Double", "bed_double", bed_x, bed_z),
        Placed("Nightstand.001", "nightstand", 4.455, stand_z, at="Bed_Double"),
        Placed("Nightstand.002", "nightstand", 6.745, stand_z, at="Bed_Double"),
        Placed("DiningTable", "dining_table", dining[0], dining[1]),
        pushed_in("Chair.001", "kenney_chair", dining, "-z", -0.42, **dine),
        pushed_in("Chair.002", "kenney_chair", dining, "-z", 0.42, **dine),
        pushed_in("Chair.003", "kenney_chair", dining, "+z", -0.42, **dine),
        pushed_in("Chair.004", "kenney_chair", dining, "+z", 0.42, **dine),
        Placed("Desk", "desk", desk[0], desk[1], -90.0),
        pushed_in("Office_Chair", "quaternius_office_chair", desk, "+x", -0.17, at="Desk"),
        Placed("Bar_Counter", "bar_counter", counter[0], counter[1], 180.0),
        pushed_in("Stool.001", "kenney_bar_stool", counter, "+z", -0.45, **bar),
        pushed_in("Stool.002", "kenney_bar_stool", counter, "+z", 0.45, **bar),
    ), doors=(("-z", 2.0),), description="open-plan apartment: dining table with four chairs, "
              "three-seat sofa with a coffee table and an armchair, double bed with two "
              "nightstands, desk with an office chair, bar counter (1.05 m) with two bar "
              "stools (0.82 m)")


#: Every example room, by name.
ROOMS: dict[str, RoomPlan] = {r.name: r for r in (
    _dining_room(), _bedroom(), _living_room(), _office(), _kitchen(),
    _living_room_downloaded(), _example_room(), _apartment())}


# --------------------------------------------------------------------------- room shells


def _door_split(length: float, centre: float | None, height: float) -> list[tuple]:
    """Pieces (a0, a1, y0, y1) of a wall ``length`` long with an optional door at ``centre``."""
    if centre is None:
        return [(0.0, length, 0.0, height)]
    d0, d1 = centre - DOOR_WIDTH / 2, centre + DOOR_WIDTH / 2
    return [(0.0, d0, 0.0, height), (d1, length, 0.0, height),
            (d0, d1, DOOR_HEIGHT, height)]


def _wall_boxes(plan: RoomPlan, wall: str) -> list:
    """Boxes (room frame) of one wall, outside the interior, split around its door."""
    t, w, d, h = WALL_THICKNESS, plan.width, plan.depth, plan.height
    door = dict(plan.doors).get(wall)
    shapes = []
    if wall in ("-z", "+z"):
        z0, z1 = (-t, 0.0) if wall == "-z" else (d, d + t)
        for a0, a1, y0, y1 in _door_split(w + 2 * t, None if door is None else door + t, h):
            shapes.append(box([a0 - t, y0, z0], [a1 - t, y1, z1]))
    else:
        x0, x1 = (-t, 0.0) if wall == "-x" else (w, w + t)
        for a0, a1, y0, y1 in _door_split(d, door, h):
            shapes.append(box([x0, y0, a0], [x1, y1, a1]))
    return shapes


def _merged_shell(plan: RoomPlan) -> tuple[np.ndarray, np.ndarray]:
    """The inside-out room mesh (room frame, y up): floor, ceiling and walls as quads facing
    the interior; the door wall split around its opening."""
    w, d, h = plan.width, plan.depth, plan.height
    quads = [
        [(0, 0, 0), (0, 0, d), (w, 0, d), (w, 0, 0)],  # floor, normal +y
        [(0, h, 0), (w, h, 0), (w, h, d), (0, h, d)],  # ceiling, normal -y
    ]
    doors = dict(plan.doors)
    for wall in ("-z", "+x", "+z", "-x"):
        length = w if wall in ("-z", "+z") else d
        for a0, a1, y0, y1 in _door_split(length, doors.get(wall), h):
            if wall == "-z":  # normal +z
                quads.append([(a0, y0, 0), (a1, y0, 0), (a1, y1, 0), (a0, y1, 0)])
            elif wall == "+z":  # normal -z
                quads.append([(a1, y0, d), (a0, y0, d), (a0, y1, d), (a1, y1, d)])
            elif wall == "-x":  # normal +x
                quads.append([(0, y0, a1), (0, y0, a0), (0, y1, a0), (0, y1, a1)])
            else:  # normal -x
                quads.append([(w, y0, a0), (w, y0, a1), (w, y1, a1), (w, y1, a0)])
    vertices = np.array([p for q in quads for p in q], np.float64)
    faces = np.array([[4 * k, 4 * k + 1, 4 * k + 2] for k in range(len(quads))]
                     + [[4 * k, 4 * k + 2, 4 * k + 3] for k in range(len(quads))], np.int64)
    return vertices, faces


def _material(builder: GlbBuilder, name: str) -> int:
    colours = {"Floor_Wood": ((0.42, 0.30, 0.20, 1.0), 0.7, 0.0),
               "Wall_Paint": ((0.80, 0.78, 0.74, 1.0), 0.9, 0.0)}
    rgba, rough, metal = colours.get(name) or MATERIALS[name]
    return builder.material(name, rgba, rough, metal)


# --------------------------------------------------------------------------- building


def _local_matrix(node: dict) -> np.ndarray:
    """A glTF node's local (4, 4) transform from ``matrix`` or translation/rotation/scale."""
    if "matrix" in node:
        return np.asarray(node["matrix"], np.float64).reshape(4, 4).T
    out = np.eye(4)
    x, y, z, w = node.get("rotation", (0.0, 0.0, 0.0, 1.0))
    rotation = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    out[:3, :3] = rotation * np.asarray(node.get("scale", (1.0, 1.0, 1.0)))
    out[:3, 3] = node.get("translation", (0.0, 0.0, 0.0))
    return out


def _add_piece(builder: GlbBuilder, path: Path, name: str, placement: np.ndarray) -> int:
    """Embed the piece file ``path`` as a node ``name`` with the (4, 4) ``placement`` (parent
    frame). A file with one root node becomes that node, renamed, its own transform kept under
    the placement; otherwise a new node holds the file's roots."""
    roots, _ = builder.embed(path, root_name=name)
    if len(roots) == 1:
        node = builder.nodes[roots[0]]
        matrix = placement @ _local_matrix(node)
        for key in ("matrix", "translation", "rotation", "scale"):
            node.pop(key, None)
        node["matrix"] = [float(round(v, 9)) + 0.0 for v in matrix.T.reshape(-1)]
        return roots[0]
    return builder.node(name, children=roots, matrix=placement)


def _z_up() -> np.ndarray:
    """(4, 4) rotation taking a z-up frame (Blender's) to glTF's y-up: (x, y, z) -> (x, z, -y)."""
    return np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, -1.0, 0, 0], [0, 0, 0, 1.0]])


def build_room(plan: RoomPlan, furniture: dict[str, Path]) -> tuple[bytes, dict]:
    """The GLB bytes and the ground-truth JSON dict of ``plan``; ``furniture`` maps each piece
    file name to its path."""
    builder = GlbBuilder()
    roots: list[int] = []
    if plan.shell == "walls":
        t = WALL_THICKNESS
        floor = box([-t, -0.05, -t], [plan.width + t, 0.0, plan.depth + t])
        mesh = builder.mesh("Floor", [Primitive(*floor, _material(builder, "Floor_Wood"))])
        roots.append(builder.node("Floor", mesh=mesh))
        wall_names = []
        for k, wall in enumerate(plan.walls):
            shapes = _wall_boxes(plan, wall)
            vertices = np.concatenate([s[0] for s in shapes])
            faces = np.concatenate([s[1] + 8 * i for i, s in enumerate(shapes)])
            name = f"Wall.{k + 1:03d}"
            mesh = builder.mesh(name, [Primitive(vertices, faces,
                                                 _material(builder, "Wall_Paint"))])
            roots.append(builder.node(name, mesh=mesh))
            wall_names.append(name)
        parent_inverse = np.eye(4)
    else:
        # a downloaded file: a z-up tree under a node turning it y-up
        to_y_up = _z_up()
        parent_inverse = to_y_up.T
        vertices, faces = _merged_shell(plan)
        vertices = vertices @ parent_inverse[:3, :3].T
        mesh = builder.mesh("Room", [Primitive(vertices, faces, _material(builder, "Wall_Paint"))])
        children = [builder.node("Room", mesh=mesh)]
        wall_names = []
    pieces = []
    for placed in plan.pieces:
        spec = placed.spec
        placement = parent_inverse @ yaw_matrix(placed.x, placed.z, placed.yaw)
        node = _add_piece(builder, furniture[spec.file], placed.name, placement)
        if builder.nodes[node]["name"] != placed.name:
            raise ValueError(f"{plan.name}: the name {placed.name!r} is used twice")
        (roots if plan.shell == "walls" else children).append(node)
        pieces.append(_piece_record(placed))
    if plan.shell == "merged":
        holder = builder.node("RootNode", children=children)
        roots.append(builder.node("Sketchfab_model", children=[holder], matrix=_z_up()))
    data = builder.to_bytes(roots)
    doc = {
        "room": plan.name,
        "file": f"{plan.name}.glb",
        "description": plan.description,
        "frame": "glTF / SMPL-X world: +y up, metres; floor top at y = 0",
        "interior": {"x": [0.0, plan.width], "z": [0.0, plan.depth]},
        "wall_height": plan.height,
        "shell": plan.shell,
        "floor": "Floor" if plan.shell == "walls" else None,
        "walls": wall_names,
        "room_mesh": "Room" if plan.shell == "merged" else None,
        "doors": [{"wall": w, "centre": c, "width": DOOR_WIDTH, "height": DOOR_HEIGHT}
                  for w, c in plan.doors],
        "seats_total": sum(p["seats"] for p in pieces),
        "pieces": pieces,
    }
    return data, doc


def _piece_record(placed: Placed) -> dict:
    """The JSON entry of one placed piece (see the module docstring)."""
    spec = placed.spec
    m = yaw_matrix(placed.x, placed.z, placed.yaw)
    seats = [[round(float(v), 4) + 0.0 for v in (m @ [*s, 1.0])[:3]] for s in spec.seats]
    faces = placed.faces if placed.faces is not None else spec.facing
    record = {
        "name": placed.name,
        "kind": spec.kind,
        "asset": f"furniture/{spec.file}",
        "position": [placed.x, 0.0, placed.z],
        "yaw_deg": placed.yaw,
        "use": spec.use,
        "seats": len(spec.seats),
        "seat_height": spec.seats[0][1] if spec.seats else None,
        "seat_positions": seats,
        "top_height": spec.top,
        "faces": None if faces is None else (
            _turn(faces, placed.yaw) if placed.faces is None else [faces[0], 0.0, faces[1]]),
        "at": placed.at,
        "source": spec.origin,
    }
    return record


def write_room(plan: RoomPlan, furniture: dict[str, Path], folder: Path) -> tuple[Path, Path]:
    """Write ``folder/<room>.glb`` and ``folder/<room>.json``; returns both paths."""
    data, doc = build_room(plan, furniture)
    folder.mkdir(parents=True, exist_ok=True)
    glb = folder / f"{plan.name}.glb"
    glb.write_bytes(data)
    js = folder / f"{plan.name}.json"
    js.write_text(json.dumps(doc, indent=1) + "\n")
    return glb, js
