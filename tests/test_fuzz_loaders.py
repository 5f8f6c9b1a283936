"""Seeded fuzzing of the loaders at every file boundary: only PosaError comes out, nothing hangs.

Each target builds one valid input with the builders of the other tests (a checkpoint, a
reference checkpoint with its mesh_ds folder, a mesh_ds folder, a hierarchy .npz, a scene grid
folder, a dataset split, a training settings file). Every case copies it, applies one to three
seeded mutations (truncation, flipped or inserted bytes, an emptied file, a FIFO / folder /
device in place of a file, .npy header bombs and broken headers, zip members lying about their
size, swapped dtypes, wrong shapes, NaN/Inf, JSON/YAML values of the wrong type, deep nesting,
huge ints, invalid UTF-8, state-dict values that are not finite tensors, ...) and calls the
loader. A case passes when the loader raises a PosaError subclass, or returns something whose
outputs are finite (a decoded map, grid lookups, a batch). Anything else fails the test with the
target, the case number and the mutations, which replay it (the cases are seeded).

``POSA_FUZZ_SCALE=10 pytest tests/test_fuzz_loaders.py -s`` runs ten times as many cases and
prints the counts.
"""

from __future__ import annotations

import collections
import io
import json
import os
import shutil
import struct
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from posa_model.body import BodyPose, load_body_model, standin_path
from posa_model.body.pose import read_pose_file
from posa_model.data import PosaDataset
from posa_model.errors import PosaError
from posa_model.mesh.build import build_hierarchy
from posa_model.mesh.hierarchy import load_hierarchy, save_hierarchy
from posa_model.mesh.mesh_ds import read_mesh_ds, write_mesh_ds
from posa_model.nn.checkpoint import build_model, read_checkpoint, save_checkpoint
from posa_model.nn.config import ModelConfig
from posa_model.nn.cvae import POSA
from posa_model.reference import load_reference
from posa_model.scene import load_scene_grid, save_scene_grid
from posa_model.training.config import TrainConfig, load_config_file
from tests.conftest import fake_hierarchy
from tests.test_dataset import make_split
from tests.test_reference import reference_state_dict
from tests.test_scene_grid import _grid

SCALE = max(1, int(os.environ.get("POSA_FUZZ_SCALE", "1")))
TIMEOUT = 30 * SCALE  # seconds per target: a hang fails the test instead of blocking the suite
TINY = ModelConfig(z_dim=16, h_dim=16, channels=8, num_groups=4)

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")


# =========================================================================== byte mutations
def _truncate(path: Path, rng) -> str:
    data = path.read_bytes()
    keep = int(rng.integers(0, max(1, len(data))))
    path.write_bytes(data[:keep])
    return f"truncate({path.name}, {keep})"


def _flip(path: Path, rng) -> str:
    data = bytearray(path.read_bytes())
    if not data:
        return "flip(empty)"
    for i in rng.integers(0, len(data), int(rng.integers(1, 9))):
        data[i] ^= int(rng.integers(1, 256))
    path.write_bytes(bytes(data))
    return f"flip({path.name})"


def _insert(path: Path, rng) -> str:
    data = path.read_bytes()
    at = int(rng.integers(0, len(data) + 1))
    path.write_bytes(data[:at] + rng.bytes(int(rng.integers(1, 64))) + data[at:])
    return f"insert({path.name}, {at})"


def _empty(path: Path, rng) -> str:
    path.write_bytes(b"")
    return f"empty({path.name})"


def _replace_with(path: Path, rng) -> str:
    """A FIFO, a folder, a character device or nothing where the file was."""
    kind = ["fifo", "folder", "device", "missing"][int(rng.integers(0, 4))]
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        os.symlink("/dev/zero", path)
    return f"{kind}({path.name})"


BYTE_MUTATIONS = [_truncate, _flip, _insert, _empty, _replace_with]


# =========================================================================== .npy mutations
def _npy_header(header: str | bytes, version: tuple[int, int] = (1, 0)) -> bytes:
    raw = header.encode("latin1") if isinstance(header, str) else header
    raw = raw + b" " * ((-(len(raw) + 11)) % 64) + b"\n"
    size = struct.pack("<H" if version == (1, 0) else "<I", len(raw))
    return b"\x93NUMPY" + bytes(version) + size + raw


_BAD_HEADERS = [
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 0), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4, 4, }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': " + "(" * 300 + ")" * 300 + ", }",
    "{'descr': 'O', 'fortran_order': False, 'shape': (3,), }",
    "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }",
    "{'descr': '(3,)<f4', 'fortran_order': False, 'shape': (3,), }",
    "{'descr': '<f4', 'fortran_order': 'yes', 'shape': (3,), }",
    "{'descr': '<q8', 'fortran_order': False, 'shape': (3,), }",
    "{'descr': '<U0', 'fortran_order': False, 'shape': (3,), }",
    "{'descr': '<f4', 'shape': (3,), }",
    "[1, 2, 3]",
    "\u00ff\u00fe garbage",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2, 2, 2, 2, 2, 2, 2, 2), }",
]


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _array_mutation(array: np.ndarray, rng) -> tuple[bytes, str]:
    """Bytes of a mutated ``.npy`` version of ``array`` and what was done."""
    with warnings.catch_warnings():  # casts to narrower or real dtypes warn; that is the point
        warnings.simplefilter("ignore")
        return _array_mutation_quiet(array, rng)


def _array_mutation_quiet(array: np.ndarray, rng) -> tuple[bytes, str]:
    a = np.array(array)
    op = int(rng.integers(0, 9))
    if op == 0:
        header = _BAD_HEADERS[int(rng.integers(0, len(_BAD_HEADERS)))]
        return _npy_header(header) + bytes(64), f"header {header[:50]!r}"
    if op == 1:
        dtype = [np.float16, np.float64, np.int8, np.int64, np.uint64, np.bool_, np.complex64,
                 "<U3", "S2", object][int(rng.integers(0, 10))]
        try:
            swapped = a.astype(dtype)
        except (ValueError, TypeError, OverflowError):
            swapped = np.zeros(a.shape, dtype)
        return _npy_bytes(swapped), f"dtype {np.dtype(dtype)}"
    if op == 2:
        shapes = [a.reshape(-1), a[..., None], a[:-1] if a.ndim else a, np.zeros((0,) + a.shape),
                  a.T, np.zeros(()), np.zeros((2,) * 7)]
        pick = int(rng.integers(0, len(shapes)))
        return _npy_bytes(shapes[pick]), f"shape #{pick}"
    if op == 3 and a.size and a.dtype.kind in "fc":
        bad = a.astype(np.float64)
        bad.flat[int(rng.integers(0, a.size))] = [np.nan, np.inf, -np.inf, 1e308][
            int(rng.integers(0, 4))]
        return _npy_bytes(bad.astype(a.dtype)), "non-finite value"
    if op == 4 and a.size and a.dtype.kind in "iu":
        bad = a.astype(np.int64)
        bad.flat[int(rng.integers(0, a.size))] = [-1, 2**40, -(2**62), 10**6][
            int(rng.integers(0, 4))]
        return _npy_bytes(bad), "integer out of range"
    if op == 5:
        return _npy_bytes(np.asfortranarray(a)), "fortran order"
    if op == 6:  # a valid header, then too little data
        data = _npy_bytes(a)
        return data[:max(0, len(data) - int(rng.integers(1, 16)))], "short data"
    if op == 7:
        return _npy_header(_BAD_HEADERS[0], (3, 0)) + bytes(8), "version 3.0"
    return rng.bytes(int(rng.integers(0, 200))), "random bytes"


def _mutate_npy(path: Path, rng) -> str:
    if not path.is_file():
        return f"npy({path.name}: gone)"
    try:
        array = np.load(path, allow_pickle=False)
    except Exception:  # noqa: BLE001 (an earlier mutation broke it; numpy itself may bomb)
        array = np.zeros(3, np.float32)
    data, what = _array_mutation(array, rng)
    path.write_bytes(data)
    return f"npy({path.name}: {what})"


def _zip_set_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Patch a member's uncompressed size in its local and central headers (a lying zip)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
        pos = z.start_dir
    struct.pack_into("<I", out, info.header_offset + 22, size)
    while out[pos:pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<HHH", out, pos + 28)
        if out[pos + 46:pos + 46 + n].decode("utf-8", "replace") == name:
            struct.pack_into("<I", out, pos + 24, size)
        pos += 46 + n + m + k
    return bytes(out)


def _mutate_npz(path: Path, rng) -> str:
    """Mutate one member's array, its zip entry, or the member list; rewrite the archive."""
    if not path.is_file():
        return f"npz({path.name}: gone)"
    try:
        with zipfile.ZipFile(path) as z:
            members = {i.filename: z.read(i) for i in z.infolist()}
    except Exception:  # noqa: BLE001 (an earlier mutation broke the archive)
        return _flip(path, rng)
    if not members:
        return f"npz({path.name}: no members)"
    names = sorted(members)
    name = names[int(rng.integers(0, len(names)))]
    op = int(rng.integers(0, 6))
    what = ""
    if op <= 2:
        try:
            array = np.load(io.BytesIO(members[name]), allow_pickle=False)
        except Exception:  # noqa: BLE001 (an earlier mutation broke it; numpy itself may bomb)
            array = np.zeros(3)
        members[name], what = _array_mutation(array, rng)
    elif op == 3:
        del members[name]
        what = "dropped"
    elif op == 4:
        members["junk.npy"] = rng.bytes(int(rng.integers(0, 100)))
        what = "junk member"
    compression = zipfile.ZIP_DEFLATED if rng.random() < 0.5 else zipfile.ZIP_STORED
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", compression) as z:
        warnings.simplefilter("ignore")
        for member, payload in members.items():
            z.writestr(member, payload)
    data = buf.getvalue()
    if op == 5 and name in members:
        data = _zip_set_declared_size(data, name, 4_000_000_000)
        what = "declares 4 GB"
    path.write_bytes(data)
    return f"npz({path.name}/{name}: {what})"


# =========================================================================== text mutations
_JSON_JUNK = ["null", "true", '"64"', '"nan"', "[]", "{}", "[1, 2]", "[[1], [2], [3]]", "1e308",
              "-1e308", "1e999", "NaN", "Infinity", "-Infinity", "0", "-5", "2147483648",
              "100000000000000000000", "1" * 5001, "0.5", '"\\u0000"', "[" * 5000 + "]" * 5000,
              '{"a": ' * 3000 + "1" + "}" * 3000, '"' + "x" * 100_000 + '"', "[1e-320, 3, 4]",
              "[Infinity, 1, 1]", "[1, 2, NaN]"]
_YAML_JUNK = [".nan", ".inf", "-.inf", "~", "[1, 2]", "{a: 1}", "!!binary aGVsbG8=", "2023-01-01",
              "*nowhere", "&a [1]", "'8'", "1e999", "1" * 4000, "1" * 5001, "-1", "0", "yes",
              "[" * 3000 + "]" * 3000, "!!python/object:os.system x", "0x7fffffffffffffffff",
              "1_000", "12:30:00", "!!set {a, b}", "? [a, b]\n  : 1"]


def _set_json_value(text: str, rng) -> tuple[str, str]:
    """Replace the value of one top-level key of a JSON object with raw junk (or drop it)."""
    data = json.loads(text)
    if not isinstance(data, dict) or not data:
        return text, "not an object"
    key = sorted(data)[int(rng.integers(0, len(data)))]
    if rng.random() < 0.15:
        del data[key]
        return json.dumps(data), f"drop {key!r}"
    junk = _JSON_JUNK[int(rng.integers(0, len(_JSON_JUNK)))]
    data[key] = "@@JUNK@@"
    return json.dumps(data).replace('"@@JUNK@@"', junk), f"{key}={junk[:30]}"


def _mutate_json_file(path: Path, rng) -> str:
    if not path.is_file():
        return f"json({path.name}: gone)"
    text = path.read_text(encoding="utf-8", errors="replace")
    op = int(rng.integers(0, 5))
    if op <= 1:
        try:
            text, what = _set_json_value(text, rng)
        except (ValueError, RecursionError):
            what = "unparsable"
    elif op == 2:
        junk = _JSON_JUNK[int(rng.integers(0, len(_JSON_JUNK)))]
        text, what = junk, f"whole={junk[:30]}"
    elif op == 3:  # a list entry of the wrong type (dataset lists)
        text = text.replace('"', "", 2) if rng.random() < 0.5 else text.replace("]", ", 3]", 1)
        what = "entry"
    else:
        path.write_bytes(text.encode()[:10] + b"\xff\xfe\xc3" + text.encode()[10:])
        return f"json({path.name}: invalid utf-8)"
    path.write_text(text, encoding="utf-8")
    return f"json({path.name}: {what})"


# =========================================================================== targets
@dataclass(frozen=True)
class Target:
    """The loader to call on a copy of a valid folder, the (pick a file, mutate it) pairs that
    apply to its files (grouped by kind), and how many cases to try."""

    name: str
    load: Callable[[Path], object]
    mutations: dict[str, list[tuple[Callable, Callable]]]
    cases: int


def _tiny_checkpoint(folder: Path) -> None:
    torch.manual_seed(0)
    h = fake_hierarchy()
    model = POSA.from_hierarchy(TINY, h)
    save_checkpoint(folder / "c.pt", model, h.fingerprint, torch.full((4, 40), 1 / 40),
                    meta={"trained": True, "frame": "canonical", "val_f1": 0.5},
                    extra={"epoch": 1, "step": 3, "train_config": {"epochs": 1}})


_JUNK_VALUES = [None, 0, -1, 10**7, 10**30, 2.5, float("nan"), float("inf"), "8", "x", True,
                [1, 1], {"a": 1}, {1: 2}, torch.zeros(2), torch.tensor([float("nan")]),
                torch.zeros(3, dtype=torch.int64), torch.zeros(0), b"bytes", (1, 2)]


def _junk(rng):
    return _JUNK_VALUES[int(rng.integers(0, len(_JUNK_VALUES)))]


def _mutate_payload(path: Path, rng) -> str:
    """Change one field of a torch checkpoint dict (ours or the reference's) and re-save it."""
    try:
        payload = torch.load(path, weights_only=True)
        state_key = "state_dict" if "state_dict" in payload else "model_state_dict"
        assert isinstance(payload[state_key], dict) and payload[state_key]
    except Exception:  # noqa: BLE001 (an earlier mutation broke it: mutate bytes instead)
        return _flip(path, rng)
    state_key = "state_dict" if "state_dict" in payload else "model_state_dict"
    state = payload[state_key]
    op = int(rng.integers(0, 7))
    names = sorted(state)
    name = names[int(rng.integers(0, len(names)))]
    if op == 0:
        state[name] = _junk(rng)
        what = f"{state_key}[{name}] = junk"
    elif op == 1:
        t = state[name].clone().float()
        t.view(-1)[int(rng.integers(0, t.numel()))] = [float("nan"), float("inf")][
            int(rng.integers(0, 2))]
        state[name] = t
        what = f"{state_key}[{name}] non-finite"
    elif op == 2:
        state[name] = state[name].reshape(-1) if rng.random() < 0.5 else state[name][..., :1]
        what = f"{state_key}[{name}] reshaped"
    elif op == 3:
        del state[name]
        state[["decoder.de_spiral.999999999.layer.weight", "extra", name + "x"][
            int(rng.integers(0, 3))]] = torch.zeros(2, 2)
        what = f"{state_key}[{name}] renamed"
    elif op == 4 and "model_config" in payload:
        key = sorted(payload["model_config"])[int(rng.integers(0, 10))]
        payload["model_config"][key] = _junk(rng)
        what = f"model_config.{key} = junk"
    elif op == 5:
        key = sorted(payload)[int(rng.integers(0, len(payload)))]
        payload[key] = _junk(rng)
        what = f"{key} = junk"
    else:
        key = ["meta", "extra", "format_version"][int(rng.integers(0, 3))]
        payload[key] = {"trained": "yes"} if key == "meta" and rng.random() < 0.3 else _junk(rng)
        if key == "extra" and rng.random() < 0.5:
            payload[key] = {"train_config": _junk(rng), "epoch": _junk(rng)}
        what = f"{key} = junk"
    torch.save(payload, path)
    return f"payload({what})"


def _load_checkpoint(folder: Path) -> None:
    _decodes_finite(build_model(read_checkpoint(folder / "c.pt"), fake_hierarchy()))


def _load_reference(folder: Path) -> None:
    _decodes_finite(load_reference(folder / "ref.pt", folder / "mesh_ds"))


def _load_body(folder: Path) -> None:
    model = load_body_model(folder / "SMPLX_NEUTRAL.npz")
    assert torch.isfinite(model.v_template).all(), "a body loaded with NaN/Inf vertices"


def _load_pose(folder: Path) -> None:
    pose = read_pose_file(folder / "pose.npz", frame=None)
    assert all(torch.isfinite(t).all() for t in pose.tensors().values()), "a pose with NaN/Inf"


def _decodes_finite(model: POSA) -> None:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        out = model.decode(torch.randn(2, model.config.z_dim, generator=g),
                           torch.randn(2, model.num_vertices, 3, generator=g))
    assert torch.isfinite(out).all(), "a checkpoint loaded but decodes to NaN/Inf"


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """One valid input folder per target."""
    root = tmp_path_factory.mktemp("fuzz_sources")
    sphere2, sphere4 = trimesh.creation.icosphere(2), trimesh.creation.icosphere(4)
    small = build_hierarchy(sphere2.vertices, sphere2.faces, levels=2)
    folders = {name: root / name for name in
               ("checkpoint", "reference", "mesh_ds", "hierarchy", "grid", "dataset", "config",
                "body", "pose")}
    for folder in folders.values():
        folder.mkdir()
    _tiny_checkpoint(folders["checkpoint"])
    big = build_hierarchy(sphere4.vertices, sphere4.faces)
    write_mesh_ds(big, folders["reference"] / "mesh_ds")
    torch.save({"epoch": 1, "model_state_dict": reference_state_dict(len(big.vertices[4]))},
               folders["reference"] / "ref.pt")
    write_mesh_ds(small, folders["mesh_ds"])
    save_hierarchy(small, folders["hierarchy"] / "h.npz")
    save_scene_grid(folders["grid"], "room", _grid(shape=(4, 5, 6)))
    make_split(folders["dataset"], n=4, v=5)
    (folders["config"] / "run.yaml").write_text(
        "epochs: 2\nlr: 0.001\nkl_w: 0.1\nz_dim: 16\nchannels: 8\nnum_groups: 4\n"
        "data: data/synth\nbf16: false\n")
    (folders["config"] / "run.json").write_text(json.dumps(
        {"epochs": 2, "lr": 0.001, "kl_w": 0.1, "batch_size": 8, "hierarchy": None}))
    shutil.copy(standin_path(), folders["body"] / "SMPLX_NEUTRAL.npz")
    BodyPose.from_preset(["sit", "lie_back"]).to_file(folders["pose"] / "pose.npz")
    return folders


def _yaml_mutation(path: Path, rng) -> str:
    if not path.is_file():
        return "yaml(gone)"
    lines = path.read_text(errors="replace").splitlines() or [""]
    i = int(rng.integers(0, len(lines)))
    junk = _YAML_JUNK[int(rng.integers(0, len(_YAML_JUNK)))]
    key = lines[i].split(":", 1)[0]
    lines[i] = f"{key}: {junk}"
    path.write_text("\n".join(lines) + "\n")
    return f"yaml({key}: {junk[:30]})"


def _load_grid(folder: Path) -> None:
    grid = load_scene_grid(folder, "room", up="z" if (folder / "z").exists() else "y")
    rng = np.random.default_rng(0)
    points = grid.grid_min + rng.uniform(-0.5, 1.5, (50, 3)) * (grid.grid_max - grid.grid_min)
    assert np.isfinite(grid.lookup(points)).all(), "a grid loaded but looks up NaN/Inf"


def _load_dataset(folder: Path) -> None:
    ds = PosaDataset(folder)
    batch = ds.get_batch(np.arange(len(ds)))
    assert torch.isfinite(batch.vertices).all() and batch.labels.max() < 42


def _load_config(folder: Path) -> None:
    for name in ("run.yaml", "run.json"):
        cfg = TrainConfig.from_dict(load_config_file(folder / name))
        assert all(np.isfinite(v) for v in cfg.to_dict().values()
                   if isinstance(v, float)), "a config loaded with a non-finite number"


def _files(*names: str) -> Callable[[Path, object], Path]:
    def pick(folder: Path, rng) -> Path:
        return folder / names[int(rng.integers(0, len(names)))]

    return pick


_MESH_LINES = ["f 1 1 1", "f 0 1 2", "f 1 2 99999", "f -1 -2 -3", "f 1 2", "f a b c",
               "v nan 0 0", "v 1e999 0 0", "f 1 2 3 4", "f 3 2 1", "f 1/1/1 2/2/2 3/3/3", "o x",
               "f 2 1 3", "f 1 2 -99999"]


def _mutate_obj(path: Path, rng) -> str:
    if not path.is_file():
        return "obj(gone)"
    lines = path.read_bytes().decode("latin1").splitlines() or [""]
    op = int(rng.integers(0, 3))
    if op == 0:
        line = _MESH_LINES[int(rng.integers(0, len(_MESH_LINES)))]
        lines.insert(int(rng.integers(0, len(lines) + 1)), line)
        what = f"+{line!r}"
    elif op == 1:
        faces = [i for i, l in enumerate(lines) if l.startswith("f ")]
        order = rng.permutation(faces)
        lines = [lines[order[faces.index(i)]] if i in faces else l for i, l in enumerate(lines)]
        what = "shuffled faces"
    else:
        del lines[int(rng.integers(0, len(lines)))]
        what = "dropped a line"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin1"))
    return f"obj({path.name}: {what})"


def _targets() -> dict[str, Target]:
    return {
        "checkpoint": Target("checkpoint", _load_checkpoint, {
            "bytes": [(_files("c.pt"), m) for m in BYTE_MUTATIONS],
            "payload": [(_files("c.pt"), _mutate_payload)] * 6}, 90),
        "reference": Target("reference", _load_reference, {
            "bytes": [(_files("ref.pt"), m) for m in BYTE_MUTATIONS],
            "payload": [(_files("ref.pt"), _mutate_payload)] * 4,
            "mesh_ds": [(_files("mesh_ds/D_3.npz", "mesh_ds/U_4.npz"), _mutate_npz),
                        (_files("mesh_ds/mesh_3.obj", "mesh_ds/mesh_4.obj"), _mutate_obj)]},
            30),
        "mesh_ds": Target("mesh_ds", lambda d: read_mesh_ds(d, levels=2), {
            "bytes": [(_files("mesh_0.obj", "mesh_2.obj", "D_1.npz", "U_2.npz"), m)
                      for m in BYTE_MUTATIONS],
            "obj": [(_files("mesh_0.obj", "mesh_1.obj", "mesh_2.obj"), _mutate_obj)] * 4,
            "npz": [(_files("D_1.npz", "D_2.npz", "U_1.npz", "U_2.npz"), _mutate_npz)] * 4},
            70),
        "hierarchy": Target("hierarchy", lambda d: load_hierarchy(d / "h.npz"), {
            "bytes": [(_files("h.npz"), m) for m in BYTE_MUTATIONS],
            "npz": [(_files("h.npz"), _mutate_npz)] * 8}, 80),
        "grid": Target("grid", _load_grid, {
            "bytes": [(_files("room.json", "room_sdf.npy", "room_semantics.npy"), m)
                      for m in BYTE_MUTATIONS],
            "json": [(_files("room.json"), _mutate_json_file)] * 6,
            "npy": [(_files("room_sdf.npy", "room_semantics.npy"), _mutate_npy)] * 4}, 90),
        "dataset": Target("dataset", _load_dataset, {
            "bytes": [(_files("x.npy", "x_semantics.npy", "vertices_can.npy", "vertices.npy",
                                "recording_names.json", "pkl_file_paths.json"), m)
                      for m in BYTE_MUTATIONS],
            "npy": [(_files("x.npy", "x_semantics.npy", "vertices_can.npy", "vertices.npy"),
                     _mutate_npy)] * 6,
            "json": [(_files("recording_names.json", "pkl_file_paths.json"),
                      _mutate_json_file)] * 3}, 70),
        "config": Target("config", _load_config, {
            "bytes": [(_files("run.yaml", "run.json"), m) for m in BYTE_MUTATIONS],
            "yaml": [(_files("run.yaml"), _yaml_mutation)] * 6,
            "json": [(_files("run.json"), _mutate_json_file)] * 4}, 80),
        "body": Target("body", _load_body, {
            "bytes": [(_files("SMPLX_NEUTRAL.npz"), m) for m in BYTE_MUTATIONS],
            "npz": [(_files("SMPLX_NEUTRAL.npz"), _mutate_npz)] * 8}, 12),
        "pose": Target("pose", _load_pose, {
            "bytes": [(_files("pose.npz"), m) for m in BYTE_MUTATIONS],
            "npz": [(_files("pose.npz"), _mutate_npz)] * 8}, 60),
    }


def _run_case(target: Target, source: Path, work: Path, seed: int) -> tuple[str, list[str]]:
    rng = np.random.default_rng(seed)
    folder = work / f"case{seed}"
    shutil.copytree(source, folder, symlinks=True)
    if target.name == "grid" and rng.random() < 0.2:
        (folder / "z").touch()  # also load some as z-up
    pool = [m for group in target.mutations.values() for m in group]
    done = []
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        pick, mutate = pool[int(rng.integers(0, len(pool)))]
        path = pick(folder, rng)
        if mutate is not _replace_with and (path.is_symlink() or not path.is_file()):
            continue  # an earlier mutation replaced it
        done.append(mutate(path, rng))
    try:
        target.load(folder)
        outcome = "loaded"
    except PosaError as exc:
        outcome = f"error:{type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 (the point: anything but PosaError is a finding)
        outcome = f"LEAK:{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return outcome, done


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT)
@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")  # torch, on flipped storages
@pytest.mark.parametrize("name", ["checkpoint", "reference", "mesh_ds", "hierarchy", "grid",
                                  "dataset", "config", "body", "pose"])
def test_fuzzed_files_raise_only_posa_errors(name, sources, tmp_path):
    target = _targets()[name]
    counts = collections.Counter()
    leaks = []
    base = 1000 * (list(_targets()).index(name) + 1)
    for case in range(target.cases * SCALE):
        seed = base * 1000 + case
        outcome, done = _run_case(target, sources[name], tmp_path, seed)
        counts[outcome.split(":", 2)[0] if outcome.startswith("LEAK") else outcome] += 1
        if outcome.startswith("LEAK"):
            leaks.append(f"seed {seed} {done}: {outcome}")
    total = sum(counts.values())
    errors = sum(v for k, v in counts.items() if k.startswith("error"))
    print(f"\nfuzz {name}: {total} cases, {errors} clean errors, {counts['loaded']} loaded, "
          f"{len(leaks)} leaks; {dict(counts)}")
    assert not leaks, "\n".join(leaks[:20])
    assert errors >= total // 4, f"the mutations rarely break {name}: {dict(counts)}"
