"""Synthetic training data (posa_model.synth, python -m posa_model.synthesize).

Scene geometry is checked against plain references (brute-force distances to the exported
triangle mesh, every box instead of the culled set); fitted bodies against the scene with every
box at full resolution; the written dataset against the reference format, determinism and the
scene split. Body tests use the stand-in and skip where its asset is absent.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from posa_model.classes import CLASS_ID
from posa_model.errors import ConfigError, PosaError, UnknownNameError
from posa_model.scene.grid import load_scene_grid, save_scene_grid
from posa_model.synth import (
    ARCHETYPES,
    CONTACT_THRESHOLD,
    CONTACT_TOLERANCE,
    PENETRATION_TOLERANCE,
    ROOM_TYPES,
    Boxes,
    Scene,
    SceneObject,
    Spot,
    SynthConfig,
    box_signed_distance,
    compute_sdf_grid,
    fit_jobs,
    generate_room,
    parse_archetypes,
    sweep_distance,
)
from posa_model.synth.export import save_scene, scene_mesh
from posa_model.synth.fitting import SEAT_ROLES
from posa_model.synth.rooms import _overlap, _Rect


def _mesh_distance(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Brute force: unsigned distance from each point to the nearest triangle of a soup."""
    tris = vertices[faces]
    out = np.empty(len(points))
    for i, p in enumerate(points):
        closest = trimesh.triangles.closest_point(tris, np.repeat(p[None], len(tris), 0))
        out[i] = np.linalg.norm(closest - p, axis=1).min()
    return out


@pytest.fixture(scope="module")
def rooms():
    rng = np.random.default_rng(3)
    return [generate_room(f"r{k}", rng, rt) for k, rt in enumerate(ROOM_TYPES)]


# --------------------------------------------------------------------------------------------
# geometry


def test_analytic_sdf_matches_exported_mesh(rooms):
    rng = np.random.default_rng(0)
    for scene in rooms[:3]:
        vertices, faces, face_class = scene_mesh(scene)
        lo, hi = scene.bounds()
        # points near surfaces matter most: jitter box corners and uniform points
        pts = np.concatenate([rng.uniform(lo - 0.2, hi + 0.2, (60, 3)),
                              vertices[rng.choice(len(vertices), 60)] + rng.normal(0, 0.05,
                                                                                 (60, 3))])
        sd = scene.brute_force_distance(pts)
        outside = sd.signed > 1e-6
        mesh_d = _mesh_distance(pts[outside], vertices, faces)
        np.testing.assert_allclose(sd.signed[outside], mesh_d, atol=1e-6)
        # inside points are inside the box that claims them
        inside = np.flatnonzero(sd.signed < -1e-6)
        for i in inside:
            assert box_signed_distance(pts[i][None], scene.boxes.subset([sd.part[i]]))[0, 0] < 0
        # the class is the class of the nearest triangle for outside points
        tris = vertices[faces]
        for i in np.flatnonzero(outside)[:20]:
            cp = trimesh.triangles.closest_point(tris, np.repeat(pts[i][None], len(tris), 0))
            near = np.linalg.norm(cp - pts[i], axis=1)
            best = near <= near.min() + 1e-9
            assert sd.class_id[i] in set(face_class[best])


def test_culled_distance_equals_every_box(rooms):
    rng = np.random.default_rng(1)
    for scene in rooms:
        lo, hi = scene.bounds()
        for _ in range(3):
            c = rng.uniform(lo, hi)
            pts = c + rng.normal(0, 0.4, (500, 3))
            fast, ref = scene.distance(pts), scene.brute_force_distance(pts)
            np.testing.assert_array_equal(fast.signed, ref.signed)
            np.testing.assert_array_equal(fast.class_id, ref.class_id)


def test_sweep_distance_is_exact_and_lets_contacts_slide():
    box = Boxes([[0.0, 0.25, 0.0]], [[0.5, 0.25, 0.5]], [0.3], [3], [0])
    pts = np.array([[0.1, 1.0, 0.1], [0.2, 0.8, -0.1], [3.0, 0.3, 0.0]])
    assert sweep_distance(pts, box, [0, -1, 0]) == pytest.approx(0.3)
    resting = pts - [0.0, 0.3, 0.0]  # lowest point now on the top face
    assert sweep_distance(resting, box, [1, 0, 0]) == np.inf  # slides along the top
    assert sweep_distance(resting, box, [0, -1, 0]) == pytest.approx(0.0, abs=1e-9)
    # horizontal: the far point hits the rotated box's side; compare with a fine march
    d = sweep_distance(pts[2:], box, [-1, 0, 0])
    steps = np.arange(0, 3.5, 1e-4)
    march = box_signed_distance(pts[2] - steps[:, None] * [1, 0, 0], box)[:, 0]
    assert d == pytest.approx(steps[np.argmax(march <= 0)], abs=2e-4)


def test_rooms_are_consistent(rooms):
    for scene in rooms:
        assert "_" not in scene.name
        kinds = {o.kind for o in scene.objects}
        assert {"floor", "wall"} <= kinds
        for obj in scene.objects:
            classes = set(scene.boxes.class_ids[list(obj.parts)])
            assert classes <= {obj.class_id, CLASS_ID["cushion"]}
        # furniture footprints of different pieces never overlap (boxes of one piece may)
        furn = [o for o in scene.objects if o.kind not in ("floor", "wall")]
        rects = []
        for o in furn:
            b = scene.boxes.subset(list(o.parts))
            for c, h, y in zip(b.centers, b.half_sizes, b.yaws, strict=True):
                rects.append((o.name, _Rect(c[0], c[2], h[0] - 1e-6, h[2] - 1e-6, y, 0),
                              c[1] - h[1], c[1] + h[1]))
        for i, (na, ra, y0a, y1a) in enumerate(rects):
            for nb, rb, y0b, y1b in rects[i + 1:]:
                if na != nb and y0a < y1b - 1e-6 and y0b < y1a - 1e-6:
                    assert not _overlap(ra, rb), (scene.name, na, nb)
        # every piece is inside the room
        w, _, d = scene.size
        lo, hi = scene.boxes.subset([p for o in furn for p in o.parts]).aabbs()
        assert lo[:, 0].min() >= -1e-6 and hi[:, 0].max() <= w + 1e-6
        assert lo[:, 2].min() >= -1e-6 and hi[:, 2].max() <= d + 1e-6
        assert lo[:, 1].min() >= -1e-6


def test_catalogue_pieces_are_valid_for_any_body_size():
    from posa_model.synth import CATALOGUE, BodyDims, build_furniture

    for seat in (0.3, 0.45, 0.55):
        dims = BodyDims(seat_height=seat, hip_width=0.3, arm_width=0.45)
        for kind in CATALOGUE:
            for i in range(40):
                spec = build_furniture(kind, np.random.default_rng(i), dims)
                assert all(min(p.size) > 0 for p in spec.parts), (kind, seat)
                assert all(p.center[1] - p.size[1] / 2 >= -1e-9 for p in spec.parts)
                assert all(s.kind in ("seat", "lie", "reach") for s in spec.spots)


def test_sdf_grid_is_exact_and_round_trips(rooms, tmp_path):
    scene = rooms[3]  # a bathroom: small
    grid = compute_sdf_grid(scene.boxes, resolution=0.1)
    d = grid.dim
    assert grid.sdf.shape == (d, d, d) and grid.sdf.dtype == np.float32
    assert grid.semantics.shape == (d, d, d) and grid.semantics.dtype == np.uint8
    rng = np.random.default_rng(2)
    idx = rng.integers(0, d, (3000, 3))
    nodes = grid.grid_min + idx * (grid.grid_max - grid.grid_min) / (d - 1)  # [x, y, z]
    ref = scene.brute_force_distance(nodes)
    np.testing.assert_allclose(grid.sdf[idx[:, 0], idx[:, 1], idx[:, 2]], ref.signed, atol=1e-5)
    np.testing.assert_array_equal(grid.semantics[idx[:, 0], idx[:, 1], idx[:, 2]], ref.class_id)
    assert (grid.bbox[0] >= grid.grid_min).all() and (grid.bbox[1] <= grid.grid_max).all()
    save_scene_grid(tmp_path, scene.name, grid)
    header = json.loads((tmp_path / f"{scene.name}.json").read_text())
    assert {"dim", "badding_val", "min", "max", "bbox"} <= set(header)
    back = load_scene_grid(tmp_path, scene.name)
    np.testing.assert_array_equal(back.sdf, grid.sdf)
    np.testing.assert_array_equal(back.semantics, grid.semantics)
    np.testing.assert_allclose(back.grid_min, grid.grid_min)
    # trilinear lookup: exact at nodes, within the grid's resolution elsewhere
    np.testing.assert_allclose(back.lookup(nodes[:50]), ref.signed[:50], atol=1e-5)
    pts = rng.uniform(grid.bbox[0], grid.bbox[1], (300, 3))
    assert np.abs(back.lookup(pts) - scene.brute_force_distance(pts).signed).max() < 0.1


def test_scene_glb_has_named_objects(rooms, tmp_path):
    scene = rooms[0]
    path = save_scene(tmp_path, scene)
    loaded = trimesh.load(path, force="scene")
    names = {o.name for o in scene.objects}
    assert names <= set(loaded.graph.nodes_geometry)
    info = json.loads((tmp_path / f"{scene.name}_objects.json").read_text())
    assert {k: v["class_id"] for k, v in info["objects"].items()} == {
        o.name: o.class_id for o in scene.objects}
    total = sum(len(g.faces) for g in loaded.geometry.values())
    assert total == 12 * len(scene.boxes)


# --------------------------------------------------------------------------------------------
# bodies


@pytest.fixture(scope="module")
def synth():
    from posa_model.synth import Synthesizer

    return Synthesizer(SynthConfig(bodies=1))


def _box_scene(seat_height: float) -> Scene:
    """A floor, a wall 1.5 m behind, and one box seat (class chair) facing +z at the origin."""
    boxes = Boxes(
        centers=[[0.0, -0.05, 0.0], [0.0, 1.25, -1.55], [0.0, seat_height / 2, 0.0]],
        half_sizes=[[3.0, 0.05, 3.0], [3.0, 1.25, 0.05], [0.25, seat_height / 2, 0.22]],
        yaws=[0.0, 0.0, 0.0],
        class_ids=[CLASS_ID["floor"], CLASS_ID["wall"], CLASS_ID["chair"]],
        object_ids=[0, 1, 2],
    )
    objects = [SceneObject("floor.0", "floor", 2, (0,)), SceneObject("wall.0", "wall", 1, (1,)),
               SceneObject("chair.0", "chair", 3, (2,))]
    spots = [Spot("seat", np.array([0.0, seat_height, 0.0]), 0.0, seat_height, 2, "centre",
                  (0.25, 0.22))]
    return Scene("boxseat", "test", (6.0, 2.5, 6.0), boxes, objects, spots,
                 ("floor", "wall", "seat"))


def test_body_on_box_seat_touches_the_seat_not_the_wall(synth):
    scene = _box_scene(synth.dims.seat_height)
    rng = np.random.default_rng(0)
    # the stool archetype (sit over the seat's centre) on a seat whose class is chair
    jobs = [synth.make_job(rng, scene, "sit_stool", 0) for _ in range(4)]
    fit = fit_jobs(synth.poser, scene, jobs)
    assert fit.ok.any(), fit.reason
    keep = np.flatnonzero(fit.ok)
    lab = synth.labels.make(fit.vertices[keep], fit.joints[keep], scene)
    parts = synth.poser.part_of_vertex[synth.labels.selection]
    from posa_model.synth.body import PART_NAMES

    pelvis = parts == PART_NAMES.index("pelvis")
    feet = parts == PART_NAMES.index("feet")
    for b in range(len(keep)):
        contact = lab.x[b] < CONTACT_THRESHOLD
        assert (contact & pelvis).sum() >= 3
        assert (lab.x_semantics[b][contact & pelvis] == CLASS_ID["chair"]).all()
        assert (lab.x_semantics[b][contact & feet] == CLASS_ID["floor"]).any()
        assert not (lab.x_semantics[b][contact] == CLASS_ID["wall"]).any()
        assert (lab.x_semantics[b][~contact] != 0).all()  # nearest class kept (not zeroed)


def _table_scene(height: float) -> Scene:
    """A floor and one box table top (class table, 1.2 x 0.8 m, 4 cm thick, no legs) at
    ``height`` with a reach spot on its +z edge (a body there faces -z)."""
    boxes = Boxes(
        centers=[[0.0, -0.05, 0.0], [0.0, height - 0.02, 0.0]],
        half_sizes=[[3.0, 0.05, 3.0], [0.6, 0.02, 0.4]],
        yaws=[0.0, 0.0],
        class_ids=[CLASS_ID["floor"], CLASS_ID["table"]],
        object_ids=[0, 1],
    )
    objects = [SceneObject("floor.0", "floor", 2, (0,)),
               SceneObject("table.0", "table", CLASS_ID["table"], (1,))]
    spots = [Spot("reach", np.array([0.0, height, 0.4]), np.pi, height, 1, "", (0.35, 0.0))]
    return Scene("boxtable", "test", (6.0, 2.5, 6.0), boxes, objects, spots, ("floor", "top"))


@pytest.mark.parametrize("height", [0.72, 0.90])
def test_reaching_hands_rest_flat_on_a_box_table(synth, height):
    """Both palms lie on the top: each hand's lowest vertex within 1 cm of it, most of the
    palm side of each hand within 2 cm, nothing deeper than the tolerance, feet on the floor."""
    scene = _table_scene(height)
    rng = np.random.default_rng(1)
    jobs = [synth.make_job(rng, scene, "reach_table", 0) for _ in range(12)]
    fit = fit_jobs(synth.poser, scene, jobs)
    keep = np.flatnonzero(fit.ok)
    assert len(keep) >= 2, fit.reason  # the others are rejected (retried in a dataset)
    top = scene.boxes.subset([1])
    for i in keep:
        v = fit.vertices[i]
        assert box_signed_distance(v, scene.boxes).min() >= -PENETRATION_TOLERANCE
        assert abs(v[synth.poser.part_masks["feet"], 1].min()) <= CONTACT_TOLERANCE
        for side in ("left", "right"):
            hand = box_signed_distance(v[synth.poser.hand_masks[side]], top)[:, 0]
            palm = box_signed_distance(v[synth.poser.palm_masks[side]], top)[:, 0]
            assert hand.min() <= CONTACT_TOLERANCE
            assert np.median(palm) <= 0.03, (side, np.median(palm))
            assert (palm < 0.02).mean() >= 0.3, (side, (palm < 0.02).mean())


def _global_wrist(pose, side):
    from scipy.spatial.transform import Rotation

    from posa_model.body.joints import JOINT_INDEX

    g = Rotation.identity()
    for name in ("spine1", "spine2", "spine3", f"{side}_collar", f"{side}_shoulder",
                 f"{side}_elbow", f"{side}_wrist"):
        k = JOINT_INDEX[name]
        g = g * Rotation.from_rotvec(pose[0, 3 * k - 3: 3 * k])
    return g


def _arms_pose(*turns) -> np.ndarray:
    from posa_model.synth.archetypes import compose_joint

    pose = np.zeros((1, 63))
    for joint, axis, degrees in turns:
        compose_joint(pose, joint, axis, np.array([np.deg2rad(degrees)]))
    return pose


def test_flatten_hands_turns_the_palms_down():
    """Arms straight forward and 40 degrees down (palms down-back): the flattened hands' palm
    normal (rest -y, through the kinematic chain) is -y, the fingers point forward (+z), and
    only the wrists change. A turn beyond MAX_WRIST_TURN is done only up to it."""
    from posa_model.body.hands import MAX_WRIST_TURN, flatten_hands
    from posa_model.body.joints import JOINT_INDEX

    parents = np.full(55, -1)
    for child, parent in ((3, 0), (6, 3), (9, 6), (13, 9), (14, 9), (16, 13), (17, 14),
                          (18, 16), (19, 17), (20, 18), (21, 19)):
        parents[child] = parent
    facing = np.array([[0.0, 0.0, 1.0]])
    pose = _arms_pose(("left_shoulder", "y", -90.0), ("right_shoulder", "y", 90.0),
                      ("left_shoulder", "x", 40.0), ("right_shoulder", "x", 40.0))
    out = flatten_hands(pose, np.zeros((1, 3)), facing, parents)
    for side, fingers in (("left", [1.0, 0, 0]), ("right", [-1.0, 0, 0])):
        before = _global_wrist(pose, side)
        assert before.apply([0.0, -1.0, 0.0])[1] > -0.8  # not flat before
        g = _global_wrist(out, side)
        np.testing.assert_allclose(g.apply([0.0, -1.0, 0.0]), [0.0, -1.0, 0.0], atol=1e-6)
        np.testing.assert_allclose(g.apply(fingers), [0.0, 0.0, 1.0], atol=1e-6)
    changed = np.flatnonzero(np.abs(out - pose).reshape(21, 3).max(axis=1) > 1e-9) + 1
    assert set(changed) == {JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]}
    # arms hanging straight down, palms facing the thighs: flat would need > 90 degrees
    down = _arms_pose(("left_shoulder", "z", -90.0), ("right_shoulder", "z", 90.0))
    capped = flatten_hands(down, np.zeros((1, 3)), facing, parents)
    for side in ("left", "right"):
        k = JOINT_INDEX[f"{side}_wrist"]
        assert np.linalg.norm(capped[0, 3 * k - 3: 3 * k]) == pytest.approx(MAX_WRIST_TURN)


@pytest.mark.parametrize("preset", ["lie_back", "lie_side"])
def test_lying_bodies_rest_the_torso_on_the_mattress(synth, preset):
    """Lying on a box bed: the torso itself within 1 cm of the mattress (not held up by an
    arm), the pelvis/thighs within 5 cm, and nothing sunk deeper than the tolerance."""
    from posa_model.synth.dataset import _ARCHETYPE_ROOMS

    rng = np.random.default_rng(11)
    masks = synth.poser.part_masks
    accepted = 0
    for attempt in range(8):
        scene = generate_room(f"l{attempt}", rng, _ARCHETYPE_ROOMS["lie_bed"][0], synth.dims)
        spots = synth.available(scene).get("lie_bed")
        if not spots:
            continue
        jobs = []
        for _ in range(6):
            job = synth.make_job(rng, scene, "lie_bed", int(rng.choice(spots)))
            if job.preset == preset:
                jobs.append(job)
        if not jobs:
            continue
        fit = fit_jobs(synth.poser, scene, jobs)
        for i in np.flatnonzero(fit.ok):
            v = fit.vertices[i]
            assert box_signed_distance(v, scene.boxes).min() >= -PENETRATION_TOLERANCE
            obj = scene.spots[jobs[i].spot].object
            rows = [p for p in scene.objects[obj].parts if scene.roles[p] in SEAT_ROLES]
            d = box_signed_distance(v, scene.boxes.subset(rows)).min(axis=1)
            assert d[masks["torso"]].min() <= CONTACT_TOLERANCE
            assert d[masks["pelvis"] | masks["thighs"]].min() <= CONTACT_THRESHOLD
            accepted += 1
        if accepted >= 3:
            break
    assert accepted >= 1, f"no {preset} body could be fitted"


def test_labels_are_full_resolution_labels_taken_to_the_network_level(synth):
    """x / x_semantics equal the brute-force full-resolution distances and nearest classes
    (every box, all 10475 vertices) selected with down[0] then down[1]."""
    from posa_model.synth.dataset import ScenePlan

    result = synth.run_scene(ScenePlan(0, 6, "living"))
    assert result.count == 6
    vertices, _ = synth.poser.forward(result.params)
    down0, down1 = (np.asarray(d) for d in synth.hierarchy.down[:2])
    for b in range(result.count):
        full = result.scene.brute_force_distance(vertices[b])
        x = np.abs(full.signed)[down0][down1]
        np.testing.assert_allclose(result.labels.x[b], x, atol=1e-5)
        # classes agree wherever the nearest box is unambiguous
        sd = box_signed_distance(vertices[b][down0][down1], result.scene.boxes)
        second = np.sort(sd, axis=1)[:, 1] - sd.min(axis=1)
        clear = second > 1e-4
        np.testing.assert_array_equal(result.labels.x_semantics[b][clear],
                                      full.class_id[down0][down1][clear])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ARCHETYPES))
def test_every_archetype_fits_within_tolerance(synth, name):
    """Accepted bodies: no vertex (full resolution) deeper than the tolerance inside any box of
    the scene (all boxes, no culling), and the archetype's contacts within 1 cm."""
    from posa_model.synth.dataset import _ARCHETYPE_ROOMS

    rng = np.random.default_rng(7)
    rooms = _ARCHETYPE_ROOMS.get(name, tuple(ROOM_TYPES))
    accepted = 0
    for attempt in range(6):
        scene = generate_room(f"t{attempt}", rng, rooms[attempt % len(rooms)], synth.dims)
        spots = synth.available(scene).get(name)
        if not spots:
            continue
        jobs = [synth.make_job(rng, scene, name, int(rng.choice(spots))) for _ in range(4)]
        fit = fit_jobs(synth.poser, scene, jobs)
        for i in np.flatnonzero(fit.ok):
            v = fit.vertices[i]
            sd = box_signed_distance(v, scene.boxes)
            assert sd.min() >= -PENETRATION_TOLERANCE
            spot = scene.spots[jobs[i].spot]
            for parts, target in ARCHETYPES[name].contacts:
                mask = np.zeros(len(v), bool)
                for p in parts:
                    mask |= synth.poser.part_masks[p]
                obj = {"floor": scene.objects_of_kind("floor")[0],
                       "target": spot.target}.get(target, spot.object)
                cols = scene.boxes.object_ids == obj
                if target == "seat":
                    cols &= np.isin(scene.role_array, SEAT_ROLES)
                assert sd[np.ix_(mask, cols)].min() <= CONTACT_TOLERANCE
            accepted += 1
        if accepted >= 2:
            break
    assert accepted >= 1, f"no {name} body could be fitted"


# --------------------------------------------------------------------------------------------
# the written dataset


def _run(out, seed, extra=()):
    from posa_model.synthesize import main

    args = ["--out", str(out), "--bodies", "24", "--seed", str(seed), "--sdf-resolution", "0.25",
            "--bodies-per-scene", "4,8", "--workers", "1", "--quiet", *extra]
    assert main(args) == 0


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    _run(root / "a", 5)
    _run(root / "b", 5)
    _run(root / "c", 6, ["--no-picture"])
    return root


@pytest.mark.slow
def test_same_seed_same_files_other_seed_differs(datasets):
    a, b, c = datasets / "a", datasets / "b", datasets / "c"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        if rel.name in ("summary.json", "summary.png"):  # hold timings
            continue
        if rel.suffix == ".npz":
            with np.load(a / rel) as za, np.load(b / rel) as zb:
                for key in za.files:
                    np.testing.assert_array_equal(za[key], zb[key], err_msg=str(rel))
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    xa = np.load(a / "train" / "x.npy")
    xc = np.load(c / "train" / "x.npy")
    assert xa.shape != xc.shape or not np.array_equal(xa, xc)


@pytest.mark.slow
def test_reference_format_split_and_reposing(datasets, synth):
    out = datasets / "a"
    assert (out / "COMPLETE").is_file() and (out / "summary.png").is_file()
    summary = json.loads((out / "summary.json").read_text())
    scenes = {}
    total = 0
    for split in ("train", "test"):
        d = out / split
        x = np.load(d / "x.npy")
        n = len(x)
        total += n
        assert x.shape == (n, 655) and x.dtype == np.float32 and (x >= 0).all()
        sem = np.load(d / "x_semantics.npy")
        assert sem.shape == (n, 655) and sem.dtype == np.int64
        assert ((sem >= 1) & (sem <= 41)).all()
        for name in ("vertices.npy", "vertices_can.npy"):
            arr = np.load(d / name)
            assert arr.shape == (n, 655, 3) and arr.dtype == np.float32
        assert np.load(d / "joints_can.npy").shape == (n, 55, 3)
        names = json.loads((d / "recording_names.json").read_text())
        paths = json.loads((d / "pkl_file_paths.json").read_text())
        assert len(names) == len(paths) == len(set(names)) == n
        with np.load(d / "bodies.npz") as bodies:
            assert [s.split("_")[0] for s in names] == list(bodies["scene"])
            scenes[split] = set(bodies["scene"])
            # re-posing the stored parameters gives the stored vertices
            from posa_model.body import BodyPose

            params = BodyPose(bodies["global_orient"][:3], bodies["body_pose"][:3],
                              betas=bodies["betas"][:3], transl=bodies["transl"][:3])
        v, j = synth.poser.forward(params)
        sel = synth.labels.selection
        np.testing.assert_allclose(v[:, sel], np.load(d / "vertices.npy")[:3], atol=1e-4)
        # the canonical vertices are the sampler's path: frame joints regressed from vertices
        from posa_model.frames import canonicalize

        joints4 = np.einsum("jv,bvc->bjc", synth.labels.frame_regressor, v)
        can = canonicalize(v, joints4).vertices[:, sel]
        np.testing.assert_allclose(can, np.load(d / "vertices_can.npy")[:3], atol=1e-4)
        for scene in scenes[split]:
            assert (out / "sdf" / f"{scene}_sdf.npy").is_file()
            assert (out / "scenes" / f"{scene}.glb").is_file()
            grid = load_scene_grid(out / "sdf", scene)
            assert grid.dim >= 2
    assert total == 24 == summary["run"]["bodies"]
    assert scenes["test"] and not scenes["train"] & scenes["test"]
    from posa_model.data import PosaDataset

    assert len(PosaDataset(out / "train")) == len(np.load(out / "train" / "x.npy"))


@pytest.mark.slow
def test_cli_refuses_to_overwrite_and_leaves_nothing_half_written(datasets, tmp_path, capsys):
    from posa_model.synthesize import main

    before = sorted(p.name for p in (datasets / "a").rglob("*"))
    assert main(["--out", str(datasets / "a"), "--bodies", "2", "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sorted(p.name for p in (datasets / "a").rglob("*")) == before
    assert main(["--out", str(tmp_path / "x"), "--bodies", "2", "--archetypes", "fly"]) == 2
    assert not (tmp_path / "x").exists()
    assert not list(tmp_path.glob(".x.tmp-*"))
    with pytest.raises(ConfigError, match="bodies"):
        SynthConfig(bodies=0)
    with pytest.raises(ConfigError, match="archetypes"):
        SynthConfig(archetypes=("fly",))
    with pytest.raises(UnknownNameError, match="--archetypes"):
        parse_archetypes("sit_chair,fly")


# --------------------------------------------------------------------------------------------
# --overwrite: only our own datasets, swapped atomically, a killed swap recovered


def _fake_dataset(folder, tag: str):
    """A folder that looks like a finished dataset of ours (marker + one file)."""
    from posa_model.synth.writer import MARKER, MARKER_TEXT

    folder.mkdir(parents=True)
    (folder / "tag.txt").write_text(tag)
    (folder / MARKER).write_text(MARKER_TEXT)
    return folder


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_overwrite_refuses_a_folder_we_did_not_write(tmp_path, capsys):
    from posa_model.synthesize import main

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"precious")
    assert main(["--out", str(foreign), "--bodies", "2", "--overwrite", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "replaces only a dataset written by posa_model.synthesize" in err
    assert (foreign / "holiday.jpg").read_bytes() == b"precious"
    # an input inside the folder to be replaced is refused too
    ours = _fake_dataset(tmp_path / "ds", "old")
    (ours / "body.npz").write_bytes(b"x")
    assert main(["--out", str(ours), "--body", str(ours / "body.npz"), "--overwrite",
                 "--quiet"]) == 2
    assert "which this command replaces" in capsys.readouterr().err
    # a .pkl body needs --allow-pickle; absurd counts are usage errors (argparse: exit 2)
    assert main(["--out", str(tmp_path / "n"), "--body", "evil.pkl", "--quiet"]) == 2
    assert "--allow-pickle" in capsys.readouterr().err
    for bad in (["--bodies", "10000000000"], ["--seed", str(2**70)], ["--workers", "0"],
                ["--test-fraction", "nan"]):
        with pytest.raises(SystemExit) as info:
            main(["--out", str(tmp_path / "n"), *bad])
        assert info.value.code == 2
    assert not (tmp_path / "n").exists()


def test_overwrite_swaps_our_dataset_and_leaves_no_siblings(tmp_path):
    from posa_model.synth.writer import is_synthetic_dataset, staging_folder

    out = _fake_dataset(tmp_path / "ds", "old")
    with staging_folder(out, overwrite=True) as tmp:
        (tmp / "tag.txt").write_text("new")
    assert (out / "tag.txt").read_text() == "new" and is_synthetic_dataset(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    # an error inside the block: the old dataset stays, the staging folder goes
    with pytest.raises(RuntimeError), staging_folder(out, overwrite=True) as tmp:
        (tmp / "tag.txt").write_text("broken")
        raise RuntimeError("generation failed")
    assert (out / "tag.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    # an empty folder may be replaced; a folder with a foreign marker may not
    (tmp_path / "empty").mkdir()
    with staging_folder(tmp_path / "empty", overwrite=True) as tmp:
        (tmp / "tag.txt").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "COMPLETE").write_text("somebody else's\n")
    with pytest.raises(PosaError, match="replaces only"), \
            staging_folder(tmp_path / "other", overwrite=True):
        pass


@pytest.mark.slow
def test_a_kill_between_the_renames_is_recovered_by_the_next_run(tmp_path, monkeypatch):
    """Where folders cannot be swapped atomically (renameat2), the old dataset is renamed aside
    and the new one in: a kill -9 between them leaves no dataset at the path until the next run,
    which rolls the committed new one forward; a kill after the swap leaves a stale sibling
    that the next run deletes. Simulated with a real kill of a subprocess."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    out = _fake_dataset(tmp_path / "ds", "old")
    driver = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from pathlib import Path
        from posa_model.synth import writer
        writer._exchange = lambda a, b: False          # the two-rename fallback
        real = os.replace
        def replace(src, dst):
            if ".tmp-" in str(src):                     # the new one is about to move in
                os.kill(os.getpid(), 9)
            return real(src, dst)
        os.replace = replace
        with writer.staging_folder(Path({str(out)!r}), overwrite=True) as tmp:
            (tmp / "tag.txt").write_text("new")
    """)
    proc = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    assert not out.exists()  # the window the fallback has
    names = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert names == [".ds.old", ".ds.tmp"]

    from posa_model.synth.writer import recover_dataset

    assert recover_dataset(out) == "rolled forward"
    assert (out / "tag.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    # with only the old one aside (killed before the new one was complete): put back
    aside = tmp_path / f".ds.old-{_dead_pid()}-0123abcd"
    out.rename(aside)
    partial = tmp_path / f".ds.tmp-{_dead_pid()}-89abcdef"
    partial.mkdir()
    (partial / "x.npy").write_bytes(b"half")
    assert recover_dataset(out) == "restored"
    assert (out / "tag.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_the_swap_is_atomic_where_the_system_can_exchange_folders(tmp_path):
    from posa_model.synth.writer import _exchange

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "1").write_text("a")
    (b / "2").write_text("b")
    if not _exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) unavailable here: the two-rename fallback runs")
    assert (a / "2").exists() and (b / "1").exists()


@pytest.mark.slow
def test_a_body_that_is_not_its_hierarchys_mesh_is_refused(tmp_path, capsys):
    """--body with another vertex order than --hierarchy's (here: none, so the stand-in's) would
    take every label at the wrong vertices; refused before any work, with the fix."""
    from posa_model.synthesize import main
    from tests.test_body_mesh_check import _write_model

    perm = np.random.default_rng(3).permutation(10475)
    model = _write_model(tmp_path / "renumbered.npz", perm=perm)
    assert main(["--out", str(tmp_path / "ds"), "--body", str(model), "--bodies", "2",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "not the level-0 mesh" in err and "posa_model.convert --body" in err
    assert not (tmp_path / "ds").exists()
