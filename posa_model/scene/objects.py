"""One named triangle mesh of a scene with its MPCAT40 class: the input of the scene grids.

Frame: SMPL-X world (+y up, metres). Loaders (:mod:`.files`) convert other frames on the way in,
so every :class:`MeshObject` is already in the frame placement works in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..classes import MPCAT40_NAMES, NUM_CLASSES
from ..errors import InputShapeError

__all__ = ["CLASS_SOURCES", "MAX_SCENE_EXTENT", "MeshObject", "check_scene_extent", "pieces",
           "piece_members", "settle_drop", "surface_heights"]

#: Where a class can come from; ``"guess:<word>"`` names the word of the object's name that
#: matched (see :func:`posa_model.scene.labels.guess_class`), ``"geometry:<class>"`` the class
#: its faces were given by their shape (a room mesh split by :mod:`posa_model.scene.rooms`).
CLASS_SOURCES: tuple[str, ...] = ("label", "classes", "guess:<word>", "geometry:<class>",
                                  "none")
#: Metres: scenes wider than this on any axis are refused (a stray vertex far away would
#: otherwise make grids of billions of nodes).
MAX_SCENE_EXTENT = 1000.0


@dataclass(eq=False)
class MeshObject:
    """A named triangle mesh with a class.

    ``vertices`` (V, 3) float64, SMPL-X world (+y up, metres); ``faces`` (F, 3) int64 indices into
    ``vertices`` (counter-clockwise seen from outside, the glTF/OBJ convention); ``class_id`` the
    MPCAT40 id (0 = unlabelled, never guessed); ``class_source`` where it came from: ``"label"``
    (the file's own extras/metadata/sidecar), ``"classes"`` (a user mapping), ``"guess:<word>"``
    (guessed from the name, ``<word>`` the word that matched), ``"geometry:<class>"`` (the faces of
    an unlabelled room mesh classed by their shape, :mod:`posa_model.scene.rooms`) or ``"none"``.
    ``part_of`` is the name of the mesh this object was split from (``"Room"`` for
    ``"Room.floor"``), or ``""``: objects with the same ``part_of`` are welded together when
    :func:`~posa_model.scene.mesh_sdf.build_scene_grid` looks for closed pieces and room shells,
    so a room split into floor, walls and ceiling is still one closed box. ``parents``: the names
    of the objects above it in the file's hierarchy, nearest first (a blanket's
    ``("Bed_Double",)``): an object whose own name says nothing takes its class from them, and
    object patterns
    (``--on "Bed*"``) match them too.

    The arrays are converted to those dtypes and checked (non-empty, finite, face indices in
    range); errors name the object.
    """

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    class_id: int = 0
    class_source: str = "none"
    part_of: str = ""
    parents: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        who = f"object {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise InputShapeError(f"object name: expected a non-empty string, found {self.name!r}")
        vertices = np.asarray(self.vertices)
        faces = np.asarray(self.faces)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
            raise InputShapeError(f"{who}: vertices: expected shape (V, 3) with V >= 1, found "
                                  f"{vertices.shape}")
        if vertices.dtype.kind not in "fiu":
            raise InputShapeError(f"{who}: vertices: expected numbers, found dtype "
                                  f"{vertices.dtype}")
        vertices = np.ascontiguousarray(vertices, dtype=np.float64)
        if not np.isfinite(vertices).all():
            bad = int((~np.isfinite(vertices).all(axis=1)).sum())
            raise InputShapeError(f"{who}: vertices: expected finite coordinates, found {bad} "
                                  f"vertices with NaN or infinity")
        if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
            raise InputShapeError(f"{who}: faces: expected shape (F, 3) with F >= 1 (triangles), "
                                  f"found {faces.shape}")
        if faces.dtype.kind not in "iu":
            raise InputShapeError(f"{who}: faces: expected integer indices, found dtype "
                                  f"{faces.dtype}")
        faces = np.ascontiguousarray(faces, dtype=np.int64)
        if faces.min() < 0 or faces.max() >= len(vertices):
            raise InputShapeError(f"{who}: faces: expected indices in 0..{len(vertices) - 1}, "
                                  f"found {faces.min()}..{faces.max()}")
        class_id = int(self.class_id)
        if not 0 <= class_id < NUM_CLASSES:
            raise InputShapeError(f"{who}: class_id: expected an MPCAT40 id in "
                                  f"0..{NUM_CLASSES - 1}, found {self.class_id}")
        source = self.class_source
        if not _valid_source(source):
            raise InputShapeError(f"{who}: class_source: expected 'label', 'classes', "
                                  f"'guess:<word>', 'geometry:<class>' or 'none', found "
                                  f"{source!r}")
        self.parents = tuple(str(p) for p in self.parents)
        if not isinstance(self.part_of, str):
            raise InputShapeError(f"{who}: part_of: expected a string, found {self.part_of!r}")
        self.vertices, self.faces, self.class_id = vertices, faces, class_id

    @property
    def class_name(self) -> str:
        """The MPCAT40 name of :attr:`class_id` (``"void"`` when unlabelled)."""
        return MPCAT40_NAMES[self.class_id]

    def matches(self, pattern: str) -> bool:
        """Whether the object or one of its :attr:`parents` matches the glob ``pattern``
        (case-insensitive)."""
        import fnmatch

        p = pattern.lower()
        return any(fnmatch.fnmatchcase(n.lower(), p) for n in (self.name, *self.parents))

    def bounds(self) -> np.ndarray:
        """(2, 3) float64 [min corner, max corner] of the vertices used by faces (metres);
        computed once (an object's arrays are not changed after it is made)."""
        cached = self.__dict__.get("_bounds")
        if cached is None:
            used = self.vertices[np.unique(self.faces)]
            cached = self.__dict__["_bounds"] = np.stack([used.min(axis=0), used.max(axis=0)])
        return cached.copy()

    def extent(self) -> float:
        """The largest side (metres) of the box around the vertices used by faces."""
        lo, hi = self.bounds()
        return float((hi - lo).max())

    def __repr__(self) -> str:
        return (f"MeshObject({self.name!r}, {len(self.vertices)} vertices, {len(self.faces)} "
                f"faces, class {self.class_name} ({self.class_id}) from {self.class_source})")


def _valid_source(source) -> bool:
    if not isinstance(source, str):
        return False
    if source in ("label", "classes", "none"):
        return True
    if source.startswith("guess:"):
        return len(source) > 6
    return source.startswith("geometry:") and source[9:] in MPCAT40_NAMES[1:]


def check_scene_extent(objects, where: str = "objects",
                       limit: float = MAX_SCENE_EXTENT) -> None:
    """Refuse a scene wider than ``limit`` metres on any axis, naming the object farthest out.

    ``objects``: :class:`MeshObject` s (at least one). The farthest object is the one whose box
    lies farthest from the median of the objects' centres (a stray vertex 1e9 m away makes its
    object the culprit, not the room around it). Raises :class:`InputShapeError` with ``where``
    (a file or ``"objects"``), the object, its bounds and the limit.
    """
    bounds = np.stack([o.bounds() for o in objects])  # (n, 2, 3)
    lo, hi = bounds[:, 0].min(axis=0), bounds[:, 1].max(axis=0)
    if float((hi - lo).max()) <= limit:
        return
    centre = np.median(bounds.mean(axis=1), axis=0)
    reach = np.maximum(np.abs(bounds[:, 0] - centre), np.abs(bounds[:, 1] - centre)).max(axis=1)
    worst = objects[int(np.argmax(reach))]
    box = np.round(worst.bounds(), 3).tolist()
    raise InputShapeError(
        f"{where}: the scene spans {float((hi - lo).max()):.4g} m, over the {limit:g} m limit: "
        f"object {worst.name!r} reaches {float(reach.max()):.4g} m from the scene's centre "
        f"(its bounds {box}); remove stray vertices or check the file's units")


def pieces(objects) -> dict[str, str]:
    """{object name: the name of the piece of furniture it belongs to}: its outermost ancestor
    in the file that is not an ancestor of every object (a file's wrapping "Scene" or
    "Sketchfab_model" nodes hold everything, not one piece); the object itself when it has
    none. A blanket under ``Bed_Double`` under ``Room`` belongs to ``Bed_Double``."""
    objects = list(objects)
    shared = set.intersection(*(set(o.parents) for o in objects)) if objects else set()
    out = {}
    for o in objects:
        own = [p for p in o.parents if p not in shared]
        out[o.name] = own[-1] if own else o.name
    return out


def piece_members(objects, name: str, piece_of: dict[str, str] | None = None) -> list:
    """The objects of the piece of furniture the object called ``name`` belongs to: its piece
    in the file's hierarchy (:func:`pieces`; ``piece_of``: that mapping, if computed already)
    when that holds several objects, else the object and the objects of its class whose boxes
    come within 5 cm of its box (a bed's frame and headboard beside its mattress). [] when no
    object is called ``name``."""
    objects = list(objects)
    by_name = {o.name: o for o in objects}
    if name not in by_name:
        return []
    piece_of = piece_of if piece_of is not None else pieces(objects)
    members = [o for o in objects if piece_of[o.name] == piece_of[name]]
    if len(members) > 1:
        return members
    obj = by_name[name]
    lo, hi = obj.bounds()
    return [o for o in objects if o.class_id == obj.class_id and not (
        (o.bounds()[0] > hi + 0.05).any() or (o.bounds()[1] < lo - 0.05).any())]


def surface_heights(objects, xz: np.ndarray, below: float | np.ndarray = np.inf) -> np.ndarray:
    """(n,) the height (y, m) of the highest face of ``objects`` straight under each of the
    (n, 2) points ``xz`` and at most ``below`` (a height, or (n,) one per point), exactly
    (vertical rays against the triangles); NaN where no face is under a point. SMPL-X world
    (+y up)."""
    xz = np.atleast_2d(np.asarray(xz, np.float64))
    below = np.broadcast_to(np.asarray(below, np.float64), (len(xz),))
    best = np.full(len(xz), -np.inf)
    lo, hi = xz.min(axis=0), xz.max(axis=0)
    for obj in objects:
        tri = np.asarray(obj.vertices, np.float64)[np.asarray(obj.faces, np.int64)]  # (F, 3, 3)
        flat = tri[:, :, [0, 2]]
        near = ((flat.min(axis=1) <= hi) & (flat.max(axis=1) >= lo)).all(axis=1)
        tri, flat = tri[near], flat[near]
        step = max(1, 1_000_000 // max(len(tri), 1))  # bounded memory: step x F at a time
        for start in range(0, len(xz), step):
            p = xz[start:start + step, None, :]  # (m, 1, 2)
            a, b, c = flat[None, :, 0], flat[None, :, 1], flat[None, :, 2]
            v0, v1, v2 = b - a, c - a, p - a
            d00 = (v0 * v0).sum(-1)
            d01 = (v0 * v1).sum(-1)
            d11 = (v1 * v1).sum(-1)
            d20 = (v2 * v0).sum(-1)
            d21 = (v2 * v1).sum(-1)
            den = d00 * d11 - d01 * d01
            ok = np.abs(den) > 1e-18
            den = np.where(ok, den, 1.0)
            v = (d11 * d20 - d01 * d21) / den
            w = (d00 * d21 - d01 * d20) / den
            u = 1.0 - v - w
            inside = ok & (u >= -1e-9) & (v >= -1e-9) & (w >= -1e-9)
            y = u * tri[None, :, 0, 1] + v * tri[None, :, 1, 1] + w * tri[None, :, 2, 1]
            y = np.where(inside & (y <= below[start:start + step, None]), y, -np.inf)
            if y.shape[1]:
                best[start:start + step] = np.maximum(best[start:start + step], y.max(axis=1))
    return np.where(np.isfinite(best), best, np.nan)


def settle_drop(objects, vertices: np.ndarray, cap: float = 0.03, cell: float = 0.03,
                gap: float = 0.002) -> float:
    """How far (m, 0..``cap``) the (V, 3) ``vertices`` can move straight down until they rest
    on ``objects`` (``gap`` above them), measured exactly: the lowest vertex of each ``cell``
    (m) column of the body against the faces under it. 0 when something is already that
    close below, or nothing is under the body. SMPL-X world (+y up)."""
    v = np.asarray(vertices, np.float64)
    cells = np.floor(v[:, [0, 2]] / cell).astype(np.int64)
    order = np.lexsort((v[:, 1], cells[:, 1], cells[:, 0]))
    first = np.ones(len(order), bool)
    first[1:] = (np.diff(cells[order], axis=0) != 0).any(axis=1)
    bottom = v[order[first]]  # the lowest vertex of each column
    lo, hi = bottom[:, [0, 2]].min(axis=0), bottom[:, [0, 2]].max(axis=0)
    near = [o for o in objects if (np.asarray(o.vertices)[:, [0, 2]].max(axis=0) >= lo).all()
            and (np.asarray(o.vertices)[:, [0, 2]].min(axis=0) <= hi).all()]
    if not near:
        return 0.0
    # a face up to 2 cm above a vertex counts as under it: the vertex is inside (no drop)
    below = surface_heights(near, bottom[:, [0, 2]], below=bottom[:, 1] + 0.02)
    rows = np.isfinite(below)
    if not rows.any():
        return 0.0
    clearance = float((bottom[rows, 1] - below[rows]).min()) - gap
    return float(np.clip(clearance, 0.0, cap))
