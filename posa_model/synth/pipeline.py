"""``synthesize()``: plan scenes, fit and label bodies (in worker processes), write the dataset."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..body import BodyPose
from ..errors import PosaError
from ..mesh.levels import level_indices
from .dataset import (
    SceneResult,
    SynthConfig,
    Synthesizer,
    default_workers,
    plan_scenes,
    run_scenes,
    split_scenes,
)
from .fitting import CONTACT_TOLERANCE, PENETRATION_TOLERANCE
from .render import PanelBodies, render_scenes
from .summary import dataset_summary, format_summary
from .writer import staging_folder, write_json, write_split

__all__ = ["SynthesisReport", "synthesize"]

FORMAT_VERSION = 1
_EXTRA_PASSES = 4


@dataclass
class SynthesisReport:
    """Where the dataset went, its summary (``summary.json``) and the table printed for it."""

    out: Path
    summary: dict
    table: str
    seconds: float


def synthesize(config: SynthConfig, out: str | os.PathLike, workers: int | None = None,
               overwrite: bool = False, progress: bool = True,
               picture: bool = True) -> SynthesisReport:
    """Generate ``config.bodies`` labelled bodies in procedural rooms and write them to ``out``.

    Args:
        config: what to generate (see :class:`SynthConfig`).
        out: the dataset folder; written atomically (a temporary sibling renamed at the end).
        workers: processes; ``None``: one per available CPU (at most 8). The arrays do not depend
            on it.
        overwrite: replace an existing ``out``.
        progress: show a tqdm progress bar.
        picture: draw ``summary.png``.

    Raises:
        PosaError: ``out`` exists, the body model or hierarchy cannot be loaded, or no body could
            be fitted.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    workers = default_workers() if workers is None else max(1, int(workers))
    with staging_folder(out, overwrite) as tmp:
        plans = plan_scenes(config)
        workers = min(workers, len(plans))
        # The main process needs its own Synthesizer to write the summary; with workers it is
        # built while they run (after their first scene), otherwise it runs the scenes itself.
        main: list[Synthesizer] = [] if workers > 1 else [Synthesizer(config, tmp)]
        bar = tqdm(total=config.bodies, unit="body", disable=not progress, smoothing=0.1,
                   desc="synthesize")
        results: list[SceneResult] = []

        def advance(result: SceneResult) -> None:
            bar.update(min(result.count, config.bodies - bar.n))
            if not main:
                main.append(Synthesizer(config, tmp))

        try:
            local = main[0] if main else None
            results += run_scenes(config, tmp, plans, workers, advance, local=local)
            for _ in range(_EXTRA_PASSES):  # scenes that fell short: add more scenes
                missing = config.bodies - sum(r.count for r in results)
                if missing <= 0:
                    break
                extra = plan_scenes(config, start=max(p.index for p in plans) + 1,
                                    total=missing)
                plans += extra
                results += run_scenes(config, tmp, extra, min(workers, len(extra)), advance,
                                      local=main[0] if main else None)
        finally:
            bar.close()
        if not main:
            main.append(Synthesizer(config, tmp))
        results = [r for r in results if r.count]
        total = sum(r.count for r in results)
        if total == 0:
            raise PosaError("no body could be fitted; try other --archetypes")
        seconds = time.perf_counter() - start
        summary, table = _write(tmp, config, main[0], results, workers, seconds, picture)
    return SynthesisReport(Path(out).expanduser().resolve(), summary, table, seconds)


def _write(tmp: Path, config: SynthConfig, main: Synthesizer, results: list[SceneResult],
           workers: int, seconds: float, picture: bool):
    names = [r.plan.name for r in results]
    test = split_scenes(names, config.test_fraction, config.seed)
    body_model = "standin" if config.body is None else str(config.body)
    splits = {}
    for split in ("train", "test"):
        chosen = [r for r in results if (r.plan.name in test) == (split == "test")]
        if not chosen:
            continue
        recordings, scenes, archetypes = [], [], []
        for r in chosen:
            counter: Counter = Counter()
            for a in r.archetypes:
                recordings.append(f"{r.plan.name}_{a}_{counter[a]}")
                counter[a] += 1
                scenes.append(r.plan.name)
                archetypes.append(a)
        arrays = {f: np.concatenate([getattr(r.labels, f) for r in chosen]) for f in
                  ("x", "x_semantics", "vertices", "vertices_can", "joints_can")}
        arrays.update(recording_names=recordings, scenes=scenes, archetypes=archetypes,
                      params=BodyPose.concatenate([r.params for r in chosen]),
                      body_model=[body_model] * len(scenes))
        write_split(tmp / split, arrays)
        splits[split] = arrays
    part_of_vertex = main.poser.part_of_vertex[main.labels.selection]
    summary = dataset_summary(splits, part_of_vertex)
    rejections: Counter = Counter()
    for r in results:
        rejections.update(r.rejections)
    attempts = sum(r.attempts for r in results)
    total = sum(r.count for r in results)
    summary["run"] = {
        "bodies": total, "requested": config.bodies, "seconds": seconds,
        "bodies_per_minute": total / seconds * 60.0, "workers": workers, "attempts": attempts,
        "acceptance": total / max(attempts, 1),
        "max_penetration_m": float(max(float(np.nanmax(r.depth)) for r in results)),
        "penetration_tolerance_m": PENETRATION_TOLERANCE,
        "contact_tolerance_m": CONTACT_TOLERANCE,
        "rejections": dict(rejections.most_common()),
    }
    summary["rooms"] = dict(Counter(r.plan.room_type for r in results))
    summary["test_scenes"] = sorted(test)
    summary["config"] = {k: (list(v) if isinstance(v, tuple) else v)
                         for k, v in asdict(config).items()}
    summary["format"] = {
        "version": FORMAT_VERSION, "network_vertices": int(len(main.labels.selection)),
        "x": "unsigned distance (m) to the nearest scene surface; contact when < 0.05",
        "x_semantics": "MPCAT40 class of the nearest surface, NOT zeroed without contact",
        "frame": "vertices.npy: scene frame (SMPL-X world, +y up, m); vertices_can.npy, "
                 "joints_can.npy: posa_model.frames.canonicalize with the frame regressor",
        "body_dims": asdict(main.dims),
    }
    table = format_summary(summary)
    write_json(tmp / "summary.json", summary)
    if picture:
        render_scenes(tmp / "summary.png", _panels(results, main),
                      title=f"posa_model.synthesize: {total} bodies in {len(results)} rooms "
                            f"(seed {config.seed})")
    return summary, table


def _panels(results: list[SceneResult], main: Synthesizer, max_bodies: int = 8):
    """Up to four scenes of different room types with the most different archetypes, one body
    of each archetype, re-posed and drawn at the hierarchy's level 1 (2619 vertices)."""
    ranked = sorted(results, key=lambda r: (-len(set(r.archetypes)), r.plan.index))
    panels, rooms = [], set()
    faces = getattr(main.hierarchy, "faces", None)
    for r in ranked:
        if r.plan.room_type in rooms:
            continue
        rooms.add(r.plan.room_type)
        picks, seen = [], set()
        for i, a in enumerate(r.archetypes):  # one of each archetype
            if a not in seen:
                picks.append(i)
                seen.add(a)
        picks = picks[:max_bodies]
        if faces is not None:
            level1 = level_indices(main.hierarchy, 1)
            vertices = main.poser.forward(r.params.take(picks))[0][:, level1]
            dist = [r.scene.distance(v) for v in vertices]
            bodies = PanelBodies(vertices, np.asarray(faces[1]),
                                 np.stack([np.abs(d.signed) for d in dist]),
                                 np.stack([d.class_id for d in dist]),
                                 [r.archetypes[i] for i in picks])
        else:
            lab = r.labels
            bodies = PanelBodies(lab.vertices[picks], None, lab.x[picks],
                                 lab.x_semantics[picks], [r.archetypes[i] for i in picks])
        panels.append((r.scene, bodies))
        if len(panels) == 4:
            break
    return panels
