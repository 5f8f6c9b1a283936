"""The reference-format dataset: labels, batched vs per-item reads, memory maps, validation."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from posa_model.classes import NUM_CLASSES
from posa_model.data import (
    DatasetError,
    IndexBatches,
    PosaDataset,
    make_features,
    scene_of,
    write_reference_split,
)

N, V = 10, 12


def make_split(folder, n=N, v=V, seed=0, **overrides):
    """A random split in the reference format; ``overrides`` replace arrays before writing."""
    rng = np.random.default_rng(seed)
    arrays = {
        "x": rng.uniform(0.0, 0.1, size=(n, v)).astype(np.float32),
        "x_semantics": rng.integers(0, NUM_CLASSES, size=(n, v)),
        "vertices_can": rng.normal(size=(n, v, 3)).astype(np.float32),
        "vertices": rng.normal(size=(n, v, 3)).astype(np.float32),
        "recording_names": [f"{'MPH16' if i % 2 else 'N0Sofa'}_0015{i}_01" for i in range(n)],
    }
    arrays.update(overrides)
    write_reference_split(folder, **arrays)
    return arrays


def expected_labels(x, sem, threshold=0.05, remap=True, zero=True):
    """Plain per-element reference of the labelling rules."""
    contact = (x < threshold).astype(np.float32)
    labels = sem.copy()
    if remap:
        labels[sem == 34] = 10
        labels[sem == 25] = 28
    if zero:
        labels[contact == 0] = 0
    return contact, labels


@pytest.mark.parametrize("remap,zero,threshold", [(True, True, 0.05), (False, False, 0.02)])
def test_labels_follow_the_reference_rules(tmp_path, remap, zero, threshold):
    sem = np.tile(np.array([34, 25, 3, 0, 41, 34, 25, 10, 28, 2, 1, 5]), (N, 1))
    arrays = make_split(tmp_path, x_semantics=sem)
    ds = PosaDataset(tmp_path, num_vertices=V, contact_threshold=threshold, remap_classes=remap,
                     zero_semantics_without_contact=zero)
    batch = ds.get_batch(np.arange(N))
    contact, labels = expected_labels(arrays["x"], sem, threshold, remap, zero)
    np.testing.assert_array_equal(batch.contact.numpy(), contact)
    np.testing.assert_array_equal(batch.labels.numpy(), labels)
    assert (batch.labels.numpy() == 34).any() == (not remap)


@pytest.mark.slow
def test_batched_read_equals_per_item_reads_in_any_order(tmp_path):
    arrays = make_split(tmp_path)
    ds = PosaDataset(tmp_path, num_vertices=V)
    order = np.array([7, 2, 9, 2, 0])  # unsorted, repeated
    batch = ds.get_batch(order)
    items = [ds[int(i)] for i in order]
    feats = torch.stack([s.features for s in items])
    assert feats.shape == (5, V, 1 + NUM_CLASSES) and feats.dtype == torch.float32
    torch.testing.assert_close(batch.features(), feats, rtol=0, atol=0)
    torch.testing.assert_close(batch.vertices, torch.stack([s.vertices_can for s in items]))
    np.testing.assert_array_equal(batch.vertices.numpy(), arrays["vertices_can"][order])
    assert batch.indices.tolist() == order.tolist()
    # features = [contact, one-hot(label)]: the one-hot sums to 1 on every vertex
    assert torch.equal(feats[..., 0], batch.contact)
    assert torch.equal(feats[..., 1:].argmax(-1), batch.labels)
    assert torch.all(feats[..., 1:].sum(-1) == 1)


def test_contact_only_features_and_make_features():
    contact = torch.tensor([[1.0, 0.0]])
    labels = torch.tensor([[3, 0]])
    assert make_features(contact, None).shape == (1, 2, 1)
    f = make_features(contact, labels)
    assert f.shape == (1, 2, 43) and f[0, 0, 4] == 1 and f[0, 1, 1] == 1


def test_arrays_are_memory_mapped_and_pickling_drops_the_maps(tmp_path):
    make_split(tmp_path, n=200, v=50)
    ds = PosaDataset(tmp_path)
    assert isinstance(ds._array("x"), np.memmap)
    blob = pickle.dumps(ds)
    assert len(blob) < 20_000  # x alone is 40 kB: the data is not copied into the pickle
    clone = pickle.loads(blob)
    torch.testing.assert_close(clone.get_batch([5, 3]).vertices, ds.get_batch([5, 3]).vertices)
    loader = torch.utils.data.DataLoader(IndexBatches(ds, [np.arange(4), np.arange(4, 9)]),
                                         batch_size=None, num_workers=1)
    assert [len(b) for b in loader] == [4, 5]


def test_scenes_and_names(tmp_path):
    make_split(tmp_path)
    ds = PosaDataset(tmp_path)
    assert scene_of("MPH16_00157_01") == "MPH16" and scene_of("noscene") == "noscene"
    assert ds.scenes[:2] == ["N0Sofa", "MPH16"]
    assert ds.scene_names() == ["MPH16", "N0Sofa"]
    assert len(ds) == N and ds.num_vertices == V and ds.pkl_file_paths == [""] * N


# ---- validation: every message names the file and the field -----------------------------


def _error(tmp_path, **kwargs) -> str:
    with pytest.raises(DatasetError) as info:
        PosaDataset(tmp_path, **kwargs)
    return str(info.value)


def test_missing_file_is_named(tmp_path):
    make_split(tmp_path)
    (tmp_path / "x_semantics.npy").unlink()
    assert "x_semantics.npy" in _error(tmp_path) and "missing" in _error(tmp_path)
    assert "not found" in _error(tmp_path / "nope")


def test_wrong_shape_and_ndim(tmp_path):
    make_split(tmp_path)
    np.save(tmp_path / "vertices_can.npy", np.zeros((N, V), np.float32))
    msg = _error(tmp_path)
    assert "vertices_can.npy" in msg and f"({N}, {V}, 3)" in msg and f"({N}, {V})" in msg
    np.save(tmp_path / "x.npy", np.zeros((N, V, 1), np.float32))
    assert "x.npy" in _error(tmp_path) and "(N, V)" in _error(tmp_path)


def test_disagreeing_body_counts_name_both_files(tmp_path):
    make_split(tmp_path)
    np.save(tmp_path / "x_semantics.npy", np.zeros((N + 3, V), np.int64))
    msg = _error(tmp_path)
    assert f"x_semantics.npy has N={N + 3}" in msg and f"x.npy has N={N}" in msg
    make_split(tmp_path)
    (tmp_path / "recording_names.json").write_text(json.dumps(["a_1"] * (N - 1)))
    msg = _error(tmp_path)
    assert f"recording_names.json has N={N - 1}" in msg and f"x.npy has N={N}" in msg


def test_vertex_count_must_match_the_model(tmp_path):
    make_split(tmp_path)
    msg = _error(tmp_path, num_vertices=655)
    assert "x.npy" in msg and f"{V} vertices" in msg and "655" in msg


def test_class_ids_out_of_range_and_non_integer(tmp_path):
    sem = np.zeros((N, V), np.int64)
    sem[4, 2] = 42
    make_split(tmp_path, x_semantics=sem)
    msg = _error(tmp_path)
    assert "x_semantics.npy" in msg and "class id 42" in msg and "0..41" in msg
    np.save(tmp_path / "x_semantics.npy", np.zeros((N, V), np.float32))
    assert "integer" in _error(tmp_path)
    sem[4, 2] = 0
    np.save(tmp_path / "x_semantics.npy", sem)
    PosaDataset(tmp_path)


@pytest.mark.parametrize("name", ["x", "vertices_can", "vertices"])
def test_nan_and_inf_are_refused(tmp_path, name):
    arrays = make_split(tmp_path)
    bad = arrays[name].copy()
    bad[3].flat[1] = np.nan if name != "vertices" else np.inf
    np.save(tmp_path / f"{name}.npy", bad)
    msg = _error(tmp_path)
    assert f"{name}.npy" in msg and "NaN or inf" in msg and "body 3" in msg
    PosaDataset(tmp_path, check_values=False)  # the value scan can be skipped


@pytest.mark.parametrize("content", ['{"a": 1}', '["a", 3]', "not json"])
def test_json_must_be_a_list_of_strings(tmp_path, content):
    make_split(tmp_path)
    (tmp_path / "pkl_file_paths.json").write_text(content)
    msg = _error(tmp_path)
    assert "pkl_file_paths.json" in msg


def test_optional_files_may_be_absent(tmp_path):
    make_split(tmp_path)
    (tmp_path / "vertices.npy").unlink()
    (tmp_path / "pkl_file_paths.json").unlink()
    ds = PosaDataset(tmp_path)
    assert ds.pkl_file_paths is None and len(ds) == N
