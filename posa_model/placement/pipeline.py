"""Placing many bodies in one scene: steps 1 to 6 of :mod:`posa_model.place`, batched.

1. maps (:mod:`.maps`); 2. candidates: around each body's :class:`.types.Target` when it has
one, else from the scene's top surfaces (:mod:`.candidates`); 3. every candidate of every body
scored in batched passes, coarse to fine over the mesh hierarchy's levels (:mod:`.losses`);
4. the best ``top_k`` per body (spatially diverse) refined together by Adam on translation and
yaw, then, for posed bodies, on their pose too (:mod:`.posing`), then one chosen per body
greedily in a seeded order: it must pass the quality thresholds, make the contacts its target
requires (:mod:`.touches`), swallow no scene matter and overlap no body chosen before it
(:mod:`.select`); bodies left over are retried in later rounds with the chosen ones rasterised
into the scene as obstacles; 5. seeded and deterministic on CPU and CUDA; 6. full-resolution
metrics (:mod:`.metrics`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..classes import CLASS_ID, NUM_CLASSES
from ..device import resolve_device
from ..errors import InputShapeError, PosaError
from ..mesh.levels import level_indices
from ..progress import Progress
from ..scene.grid import SceneGrid
from .bodies import FAR, BodyMesh, ObstacleField, SceneShell, rasterize
from .candidates import Candidates, make_candidates, top_surfaces
from .floor import FloorMap
from .losses import Evaluator, LevelData
from .maps import BodyMaps, choose_maps, describe_classes, needs_floor, seed_for
from .metrics import body_metrics, summarize
from .posing import PoseBank
from .select import Occupancy, Pose, greedy_select
from .touches import missing_touch
from .types import BodyRequest, PlacedBody, PlacementConfig, PlacementResult, yaw_matrix

__all__ = ["check_scene", "run_placement"]

_FAR = FAR  # metres: "no body here" in the rasterised-bodies grid


def check_scene(grid: SceneGrid) -> set[int]:
    """The scene's classes; PosaError when it is empty or has no labelled object."""
    if not isinstance(grid, SceneGrid):
        raise InputShapeError(f"grid: expected a posa_model.scene.SceneGrid, found "
                              f"{type(grid).__name__}")
    if not (grid.sdf <= 0).any():
        raise PosaError("the scene is empty: its SDF grid has no node inside an object (every "
                        "distance is > 0), so there is nothing to place bodies on")
    present = grid.classes_present()
    if not present:
        raise PosaError("the scene has no labelled object: every node of its semantic grid is "
                        "class 0 (void). Give the objects MPCAT40 classes (a --classes JSON, "
                        "glTF extras, or names such as 'Floor', 'Chair.001', 'Bed')")
    return present


def _check_requests(requests: Sequence[BodyRequest], num_vertices: int, model) -> None:
    if not len(requests):
        raise InputShapeError("bodies: expected at least one BodyRequest, found none")
    for k, req in enumerate(requests):
        where = f"bodies[{k}] ({req.name!r})"
        if req.pose is not None:
            if model is None:
                raise InputShapeError(f"{where}: a posed request needs the body model "
                                      f"(place_bodies(..., model=...))")
            if len(req.pose) != 1:
                raise InputShapeError(f"{where}.pose: expected one body, found {len(req.pose)}")
        elif req.vertices is None:
            raise InputShapeError(f"{where}: expected vertices or a pose, found neither")
        if req.region is not None:
            centre, radius = req.region
            if np.asarray(centre).shape != (3,) or not float(radius) > 0:
                raise InputShapeError(f"{where}.region: expected (centre (3,), radius > 0), "
                                      f"found {req.region!r}")


def _world_vertices(requests: Sequence[BodyRequest], model, num_vertices: int
                    ) -> list[np.ndarray]:
    """(V, 3) float64 vertices of every request (posed from its pose when it has one)."""
    from ..body import BodyPose, pose_body

    out: list[np.ndarray | None] = [None] * len(requests)
    posed = [k for k, r in enumerate(requests) if r.pose is not None]
    if posed:
        poses = BodyPose.concatenate([requests[k].pose.with_betas(model.num_betas)
                                      for k in posed])
        vertices = pose_body(model, poses).vertices
        for row, k in enumerate(posed):
            out[k] = vertices[row].astype(np.float64)
    for k, req in enumerate(requests):
        if out[k] is None:
            out[k] = np.asarray(req.vertices, dtype=np.float64)
        v = out[k]
        where = f"bodies[{k}] ({req.name!r}).vertices"
        if v.shape != (num_vertices, 3):
            raise InputShapeError(f"{where}: expected ({num_vertices}, 3) for this model's "
                                  f"mesh, found {v.shape}")
        if not np.isfinite(v).all():
            raise InputShapeError(f"{where}: expected finite floating-point metres")
    return out  # type: ignore[return-value]


def _level_data(local, maps: list[BodyMaps], index, slots, threshold, device, dtype,
                requests: Sequence[BodyRequest] = ()):
    nb, n = len(local), len(index)
    verts = np.stack([v[index] for v in local])
    touches = [r.target.touches if r.target is not None else () for r in requests]
    most = max((len(t) for t in touches), default=0)
    t_mask = np.zeros((nb, most, n), bool)
    t_classes = np.zeros((nb, most, NUM_CLASSES), bool)
    t_floor = np.zeros((nb, most), bool)
    t_dist = np.zeros((nb, most), np.float32)
    t_up = np.zeros((nb, most), bool)
    for b, mine in enumerate(touches):
        for k, touch in enumerate(mine):
            t_mask[b, k] = np.asarray(touch.mask)[index]
            classes = sorted(touch.classes)
            t_classes[b, k, [c for c in classes if c != CLASS_ID["floor"]]] = True
            t_floor[b, k] = CLASS_ID["floor"] in touch.classes
            t_dist[b, k] = touch.distance
            t_up[b, k] = touch.up
    contact = np.zeros((nb, slots, n), bool)
    semantics = np.zeros((nb, slots, n), np.int64)
    for b, m in enumerate(maps):
        k = len(m.map_ids)
        required = m.required if m.required is not None else m.contact > threshold
        contact[b, :k] = required[:, index]
        semantics[b, :k] = m.semantics[:, index]
    return LevelData(torch.tensor(verts, device=device, dtype=dtype),
                     torch.tensor(contact, device=device), torch.tensor(semantics, device=device),
                     torch.tensor(t_mask, device=device), torch.tensor(t_classes, device=device),
                     torch.tensor(t_floor, device=device),
                     torch.tensor(t_dist, device=device, dtype=dtype),
                     torch.tensor(t_up, device=device))


def _keep_best(cands: Candidates, score: np.ndarray, keep: int) -> Candidates:
    """The ``keep`` best-scoring candidates of every body (ties: the earlier one)."""
    order = np.lexsort((np.arange(len(cands)), score, cands.body))
    body = cands.body[order]
    starts = np.searchsorted(body, body, side="left")
    rank = np.arange(len(order)) - starts
    return cands.take(np.sort(order[rank < keep]))


def _diverse(cands: Candidates, score: np.ndarray, k: np.ndarray, radius: np.ndarray
             ) -> Candidates:
    """Per body, up to ``k[body]`` candidates in score order, each at least ``radius[body]``
    (m) from the ones kept before it (xz)."""
    rows = []
    for b in np.unique(cands.body):
        mine = np.flatnonzero(cands.body == b)
        kept: list[int] = []
        for r in mine[np.argsort(score[mine], kind="stable")]:
            xz = cands.t[r, [0, 2]]
            if all(np.hypot(*(xz - cands.t[q, [0, 2]])) >= radius[b] for q in kept):
                kept.append(r)
                if len(kept) == k[b]:
                    break
        rows += kept
    return cands.take(np.asarray(sorted(rows), dtype=np.int64))


def _lattice(count: int, phase: float) -> np.ndarray:
    """``count`` values spanning [-1, 1] evenly, shifted by ``phase`` (a fraction of the step)."""
    if count == 1:
        return np.array([phase])
    return np.linspace(-1.0, 1.0, count) + phase * 2.0 / (count - 1)


def _target_candidates(requests: Sequence[BodyRequest], centres: list[np.ndarray],
                       maps: list[BodyMaps], bodies: list[int], config: PlacementConfig,
                       stream: int) -> Candidates:
    """Candidates around each targeted body's fitted placement: horizontal offsets on a
    lattice, heights and headings (``config.target_*``), for each of its maps. Later rounds
    (``stream`` > 0) shift the lattices by a seeded fraction of a step, to look in between."""
    parts = []
    for b in bodies:
        target = requests[b].target
        rng = np.random.default_rng(seed_for(config.seed, b, 5000 + stream))
        phase = rng.uniform(-0.5, 0.5, 4) if stream > 0 else np.zeros(4)
        xs = _lattice(config.target_shifts, phase[0]) * config.target_shift
        zs = _lattice(config.target_shifts, phase[1]) * config.target_shift
        offsets = np.stack(np.meshgrid(xs, [0.0], zs, indexing="ij"), axis=-1).reshape(-1, 3)
        rows_t, rows_yaw = [], []
        for turn in _lattice(config.target_turns, phase[2]) * config.target_turn:
            yaw = target.yaw + turn
            # the centred frame's translation for this yaw: R(yaw) c + translation
            base = yaw_matrix(yaw) @ centres[b] + np.asarray(target.translation, np.float64)
            for lift in _lattice(config.target_lifts, phase[3]) * config.target_lift:
                rows_t.append(base + offsets + [0.0, lift, 0.0])
                rows_yaw.append(np.full(len(offsets), yaw))
        t_all, yaw_all = np.concatenate(rows_t), np.concatenate(rows_yaw)
        for slot in range(len(maps[b].map_ids)):
            n = len(t_all)
            parts.append(Candidates(np.full(n, b, np.int64), np.full(n, slot, np.int64),
                                    yaw_all.copy(), t_all.copy()))
    return Candidates.concatenate(parts)


def run_placement(grid: SceneGrid, requests: Sequence[BodyRequest], sampler,
                  config: PlacementConfig, faces=None, obstacles: Sequence[np.ndarray] = (),
                  progress: bool | Progress = True, model=None,
                  settle: Callable[[np.ndarray], float] | None = None,
                  obstacle_field: ObstacleField | None = None) -> PlacementResult:
    """See :func:`posa_model.place.place_bodies`; runs with ``config.cpu_threads`` torch
    threads and restores the setting afterwards."""
    threads = torch.get_num_threads()
    if config.cpu_threads > 0:
        torch.set_num_threads(config.cpu_threads)
    try:
        return _Run(grid, requests, sampler, config, faces, obstacles, progress, model,
                    settle, obstacle_field).run()
    finally:
        torch.set_num_threads(threads)


#: A body with a target is kept within this many ``target_shift`` of its fitted place (the
#: region term): refinement may settle it, not walk it off a bed's lane or a seat.
TARGET_REGION = 0.5


def _round_weights(rounds: int) -> list[float]:
    """Shares of the bar per placement round: the first round does most of the work (every
    body); later ones only retry the bodies that failed."""
    return [0.8 if k == 0 else 0.2 / (rounds - 1) for k in range(rounds)]


class _Run:
    """One call of :func:`run_placement` (the state shared by its steps)."""

    def __init__(self, grid, requests, sampler, config, faces, obstacles, progress, model,
                 settle=None, obstacle_field=None):
        self.clock = {"start": time.perf_counter()}
        self.seconds: dict[str, float] = {}
        self.present = check_scene(grid)
        if sampler is None:
            from ..sample import load_sampler

            sampler = load_sampler(device=config.device)
        self.grid, self.requests, self.sampler, self.config = grid, requests, sampler, config
        self.model = model
        self.device = resolve_device(config.device)
        self.dtype = torch.float32
        _check_requests(requests, sampler.num_vertices, model)
        hierarchy = sampler.hierarchy
        default_faces = model.faces if model is not None else hierarchy.faces[0]
        self.faces = np.asarray(default_faces if faces is None else faces, dtype=np.int64)
        if faces is not None or model is not None:  # the one body-mesh check (nn.mesh_check)
            sampler.check_body(self.faces, "the placed body's mesh" if model is None else
                               str(getattr(model, "source_path", "") or "the body model"),
                               num_vertices=sampler.num_vertices if model is None
                               else model.num_vertices)
        for k, obs in enumerate(obstacles):
            if np.asarray(obs).shape != (sampler.num_vertices, 3):
                raise InputShapeError(f"obstacles[{k}]: expected ({sampler.num_vertices}, 3) "
                                      f"vertices of a body with this mesh, found "
                                      f"{np.asarray(obs).shape}")
        self.obstacles = [np.asarray(o, dtype=np.float64) for o in obstacles]
        self.progress = progress
        self.settle = settle
        self.obstacle_field = obstacle_field

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.clock.get(
            "last", self.clock["start"])
        self.clock["last"] = now

    def run(self) -> PlacementResult:
        progress = Progress.of(self.progress, "placement")
        complete = False
        try:
            result = self._run(progress)
            complete = True
            return result
        finally:
            if not isinstance(self.progress, Progress):
                progress.close(complete)

    def _run(self, progress: Progress) -> PlacementResult:
        cfg, grid, requests = self.config, self.grid, self.requests
        nb = len(requests)
        maps_share, setup_share, *round_shares, end_share = progress.parts(
            [0.15, 0.03, *_round_weights(cfg.rounds), 0.02])
        progress.describe("placement: maps")
        world = _world_vertices(requests, self.model, self.sampler.num_vertices)

        # 1. feature maps
        free = [None if r.target is None else r.target.free for r in requests]
        expected = [None if r.target is None else _expected_classes(r) for r in requests]
        maps = choose_maps(self.sampler, world, self.present, cfg,
                           progress=maps_share.counter(nb), expected=expected, free=free)
        maps_share.finish()
        floor = FloorMap(grid) if CLASS_ID["floor"] in self.present else None
        if floor is None:
            for req, m in zip(requests, maps, strict=True):
                if needs_floor(m):
                    touches = describe_classes(m.fallback[1])
                    raise PosaError(
                        f"the scene has no floor (MPCAT40 class 'floor', id 2), but body "
                        f"{req.name!r} needs one (its best map touches {touches}); label the "
                        f"floor object 'floor'")
        self.lap("maps")

        # setup: centred frames, hierarchy levels, surfaces, the posed bodies' bank
        centres = [np.array([w[:, 0].mean(), 0.0, w[:, 2].mean()]) for w in world]
        local = [(w - c).astype(np.float32) for w, c in zip(world, centres, strict=True)]
        hierarchy = self.sampler.hierarchy
        levels = sorted({lv for lv, _ in cfg.schedule} | {lv for lv, _ in cfg.refine_schedule})
        indices = {lv: level_indices(hierarchy, lv) for lv in levels}
        data = {lv: _level_data(local, maps, indices[lv], cfg.maps_per_body,
                                cfg.contact_threshold, self.device, self.dtype, requests)
                for lv in levels}
        posed = {b: r.pose for b, r in enumerate(requests) if r.pose is not None}
        bank = PoseBank(self.model, posed, {b: centres[b] for b in posed},
                        {cfg.refine_level: indices[cfg.refine_level]}, nb, self.device,
                        self.dtype) if posed else None
        regions = [None if r.region is None else (np.asarray(r.region[0], np.float64),
                                                  float(r.region[1])) for r in requests]
        for b, r in enumerate(requests):  # a target's body stays near its fitted place
            if regions[b] is None and r.target is not None:
                regions[b] = (yaw_matrix(r.target.yaw) @ centres[b]
                              + np.asarray(r.target.translation, np.float64),
                              TARGET_REGION * cfg.target_shift)
        region_c = torch.tensor(np.stack([np.zeros(3) if r is None else r[0] for r in regions]),
                                device=self.device, dtype=self.dtype)
        region_r = torch.tensor([np.inf if r is None else r[1] for r in regions],
                                device=self.device, dtype=self.dtype)
        headings = torch.tensor([np.nan if r.target is None else r.target.yaw for r in requests],
                                device=self.device, dtype=self.dtype)
        scene = grid.to_torch(self.device, self.dtype)
        surfaces = top_surfaces(grid, cfg.surface_spacing) \
            if any(r.target is None for r in requests) else None
        occupancy = Occupancy(self.faces)
        shell = SceneShell(grid)
        level_faces = np.asarray(hierarchy.faces[cfg.refine_level], np.int64)
        coarse = indices[cfg.refine_level]
        field = self.obstacle_field
        if field is not None and (field.shape != tuple(grid.shape) or
                                  field.count != len(self.obstacles)):
            raise InputShapeError(f"obstacle_field: expected the {len(self.obstacles)} "
                                  f"obstacles rasterised on this grid {tuple(grid.shape)}, "
                                  f"found {field.count} on {field.shape}")
        # the caller's field is the bodies so far: the ones chosen here join it directly
        others = field.values if field is not None else np.full(grid.shape, _FAR, np.float32)
        for j, obs in enumerate(self.obstacles):
            occupancy.add(nb + j, obs)
            if field is None:
                rasterize(grid, others, obs[coarse], level_faces)
        setup_share.finish()
        self.lap("setup")

        def full_vertices(cands: Candidates):
            def get(row: int) -> np.ndarray:
                b = int(cands.body[row])
                if bank is not None and bank.posed(b):
                    return bank.full_vertices(b, cands.delta[row], float(cands.yaw[row]),
                                              cands.t[row])
                return _rigid(local[b], float(cands.yaw[row]), cands.t[row])
            return get

        def requirements(b: int, vertices: np.ndarray) -> str:
            target = requests[b].target
            if target is None or not target.touches:
                return ""
            return missing_touch(scene, floor, target.touches, vertices)

        reasons = {b: m.reason for b, m in enumerate(maps) if not m.feasible}
        active = [b for b, m in enumerate(maps) if m.feasible]
        chosen: dict[int, tuple[Pose, np.ndarray, np.ndarray]] = {}
        nms = np.array([cfg.target_nms_radius if r.target is not None else cfg.nms_radius
                        for r in requests])
        top_k = np.array([cfg.target_top_k if r.target is not None else cfg.top_k
                          for r in requests])
        scored = 0
        for round_ in range(cfg.rounds):
            if not active:
                break
            progress.describe(f"placement: round {round_ + 1}")
            refining = [steps for _, steps in cfg.refine_schedule]
            if bank is not None and cfg.pose_steps:
                refining.append(cfg.pose_steps)
            scoring_share, refine_share, select_share = round_shares[round_].parts(
                [0.35, 0.45 if refining else 0.0, 0.2])
            other_grid = None
            if (others < _FAR).any():
                other_grid = SceneGrid(others, np.zeros(grid.shape, np.uint8), grid.grid_min,
                                       grid.grid_max, grid.bbox).to_torch(self.device,
                                                                          self.dtype)
            ev = Evaluator(scene, data, region_c, region_r, cfg, other_grid, floor, bank,
                           headings)
            targeted = [b for b in active if requests[b].target is not None]
            loose = [b for b in active if requests[b].target is None]
            cands, missing = (make_candidates(surfaces, local, maps, loose, regions, cfg,
                                              stream=round_) if loose else (None, {}))
            parts = [c for c in (cands, _target_candidates(requests, centres, maps, targeted,
                                                           cfg, round_)) if c is not None]
            cands = Candidates.concatenate(parts)
            reasons.update(missing)
            scored += len(cands)
            self.lap("candidates")
            for (level, keep), share in zip(cfg.schedule, scoring_share.parts(
                    [1.0] * len(cfg.schedule)), strict=True):
                scores = ev.score(level, cands, progress=share.counter(len(cands)))
                cands = _keep_best(cands, scores["score"], keep) if scores else cands
            scores = ev.score(cfg.refine_level, cands) if len(cands) else {}
            cands = _diverse(cands, scores["score"], top_k, nms) if scores else cands
            scoring_share.finish()
            self.lap("scoring")
            shares = refine_share.parts(refining) if refining else []
            for (level, steps), share in zip(cfg.refine_schedule, shares, strict=False):
                cands = ev.refine(level, cands, steps, cfg.lr_translation, cfg.lr_yaw,
                                  progress=share.counter(steps))
            if bank is not None and cfg.pose_steps:
                cands = ev.refine(cfg.refine_level, cands, cfg.pose_steps,
                                  cfg.lr_translation / 2, cfg.lr_yaw / 2, cfg.lr_pose,
                                  progress=shares[-1].counter(cfg.pose_steps))
            refine_share.finish()
            scores = ev.score(cfg.refine_level, cands) if len(cands) else {}
            self.lap("refinement")
            pending = [b for b in active if b not in missing]
            get = full_vertices(cands)
            picked, failed = greedy_select(
                cands, scores, pending, occupancy, shell, cfg,
                order_seed=seed_for(cfg.seed, 0, 1000 + round_), full_vertices=get,
                requirements=requirements,
                targeted=np.array([r.target is not None for r in requests]))
            for b, pose in picked.items():
                vertices = occupancy.vertices(b)
                pose, vertices = self._settled(b, pose, vertices, occupancy)
                chosen[b] = (pose, cands.delta[pose.row].copy(), vertices)
                reasons.pop(b, None)
                if field is not None:
                    field.add(vertices)
                else:
                    rasterize(grid, others, vertices[coarse], level_faces)
            reasons.update(failed)
            active = sorted(failed)
            select_share.finish()
            if not isinstance(self.progress, Progress):  # a caller's bar notes its own count
                progress.note(f"placed {len(chosen)}/{nb}")
            self.lap("selection")

        bodies = []
        for b, req in enumerate(requests):
            bodies.append(self._placed_body(b, req, maps[b], chosen.get(b), centres[b],
                                            reasons.get(b, ""), scene, floor, occupancy, shell,
                                            bank))
        metrics = summarize([p.metrics for p in bodies], [p.placed for p in bodies])
        metrics["candidates"] = scored
        self.lap("metrics")
        end_share.finish()
        self.seconds["total"] = time.perf_counter() - self.clock["start"]
        return PlacementResult(bodies, metrics, self.seconds)

    def _settled(self, b: int, pose: Pose, vertices: np.ndarray, occupancy: Occupancy
                 ) -> tuple[Pose, np.ndarray]:
        """The chosen placement lowered by what ``settle`` measures on the exact meshes (the
        grids see a thin seat a little thicker than it is), or by as much of it as presses no
        deeper into someone placed before (:meth:`Occupancy.free_drop`); occupancy follows."""
        drop = occupancy.free_drop(b, vertices, float(self.settle(vertices))
                                   if self.settle is not None else 0.0)
        if not drop > 0.0:
            return pose, vertices
        lowered = vertices - np.array([0.0, drop, 0.0])
        occupancy.add(b, lowered)
        return dataclasses.replace(pose, t=pose.t - np.array([0.0, drop, 0.0])), lowered

    def _placed_body(self, b: int, req: BodyRequest, maps: BodyMaps, pick, centre: np.ndarray,
                     reason: str, scene, floor, occupancy: Occupancy, shell: SceneShell,
                     bank: PoseBank | None) -> PlacedBody:
        """The outcome for body ``b``: its world transform (the centred frame's pose composed
        with the centring), placed vertices, final pose, chosen map and metrics."""
        if pick is None:
            contact, semantics, _ = maps.fallback
            vertices = np.asarray(req.vertices if req.vertices is not None else
                                  np.zeros((self.sampler.num_vertices, 3)), dtype=np.float32)
            return PlacedBody(req.name, False, reason or "not placed", 0.0, np.zeros(3),
                              np.eye(4), vertices.copy(), contact, semantics, -1, {})
        pose, delta, vertices = pick
        rot = yaw_matrix(pose.yaw)
        translation = pose.t - rot @ centre
        transform = np.eye(4)
        transform[:3, :3], transform[:3, 3] = rot, translation
        final = None
        if bank is not None and bank.posed(b):
            final = bank.final_pose(b, delta, pose.yaw, pose.t)
        contact = maps.contact[pose.slot]
        semantics = maps.semantics[pose.slot]
        scored = contact  # contacts the target frees (feet hanging from a bar stool: with
        if req.target is not None and req.target.free is not None:  # them, the floor) not scored
            freed = req.target.free | (semantics == CLASS_ID["floor"])
            scored = np.where(freed, 0.0, contact).astype(contact.dtype)
        metrics = body_metrics(scene, vertices, scored, semantics,
                               self.config.contact_threshold, self.config.touch_distance, floor)
        body = occupancy.entries.get(b)  # the chosen mesh, its query structures already built
        if body is None or body.vertices is not vertices:
            body = BodyMesh(vertices, self.faces)
        occupancy.remove(b)
        metrics["body_penetration"] = occupancy.depth(b, body)
        occupancy.add(b, body)
        metrics["scene_enclosed"] = shell.enclosed(body)
        metrics["map_classes"] = describe_classes(semantics)
        return PlacedBody(req.name, True, "", float(pose.yaw), translation, transform,
                          vertices.astype(np.float32), contact, semantics,
                          int(maps.map_ids[pose.slot]), metrics, final)


def _rigid(local: np.ndarray, yaw: float, t: np.ndarray) -> np.ndarray:
    """(V, 3) float64 world vertices of a centred body moved rigidly by (yaw, t)."""
    return np.asarray(local, np.float64) @ yaw_matrix(yaw).T + np.asarray(t, np.float64)


def _expected_classes(request: BodyRequest) -> frozenset:
    """The classes a targeted body's target offers: those its touches name and its extras."""
    out: set[int] = set(request.target.offers)
    for touch in request.target.touches:
        out |= set(touch.classes)
    return frozenset(out)

