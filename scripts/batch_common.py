"""What the headless batch scripts share: arguments after ``--``, running operators, framing a
camera, rendering, and registering the add-on from this checkout when none is enabled.

Imported by ``scripts/sample_contacts.py`` and ``scripts/populate_scene.py`` (which put this
folder on ``sys.path``), in Blender (``blender -b -P``) and with the ``bpy`` module alike.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ScriptError(Exception):
    """A failure the script reports on stderr with exit status 1."""


def add_output_arguments(parser: argparse.ArgumentParser, resolution: str) -> None:
    """--out (.blend), --render (.png), --resolution WxH, --render-samples, --site-packages."""
    parser.add_argument("--out", required=True, type=Path, help="the .blend file to write")
    parser.add_argument("--render", type=Path, default=None, help="also render a PNG here")
    parser.add_argument("--resolution", default=resolution, help="render size WxH")
    parser.add_argument("--render-samples", type=int, default=32, help="Cycles samples")
    parser.add_argument("--site-packages", default=None,
                        help="extra folder with torch/scipy/smplx/igl for Blender's Python")


def check_output_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit through ``parser.error`` on a bad --out / --render / --resolution; sets
    ``args.size`` = (width, height) in pixels."""
    if args.out.suffix.lower() != ".blend":
        parser.error(f"--out must end in .blend, found {args.out}")
    if args.render is not None and args.render.suffix.lower() != ".png":
        parser.error(f"--render must end in .png, found {args.render}")
    try:
        width, height = (int(v) for v in args.resolution.lower().split("x"))
    except ValueError:
        parser.error(f"--resolution must be WxH, e.g. 960x540, found {args.resolution!r}")
    args.size = (width, height)


def script_argv(argv: list[str], inside_blender: bool) -> list[str]:
    """The arguments after ``--``; without ``--``, none inside Blender (its own arguments fill
    ``sys.argv``) and all of them under plain Python."""
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    return [] if inside_blender else argv[1:]


def call(operator, **kwargs) -> None:
    """Run an operator (Blender prints its reports); an ERROR report becomes a ScriptError."""
    try:
        result = operator(**kwargs)
    except RuntimeError as exc:  # bpy turns an ERROR report into RuntimeError
        raise ScriptError(str(exc).strip()) from None
    except TypeError as exc:  # a value the operator's properties do not accept
        raise ScriptError(f"{operator.idname_py()}: {exc}") from None
    if "FINISHED" not in result:
        raise ScriptError(f"{operator.idname_py()} did not finish: {result}")


def world_bounds(obj, depsgraph):
    """(low (3,), high (3,)) float64 Blender world bounds of ``obj``'s evaluated vertices."""
    import numpy as np

    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
    mesh.vertices.foreach_get("co", co)
    evaluated.to_mesh_clear()
    matrix = np.array(evaluated.matrix_world)
    world = co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]
    return world.min(axis=0), world.max(axis=0)


def framing_camera(bpy, scene, low, high, back, size: tuple[int, int], lens: float,
                   margin: float, name: str = "Camera"):
    """A camera looking along ``-back`` (a unit (3,) vector from the scene towards the camera,
    Blender world, z up) at the box ``low``..``high``, just far enough that every corner of
    the box is in a ``size`` (width, height) frame, times ``margin``; it becomes the scene's
    camera."""
    import numpy as np
    from mathutils import Vector

    camera_data = bpy.data.cameras.new(name)
    camera_data.lens = lens
    camera = bpy.data.objects.new(name, camera_data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    width, height = size
    camera_data.sensor_fit = "HORIZONTAL"
    tan_x = camera_data.sensor_width / 2 / camera_data.lens
    tan_y = tan_x * height / width
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    centre = (np.asarray(low) + np.asarray(high)) / 2
    corners = np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1])
                        for z in (low[2], high[2])]) - centre
    distance = max(float(np.max(corners @ back + np.abs(corners @ right) / tan_x)),
                   float(np.max(corners @ back + np.abs(corners @ up) / tan_y))) * margin
    camera.location = tuple(centre + distance * back)
    camera.rotation_euler = (Vector(tuple(centre)) - camera.location).to_track_quat(
        "-Z", "Y").to_euler()
    return camera


def render_png(bpy, scene, samples: int, size: tuple[int, int], path: Path) -> None:
    """Render ``scene`` with Cycles on the CPU to the PNG ``path`` (folders created)."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    path.parent.mkdir(parents=True, exist_ok=True)
    scene.render.filepath = str(path.resolve())
    bpy.ops.render.render(write_still=True)


def run_script(argv: list[str], parse_args: Callable[[list[str]], argparse.Namespace],
               run: Callable[[argparse.Namespace], str], operator: str) -> int:
    """Parse, make sure the add-on's ``operator`` (a ``bpy.types`` class name) is registered
    (from this checkout when no installed extension provides it; unregistered at the end, as
    bpy hangs at exit otherwise), run, print; 0 on success, 1 with a message on stderr."""
    args = parse_args(script_argv(argv, inside_blender="bpy" in sys.modules))
    try:
        import bpy
    except ImportError:
        print("error: needs Blender (blender -b -P ...) or the bpy module (pip install "
              "bpy==4.5.4)", file=sys.stderr)
        return 1
    registered_here = False
    if not hasattr(bpy.types, operator):
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        import posa_blender

        posa_blender.register()
        registered_here = True
    try:
        print(run(args))
        return 0
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if registered_here:
            import posa_blender

            posa_blender.unregister()
