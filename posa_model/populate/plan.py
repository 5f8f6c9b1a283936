"""Who does what where: how many people per interaction, and a free spot for each.

The request is one of:

* **counts** per interaction (``--people "sit:3,lie:1,stand:2"``): exactly those, as far as the
  room has free spots for them (the rest are reported as not placed, with why);
* a **total** with a **mix** of weights (``--bodies 12 --mix "sit:3,stand:1"``): the total is
  shared out by weight (:func:`share_out`), but never beyond the free spots of each kind
  (standing and kneeling share the floor's): what does not fit goes to the others by weight,
  so the mix weighs what the room offers rather than being a draw that then fails;
* **fill** (``--fill seats,beds``): one sitter per free seat, one sleeper per bed lane, added to
  the above;
* **genders** (``--genders "female:1,male:1"``): the weights by which each person's body model
  is drawn (:func:`posa_model.populate.populate`).

Spots are given out in a seeded order. A sofa or bed region used to lie on gives none of its
seats, and the other way round; floor and wall spots within :data:`KEEP_CLEAR` of a spot of
another kind in use are left free (a sitter's legs, a leaner's feet need the room). Frame:
SMPL-X world.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..body import GENDERS
from ..classes import CLASS_ID
from ..errors import ConfigError, UnknownNameError
from .interactions import INTERACTIONS, get_interaction
from .spots import Spot

__all__ = ["KEEP_CLEAR", "Assignment", "PeopleRequest", "assign", "parse_people", "share_out"]

KEEP_CLEAR = 0.8  # m
MAX_PEOPLE = 2000


@dataclass(frozen=True)
class Assignment:
    """One person: ``index`` (their number in the request), the ``interaction`` and the
    ``spot`` (None when the room has no free spot for it)."""

    index: int
    interaction: str
    spot: Spot | None


@dataclass(frozen=True)
class PeopleRequest:
    """What the user asked for (see the module docstring): ``counts`` {interaction: n},
    ``total`` and ``mix`` {interaction: weight}, ``fill`` ⊆ {"seats", "beds"}, ``genders``
    {gender: weight} (each person's body model drawn by these weights; None: the one model
    given)."""

    counts: Mapping[str, int] | None = None
    total: int | None = None
    mix: Mapping[str, float] | None = None
    fill: frozenset = frozenset()
    genders: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if self.genders is not None:
            for key, value in self.genders.items():
                if key not in GENDERS:
                    raise UnknownNameError(f"genders: {key!r} is not a gender; expected one of "
                                           f"{', '.join(GENDERS)}")
                if not (np.isfinite(value) and value >= 0):
                    raise ConfigError(f"genders: {key}: expected a weight >= 0, found "
                                      f"{value!r}")
            if not sum(self.genders.values()) > 0:
                raise ConfigError("genders: expected at least one weight above 0")
        for name, table in (("counts", self.counts), ("mix", self.mix)):
            for key, value in (table or {}).items():
                get_interaction(key)
                if not (np.isfinite(value) and value >= 0):
                    raise ConfigError(f"people {name}: {key}: expected a number >= 0, "
                                      f"found {value!r}")
        bad = set(self.fill) - {"seats", "beds"}
        if bad:
            raise UnknownNameError(f"fill: expected seats and/or beds, found {sorted(bad)}")
        if self.total is not None and not 0 <= self.total <= MAX_PEOPLE:
            raise ConfigError(f"bodies: expected 0..{MAX_PEOPLE}, found {self.total}")
        if sum((self.counts or {}).values()) > MAX_PEOPLE:
            raise ConfigError(f"people: at most {MAX_PEOPLE} in all")


def parse_people(text: str, what: str = "--people", integers: bool = True,
                 names: Sequence[str] | None = None, kind: str = "an interaction") -> dict:
    """"sit:3,lie:1" -> {"sit": 3, "lie": 1} (``integers=False``: weights, floats). Names
    are interactions (or ``names``, each ``kind``: "female:1,male:1" for --genders); errors
    name the option and the bad entry."""
    allowed = tuple(INTERACTIONS) if names is None else tuple(names)
    out: dict = {}
    for entry in (e.strip() for e in text.split(",") if e.strip()):
        match = re.fullmatch(r"([a-z_]+)\s*[:=]\s*([0-9.]+)", entry)
        if match is None:
            raise ConfigError(f"{what}: expected name:number entries such as 'sit:3', "
                              f"found {entry!r}")
        name, value = match.group(1), match.group(2)
        if name not in allowed:
            raise UnknownNameError(f"{what}: {name!r} is not {kind}; expected one of "
                                   f"{', '.join(allowed)}")
        try:
            number = int(value) if integers else float(value)
        except ValueError:
            raise ConfigError(f"{what}: {entry!r}: expected "
                              f"{'a whole number' if integers else 'a number'}") from None
        out[name] = out.get(name, 0) + number
    if not out:
        raise ConfigError(f"{what}: expected at least one name:number entry")
    return out


def share_out(total: int, weights: Mapping[str, float], capacity: Mapping[str, int],
              spot_of: Mapping[str, str] | None = None) -> dict[str, int]:
    """``total`` people over interactions in proportion to ``weights`` (Sainte-Laguë: each
    person goes to the interaction with the largest ``weight / (2 n + 1)``, ties in listing
    order), never beyond the free spots: ``capacity`` {spot kind: free spots}, ``spot_of``
    {interaction: the kind of spot it takes} (default: the interaction's own name), so that
    interactions sharing a kind (standing and kneeling on the floor) share its spots. What does
    not fit goes to the others by weight; the result may sum to less than ``total`` when the
    room is full. Deterministic."""
    spot_of = spot_of or {k: k for k in weights}
    out = {k: 0 for k in weights}
    left = {kind: int(n) for kind, n in capacity.items()}
    for _ in range(max(0, int(total))):
        open_ = [k for k, w in weights.items() if w > 0 and left.get(spot_of[k], 0) > 0]
        if not open_:
            break
        best = max(open_, key=lambda k: weights[k] / (2 * out[k] + 1))  # first of equals
        out[best] += 1
        left[spot_of[best]] -= 1
    return out


def _free_spots(spots: Sequence[Spot]) -> dict[str, int]:
    """{spot kind: number of spots}."""
    out: dict[str, int] = {}
    for s in spots:
        out[s.kind] = out.get(s.kind, 0) + 1
    return out


def assign(request: PeopleRequest, spots: Sequence[Spot], rng: np.random.Generator
           ) -> list[Assignment]:
    """One :class:`Assignment` per person (module docstring for the rules), in a stable order:
    by interaction (their listing order), then by person."""
    counts: dict[str, int] = dict(request.counts or {})
    if request.total:
        mix = dict(request.mix or {n: i.weight for n, i in INTERACTIONS.items()})
        spot_of = {name: i.spot for name, i in INTERACTIONS.items()}
        capacity = _free_spots(spots)
        for k, n in counts.items():
            capacity[spot_of[k]] = max(capacity.get(spot_of[k], 0) - n, 0)
        shared = share_out(request.total, mix, capacity, spot_of)
        for k, n in shared.items():
            counts[k] = counts.get(k, 0) + n
        short = request.total - sum(shared.values())
        if short > 0:  # the room is full: the rest go by weight, to be reported unplaced
            weights = np.array([mix[k] for k in mix], np.float64)
            extra = np.floor(short * weights / max(weights.sum(), 1e-12)).astype(int)
            extra[int(np.argmax(weights))] += short - int(extra.sum())
            for k, n in zip(mix, extra, strict=True):
                counts[k] = counts.get(k, 0) + int(n)
    if "seats" in request.fill:
        counts["sit"] = counts.get("sit", 0) + sum(s.kind == "seat" for s in spots)
    if "beds" in request.fill:
        counts["lie"] = counts.get("lie", 0) + sum(
            s.kind == "bed" and s.class_id == CLASS_ID["bed"] for s in spots)

    free = {kind: [spots[k] for k in rng.permutation(len(spots)) if spots[k].kind == kind]
            for kind in ("seat", "bed", "wall", "floor")}
    # beds before sofas for lying
    free["bed"].sort(key=lambda s: s.class_id != CLASS_ID["bed"])
    used_objects: dict[str, str] = {}  # object -> "lie" or "sit" (a sofa is one or the other)
    used_points: list[tuple[str, np.ndarray]] = []
    out: list[Assignment] = []
    index = 0
    order = sorted(counts, key=lambda n: (INTERACTIONS[n].spot != "bed",
                                          INTERACTIONS[n].spot != "seat",
                                          INTERACTIONS[n].spot != "wall", INTERACTIONS[n].order))
    for name in order:
        kind = INTERACTIONS[name].spot
        for _ in range(int(counts[name])):
            spot = _take(free[kind], kind, used_objects, used_points)
            out.append(Assignment(index, name, spot))
            index += 1
    return out


def _take(pool: list[Spot], kind: str, used_objects: dict[str, str],
          used_points: list[tuple[str, np.ndarray]]) -> Spot | None:
    """The first spot of ``pool`` that is still free (and remove it)."""
    role = "lie" if kind == "bed" else "sit" if kind == "seat" else ""
    for k, spot in enumerate(pool):
        if role and spot.object and used_objects.get(spot.object, role) != role:
            continue
        if kind in ("floor", "wall") and any(  # spots of one kind are spaced already
                k2 != kind and np.linalg.norm((spot.position - p)[[0, 2]]) < KEEP_CLEAR
                for k2, p in used_points):
            continue
        pool.pop(k)
        if role and spot.object:
            used_objects[spot.object] = role
        if kind in ("seat", "wall", "floor"):  # a sitter's legs reach 0.35 m in front
            used_points.append((kind, spot.position + (spot.facing * 0.35 if kind == "seat"
                                                       else 0)))
        return spot
    return None
