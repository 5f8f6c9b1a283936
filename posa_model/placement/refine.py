"""Step 4c: a final joint refinement of the chosen bodies, with the body-body term.

Every chosen body's (t, yaw) is optimised together (Adam, ``final_steps`` steps): its scene
loss (:mod:`.losses`, without the rasterised-bodies term) plus, for every pair of bodies whose
boxes touch (and every body-obstacle pair), ``w_body`` times the mean of
``relu(body_margin - d)`` over each body's vertices in the other's SDF grid, both ways.

The refinement must not make things worse: afterwards, a body whose scene loss grew or that now
encloses scene matter (:class:`.bodies.SceneShell`) is put back where it was, and while two
bodies overlap by more than ``max_body_penetration`` at full resolution, the moved ones of the
pair are put back too (the starting set never overlaps, so this ends).
"""

from __future__ import annotations

import numpy as np
import torch

from .bodies import BodyGrids, SceneShell, to_local, to_world
from .losses import Evaluator
from .select import Occupancy, Pose
from .types import PlacementConfig

__all__ = ["joint_refine"]


def _pairs(grids: BodyGrids, poses: list[Pose], fixed: list[Pose], pad: float):
    """(a, b) index pairs into poses + fixed whose world boxes (padded) intersect; a is a
    chosen body, b a chosen one after it or a fixed one."""
    everyone = poses + fixed
    boxes = [grids.world_box(p.index, p.yaw, p.t) for p in everyone]
    out = []
    for a in range(len(poses)):
        for b in range(a + 1, len(everyone)):
            (alo, ahi), (blo, bhi) = boxes[a], boxes[b]
            if not ((alo - pad > bhi).any() or (blo - pad > ahi).any()):
                out.append((a, b))
    return out


def joint_refine(ev: Evaluator, level: int, level_local: list[torch.Tensor], grids: BodyGrids,
                 poses: list[Pose], fixed: list[Pose], occupancy: Occupancy,
                 shell: SceneShell, config: PlacementConfig, progress=None) -> list[Pose]:
    """The refined poses (same order); see the module docstring.

    ev: the scene-only evaluator; level_local: per grid index, (N, 3) centred-frame vertices at
    ``level``; fixed: obstacles (never moved); occupancy: holds ``poses`` and ``fixed`` at
    full resolution, and is updated to the result; shell: a moved body that now encloses
    scene matter is put back.
    """
    if config.final_steps == 0 or not poses:
        return poses
    dev, dt = ev.device, ev.scene.dtype
    body = torch.tensor([p.index for p in poses], device=dev)
    slot = torch.tensor([p.slot for p in poses], device=dev)
    yaw = torch.tensor([p.yaw for p in poses], device=dev, dtype=dt).requires_grad_(True)
    t = torch.tensor(np.stack([p.t for p in poses]), device=dev, dtype=dt).requires_grad_(True)
    pairs = _pairs(grids, poses, fixed, 2 * config.body_margin)
    fixed_yaw = torch.tensor([p.yaw for p in fixed], device=dev, dtype=dt)
    fixed_t = torch.tensor(np.stack([p.t for p in fixed]) if fixed else np.zeros((0, 3)),
                           device=dev, dtype=dt)
    every = [p.index for p in poses + fixed]
    src = [i for a, b in pairs for i in (a, b)]  # both directions of every pair
    dst = [j for a, b in pairs for j in (b, a)]
    verts = torch.stack([level_local[every[i]] for i in src]) if pairs else None
    src_t, dst_t = torch.tensor(src, device=dev), torch.tensor(dst, device=dev)
    ids = torch.tensor([every[j] for j in dst], device=dev)

    def body_term():
        if verts is None:
            return torch.zeros((), device=dev, dtype=dt)
        all_yaw, all_t = torch.cat([yaw, fixed_yaw]), torch.cat([t, fixed_t])
        world = to_world(verts, all_yaw[src_t], all_t[src_t])
        local = to_local(world, all_yaw[dst_t], all_t[dst_t])
        d = grids.sdf(local, ids[:, None].expand(local.shape[:2]))
        return torch.relu(config.body_margin - d).mean(-1).sum()

    with torch.no_grad():
        before = ev.terms(level, body, slot, yaw, t, ranking=False)["loss"].cpu().numpy()
    opt = torch.optim.Adam([{"params": [t], "lr": config.lr_translation / 2},
                            {"params": [yaw], "lr": config.lr_yaw / 2}])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - 0.95 * k / config.final_steps)
    for _ in range(config.final_steps):
        opt.zero_grad(set_to_none=True)
        loss = (ev.terms(level, body, slot, yaw, t, ranking=False)["loss"].sum()
                + config.w_body * body_term())
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None:
            progress.update(1)
    with torch.no_grad():
        after = ev.terms(level, body, slot, yaw, t, ranking=False)["loss"].cpu().numpy()
    new_yaw = yaw.detach().cpu().numpy().astype(np.float64)
    new_t = t.detach().cpu().numpy().astype(np.float64)
    result = [Pose(p.index, p.slot, float(new_yaw[k]), new_t[k])
              if after[k] <= before[k] + 1e-6 and shell.enclosed(
                  grids, p.index, float(new_yaw[k]), new_t[k]) <= config.max_enclosed_depth
              else p for k, p in enumerate(poses)]
    return _resolve_overlaps(result, poses, occupancy, config)


def _resolve_overlaps(new: list[Pose], old: list[Pose], occupancy: Occupancy,
                      config: PlacementConfig) -> list[Pose]:
    """Put moved bodies back where they were until no pair overlaps beyond the limit."""
    new = list(new)
    for p in new:
        occupancy.add(p.index, p.yaw, p.t)
    changed = True
    while changed:
        changed = False
        for k, p in enumerate(new):
            if p is old[k]:
                continue
            if occupancy.depth(p.index, p.yaw, p.t) > config.max_body_penetration:
                new[k] = old[k]
                occupancy.add(old[k].index, old[k].yaw, old[k].t)
                changed = True
    return new
