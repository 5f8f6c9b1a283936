"""Small renderer for documentation pictures: posed meshes, Lambert-shaded, to a PNG.

Orthographic views, painter's algorithm (faces drawn far to near) through matplotlib's Agg canvas,
flat Lambert shading with optional per-vertex RGB colours (e.g. contact heat maps). matplotlib is
only the ``docs`` extra and is imported inside the functions; nothing here touches pyplot's global
state. ``python -m posa_model.viz [out.png]`` regenerates ``docs/presets.png``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputShapeError, UnknownNameError
from .io_utils import atomic_write

__all__ = ["VIEWS", "render_meshes", "render_preset_sheet", "view_basis"]

#: Named views as (azimuth, elevation) degrees. Azimuth 0 looks at the body's front from +z;
#: "side" looks from the body's right (-x), so a rest-pose body faces the right of the picture.
VIEWS: dict[str, tuple[float, float]] = {
    "front": (0.0, 0.0),
    "back": (180.0, 0.0),
    "side": (-90.0, 0.0),
    "right": (-90.0, 0.0),
    "left": (90.0, 0.0),
    "top": (0.0, 90.0),
    "three_quarter": (-35.0, 15.0),
}
DEFAULT_COLOR = (0.74, 0.77, 0.84)


def view_basis(view: str | tuple[float, float]) -> np.ndarray:
    """(3, 3) rows = screen right, screen up, towards the camera, in SMPL-X world (+y up).

    ``view`` is a name of :data:`VIEWS` or (azimuth, elevation) in degrees: the camera sits in
    direction ``(cos(el) sin(az), sin(el), cos(el) cos(az))`` from the body.
    """
    if isinstance(view, str):
        if view not in VIEWS:
            raise UnknownNameError(f"view: expected one of {', '.join(VIEWS)}, found {view!r}")
        view = VIEWS[view]
    az, el = (math.radians(float(v)) for v in view)
    towards = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    right = np.array([math.cos(az), 0.0, -math.sin(az)])
    up = np.cross(towards, right)
    return np.stack([right, up, towards])


def render_meshes(
    meshes: Sequence[Any],
    path: str | os.PathLike,
    colors: Sequence[Any] | None = None,
    views: Sequence[str | tuple[float, float]] = ("front", "side"),
    titles: Sequence[str] | None = None,
    *,
    meshes_per_row: int | None = None,
    panel_inches: float = 2.0,
    dpi: int = 100,
    light: tuple[float, float, float] = (-0.4, 0.6, 1.0),
) -> Path:
    """Draw meshes (each once per view) into a grid and save it as a PNG.

    Args:
        meshes: sequence of ``(vertices (V, 3), faces (F, 3))`` pairs, or objects with
            ``.vertices`` and ``.faces`` (trimesh). SMPL-X world: +y up, metres.
        path: output PNG path (written atomically; folders created).
        colors: per mesh ``None`` (grey), an RGB triple, or per-vertex RGB (V, 3) in [0, 1].
        views: names of :data:`VIEWS` or (azimuth, elevation) degrees; one panel each per mesh.
        titles: one per mesh, printed above its first panel.
        meshes_per_row: meshes per grid row (default: up to 5).
        panel_inches: size of a square panel; all panels share one scale (metres per inch).
        dpi: output resolution.
        light: light direction in camera coordinates (right, up, towards camera).

    Returns:
        The written path.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import PolyCollection
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "posa_model.viz needs matplotlib (the 'docs' extra): pip install 'posa-blender[docs]'"
        ) from exc

    items = [_as_mesh(m, i) for i, m in enumerate(meshes)]
    if not items:
        raise InputShapeError("meshes: expected at least one mesh, found none")
    colors = list(colors) if colors is not None else [None] * len(items)
    titles = list(titles) if titles is not None else [""] * len(items)
    if len(colors) != len(items) or len(titles) != len(items):
        raise InputShapeError(
            f"colors/titles: expected one per mesh ({len(items)}), "
            f"found {len(colors)} colors and {len(titles)} titles"
        )
    bases = [view_basis(v) for v in views]
    light_dir = np.asarray(light, dtype=float)
    light_dir = light_dir / np.linalg.norm(light_dir)

    # Project everything first so that all panels share one scale.
    panels = []
    half = 0.0
    for (verts, faces), color in zip(items, colors, strict=True):
        face_rgb = _face_colors(color, verts, faces)
        normals = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]],
                           verts[faces[:, 2]] - verts[faces[:, 0]])  # fmt: skip
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        for basis in bases:
            cam = verts @ basis.T
            lo, hi = cam[:, :2].min(0), cam[:, :2].max(0)
            half = max(half, float((hi - lo).max()) / 2)
            depth = cam[faces, 2].mean(axis=1)
            order = np.argsort(depth)  # far first
            shade = 0.28 + 0.72 * np.abs((normals @ basis.T) @ light_dir)
            rgb = np.clip(face_rgb * shade[:, None], 0.0, 1.0)[order]
            panels.append((cam[:, :2][faces[order]], rgb, (lo + hi) / 2))
    half *= 1.06

    n_views = len(bases)
    per_row = meshes_per_row or min(len(items), 5)
    rows = math.ceil(len(items) / per_row)
    fig = Figure(figsize=(panel_inches * per_row * n_views, (panel_inches + 0.25) * rows), dpi=dpi)
    FigureCanvasAgg(fig)
    for m in range(len(items)):
        for k in range(n_views):
            polys, rgb, center = panels[m * n_views + k]
            r, c = divmod(m, per_row)
            ax = fig.add_axes(
                (
                    (c * n_views + k) / (per_row * n_views),
                    1 - (r + 1) / rows,
                    1 / (per_row * n_views),
                    panel_inches / (panel_inches + 0.25) / rows,
                )
            )
            ax.add_collection(PolyCollection(polys, facecolors=rgb, edgecolors=rgb, linewidths=0.3))
            ax.set_xlim(center[0] - half, center[0] + half)
            ax.set_ylim(center[1] - half, center[1] + half)
            ax.set_aspect("equal")
            ax.axis("off")
            if k == 0 and titles[m]:
                ax.text(0.02, 1.02, titles[m], transform=ax.transAxes, fontsize=10,
                        fontweight="bold", va="bottom")  # fmt: skip
            label = views[k] if isinstance(views[k], str) else "az {:g} el {:g}".format(*views[k])
            ax.text(0.98, 0.01, label, transform=ax.transAxes, fontsize=7, color="0.45",
                    ha="right", va="bottom")  # fmt: skip
    return atomic_write(path, lambda f: fig.savefig(f, format="png", facecolor="white"))


def render_preset_sheet(
    path: str | os.PathLike = "docs/presets.png",
    model: Any = None,
    views: Sequence[str | tuple[float, float]] = ("front", "side", (-50.0, 25.0)),
    panel_inches: float = 1.8,
) -> Path:
    """Render every pose preset on ``model`` (default: the stand-in), each on the floor (y = 0)."""
    from .body import PRESETS, load_body_model, pose_body

    model = model if model is not None else load_body_model()
    faces = np.asarray(model.faces, dtype=np.int64)
    meshes, titles = [], []
    for name in PRESETS:
        verts = pose_body(model, name).vertices[0]
        verts = verts - [0.0, verts[:, 1].min(), 0.0]
        meshes.append((verts, faces))
        titles.append(name)
    return render_meshes(
        meshes, path, views=views, titles=titles, meshes_per_row=3, panel_inches=panel_inches
    )


def _as_mesh(mesh: Any, index: int) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(mesh, "vertices") and hasattr(mesh, "faces"):
        verts, faces = mesh.vertices, mesh.faces
    else:
        verts, faces = mesh
    verts = np.asarray(verts, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if verts.ndim != 2 or verts.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise InputShapeError(
            f"meshes[{index}]: expected vertices (V, 3) and faces (F, 3), "
            f"found {verts.shape} and {faces.shape}"
        )
    if faces.size and (faces.min() < 0 or faces.max() >= len(verts)):
        raise InputShapeError(f"meshes[{index}]: face ids outside [0, {len(verts)})")
    return verts, faces


def _face_colors(color: Any, verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    if color is None:
        return np.broadcast_to(np.asarray(DEFAULT_COLOR), (len(faces), 3))
    rgb = np.asarray(color, dtype=float)
    if rgb.shape == (3,):
        return np.broadcast_to(rgb, (len(faces), 3))
    if rgb.shape == (len(verts), 3):
        return rgb[faces].mean(axis=1)
    raise InputShapeError(
        f"colors: expected None, an RGB triple or per-vertex ({len(verts)}, 3), found {rgb.shape}"
    )


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(render_preset_sheet(sys.argv[1] if len(sys.argv) > 1 else "docs/presets.png"))
