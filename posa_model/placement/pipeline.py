"""Placing many bodies in one scene: steps 1 to 6 of :mod:`posa_model.place`, batched.

1. maps (:mod:`.maps`); 2. candidates from the top surfaces (:mod:`.candidates`); 3. every
candidate of every body scored in batched passes, coarse to fine over the mesh hierarchy's levels
(:mod:`.losses`); 4. the best ``top_k`` per body (spatially diverse) refined together by Adam,
then one chosen per body greedily in a seeded order without overlaps (:mod:`.select`); bodies
left over are retried in later rounds with the chosen ones rasterised into the scene as
obstacles; a final joint refinement with the body-body term (:mod:`.refine`); 5. seeded and
deterministic on CPU and CUDA; 6. full-resolution metrics (:mod:`.metrics`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..classes import CLASS_ID
from ..device import resolve_device
from ..errors import InputShapeError, PosaError
from ..scene.grid import SceneGrid
from .bodies import BodyGrids, SceneShell
from .candidates import Candidates, make_candidates, top_surfaces
from .losses import Evaluator, LevelData
from .maps import BodyMaps, choose_maps, describe_classes, needs_floor, seed_for
from .metrics import body_metrics, summarize
from .refine import joint_refine
from .select import Occupancy, Pose, greedy_select
from .types import BodyRequest, PlacedBody, PlacementConfig, PlacementResult, yaw_matrix

__all__ = ["check_scene", "run_placement"]

_FAR = 10.0  # metres: "no body here" in the rasterised-bodies grid


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


def _check_requests(requests: Sequence[BodyRequest], num_vertices: int) -> None:
    if not len(requests):
        raise InputShapeError("bodies: expected at least one BodyRequest, found none")
    for k, req in enumerate(requests):
        v = np.asarray(req.vertices)
        where = f"bodies[{k}] ({req.name!r}).vertices"
        if v.shape != (num_vertices, 3):
            raise InputShapeError(f"{where}: expected ({num_vertices}, 3) for this model's "
                                  f"mesh, found {v.shape}")
        if not np.issubdtype(v.dtype, np.floating) or not np.isfinite(v).all():
            raise InputShapeError(f"{where}: expected finite floating-point metres")
        if req.region is not None:
            centre, radius = req.region
            if np.asarray(centre).shape != (3,) or not float(radius) > 0:
                raise InputShapeError(f"bodies[{k}] ({req.name!r}).region: expected "
                                      f"(centre (3,), radius > 0), found {req.region!r}")


def _level_indices(hierarchy, level: int) -> np.ndarray:
    """Full-resolution indices of the vertices of hierarchy ``level``."""
    if not 0 <= level <= len(hierarchy.down):
        raise InputShapeError(f"level {level}: the hierarchy has levels 0..{len(hierarchy.down)}")
    index = np.arange(len(hierarchy.vertices[0]))
    for k in range(level):
        index = index[np.asarray(hierarchy.down[k])]
    return index


def _level_data(local, maps: list[BodyMaps], index, slots, threshold, device, dtype):
    nb, n = len(local), len(index)
    verts = np.stack([v[index] for v in local])
    contact = np.zeros((nb, slots, n), bool)
    semantics = np.zeros((nb, slots, n), np.int64)
    for b, m in enumerate(maps):
        k = len(m.map_ids)
        contact[b, :k] = m.contact[:, index] > threshold
        semantics[b, :k] = m.semantics[:, index]
    return LevelData(torch.tensor(verts, device=device, dtype=dtype),
                     torch.tensor(contact, device=device), torch.tensor(semantics, device=device))


def _keep_best(cands: Candidates, score: np.ndarray, keep: int) -> Candidates:
    """The ``keep`` best-scoring candidates of every body (ties: the earlier one)."""
    order = np.lexsort((np.arange(len(cands)), score, cands.body))
    body = cands.body[order]
    starts = np.searchsorted(body, body, side="left")
    rank = np.arange(len(order)) - starts
    return cands.take(np.sort(order[rank < keep]))


def _diverse(cands: Candidates, score: np.ndarray, k: int, radius: float) -> Candidates:
    """Per body, up to ``k`` candidates in score order, each at least ``radius`` (m) from the
    ones kept before it (xz)."""
    rows = []
    for b in np.unique(cands.body):
        mine = np.flatnonzero(cands.body == b)
        kept: list[int] = []
        for r in mine[np.argsort(score[mine], kind="stable")]:
            xz = cands.t[r, [0, 2]]
            if all(np.hypot(*(xz - cands.t[q, [0, 2]])) >= radius for q in kept):
                kept.append(r)
                if len(kept) == k:
                    break
        rows += kept
    return cands.take(np.asarray(sorted(rows), dtype=np.int64))


def run_placement(grid: SceneGrid, requests: Sequence[BodyRequest], sampler,
                  config: PlacementConfig, faces=None, obstacles: Sequence[np.ndarray] = (),
                  progress: bool = True) -> PlacementResult:
    """See :func:`posa_model.place.place_bodies`; runs with ``config.cpu_threads`` torch
    threads and restores the setting afterwards."""
    threads = torch.get_num_threads()
    if config.cpu_threads > 0:
        torch.set_num_threads(config.cpu_threads)
    try:
        return _run(grid, requests, sampler, config, faces, obstacles, progress)
    finally:
        torch.set_num_threads(threads)


def _run(grid: SceneGrid, requests: Sequence[BodyRequest], sampler, config: PlacementConfig,
         faces, obstacles: Sequence[np.ndarray], progress: bool) -> PlacementResult:
    clock = {"start": time.perf_counter()}
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        now = time.perf_counter()
        seconds[name] = seconds.get(name, 0.0) + now - clock.get("last", clock["start"])
        clock["last"] = now

    present = check_scene(grid)
    if sampler is None:
        from ..sample import load_sampler

        sampler = load_sampler(device=config.device)
    device = resolve_device(config.device)
    dtype = torch.float32
    _check_requests(requests, sampler.num_vertices)
    faces = np.asarray(sampler.hierarchy.faces[0] if faces is None else faces, dtype=np.int64)
    for k, obs in enumerate(obstacles):
        if np.asarray(obs).shape != (sampler.num_vertices, 3):
            raise InputShapeError(f"obstacles[{k}]: expected ({sampler.num_vertices}, 3) "
                                  f"vertices of a body with this mesh, found "
                                  f"{np.asarray(obs).shape}")
    nb = len(requests)
    bar = tqdm(total=nb, desc="placement: maps", unit="step", disable=not progress)

    # 1. feature maps
    world = [np.asarray(r.vertices, dtype=np.float64) for r in requests]
    maps = choose_maps(sampler, world, present, config, progress=bar)
    if CLASS_ID["floor"] not in present:
        for req, m in zip(requests, maps, strict=True):
            if needs_floor(m):
                touches = describe_classes(m.fallback[1])
                raise PosaError(
                    f"the scene has no floor (MPCAT40 class 'floor', id 2), but body "
                    f"{req.name!r} needs one (its best map touches {touches}); label the floor "
                    f"object 'floor'")
    lap("maps")

    # setup: centred frames, hierarchy levels, surfaces, body grids
    centres = [np.array([w[:, 0].mean(), 0.0, w[:, 2].mean()]) for w in world]
    local = [(w - c).astype(np.float32) for w, c in zip(world, centres, strict=True)]
    obstacle_world = [np.asarray(o, dtype=np.float64) for o in obstacles]
    obstacle_centres = [np.array([o[:, 0].mean(), 0.0, o[:, 2].mean()]) for o in obstacle_world]
    obstacle_local = [(o - c).astype(np.float32)
                      for o, c in zip(obstacle_world, obstacle_centres, strict=True)]
    levels = sorted({lv for lv, _ in config.schedule} | {lv for lv, _ in config.refine_schedule})
    indices = {lv: _level_indices(sampler.hierarchy, lv) for lv in levels}
    data = {lv: _level_data(local, maps, indices[lv], config.maps_per_body,
                            config.contact_threshold, device, dtype) for lv in levels}
    regions = [None if r.region is None else (np.asarray(r.region[0], np.float64),
                                              float(r.region[1])) for r in requests]
    region_c = torch.tensor(np.stack([np.zeros(3) if r is None else r[0] for r in regions]),
                            device=device, dtype=dtype)
    region_r = torch.tensor([np.inf if r is None else r[1] for r in regions], device=device,
                            dtype=dtype)
    scene = grid.to_torch(device, dtype)
    surfaces = top_surfaces(grid, config.surface_spacing)
    grids = BodyGrids(local + obstacle_local, faces, config.body_grid_resolution, device, dtype)
    occupancy = Occupancy(grids, local + obstacle_local)
    shell = SceneShell(grid)
    fixed = [Pose(nb + j, -1, 0.0, c) for j, c in enumerate(obstacle_centres)]
    others = np.full(grid.shape, _FAR, np.float32)
    for p in fixed:
        occupancy.add(p.index, p.yaw, p.t)
        grids.rasterize(grid, others, p.index, p.yaw, p.t)
    lap("setup")

    reasons = {b: m.reason for b, m in enumerate(maps) if not m.feasible}
    active = [b for b, m in enumerate(maps) if m.feasible]
    chosen: dict[int, Pose] = {}
    scored = 0
    for round_ in range(config.rounds):
        if not active:
            break
        bar.set_description(f"placement: round {round_ + 1}")
        other_grid = None
        if (others < _FAR).any():
            other_grid = SceneGrid(others, np.zeros(grid.shape, np.uint8), grid.grid_min,
                                   grid.grid_max, grid.bbox).to_torch(device, dtype)
        ev = Evaluator(scene, data, region_c, region_r, config, other_grid)
        cands, missing = make_candidates(surfaces, local, maps, active, regions, config,
                                         stream=round_)
        reasons.update(missing)
        scored += len(cands)
        lap("candidates")
        for level, keep in config.schedule:
            bar.total += len(cands)
            scores = ev.score(level, cands, progress=bar)
            cands = _keep_best(cands, scores["score"], keep) if scores else cands
        scores = ev.score(config.refine_level, cands) if len(cands) else {}
        cands = _diverse(cands, scores["score"], config.top_k, config.nms_radius) \
            if scores else cands
        lap("scoring")
        for level, steps in config.refine_schedule:
            bar.total += steps
            cands = ev.refine(level, cands, steps, config.lr_translation, config.lr_yaw,
                              progress=bar)
        scores = ev.score(config.refine_level, cands) if len(cands) else {}
        lap("refinement")
        pending = [b for b in active if b not in missing]
        picked, failed = greedy_select(cands, scores, pending, occupancy, shell, config,
                                       order_seed=seed_for(config.seed, 0, 1000 + round_))
        for b, pose in picked.items():
            chosen[b] = pose
            reasons.pop(b, None)
            grids.rasterize(grid, others, b, pose.yaw, pose.t)
        reasons.update(failed)
        active = sorted(failed)
        lap("selection")

    # final joint refinement with the body-body term
    bar.set_description("placement: joint refinement")
    bar.total += config.final_steps
    final_ev = Evaluator(scene, data, region_c, region_r, config, None)
    level_local = [torch.tensor(v[indices[config.refine_level]], device=device, dtype=dtype)
                   for v in local + obstacle_local]
    order = sorted(chosen)
    refined = joint_refine(final_ev, config.refine_level, level_local, grids,
                           [chosen[b] for b in order], fixed, occupancy, shell, config,
                           progress=bar)
    chosen = {p.index: p for p in refined}
    lap("final")

    bodies = []
    for b, req in enumerate(requests):
        bodies.append(_placed_body(b, req, maps[b], chosen.get(b), centres[b],
                                   reasons.get(b, ""), scene, occupancy, shell, config))
    metrics = summarize([p.metrics for p in bodies], [p.placed for p in bodies])
    metrics["candidates"] = scored
    lap("metrics")
    bar.close()
    seconds["total"] = time.perf_counter() - clock["start"]
    return PlacementResult(bodies, metrics, seconds)


def _placed_body(b: int, req: BodyRequest, maps: BodyMaps, pose: Pose | None,
                 centre: np.ndarray, reason: str, scene, occupancy: Occupancy,
                 shell: SceneShell, config: PlacementConfig) -> PlacedBody:
    """The outcome for body ``b``: its world transform (the centred frame's pose composed
    with the centring), placed vertices, chosen map and full-resolution metrics."""
    if pose is None:
        contact, semantics, _ = maps.fallback
        return PlacedBody(req.name, False, reason or "not placed", 0.0, np.zeros(3), np.eye(4),
                          np.asarray(req.vertices, dtype=np.float32).copy(), contact, semantics,
                          -1, {})
    rot = yaw_matrix(pose.yaw)
    translation = pose.t - rot @ centre
    transform = np.eye(4)
    transform[:3, :3], transform[:3, 3] = rot, translation
    vertices = (np.asarray(req.vertices, np.float64) @ rot.T + translation).astype(np.float32)
    contact = maps.contact[pose.slot]
    semantics = maps.semantics[pose.slot]
    metrics = body_metrics(scene, vertices, contact, semantics, config.contact_threshold,
                           config.touch_distance)
    metrics["body_penetration"] = occupancy.depth(b, pose.yaw, pose.t)
    metrics["scene_enclosed"] = shell.enclosed(occupancy.grids, b, pose.yaw, pose.t)
    metrics["map_classes"] = describe_classes(semantics)
    return PlacedBody(req.name, True, "", float(pose.yaw), translation, transform, vertices,
                      contact, semantics, int(maps.map_ids[pose.slot]), metrics)
