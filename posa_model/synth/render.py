"""Matplotlib pictures of generated scenes with their bodies (no GPU, no Blender).

Scenes are drawn from a raised corner with the two nearest walls left out, boxes coloured by
class and shaded by a fixed light; bodies are the network-level meshes, grey where they touch
nothing and coloured by the class they touch (distance < 5 cm) elsewhere. All polygons of a
panel go in one collection so matplotlib depth-sorts them together.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..classes import MPCAT40_NAMES, PALETTE
from .export import BOX_FACES
from .scene import Scene

__all__ = ["PanelBodies", "render_scenes"]

_LIGHT = np.array([0.35, 0.8, 0.5]) / np.linalg.norm([0.35, 0.8, 0.5])
_BODY_GREY = np.array([0.82, 0.80, 0.78])


@dataclass
class PanelBodies:
    """Bodies to draw in one scene: ``vertices`` (n, N, 3), ``faces`` (F, 3) into N (None:
    draw points), ``x`` (n, N) distances and ``semantics`` (n, N) nearest classes."""

    vertices: np.ndarray
    faces: np.ndarray | None
    x: np.ndarray
    semantics: np.ndarray
    archetypes: list[str]


def _shade(rgb: np.ndarray, normals: np.ndarray) -> np.ndarray:
    lam = 0.55 + 0.45 * np.clip(normals @ _LIGHT, -1.0, 1.0)
    return np.clip(rgb * lam[:, None], 0.0, 1.0)


def _tiles(quad: np.ndarray, size: float = 0.5) -> np.ndarray:
    """Split a planar quad (4, 3) into tiles no longer than ``size`` (painter's sorting needs
    small polygons: a whole floor sorts behind everything standing on it)."""
    nu = max(1, int(np.ceil(np.linalg.norm(quad[1] - quad[0]) / size)))
    nv = max(1, int(np.ceil(np.linalg.norm(quad[3] - quad[0]) / size)))
    u = np.linspace(0.0, 1.0, nu + 1)
    w = np.linspace(0.0, 1.0, nv + 1)
    grid = (quad[0] + u[:, None, None] * (quad[1] - quad[0])
            + w[None, :, None] * (quad[3] - quad[0]))  # (nu + 1, nv + 1, 3)
    return np.stack([grid[:-1, :-1], grid[1:, :-1], grid[1:, 1:], grid[:-1, 1:]],
                    axis=2).reshape(-1, 4, 3)


def _scene_polygons(scene: Scene, view: np.ndarray):
    """Box faces (tiled) and their RGBA colours, leaving out the walls nearest the viewer and the
    faces turned away from it, in three groups: the far walls, the floor's top and everything
    else. Seen from above, each group is behind the next, so they are drawn in that order (only
    the last is depth-sorted against the bodies)."""
    width, _, depth = scene.size
    centre = np.array([width / 2, 0.0, depth / 2])
    groups = {"wall": ([], []), "floor": ([], []), "rest": ([], [])}
    quads = BOX_FACES.reshape(6, 2, 3)
    quad_idx = np.array([[q[0][0], q[0][1], q[0][2], q[1][2]] for q in quads])
    corners = scene.boxes.corners()
    for obj in scene.objects:
        if obj.kind == "wall":
            c = scene.boxes.centers[obj.parts[0]]
            if np.dot(c - centre, view) > 0:  # between the viewer and the room
                continue
        alpha = 1.0
        for p in obj.parts:
            quad = corners[p][quad_idx]  # (6, 4, 3)
            n = np.cross(quad[:, 1] - quad[:, 0], quad[:, 2] - quad[:, 0])
            n /= np.linalg.norm(n, axis=1, keepdims=True)
            rgb = _shade(np.repeat(PALETTE[obj.class_id][None] / 255.0, 6, 0), n)
            for f in np.flatnonzero(n @ view > -1e-9):
                if obj.kind == "floor" and n[f, 1] < 0.5:
                    continue  # only the floor's top
                tiles = _tiles(quad[f])
                into, into_c = groups.get(obj.kind, groups["rest"])
                into.extend(tiles)
                into_c.extend([np.append(rgb[f], alpha)] * len(tiles))
    return groups["wall"], groups["floor"], groups["rest"]


def render_scenes(path: str | os.PathLike, panels: list[tuple[Scene, PanelBodies]],
                  title: str = "", dpi: int = 80) -> Path:
    """Draw up to four scenes with their bodies into one PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    panels = panels[:4]
    cols = 2 if len(panels) > 1 else 1
    rows = (len(panels) + cols - 1) // cols
    fig = plt.figure(figsize=(7.2 * cols, 6.2 * rows + 0.9), dpi=dpi)
    used: set[int] = set()
    for k, (scene, bodies) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1, projection="3d")
        elev, azim = 32.0, -50.0
        # the viewing direction in SMPL-X axes (plot axes: x -> x, z -> -y, y -> z)
        e, a = np.deg2rad(elev), np.deg2rad(azim)
        view_plot = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
        view = np.array([view_plot[0], view_plot[2], -view_plot[1]])
        walls, floor, (polys, colours) = _scene_polygons(scene, view)
        used.update(int(o.class_id) for o in scene.objects)
        for b in range(len(bodies.vertices)):
            v = bodies.vertices[b]
            contact = bodies.x[b] < 0.05
            # contacts in the class colour of what they touch, a little darker than the scene
            vcol = np.where(contact[:, None], 0.75 * PALETTE[bodies.semantics[b]] / 255.0,
                            _BODY_GREY)
            used.update(int(c) for c in np.unique(bodies.semantics[b][contact]))
            if bodies.faces is None:
                continue
            tri = v[bodies.faces]
            n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
            n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
            # a face is coloured when most of its corners touch
            touch = contact[bodies.faces].sum(1) >= 2
            fcol = np.where(touch[:, None], vcol[bodies.faces].mean(1), _BODY_GREY)
            polys.extend(tri)
            colours.extend(np.concatenate([_shade(fcol, n), np.ones((len(tri), 1))], 1))
        ax.computed_zorder = False  # walls, floor, then the depth-sorted rest

        def plot(ps):
            return [np.asarray(p)[:, [0, 2, 1]] * np.array([1.0, -1.0, 1.0]) for p in ps]

        for zorder, (ps, cs) in enumerate((walls, floor, (polys, colours))):
            coll = Poly3DCollection(plot(ps), facecolors=np.asarray(cs), edgecolors="none",
                                    linewidths=0.0, antialiased=False, zorder=zorder + 1)
            ax.add_collection3d(coll)
        if bodies.faces is None:
            for b in range(len(bodies.vertices)):
                v = bodies.vertices[b]
                ax.scatter(v[:, 0], -v[:, 2], v[:, 1], s=1, c="0.4")
        width, height, depth = scene.size
        span = max(width, depth)
        ax.set_xlim(width / 2 - span / 2, width / 2 + span / 2)
        ax.set_ylim(-depth / 2 - span / 2, -depth / 2 + span / 2)
        ax.set_zlim(0.0, span * 0.6)
        ax.set_box_aspect((1.0, 1.0, 0.6), zoom=1.2)
        ax.view_init(elev=elev, azim=azim)
        ax.set_axis_off()
        counts = {}
        for a in bodies.archetypes:
            counts[a] = counts.get(a, 0) + 1
        text = ", ".join(f"{a} {c}" for a, c in sorted(counts.items()))
        ax.set_title(f"{scene.name} ({scene.room_type}, {width:.1f} x {depth:.1f} m)\n{text}",
                     fontsize=10)
    handles = [Patch(color=PALETTE[c] / 255.0, label=MPCAT40_NAMES[c]) for c in sorted(used)]
    handles.append(Patch(color=_BODY_GREY, label="body (contacts: colour of what they touch)"))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 8), fontsize=10,
               frameon=False)
    if title:
        fig.suptitle(title, fontsize=13)
    fig.subplots_adjust(left=0.0, right=1.0, top=0.93, bottom=0.08, wspace=0.0, hspace=0.08)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
