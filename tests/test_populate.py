"""Populating rooms: spots, the plan, the interactions' fits and placement with pose refinement.

Rooms are made of boxes written as MeshObjects (SMPL-X world, +y up, metres): a floor, walls,
chairs (a seat, a backrest behind it, legs) of any seat height, a bed (frame, mattress,
headboard). The checks are the issue's: sitters' buttocks within 2 cm of the seat and soles
within 3 cm of the floor (or hanging from a bar stool), facing away from the backrest; lying
bodies on the mattress; no two people alike; the same seed, the same crowd.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import trimesh

from posa_model.body import BodyParts, BodyPose, load_body_model, pose_body
from posa_model.classes import CLASS_ID
from posa_model.errors import ConfigError, UnknownNameError
from posa_model.placement.types import PlacementConfig
from posa_model.populate import PeopleRequest, find_spots, parse_people, populate
from posa_model.populate.interactions import INTERACTIONS
from posa_model.populate.plan import share_out
from posa_model.populate.variety import pose_distance
from posa_model.progress import Progress
from posa_model.sample import load_sampler
from posa_model.scene import MeshObject, build_scene_grid

FAST = PlacementConfig(seed=0, device="cpu", maps=4)


def box(name: str, lo, hi, cls: str) -> MeshObject:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    mesh = trimesh.creation.box(extents=hi - lo)
    mesh.apply_translation((lo + hi) / 2)
    return MeshObject(name, mesh.vertices, mesh.faces, CLASS_ID[cls])


def chair(name: str, x: float, z: float, seat: float, facing_z: float = 1.0) -> list[MeshObject]:
    """A chair at (x, z) facing +z (or -z): seat 0.44 x 0.42 at height ``seat``, a backrest
    behind it 0.45 m high, four legs."""
    back = -facing_z * 0.2
    parts = [box(name, (x - 0.22, seat - 0.04, z - 0.21), (x + 0.22, seat, z + 0.21), "chair"),
             box(f"{name}.back", (x - 0.22, seat, z + back - 0.02),
                 (x + 0.22, seat + 0.45, z + back + 0.02), "chair")]
    for dx in (-0.19, 0.17):
        for dz in (-0.19, 0.17):
            parts.append(box(f"{name}.leg{len(parts)}", (x + dx, 0.0, z + dz),
                             (x + dx + 0.03, seat - 0.04, z + dz + 0.03), "chair"))
    return parts


def room(*furniture: list[MeshObject], size: float = 2.6) -> list[MeshObject]:
    half = size / 2
    objects = [box("Floor", (-half, -0.05, -half), (half, 0.0, half), "floor")]
    for k, (lo, hi) in enumerate((((-half, 0, -half - 0.1), (half, 2.5, -half)),
                                  ((-half, 0, half), (half, 2.5, half + 0.1)),
                                  ((-half - 0.1, 0, -half), (-half, 2.5, half)),
                                  ((half, 0, -half), (half + 0.1, 2.5, half)))):
        objects.append(box(f"Wall.{k}", lo, hi, "wall"))
    for part in furniture:
        objects += part
    return objects


def bed(x: float, z: float) -> list[MeshObject]:
    """A 1.0 x 2.0 m bed along z, mattress top 0.5 m, headboard at +z."""
    return [box("Bed", (x - 0.5, 0.0, z - 1.0), (x + 0.5, 0.3, z + 1.0), "bed"),
            box("Mattress", (x - 0.48, 0.3, z - 0.98), (x + 0.48, 0.5, z + 0.98), "bed"),
            box("Headboard", (x - 0.5, 0.0, z + 1.0), (x + 0.5, 1.0, z + 1.06), "bed")]


@pytest.fixture(scope="module")
def model():
    return load_body_model()


@pytest.fixture(scope="module")
def sampler():
    return load_sampler(device="cpu")


def grid_of(objects):
    return build_scene_grid(objects, resolution=0.05)


# --------------------------------------------------------------------------------------------
# spots and the plan


@pytest.mark.slow
def test_spots_seat_faces_away_from_its_backrest_and_bed_has_its_head_end():
    objects = room(chair("Chair", -0.6, 0.0, 0.45, facing_z=1.0), bed(0.6, 0.0), size=3.0)
    spots = find_spots(grid_of(objects), objects)
    seats = [s for s in spots if s.kind == "seat"]
    beds = [s for s in spots if s.kind == "bed"]
    assert len(seats) == 1 and seats[0].object == "Chair"
    assert seats[0].facing @ [0, 0, 1] > 0.99  # away from the backrest at -z
    assert seats[0].height == pytest.approx(0.45, abs=0.01)
    assert seats[0].back is not None and seats[0].back < 0.25
    assert len(beds) == 1 and beds[0].facing @ [0, 0, 1] > 0.99  # head at the headboard
    assert beds[0].height == pytest.approx(0.5, abs=0.01)
    assert sum(s.kind == "wall" for s in spots) >= 4 and sum(s.kind == "floor" for s in spots)
    assert [s.object for s in find_spots(grid_of(objects), objects, on=["chair*"])] == ["Chair"]


def test_people_options_and_sharing_out():
    assert parse_people("sit:3, lie:1,sit:1") == {"sit": 4, "lie": 1}
    with pytest.raises(UnknownNameError, match="dance"):
        parse_people("dance:2")
    with pytest.raises(ConfigError, match="name:number"):
        parse_people("sit=three")
    with pytest.raises(ConfigError, match=r"PlacementConfig\.maps: expected an int >= 1"):
        PlacementConfig(maps=0)
    # the mix weighs what the room offers: 2 seats, so 6 of 8 go elsewhere by weight
    shared = share_out(8, {"sit": 3.0, "stand": 1.0, "lean": 1.0}, {"sit": 2, "stand": 50,
                                                                   "lean": 50})
    assert shared == {"sit": 2, "stand": 3, "lean": 3}
    assert sum(share_out(5, {"sit": 1.0}, {"sit": 2}).values()) == 2  # the room is full
    # standing and kneeling share the floor's 3 spots; the wall takes the rest
    shared = share_out(8, {"stand": 1.0, "kneel": 0.3, "lean": 0.6}, {"floor": 3, "wall": 9},
                       {"stand": "floor", "kneel": "floor", "lean": "wall"})
    assert shared["stand"] + shared["kneel"] == 3 and shared["lean"] == 5
    assert share_out(2_000_000_000, {"sit": 1.0}, {"sit": 4}) == {"sit": 4}  # bounded by spots


# --------------------------------------------------------------------------------------------
# sitting on seats of every height


@pytest.mark.slow
@pytest.mark.parametrize("seat", [0.38, 0.47, 0.62, 0.82])
def test_a_sitter_fits_seats_from_low_to_bar_stool(seat, model, sampler):
    objects = room(chair("Chair", 0.0, 0.0, seat))
    grid = grid_of(objects)
    result = populate(grid, objects, PeopleRequest(counts={"sit": 1}), model, sampler, FAST,
                      progress=False)
    person = result.people[0]
    assert person.placed, person.reason
    v = person.body.vertices
    parts = BodyParts.from_model(model)
    buttocks = v[parts.regions["buttocks"]]
    assert abs(buttocks[:, 1].min() - seat) <= 0.02  # on the seat, not sunk, not floating
    soles = [v[parts.regions[f"{s}_sole"], 1].min() for s in ("left", "right")]
    if seat < 0.7:
        assert max(abs(h) for h in soles) <= 0.03  # both feet on the floor
    else:
        assert min(soles) > 0.05  # a bar stool: the feet hang
    joints = pose_body(model, person.body.pose).joints[0]
    lateral = joints[1] - joints[2]  # left hip - right hip
    facing = np.cross(lateral, [0.0, 1.0, 0.0])
    facing /= np.linalg.norm(facing)
    assert facing @ [0, 0, 1] > np.cos(np.deg2rad(25))  # away from the backrest
    assert person.body.metrics["non_collision"] >= 0.99
    assert person.check.ok, person.check.describe()  # the sitting rule, on the meshes
    assert person.check.measures["buttocks on the seat"] <= 0.02


@pytest.mark.slow
def test_lying_on_a_bed_and_the_parameters_reproduce_the_body(model, sampler):
    objects = room(bed(0.0, 0.0), size=3.0)
    result = populate(grid_of(objects), objects, PeopleRequest(counts={"lie": 1}), model,
                      sampler, FAST, progress=False)
    person = result.people[0]
    assert person.placed, person.reason
    v = person.body.vertices
    parts = BodyParts.from_model(model)
    trunk = v[parts.mask("torso", "pelvis")]
    assert np.abs(trunk[:, 0]).max() < 0.5 and np.abs(trunk[:, 2]).max() < 1.0  # on it
    assert abs(trunk[:, 1].min() - 0.5) < 0.03
    assert person.check.ok and person.check.measures["share on it"] >= 0.95
    again = pose_body(model, person.body.pose).vertices[0]
    assert np.abs(again - v).max() < 1e-4


# --------------------------------------------------------------------------------------------
# the crowd


@pytest.mark.slow
def test_a_crowd_is_varied_and_the_same_seed_gives_the_same_crowd(model, sampler):
    objects = room(chair("Chair.001", -0.7, -0.6, 0.45), chair("Chair.002", 0.7, -0.6, 0.45),
                   size=4.0)
    grid = grid_of(objects)
    request = PeopleRequest(counts={"sit": 2, "stand": 2, "lean": 1})
    first = populate(grid, objects, request, model, sampler, FAST, progress=False)
    placed = [p for p in first.people if p.placed]
    assert len(placed) == 5, [p.reason for p in first.people]
    poses = BodyPose.concatenate([p.body.pose for p in placed])
    betas = poses.betas
    assert len({tuple(np.round(b, 4)) for b in betas}) == len(placed)  # no two shapes alike
    assert np.abs(betas).max() <= 2.0  # within +-2 sigma
    same = [p for p in placed if p.interaction == "stand"]
    distance = pose_distance(same[0].body.pose, same[1].body.pose)[0, 0]
    assert distance > 0.02  # two standers are not the same pose (radians, mean per joint)
    assert first.metrics["body_penetration_max"] <= 0.01
    again = populate(grid, objects, request, model, sampler, FAST, progress=False)
    for a, b in zip(first.people, again.people, strict=True):
        assert a.placed == b.placed
        if a.placed:
            np.testing.assert_array_equal(a.body.vertices, b.body.vertices)
    other = populate(grid, objects, request, model, sampler, replace(FAST, seed=1),
                     progress=False)
    assert not np.array_equal(other.people[0].body.pose.betas, first.people[0].body.pose.betas)


@pytest.mark.slow
def test_the_progress_bar_total_is_fixed_and_it_only_moves_forward(model, sampler):
    objects = room(chair("Chair", 0.0, 0.0, 0.45), size=3.0)
    seen: list[float] = []
    bar = Progress.bar("populate", enabled=True, report=seen.append)
    total = bar._bar.tqdm.total
    populate(grid_of(objects), objects, PeopleRequest(counts={"sit": 1, "stand": 2}), model,
             sampler, FAST, progress=bar)
    assert bar._bar.tqdm.total == total  # never grown while working
    bar.close()
    assert len(seen) >= 10 and seen[0] < 0.1 and seen[-1] == 1.0
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False))
    steps = np.diff([0.0, *seen])
    assert steps.max() < 0.5  # it moves along the way, not in one jump at the end


@pytest.mark.slow
def test_people_already_there_keep_their_seat(model, sampler):
    objects = room(chair("Chair", 0.0, 0.0, 0.45))
    grid = grid_of(objects)
    first = populate(grid, objects, PeopleRequest(counts={"sit": 1}), model, sampler, FAST,
                     progress=False)
    assert first.people[0].placed
    second = populate(grid, objects, PeopleRequest(counts={"sit": 1}), model, sampler, FAST,
                      obstacles=[first.people[0].body.vertices], progress=False)
    assert not second.people[0].placed
    assert "no free seat" in second.people[0].reason


def test_every_interaction_is_one_module_with_what_it_needs():
    assert {"sit", "lie", "stand", "lean", "kneel"} <= set(INTERACTIONS)
    for name, interaction in INTERACTIONS.items():
        assert interaction.name == name and interaction.spot in ("seat", "bed", "wall", "floor")
        assert interaction.presets and interaction.touches and interaction.description
