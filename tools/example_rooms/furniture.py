"""Procedural furniture (CC0, made for this project) and the catalogue of every piece.

Frame of every piece (as the artist-made pieces in ``examples/furniture``): glTF, +y up,
metres, the floor at y = 0, centred on x = z = 0. A seat "faces -z": a person sitting on it
looks towards -z, the backrest (or a bed's headboard) is on the +z side.

Each builder returns a list of :class:`Part` (a name, a material name and one or more closed
shapes from :mod:`.shapes`) that overlap the way real models do: cushions sunk into frames,
legs through bases, a blanket over a mattress. :func:`write_piece` writes a piece either as one
node with a child node per part (``style="parts"``) or as one node whose mesh has a primitive
per material (``style="materials"``), the two ways artists' files come.

:data:`CATALOGUE` describes every piece the rooms use, the artist-made ones included: its file,
kind, the local seat positions (where a sitter's or a lying person's pelvis goes; metres, piece
frame), the seat or top height and the direction a sitter faces. Dimensions follow furniture
standards: sofa seat 0.44 m high and 0.55 m deep, backrest 0.85 m; mattress top 0.53 m
(0.56 m on the blanket); desk 0.75 m; dining table 0.76 m; bar counter 1.05 m.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .gltf import GlbBuilder, Primitive, write_glb
from .shapes import Mesh, box, cylinder, rotate_x, rounded_box, tube

__all__ = ["CATALOGUE", "MATERIALS", "Part", "PieceSpec", "build_parts", "write_piece"]

#: name -> (linear RGBA, roughness, metallic): the procedural pieces' materials.
MATERIALS: dict[str, tuple[tuple[float, float, float, float], float, float]] = {
    "Fabric": ((0.20, 0.26, 0.33, 1.0), 0.9, 0.0),
    "Cushion": ((0.28, 0.34, 0.42, 1.0), 0.95, 0.0),
    "Oak": ((0.55, 0.36, 0.18, 1.0), 0.6, 0.0),
    "Walnut": ((0.24, 0.13, 0.06, 1.0), 0.55, 0.0),
    "Metal": ((0.6, 0.6, 0.62, 1.0), 0.35, 1.0),
    "Black": ((0.03, 0.03, 0.03, 1.0), 0.5, 0.0),
    "White": ((0.8, 0.8, 0.78, 1.0), 0.5, 0.0),
    "Linen": ((0.85, 0.83, 0.78, 1.0), 0.9, 0.0),
    "Blanket": ((0.45, 0.12, 0.10, 1.0), 0.95, 0.0),
    "Stone": ((0.55, 0.55, 0.52, 1.0), 0.3, 0.0),
    "Wool": ((0.50, 0.42, 0.30, 1.0), 1.0, 0.0),
    "Screen": ((0.01, 0.01, 0.012, 1.0), 0.1, 0.0),
}


@dataclass(frozen=True)
class Part:
    """A named part of a piece: ``shapes`` (closed meshes, piece frame) of one material."""

    name: str
    material: str
    shapes: tuple[Mesh, ...]


@dataclass(frozen=True)
class PieceSpec:
    """One furniture file and what a room needs to know about it (piece frame: +y up, metres,
    a sitter faces -z unless ``facing`` says otherwise).

    ``seats``: local (x, y, z) seat positions, y the seat (or lying surface) height; ``use``:
    ``"sit"``, ``"lie"`` (beds: the pelvis positions of people lying side by side; people may
    also sit on them) or ``""``; ``top``: the height of a table-like top (m) or None;
    ``seat_front``: distance (m) from the origin to the seat's front edge along ``facing``;
    ``facing``: (x, z) direction a sitter looks (beds: from the headboard to the foot), or None
    (a round stool).
    """

    file: str
    kind: str
    seats: tuple[tuple[float, float, float], ...] = ()
    use: str = ""
    top: float | None = None
    seat_front: float = 0.0
    facing: tuple[float, float] | None = (0.0, -1.0)
    origin: str = "procedural: tools/make_example_rooms.py (CC0)"  # or repository @ commit
    builder: str | None = None  # name in BUILDERS for procedural pieces
    style: str = "parts"
    root: str = ""  # the root node's name in the written file
    extras: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- builders


def _sofa_parts(prefix: str, seats: int, seat_w: float, arm_w: float) -> list[Part]:
    """A sofa or armchair with ``seats`` seat and back cushions (each ``seat_w`` wide), two
    arms ``arm_w`` wide, a base, a back frame and four tapered legs. Faces -z."""
    inner = seats * seat_w / 2  # half the width between the arms
    outer = inner + arm_w
    parts = [
        Part(f"{prefix}_Frame", "Fabric", (rounded_box([-inner - 0.01, 0.12, -0.43],
                                                       [inner + 0.01, 0.32, 0.45], 0.03),)),
        Part(f"{prefix}_Back", "Fabric", (rounded_box([-inner - 0.01, 0.12, 0.27],
                                                      [inner + 0.01, 0.80, 0.45], 0.05),)),
        Part(f"{prefix}_Arm.L", "Fabric", (rounded_box([-outer, 0.12, -0.45],
                                                       [-inner, 0.62, 0.45], 0.06),)),
        Part(f"{prefix}_Arm.R", "Fabric", (rounded_box([inner, 0.12, -0.45],
                                                       [outer, 0.62, 0.45], 0.06),)),
    ]
    for k in range(seats):
        x0 = -inner + k * seat_w + 0.004
        x1 = x0 + seat_w - 0.008
        parts.append(Part(f"{prefix}_SeatCushion.{k + 1:03d}", "Cushion",
                          (rounded_box([x0, 0.30, -0.45], [x1, 0.44, 0.20], 0.05),)))
        back = rounded_box([x0, 0.42, 0.10], [x1, 0.83, 0.28], 0.06)
        parts.append(Part(f"{prefix}_BackCushion.{k + 1:03d}", "Cushion",
                          (rotate_x(back, 10.0, pivot=(0.0, 0.42, 0.28)),)))
    leg_x = outer - 0.07
    for k, (x, z) in enumerate([(-leg_x, -0.38), (leg_x, -0.38), (-leg_x, 0.38),
                                (leg_x, 0.38)]):
        parts.append(Part(f"{prefix}_Leg.{k + 1:03d}", "Walnut",
                          (cylinder(0.02, 0.0, 0.16, x, z, 12, radius_top=0.026),)))
    return parts


def sofa_3seat() -> list[Part]:
    """Three-seat sofa, 2.10 x 0.85 x 0.90 m (w x h x d): seat 0.44 m high, 0.55 m deep."""
    return _sofa_parts("Sofa", 3, 0.58, 0.18)


def armchair() -> list[Part]:
    """Armchair of the sofa's style, 0.96 x 0.85 x 0.90 m, seat 0.64 m wide."""
    return _sofa_parts("Armchair", 1, 0.64, 0.16)


def bed_double() -> list[Part]:
    """Double bed 1.76 x 2.10 m (headboard 1.05 m high at +z): frame, four legs, slats,
    mattress 1.58 x 1.96 (top 0.53 m), two pillows and a blanket over the foot 1.3 m (its top
    0.56 m)."""
    frame = (
        rounded_box([-0.87, 0.14, -1.04], [-0.80, 0.36, 0.98], 0.02),
        rounded_box([0.80, 0.14, -1.04], [0.87, 0.36, 0.98], 0.02),
        rounded_box([-0.87, 0.14, -1.04], [0.87, 0.40, -0.98], 0.02),
        box([-0.80, 0.26, -0.98], [0.80, 0.30, 0.98]),
    )
    legs = [(-0.835, -1.005), (0.835, -1.005), (-0.835, 0.94), (0.835, 0.94)]
    parts = [
        Part("Bed_Frame", "Oak", frame),
        Part("Headboard", "Oak", (rounded_box([-0.88, 0.0, 0.98], [0.88, 1.05, 1.06], 0.03),)),
        Part("Mattress", "Linen", (rounded_box([-0.79, 0.29, -0.98], [0.79, 0.53, 0.98], 0.05),)),
        Part("Blanket", "Blanket", (rounded_box([-0.83, 0.37, -1.01], [0.83, 0.56, 0.30], 0.04),)),
    ]
    for k, x in enumerate((-0.38, 0.38)):
        parts.append(Part(f"Pillow.{k + 1:03d}", "Linen",
                          (rounded_box([x - 0.33, 0.50, 0.50], [x + 0.33, 0.64, 0.92], 0.06),)))
    for k, (x, z) in enumerate(legs):
        parts.append(Part(f"Bed_Leg.{k + 1:03d}", "Oak", (cylinder(0.03, 0.0, 0.18, x, z, 12),)))
    return parts


def desk() -> list[Part]:
    """Desk 1.40 x 0.75 x 0.70 m: top, two legs on the left, a three-drawer block on the right
    and a modesty panel at the back (+z); the sitter's side is -z, knee space 0.9 m wide."""
    drawers = tuple(box([0.30, y0, -0.345], [0.66, y0 + 0.2, -0.33])
                    for y0 in (0.07, 0.29, 0.51))
    handles = tuple(tube([0.42, y0 + 0.15, -0.36], [0.54, y0 + 0.15, -0.36], 0.008, 8)
                    for y0 in (0.07, 0.29, 0.51))
    return [
        Part("Desk_Top", "Oak", (rounded_box([-0.70, 0.72, -0.35], [0.70, 0.75, 0.35], 0.01),)),
        Part("Desk_Legs", "Black", (rounded_box([-0.68, 0.0, -0.32], [-0.62, 0.73, -0.26], 0.01),
                                    rounded_box([-0.68, 0.0, 0.26], [-0.62, 0.73, 0.32], 0.01))),
        Part("Desk_Drawers", "White", (rounded_box([0.28, 0.0, -0.33], [0.68, 0.73, 0.33], 0.01),
                                       *drawers)),
        Part("Desk_Panel", "White", (box([-0.62, 0.40, 0.29], [0.28, 0.72, 0.31]),)),
        Part("Desk_Handles", "Metal", handles),
    ]


def coffee_table() -> list[Part]:
    """Low coffee table 1.10 x 0.43 x 0.60 m: rounded top, shelf, four tapered legs."""
    parts = [
        Part("CoffeeTable_Top", "Walnut",
             (rounded_box([-0.55, 0.39, -0.30], [0.55, 0.43, 0.30], 0.02),)),
        Part("CoffeeTable_Shelf", "Walnut", (box([-0.47, 0.12, -0.22], [0.47, 0.14, 0.22]),)),
    ]
    for k, (x, z) in enumerate([(-0.48, -0.23), (0.48, -0.23), (-0.48, 0.23), (0.48, 0.23)]):
        parts.append(Part(f"CoffeeTable_Leg.{k + 1:03d}", "Walnut",
                          (cylinder(0.018, 0.0, 0.40, x, z, 12, radius_top=0.026),)))
    return parts


def bar_counter() -> list[Part]:
    """Kitchen bar / island 2.0 x 1.05 x 0.66 m: stone top overhanging 0.25 m on the seating
    side (-z), a cabinet body, a recessed plinth and a metal foot rail."""
    rail = [tube([-0.92, 0.22, -0.21], [0.92, 0.22, -0.21], 0.02, 12)]
    rail += [tube([x, 0.22, -0.21], [x, 0.22, -0.07], 0.012, 8) for x in (-0.8, 0.0, 0.8)]
    doors = tuple(box([x0, 0.14, -0.085], [x0 + 0.46, 0.96, -0.075])
                  for x0 in (-0.94, -0.47, 0.01, 0.48))
    return [
        Part("Counter_Top", "Stone", (rounded_box([-1.0, 1.01, -0.33], [1.0, 1.05, 0.33], 0.015),)),
        Part("Counter_Body", "Oak", (box([-0.97, 0.10, -0.08], [0.97, 1.01, 0.31]), *doors)),
        Part("Counter_Plinth", "Black", (box([-0.94, 0.0, -0.04], [0.94, 0.11, 0.28]),)),
        Part("Counter_FootRail", "Metal", tuple(rail)),
    ]


def dining_table() -> list[Part]:
    """Dining table 1.60 x 0.76 x 0.90 m: top, apron (0.64-0.72 m), four legs."""
    apron = (box([-0.70, 0.64, -0.36], [0.70, 0.72, -0.34]), box([-0.70, 0.64, 0.34],
                                                                [0.70, 0.72, 0.36]),
             box([-0.71, 0.64, -0.35], [-0.69, 0.72, 0.35]), box([0.69, 0.64, -0.35],
                                                                [0.71, 0.72, 0.35]))
    parts = [
        Part("Table_Top", "Oak", (rounded_box([-0.80, 0.72, -0.45], [0.80, 0.76, 0.45], 0.012),)),
        Part("Table_Apron", "Oak", apron),
    ]
    for k, (x, z) in enumerate([(-0.71, -0.36), (0.71, -0.36), (-0.71, 0.36), (0.71, 0.36)]):
        parts.append(Part(f"Table_Leg.{k + 1:03d}", "Oak",
                          (rounded_box([x - 0.03, 0.0, z - 0.03], [x + 0.03, 0.73, z + 0.03],
                                       0.008),)))
    return parts


def round_table() -> list[Part]:
    """Round pedestal table, 0.90 m across, top 0.76 m."""
    return [
        Part("Table_Top", "Oak", (cylinder(0.45, 0.735, 0.76, sections=32),)),
        Part("Table_Pedestal", "Black", (cylinder(0.045, 0.03, 0.74, sections=16),
                                         cylinder(0.26, 0.0, 0.04, sections=24,
                                                  radius_top=0.2))),
    ]


def _cabinet(prefix: str, width: float, height: float, depth: float, columns: int, rows: int,
             legs: float, body: str, front: str) -> list[Part]:
    """A cabinet: carcass, a grid of doors or drawers on the front (-z) with bar handles, and
    four short legs (``legs`` > 0, metres) or a plinth."""
    w, d = width / 2, depth / 2
    base = legs if legs > 0 else 0.08
    parts = [Part(f"{prefix}_Body", body,
                  (rounded_box([-w, base, -d + 0.01], [w, height, d], 0.008),))]
    fronts, handles = [], []
    cw = (width - 0.02) / columns
    rh = (height - base - 0.02) / rows
    for c in range(columns):
        for r in range(rows):
            x0, y0 = -w + 0.01 + c * cw + 0.003, base + 0.01 + r * rh + 0.003
            x1, y1 = x0 + cw - 0.006, y0 + rh - 0.006
            fronts.append(box([x0, y0, -d - 0.008], [x1, y1, -d + 0.012]))
            if rows > 1 or columns == 1:  # drawers: a horizontal bar near the top
                hy = y1 - min(0.06, rh / 4)
                xm = (x0 + x1) / 2
                handles.append(tube([xm - 0.06, hy, -d - 0.025], [xm + 0.06, hy, -d - 0.025],
                                    0.007, 8))
            else:  # doors: a vertical bar by the inner edge
                hx = x1 - 0.04 if c % 2 == 0 else x0 + 0.04
                ym = min((y0 + y1) / 2, 1.1)
                handles.append(tube([hx, ym - 0.1, -d - 0.025], [hx, ym + 0.1, -d - 0.025],
                                    0.007, 8))
    parts.append(Part(f"{prefix}_Fronts", front, tuple(fronts)))
    parts.append(Part(f"{prefix}_Handles", "Metal", tuple(handles)))
    if legs > 0:
        feet = [cylinder(0.018, 0.0, legs + 0.01, x, z, 10)
                for x in (-w + 0.04, w - 0.04) for z in (-d + 0.05, d - 0.04)]
        parts.append(Part(f"{prefix}_Legs", "Black", tuple(feet)))
    else:
        parts.append(Part(f"{prefix}_Plinth", "Black",
                          (box([-w + 0.02, 0.0, -d + 0.06], [w - 0.02, 0.09, d - 0.02]),)))
    return parts


def nightstand() -> list[Part]:
    """Nightstand 0.45 x 0.55 x 0.40 m, two drawers, on legs."""
    return _cabinet("Nightstand", 0.45, 0.55, 0.40, 1, 2, 0.12, "Oak", "White")


def wardrobe() -> list[Part]:
    """Wardrobe 1.20 x 2.00 x 0.60 m, two doors, plinth."""
    return _cabinet("Wardrobe", 1.20, 2.00, 0.60, 2, 1, 0.0, "White", "Oak")


def sideboard() -> list[Part]:
    """Sideboard 1.60 x 0.80 x 0.45 m, four doors, on legs."""
    return _cabinet("Sideboard", 1.60, 0.80, 0.45, 4, 1, 0.15, "Walnut", "Walnut")


def kitchen_counter() -> list[Part]:
    """Wall run of kitchen base units 3.0 x 0.90 x 0.62 m with a stone worktop and a sink."""
    parts = _cabinet("Kitchen_Counter", 3.0, 0.86, 0.60, 5, 1, 0.0, "White", "White")
    parts.append(Part("Kitchen_Worktop", "Stone",
                      (box([-1.5, 0.86, -0.31], [1.5, 0.90, 0.30]),)))
    parts.append(Part("Kitchen_Tap", "Metal", (cylinder(0.015, 0.89, 1.15, 0.6, 0.2, 10),
                                               tube([0.6, 1.15, 0.2], [0.6, 1.15, 0.02], 0.012))))
    return parts


def fridge() -> list[Part]:
    """Fridge 0.70 x 1.85 x 0.68 m: rounded body, two doors, handles."""
    return [
        Part("Fridge_Body", "White", (rounded_box([-0.35, 0.0, -0.32], [0.35, 1.85, 0.34],
                                                  0.03),)),
        Part("Fridge_Doors", "White", (box([-0.34, 0.05, -0.345], [0.34, 1.15, -0.31]),
                                       box([-0.34, 1.17, -0.345], [0.34, 1.83, -0.31]))),
        Part("Fridge_Handles", "Metal", (tube([0.28, 0.80, -0.37], [0.28, 1.10, -0.37], 0.012),
                                         tube([0.28, 1.22, -0.37], [0.28, 1.50, -0.37],
                                              0.012))),
    ]


def bookshelf() -> list[Part]:
    """Open bookshelf 0.90 x 1.90 x 0.32 m: sides, back, five shelves."""
    shelves = tuple(box([-0.43, y, -0.15], [0.43, y + 0.025, 0.15])
                    for y in (0.05, 0.42, 0.80, 1.18, 1.56, 1.875))
    return [
        Part("Bookshelf_Sides", "Oak", (box([-0.45, 0.0, -0.16], [-0.43, 1.90, 0.16]),
                                        box([0.43, 0.0, -0.16], [0.45, 1.90, 0.16]))),
        Part("Bookshelf_Back", "Oak", (box([-0.43, 0.0, 0.15], [0.43, 1.90, 0.16]),)),
        Part("Bookshelf_Shelves", "Oak", shelves),
    ]


def tv_stand() -> list[Part]:
    """Low TV cabinet 1.60 x 0.42 x 0.42 m with a 55-inch TV on a foot."""
    parts = _cabinet("TVStand", 1.60, 0.42, 0.42, 3, 1, 0.10, "Walnut", "Black")
    parts.append(Part("TV", "Screen", (rounded_box([-0.62, 0.52, -0.02], [0.62, 1.23, 0.03],
                                                   0.01),
                                       box([-0.04, 0.42, -0.02], [0.04, 0.60, 0.02]),
                                       box([-0.2, 0.42, -0.12], [0.2, 0.435, 0.10]))))
    return parts


def rug() -> list[Part]:
    """Rug 2.40 x 1.60 m, 12 mm thick."""
    return [Part("Rug", "Wool", (rounded_box([-1.2, 0.0, -0.8], [1.2, 0.012, 0.8], 0.006, 3),))]


#: builder name -> function returning the parts.
BUILDERS = {f.__name__: f for f in (sofa_3seat, armchair, bed_double, desk, coffee_table,
                                    bar_counter, dining_table, round_table, nightstand,
                                    wardrobe, sideboard, kitchen_counter, fridge, bookshelf,
                                    tv_stand, rug)}


def build_parts(spec: PieceSpec) -> list[Part]:
    """The parts of a procedural piece."""
    if spec.builder is None:
        raise ValueError(f"{spec.file}: not a procedural piece")
    return BUILDERS[spec.builder]()


def write_piece(spec: PieceSpec, folder: Path) -> Path:
    """Write a procedural piece to ``folder/spec.file`` in its ``style`` (module docstring)."""
    builder = GlbBuilder()
    parts = build_parts(spec)
    materials = {}
    for part in parts:
        if part.material not in materials:
            rgba, rough, metal = MATERIALS[part.material]
            materials[part.material] = builder.material(part.material, rgba, rough, metal)

    def merged(shapes) -> tuple[np.ndarray, np.ndarray]:
        vertices, faces, n = [], [], 0
        for v, f in shapes:
            vertices.append(v)
            faces.append(f + n)
            n += len(v)
        return np.concatenate(vertices), np.concatenate(faces)

    if spec.style == "parts":
        children = []
        for part in parts:
            mesh = builder.mesh(part.name, [Primitive(*merged(part.shapes),
                                                      materials[part.material])])
            children.append(builder.node(part.name, mesh=mesh))
        root = builder.node(spec.root, children=children)
    elif spec.style == "materials":
        primitives = []
        for name, index in materials.items():
            shapes = [s for p in parts if p.material == name for s in p.shapes]
            primitives.append(Primitive(*merged(shapes), index))
        root = builder.node(spec.root, mesh=builder.mesh(spec.root, primitives))
    else:
        raise ValueError(f"{spec.file}: unknown style {spec.style!r}")
    return write_glb(folder / spec.file, builder, [root])


# --------------------------------------------------------------------------- catalogue

_KENNEY = "beep2bleep/FreeAssetsByKenneyNLandQuaternius @ dea756baf3b3"
_POLYHAVEN = "RobotLocomotion/models @ 4723170e1c8e"

#: Every piece the rooms use (see :class:`PieceSpec`). The artist-made pieces' seat positions
#: and heights were measured by casting rays down on the files.
CATALOGUE: dict[str, PieceSpec] = {
    # artist-made (CC0), unchanged copies of /work/shared/real_furniture
    "kenney_chair": PieceSpec("kenney_chair.glb", "chair", ((0.0, 0.45, -0.04),), "sit",
                              seat_front=0.188, origin=_KENNEY),
    "kenney_bench": PieceSpec("kenney_bench.glb", "bench", ((-0.19, 0.45, -0.04),
                                                            (0.19, 0.45, -0.04)), "sit",
                              seat_front=0.188, origin=_KENNEY),
    "kenney_lounge_armchair": PieceSpec("kenney_lounge_armchair.glb", "armchair",
                                        ((0.0, 0.43, -0.06),), "sit", seat_front=0.38,
                                        origin=_KENNEY),
    "kenney_bar_stool": PieceSpec("kenney_bar_stool.glb", "stool", ((0.0, 0.82, 0.0),), "sit",
                                  seat_front=0.2, facing=None, origin=_KENNEY),
    "kenney_bed_single": PieceSpec("kenney_bed_single.glb", "bed", ((0.0, 0.47, -0.2),), "lie",
                                   origin=_KENNEY),
    "quaternius_office_chair": PieceSpec("quaternius_office_chair.glb", "chair",
                                         ((0.0, 0.49, 0.08),), "sit", seat_front=0.29,
                                         facing=(0.0, 1.0), origin=_KENNEY),
    "polyhaven_wooden_table_02": PieceSpec("polyhaven_wooden_table_02.glb", "desk", top=0.80,
                                           facing=None, origin=_POLYHAVEN),
    "polyhaven_painted_wooden_stool": PieceSpec("polyhaven_painted_wooden_stool.glb", "stool",
                                                ((0.005, 0.58, 0.01),), "sit", seat_front=0.19,
                                                facing=None, origin=_POLYHAVEN),
    # procedural (CC0, this project)
    "sofa_3seat": PieceSpec("posa_sofa_3seat.glb", "sofa",
                            ((-0.58, 0.44, -0.17), (0.0, 0.44, -0.17), (0.58, 0.44, -0.17)),
                            "sit", seat_front=0.45, builder="sofa_3seat", root="Sofa"),
    "armchair": PieceSpec("posa_armchair.glb", "armchair", ((0.0, 0.44, -0.17),), "sit",
                          seat_front=0.45, builder="armchair", style="materials",
                          root="Armchair"),
    "bed_double": PieceSpec("posa_bed_double.glb", "bed", ((-0.38, 0.56, -0.05),
                                                           (0.38, 0.56, -0.05)), "lie",
                            builder="bed_double", root="Bed_Double"),
    "desk": PieceSpec("posa_desk.glb", "desk", top=0.75, facing=None, builder="desk",
                      style="materials", root="Desk"),
    "coffee_table": PieceSpec("posa_coffee_table.glb", "table", top=0.43, facing=None,
                              builder="coffee_table", root="CoffeeTable"),
    "bar_counter": PieceSpec("posa_bar_counter.glb", "counter", top=1.05, facing=None,
                             builder="bar_counter", style="materials", root="Bar_Counter"),
    "dining_table": PieceSpec("posa_dining_table.glb", "table", top=0.76, facing=None,
                              builder="dining_table", root="DiningTable"),
    "round_table": PieceSpec("posa_round_table.glb", "table", top=0.76, facing=None,
                             builder="round_table", style="materials", root="Table"),
    "nightstand": PieceSpec("posa_nightstand.glb", "nightstand", top=0.55, facing=None,
                            builder="nightstand", style="materials", root="Nightstand"),
    "wardrobe": PieceSpec("posa_wardrobe.glb", "wardrobe", facing=None, builder="wardrobe",
                          style="materials", root="Wardrobe"),
    "sideboard": PieceSpec("posa_sideboard.glb", "sideboard", top=0.80, facing=None,
                           builder="sideboard", style="materials", root="Sideboard"),
    "kitchen_counter": PieceSpec("posa_kitchen_counter.glb", "counter", top=0.90, facing=None,
                                 builder="kitchen_counter", root="Kitchen_Counter"),
    "fridge": PieceSpec("posa_fridge.glb", "fridge", facing=None, builder="fridge",
                        style="materials", root="Fridge"),
    "bookshelf": PieceSpec("posa_bookshelf.glb", "bookshelf", facing=None, builder="bookshelf",
                           style="materials", root="Bookshelf"),
    "tv_stand": PieceSpec("posa_tv_stand.glb", "tv_stand", top=0.42, facing=None,
                          builder="tv_stand", root="TVStand"),
    "rug": PieceSpec("posa_rug.glb", "rug", facing=None, builder="rug", style="materials",
                     root="Rug"),
}
