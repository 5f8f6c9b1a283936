"""Scene population on the example rooms (examples/rooms): people placed, metrics, seats used.

    python bench/bench_real_rooms.py --seed 0 --out bench_real_rooms.json
    python bench/bench_real_rooms.py --rooms dining_room,kitchen --blender
    python bench/bench_real_rooms.py --bodies 8          # the product's default pose mix instead

For each room ``examples/rooms/<room>.glb`` (ground truth ``<room>.json``):

* **People requested.** By default the room's own mix: one sitting person (``sit``) per seat of
  a piece people sit on, one lying person (``lie_back``) per sleeping place of a bed, and
  ``--standing`` (2) standing people: a full room uses every seat. With ``--bodies N``: N people
  in the product's default mix instead.
* **CLI.** ``python -m posa_model.place`` in a subprocess (:func:`cli_command` builds the
  command line: the one place to change when the CLI's options change), writing the populated
  GLB, ``<room>_bodies.npz`` and the metrics JSON into a temporary folder.
* **Blender** (``--blender``): the room imported with ``bpy.ops.import_scene.gltf`` into an
  empty file in the Blender environment (``--blender-python``, default ``.venv-blender``), the
  add-on registered from the checkout (as ``scripts/populate_scene.py`` does),
  ``bpy.ops.posa.guess_classes()``, then ONE ``bpy.ops.posa.populate_scene`` call with the same
  people as the CLI (``people="sit:4,lie:2,stand:2"``; with ``--bodies``: ``bodies=N``), the
  same seed, on the CPU. Each placed body is read back from the record the operator keeps on
  its mesh object (``Object["posa_placement"]``: interaction, spot, metrics); the people it
  did not place are those of its warnings (``"<person> not placed: <reason>"``).

Reported per room and overall: people requested and placed, placed per pose, the mean
non-collision, touch and semantic match of the placed bodies, the largest body-body overlap,
seconds (the subprocess's wall time: loading, grids, sampling, placement, writing), and the
seats of the JSON against the seats used (:func:`match_seats`). Bodies are the stand-in; pelvis
positions come from its joint regressor applied to the placed vertices (within 2.5 cm of the
posed pelvis joint). Everything is in the glTF / SMPL-X world: +y up, metres. ``--checkout DIR``
runs another copy of the code (e.g. a clean ``git archive`` of a commit). Subprocesses run with
one CPU thread (``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ROOT / "examples" / "rooms"
#: The stand-in body relative to a checkout, as posa_model/assets.py defines it (read from the
#: file: importing posa_model here would fix it to this checkout before --checkout is used).
_ASSETS = runpy.run_path(str(ROOT / "posa_model" / "assets.py"))
STANDIN = _ASSETS["STANDIN_BODY_PATH"].relative_to(ROOT)
SITTING = ("sit",)
LYING = ("lie",)
SEAT_RADIUS = 0.3  # metres, horizontal


# --------------------------------------------------------------------------- what to place


def people_for_room(info: dict, standing: int = 2) -> dict[str, int]:
    """{pose preset: count} filling the room of the ground-truth JSON ``info``: a ``sit`` per
    seat of the pieces used sitting, a ``lie_back`` per sleeping place, ``standing`` ``stand``."""
    sit = sum(p["seats"] for p in info["pieces"] if p["use"] == "sit")
    lie = sum(p["seats"] for p in info["pieces"] if p["use"] == "lie")
    people = {"sit": sit, "lie": lie, "stand": standing}
    return {pose: n for pose, n in people.items() if n > 0}


def pose_list(people: dict[str, int]) -> list[str]:
    """The poses of ``people`` one per person, in the dict's order (``{"sit": 2, "stand": 1}``
    -> ``["sit", "sit", "stand"]``)."""
    return [pose for pose, n in people.items() for _ in range(n)]


def cli_command(python: str, scene: Path, people: dict[str, int] | int, seed: int, out: Path,
                metrics: Path, device: str = "cpu") -> list[str]:
    """The ``python -m posa_model.place`` command that places ``people`` ({pose: count}, or a
    number of people in the product's default mix) in ``scene`` and writes ``out`` (GLB, and
    ``<out stem>_bodies.npz`` beside it) and ``metrics`` (JSON). The one place to change when
    the CLI's options change (``--people "sit:3,lie_back:1,stand:2"``, ``--fill seats``)."""
    command = [python, "-m", "posa_model.place", "--scene", str(scene), "--seed", str(seed),
               "--out", str(out), "--metrics", str(metrics), "--device", device, "--quiet"]
    if isinstance(people, int):
        return command + ["--bodies", str(people)]
    return command + ["--people", ",".join(f"{k}:{n}" for k, n in people.items())]


# --------------------------------------------------------------------------- seats


def pelvis_positions(vertices: np.ndarray, j_regressor: np.ndarray) -> np.ndarray:
    """(B, 3) pelvis positions of placed bodies: the SMPL-X joint regressor's pelvis row
    (``j_regressor`` (55, V)) applied to their vertices (B, V, 3); SMPL-X world, metres."""
    return np.einsum("v,bvc->bc", np.asarray(j_regressor[0], np.float64),
                     np.asarray(vertices, np.float64))


def match_seats(info: dict, bodies: list[dict], radius: float = SEAT_RADIUS
                ) -> list[tuple[str, int, str]]:
    """The seats of the ground-truth JSON ``info`` that placed bodies use.

    A seat (a position in ``seat_positions``, world +y up, metres) is used when a placed body
    in a sitting pose (:data:`SITTING`), or for a bed's sleeping place a sitting or lying pose
    (:data:`LYING`), has its pelvis within ``radius`` metres of it horizontally (x, z). Each
    body uses at most one seat and each seat counts once: pairs are taken nearest first.
    ``bodies``: dicts with ``placed``, ``pose``, ``name`` and ``pelvis`` (x, y, z). Returns
    (piece name, seat index, body name) per used seat.
    """
    pairs = []
    for piece in info["pieces"]:
        poses = SITTING + LYING if piece["use"] == "lie" else SITTING
        for k, seat in enumerate(piece["seat_positions"]):
            for body in bodies:
                if not body["placed"] or body["pose"] not in poses:
                    continue
                d = float(np.hypot(body["pelvis"][0] - seat[0], body["pelvis"][2] - seat[2]))
                if d <= radius:
                    pairs.append((d, piece["name"], k, body["name"]))
    used_seats, used_bodies, out = set(), set(), []
    for _, piece, k, body in sorted(pairs):
        if (piece, k) not in used_seats and body not in used_bodies:
            used_seats.add((piece, k))
            used_bodies.add(body)
            out.append((piece, k, body))
    return out


# --------------------------------------------------------------------------- runs


def _env(checkout: Path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(checkout), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    return env


def run_cli(room: str, people, seed: int, work: Path, checkout: Path, python: str,
            timeout: float) -> dict:
    """Place ``people`` in ``room`` with the CLI; returns {"bodies": [...], "seconds",
    "exit", "log"} with per body name, pose, placed, reason, metrics and pelvis (x, y, z)."""
    out, metrics = work / f"{room}.glb", work / f"{room}.json"
    command = cli_command(python, ROOMS / f"{room}.glb", people, seed, out, metrics)
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=work, env=_env(checkout), capture_output=True,
                          text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    log = (proc.stdout + proc.stderr).strip()
    if not metrics.is_file():
        return {"bodies": [], "seconds": seconds, "exit": proc.returncode, "log": log,
                "command": command[1:]}
    doc = json.loads(metrics.read_text())
    pelvis = {}
    npz = out.with_name(f"{out.stem}_bodies.npz")
    if npz.is_file():
        j_regressor = np.load(checkout / STANDIN)["J_regressor"]
        with np.load(npz, allow_pickle=False) as data:
            for name, placed, p in zip(data["names"], data["placed"],
                                       pelvis_positions(data["vertices"], j_regressor),
                                       strict=True):
                if placed:
                    pelvis[str(name)] = [round(float(v), 4) for v in p]
    bodies = [{"name": b["name"], "pose": b["interaction"], "placed": bool(b["placed"]),
               "reason": b.get("reason", ""), "metrics": b.get("metrics") or {},
               "pelvis": pelvis.get(b["name"])} for b in doc["bodies"]]
    return {"bodies": bodies, "seconds": seconds, "exit": proc.returncode, "log": log,
            "command": command[1:], "product_seconds": doc.get("seconds", {})}


def run_blender(room: str, people, seed: int, work: Path, checkout: Path, python: str,
                timeout: float) -> dict:
    """Place ``people`` in ``room`` through Blender's operators (module docstring), in a
    subprocess of ``python`` (with bpy); same result fields as :func:`run_cli`."""
    result = work / f"{room}_blender.json"
    command = [python, str(Path(__file__).resolve()), "--worker", str(ROOMS / f"{room}.glb"),
               "--worker-people", json.dumps(people), "--seed", str(seed),
               "--worker-result", str(result), "--checkout", str(checkout)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=work, env=_env(checkout), capture_output=True,
                              text=True, timeout=timeout)
        code, log = proc.returncode, (proc.stdout + proc.stderr).strip()
    except subprocess.TimeoutExpired as exc:
        code, log = -1, f"timed out after {timeout} s: {exc}"
    seconds = time.perf_counter() - started
    if not result.is_file():
        return {"bodies": [], "seconds": seconds, "exit": code, "log": log}
    doc = json.loads(result.read_text())
    bodies = doc["bodies"] + unplaced_from_log(log, doc["bodies"], doc["requested"],
                                               "; ".join(doc["reports"]))
    return {"bodies": bodies, "seconds": seconds, "exit": code, "log": log,
            "reports": doc["reports"], "populate_seconds": doc["seconds"]}


#: "Warning: sit.003 not placed: <reason>": the operator's report for a person it left out
#: (``<interaction>.<index>``, :class:`posa_model.populate.Person`'s name).
_NOT_PLACED = re.compile(r"Warning: ((\w+)\.\d+) not placed: ([^\r\n]*)")
#: "error: ..." (the CLI) or "Error: ..." (an operator's ERROR report).
_ERROR = re.compile(r"(?:^|[\r\n])(?:error|Error): ([^\r\n]*)")


def unplaced_from_log(log: str, placed: list[dict], requested: dict[str, int] | None,
                      error: str = "") -> list[dict]:
    """The people Blender's operator did not place: one per "not placed" warning in ``log``
    (name, interaction, reason); then, per interaction of ``requested`` ({interaction: count},
    None for the default mix), as many more as the placed bodies and the warnings leave
    unaccounted for, with the reason ``error`` (the operator's ERROR report when it placed
    nobody) or "not placed (no report seen)"."""
    out, seen = [], set()
    for match in _NOT_PLACED.finditer(log):
        name, interaction, reason = match.groups()
        if name not in seen:
            seen.add(name)
            out.append({"name": name, "pose": interaction, "placed": False, "reason": reason,
                        "metrics": {}, "pelvis": None})
    for interaction, n in (requested or {}).items():
        known = sum(b["pose"] == interaction for b in placed + out)
        out += [{"name": f"{interaction}.unreported.{k}", "pose": interaction, "placed": False,
                 "reason": error or "not placed (no report seen)", "metrics": {},
                 "pelvis": None}
                for k in range(max(n - known, 0))]
    return out


def notable_lines(log: str, tail: int = 1500) -> str:
    """The report lines of a run's output (``Info:``, ``Warning:``, ``error:``... and the
    CLI's table and object report), without progress bars, plus the last ``tail``
    characters."""
    keep = [line for line in re.split(r"[\r\n]+", log)
            if "step/s" not in line and "| INFO:" not in line and line.strip()]
    text = "\n".join(keep)
    return text if len(text) <= 20000 else text[:20000 - tail] + "\n...\n" + text[-tail:]


def populate_options(people: dict[str, int] | int, seed: int) -> dict:
    """The keyword arguments of the one ``bpy.ops.posa.populate_scene`` call that places
    ``people`` ({interaction: count}: ``people="sit:4,lie:2,stand:2"``; a number: ``bodies=N``
    in the default mix), as :func:`cli_command` asks the CLI."""
    options = {"seed": seed, "device": "CPU"}
    if isinstance(people, int):
        return {**options, "bodies": people}
    return {**options, "people": ",".join(f"{k}:{n}" for k, n in people.items())}


def _blender_worker(args: argparse.Namespace) -> int:
    """Inside the Blender environment: import, guess classes, populate once, write the
    result (the placed bodies, what was requested, the ERROR report if any, seconds)."""
    import bpy  # noqa: TID251 (a benchmark of the Blender add-on)

    sys.path.insert(0, str(args.checkout))
    import posa_blender

    people = json.loads(args.worker_people)
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(args.worker))
    posa_blender.register()
    reports: list[str] = []
    try:
        for obj in bpy.context.view_layer.objects:
            obj.select_set(False)
        bpy.ops.posa.guess_classes()
        started = time.perf_counter()
        try:
            bpy.ops.posa.populate_scene(**populate_options(people, args.seed))
        except RuntimeError as exc:  # an ERROR report: nothing placed
            reports.append(str(exc).strip())
        seconds = time.perf_counter() - started
        bodies = _blender_bodies(bpy, np.load(args.checkout / STANDIN)["J_regressor"])
        summary = bpy.context.scene.posa.last_populate
    finally:
        posa_blender.unregister()
    args.worker_result.write_text(json.dumps({
        "bodies": bodies, "seconds": seconds, "reports": reports, "summary": summary,
        "requested": people if isinstance(people, dict) else None}, indent=1))
    sys.stdout.flush()
    os._exit(0)  # bpy can hang at interpreter exit


#: Record fields that are not metrics (:func:`posa_blender.people.record_placement`).
_RECORD_FIELDS = ("interaction", "pose", "person", "spot", "spot_kind", "object", "seed",
                  "generation", "map_index", "yaw")


def _blender_bodies(bpy, j_regressor: np.ndarray) -> list[dict]:
    """The bodies the operator placed (a ``posa_placement`` record on a POSA body's mesh):
    name (the person, e.g. "sit.003"), interaction, spot, metrics and pelvis (SMPL-X world:
    Blender's (x, y, z) -> (x, z, -y))."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    out = []
    for obj in sorted(bpy.context.scene.objects, key=lambda o: o.name):
        if obj.type != "MESH" or obj.posa.role != "BODY" or "posa_placement" not in obj:
            continue
        record = obj["posa_placement"].to_dict()
        evaluated = obj.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        co = np.empty(len(mesh.vertices) * 3, np.float64)
        mesh.vertices.foreach_get("co", co)
        evaluated.to_mesh_clear()
        matrix = np.array(evaluated.matrix_world)
        world = co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]
        smplx = np.stack([world[:, 0], world[:, 2], -world[:, 1]], axis=1)
        pelvis = pelvis_positions(smplx[None], j_regressor)[0] \
            if len(smplx) == j_regressor.shape[1] else None
        metrics = {k: v for k, v in record.items() if k not in _RECORD_FIELDS}
        out.append({"name": str(record.get("person") or obj.name), "object": obj.name,
                    "pose": str(record.get("interaction", "?")), "placed": True, "reason": "",
                    "spot": str(record.get("spot", "")), "metrics": metrics,
                    "pelvis": None if pelvis is None else [round(float(v), 4) for v in pelvis]})
    return out


# --------------------------------------------------------------------------- reporting


def summarize(info: dict, run: dict, requested: list[str]) -> dict:
    """One room's row: requested, placed (per pose), means over the placed bodies, the largest
    body-body overlap (m), seconds, seats of the JSON and seats used."""
    bodies = run["bodies"]
    placed = [b for b in bodies if b["placed"]]

    def mean(key: str) -> float | None:
        values = [b["metrics"][key] for b in placed if key in b["metrics"]]
        return float(np.mean(values)) if values else None

    per_pose = {}
    for pose in dict.fromkeys(requested):
        per_pose[pose] = [sum(b["pose"] == pose for b in placed), requested.count(pose)]
    used = match_seats(info, bodies)
    return {
        "room": info["room"], "requested": len(requested), "placed": len(placed),
        "per_pose": per_pose, "non_collision": mean("non_collision"), "touch": mean("touch"),
        "semantic_match": mean("semantic_match"),
        "body_overlap_max": max((b["metrics"].get("body_penetration", 0.0) for b in placed),
                                default=0.0),
        "seconds": round(run["seconds"], 1), "seats": info["seats_total"],
        "seats_used": len(used), "used": used,
        "unplaced": {b["name"]: b["reason"] for b in bodies if not b["placed"]},
        "errors": sorted(set(_ERROR.findall(run["log"]))),
        "exit": run["exit"],
    }


def overall(rows: list[dict]) -> dict:
    """Totals over the rooms; means weighted by placed bodies."""
    placed = sum(r["placed"] for r in rows)

    def weighted(key: str) -> float | None:
        pairs = [(r[key], r["placed"]) for r in rows if r[key] is not None]
        total = sum(w for _, w in pairs)
        return sum(v * w for v, w in pairs) / total if total else None

    per_pose: dict[str, list[int]] = {}
    for r in rows:
        for pose, (p, n) in r["per_pose"].items():
            per_pose.setdefault(pose, [0, 0])
            per_pose[pose][0] += p
            per_pose[pose][1] += n
    return {"room": "overall", "requested": sum(r["requested"] for r in rows), "placed": placed,
            "per_pose": per_pose, "non_collision": weighted("non_collision"),
            "touch": weighted("touch"), "semantic_match": weighted("semantic_match"),
            "body_overlap_max": max((r["body_overlap_max"] for r in rows), default=0.0),
            "seconds": round(sum(r["seconds"] for r in rows), 1),
            "seats": sum(r["seats"] for r in rows),
            "seats_used": sum(r["seats_used"] for r in rows)}


def format_table(title: str, rows: list[dict]) -> str:
    """A plain-text table of :func:`summarize` rows (and the :func:`overall` row)."""

    def num(v, fmt="{:.3f}"):
        return "-" if v is None else fmt.format(v)

    lines = [title, f"{'room':<24} {'placed':>7} {'per pose placed':<30} {'non-coll':>8} "
             f"{'touch':>5} {'semantic':>8} {'overlap':>7} {'s':>6} {'seats used':>10}"]
    for r in rows:
        poses = ", ".join(f"{k} {p}/{n}" for k, (p, n) in r["per_pose"].items())
        lines.append(f"{r['room']:<24} {r['placed']:>3}/{r['requested']:<3} {poses:<30} "
                     f"{num(r['non_collision']):>8} {num(r['touch'], '{:.2f}'):>5} "
                     f"{num(r['semantic_match']):>8} "
                     f"{num(100 * r['body_overlap_max'], '{:.1f}cm'):>7} {r['seconds']:>6.1f} "
                     f"{r['seats_used']:>5}/{r['seats']:<4}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", default=None, help="comma-separated room names (default all)")
    parser.add_argument("--bodies", type=int, default=None,
                        help="N people in the default mix instead of the room's own mix")
    parser.add_argument("--standing", type=int, default=2,
                        help="standing people added to the room's own mix (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blender", action="store_true", help="also through Blender")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI runs")
    parser.add_argument("--python", default=sys.executable, help="Python for the CLI")
    parser.add_argument("--blender-python", default=str(ROOT / ".venv-blender" / "bin" / "python"))
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="the code to run (default this checkout)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--out", type=Path, default=None, help="results JSON")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the populated scenes in this folder")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-people", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-result", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.checkout = args.checkout.resolve()
    if args.worker is not None:
        return _blender_worker(args)

    names = args.rooms.split(",") if args.rooms else sorted(p.stem for p in ROOMS.glob("*.json"))
    runners = ([] if args.no_cli else [("cli", run_cli, args.python)]) + (
        [("blender", run_blender, args.blender_python)] if args.blender else [])
    results: dict = {"seed": args.seed, "checkout": str(args.checkout), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="bench_real_rooms_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for label, runner, python in runners:
            rows, details = [], {}
            for name in names:
                info = json.loads((ROOMS / f"{name}.json").read_text())
                people = args.bodies if args.bodies else people_for_room(info, args.standing)
                requested = (pose_list(people) if isinstance(people, dict)
                             else ["(default mix)"] * people)
                run = runner(name, people, args.seed, work, args.checkout, python, args.timeout)
                if isinstance(people, int):  # the default mix: count by the poses chosen
                    requested = [b["pose"] for b in run["bodies"]] or requested
                row = summarize(info, run, requested)
                rows.append(row)
                details[name] = {"row": row, "bodies": run["bodies"],
                                 "log": notable_lines(run["log"])}
                print(format_table(f"[{label}] {name}", [row]).split("\n", 1)[1], flush=True)
            rows.append(overall(rows))
            print(format_table(f"\n{label}: seed {args.seed}", rows), flush=True)
            results["runs"][label] = {"rows": rows, "rooms": details}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, default=float) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
