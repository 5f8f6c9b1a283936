"""Populate a room: people using what it offers, each one different, placed by POSA's maps.

    >>> from posa_model.populate import PeopleRequest, populate
    >>> result = populate(grid, objects, PeopleRequest(counts={"sit": 4, "lie": 1}))
    >>> [p.name for p in result.people if p.placed]

Steps: the room's spots (:mod:`.spots`) less those people already in the scene take; a spot
per person (:mod:`.plan`); per person a seeded start pose of their interaction, a shape and
pose variation (:mod:`.variety`); the pose fitted to the spot (:mod:`.interactions`); all of
them placed together by :func:`posa_model.place.place_bodies` with their targets (POSA maps,
batched scoring, pose refinement, no overlaps). Someone who finds no acceptable placement
tries again, everyone placed so far as obstacles: first as another variation of themselves
(shape and pose) at the same spot, then at the nearest free spots of the same kind, up to
``retries`` tries; who still fails is reported with the reason of their last try.

Seeds: person ``i``'s start pose, shape and variation come from ``seed_for(config.seed, i)``,
so the same seed gives the same crowd. Frame: SMPL-X world (+y up, metres).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..body import BodyModel, BodyParts, BodyPose
from ..errors import ConfigError
from ..placement.bodies import ObstacleField
from ..placement.floor import FloorMap
from ..placement.maps import seed_for
from ..placement.metrics import exact_non_collision, summarize
from ..placement.types import BodyRequest, PlacedBody, PlacementConfig, PlacementResult
from ..progress import Progress
from ..scene.grid import SceneGrid
from ..scene.objects import settle_drop
from .interactions import INTERACTIONS, FitContext
from .interactions.base import Check
from .plan import Assignment, PeopleRequest, assign
from .spots import Spot, describe_spots, find_spots
from .variety import draw_betas

__all__ = ["DEFAULT_CONFIG", "Person", "PopulateResult", "populate"]

#: The default placement settings (frozen: safe to share).
DEFAULT_CONFIG = PlacementConfig()


@dataclass
class Person:
    """One person asked for: ``name`` ("sit.003"), ``interaction``, the ``spot`` of their last
    try (None when the room had none free), ``placed``, ``reason`` (why not, "" when placed),
    ``body`` (:class:`~posa_model.place.PlacedBody`: vertices, map, metrics, and ``pose``, the
    :class:`~posa_model.body.BodyPose` that reproduces the vertices), ``tries`` and, when
    placed at a spot, ``check``: how well they do their interaction there, measured exactly
    (:meth:`~.interactions.base.Interaction.check`); ``gender``: their body model's."""

    name: str
    interaction: str
    spot: Spot | None
    placed: bool
    reason: str
    body: PlacedBody | None
    tries: int
    check: Check | None = None
    gender: str = "neutral"


@dataclass
class PopulateResult:
    """``people`` in request order, the room's ``spots``, overall and per-interaction
    ``metrics``, ``seconds`` per stage and the body mesh's ``faces`` (F, 3)."""

    people: list[Person]
    spots: list[Spot]
    metrics: dict
    seconds: dict
    faces: np.ndarray

    def placement_result(self) -> PlacementResult:
        """The people as a :class:`~posa_model.place.PlacementResult` (for the writers of
        :mod:`posa_model.placement.output`)."""
        bodies = [p.body if p.body is not None else _unplaced(p, len(self.faces))
                  for p in self.people]
        return PlacementResult(bodies, self.metrics, self.seconds)


def _unplaced(person: Person, num_faces: int) -> PlacedBody:
    empty = np.zeros((0, 3), np.float32)
    return PlacedBody(person.name, False, person.reason, 0.0, np.zeros(3), np.eye(4), empty,
                      np.zeros(0, np.float32), np.zeros(0, np.int64), -1, {})


def populate(grid: SceneGrid, objects: Sequence, request: PeopleRequest,
             model: BodyModel | Mapping[str, BodyModel] | None = None, sampler=None,
             config: PlacementConfig = DEFAULT_CONFIG, on: Sequence[str] = (),
             obstacles: Sequence[np.ndarray] = (), retries: int = 4,
             progress: bool | Progress = True, poses: Sequence[BodyPose] = (),
             near: tuple[np.ndarray, float] | None = None) -> PopulateResult:
    """Populate the scene; see the module docstring.

    Args:
        grid: the scene's grids (SMPL-X world). objects: its
            :class:`~posa_model.scene.MeshObject` s (spot names, exact distances); may be empty.
        request: who to place (:class:`.plan.PeopleRequest`).
        model: the body model (None: the stand-in), or {gender: body model} for a request
            with ``genders`` (one mesh: SMPL-X's three models); sampler: a loaded
            :class:`~posa_model.sample.Sampler` (None: the shipped checkpoint on
            ``config.device``).
        config: placement settings and the seed. on: object name patterns: only their seats
            and beds are used. obstacles: (V, 3) vertices of people already in the scene; the
            spots they take (a seat under someone) are not offered.
        retries: further tries for someone who does not fit: the first with another variation
            at the same spot, the next at other free spots of the same kind, and where none is
            left, more variations at the same spot (a crowded table's corner seat).
        poses: one-body poses (a user's pose files) placed wherever their maps fit, as the
            people called after the poses' names.
        near: (point (3,), radius m): only spots within ``radius`` of ``point`` horizontally
            (keeping a regenerated person where they were).
        progress: True: a progress bar whose total is fixed before the work starts; False:
            none; or a :class:`~posa_model.progress.Progress` share of the caller's bar (with
            its own ``report`` callback, e.g. Blender's).
    """
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    bar = Progress.of(progress, "populate")
    spots_share, *attempt_shares = bar.parts([0.03, *_attempt_weights(retries)])
    bar.describe("populate: finding spots")
    try:
        result = _populate(grid, objects, request, model, sampler, config, on, obstacles,
                           retries, poses, near, spots_share, attempt_shares, started, seconds)
    except BaseException:
        if not isinstance(progress, Progress):
            bar.close(complete=False)
        raise
    if not isinstance(progress, Progress):
        bar.close()
    return result


def _attempt_weights(retries: int) -> list[float]:
    """Shares of the bar per try: the first places everyone, retries only who failed."""
    tries = 1 + max(0, retries)
    return [0.8 if k == 0 else 0.17 / (tries - 1) for k in range(tries)]


def _populate(grid, objects, request, model, sampler, config, on, obstacles, retries, poses,
              near, spots_share: Progress, attempt_shares: list[Progress], started: float,
              seconds: dict) -> PopulateResult:
    from ..body import load_body_model
    from ..placement.api import place_bodies
    from ..sample import load_sampler

    models = _models(model if model is not None else load_body_model(), request)
    sampler = sampler if sampler is not None else load_sampler(device=config.device)
    floor, by_name = FloorMap(grid), {o.name: o for o in objects}
    ctxs = {g: FitContext(m, BodyParts.from_model(m), grid, floor, by_name)
            for g, m in models.items()}
    first = next(iter(models))
    fixed = _Placed(obstacles, ObstacleField(grid, sampler, config.refine_level))
    settle = (lambda v: settle_drop(objects, v)) if len(objects) else None
    spots = [s for s in find_spots(grid, objects, on=on)
             if not _occupied(s, fixed) and (near is None or np.linalg.norm(
                 (s.position - np.asarray(near[0], np.float64))[[0, 2]]) <= near[1])]
    plan = assign(request, spots, np.random.default_rng(seed_for(config.seed, 0, 7000)))
    seconds["spots"] = time.perf_counter() - started
    spots_share.finish()
    taken = {id(a.spot) for a in plan if a.spot is not None}
    spare = {kind: [s for s in spots if s.kind == kind and id(s) not in taken]
             for kind in ("seat", "bed", "wall", "floor")}
    people = {a.index: Person(f"{a.interaction}.{a.index:03d}", a.interaction, a.spot, False,
                              _no_spot(a, spots), None, 0,
                              gender=_gender(request, models, config.seed, a.index))
              for a in plan}
    free = []  # the poses placed anywhere: (person index, request), with the first model
    for pose in poses:
        index = len(people)
        name = f"{pose.names[0] or 'pose'}.{index:03d}"
        people[index] = Person(name, "pose", None, False, "", None, 0, gender=first)
        free.append((index, BodyRequest(None, name, info={"pose": pose.names[0], "person": index},
                                        pose=pose.take([0]))))
    pending = [a for a in plan if a.spot is not None]
    for attempt, share in enumerate(attempt_shares):
        if not pending and not free:
            break
        share.describe("populate: fitting" if attempt == 0 else f"populate: retry {attempt}")
        # one placement per body model (gender), each around the people placed before it
        groups = {g: [a for a in pending if people[a.index].gender == g] for g in models}
        groups = {g: mine for g, mine in groups.items() if mine or (g == first and free)}
        sizes = [len(mine) + (len(free) if g == first else 0) for g, mine in groups.items()]
        retry = []
        for (gender, mine), part in zip(groups.items(), share.parts(sizes), strict=True):
            fitting, placing = part.parts([0.05, 0.95])
            clock = time.perf_counter()
            requests = _requests(ctxs[gender], mine, people, config.seed, attempt)
            loose = free if gender == first else []
            requests += [r for _, r in loose]
            seconds["fitting"] = seconds.get("fitting", 0.0) + time.perf_counter() - clock
            fitting.finish()
            result = place_bodies(grid, requests, sampler, replace(config, rounds=2),
                                  obstacles=list(fixed), progress=placing,
                                  model=models[gender], settle=settle,
                                  obstacle_field=fixed.field)
            for key, value in result.seconds.items():
                seconds[key] = seconds.get(key, 0.0) + value
            for (index, _), body in zip(loose, result.bodies[len(mine):], strict=True):
                person = people[index]
                person.tries += 1
                person.placed, person.reason, person.body = body.placed, body.reason, body
                if body.placed:
                    fixed.append(body.vertices, in_field=True)
            for a, body in zip(mine, result.bodies[:len(mine)], strict=True):
                retry += _outcome(people[a.index], a, body, attempt, fixed, spare)
        free = []
        pending = retry
        share.finish()
        share.note(f"placed {sum(p.placed for p in people.values())}/{len(people)}")
    ordered = [people[i] for i in sorted(people)]
    clock = time.perf_counter()
    for person in ordered:
        if person.placed and len(objects):  # measured on the meshes, not the grid
            m = person.body.metrics
            m["non_collision_grid"] = m["non_collision"]
            m["non_collision"] = exact_non_collision(objects, person.body.vertices)
        if person.placed and person.spot is not None and person.body.pose is not None:
            ctx = ctxs[person.gender]
            joints = ctx.joints(person.body.pose)[0]
            person.check = INTERACTIONS[person.interaction].check(
                ctx, np.asarray(person.body.vertices, np.float64), joints, person.spot)
    seconds["checks"] = time.perf_counter() - clock
    metrics = _metrics(ordered)
    metrics["spots"] = describe_spots(spots)
    seconds["total"] = time.perf_counter() - started
    return PopulateResult(ordered, spots, metrics, seconds, models[first].faces)


def _models(model, request: PeopleRequest) -> dict[str, BodyModel]:
    """{gender: body model}, the request's genders first by weight (the first one also places
    the users' pose files): ``model`` a :class:`BodyModel` (its own gender) or a mapping
    {gender: BodyModel}, which must hold every gender the request weighs and share one mesh."""
    models = dict(model) if isinstance(model, Mapping) else {model.gender: model}
    if not models:
        raise ConfigError("populate: no body model given")
    wanted = [g for g, w in sorted((request.genders or {}).items(), key=lambda i: -i[1])
              if w > 0]
    missing = [g for g in wanted if g not in models]
    if missing:
        raise ConfigError(f"genders: no {', '.join(missing)} body model (have "
                          f"{', '.join(models)}); give an SMPL-X folder holding "
                          + ", ".join(f"SMPLX_{g.upper()}.npz" for g in missing))
    order = wanted or list(models)
    models = {g: models[g] for g in order}
    faces = next(iter(models.values())).faces
    for g, m in models.items():
        if m.faces.shape != faces.shape or not np.array_equal(m.faces, faces):
            raise ConfigError(f"genders: the {g} body model's mesh is not the "
                              f"{next(iter(models))} one's: the people must share one mesh")
    return models


def _gender(request: PeopleRequest, models: dict[str, BodyModel], seed: int,
            index: int) -> str:
    """Person ``index``'s gender: drawn by the request's weights (seeded per person), else the
    first model's."""
    genders = [g for g in models if (request.genders or {}).get(g, 0) > 0]
    if not genders:
        return next(iter(models))
    weights = np.array([request.genders[g] for g in genders], np.float64)
    rng = np.random.default_rng(seed_for(seed, index, 9100))
    return str(genders[int(rng.choice(len(genders), p=weights / weights.sum()))])


def _outcome(person: Person, a: Assignment, body: PlacedBody, attempt: int,
             fixed: _Placed, spare: dict[str, list[Spot]]) -> list[Assignment]:
    """Record one try of ``person`` at ``a``; returns their next try ([] when placed or when
    no free spot is left): first another variation at the same spot, then the nearest other
    free spot of the kind, and where none is left, more variations at the same spot."""
    person.tries += 1
    person.spot = a.spot
    if body.placed:
        person.placed, person.reason, person.body = True, "", body
        fixed.append(body.vertices, in_field=True)
        return []
    person.reason = f"{a.spot.describe()}: {body.reason}"
    nxt = _next_spot(spare, a.spot, fixed) if attempt > 0 else None
    if nxt is not None:
        return [Assignment(a.index, a.interaction, nxt)]
    return [] if _occupied(a.spot, fixed) else [a]  # another variation at the same spot


def _no_spot(a: Assignment, spots: Sequence[Spot]) -> str:
    if a.spot is not None:
        return ""
    kind = INTERACTIONS[a.interaction].spot
    total = sum(s.kind == kind for s in spots)
    return (f"no free {kind} spot left in the room ({total} in all"
            + (", all taken by the people before" if total else "") + ")")


class _Placed(list):
    """The bodies in the room so far ((V, 3) float64 vertices each, a list), with each one's
    centre and top (for :func:`_occupied`) and their :class:`ObstacleField` (rasterised once
    each, for every placement pass)."""

    def __init__(self, bodies, field: ObstacleField):
        super().__init__()
        self.field = field
        self.centres: list[np.ndarray] = []
        self.tops: list[float] = []
        for v in bodies:
            self.append(v)

    def append(self, vertices, in_field: bool = False) -> None:
        """One more body; ``in_field``: placement has rasterised it into the field already."""
        v = np.asarray(vertices, np.float64)
        super().append(v)
        self.centres.append(v.mean(axis=0))
        self.tops.append(float(v[:, 1].max()))
        if not in_field:
            self.field.add(v)


def _occupied(spot: Spot, fixed: _Placed, radius: float = 0.3) -> bool:
    """Whether someone already placed has their centre within ``radius`` of the spot
    horizontally, at the spot's height or above it."""
    if not fixed:
        return False
    centres, tops = np.array(fixed.centres), np.array(fixed.tops)
    near = np.linalg.norm((centres - spot.position)[:, [0, 2]], axis=1) < radius
    return bool((near & (tops > spot.position[1])).any())


def _next_spot(spare: dict[str, list[Spot]], spot: Spot, fixed: _Placed) -> Spot | None:
    """Another free spot of the same kind, nearest to the one that failed, not under someone
    placed meanwhile."""
    pool = spare[spot.kind]
    order = sorted(range(len(pool)),
                   key=lambda k: float(np.linalg.norm(pool[k].position - spot.position)))
    for k in order:
        if _occupied(pool[k], fixed, 0.4):
            continue
        return pool.pop(k)
    return None


def _requests(ctx: FitContext, pending: list[Assignment], people: dict[int, Person],
              seed: int, attempt: int) -> list[BodyRequest]:
    """Fitted, posed requests for ``pending`` (grouped by interaction, fitted in batches)."""
    requests: dict[int, BodyRequest] = {}
    for name in INTERACTIONS:
        group = [a for a in pending if a.interaction == name]
        if not group:
            continue
        interaction = INTERACTIONS[name]
        poses, options = [], []
        for a in group:
            rng = np.random.default_rng(seed_for(seed, a.index, 100 + attempt))
            pose = interaction.start(rng, 1).replace(betas=draw_betas(rng, 1))
            options.append(interaction.vary(rng, pose, [a.spot]))
            poses.append(pose)
        pose = BodyPose.concatenate(poses)
        merged = {key: np.concatenate([np.atleast_1d(o[key]) for o in options])
                  for key in options[0]}
        spots = [a.spot for a in group]
        fitted = interaction.fit(ctx, pose, spots, merged)
        for k, a in enumerate(group):
            person = people[a.index]
            requests[a.index] = BodyRequest(
                None, person.name,
                info={"pose": person.interaction, "interaction": person.interaction,
                      "spot": a.spot.describe(), "person": a.index},
                pose=fitted.pose.take([k]), target=fitted.target(k, a.spot))
    return [requests[a.index] for a in pending]


def _metrics(people: list[Person]) -> dict:
    """Overall placement metrics (:func:`posa_model.placement.metrics.summarize`) and per
    interaction: requested, placed, checks passed."""
    metrics = summarize([p.body.metrics if p.body is not None else {} for p in people],
                        [p.placed for p in people])
    per = {}
    for name in dict.fromkeys(p.interaction for p in people):
        mine = [p for p in people if p.interaction == name]
        per[name] = {"requested": len(mine), "placed": sum(p.placed for p in mine),
                     "checks_passed": sum(p.check is not None and p.check.ok for p in mine)}
    metrics["interactions"] = per
    return metrics
