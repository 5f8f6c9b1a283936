"""The example rooms in examples/rooms: their files against their ground-truth JSON.

Checked on the committed files, with trimesh and numpy only (no bpy): every room loads; the
seats are where and as high as the JSON says (rays cast down from above); chairs and stools
face what they are pushed in at, their seat's front edge 0-0.15 m under its edge; no piece
reaches into a wall, floats or sinks; groups of pieces leave 0.7 m of floor between them
(0.8 m in the apartment); the apartment holds the pieces it is described with; the furniture
has the standard heights; and the generator (tools/make_example_rooms.py) writes
the same bytes again. Frames: glTF, +y up, metres.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

trimesh = pytest.importorskip("trimesh")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ROOMS = sorted(p.stem for p in (EXAMPLES / "rooms").glob("*.json"))
KINDS = {"chair", "armchair", "sofa", "bed", "table", "stool", "bench", "desk", "counter",
         "nightstand", "wardrobe", "sideboard", "fridge", "bookshelf", "tv_stand", "rug"}
TOL = 1e-3  # metres: float32 storage and rounding


def _room(name: str) -> dict:
    return json.loads((EXAMPLES / "rooms" / f"{name}.json").read_text())


_LOADED: dict[str, tuple] = {}


def _load(name: str):
    """(info JSON, {piece name: world vertices (N, 3)}, shell vertices (N, 3), all triangles
    (T, 3, 3)) of a room, world frame (+y up, metres)."""
    if name not in _LOADED:
        info = _room(name)
        scene = trimesh.load(EXAMPLES / "rooms" / info["file"], force="scene", process=False)
        parents = scene.graph.transforms.parents
        names = {p["name"] for p in info["pieces"]}
        pieces: dict[str, list] = {n: [] for n in names}
        shell, triangles = [], []
        for node in scene.graph.nodes_geometry:
            transform, geom_name = scene.graph[node]
            geom = scene.geometry[geom_name]
            world = trimesh.transform_points(np.asarray(geom.vertices, np.float64), transform)
            triangles.append(world[np.asarray(geom.faces)])
            owner = node
            while owner not in names and owner in parents:
                owner = parents[owner]
            (pieces[owner] if owner in names else shell).append(world)
        _LOADED[name] = (info, {k: np.concatenate(v) for k, v in pieces.items() if v},
                         np.concatenate(shell), np.concatenate(triangles))
    return _LOADED[name]


def heights_below(triangles: np.ndarray, x: float, z: float, start: float) -> float:
    """Height (m) of the first surface a ray cast straight down from (x, start, z) meets, or
    NaN; ``triangles`` (T, 3, 3) world vertices."""
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    v0, v1 = (b - a)[:, [0, 2]], (c - a)[:, [0, 2]]
    p = np.array([x, z]) - a[:, [0, 2]]
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    ok = np.abs(det) > 1e-12
    det = np.where(ok, det, 1.0)
    u = (p[:, 0] * v1[:, 1] - p[:, 1] * v1[:, 0]) / det
    v = (v0[:, 0] * p[:, 1] - v0[:, 1] * p[:, 0]) / det
    hit = ok & (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9)
    y = a[:, 1] + u * (b - a)[:, 1] + v * (c - a)[:, 1]
    y = y[hit & (y <= start)]
    return float(y.max()) if len(y) else float("nan")


def _footprint(vertices: np.ndarray) -> np.ndarray:
    """(2, 2) [[x min, z min], [x max, z max]] of vertices (N, 3)."""
    return np.array([vertices[:, [0, 2]].min(axis=0), vertices[:, [0, 2]].max(axis=0)])


def _groups(info: dict) -> dict[str, str]:
    """Piece name -> the name of the piece it is used with, followed to the end (a chair's
    table), or its own name."""
    at = {p["name"]: p["at"] for p in info["pieces"]}
    out = {}
    for name in at:
        root = name
        while at.get(root):
            root = at[root]
        out[name] = root
    return out


def test_the_rooms_are_there_and_small():
    assert {"dining_room", "bedroom", "living_room", "office", "kitchen",
            "living_room_downloaded", "example_room", "apartment"} <= set(ROOMS)
    assert (EXAMPLES / "rooms" / "example_room.glb").stat().st_size < 1_000_000
    total = sum(p.stat().st_size for p in EXAMPLES.rglob("*") if p.is_file())
    assert total < 6.5e6, f"examples/ holds {total / 1e6:.1f} MB"


@pytest.mark.parametrize("name", ROOMS)
def test_room_json_is_consistent(name):
    info = _room(name)
    assert (EXAMPLES / "rooms" / info["file"]).is_file()
    names = [p["name"] for p in info["pieces"]]
    assert len(set(names)) == len(names)
    assert info["seats_total"] == sum(p["seats"] for p in info["pieces"])
    for piece in info["pieces"]:
        assert piece["kind"] in KINDS, piece["name"]
        assert (EXAMPLES / "rooms" / ".." / piece["asset"]).is_file(), piece["asset"]
        assert piece["seats"] == len(piece["seat_positions"]), piece["name"]
        assert piece["at"] is None or piece["at"] in names, piece["name"]
        if piece["faces"] is not None:
            assert np.linalg.norm(piece["faces"]) == pytest.approx(1.0), piece["name"]
            assert piece["faces"][1] == 0.0
        if piece["seats"]:
            assert piece["use"] in ("sit", "lie")


@pytest.mark.parametrize("name", ROOMS)
def test_room_loads_with_its_pieces_floor_and_walls(name):
    info, pieces, shell, _ = _load(name)
    assert set(pieces) == {p["name"] for p in info["pieces"]}
    scene = trimesh.load(EXAMPLES / "rooms" / info["file"], force="scene", process=False)
    nodes = set(scene.graph.nodes)
    if info["shell"] == "walls":
        assert {info["floor"], *info["walls"]} <= nodes
    else:  # one inside-out mesh: floor, walls and ceiling
        assert info["room_mesh"] in nodes and not info["walls"] and info["floor"] is None
        (x0, x1), (z0, z1) = info["interior"]["x"], info["interior"]["z"]
        np.testing.assert_allclose(shell.min(axis=0), [x0, 0.0, z0], atol=TOL)
        np.testing.assert_allclose(shell.max(axis=0), [x1, info["wall_height"], z1], atol=TOL)


@pytest.mark.parametrize("name", ROOMS)
def test_seats_are_at_the_json_heights(name):
    info, _, _, triangles = _load(name)
    checked = 0
    for piece in info["pieces"]:
        for x, y, z in piece["seat_positions"]:
            found = heights_below(triangles, x, z, start=1.9)
            assert found == pytest.approx(y, abs=0.02), (piece["name"], (x, y, z), found)
            checked += 1
    assert checked == info["seats_total"]


@pytest.mark.parametrize("name", ROOMS)
def test_table_tops_are_at_the_json_heights(name):
    info, pieces, _, triangles = _load(name)
    for piece in info["pieces"]:
        if piece["top_height"] is None or piece["kind"] not in ("table", "desk", "counter"):
            continue
        x, _, z = piece["position"]
        lo, hi = _footprint(pieces[piece["name"]])
        x = min(max(x, lo[0] + 0.1), hi[0] - 0.1)
        found = heights_below(triangles, x, z, start=1.9)
        assert found == pytest.approx(piece["top_height"], abs=0.01), piece["name"]


@pytest.mark.parametrize("name", ROOMS)
def test_seats_face_what_they_are_pushed_in_at(name):
    """The seat looks at its table (a line from the seat along where it faces runs over the
    table's top, ahead of the seat), and its front edge is 0-0.15 m under the table's edge."""
    info, pieces, _, _ = _load(name)
    by_name = {p["name"]: p for p in info["pieces"]}
    checked = 0
    for piece in info["pieces"]:
        if not piece["seats"] or piece["at"] is None or piece["kind"] not in ("chair", "stool"):
            continue
        table = by_name[piece["at"]]
        faces = np.array(piece["faces"])[[0, 2]]
        seat = np.array(piece["seat_positions"][0])
        table_vertices = pieces[table["name"]]
        top = table_vertices[table_vertices[:, 1] > table["top_height"] - 0.05][:, [0, 2]]
        side = np.array([-faces[1], faces[0]])
        across = top @ side
        assert across.min() + 0.05 < seat[[0, 2]] @ side < across.max() - 0.05, piece["name"]
        edge = float((top @ faces).min())
        assert edge > seat[[0, 2]] @ faces, f"{piece['name']} faces away from {table['name']}"
        chair = pieces[piece["name"]]
        at_seat = chair[np.abs(chair[:, 1] - seat[1]) < 0.05]
        front = float((at_seat[:, [0, 2]] @ faces).max())
        assert 0.0 <= front - edge <= 0.15, (piece["name"], front - edge)
        checked += 1
    if name in ("dining_room", "kitchen", "office"):
        assert checked >= 2
    if name == "apartment":  # four dining chairs, the office chair, two bar stools
        assert checked == 7


@pytest.mark.parametrize("name", ROOMS)
def test_pieces_stand_on_the_floor_inside_the_walls(name):
    info, pieces, shell, _ = _load(name)
    (x0, x1), (z0, z1) = info["interior"]["x"], info["interior"]["z"]
    for piece_name, vertices in pieces.items():
        lo, hi = vertices.min(axis=0), vertices.max(axis=0)
        assert lo[1] == pytest.approx(0.0, abs=TOL), f"{piece_name} floats or sinks: {lo[1]}"
        assert lo[0] >= x0 - TOL and hi[0] <= x1 + TOL, f"{piece_name} reaches into a wall"
        assert lo[2] >= z0 - TOL and hi[2] <= z1 + TOL, f"{piece_name} reaches into a wall"
        assert hi[1] < info["wall_height"], piece_name
    # no wall or floor vertex inside the room's interior
    inside = ((shell[:, 0] > x0 + TOL) & (shell[:, 0] < x1 - TOL) & (shell[:, 2] > z0 + TOL)
              & (shell[:, 2] < z1 - TOL) & (shell[:, 1] > TOL)
              & (shell[:, 1] < info["wall_height"] - TOL))
    assert not inside.any()


#: Free floor (m) between groups of pieces: 0.7 m, more where a room promises it.
MIN_GAP = {"apartment": 0.8}


@pytest.mark.parametrize("name", ROOMS)
def test_people_can_stand_between_groups_of_pieces(name):
    """Pieces not used together (a table and its chairs are one group) leave at least 0.7 m
    (:data:`MIN_GAP`) of free floor between their footprints (rugs excepted)."""
    info, pieces, _, _ = _load(name)
    least = MIN_GAP.get(name, 0.7)
    groups = _groups(info)
    solid = [p["name"] for p in info["pieces"] if p["kind"] != "rug"]
    for i, a in enumerate(solid):
        for b in solid[i + 1:]:
            if groups[a] == groups[b]:
                continue
            fa, fb = _footprint(pieces[a]), _footprint(pieces[b])
            gap = np.maximum(fb[0] - fa[1], fa[0] - fb[1]).max()
            assert gap >= least - TOL, f"{a} and {b}: {gap:.2f} m apart"


def test_apartment_is_open_plan_with_its_groups():
    """7 x 6 m, four perimeter walls and nothing else of the shell inside; a dining table with
    four Kenney chairs, a three-seat sofa with a coffee table and an armchair, a double bed with
    its headboard at a wall and two nightstands, a desk with the Quaternius office chair, a bar
    counter with two bar stools."""
    info, pieces, _, _ = _load("apartment")
    assert info["interior"] == {"x": [0.0, 7.0], "z": [0.0, 6.0]}
    assert info["shell"] == "walls" and len(info["walls"]) == 4
    by_name = {p["name"]: p for p in info["pieces"]}

    def at(table: str) -> list[str]:
        return sorted(p["asset"].split("/")[-1] for p in info["pieces"] if p["at"] == table)

    assert by_name["DiningTable"]["asset"].endswith("posa_dining_table.glb")
    assert at("DiningTable") == ["kenney_chair.glb"] * 4
    assert by_name["Sofa"]["seats"] == 3 and at("Sofa") == ["posa_coffee_table.glb"]
    assert at("CoffeeTable") == ["posa_armchair.glb"]
    assert at("Bed_Double") == ["posa_nightstand.glb"] * 2
    assert at("Desk") == ["quaternius_office_chair.glb"]
    assert at("Bar_Counter") == ["kenney_bar_stool.glb"] * 2
    bed = pieces["Bed_Double"]
    head = bed[bed[:, 1] > 0.8]  # the headboard rises above the mattress, at the +z wall
    assert head[:, 2].min() > 6.0 - 0.2 and bed[:, 2].max() == pytest.approx(6.0, abs=0.01)
    assert info["seats_total"] == 4 + 3 + 1 + 2 + 1 + 2


def test_furniture_has_standard_heights():
    pieces = [p for name in ROOMS for p in _room(name)["pieces"]]

    def heights(kind: str, key: str, asset: str = "") -> set[float]:
        return {p[key] for p in pieces if p["kind"] == kind and asset in p["asset"]}

    assert all(0.42 <= h <= 0.45 for h in heights("sofa", "seat_height"))
    assert all(0.74 <= h <= 0.76 for h in heights("desk", "top_height", "posa_"))
    assert all(0.75 <= h <= 0.80 for h in heights("table", "top_height", "dining"))
    assert heights("counter", "top_height", "bar_counter") == {1.05}
    assert heights("stool", "seat_height", "bar_stool") == {0.82}
    info, pieces_of, _, _ = _load("living_room")
    sofa = pieces_of["Sofa"]
    assert 0.82 <= sofa[:, 1].max() <= 0.88  # backrest top
    assert 0.55 <= np.ptp(sofa[:, 2]) - 0.33 <= 0.6  # seat depth: depth less back and front
    bed = next(p for p in _room("bedroom")["pieces"] if p["name"] == "Bed_Double")
    assert 0.5 <= bed["seat_height"] <= 0.56 and bed["seats"] == 2


def test_generator_is_deterministic(tmp_path):
    """Regenerating into a temporary folder writes the committed files byte for byte."""
    out = tmp_path / "examples"
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_example_rooms.py"), "--out",
                    str(out), "--real", str(EXAMPLES / "furniture")], check=True,
                   capture_output=True, text=True)
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert written, "the generator wrote nothing"
    assert any(p.parts[0] == "rooms" for p in written)
    for rel in written:
        committed = EXAMPLES / rel
        assert committed.is_file(), f"{rel} is not committed"
        assert (out / rel).read_bytes() == committed.read_bytes(), f"{rel} differs"


def _bench():
    """bench/bench_real_rooms.py as a module (its helpers need no subprocess)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_real_rooms",
                                                  ROOT / "bench" / "bench_real_rooms.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_fills_the_seats_and_matches_pelvises_to_them():
    bench = _bench()
    info = _room("bedroom")
    people = bench.people_for_room(info)
    assert people == {"sit": 1, "lie": 3, "stand": 2}
    command = bench.cli_command("python", Path("room.glb"), people, 3, Path("o.glb"),
                                Path("m.json"))
    assert command[command.index("--people") + 1] == "sit:1,lie:3,stand:2"
    assert "--bodies" not in command
    default_mix = bench.cli_command("python", Path("r.glb"), 5, 0, Path("o.glb"), Path("m.json"))
    assert default_mix[default_mix.index("--bodies") + 1] == "5"
    assert "--people" not in default_mix
    chair = next(p for p in info["pieces"] if p["name"] == "Chair")
    bed = next(p for p in info["pieces"] if p["name"] == "Bed_Double")
    x, y, z = chair["seat_positions"][0]
    bodies = [
        {"name": "a", "pose": "sit", "placed": True, "pelvis": [x + 0.2, y + 0.1, z + 0.2]},
        {"name": "b", "pose": "sit", "placed": True, "pelvis": [x, y, z - 0.05]},  # nearer
        {"name": "c", "pose": "stand", "placed": True, "pelvis": [x, y, z]},  # not sitting
        {"name": "d", "pose": "lie", "placed": True, "pelvis": bed["seat_positions"][1]},
        {"name": "e", "pose": "sit", "placed": False, "pelvis": None},
    ]
    assert sorted(bench.match_seats(info, bodies)) == [("Bed_Double", 1, "d"), ("Chair", 0, "b")]
    far = [{"name": "f", "pose": "sit", "placed": True, "pelvis": [x + 0.31, y, z]}]
    assert bench.match_seats(info, far) == []


def test_bench_asks_blender_for_the_same_people_in_one_call():
    bench = _bench()
    people = bench.people_for_room(_room("apartment"))
    assert people == {"sit": 11, "lie": 2, "stand": 2}
    assert bench.populate_options(people, 3) == {"seed": 3, "device": "CPU",
                                                 "people": "sit:11,lie:2,stand:2"}
    assert bench.populate_options(8, 0) == {"seed": 0, "device": "CPU", "bodies": 8}


def test_bench_reads_who_blender_left_out_from_the_warnings():
    bench = _bench()
    placed = [{"name": "sit.000", "pose": "sit", "placed": True},
              {"name": "stand.003", "pose": "stand", "placed": True}]
    log = ("Info: Sit 1: seat on chair\n"
           "Warning: sit.001 not placed: no free seat spot left in the room (1 in all)\n"
           "Warning: sit.001 not placed: no free seat spot left in the room (1 in all)\r\n"
           "Warning: lie.002 not placed: bed on Blanket: no acceptable placement\n")
    out = bench.unplaced_from_log(log, placed, {"sit": 3, "lie": 1, "stand": 1})
    assert [(b["name"], b["pose"], b["placed"]) for b in out] == [
        ("sit.001", "sit", False), ("lie.002", "lie", False), ("sit.unreported.0", "sit", False)]
    assert out[1]["reason"] == "bed on Blanket: no acceptable placement"
    assert bench.unplaced_from_log("", placed, None) == []
    refused = bench.unplaced_from_log("", [], {"sit": 1}, "Cannot populate the scene: no floor")
    assert [(b["name"], b["reason"]) for b in refused] == [
        ("sit.unreported.0", "Cannot populate the scene: no floor")]
