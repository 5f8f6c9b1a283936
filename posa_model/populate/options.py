"""The options of populating a room, shared by every front end with the same names and meanings.

``python -m posa_model.place`` and ``scripts/populate_scene.py`` add them with
:func:`add_people_arguments`; the Blender operators' properties carry the same names
(``people``, ``bodies``, ``mix``, ``fill``, ``on``, ``genders``, ``seed``, ``device``,
``grid_resolution``) and call :func:`people_request` with them.

* ``--people "sit:3,lie:1,stand:2"``: exactly these (interactions: see ``--help``).
* ``--bodies N`` and ``--mix "sit:3,stand:1"``: N people shared out by the mix's weights over
  what the room offers (default mix: the interactions' own weights).
* ``--fill seats,beds``: one sitter per free seat, one sleeper per bed place.
* ``--on "Chair.*,Sofa"``: only these objects' seats and beds (glob patterns, any case); with
  ``--on`` and nothing else, its seats and beds are filled.
* ``--genders "female:1,male:1"``: each person's body model (gender) drawn by these weights,
  from an SMPL-X folder holding those models (``SMPLX_FEMALE.npz``, ``SMPLX_MALE.npz``).
* Without any of them: :data:`DEFAULT_BODIES` people in the default mix.
"""

from __future__ import annotations

import argparse

from .. import cli
from ..body import GENDERS
from ..errors import ConfigError, UnknownNameError
from .interactions import INTERACTIONS
from .plan import MAX_PEOPLE, PeopleRequest, parse_people

__all__ = ["DEFAULT_BODIES", "add_people_arguments", "on_patterns", "people_request"]

DEFAULT_BODIES = 10


def add_people_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --people, --bodies, --mix, --fill, --on, --seed, --device, --grid-resolution."""
    names = ", ".join(f"{n} ({i.spot})" for n, i in INTERACTIONS.items())
    group = parser.add_argument_group("who to place", f"interactions: {names}")
    group.add_argument("--people", default=None,
                       help="exact counts per interaction, e.g. 'sit:3,lie:1,stand:2'")
    group.add_argument("--bodies", type=cli.int_range(0, MAX_PEOPLE), default=None,
                       help=f"a number of people shared out by --mix (default {DEFAULT_BODIES} "
                            "when nothing else says who)")
    group.add_argument("--mix", default=None,
                       help="weights for --bodies, e.g. 'sit:3,stand:1' (default: "
                            + ",".join(f"{n}:{i.weight:g}" for n, i in INTERACTIONS.items())
                            + ")")
    group.add_argument("--fill", default=None,
                       help="'seats', 'beds' or 'seats,beds': someone on every free one")
    group.add_argument("--on", default=None,
                       help="only these objects' seats and beds: names or glob patterns, e.g. "
                            "'Chair.*,Sofa' (alone: fill them)")
    group.add_argument("--genders", default=None,
                       help="weights of the body models' genders, e.g. 'female:1,male:1': each "
                            "person's drawn by them (needs an SMPL-X folder with those model "
                            "files as --body; default: --gender for everyone)")
    group.add_argument("--seed", type=cli.seed, default=0,
                       help="the same seed gives the same people (default 0)")
    group.add_argument("--device", type=cli.device, default="auto",
                       help="auto | cpu | cuda[:N] (default auto)")
    group.add_argument("--grid-resolution", type=cli.finite_float(0.01, 0.5), default=0.05,
                       help="the scene grid's node spacing in metres (default 0.05)")


def on_patterns(text: str | None) -> tuple[str, ...]:
    """'Chair.*, Sofa' -> ('Chair.*', 'Sofa')."""
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def people_request(people: str | None = None, bodies: int | None = None,
                   mix: str | None = None, fill: str | None = None,
                   on: str | None = None, genders: str | None = None) -> PeopleRequest:
    """The :class:`~.plan.PeopleRequest` the options say (module docstring); UnknownNameError
    (a name that is not an interaction or a fill) or ConfigError naming the option for anything
    else malformed."""
    fills = frozenset(f.strip() for f in (fill or "").split(",") if f.strip())
    if fills - {"seats", "beds"}:
        raise UnknownNameError(f"--fill: expected seats and/or beds, found {fill!r}")
    counts = parse_people(people, "--people") if people else None
    weights = parse_people(mix, "--mix", integers=False) if mix else None
    if weights is not None and bodies is None:
        raise ConfigError("--mix: weights need --bodies N (how many people to share out)")
    if counts is None and bodies is None and not fills:
        if on_patterns(on):
            fills = frozenset({"seats", "beds"})
        else:
            bodies = DEFAULT_BODIES
    gender_weights = parse_people(genders, "--genders", integers=False, names=GENDERS,
                                  kind="a gender") if genders else None
    return PeopleRequest(counts=counts, total=bodies, mix=weights, fill=fills,
                         genders=gender_weights)
