"""The test room of the scene tests, built in bpy, and checks on bodies in it.

The room is built from boxes in the SMPL-X world (+y up) with the synthetic furniture catalogue
(chairs with seats and backs, a sofa, a bed, a table), then turned into Blender objects with
:func:`posa_model.frames.smplx_to_blender`; its exact signed distance (the boxes') checks the
placements independently of the distance grid placement works with. Import after
``bl_helpers`` (which skips without bpy) and after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from bl_helpers import bpy, select_only

from posa_blender import arrays, scene
from posa_model.frames import blender_to_smplx, smplx_to_blender
from posa_model.synth.export import BOX_FACES
from posa_model.synth.furniture import build_furniture
from posa_model.synth.primitives import Boxes, box_signed_distance

WIDTH, DEPTH, HEIGHT, THICK = 5.0, 4.0, 2.5, 0.1


# --------------------------------------------------------------------------------------------
# the test room


def room_pieces(with_floor: bool = True, roles: dict | None = None) -> dict[str, Boxes]:
    """Object name -> its boxes (SMPL-X world: floor top y = 0, inside x in [0, 5], z in [0, 4]).

    ``roles``, when given, receives each furniture object's part roles ("seat", "back", ...).
    """
    rng = np.random.default_rng(0)
    pieces: dict[str, Boxes] = {}

    def slab(name, lo, hi):
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        pieces[name] = Boxes([(lo + hi) / 2], [(hi - lo) / 2], [0.0], [0], [0])

    def furniture(name, kind, x, z, yaw):
        spec = build_furniture(kind, rng)
        c, s = np.cos(yaw), np.sin(yaw)
        rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        centres = np.array([p.center for p in spec.parts]) @ rotation.T + [x, 0.0, z]
        pieces[name] = Boxes(centres, np.array([p.size for p in spec.parts]) / 2,
                             np.full(len(centres), yaw), np.zeros(len(centres), int),
                             np.zeros(len(centres), int))
        if roles is not None:
            roles[name] = [p.role for p in spec.parts]
        return spec

    if with_floor:
        slab("Floor", (-THICK, -THICK, -THICK), (WIDTH + THICK, 0.0, DEPTH + THICK))
    slab("Wall", (-THICK, 0, -THICK), (WIDTH + THICK, HEIGHT, 0.0))
    slab("Wall.001", (-THICK, 0, DEPTH), (WIDTH + THICK, HEIGHT, DEPTH + THICK))
    slab("Wall.002", (-THICK, 0, 0), (0.0, HEIGHT, DEPTH))
    slab("Wall.003", (WIDTH, 0, 0), (WIDTH + THICK, HEIGHT, DEPTH))
    spec = furniture("Sofa", "sofa", 3.3, 0.0, 0.0)
    pieces["Sofa"] = _shifted(pieces["Sofa"], (0, 0, 0.02 + spec.half_footprint[1]))
    spec = furniture("Bed", "bed", 0.0, 3.0, np.pi / 2)
    pieces["Bed"] = _shifted(pieces["Bed"], (0.02 + spec.half_footprint[1], 0, 0))
    furniture("Table", "table", 3.4, 2.6, 0.0)
    furniture("Chair", "chair", 3.0, 3.35, np.pi)
    furniture("Chair.001", "chair", 3.8, 1.85, 0.0)
    return pieces


def _shifted(boxes: Boxes, offset) -> Boxes:
    return Boxes(boxes.centers + np.asarray(offset, float), boxes.half_sizes, boxes.yaws,
                 boxes.class_ids, boxes.object_ids)


def build_room(pieces: dict[str, Boxes]) -> dict[str, bpy.types.Object]:
    """One Blender mesh object per piece (its boxes' triangles in Blender axes), unlabelled."""
    made = {}
    for name, boxes in pieces.items():
        corners = boxes.corners().reshape(-1, 3)
        faces = (BOX_FACES[None] + 8 * np.arange(len(boxes))[:, None, None]).reshape(-1, 3)
        obj = bpy.data.objects.new(name, arrays.new_mesh(name, smplx_to_blender(corners), faces))
        bpy.context.scene.collection.objects.link(obj)
        assert obj.name == name
        made[name] = obj
    return made


def room_sdf(pieces: dict[str, Boxes], points_smplx: np.ndarray) -> np.ndarray:
    """Exact signed distance (N,) of SMPL-X world points to the room's boxes."""
    every = Boxes.concatenate(list(pieces.values()))
    return box_signed_distance(points_smplx, every).min(axis=1)


def make_room() -> SimpleNamespace:
    """The default file without its cube, and the test room with guessed classes."""
    bpy.data.objects.remove(bpy.data.objects["Cube"])
    pieces = room_pieces()
    objects = build_room(pieces)
    bpy.context.view_layer.update()  # drop the removed cube's base
    select_only(None)
    assert bpy.ops.posa.guess_classes() == {"FINISHED"}
    return SimpleNamespace(pieces=pieces, objects=objects)


def evaluated_smplx(obj) -> np.ndarray:
    world, _, _ = arrays.evaluated_world_vertices(obj, bpy.context.evaluated_depsgraph_get())
    return blender_to_smplx(world.astype(np.float64))


def bodies() -> list:
    return scene.scene_bodies(bpy.context.scene)


def penetration(points_smplx: np.ndarray, other) -> float:
    """How deep (m) any of ``points`` lies inside the body ``other`` (0 if none does)."""
    import igl

    vertices = evaluated_smplx(other)
    _, loops = arrays.polygon_vertices(other.data)
    faces = loops.reshape(-1, 3).astype(np.int64)
    lo, hi = vertices.min(0) - 0.01, vertices.max(0) + 0.01
    near = points_smplx[np.all((points_smplx > lo) & (points_smplx < hi), axis=1)]
    if not len(near):
        return 0.0
    inside = igl.fast_winding_number(vertices, faces, near) > 0.5
    if not inside.any():
        return 0.0
    distance, _, _ = igl.point_mesh_squared_distance(near[inside], vertices, faces)
    return float(np.sqrt(distance).max())


def import_labelled_room(folder) -> tuple[dict[str, int], object]:
    """A synthetic living room written by posa_model (its GLB labels every object) imported
    into an empty file: ({object name: class id}, the GLB's path)."""
    from posa_model.synth.export import save_scene
    from posa_model.synth.rooms import generate_room

    synthetic = generate_room("labelled", np.random.default_rng(0), "living")
    path = save_scene(folder, synthetic)
    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.ops.import_scene.gltf(filepath=str(path)) == {"FINISHED"}
    return {o.name: int(o.class_id) for o in synthetic.objects}, path
