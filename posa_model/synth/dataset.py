"""Synthesis of a whole dataset: the scene plan, one scene at a time, and worker processes.

Determinism: every scene draws everything (room, bodies, placements) from its own
``numpy.random.SeedSequence((seed, scene_index))`` and torch runs single-threaded, so a scene's
arrays do not depend on which process computed it or on how many workers there are; the same
``seed`` gives identical files.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..body import BodyPose
from ..errors import ConfigError, InputShapeError
from .archetypes import ARCHETYPES, sample_pose
from .body import NUM_BETAS, BodyPoser
from .fitting import Job, fit_jobs
from .labels import BodyLabels, LabelMaker
from .rooms import ROOM_TYPES, generate_room
from .scene import Scene

__all__ = ["SceneResult", "SynthConfig", "Synthesizer", "plan_scenes", "run_scenes"]

#: Relative frequency of room types (among those that can host a requested archetype).
ROOM_WEIGHTS = {"living": 1.0, "bedroom": 1.2, "kitchen": 1.0, "bathroom": 0.6, "office": 0.8}
#: The room types each archetype can happen in (beyond standing, kneeling and leaning).
_ARCHETYPE_ROOMS = {
    "sit_chair": ("living", "bedroom", "kitchen", "office"),
    "sit_table": ("living", "bedroom", "kitchen", "office"),
    "sit_stool": ("living", "bedroom", "kitchen", "bathroom"),
    "sit_sofa": ("living", "bedroom", "office"), "lie_sofa": ("living", "bedroom", "office"),
    "sit_bed": ("bedroom",), "lie_bed": ("bedroom",), "sit_toilet": ("bathroom",),
    "reach_table": ("living", "bedroom", "kitchen", "office"),
    "reach_counter": ("kitchen", "bathroom"),
}  # fmt: skip
_MAX_ROUNDS = 6
_BETA_CLIP = 2.5


@dataclass(frozen=True)
class SynthConfig:
    """Everything that determines a dataset (see ``python -m posa_model.synthesize --help``)."""

    bodies: int = 2000
    seed: int = 0
    body: str | None = None  # None: the stand-in; else an SMPL-X model file or folder
    hierarchy: str | None = None  # None: the stand-in's; else a hierarchy .npz or mesh_ds folder
    test_fraction: float = 0.2
    sdf_resolution: float = 0.05
    archetypes: tuple[str, ...] = tuple(ARCHETYPES)
    bodies_per_scene: tuple[int, int] = (10, 40)
    write_scenes: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.bodies, int) or self.bodies < 1:
            raise ConfigError(f"bodies: expected a positive integer, found {self.bodies!r}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ConfigError(f"test_fraction: expected a number in [0, 1), found "
                              f"{self.test_fraction}")
        lo, hi = self.bodies_per_scene
        if not 1 <= lo <= hi:
            raise ConfigError(f"bodies_per_scene: expected 1 <= min <= max, found "
                              f"{self.bodies_per_scene}")
        if not self.sdf_resolution >= 0.015:
            raise ConfigError(f"sdf_resolution: expected at least 0.015 m (grids are at most "
                              f"512^3 for rooms up to 6.4 m), found {self.sdf_resolution}")
        unknown = [a for a in self.archetypes if a not in ARCHETYPES]
        if unknown or not self.archetypes:
            raise ConfigError(f"archetypes: unknown {unknown or '(none)'}; expected some of "
                              f"{', '.join(ARCHETYPES)}")


@dataclass(frozen=True)
class ScenePlan:
    index: int
    quota: int
    room_type: str

    @property
    def name(self) -> str:
        return f"{self.room_type}{self.index:04d}"


@dataclass
class SceneResult:
    """One scene's accepted bodies (in order) and its bookkeeping."""

    plan: ScenePlan
    scene: Scene
    archetypes: list[str]
    labels: BodyLabels | None
    params: BodyPose | None
    attempts: int
    rejections: Counter = field(default_factory=Counter)
    depth: np.ndarray | None = None  # (count,) deepest vertex of each body inside the scene

    @property
    def count(self) -> int:
        return len(self.archetypes)


def room_types_for(archetypes: tuple[str, ...]) -> tuple[str, ...]:
    """Room types in which at least one of ``archetypes`` can happen."""
    rooms = set()
    for name in archetypes:
        rooms.update(_ARCHETYPE_ROOMS.get(name, tuple(ROOM_TYPES)))
    return tuple(r for r in ROOM_TYPES if r in rooms)


def plan_scenes(config: SynthConfig, start: int = 0, total: int | None = None) -> list[ScenePlan]:
    """Scenes (index from ``start``) with body quotas in ``bodies_per_scene`` summing to
    ``total`` (default ``config.bodies``)."""
    total = config.bodies if total is None else total
    rng = np.random.default_rng(np.random.SeedSequence((config.seed, 0x5CE9E, start)))
    rooms = room_types_for(config.archetypes)
    # room types come from shuffled decks holding each type in proportion to its weight, so
    # even a small dataset has them in about the right proportions
    deck_counts = {r: max(1, round(5 * ROOM_WEIGHTS[r])) for r in rooms}
    deck: list[str] = []
    plans, left, index = [], total, start
    lo, hi = config.bodies_per_scene
    while left > 0:
        quota = min(int(rng.integers(lo, hi + 1)), left)
        if not deck:
            deck = [r for r in rooms for _ in range(deck_counts[r])]
            deck = [deck[i] for i in rng.permutation(len(deck))]
        room = deck.pop()
        plans.append(ScenePlan(index, quota, room))
        left -= quota
        index += 1
    return plans


class Synthesizer:
    """Per-process state: the body model, its sizes, label maker, and the scene pipeline."""

    def __init__(self, config: SynthConfig, out_dir: str | os.PathLike | None = None):
        import torch

        from ..assets import resolve_hierarchy, standin_frame_regressor
        from ..body import PRESETS, load_body_model
        from ..frames import FRAME_JOINTS

        torch.set_num_threads(1)  # determinism across processes, and one core per worker
        self.config = config
        self.out_dir = None if out_dir is None else Path(out_dir)
        model = load_body_model(config.body)
        self.poser = BodyPoser(model)
        self.presets = PRESETS
        self.dims = self.poser.dims(PRESETS)
        if config.body is None:
            regressor = standin_frame_regressor().numpy()
        else:
            regressor = self.poser.j_regressor[list(FRAME_JOINTS)]
        self.hierarchy = resolve_hierarchy(config.hierarchy)
        if self.hierarchy.num_vertices[0] != self.poser.num_vertices:
            raise InputShapeError(
                f"the mesh hierarchy has {self.hierarchy.num_vertices[0]} vertices at level 0 "
                f"but the body model has {self.poser.num_vertices}; pass --hierarchy for it")
        self.labels = LabelMaker.from_hierarchy(self.hierarchy, regressor)
        self.head_yaw = self._head_yaws()

    def _head_yaws(self) -> dict[str, float]:
        """Per preset, the heading of pelvis -> head of the mean body (for lying bodies)."""
        names = sorted(self.presets)
        rows = [self.presets[n] for n in names]
        _, joints = self.poser.forward(BodyPose.concatenate(rows))
        d = joints[:, 15] - joints[:, 0]
        return {n: float(np.arctan2(d[i, 0], d[i, 2])) for i, n in enumerate(names)}

    # ----------------------------------------------------------------------------------------
    def available(self, scene: Scene) -> dict[str, list[int]]:
        """Requested archetype -> indices of the scene's spots where it can happen."""
        out = {}
        for name in self.config.archetypes:
            arch = ARCHETYPES[name]
            spots = [i for i, s in enumerate(scene.spots) if s.kind == arch.spot and (
                not arch.kinds or scene.objects[s.object].kind in arch.kinds) and (
                arch.fit != "sit_table" or s.target >= 0)]
            if spots:
                out[name] = spots
        return out

    def make_job(self, rng: np.random.Generator, scene: Scene, name: str, spot: int) -> Job:
        arch = ARCHETYPES[name]
        preset_name = str(rng.choice(arch.presets))
        preset = self.presets[preset_name]
        s = scene.spots[spot]
        orient = Rotation.from_rotvec(np.asarray(preset.global_orient[0], dtype=np.float64))
        if arch.fit == "lie":
            yaw = s.yaw - self.head_yaw[preset_name] + rng.normal(0.0, 0.03)
        elif arch.fit == "lean":
            yaw = s.yaw + rng.uniform(-0.2, 0.2)
            orient = Rotation.from_euler("x", -rng.uniform(6.0, 16.0), degrees=True)
        elif arch.fit == "reach":
            yaw = s.yaw + rng.uniform(-0.1, 0.1)
        elif arch.fit in ("sit", "sit_table"):
            yaw = s.yaw + rng.normal(0.0, 0.05)
        else:
            yaw = s.yaw
        orient = Rotation.from_euler("y", yaw) * orient
        betas = np.clip(rng.normal(0.0, 1.0, NUM_BETAS), -_BETA_CLIP, _BETA_CLIP)
        pose = sample_pose(rng, preset, arch.legs)
        return Job(name, preset_name, spot, float(yaw), betas, orient.as_rotvec(), pose,
                   rng.random(4))

    def run_scene(self, plan: ScenePlan) -> SceneResult:
        """Build the room, fit ``plan.quota`` bodies (with retries), label them, write scene
        files when ``out_dir`` is set."""
        seq = np.random.SeedSequence((self.config.seed, plan.index))
        room_seed, body_seed = seq.spawn(2)
        scene = generate_room(plan.name, np.random.default_rng(room_seed), plan.room_type,
                              self.dims)
        rng = np.random.default_rng(body_seed)
        avail = self.available(scene)
        result = SceneResult(plan, scene, [], None, None, 0)
        if self.out_dir is not None and self.config.write_scenes:
            self._write_scene(scene)
        if not avail:
            return result
        failures: Counter = Counter()
        accepted: list[tuple[str, BodyLabels, BodyPose, float]] = []
        for _ in range(_MAX_ROUNDS):
            need = plan.quota - len(accepted)
            if need <= 0:
                break
            usable = {n: [s for s in spots if failures[s] < 3] for n, spots in avail.items()}
            usable = {n: s for n, s in usable.items() if s}
            if not usable:
                break
            names = list(usable)
            w = np.array([ARCHETYPES[n].weight for n in names])
            jobs = []
            for _ in range(need):
                name = names[int(rng.choice(len(names), p=w / w.sum()))]
                spot = int(rng.choice(usable[name]))
                jobs.append(self.make_job(rng, scene, name, spot))
            fit = fit_jobs(self.poser, scene, jobs)
            result.attempts += len(jobs)
            keep = np.flatnonzero(fit.ok)
            for i in np.flatnonzero(~fit.ok):
                failures[jobs[i].spot] += 1
                result.rejections[f"{jobs[i].archetype}: {fit.reason[i].split(' (')[0]}"] += 1
            if len(keep):
                lab = self.labels.make(fit.vertices[keep], fit.joints[keep], scene)
                for k, i in enumerate(keep):
                    accepted.append((jobs[i].archetype, _take(lab, k), fit.params.take([i]),
                                     float(fit.depth[i])))
        accepted = accepted[: plan.quota]
        if accepted:
            result.archetypes = [a[0] for a in accepted]
            result.labels = BodyLabels(*(np.concatenate([getattr(a[1], f) for a in accepted])
                                         for f in ("x", "x_semantics", "vertices",
                                                   "vertices_can", "joints_can")))
            result.params = BodyPose.concatenate([a[2] for a in accepted])
            result.depth = np.array([a[3] for a in accepted])
        return result

    def _write_scene(self, scene: Scene) -> None:
        from ..scene.grid import save_scene_grid
        from .export import save_scene
        from .sdf import compute_sdf_grid

        save_scene(self.out_dir / "scenes", scene)
        grid = compute_sdf_grid(scene.boxes, self.config.sdf_resolution)
        save_scene_grid(self.out_dir / "sdf", scene.name, grid)


def _take(lab: BodyLabels, k: int) -> BodyLabels:
    return BodyLabels(*(getattr(lab, f)[k: k + 1] for f in
                        ("x", "x_semantics", "vertices", "vertices_can", "joints_can")))


# --------------------------------------------------------------------------------------------
# workers

_WORKER: Synthesizer | None = None


def _init_worker(config: SynthConfig, out_dir) -> None:
    global _WORKER
    _WORKER = Synthesizer(config, out_dir)


def _run_in_worker(plan: ScenePlan) -> SceneResult:
    return _WORKER.run_scene(plan)


def run_scenes(config: SynthConfig, out_dir, plans: list[ScenePlan], workers: int = 1,
               progress=None, local: Synthesizer | None = None):
    """Yield :class:`SceneResult` for ``plans`` in order (``workers`` > 1: in subprocesses).

    ``progress(result)`` is called as each scene finishes (in order).
    """
    if workers <= 1 or len(plans) <= 1:
        synth = local or Synthesizer(config, out_dir)
        for plan in plans:
            result = synth.run_scene(plan)
            if progress:
                progress(result)
            yield result
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(config, out_dir)) as pool:
        for result in pool.map(_run_in_worker, plans, chunksize=1):
            if progress:
                progress(result)
            yield result


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def split_scenes(names: list[str], test_fraction: float, seed: int) -> set[str]:
    """The scene names that go to the test split (``round(fraction * scenes)``, at least one
    when the fraction is positive and there are two scenes or more)."""
    if test_fraction <= 0 or len(names) < 2:
        return set()
    n_test = min(len(names) - 1, max(1, math.floor(test_fraction * len(names) + 0.5)))
    rng = np.random.default_rng(np.random.SeedSequence((seed, 0x7E57)))
    return {names[i] for i in rng.permutation(len(names))[:n_test]}
