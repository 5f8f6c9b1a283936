"""Step 4b: choosing one refined candidate per body so that no two bodies overlap.

:class:`Occupancy` holds the bodies fixed so far (obstacles and the bodies chosen) and measures,
at full resolution, how deep a new placement would go into them or they into it (each body's
own SDF grid, :class:`.bodies.BodyGrids`; boxes cull the pairs that cannot touch).
:func:`greedy_select` walks the bodies in a seeded order and gives each the best-scoring
refined candidate that passes the quality thresholds and does not overlap the bodies already
chosen by more than ``max_body_penetration``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .bodies import BodyGrids, SceneShell, to_local, to_world
from .candidates import Candidates
from .types import PlacementConfig

__all__ = ["Occupancy", "Pose", "greedy_select"]


@dataclass
class Pose:
    """A chosen placement of body ``index``'s centred frame: map ``slot``, ``yaw`` (rad), ``t``
    (3,) metres."""

    index: int
    slot: int
    yaw: float
    t: np.ndarray


class Occupancy:
    """Placed bodies for full-resolution overlap checks.

    grids: every body's and obstacle's SDF grid; local: per grid index, (V, 3) full-resolution
    vertices in its centred frame.
    """

    def __init__(self, grids: BodyGrids, local: list[np.ndarray]):
        self.grids = grids
        self.device, self.dtype = grids.device, grids.dtype
        self.local = [torch.as_tensor(v, device=self.device, dtype=self.dtype) for v in local]
        self.entries: dict[int, tuple[float, np.ndarray, torch.Tensor, np.ndarray, np.ndarray]] = {}
        self._boxes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _world(self, index: int, yaw: float, t: np.ndarray) -> torch.Tensor:
        yaw_t = torch.tensor(yaw, device=self.device, dtype=self.dtype)
        t_t = torch.tensor(np.asarray(t), device=self.device, dtype=self.dtype)
        return to_world(self.local[index], yaw_t, t_t)

    def add(self, index: int, yaw: float, t: np.ndarray) -> None:
        lo, hi = self.grids.world_box(index, yaw, t)
        self.entries[index] = (yaw, np.asarray(t, dtype=np.float64),
                               self._world(index, yaw, t), lo, hi)
        self._boxes = None

    def remove(self, index: int) -> None:
        self.entries.pop(index, None)
        self._boxes = None

    def _near(self, index: int, lo: np.ndarray, hi: np.ndarray) -> list[int]:
        """The entries (other than ``index``) whose boxes meet [lo, hi]."""
        if self._boxes is None:
            keys = list(self.entries)
            los = np.array([self.entries[k][3] for k in keys]).reshape(-1, 3)
            his = np.array([self.entries[k][4] for k in keys]).reshape(-1, 3)
            self._boxes = (np.array(keys, dtype=np.int64), los, his)
        keys, los, his = self._boxes
        meet = ~((lo > his).any(axis=1) | (los > hi).any(axis=1)) & (keys != index)
        return [int(k) for k in keys[meet]]

    @torch.no_grad()
    def depth(self, index: int, yaw: float, t: np.ndarray) -> float:
        """Deepest penetration (m) between body ``index`` placed at (yaw, t) and every other
        entry, both ways; 0 when nothing overlaps."""
        lo, hi = self.grids.world_box(index, yaw, t)
        near = self._near(index, lo, hi)
        if not near:
            return 0.0
        yaw_t = torch.tensor(yaw, device=self.device, dtype=self.dtype)
        t_t = torch.tensor(np.asarray(t), device=self.device, dtype=self.dtype)
        mine = to_world(self.local[index], yaw_t, t_t)
        deepest = 0.0
        for other in near:
            o_yaw, o_t, o_world = self.entries[other][:3]
            o_yaw_t = torch.tensor(o_yaw, device=self.device, dtype=self.dtype)
            o_t_t = torch.tensor(o_t, device=self.device, dtype=self.dtype)
            deepest = max(deepest,
                          self.grids.penetration(to_local(mine, o_yaw_t, o_t_t), other),
                          self.grids.penetration(to_local(o_world, yaw_t, t_t), index))
        return deepest


def greedy_select(cands: Candidates, scores: dict[str, np.ndarray], bodies: list[int],
                  occupancy: Occupancy, shell: SceneShell, config: PlacementConfig,
                  order_seed: int) -> tuple[dict[int, Pose], dict[int, str]]:
    """Per body of ``bodies`` (in a seeded order), the best acceptable non-overlapping
    candidate that swallows no scene matter (``shell``); chosen bodies are added to
    ``occupancy``. Returns the poses and, for the bodies left without one, why."""
    order = np.random.default_rng(order_seed).permutation(len(bodies))
    chosen, reasons = {}, {}
    for b in (bodies[k] for k in order):
        rows = np.flatnonzero(cands.body == b)
        rows = rows[np.argsort(scores["score"][rows], kind="stable")]
        ok = ((scores["noncollision"][rows] >= config.min_noncollision)
              & scores["touch"][rows].astype(bool)
              & (scores["agreement"][rows] >= config.min_semantic)
              & (scores["coverage"][rows] >= config.min_coverage))
        overlapped = swallowing = 0
        for row in rows[ok]:
            if shell.enclosed(occupancy.grids, b, float(cands.yaw[row]), cands.t[row]) \
                    > config.max_enclosed_depth:
                swallowing += 1
                continue
            if occupancy.depth(b, float(cands.yaw[row]), cands.t[row]) \
                    > config.max_body_penetration:
                overlapped += 1
                continue
            chosen[b] = Pose(b, int(cands.slot[row]), float(cands.yaw[row]),
                             np.asarray(cands.t[row], dtype=np.float64))
            occupancy.add(b, chosen[b].yaw, chosen[b].t)
            break
        if b in chosen:
            continue
        if not len(rows):
            reasons[b] = "no candidate placement left after scoring"
        elif overlapped or swallowing:
            reasons[b] = (f"no free placement: of the acceptable candidates, {overlapped} "
                          f"overlap bodies placed before it and {swallowing} enclose scene "
                          f"matter (a thin object inside the body)")
        else:
            best = rows[0]
            reasons[b] = (f"no acceptable placement: the best of {len(rows)} refined "
                          f"candidates has non-collision {scores['noncollision'][best]:.3f} "
                          f"(>= {config.min_noncollision} needed), semantic agreement "
                          f"{scores['agreement'][best]:.2f} (>= {config.min_semantic}), "
                          f"coverage {scores['coverage'][best]:.2f} (>= {config.min_coverage}), "
                          f"touch {bool(scores['touch'][best])}")
    return chosen, reasons
