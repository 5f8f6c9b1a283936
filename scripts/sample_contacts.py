"""Headless: add a body, pose it, sample contacts, save a .blend and (optionally) render it.

    blender -b -P scripts/sample_contacts.py -- --pose sit --n 4 --seed 0 --out out.blend \
        [--render out.png]
    python scripts/sample_contacts.py -- --pose sit --n 2 --out out.blend --render out.png

The second form needs the ``bpy`` module (``pip install bpy==4.5.4``). Arguments go after
``--``. The same operators as the N-panel run (``posa.add_body``, ``posa.apply_preset`` or
``posa.load_pose_file``, ``posa.sample_contacts``), from the add-on in this checkout unless an
installed POSA extension is already enabled. ``--render`` renders with Cycles on the CPU: the
body twice, coloured by contact probability (left) and by the class touched (right).
Exit status 0 on success, 1 with a message on stderr otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_common import (  # noqa: E402
    add_output_arguments,
    call,
    check_output_arguments,
    framing_camera,
    render_png,
    run_script,
    world_bounds,
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sample_contacts.py",
        description="Add a POSA body, pose it, sample contacts, save a .blend, render a picture. "
        "Arguments go after '--' (blender -b -P scripts/sample_contacts.py -- ARGS).",
    )
    parser.add_argument("--body", default="standin",
                        help="'standin' (default) or an SMPL-X model file or folder")
    parser.add_argument("--gender", default="neutral", choices=("neutral", "male", "female"))
    parser.add_argument("--pose", default="sit",
                        help="a preset name (sit, stand, lie_back, ...) or a pose .npz file")
    parser.add_argument("--frame", type=int, default=0, help="frame of an AMASS pose file")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow a .pkl pose file (unpickling runs code from the file)")
    parser.add_argument("--n", type=int, default=1, help="samples (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--display", default="contact", choices=("contact", "semantics"),
                        help="colour attribute shown in the saved file's viewport")
    parser.add_argument("--show-sample", type=int, default=0, help="sample the colours show")
    add_output_arguments(parser, resolution="640x400")
    args = parser.parse_args(argv)
    check_output_arguments(parser, args)
    if args.n < 1:
        parser.error(f"--n must be at least 1, found {args.n}")
    return args


def run(args: argparse.Namespace) -> str:
    import bpy

    if args.site_packages:
        sys.path.append(str(Path(args.site_packages).expanduser()))
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene

    if args.body == "standin":
        call(bpy.ops.posa.add_body, model="STANDIN", gender=args.gender)
    else:
        call(bpy.ops.posa.add_body, model="SMPLX", gender=args.gender,
             model_path=str(Path(args.body).expanduser().resolve()))
    body = bpy.context.active_object
    pose = Path(args.pose)
    if pose.suffix.lower() in (".npz", ".pkl"):
        call(bpy.ops.posa.load_pose_file, filepath=str(pose.expanduser().resolve()),
             frame=args.frame, allow_pickle=args.trust_pickle)
    else:
        call(bpy.ops.posa.apply_preset, preset=args.pose)
    scene.posa.display = args.display.upper()
    scene.posa.shown_sample = args.show_sample
    started = time.perf_counter()
    call(bpy.ops.posa.sample_contacts, n_samples=args.n, seed=args.seed,
                    device=args.device.upper())
    elapsed = time.perf_counter() - started

    args.out.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(args.out.resolve()))
    lines = [f"saved {args.out} ({body.name}: {args.n} sample(s), sampled in {elapsed:.2f} s)"]
    if args.render is not None:
        render(bpy, body, args)
        lines.append(f"rendered {args.render}")
    return "\n".join(lines)


def render(bpy, body, args: argparse.Namespace) -> None:
    """Cycles (CPU) picture: the body by contact (left) and by semantics (right)."""
    import numpy as np

    scene = bpy.context.scene
    rig = body.parent
    twin_rig = rig.copy()
    twin_rig.data = rig.data
    scene.collection.objects.link(twin_rig)
    twin = body.copy()
    scene.collection.objects.link(twin)
    twin.parent = twin_rig
    twin.modifiers["POSA Armature"].object = twin_rig
    bpy.context.view_layer.update()

    depsgraph = bpy.context.evaluated_depsgraph_get()
    low, high = world_bounds(body, depsgraph)
    spacing = (high[0] - low[0]) + 0.25
    twin_rig.location.x += spacing
    for obj, attribute in ((body, "posa_contact"), (twin, "posa_semantics")):
        obj.material_slots[0].link = "OBJECT"
        obj.material_slots[0].material = _attribute_material(bpy, attribute)
    bpy.context.view_layer.update()

    depsgraph = bpy.context.evaluated_depsgraph_get()
    low_a, high_a = world_bounds(body, depsgraph)
    low_b, high_b = world_bounds(twin, depsgraph)
    low, high = np.minimum(low_a, low_b), np.maximum(high_a, high_b)

    floor = bpy.data.meshes.new("Floor")
    size = 20.0
    floor.from_pydata([(-size, -size, 0), (size, -size, 0), (size, size, 0), (-size, size, 0)],
                      [], [(0, 1, 2, 3)])
    floor_obj = bpy.data.objects.new("Floor", floor)
    floor_obj.location.z = float(low[2])
    scene.collection.objects.link(floor_obj)

    back = np.array([0.35, -1.0, 0.45])  # from the scene towards the camera
    framing_camera(bpy, scene, low, high, back / np.linalg.norm(back), args.size, lens=50,
                   margin=1.08)

    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (math.radians(40), math.radians(10), math.radians(30))
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("World")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.8, 0.8, 0.82, 1.0)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.8
    scene.world = world

    render_png(bpy, scene, args.render_samples, args.size, args.render)



def _attribute_material(bpy, attribute: str):
    material = bpy.data.materials.new(f"POSA {attribute}")
    material.use_nodes = True
    nodes = material.node_tree.nodes
    shader = nodes["Principled BSDF"]
    node = nodes.new("ShaderNodeAttribute")
    node.attribute_type = "GEOMETRY"
    node.attribute_name = attribute
    material.node_tree.links.new(node.outputs["Color"], shader.inputs["Base Color"])
    shader.inputs["Roughness"].default_value = 0.7
    return material


def main(argv: list[str]) -> int:
    return run_script(argv, parse_args, run, "POSA_OT_sample_contacts")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
