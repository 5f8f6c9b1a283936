"""Preview pictures of the example rooms, rendered with Blender (the ``bpy`` module).

Each room GLB is imported with Blender's glTF importer (which turns glTF's +y up into
Blender's +z up) into an empty file and rendered with Cycles on the CPU from above a corner,
looking down at about 40 degrees: the walls between the camera and the room's middle are
hidden, and in a merged room (one inside-out mesh) the faces seen from behind (the ceiling and
the near walls) are made transparent and the mesh casts no shadows.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["render_previews", "render_room"]

#: From the room towards the camera (Blender frame, z up: from above the room's front (-z in
#: glTF, +y in Blender) right corner; normalised below).
VIEW = (0.45, 0.75, 1.1)


def _world_box(obj, depsgraph) -> tuple[np.ndarray, np.ndarray]:
    """(low (3,), high (3,)) Blender world bounds of a mesh object's evaluated vertices."""
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, np.float64)
    mesh.vertices.foreach_get("co", co)
    evaluated.to_mesh_clear()
    matrix = np.array(evaluated.matrix_world)
    world = co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]
    return world.min(axis=0), world.max(axis=0)


def _see_through_backfaces(bpy, obj) -> None:
    """Make the faces of ``obj`` seen from behind transparent (Cycles)."""
    for slot in obj.material_slots:
        material = slot.material
        if material is None or not material.use_nodes:
            continue
        tree = material.node_tree
        output = next(n for n in tree.nodes if n.type == "OUTPUT_MATERIAL")
        surface = output.inputs["Surface"].links[0].from_socket
        geometry = tree.nodes.new("ShaderNodeNewGeometry")
        clear = tree.nodes.new("ShaderNodeBsdfTransparent")
        mix = tree.nodes.new("ShaderNodeMixShader")
        tree.links.new(geometry.outputs["Backfacing"], mix.inputs["Fac"])
        tree.links.new(surface, mix.inputs[1])
        tree.links.new(clear.outputs["BSDF"], mix.inputs[2])
        tree.links.new(mix.outputs["Shader"], output.inputs["Surface"])


def _camera(bpy, scene, low, high, size, lens: float = 28.0):
    """A camera looking along -VIEW at the box low..high, just far enough to frame it."""
    from mathutils import Vector  # noqa: TID251 (a tool, run with the bpy module)

    back = np.asarray(VIEW, np.float64)
    back /= np.linalg.norm(back)
    data = bpy.data.cameras.new("Preview")
    data.lens = lens
    data.sensor_fit = "HORIZONTAL"
    camera = bpy.data.objects.new("Preview", data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    tan_x = data.sensor_width / 2 / lens
    tan_y = tan_x * size[1] / size[0]
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    centre = (np.asarray(low) + np.asarray(high)) / 2
    corners = np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1])
                        for z in (low[2], high[2])]) - centre
    distance = 0.98 * max(float(np.max(corners @ back + np.abs(corners @ right) / tan_x)),
                          float(np.max(corners @ back + np.abs(corners @ up) / tan_y)))
    camera.location = tuple(centre + distance * back)
    camera.rotation_euler = (Vector(tuple(centre)) - camera.location).to_track_quat(
        "-Z", "Y").to_euler()
    return camera


def render_room(glb: Path, png: Path, size=(640, 400), samples: int = 16) -> Path:
    """Render the room file ``glb`` to ``png`` (see the module docstring)."""
    import bpy  # noqa: TID251 (a tool, run with the bpy module)

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(glb))
    scene = bpy.context.scene
    depsgraph = bpy.context.evaluated_depsgraph_get()
    meshes = [o for o in scene.objects if o.type == "MESH"]
    boxes = {o.name: _world_box(o, depsgraph) for o in meshes}
    low = np.min([b[0] for b in boxes.values()], axis=0)
    high = np.max([b[1] for b in boxes.values()], axis=0)
    centre = (low + high) / 2
    back = np.asarray(VIEW) / np.linalg.norm(VIEW)
    for obj in meshes:
        lo, hi = boxes[obj.name]
        if obj.name.startswith("Wall") and float(np.dot(((lo + hi) / 2 - centre)[:2],
                                                        back[:2])) > 0.25:
            obj.hide_render = True
        if obj.name == "Room":
            _see_through_backfaces(bpy, obj)
            obj.visible_shadow = False  # the ceiling would keep the sun out
    floor_high = high.copy()
    floor_high[2] = min(high[2], 1.2)  # frame the floor and furniture, not the wall tops
    _camera(bpy, scene, low, floor_high, size)

    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = 3.0
    sun.data.angle = math.radians(15)
    sun.rotation_euler = (math.radians(35), math.radians(10), math.radians(30))
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("World")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.8, 0.82, 0.85, 1)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.8
    scene.world = world

    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = True
    scene.cycles.max_bounces = 4
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.compression = 100
    png.parent.mkdir(parents=True, exist_ok=True)
    scene.render.filepath = str(png.resolve())
    bpy.ops.render.render(write_still=True)
    return png


def render_previews(rooms: Path, samples: int = 16, names: list[str] | None = None
                    ) -> list[Path]:
    """Render ``rooms/previews/<room>.png`` for every ``rooms/<room>.glb`` (or ``names``)."""
    out = []
    for glb in sorted(rooms.glob("*.glb")):
        if names and glb.stem not in names:
            continue
        out.append(render_room(glb, rooms / "previews" / f"{glb.stem}.png", samples=samples))
    return out
