"""Render docs/populated_room.png and docs/sitter_adapts.png with Blender (Cycles on the CPU).

    .venv-blender/bin/python docs/make_populated_pictures.py                    # both pictures
    .venv-blender/bin/python docs/make_populated_pictures.py --only room --blend /tmp/apt.blend
    .venv-blender/bin/python docs/make_populated_pictures.py --only stool --samples 16

Run from the repository root with the Blender environment's Python (the ``bpy`` module,
README: "The Blender tests run in real Blender"); the add-on is registered from this checkout.
About 1.5 minutes for both on 2 CPU cores (64 samples, denoised).

``docs/populated_room.png``: ``examples/rooms/apartment.glb`` imported with Blender's glTF
importer into an empty file, the add-on's operators run as ``scripts/populate_scene.py`` runs
them: ``posa.guess_classes`` (nothing selected: every mesh), then ``posa.populate_scene`` with
``fill={"seats", "beds"}`` (someone on every seat and bed place) and ``people="stand:3,lean:1"``
(three standing, one leaning on a wall), seed ``--room-seed`` (0). Rendered 1280 x 720 from
above the front wall, a little to the left (:data:`ROOM_VIEW`), the two walls on the camera's
side hidden (the apartment has no ceiling), the furniture in its own materials and the people
in neutral skin tones. Every person's record (interaction, spot, metrics) is printed.

Seed 0 (2026-12-07): 17 of 17 placed, both sleepers in the double bed's lanes, every sitter
on a seat, nobody outside the walls (earlier code sank a dining sitter's foot into the floor at
seeds 0 and 9, stood people beyond the door at seeds 1, 4 and 7 and laid sleepers off the
lanes; the placement now refuses the first and never offers the others).

``docs/sitter_adapts.png``: the Kenney bar stool (seat 0.82 m) alone on a floor, seen from the
side by one camera, twice (seed ``--stool-seed``, 0):

* left, "before: the preset, moved": the stand-in's ``sit`` preset (made for a 0.45 m chair)
  placed rigidly by ``posa_model.place.place_bodies``: translation and heading only
  (``PlacementConfig(pose_steps=0)``, the pose not fitted, no target), turned to face the way
  the adapted sitter faces (only that heading tried: ``yaws=1``) and searched within 0.25 m of
  the seat. With the default acceptance no rigid placement is accepted (a thin part of the
  stool inside the body, or the buttocks' predicted contacts on no seat); the picture shows the
  best rigid candidate, accepted with ``min_coverage=0``: it sits in the air beside the stool,
  feet on the floor;
* right, "after: adapted to the stool": ``posa_model.populate.populate`` with one ``sit``
  person on that stool (the pose fitted to the seat's height, then refined with the
  placement): perched, feet hanging.

Both renders come from the same camera and are put side by side with numpy; the labels are
text objects in the scene. Frames: the placement runs in the SMPL-X / glTF world (+y up,
metres), Blender's is z up (``posa_model.frames.smplx_to_blender``, as the glTF importer).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tools"))

APARTMENT = ROOT / "examples" / "rooms" / "apartment.glb"
FURNITURE = ROOT / "examples" / "furniture"
#: From the room towards the camera (Blender frame, z up; the glTF importer turns the file's
#: (x, y, z) into Blender's (x, -z, y)): above the apartment's front wall (glTF -z, Blender
#: +y), a little to its left (-x): the desk's side. The front and left walls are hidden; the
#: bed, the sofa and the bar counter face the camera.
ROOM_VIEW = (-0.3, 1.0, 0.95)
#: Neutral skin tones (sRGB), one per person in turn: people side by side stay apart.
SKIN = ((0.85, 0.72, 0.63), (0.77, 0.63, 0.54), (0.90, 0.79, 0.70), (0.68, 0.54, 0.45),
        (0.81, 0.68, 0.59))
#: The sitter's tone on the stool (darker than the stool's salmon seat).
STOOL_SKIN = (0.62, 0.46, 0.35)
LABEL_BEFORE = "before: the preset, moved"
LABEL_AFTER = "after: adapted to the stool"


# --------------------------------------------------------------------------- shared


def linear(srgb) -> tuple[float, float, float]:
    """sRGB (3,) in [0, 1] -> linear RGB (Blender's colours are linear)."""
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb)


def skin_material(bpy, k: int, srgb=None):
    """A matte skin-like material: ``srgb`` (3,) or the ``k``-th tone of :data:`SKIN`."""
    material = bpy.data.materials.new(f"Skin.{k:03d}")
    material.use_nodes = True
    shader = material.node_tree.nodes["Principled BSDF"]
    colour = (*linear(srgb or SKIN[k % len(SKIN)]), 1.0)
    shader.inputs["Base Color"].default_value = colour
    shader.inputs["Roughness"].default_value = 0.6
    material.diffuse_color = colour
    return material


def light_and_world(bpy, scene, sun_energy: float = 3.0) -> None:
    """A soft sun and a light grey sky (as the room previews)."""
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = sun_energy
    sun.data.angle = math.radians(15)
    sun.rotation_euler = (math.radians(35), math.radians(10), math.radians(30))
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("World")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.8, 0.82, 0.85, 1)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.9
    scene.world = world


def render(bpy, scene, path: Path, size: tuple[int, int], samples: int) -> Path:
    """Cycles on the CPU, denoised, to the PNG ``path``."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = True
    scene.cycles.max_bounces = 4
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    path.parent.mkdir(parents=True, exist_ok=True)
    scene.render.filepath = str(path.resolve())
    started = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    print(f"rendered {path} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def register_addon(bpy) -> bool:
    """Register the add-on from this checkout unless one is registered; True when done here."""
    if hasattr(bpy.types, "POSA_OT_populate_scene"):
        return False
    import posa_blender

    posa_blender.register()
    return True


# --------------------------------------------------------------------------- the room


def populated_room(bpy, out: Path, seed: int, size, samples: int, people: str,
                   fill: set[str], blend: Path | None = None,
                   view=ROOM_VIEW) -> list[dict]:
    """Populate the apartment through the add-on's operators and render it (module
    docstring), saving the populated file as ``blend`` first when given; returns every
    body's record (name, interaction, spot, metrics)."""
    from batch_common import call

    bpy.ops.wm.read_homefile(use_empty=True)
    call(bpy.ops.import_scene.gltf, filepath=str(APARTMENT))
    scene = bpy.context.scene
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)  # nothing selected: Guess Classes labels every mesh
    call(bpy.ops.posa.guess_classes)
    started = time.perf_counter()
    call(bpy.ops.posa.populate_scene, people=people, fill=fill, seed=seed, device="CPU")
    print(f"populated in {time.perf_counter() - started:.0f} s: {scene.posa.last_populate}")
    if blend is not None:
        bpy.ops.wm.save_as_mainfile(filepath=str(blend.resolve()))
    records = [{"name": o.name, **o["posa_placement"].to_dict()} for o in body_objects(scene)
               if "posa_placement" in o]
    render_room(bpy, scene, out, size, samples, view)
    return records


def body_objects(scene) -> list:
    """The scene's POSA body meshes, by name."""
    return sorted((o for o in scene.objects if o.type == "MESH" and o.posa.role == "BODY"),
                  key=lambda o: o.name)


def render_room(bpy, scene, out: Path, size, samples: int, view=ROOM_VIEW) -> Path:
    """Render the populated room from ``view`` (Blender frame, from the room towards the
    camera): people in skin tones, the walls on the camera's side hidden."""
    from batch_common import framing_camera, world_bounds

    for k, obj in enumerate(body_objects(scene)):
        obj.data.materials.clear()
        obj.data.materials.append(skin_material(bpy, k))
        obj.data.polygons.foreach_set("use_smooth", [True] * len(obj.data.polygons))
    depsgraph = bpy.context.evaluated_depsgraph_get()
    meshes = [o for o in scene.objects if o.type == "MESH"]
    boxes = {o.name: world_bounds(o, depsgraph) for o in meshes}
    low = np.min([b[0] for b in boxes.values()], axis=0)
    high = np.max([b[1] for b in boxes.values()], axis=0)
    centre = (low + high) / 2
    back = np.asarray(view, np.float64)
    back /= np.linalg.norm(back)
    for obj in meshes:  # the walls between the camera and the room's middle
        lo, hi = boxes[obj.name]
        if obj.name.startswith("Wall") and float(np.dot(((lo + hi) / 2 - centre)[:2],
                                                        back[:2])) > 0.25:
            obj.hide_render = True
    shown = [boxes[o.name] for o in meshes if not o.name.startswith("Wall")]
    low = np.min([b[0] for b in shown], axis=0)
    high = np.max([b[1] for b in shown], axis=0)
    high[2] = min(high[2], 1.5)  # frame the floor, the furniture and the people's heads
    framing_camera(bpy, scene, low, high, back, size, lens=30, margin=1.02, name="Camera")
    light_and_world(bpy, scene)
    return render(bpy, scene, out, size, samples)


def format_records(records: list[dict]) -> str:
    lines = [f"{'body':<10} {'interaction':<11} {'spot':<52} {'non-coll':>8} {'touch':>5} "
             f"{'semantic':>8}  touches"]
    for r in records:
        touched = ", ".join(f"{k} {v}" for k, v in (r.get("touched_classes") or {}).items())
        lines.append(f"{r['name']:<10} {r.get('interaction', '?'):<11} "
                     f"{str(r.get('spot', ''))[:52]:<52} {r.get('non_collision', 0):>8.3f} "
                     f"{r.get('touch', 0):>5.2f} {r.get('semantic_match', 0):>8.3f}  {touched}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the stool


def stool_scene(folder: Path) -> Path:
    """A 2 x 2 m floor with the Kenney bar stool in its middle, written by the example rooms'
    generator (tools/example_rooms) as ``folder/stool_alone.glb``."""
    from example_rooms.furniture import CATALOGUE
    from example_rooms.rooms import Placed, RoomPlan, write_room

    plan = RoomPlan("stool_alone", 2.0, 2.0, (Placed("Stool", "kenney_bar_stool", 1.0, 1.0),),
                    walls=(), description="the Kenney bar stool alone on a floor")
    furniture = {spec.file: FURNITURE / spec.file for spec in CATALOGUE.values()}
    glb, _ = write_room(plan, furniture, folder)
    return glb


def sitter_before_after(glb: Path, seed: int) -> dict:
    """The rigid preset and the adapted sitter on the stool of ``glb`` (module docstring):
    {"before", "after": (V, 3) SMPL-X world vertices, "faces": (F, 3), "facing": (3,) the
    adapted sitter's facing, "stool": (3,) the seat point, "notes": [str]}."""
    from posa_model.body import load_body_model, pose_body
    from posa_model.place import BodyRequest, PlacementConfig, place_bodies
    from posa_model.populate import PeopleRequest, populate
    from posa_model.sample import load_sampler
    from posa_model.scene import scene_grid_from_file

    grid, loaded = scene_grid_from_file(glb, 0.05)
    model = load_body_model()
    sampler = load_sampler(device="cpu")
    notes = []

    after = populate(grid, loaded.objects, PeopleRequest(counts={"sit": 1}), model, sampler,
                     PlacementConfig(seed=seed, device="cpu"), progress=False).people[0]
    if not after.placed:
        raise RuntimeError(f"seed {seed}: the sitter found no place on the stool: "
                           f"{after.reason}")
    spot = after.spot
    notes.append(f"after: {spot.describe()}, {_metrics_text(after.body.metrics)}")

    # the preset turned to face the way the adapted sitter faces (only that heading is tried:
    # yaws=1), searched within 0.25 m of the seat, rigidly
    preset = np.asarray(pose_body(model, "sit").vertices[0], np.float64)
    facing = np.asarray(spot.facing, np.float64)
    yaw = math.atan2(facing[0], facing[2])
    turn = np.array([[math.cos(yaw), 0.0, math.sin(yaw)], [0.0, 1.0, 0.0],
                     [-math.sin(yaw), 0.0, math.cos(yaw)]])
    request = BodyRequest(preset @ turn.T, "before",
                          region=(np.asarray(spot.position, np.float64), 0.25))
    rigid = PlacementConfig(seed=seed, device="cpu", pose_steps=0, yaws=1)
    before = place_bodies(grid, [request], sampler, rigid, progress=False,
                          model=model).bodies[0]
    notes.append("before, default acceptance: " + ("placed" if before.placed
                                                   else f"not placed: {before.reason}"))
    if not before.placed:
        before = place_bodies(grid, [request], sampler, replace(rigid, min_coverage=0.0),
                              progress=False, model=model).bodies[0]
        if not before.placed:
            raise RuntimeError(f"seed {seed}: no rigid candidate near the stool: "
                               f"{before.reason}")
        notes.append(f"before, the best rigid candidate (min_coverage=0): "
                     f"{_metrics_text(before.metrics)}")
    return {"before": np.asarray(before.vertices, np.float64),
            "after": np.asarray(after.body.vertices, np.float64),
            "faces": np.asarray(model.faces, np.int64),
            "facing": np.asarray(spot.facing, np.float64),
            "stool": np.asarray(spot.position, np.float64), "notes": notes}


def _metrics_text(metrics: dict) -> str:
    touched = ", ".join(f"{k} {v}" for k, v in (metrics.get("touched_classes") or {}).items())
    return (f"non-collision {metrics.get('non_collision', 0):.3f}, semantic match "
            f"{metrics.get('semantic_match', 0):.3f}, touches {touched or 'nothing'}")


def body_object(bpy, name: str, vertices: np.ndarray, faces: np.ndarray, material):
    """A mesh object of SMPL-X world ``vertices`` (V, 3) and ``faces`` (F, 3), in Blender's
    frame, smooth shaded."""
    from posa_model.frames import smplx_to_blender

    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(smplx_to_blender(vertices).tolist(), [], faces.tolist())
    mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
    mesh.materials.append(material)
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def label_object(bpy, text: str, location, rotation, size: float):
    """A dark text object ``text`` facing the camera (its ``rotation``), centred."""
    curve = bpy.data.curves.new(f"Label {text}", "FONT")
    curve.body = text
    curve.size = size
    curve.align_x = "CENTER"
    material = bpy.data.materials.new(f"Label {text}")
    material.use_nodes = True
    tree = material.node_tree
    tree.nodes.clear()
    emit = tree.nodes.new("ShaderNodeEmission")
    emit.inputs["Color"].default_value = (0.02, 0.02, 0.02, 1.0)
    output = tree.nodes.new("ShaderNodeOutputMaterial")
    tree.links.new(emit.outputs["Emission"], output.inputs["Surface"])
    curve.materials.append(material)
    obj = bpy.data.objects.new(f"Label {text}", curve)
    obj.location = tuple(location)
    obj.rotation_euler = rotation
    obj.visible_shadow = False
    bpy.context.scene.collection.objects.link(obj)
    return obj


def sitter_adapts(bpy, out: Path, seed: int, size, samples: int, work: Path) -> list[str]:
    """The before/after picture (module docstring); returns notes on both placements."""
    from batch_common import call
    from mathutils import Vector  # noqa: TID251 (a docs tool, run with the bpy module)

    from posa_model.frames import smplx_to_blender

    glb = stool_scene(work)
    result = sitter_before_after(glb, seed)
    bpy.ops.wm.read_homefile(use_empty=True)
    call(bpy.ops.import_scene.gltf, filepath=str(glb))
    scene = bpy.context.scene
    people = {"before": body_object(bpy, "Before", result["before"], result["faces"],
                                    skin_material(bpy, 0, STOOL_SKIN)),
              "after": body_object(bpy, "After", result["after"], result["faces"],
                                   skin_material(bpy, 1, STOOL_SKIN))}

    # one camera, square to the adapted sitter's side: the sitter faces right in the picture
    facing = smplx_to_blender(result["facing"])
    facing[2] = 0.0
    facing /= np.linalg.norm(facing)
    side = np.cross(facing, [0.0, 0.0, 1.0])  # the camera looks along -side
    stool = smplx_to_blender(result["stool"])
    target = np.array([stool[0], stool[1], 1.0])
    data = bpy.data.cameras.new("Side")
    data.type = "ORTHO"
    data.ortho_scale = 2.45
    camera = bpy.data.objects.new("Side", data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    camera.location = tuple(target + 6.0 * side + np.array([0.0, 0.0, 0.25]))
    camera.rotation_euler = (Vector(tuple(target)) - camera.location).to_track_quat(
        "-Z", "Y").to_euler()
    light_and_world(bpy, scene)
    label_at = target + 1.0 * side + np.array([0.0, 0.0, 1.04])

    panels = []
    for key, text in (("before", LABEL_BEFORE), ("after", LABEL_AFTER)):
        for name, obj in people.items():
            obj.hide_render = name != key
        label = label_object(bpy, text, label_at, camera.rotation_euler, 0.12)
        panels.append(render(bpy, scene, work / f"{key}.png", size, samples))
        bpy.data.objects.remove(label)
    side_by_side(bpy, panels, out)
    return result["notes"]


def side_by_side(bpy, paths: list[Path], out: Path, gutter: int = 12) -> Path:
    """The PNGs ``paths`` (same height) next to each other, a white ``gutter`` (px) between
    them, written to ``out`` (PNG, through Blender's image API: no other imaging library)."""
    arrays = []
    for path in paths:
        image = bpy.data.images.load(str(path))
        width, height = image.size
        pixels = np.empty(width * height * 4, np.float32)
        image.pixels.foreach_get(pixels)
        arrays.append(pixels.reshape(height, width, 4))
        bpy.data.images.remove(image)
    height = arrays[0].shape[0]
    white = np.ones((height, gutter, 4), np.float32)
    parts = [arrays[0]]
    for array in arrays[1:]:
        parts += [white, array]
    joined = np.concatenate(parts, axis=1)
    joined[..., 3] = 1.0
    image = bpy.data.images.new("Side by side", joined.shape[1], height, alpha=False)
    image.pixels.foreach_set(joined.ravel())
    out.parent.mkdir(parents=True, exist_ok=True)
    image.filepath_raw = str(out.resolve())
    image.file_format = "PNG"
    image.save()
    print(f"wrote {out} ({joined.shape[1]} x {height})", flush=True)
    return out


# --------------------------------------------------------------------------- main


def _size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("room", "stool"), default=None,
                        help="make one picture (default both)")
    parser.add_argument("--room-seed", type=int, default=0,
                        help="populate_scene's seed (default 0: the module docstring says why)")
    parser.add_argument("--people", default="stand:3,lean:1",
                        help="people besides the filled seats and beds")
    parser.add_argument("--stool-seed", type=int, default=0,
                        help="the stool's placement seed (default 0)")
    parser.add_argument("--samples", type=int, default=64, help="Cycles samples (denoised)")
    parser.add_argument("--room-size", type=_size, default=(1280, 720), help="WxH")
    parser.add_argument("--stool-size", type=_size, default=(640, 720), help="WxH per panel")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    parser.add_argument("--blend", type=Path, default=None,
                        help="also save the populated apartment as this .blend")
    args = parser.parse_args(argv)

    import bpy  # noqa: TID251 (a docs tool, run with the bpy module)

    registered = register_addon(bpy)
    try:
        if args.only in (None, "room"):
            records = populated_room(bpy, args.out_dir / "populated_room.png", args.room_seed,
                                     args.room_size, args.samples, args.people,
                                     {"seats", "beds"}, args.blend)
            print(format_records(records), flush=True)
        if args.only in (None, "stool"):
            with tempfile.TemporaryDirectory(prefix="sitter_adapts_") as tmp:
                notes = sitter_adapts(bpy, args.out_dir / "sitter_adapts.png",
                                      args.stool_seed, args.stool_size, args.samples,
                                      Path(tmp))
            print("\n".join(notes), flush=True)
    finally:
        if registered:
            import posa_blender

            posa_blender.unregister()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
