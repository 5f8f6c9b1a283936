"""Step 3: the placement losses of many candidates at once, at any level of the mesh hierarchy.

Per candidate (a body, one of its maps, a yaw and a translation), with ``d`` the scene's SDF at
the placed vertices and ``e = d - margin``:

* contact = mean over the map's predicted-contact vertices of ``e^2`` (the reference's SDF^2,
  as a mean so that maps with more contact vertices are not penalised); with
  ``semantic_contact``, a vertex whose nearest object has another class than it predicts counts
  a constant ``mismatch_distance^2`` instead (as if 10 cm away): it is not pulled onto the wrong
  object (the reference pulls every contact vertex onto whatever is nearest, so a kneeling body
  whose shins do not quite reach the floor snuggles up to a cabinet);
* penetration = mean over all vertices of ``relu(-e)`` (the reference's |SDF| inside, on every
  vertex: a contact vertex sunk into the floor is also a collision);
* bodies = mean over all vertices of ``relu(body_margin - d_other)`` where ``d_other`` is the
  distance to the bodies placed so far and the obstacles, rasterised on the scene's grid;
* region = ``relu(|t_xz - centre_xz| - radius)^2`` for a drop-and-refine body, plus for a body
  with a target ``relu(|yaw - target yaw| - target_turn)^2`` (a sitter keeps facing away from
  the backrest);
* touches = for a body with a target, per required touch (:class:`.types.Touch`), the square of
  how far its nearest vertex is beyond half the touch's distance (``w_touch`` weighs it): what
  acceptance requires, placement pulls toward, with room to spare;
* a contact vertex predicted as floor is pulled to the floor under it (:class:`.floor.FloorMap`:
  its height above the floor replaces its SDF in the contact term), so that feet reach the floor
  past a chair's stretcher, which is nearer than the floor;
* agreement (no gradient) = fraction of the predicted-contact vertices that lie within
  ``semantic_distance`` (5 cm, POSA's contact label distance) of the scene and whose predicted
  class is the class of the surface they are near (:mod:`.surface`), seat classes standing in
  for each other (:data:`.maps.SEAT_EQUIVALENT`): a body floating above the right object agrees
  no more than one on the wrong object; ``exact`` is the same with classes compared exactly.

``coverage`` is the agreement of the worst-served class among those holding at least 15 % of
the contact vertices: a sitter whose feet touch the floor but whose buttocks touch nothing has
coverage 0. ``loss`` is the weighted sum of the first four (what refinement minimises);
``score`` adds ``w_semantics * ((1 - exact) + (1 - coverage))`` (what ranks candidates: the
exact class ranks, it never forbids).

Posed bodies (:mod:`.posing`) are scored with their candidates' pose changes, and
:meth:`Evaluator.refine` optimises those changes together with t and yaw, adding the pose
prior and the joint limits to the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..classes import CLASS_ID, NUM_CLASSES
from ..scene.grid import TorchSceneGrid
from .bodies import to_world
from .candidates import Candidates
from .floor import FloorMap
from .maps import canonical_classes
from .posing import PoseBank
from .surface import sdf_and_surface_labels
from .touches import UP_COS
from .types import PlacementConfig

_FLOOR = CLASS_ID["floor"]

__all__ = ["Evaluator", "LevelData"]


@dataclass
class LevelData:
    """One hierarchy level of the bodies being placed (NB bodies, M map slots, N vertices).

    verts: (NB, N, 3) centred-frame vertices; contact: (NB, M, N) bool predicted contact;
    semantics: (NB, M, N) int64 predicted class. Bodies with fewer maps have empty slots.
    touch_mask: (NB, T, N) bool, the vertices of each body's required touches (T the most
    touches of a body; unused rows empty); touch_classes (NB, T, 42) bool, what they touch;
    touch_floor (NB, T) bool, touching the floor (its height field); touch_distance (NB, T);
    touch_up (NB, T) bool, only a surface below counts.
    """

    verts: torch.Tensor
    contact: torch.Tensor
    semantics: torch.Tensor
    touch_mask: torch.Tensor | None = None
    touch_classes: torch.Tensor | None = None
    touch_floor: torch.Tensor | None = None
    touch_distance: torch.Tensor | None = None
    touch_up: torch.Tensor | None = None

#: The pose step of a body without a target, relative to ``lr_pose``.
FREE_POSE_STEP = 0.25


class Evaluator:
    """Batched losses of candidates; see the module docstring for the terms.

    scene: the scene on the device. levels: {level: LevelData}. centres (NB, 3), radii (NB,):
    the drop-and-refine regions (radius ``inf`` = no region). others: the distance to
    already-placed bodies and obstacles on the scene's grid, or None.
    """

    def __init__(self, scene: TorchSceneGrid, levels: dict[int, LevelData],
                 centres: torch.Tensor, radii: torch.Tensor, config: PlacementConfig,
                 others: TorchSceneGrid | None = None, floor: FloorMap | None = None,
                 bank: PoseBank | None = None, headings: torch.Tensor | None = None):
        self.scene, self.levels, self.config, self.others = scene, levels, config, others
        self.centres, self.radii = centres, radii
        #: (NB,) the heading (rad) a body's target asks for; NaN for bodies without a target
        self.headings = headings
        self.floor, self.bank = floor, bank
        self.device = scene.device
        self.canon = torch.as_tensor(canonical_classes(), device=self.device)

    def local(self, level: int, body: torch.Tensor, delta: torch.Tensor | None = None
              ) -> torch.Tensor:
        """(n, N, 3) centred-frame vertices of the candidates' bodies at ``level``: posed
        bodies with their pose changes ``delta`` (n, 66), the others as given."""
        verts = self.levels[level].verts[body]
        if delta is None or self.bank is None:
            return verts
        posed = self.bank.flags[body]
        if not bool(posed.any()):
            return verts
        rows = torch.nonzero(posed).reshape(-1)
        moved = self.bank.vertices(level, body[rows], delta[rows])
        return verts.index_put((rows,), moved.to(verts.dtype))

    def terms(self, level: int, body: torch.Tensor, slot: torch.Tensor, yaw: torch.Tensor,
              t: torch.Tensor, ranking: bool = True, delta: torch.Tensor | None = None
              ) -> dict[str, torch.Tensor]:
        """Per candidate (n,) tensors: contact, penetration, bodies, region, loss (these carry
        gradients to yaw, t and the pose changes ``delta``), and with ``ranking`` agreement,
        coverage, noncollision, touch, score (detached)."""
        cfg, data = self.config, self.levels[level]
        x = to_world(self.local(level, body, delta), yaw, t)  # (n, N, 3)
        mask = data.contact[body, slot].to(x.dtype)  # (n, N)
        count = mask.sum(-1).clamp(min=1)
        d, labels, normal = sdf_and_surface_labels(self.scene, x, normals=True)
        e = d - cfg.margin
        predicted = data.semantics[body, slot]
        exact = labels == predicted
        same = self.canon[labels] == self.canon[predicted]  # seats stand in for each other
        pull = e.square()
        if cfg.semantic_contact:  # a vertex near an object of another class: a constant
            pull = torch.where(same, pull, torch.full_like(pull, cfg.mismatch_distance ** 2))
        if self.floor is not None:  # floor contacts: the height above the floor under them
            above = self.floor.above(x) - cfg.margin
            pull = torch.where(predicted == _FLOOR, above.square(), pull)
        out = {
            "contact": (mask * pull).sum(-1) / count,
            "penetration": torch.relu(-e).mean(-1),
        }
        if self.others is not None:
            out["bodies"] = torch.relu(cfg.body_margin - self.others.sdf(x)).mean(-1)
        else:
            out["bodies"] = torch.zeros_like(out["contact"])
        dist = (t[:, [0, 2]] - self.centres[body][:, [0, 2]]).norm(dim=-1)
        radius = self.radii[body]
        finite = torch.isfinite(radius)
        out["region"] = torch.where(finite, torch.relu(dist - torch.where(finite, radius, 0.0)),
                                    torch.zeros_like(dist)).square()
        if self.headings is not None:  # a target's heading: turning away beyond target_turn
            want = self.headings[body]
            off = torch.remainder(yaw - torch.nan_to_num(want) + np.pi, 2 * np.pi) - np.pi
            off = torch.relu(off.abs() - cfg.target_turn).square()
            out["region"] = out["region"] + torch.where(torch.isnan(want), 0.0, off)
        out["touches"] = self._touches(data, body, d, labels, x, normal)
        out["loss"] = (cfg.w_contact * out["contact"] + cfg.w_penetration * out["penetration"]
                       + cfg.w_body * out["bodies"] + cfg.w_region * out["region"]
                       + cfg.w_touch * out["touches"])
        if not ranking:
            return out
        with torch.no_grad():
            near = d.detach() <= cfg.semantic_distance
            hit, hit_exact = near & same, near & exact
            if self.floor is not None:  # floor contacts: near the floor under them
                on_floor = (predicted == _FLOOR) & (above.detach().abs() <= cfg.semantic_distance)
                hit, hit_exact = hit | on_floor, hit_exact | on_floor
            hits = mask * hit.to(x.dtype)
            out["agreement"] = hits.sum(-1) / count  # seats standing in for each other
            out["exact"] = mask.mul(hit_exact.to(x.dtype)).sum(-1) / count
            out["coverage"] = _coverage(mask, hits, self.canon[predicted], count)
            out["noncollision"] = (d.detach() > 0).to(x.dtype).mean(-1)
            out["deepest"] = torch.relu(-d.detach()).max(-1).values
            contact_d = torch.where(mask > 0, d.detach(), torch.full_like(d, np.inf))
            out["touch"] = contact_d.min(-1).values <= cfg.touch_distance
            out["score"] = out["loss"].detach() + cfg.w_semantics * (
                2 - out["exact"] - out["coverage"])
        return out

    def _touches(self, data: LevelData, body: torch.Tensor, d: torch.Tensor,
                 labels: torch.Tensor, x: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
        """(n,) sum over each body's touches of relu(nearest distance - allowed)^2."""
        if data.touch_mask is None or data.touch_mask.shape[1] == 0:
            return torch.zeros_like(d[:, 0])
        mask = data.touch_mask[body]  # (n, T, N)
        ok_class = torch.gather(data.touch_classes[body], 2,
                                labels[:, None, :].expand(-1, mask.shape[1], -1))  # (n, T, N)
        below = (normal[..., 1] >= UP_COS)[:, None, :]
        ok_class = ok_class & (below | ~data.touch_up[body][..., None])
        dist = torch.where(ok_class, d.abs()[:, None, :], torch.full_like(mask, 1.0, dtype=d.dtype))
        if self.floor is not None:
            above = self.floor.above(x).abs()[:, None, :]
            dist = torch.where(data.touch_floor[body][..., None], torch.minimum(dist, above), dist)
        dist = torch.where(mask, dist, torch.full_like(dist, 1e3))
        nearest = dist.min(-1).values  # (n, T)
        used = mask.any(-1)
        # aim at half the allowed distance: what acceptance allows, refinement settles well inside
        gap = torch.relu(nearest - 0.5 * data.touch_distance[body]) * used
        return gap.square().sum(-1)

    def tensors(self, cands: Candidates):
        """The candidates' (body, slot, yaw, t, delta) as tensors on the device."""
        dev, dt = self.device, self.scene.dtype
        return (torch.as_tensor(cands.body, device=dev), torch.as_tensor(cands.slot, device=dev),
                torch.as_tensor(cands.yaw, device=dev, dtype=dt),
                torch.as_tensor(cands.t, device=dev, dtype=dt),
                torch.as_tensor(cands.delta, device=dev, dtype=dt))

    @torch.no_grad()
    def score(self, level: int, cands: Candidates, progress=None) -> dict[str, np.ndarray]:
        """Every term of every candidate, in chunks of ``config.chunk_points`` vertex lookups;
        numpy (n,) arrays."""
        n_vertices = self.levels[level].verts.shape[1]
        chunk = max(1, self.config.chunk_points // n_vertices)
        body, slot, yaw, t, delta = self.tensors(cands)
        moved = bool(np.abs(cands.delta).max(initial=0.0) > 0)
        parts: dict[str, list] = {}
        for start in range(0, len(cands), chunk):
            sl = slice(start, start + chunk)
            terms = self.terms(level, body[sl], slot[sl], yaw[sl], t[sl],
                               delta=delta[sl] if moved else None)
            for key, value in terms.items():
                parts.setdefault(key, []).append(value.cpu())
            if progress is not None:
                progress.update(min(chunk, len(cands) - start))
        if not parts:
            return {}
        return {key: torch.cat(v).numpy() for key, v in parts.items()}

    def refine(self, level: int, cands: Candidates, steps: int, lr_t: float,
               lr_yaw: float, lr_pose: float = 0.0, progress=None) -> Candidates:
        """Adam on (t, yaw) of every candidate together for ``steps`` steps (linear decay of
        the learning rates to 5 %); with ``lr_pose > 0`` also on the pose changes of posed
        bodies, with the pose prior and joint limits (:mod:`.posing`). The candidates are
        independent (the loss is their sum). Deterministic: a fixed number of steps, no random
        state."""
        if steps == 0 or not len(cands):
            return cands
        body, slot, yaw0, t0, delta0 = self.tensors(cands)
        yaw = yaw0.clone().requires_grad_(True)
        t = t0.clone().requires_grad_(True)
        groups = [{"params": [t], "lr": lr_t}, {"params": [yaw], "lr": lr_yaw}]
        posed = None
        if lr_pose > 0 and self.bank is not None and bool(self.bank.flags[body].any()):
            posed = torch.nonzero(self.bank.flags[body]).reshape(-1)
        delta_p = scale = None
        if posed is not None:
            # a body without a target has only its map and region to hold its pose: a smaller
            # step (Adam moves every value by about lr at first; 0.02 undid a free sitter)
            want = self.headings[body[posed]] if self.headings is not None else None
            scale = torch.full((len(posed), 1), 1.0, dtype=delta0.dtype, device=delta0.device)
            if want is not None:
                scale = torch.where(torch.isnan(want)[:, None], FREE_POSE_STEP, scale)
            delta_p = (delta0[posed] / scale).clone().requires_grad_(True)
            groups.append({"params": [delta_p], "lr": lr_pose})
        opt = torch.optim.Adam(groups)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - 0.95 * k / steps)
        cfg = self.config
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            delta = delta0 if delta_p is None else delta0.index_put((posed,), delta_p * scale)
            loss = self.terms(level, body, slot, yaw, t, ranking=False,
                              delta=delta if (delta_p is not None or bool(delta0.abs().max() > 0))
                              else None)["loss"].sum()
            if delta_p is not None:
                loss = loss + self.bank.penalty(body[posed], delta_p * scale, cfg.w_pose_prior,
                                                cfg.w_joint_limits).sum()
            loss.backward()
            opt.step()
            sched.step()
            if progress is not None:
                progress.update(1)
        delta = delta0 if delta_p is None else delta0.index_put((posed,),
                                                                (delta_p * scale).detach())
        return Candidates(cands.body, cands.slot, yaw.detach().cpu().numpy().astype(np.float64),
                          t.detach().cpu().numpy().astype(np.float64),
                          delta.detach().cpu().numpy().astype(np.float64))


def _coverage(mask: torch.Tensor, hits: torch.Tensor, predicted: torch.Tensor,
              count: torch.Tensor, major: float = 0.15) -> torch.Tensor:
    """(n,) the smallest, over the classes holding at least ``major`` of a candidate's contact
    vertices, of the fraction of that class's contact vertices that agree (within reach of a
    surface of their class): 0 when a sitter's feet are on the floor but its buttocks are in
    the air. mask, hits: (n, N) float; predicted: (n, N) int64 classes; count: (n,)."""
    n = predicted.shape[0]
    per_class = torch.zeros(n, NUM_CLASSES, device=mask.device, dtype=mask.dtype)
    totals = per_class.scatter_add(1, predicted, mask)
    agree = per_class.scatter_add(1, predicted, hits)
    ratio = agree / totals.clamp(min=1)
    majors = (totals >= major * count[:, None]) & (totals > 0)
    return torch.where(majors, ratio, torch.ones_like(ratio)).min(dim=1).values
