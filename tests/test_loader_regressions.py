"""Issue 12 ("Loaders"): one named test per reproducer that fuzzing found, plus the helpers.

Each was a hang, a raw traceback (EOFError, BadZipFile, MemoryError, AttributeError, ...) or
silently accepted garbage; each must now be a PosaError naming the file and the field.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest
import torch
import trimesh

from posa_model.data import DatasetError, PosaDataset
from posa_model.errors import (
    CheckpointError,
    FileFormatError,
    HierarchyError,
    InputShapeError,
    ModelConfigError,
    PosaError,
)
from posa_model.io_utils import (
    open_npy_memmap,
    read_json_bounded,
    read_npy_bounded,
    read_npz_bounded,
    read_yaml_bounded,
    require_regular_file,
)
from posa_model.mesh.build import build_hierarchy
from posa_model.mesh.halfedge import HalfedgeMesh
from posa_model.mesh.hierarchy import load_hierarchy, save_hierarchy
from posa_model.mesh.mesh_ds import read_mesh_ds, write_mesh_ds
from posa_model.nn.checkpoint import read_checkpoint, save_checkpoint
from posa_model.nn.config import ModelConfig
from posa_model.nn.cvae import POSA
from posa_model.reference import load_reference
from posa_model.scene import load_scene_grid, save_scene_grid
from posa_model.training.config import ConfigError, TrainConfig, load_config_file
from tests.conftest import fake_hierarchy
from tests.test_dataset import make_split
from tests.test_reference import reference_state_dict
from tests.test_scene_grid import _grid

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")]
TINY = ModelConfig(z_dim=16, h_dim=16, channels=8, num_groups=4)


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def small_mesh_ds(tmp_path_factory):
    """A 2-level mesh_ds folder of an icosphere: 162 -> 41 -> 11 vertices."""
    s = trimesh.creation.icosphere(2)
    folder = tmp_path_factory.mktemp("mesh_ds")
    h = build_hierarchy(s.vertices, s.faces, levels=2)
    write_mesh_ds(h, folder)
    save_hierarchy(h, folder.parent / f"{folder.name}.npz")
    return folder


@pytest.fixture()
def mesh_ds_copy(small_mesh_ds, tmp_path):
    folder = tmp_path / "mesh_ds"
    folder.mkdir()
    for f in small_mesh_ds.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


@pytest.fixture()
def hierarchy_file(small_mesh_ds, tmp_path):
    path = tmp_path / "h.npz"
    path.write_bytes((small_mesh_ds.parent / f"{small_mesh_ds.name}.npz").read_bytes())
    return path


@pytest.fixture()
def checkpoint(tmp_path):
    torch.manual_seed(0)
    h = fake_hierarchy()
    model = POSA.from_hierarchy(TINY, h)
    return save_checkpoint(tmp_path / "c.pt", model, h.fingerprint, torch.full((4, 40), 1 / 40),
                           meta={"trained": True})


@pytest.fixture()
def grid_folder(tmp_path):
    save_scene_grid(tmp_path, "room", _grid(shape=(4, 4, 4)))
    return tmp_path


def _rewrite_npz(src, dst, **changes):
    with np.load(src, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data.update(changes)
    np.savez(dst, **data)
    return dst


def _add_obj_face(folder, level, line, first=True):
    path = folder / f"mesh_{level}.obj"
    text = path.read_text()
    if first:
        at = text.index("\nf ") + 1
        text = text[:at] + line + "\n" + text[at:]
    else:
        text += line + "\n"
    path.write_text(text)


def _npy_with_header(header: str, data: bytes = bytes(64)) -> bytes:
    raw = header.encode("latin1")
    raw += b" " * ((-(len(raw) + 11)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(raw)) + raw + data


# ------------------------------------------------------------------------------ hangs
@pytest.mark.parametrize("first", [True, False])
def test_mesh_ds_face_repeating_a_vertex_is_refused_not_looped_on(mesh_ds_copy, first):
    _add_obj_face(mesh_ds_copy, 1, "f 1 1 1", first)
    with pytest.raises(HierarchyError, match=r"mesh_1\.obj.*degenerate faces repeat a vertex"):
        read_mesh_ds(mesh_ds_copy, levels=2)


@pytest.mark.parametrize("first", [True, False])
def test_mesh_ds_face_index_zero_is_refused_not_looped_on(mesh_ds_copy, first):
    _add_obj_face(mesh_ds_copy, 1, "f 0 1 2", first)
    with pytest.raises(HierarchyError, match=r"mesh_1\.obj: line \d+: face index 0"):
        read_mesh_ds(mesh_ds_copy, levels=2)


def test_halfedge_builder_refuses_degenerate_faces_and_is_bounded():
    s = trimesh.creation.icosphere(1)
    for bad in ([0, 0, 0], [0, 1, 1], [2, 1, 2]):
        faces = np.vstack([[bad], s.faces])
        with pytest.raises(InputShapeError, match="degenerate faces repeat a vertex"):
            HalfedgeMesh(len(s.vertices), faces)
    # every non-degenerate face order terminates (OpenMesh refusals are listed, not looped on)
    rng = np.random.default_rng(0)
    for _ in range(200):
        faces = rng.integers(0, 8, size=(int(rng.integers(1, 30)), 3))
        faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2])
                      & (faces[:, 0] != faces[:, 2])]
        if len(faces):
            HalfedgeMesh(8, faces).all_vertex_vertex_orders()


@pytest.mark.parametrize("name", ["room.json", "room_sdf.npy", "room_semantics.npy"])
def test_fifo_grid_file_is_refused_not_blocked_on(grid_folder, name):
    (grid_folder / name).unlink()
    os.mkfifo(grid_folder / name)
    with pytest.raises(PosaError, match=rf"{name}.*FIFO"):
        load_scene_grid(grid_folder, "room")


def test_fifo_checkpoint_hierarchy_dataset_and_config_are_refused(tmp_path, small_mesh_ds):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="FIFO"):
        read_checkpoint(fifo)
    with pytest.raises(CheckpointError, match="FIFO"):
        load_reference(fifo, small_mesh_ds)
    with pytest.raises(HierarchyError, match="FIFO"):
        load_hierarchy(fifo)
    with pytest.raises(ConfigError, match="FIFO"):
        load_config_file(fifo)
    make_split(tmp_path / "split", n=3, v=4)
    (tmp_path / "split" / "x.npy").unlink()
    os.mkfifo(tmp_path / "split" / "x.npy")
    with pytest.raises(DatasetError, match=r"x\.npy.*FIFO"):
        PosaDataset(tmp_path / "split")


def test_mesh_ds_fifo_and_folder_in_place_of_files(mesh_ds_copy):
    (mesh_ds_copy / "mesh_1.obj").unlink()
    os.mkfifo(mesh_ds_copy / "mesh_1.obj")
    with pytest.raises(HierarchyError, match=r"mesh_1\.obj.*FIFO"):
        read_mesh_ds(mesh_ds_copy, levels=2)
    (mesh_ds_copy / "mesh_1.obj").unlink()
    (mesh_ds_copy / "mesh_1.obj").mkdir()
    with pytest.raises(HierarchyError, match=r"mesh_1\.obj.*folder"):
        read_mesh_ds(mesh_ds_copy, levels=2)


# ------------------------------------------------------------------------------ raw tracebacks
@pytest.mark.parametrize("content", [b"", b"PK\x03\x04", None], ids=["empty", "zip magic",
                                                                      "truncated"])
def test_empty_and_truncated_npz_name_the_file(hierarchy_file, mesh_ds_copy, content):
    for path in (hierarchy_file, mesh_ds_copy / "U_2.npz"):
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2] if content is None else content)
    with pytest.raises(HierarchyError, match=r"h\.npz"):
        load_hierarchy(hierarchy_file)
    with pytest.raises(HierarchyError, match=r"U_2\.npz"):
        read_mesh_ds(mesh_ds_copy, levels=2)


def test_empty_and_truncated_npy_name_the_file_and_field(grid_folder, tmp_path):
    sdf = grid_folder / "room_sdf.npy"
    data = sdf.read_bytes()
    for content in (b"", data[:20], data[:-5]):
        sdf.write_bytes(content)
        with pytest.raises(InputShapeError, match=r"room_sdf\.npy: field 'sdf'"):
            load_scene_grid(grid_folder, "room")
    make_split(tmp_path / "split", n=3, v=4)
    x = tmp_path / "split" / "x.npy"
    x.write_bytes(x.read_bytes()[:-7])
    with pytest.raises(DatasetError, match=r"x\.npy: field 'x': truncated"):
        PosaDataset(tmp_path / "split")


def test_npy_header_with_a_broken_tuple_is_an_error_not_a_token_error(grid_folder):
    (grid_folder / "room_sdf.npy").write_bytes(_npy_with_header(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4, 4, }"))
    with pytest.raises(InputShapeError, match=r"room_sdf\.npy.*\.npy array header"):
        load_scene_grid(grid_folder, "room")


def test_npy_header_bomb_is_refused_before_allocating(grid_folder, tmp_path):
    bomb = _npy_with_header("{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (1000000000000,), }")
    (grid_folder / "room_sdf.npy").write_bytes(bomb)
    with pytest.raises(InputShapeError, match=r"room_sdf\.npy.*1000000000000.*limit"):
        load_scene_grid(grid_folder, "room")
    make_split(tmp_path / "split", n=3, v=4)
    (tmp_path / "split" / "x.npy").write_bytes(bomb)
    with pytest.raises(DatasetError, match=r"x\.npy.*limit"):
        PosaDataset(tmp_path / "split")


def _declare_size(path, member: str, declared: int) -> None:
    """Patch ``member``'s uncompressed size in its local and central zip headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info, pos = z.getinfo(member), z.start_dir
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    while data[pos:pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46:pos + 46 + n].decode() == member:
            struct.pack_into("<I", data, pos + 24, declared)
        pos += 46 + n + m + k
    path.write_bytes(bytes(data))


def _lying_zip(path, declared: int):
    """An .npz whose member claims ``declared`` uncompressed bytes (a zip bomb's header)."""
    buf = io.BytesIO()
    np.save(buf, np.zeros(16))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("vertices_0.npy", buf.getvalue())
    _declare_size(path, "vertices_0.npy", declared)


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.npz"
    _lying_zip(path, 4_000_000_000)
    with pytest.raises(HierarchyError, match=r"bomb\.npz: field 'vertices_0': declares "
                                             r"4000000000 bytes"):
        load_hierarchy(path)
    # a real (small) bomb: 64 MiB of zeros inflate ~1000:1
    real = tmp_path / "real.npz"
    np.savez_compressed(real, zeros=np.zeros(8 << 20))
    with pytest.raises(FileFormatError, match=r"real\.npz: field 'zeros': inflates \d+:1"):
        read_npz_bounded(real, "test", max_ratio=100)
    with pytest.raises(FileFormatError, match="limit"):
        read_npz_bounded(real, "test", max_bytes=1 << 20)
    assert read_npz_bounded(real, "test")["zeros"].shape == (8 << 20,)


def test_checkpoint_zip_member_lying_about_its_size_is_refused(checkpoint):
    with zipfile.ZipFile(checkpoint) as z:
        member = next(n for n in z.namelist() if n.endswith("data/0"))
    _declare_size(checkpoint, member, 4_000_000_000)
    with pytest.raises(CheckpointError, match=r"c\.pt: checkpoint: member .*data/0' inflates"):
        read_checkpoint(checkpoint)


def test_checkpoint_non_tensor_state_dict_value_and_non_dict_meta(checkpoint):
    payload = torch.load(checkpoint, weights_only=True)
    payload["state_dict"]["encoder.fc.weight"] = [1.0, 2.0]
    torch.save(payload, checkpoint)
    with pytest.raises(CheckpointError, match=r"state_dict\['encoder\.fc\.weight'\] must be a "
                                              r"tensor, found list"):
        read_checkpoint(checkpoint)
    payload = torch.load(checkpoint, weights_only=True)
    payload["state_dict"]["encoder.fc.weight"] = torch.zeros(3, dtype=torch.int64)
    torch.save(payload, checkpoint)
    with pytest.raises(CheckpointError, match=r"encoder\.fc\.weight.*floating-point"):
        read_checkpoint(checkpoint)
    for meta, message in (([1, 2], "field 'meta' must be a dict"),
                          ({"a": [1]}, r"meta\['a'\] must be a str"),
                          ({"trained": "yes"}, r"meta\['trained'\] must be a bool")):
        payload = torch.load(checkpoint, weights_only=True)
        payload["state_dict"]["encoder.fc.weight"] = torch.zeros(16, 24)
        payload["meta"] = meta
        torch.save(payload, checkpoint)
        with pytest.raises(CheckpointError, match=message):
            read_checkpoint(checkpoint)
    payload["meta"] = {}
    payload["extra"] = {"train_config": 3}
    torch.save(payload, checkpoint)
    with pytest.raises(CheckpointError, match=r"extra\['train_config'\] must be a dict"):
        read_checkpoint(checkpoint)


@pytest.mark.parametrize("field, value, message", [
    ("channels", 0, r"model_config\.channels must be in 1\.\.1024, got 0"),
    ("num_groups", 0, r"model_config\.num_groups must be in 1\.\.1024, got 0"),
    ("num_groups", 3, r"model_config\.num_groups \(3\) must divide model_config\.channels \(8\)"),
    ("z_dim", 10**7, r"model_config\.z_dim must be in 2\.\.4096, got 10000000"),
    ("seq_length", True, r"model_config\.seq_length must be an int"),
])
def test_model_config_out_of_range_is_refused_before_allocating(checkpoint, field, value,
                                                                message):
    payload = torch.load(checkpoint, weights_only=True)
    payload["model_config"][field] = value
    torch.save(payload, checkpoint)
    with pytest.raises(ModelConfigError, match=rf"c\.pt: {message}"):
        read_checkpoint(checkpoint)
    with pytest.raises(ModelConfigError, match=field):
        ModelConfig(**{field: value})


def test_reference_weights_of_the_wrong_rank_name_the_parameter(tmp_path, small_mesh_ds):
    sd = reference_state_dict(11)
    sd["encoder.en_mu.weight"] = sd["encoder.en_mu.weight"].reshape(-1)
    torch.save({"model_state_dict": sd}, tmp_path / "ref.pt")
    with pytest.raises(CheckpointError, match=r"ref\.pt: model_state_dict\['encoder\.en_mu"
                                              r"\.weight'\] must be a 2-d weight matrix"):
        load_reference(tmp_path / "ref.pt", small_mesh_ds)
    sd = reference_state_dict(11)
    sd["decoder.de_spiral.0.conv.layer.weight"] = 3
    torch.save({"model_state_dict": sd}, tmp_path / "ref.pt")
    with pytest.raises(CheckpointError, match=r"decoder\.de_spiral\.0\.conv\.layer\.weight'\] "
                                              "must be a tensor"):
        load_reference(tmp_path / "ref.pt", small_mesh_ds)


@pytest.mark.parametrize("field, value", [
    ("format_version", np.array([1, 1])), ("format_version", np.array("1")),
    ("levels", np.array(10**6)), ("levels", np.array(-1)), ("seq_length", np.array(1.5)),
    ("fingerprint", np.array(3)),
])
def test_hierarchy_header_fields_must_be_scalars_in_range(hierarchy_file, tmp_path, field,
                                                          value):
    bad = _rewrite_npz(hierarchy_file, tmp_path / "bad.npz", **{field: value})
    with pytest.raises(HierarchyError, match=rf"bad\.npz: field '{field}'"):
        load_hierarchy(bad)


def test_hierarchy_arrays_of_the_wrong_kind_are_named(hierarchy_file, tmp_path):
    bad = _rewrite_npz(hierarchy_file, tmp_path / "bad.npz", faces_1=np.array(["a", "b"]))
    with pytest.raises(HierarchyError, match=r"bad\.npz: field 'faces_1' must hold integers"):
        load_hierarchy(bad)


@pytest.mark.parametrize("change, message", [
    ({"dim": "4"}, r"field 'dim' must be an int"),
    ({"dim": 10**9}, r"field 'dim' must be an int in 2\.\.4096"),
    ({"min": "0,0,0"}, r"'min' and 'max' must be 3 numbers"),
    ({"max": ["1", "1", "1"]}, r"field 'max' must be 3 numbers"),
    ({"shape": "4x4x4"}, r"field 'shape' must be 3 ints"),
    ({"bbox": [[0, 0, 0], [1, 1]]}, r"field 'bbox' must be 2 x 3 numbers"),
    ({"voxel_size": "0.1"}, r"field 'voxel_size' must be a number"),
])
def test_grid_header_of_the_wrong_types_names_the_field(grid_folder, change, message):
    path = grid_folder / "room.json"
    header = json.loads(path.read_text())
    header.update(change)
    path.write_text(json.dumps(header))
    with pytest.raises(InputShapeError, match=rf"room\.json: {message}"):
        load_scene_grid(grid_folder, "room")


def test_deep_json_and_huge_ints_are_errors_not_recursion_or_value_errors(grid_folder,
                                                                            tmp_path):
    path = grid_folder / "room.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputShapeError, match=r"room\.json: scene header is nested too deeply"):
        load_scene_grid(grid_folder, "room")
    path.write_text('{"dim": ' + "1" * 5001 + ', "min": [0, 0, 0], "max": [1, 1, 1]}')
    with pytest.raises(InputShapeError, match=r"room\.json.*5001 digits"):
        load_scene_grid(grid_folder, "room")
    make_split(tmp_path / "split", n=3, v=4)
    (tmp_path / "split" / "recording_names.json").write_text("[" * 100_000)
    with pytest.raises(DatasetError, match=r"recording_names\.json"):
        PosaDataset(tmp_path / "split")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_invalid_utf8_in_a_config_is_named(tmp_path, suffix):
    path = tmp_path / f"run{suffix}"
    path.write_bytes(b'{"data": "caf\xe9"}' if suffix == ".json" else b"data: caf\xe9\n")
    with pytest.raises(ConfigError, match=rf"run\{suffix}.*not valid UTF-8"):
        load_config_file(path)


# ------------------------------------------------------------------------------ silent garbage
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 3e38])
def test_non_finite_weights_are_refused_at_load_naming_the_tensor(checkpoint, bad):
    payload = torch.load(checkpoint, weights_only=True)
    payload["state_dict"]["decoder.out.linear.weight"][0, 3] = bad
    torch.save(payload, checkpoint)
    with pytest.raises(CheckpointError, match=r"c\.pt: state_dict\['decoder\.out\.linear"
                                              r"\.weight'\]"):
        read_checkpoint(checkpoint)


def test_non_finite_reference_weights_are_refused(tmp_path, small_mesh_ds):
    sd = reference_state_dict(11)
    sd["encoder.en_fc.0.lin.bias"][2] = float("nan")
    torch.save({"model_state_dict": sd}, tmp_path / "ref.pt")
    with pytest.raises(CheckpointError, match=r"model_state_dict\['encoder\.en_fc\.0\.lin\.bias'"
                                              r"\] has 1 NaN or infinite"):
        load_reference(tmp_path / "ref.pt", small_mesh_ds)


@pytest.mark.parametrize("raw", ['[Infinity, 1, 1]', '[1, NaN, 1]', '[1e999, 1, 1]'])
def test_grid_header_with_infinite_bounds_is_refused(grid_folder, raw):
    path = grid_folder / "room.json"
    header = json.loads(path.read_text())
    header["max"] = "@@"
    path.write_text(json.dumps(header).replace('"@@"', raw))
    with pytest.raises(InputShapeError, match=r"room\.json.*finite"):
        load_scene_grid(grid_folder, "room")


def test_grid_lookups_refuse_non_finite_points(grid_folder):
    grid = load_scene_grid(grid_folder, "room")
    with pytest.raises(InputShapeError, match="NaN or infinite"):
        grid.lookup(np.array([[0.0, np.nan, 0.0]]))
    with pytest.raises(InputShapeError, match=r"\(\.\.\., 3\)"):
        grid.lookup_semantics(np.zeros((4, 2)))


@pytest.mark.parametrize("line, field", [("kl_w: .nan", "kl_w"), ("lr: .inf", "lr"),
                                         ("contact_w: -.inf", "contact_w"),
                                         ("epochs: 1000000000000", "epochs"),
                                         ("lr: 1e999", "lr")])
def test_non_finite_or_out_of_range_training_settings_are_refused(tmp_path, line, field):
    path = tmp_path / "run.yaml"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError, match=field):
        TrainConfig.from_dict(load_config_file(path))
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**{field: float("nan") if field != "epochs" else 10**12})


def test_train_config_num_groups_must_divide_channels():
    with pytest.raises(ConfigError, match=r"num_groups \(3\) must divide channels \(8\)"):
        TrainConfig(channels=8, num_groups=3)


# ------------------------------------------------------------------------------ the helpers
def test_require_regular_file_names_what_it_found(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_bytes(b"x")
    assert require_regular_file(tmp_path / "file", "thing") == tmp_path / "file"
    for name, kind in (("fifo", "FIFO"), (".", "folder"), ("nope", "not found")):
        with pytest.raises(FileFormatError, match=f"thing.*{kind}"):
            require_regular_file(tmp_path / name, "thing")
    with pytest.raises(FileFormatError, match="character device"):
        require_regular_file("/dev/zero", "thing")
    with pytest.raises(CheckpointError, match="FIFO"):
        require_regular_file(tmp_path / "fifo", "thing", CheckpointError)


def test_bounded_array_readers_round_trip_and_check_kinds(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "c.npy", a)
    np.save(tmp_path / "f.npy", np.asfortranarray(a))
    np.save(tmp_path / "e.npy", np.zeros((0, 655), np.float32))
    for name in ("c.npy", "f.npy"):
        np.testing.assert_array_equal(read_npy_bounded(tmp_path / name, "a"), a)
        np.testing.assert_array_equal(open_npy_memmap(tmp_path / name, "a"), a)
    assert open_npy_memmap(tmp_path / "e.npy", "a").shape == (0, 655)
    with pytest.raises(FileFormatError, match="expected signed integer values, found dtype "
                                              "float32"):
        read_npy_bounded(tmp_path / "c.npy", "a", kinds="i")
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match="object"):
        read_npy_bounded(tmp_path / "o.npy", "a")
    np.savez(tmp_path / "z.npz", a=a, s=np.str_("x"))
    assert set(read_npz_bounded(tmp_path / "z.npz", "z")) == {"a", "s"}
    assert set(read_npz_bounded(tmp_path / "z.npz", "z", keys=["a"])) == {"a"}


def test_bounded_text_readers(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"a": [1, 2.5, "x", null, true]}')
    assert read_json_bounded(path, "d") == {"a": [1, 2.5, "x", None, True]}
    path.write_text("[1]" + " " * 100)
    with pytest.raises(FileFormatError, match="limit of 50"):
        read_json_bounded(path, "d", max_bytes=50)
    path = tmp_path / "d.yaml"
    path.write_text("a: &x [1, 2]\nb: *x\n")
    assert read_yaml_bounded(path, "d") == {"a": [1, 2], "b": [1, 2]}
    path.write_text("a: 2023-01-01\n")
    with pytest.raises(FileFormatError, match="unsupported type date"):
        read_yaml_bounded(path, "d")
