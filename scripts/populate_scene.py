"""Headless: populate a scene with people, save a .blend and (optionally) render it.

    blender -b room.blend -P scripts/populate_scene.py -- --people "sit:3,lie:1,stand:2" \
        --seed 0 --out out.blend [--render out.png] [--guess-classes]
    python scripts/populate_scene.py -- --scene room.glb --bodies 6 --out out.blend
    python scripts/populate_scene.py -- --scene room.glb --fill seats --on "Chair.*" --out o.blend

The second and third forms need the ``bpy`` module (``pip install bpy==4.5.4``). Arguments go
after ``--``. Who to place: ``--people``, ``--bodies``/``--mix``, ``--fill``, ``--on``,
``--genders``, ``--seed``, ``--device`` and ``--grid-resolution``, the options of ``python -m
posa_model.place`` with the same meanings (:mod:`posa_model.populate.options`); ``--resolution``
is the render's size. ``--scene`` opens a .blend, or imports a .glb/.gltf/.obj/.ply into an
empty file (one object per node or mesh, y-up files turned z-up by Blender's importers); inside
Blender it replaces the file given on Blender's command line. The same operators as the
N-panel's Scene panel run (``posa.guess_classes`` with ``--guess-classes``,
``posa.populate_scene``), from the add-on in this checkout unless an installed POSA extension is
already enabled. Objects are labelled by their POSA Class (set in the file, the file's own
``posa_class`` labels, guessed from names, or given with ``--classes``, a JSON file mapping
object names or glob patterns to MPCAT40 class names or ids); objects without one are obstacles.
``--render`` renders the populated room with Cycles on the CPU from above a corner, the walls on
the camera's side and the ceiling hidden, objects in their class colours and bodies by contact
probability.
Exit status 0 on success (also when some people found no place: the operator's warnings say
why), 2 for bad arguments, 1 with a message on stderr otherwise.
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_common import (  # noqa: E402
    ROOT,
    ScriptError,
    add_output_arguments,
    call,
    check_output_arguments,
    framing_camera,
    render_png,
    run_script,
    world_bounds,
)

IMPORTERS = {".glb": "gltf", ".gltf": "gltf", ".obj": "obj", ".ply": "ply"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    try:  # posa_model: the installed extension's wheel, or this checkout
        from posa_model.populate.options import add_people_arguments
    except ImportError:
        sys.path.insert(0, str(ROOT))
        from posa_model.populate.options import add_people_arguments
    from posa_model.errors import PosaError
    from posa_model.populate.options import people_request

    parser = argparse.ArgumentParser(
        prog="populate_scene.py",
        description="Place people in a scene where it offers room (POSA's contact maps), save "
        "a .blend, render a picture. Arguments go after '--' (blender -b in.blend -P "
        "scripts/populate_scene.py -- ARGS).",
    )
    parser.add_argument("--scene", type=Path, default=None,
                        help="scene file: .blend, .glb/.gltf, .obj or .ply (default: the file "
                        "Blender opened)")
    add_people_arguments(parser)
    parser.add_argument("--guess-classes", action="store_true",
                        help="guess every object's POSA class from its name (or its file's "
                        "label) first")
    parser.add_argument("--classes", type=Path, default=None,
                        help="JSON {object name or glob pattern: class name or id} setting "
                        "POSA classes")
    parser.add_argument("--body", default="standin",
                        help="'standin' (default) or an SMPL-X model file or folder")
    parser.add_argument("--gender", default="neutral", choices=("neutral", "male", "female"))
    add_output_arguments(parser, resolution="960x540")
    args = parser.parse_args(argv)
    check_output_arguments(parser, args)
    if args.scene is not None and args.scene.suffix.lower() not in (".blend", *IMPORTERS):
        parser.error(f"--scene must be .blend, {', '.join(IMPORTERS)}, found {args.scene}")
    try:
        people_request(args.people, args.bodies, args.mix, args.fill, args.on, args.genders)
    except PosaError as exc:
        parser.error(str(exc))
    device = args.device.split(":")[0]
    if device not in ("auto", "cpu", "cuda") or args.device.split(":")[1:] not in ([], ["0"]):
        parser.error(f"--device: the Blender operators run on auto, cpu or cuda (the first "
                     f"GPU), found {args.device!r}")
    args.operator_device = device.upper()
    return args


def run(args: argparse.Namespace) -> str:
    import bpy

    if args.site_packages:
        sys.path.append(str(Path(args.site_packages).expanduser()))
    if args.scene is not None:
        open_scene(bpy, args.scene)
    if args.classes is not None:
        set_classes(bpy, args.classes)
    if args.guess_classes:
        for obj in bpy.context.view_layer.objects:
            obj.select_set(False)  # nothing selected: Guess Classes labels every scene mesh
        call(bpy.ops.posa.guess_classes)

    started = time.perf_counter()
    fill = {f.strip() for f in (args.fill or "").split(",") if f.strip()}
    call(bpy.ops.posa.populate_scene, people=args.people or "", bodies=args.bodies or 0,
         mix=args.mix or "", fill=fill, on=args.on or "", genders=args.genders or "",
         seed=args.seed,
         device=args.operator_device, grid_resolution=args.grid_resolution,
         model="STANDIN" if args.body == "standin" else "SMPLX", gender=args.gender,
         model_path="" if args.body == "standin" else str(Path(args.body).expanduser().resolve()))
    elapsed = time.perf_counter() - started

    args.out.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(args.out.resolve()))
    placed = [o for o in bpy.context.scene.objects if "posa_placement" in o.keys()
              and o.posa.role == "BODY"]
    summary = bpy.context.scene.posa.last_populate
    lines = [f"saved {args.out} in {elapsed:.1f} s: {summary}"]
    for obj in sorted(placed, key=lambda o: o.name):
        record = obj["posa_placement"].to_dict()
        numbers = ", ".join(f"{k} {record[k]:.3f}" for k in ("non_collision", "touch",
                                                             "semantic_match") if k in record)
        lines.append(f"  {obj.name} ({record.get('spot') or record.get('interaction', '?')}): "
                     f"{numbers}")
    if args.render is not None:
        render(bpy, args)
        lines.append(f"rendered {args.render}")
    return "\n".join(lines)


def open_scene(bpy, path: Path) -> None:
    """Open a .blend, or import a scene file into an empty file."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise ScriptError(f"{path}: scene file not found")
    if path.suffix.lower() == ".blend":
        bpy.ops.wm.open_mainfile(filepath=str(path))
        return
    bpy.ops.wm.read_homefile(use_empty=True)
    importer = IMPORTERS[path.suffix.lower()]
    if importer == "gltf":
        call(bpy.ops.import_scene.gltf, filepath=str(path))
    elif importer == "obj":
        call(bpy.ops.wm.obj_import, filepath=str(path))
    else:
        call(bpy.ops.wm.ply_import, filepath=str(path))


def set_classes(bpy, path: Path) -> None:
    """POSA classes from a JSON file ``{object name or glob pattern: class}`` (read by
    ``posa_model.scene.load_class_mapping``): an object's exact name wins, then the patterns in
    the file's order (case-insensitive, as ``posa_model.scene.load_scene`` applies them)."""
    from posa_model.classes import MPCAT40_NAMES
    from posa_model.errors import PosaError
    from posa_model.scene import load_class_mapping

    try:
        mapping = load_class_mapping(path.expanduser())
    except PosaError as exc:
        raise ScriptError(f"--classes: {exc}") from None
    for obj in bpy.context.scene.objects:
        if obj.type != "MESH" or obj.posa.role == "BODY":
            continue
        class_id = mapping.get(obj.name)
        if class_id is None:
            class_id = next((c for key, c in mapping.items()
                             if fnmatch.fnmatchcase(obj.name.lower(), key.lower())), None)
        if class_id is not None:
            obj.posa.semantic_class = MPCAT40_NAMES[class_id]
            obj.posa.class_source = "classes"  # after the class (its update callback)


def render(bpy, args: argparse.Namespace) -> None:
    """Cycles (CPU) picture of the populated room from above a corner (after saving: the
    render set-up is not in the saved file)."""
    import numpy as np

    from posa_model.classes import CLASS_ID, PALETTE

    scene = bpy.context.scene
    depsgraph = bpy.context.evaluated_depsgraph_get()
    meshes = [o for o in scene.objects if o.type == "MESH" and o.posa.role != "BODY"]
    labelled = [o for o in meshes if o.posa.semantic_class != "void"]
    bodies = [o for o in scene.objects if o.type == "MESH" and o.posa.role == "BODY"]
    boxes = {o.name: world_bounds(o, depsgraph) for o in labelled + bodies}
    if not boxes:
        raise ScriptError("nothing to render")
    low = np.min([b[0] for b in boxes.values()], axis=0)
    high = np.max([b[1] for b in boxes.values()], axis=0)
    centre = (low + high) / 2
    back = np.array([0.5, -0.85, 0.8])  # from the room towards the camera
    back /= np.linalg.norm(back)

    # the ceiling and the walls between the camera and the room's middle stay out of the picture
    shown = []
    for obj in meshes:
        class_id = CLASS_ID[obj.posa.semantic_class]
        lo, hi = boxes.get(obj.name, (low, high))
        if class_id == CLASS_ID["ceiling"] or (
            class_id == CLASS_ID["wall"]
            and float(np.dot(((lo + hi) / 2 - centre)[:2], back[:2])) > 0.25
        ):
            obj.hide_render = True
            continue
        material = bpy.data.materials.new(f"POSA class {class_id}")
        srgb = 0.6 * PALETTE[class_id].astype(float) / 255.0 + 0.4  # lighter: bodies stand out
        material.diffuse_color = (*_linear(srgb), 1.0)
        material.use_nodes = True
        shader = material.node_tree.nodes["Principled BSDF"]
        shader.inputs["Base Color"].default_value = (*_linear(srgb), 1.0)
        shader.inputs["Roughness"].default_value = 0.8
        obj.data.materials.clear()
        obj.data.materials.append(material)
        if obj.name in boxes and class_id != CLASS_ID["wall"]:
            shown.append(boxes[obj.name])
    for obj in bodies:
        shown.append(boxes[obj.name])
    # frame the floor, the furniture and the bodies (the far walls may leave the picture)
    low = np.min([b[0] for b in shown], axis=0)
    high = np.max([b[1] for b in shown], axis=0)

    framing_camera(bpy, scene, low, high, back, args.size, lens=30, margin=1.05,
                   name="POSA Camera")

    sun = bpy.data.objects.new("POSA Sun", bpy.data.lights.new("POSA Sun", "SUN"))
    sun.data.energy = 2.5
    sun.data.angle = math.radians(10)
    sun.rotation_euler = (math.radians(30), math.radians(15), math.radians(35))
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("POSA World")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.85, 0.85, 0.88, 1.0)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.9
    scene.world = world

    render_png(bpy, scene, args.render_samples, args.size, args.render)


def _linear(srgb):
    """sRGB (3,) in [0, 1] -> linear RGB tuple (Blender's colours are linear)."""
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb)


def main(argv: list[str]) -> int:
    return run_script(argv, parse_args, run, "POSA_OT_populate_scene")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
